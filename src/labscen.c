/* labscen — the scenarios' starting state: certificates, settings, accounts.
 * The founding fault made concrete (the knowledge file leaves the exact
 * backend failure unverified): the newly bound public certificate cannot be
 * used by the backend service, so while X509CertificateName selects it the
 * backend on 1993/1995 answers like an SSL port without a usable certificate
 * (a plain-text "* BYE Connection is closed. 14" / "-ERR Connection is
 * closed. 13") and the frontend's proxy hop fails: NO LOGIN failed. with
 * ErrMsg=ProxyNotAuthenticated in the frontend's protocol log. */
#include "lab_int.h"

#include <stdio.h>
#include <string.h>

#include "sasl.h"

#define FQDN "EX01.contoso.local"

static int add_cert(struct lab *lab, const char *const *names, enum labcert_age age, bool inter,
                    unsigned services, bool be_usable, char *err, size_t errlen)
{
    if (lab->ncerts >= LAB_MAX_CERTS)
        return -1;
    struct lab_cert *c = &lab->certs[lab->ncerts];
    if (labpki_issue(lab->pki, names, age, inter, &c->c, err, errlen) < 0)
        return -1;
    c->services = c->services0 = services;
    c->be_usable = be_usable;
    lab->ncerts++;
    return 0;
}

static const char *const own_names[] = { "EX01", FQDN, NULL };
static const char *const public_names[] = { "mail.contoso.com", "autodiscover.contoso.com", NULL };

static void settings(struct lab *lab, const char *x509, enum lab_login lt)
{
    for (int p = 0; p < 2; p++) {
        snprintf(lab->ad[p].x509, sizeof lab->ad[p].x509, "%s", x509);
        lab->ad[p].login = lt;
        lab->ad[p].log_enabled = true;
        lab->mbx_enabled_ad[p] = true;
    }
    lab->inter_installed_ad = true;
}

/* Exchange Online's banner blob: base64 of the UTF-16LE server FQDN. */
static void online_blob(struct lab *lab)
{
    snprintf(lab->online_fqdn, sizeof lab->online_fqdn, "AM6PR04CA0042.eurprd04.prod.outlook.com");
    unsigned char u16[192];
    size_t n = 0;
    for (const char *p = lab->online_fqdn; *p && n + 2 <= sizeof u16; p++) {
        u16[n++] = (unsigned char)*p;
        u16[n++] = 0;
    }
    char *b64 = NULL;
    size_t blen = 0;
    if (sasl_b64_encode(u16, n, &b64, &blen) == 0) {
        snprintf(lab->online_blob, sizeof lab->online_blob, "%s", b64);
        sasl_free(b64, blen);
    }
}

/* The settings a scenario starts with (also what a restart of the lab would
 * restore); certificates keep their keys but get their services back. */
int labscen_setup_settings(struct lab *lab)
{
    const char *id = lab->sc->id;
    lab->family = LF_EXCH2013;
    lab->dov_disable_plain_conf = lab->dov_disable_plain_run = false;
    lab->dov_bad_setting[0] = '\0';
    lab->schannel = false;
    lab->napp = 0;
    for (int i = 0; i < lab->ncerts; i++)
        lab->certs[i].services = lab->certs[i].services0;
    if (!strcmp(id, "exchange-cert-plaintextlogin")) {
        settings(lab, "mail.contoso.com", LT_PLAINTEXTLOGIN);
    } else if (!strcmp(id, "exchange-securelogin")) {
        settings(lab, FQDN, LT_SECURELOGIN);
    } else if (!strcmp(id, "exchange-imap-disabled")) {
        settings(lab, FQDN, LT_PLAINTEXTLOGIN);
        lab->mbx_enabled_ad[LP_IMAP] = lab->mbx_enabled_ad[LP_POP] = false;
    } else if (!strcmp(id, "expired-certificate")) {
        settings(lab, FQDN, LT_PLAINTEXTLOGIN);
    } else if (!strcmp(id, "missing-intermediate")) {
        settings(lab, "mail.contoso.com", LT_PLAINTEXTLOGIN);
        lab->inter_installed_ad = false;
    } else if (!strcmp(id, "exchange-online-basic-off")) {
        lab->family = LF_ONLINE;
        online_blob(lab);
        settings(lab, "outlook.office365.com", LT_SECURELOGIN);
    } else if (!strcmp(id, "exchange-tls-legacy")) {
        settings(lab, FQDN, LT_PLAINTEXTLOGIN);
        lab->schannel = true;
        labreg_setup(lab);
        lab->tls_boot = labreg_schannel_versions(lab);
    } else if (!strcmp(id, "gmail-app-password")) {
        lab->family = LF_GMAIL;
        settings(lab, "imap.gmail.com", LT_SECURELOGIN);
    } else if (!strcmp(id, "dovecot-cleartext-disallowed")) {
        lab->family = LF_DOVECOT;
        settings(lab, "mail.example.net", LT_SECURELOGIN);
        lab->dov_disable_plain_conf = lab->dov_disable_plain_run = true;
    } else {
        return -1;
    }
    return 0;
}

/* The certificates each scenario's server holds (Get-ExchangeCertificate). */
static int setup_certs(struct lab *lab, char *err, size_t errlen)
{
    const char *id = lab->sc->id;
    const unsigned ip = LAB_SVC_IMAP | LAB_SVC_POP;
    if (!strcmp(id, "exchange-cert-plaintextlogin"))
        return add_cert(lab, own_names, LABCERT_VALID, false, LAB_SVC_SMTP, true, err, errlen) < 0 ||
               add_cert(lab, public_names, LABCERT_VALID, true, ip | LAB_SVC_IIS, false, err, errlen) < 0
                   ? -1 : 0;
    if (!strcmp(id, "exchange-securelogin") || !strcmp(id, "exchange-imap-disabled") ||
        !strcmp(id, "exchange-tls-legacy"))
        return add_cert(lab, own_names, LABCERT_VALID, false, ip | LAB_SVC_IIS | LAB_SVC_SMTP, true,
                        err, errlen);
    if (!strcmp(id, "expired-certificate"))
        return add_cert(lab, own_names, LABCERT_EXPIRED, false, ip | LAB_SVC_IIS | LAB_SVC_SMTP, true,
                        err, errlen) < 0 ||
               add_cert(lab, own_names, LABCERT_VALID, false, 0, true, err, errlen) < 0 ? -1 : 0;
    if (!strcmp(id, "missing-intermediate")) {
        static const char *const names[] = { "mail.contoso.com", FQDN, "EX01", NULL };
        return add_cert(lab, names, LABCERT_VALID, true, ip | LAB_SVC_IIS | LAB_SVC_SMTP, true,
                        err, errlen);
    }
    if (!strcmp(id, "exchange-online-basic-off")) {
        static const char *const names[] = { "outlook.office365.com", "*.office365.com", NULL };
        return add_cert(lab, names, LABCERT_VALID, true, ip, true, err, errlen);
    }
    if (!strcmp(id, "gmail-app-password")) {
        static const char *const names[] = { "imap.gmail.com", "pop.gmail.com", NULL };
        return add_cert(lab, names, LABCERT_VALID, true, ip, true, err, errlen);
    }
    static const char *const names[] = { "mail.example.net", NULL };
    return add_cert(lab, names, LABCERT_VALID, true, ip, true, err, errlen);
}

int labscen_setup(struct lab *lab, char *err, size_t errlen)
{
    if (labscen_setup_settings(lab) < 0) {
        snprintf(err, errlen, "lab: scenario %s has no set-up", lab->sc->id);
        return -1;
    }
    return setup_certs(lab, err, errlen);
}

const char *lab_user(const struct lab *lab)
{
    return lab->family == LF_GMAIL ? "alice@gmail.com" : "alice";
}

const char *lab_password(const struct lab *lab)
{
    return lab->family == LF_ONLINE ? "Spring2024" : "LabPassw0rd";
}

const char *lab_server_fqdn(const struct lab *lab)
{
    switch (lab->family) {
    case LF_ONLINE: return lab->online_fqdn;
    case LF_DOVECOT: return "mail.example.net";
    case LF_GMAIL: return "imap.gmail.com";
    default: return FQDN;
    }
}
