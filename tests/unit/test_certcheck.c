/* Unit tests for src/certcheck.c (problem codes from plain tls_info data)
 * and src/certnames.c (the certificate-name facts for the diagnosis rules).
 * No OpenSSL, no sockets: the facts are filled in by hand the way
 * net/tls.c fills them after a handshake. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "certcheck.h"
#include "certnames.h"

#define NOW ((time_t)1800000000)   /* 2027-01-15 */
#define DAY 86400

/* A certificate: subject CN, issuer CN (the same: self-signed), validity. */
static struct cert_info cert(const char *cn, const char *issuer_cn, bool ca, time_t nb, time_t na)
{
    static char subjects[32][96], issuers[32][96];
    static int next;
    int k = next++ % 32;
    snprintf(subjects[k], sizeof subjects[k], "CN=%s", cn);
    snprintf(issuers[k], sizeof issuers[k], "CN=%s", issuer_cn);
    struct cert_info c = {
        .subject = subjects[k], .issuer = issuers[k], .subject_cn = (char *)cn,
        .issuer_cn = (char *)issuer_cn, .not_before = nb, .not_after = na, .key = "RSA 2048",
        .key_bits = 2048, .signature = "sha256WithRSAEncryption", .is_ca = ca,
        .self_signed = strcmp(cn, issuer_cn) == 0 };
    strcpy(c.key_type, "RSA");
    strcpy(c.sig_hash, "sha256");
    snprintf(c.sha256, sizeof c.sha256, "FP:%s", cn);
    return c;
}

static struct cert_info leaf_c(void)
{
    struct cert_info c = cert("mail.test", "Test Intermediate", false, NOW - 10 * DAY, NOW + 300 * DAY);
    static char *sans[] = { "DNS:mail.test", "DNS:*.mail.test", "IP:192.0.2.7" };
    memcpy(c.san, sans, sizeof sans);
    c.n_san = 3;
    static char *aia[] = { "http://pki.test/inter.crt" };
    c.ca_issuers[0] = aia[0];
    c.n_ca_issuers = 1;
    return c;
}
static struct cert_info inter_c(void)
{
    return cert("Test Intermediate", "Test Root", true, NOW - 100 * DAY, NOW + 3000 * DAY);
}
static struct cert_info root_c(void)
{
    return cert("Test Root", "Test Root", true, NOW - 1000 * DAY, NOW + 3000 * DAY);
}

/* A verified handshake: leaf + intermediate sent, root from the store. */
static struct tls_info good(void)
{
    struct tls_info t = { .verified = true, .hostname_match = true };
    strcpy(t.name_checked, "mail.test");
    t.chain[0] = leaf_c();
    t.chain[1] = inter_c();
    t.n_chain = 2;
    t.path[0] = leaf_c();
    t.path[1] = inter_c();
    t.path[2] = root_c();
    t.n_path = t.n_verified = 3;
    t.path_source[2] = TLS_SRC_STORE;
    t.path_sent[0] = t.path_sent[1] = true;
    t.chain_in_path[0] = t.chain_in_path[1] = true;
    return t;
}

static const struct certcheck_problem *find(const struct certcheck_result *r, const char *code)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->p[i].code, code) == 0)
            return &r->p[i];
    return NULL;
}

static const struct certcheck_problem *only(const struct tls_info *t, int soon, const char *code)
{
    static struct certcheck_result r;
    certcheck_run(t, NOW, soon, &r);
    cr_assert_eq(r.n, 1, "expected just %s, got %zu problems (first: %s)", code, r.n,
                 r.n ? r.p[0].code : "-");
    cr_assert_str_eq(r.p[0].code, code);
    cr_assert_not_null(r.p[0].impact, "%s has no impact line", code);
    return &r.p[0];
}

Test(certcheck, a_good_chain_has_no_problem)
{
    struct tls_info t = good();
    struct certcheck_result r;
    certcheck_run(&t, NOW, 30, &r);
    cr_assert_eq(r.n, 0, "first: %s", r.n ? r.p[0].code : "");
    struct tls_info none = { .n_chain = 0 };
    certcheck_run(&none, NOW, 30, &r);
    cr_assert_eq(r.n, 0);
}

Test(certcheck, expired_from_the_flag_and_from_the_dates)
{
    struct tls_info t = good();
    t.path_flags[0] = TLS_VF_EXPIRED;
    t.path[0].not_after = t.chain[0].not_after = NOW - 3 * DAY;
    const struct certcheck_problem *p = only(&t, 30, "expired");
    cr_assert(p->fails_verification);
    cr_assert_eq(p->depth, 0);
    cr_assert(strstr(p->detail, "\"mail.test\" expired on 2027-01-12 (3 days ago)"), "%s", p->detail);
    /* no built path (the handshake failed first): the chain's dates count */
    struct tls_info u = good();
    u.n_path = 0;
    u.chain[1].not_after = NOW - DAY;
    p = only(&u, 30, "expired");
    cr_assert_eq(p->depth, 1);
    cr_assert(strstr(p->detail, "the intermediate \"Test Intermediate\""), "%s", p->detail);
}

Test(certcheck, not_yet_valid)
{
    struct tls_info t = good();
    t.path_flags[0] = TLS_VF_NOT_YET_VALID;
    t.path[0].not_before = NOW + 30 * DAY;
    const struct certcheck_problem *p = only(&t, 30, "not-yet-valid");
    cr_assert(p->fails_verification);
    cr_assert(strstr(p->detail, "valid only from 2027-02-14 (in 30 days)"), "%s", p->detail);
}

Test(certcheck, expires_soon_honours_the_threshold)
{
    struct tls_info t = good();
    t.path[0].not_after = t.chain[0].not_after = NOW + 10 * DAY + 60;
    const struct certcheck_problem *p = only(&t, 30, "expires-soon");
    cr_assert_not(p->fails_verification);
    cr_assert(strstr(p->detail, "(in 10 days)"), "%s", p->detail);
    only(&t, 10, "expires-soon");   /* "within 10 days" includes the tenth */
    struct certcheck_result r;
    certcheck_run(&t, NOW, 9, &r);
    cr_assert_eq(r.n, 0);
    /* a root in the local store is not the server's to renew */
    struct tls_info u = good();
    u.path[2].not_after = NOW + 5 * DAY;
    certcheck_run(&u, NOW, 30, &r);
    cr_assert_eq(r.n, 0, "%s", r.n ? r.p[0].detail : "");
}

Test(certcheck, hostname_mismatch_says_which_names_the_certificate_carries)
{
    struct tls_info t = good();
    t.verified = t.hostname_match = false;
    strcpy(t.name_checked, "imap.example.com");
    t.path_flags[0] = TLS_VF_NAME_MISMATCH;
    const struct certcheck_problem *p = only(&t, 30, "hostname-mismatch");
    cr_assert(p->fails_verification);
    cr_assert(strstr(p->detail, "imap.example.com is not among the names the certificate carries: "
                     "mail.test, *.mail.test, IP 192.0.2.7"), "%s", p->detail);
    t.chain[0].n_san = 0;
    p = only(&t, 30, "hostname-mismatch");
    cr_assert(strstr(p->detail, "only the CN mail.test (no subjectAltName names)"), "%s", p->detail);
}

Test(certcheck, self_signed_refused_or_explicitly_trusted)
{
    struct tls_info t = { .verified = false, .hostname_match = true };
    strcpy(t.name_checked, "mail.test");
    t.chain[0] = t.path[0] = cert("mail.test", "mail.test", false, NOW - DAY, NOW + 300 * DAY);
    t.n_chain = t.n_path = 1;
    t.path_flags[0] = TLS_VF_SELF_SIGNED_LEAF;
    const struct certcheck_problem *p = only(&t, 30, "self-signed");
    cr_assert(p->fails_verification);
    t.path_flags[0] = 0;
    t.verified = true;   /* --cafile selfsigned.pem */
    p = only(&t, 30, "self-signed");
    cr_assert_not(p->fails_verification);
    cr_assert(strstr(p->detail, "only because the trust anchors given contain it"), "%s", p->detail);
}

Test(certcheck, missing_intermediate_is_named_with_its_aia_url)
{
    struct tls_info t = good();
    t.verified = false;
    t.n_chain = 1;
    t.n_path = 1;
    t.path_flags[0] = TLS_VF_ISSUER_UNKNOWN;
    const struct certcheck_problem *p = only(&t, 30, "incomplete-chain");
    cr_assert(p->fails_verification);
    cr_assert(strstr(p->detail, "the server sent 1 certificate;"), "%s", p->detail);
    cr_assert(strstr(p->detail, "intermediate \"Test Intermediate\""), "%s", p->detail);
    cr_assert(strstr(p->detail, "http://pki.test/inter.crt"), "%s", p->detail);
}

Test(certcheck, intermediate_taken_from_the_local_store_still_warns)
{
    struct tls_info t = good();
    t.n_chain = 1;   /* leaf only; the store had the intermediate */
    t.path_source[1] = TLS_SRC_STORE;
    t.path_sent[1] = false;
    const struct certcheck_problem *p = only(&t, 30, "incomplete-chain");
    cr_assert_not(p->fails_verification);
    cr_assert_eq(p->depth, 1);
    cr_assert(strstr(p->detail, "did not send the intermediate \"Test Intermediate\""), "%s",
              p->detail);
    /* sent and also in the store (OpenSSL then uses the store's copy): fine */
    t.n_chain = 2;
    t.path_sent[1] = true;
    struct certcheck_result r;
    certcheck_run(&t, NOW, 30, &r);
    cr_assert_eq(r.n, 0);
}

Test(certcheck, untrusted_root_sent_or_unknown_above_an_intermediate)
{
    struct tls_info t = good();
    t.verified = false;
    t.n_path = 2;
    t.path_flags[1] = TLS_VF_ISSUER_UNKNOWN;
    const struct certcheck_problem *p = only(&t, 30, "untrusted-root");
    cr_assert(p->fails_verification);
    cr_assert(strstr(p->detail, "\"Test Root\", is in no trust store"), "%s", p->detail);
    struct tls_info u = good();
    u.verified = false;
    u.chain[2] = root_c();
    u.n_chain = 3;
    u.path_source[2] = TLS_SRC_SERVER;
    u.path_flags[2] = TLS_VF_UNTRUSTED_ROOT;
    p = only(&u, 30, "untrusted-root");
    cr_assert(strstr(p->detail, "the root \"Test Root\", which the server sent"), "%s", p->detail);
}

Test(certcheck, weak_keys_and_signatures)
{
    struct tls_info t = good();
    t.path[0].key_bits = 1024;
    t.path[0].key = "RSA 1024";
    const struct certcheck_problem *p = only(&t, 30, "weak-key");
    cr_assert(p->fails_verification);
    cr_assert(strstr(p->detail, "RSA 1024"), "%s", p->detail);
    struct tls_info e = good();
    strcpy(e.path[1].key_type, "EC");
    e.path[1].key_bits = 224;
    only(&e, 30, "weak-key");
    e.path[1].key_bits = 256;
    struct certcheck_result r;
    certcheck_run(&e, NOW, 30, &r);
    cr_assert_eq(r.n, 0, "EC 256 is enough");
    struct tls_info s = good();
    strcpy(s.path[0].sig_hash, "sha1");
    s.path[0].signature = "sha1WithRSAEncryption";
    p = only(&s, 30, "weak-signature");
    cr_assert(strstr(p->detail, "signed with sha1WithRSAEncryption"), "%s", p->detail);
    /* a trust anchor's own SHA-1 self-signature is not checked by anyone */
    struct tls_info a = good();
    strcpy(a.path[2].sig_hash, "sha1");
    certcheck_run(&a, NOW, 30, &r);
    cr_assert_eq(r.n, 0);
    strcpy(a.path[1].sig_hash, "md5");
    only(&a, 30, "weak-signature");
}

Test(certcheck, wrong_order_names_the_positions)
{
    struct tls_info t = good();
    t.chain[1] = root_c();
    t.chain[2] = inter_c();
    t.n_chain = 3;
    const struct certcheck_problem *p = only(&t, 30, "wrong-order");
    cr_assert_not(p->fails_verification);
    cr_assert(strstr(p->detail, "certificate 1 (\"Test Root\") does not certify certificate 0"),
              "%s", p->detail);
    cr_assert(strstr(p->detail, "at position 2"), "%s", p->detail);
    /* leaf + root with the intermediate missing is not an ordering problem */
    struct tls_info u = good();
    u.chain[1] = root_c();
    struct certcheck_result r;
    certcheck_run(&u, NOW, 30, &r);
    cr_assert_null(find(&r, "wrong-order"));
    /* key identifiers that disagree: not the issuer, whatever the names say */
    struct tls_info k = good();
    k.chain[1] = root_c();
    k.chain[2] = inter_c();
    k.n_chain = 3;
    strcpy(k.chain[0].aki, "AA:BB");
    strcpy(k.chain[2].ski, "CC:DD");
    certcheck_run(&k, NOW, 30, &r);
    cr_assert_null(find(&r, "wrong-order"));
    /* the CA first, the server certificate later */
    struct tls_info c = good();
    c.chain[0] = inter_c();
    c.chain[1] = leaf_c();
    c.chain[0].n_san = 0;
    certcheck_run(&c, NOW, 30, &r);
    p = find(&r, "wrong-order");
    cr_assert_not_null(p);
    cr_assert(strstr(p->detail, "is at position 1"), "%s", p->detail);
}

Test(certcheck, not_for_server_auth)
{
    struct tls_info t = good();
    static char *client[] = { "clientAuth", "emailProtection" };
    t.path[0].has_eku = t.chain[0].has_eku = true;
    memcpy(t.path[0].eku, client, sizeof client);
    t.path[0].n_eku = 2;
    const struct certcheck_problem *p = only(&t, 30, "not-for-server-auth");
    cr_assert(p->fails_verification);
    cr_assert(strstr(p->detail, "clientAuth, emailProtection; serverAuth is missing"), "%s",
              p->detail);
    static char *any[] = { "anyExtendedKeyUsage" };
    memcpy(t.path[0].eku, any, sizeof any);
    t.path[0].n_eku = 1;
    struct certcheck_result r;
    certcheck_run(&t, NOW, 30, &r);
    cr_assert_eq(r.n, 0);
    struct tls_info i = good();
    i.path_flags[1] = TLS_VF_PURPOSE;
    p = only(&i, 30, "not-for-server-auth");
    cr_assert_eq(p->depth, 1);
}

Test(certcheck, failures_first_each_code_once_and_codes_only)
{
    struct tls_info t = good();
    t.verified = t.hostname_match = false;
    t.chain[1] = root_c();
    t.chain[2] = inter_c();
    t.n_chain = 3;
    t.path[0].not_after = NOW + 2 * DAY;
    t.path[1].not_after = NOW + 3 * DAY;
    t.path_flags[0] = TLS_VF_NAME_MISMATCH;
    struct certcheck_result r;
    certcheck_run(&t, NOW, 30, &r);
    cr_assert_eq(r.n, 3);
    cr_assert_str_eq(r.p[0].code, "hostname-mismatch");
    cr_assert_str_eq(r.p[1].code, "expires-soon");
    cr_assert_eq(r.p[1].depth, 0, "the first certificate's detail is kept");
    cr_assert_str_eq(r.p[2].code, "wrong-order");
    const char *codes[CERTCHECK_MAX];
    cr_assert_eq(certcheck_problems(&t, NOW, 30, codes), 3);
    cr_assert_str_eq(codes[2], "wrong-order");
}

Test(certcheck, every_code_has_an_impact_line)
{
    static const char *const all[] = { "expired", "not-yet-valid", "expires-soon",
        "hostname-mismatch", "self-signed", "untrusted-root", "incomplete-chain", "weak-key",
        "weak-signature", "wrong-order", "not-for-server-auth" };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const char *s = certcheck_impact(all[i]);
        cr_assert_not_null(s, "%s", all[i]);
        cr_assert(strchr(s, '('), "%s: the line names its source", all[i]);
    }
    cr_assert_null(certcheck_impact("no-such-code"));
    cr_assert(strstr(certcheck_impact("incomplete-chain"), "Windows"));
}

/* ---- certnames ---------------------------------------------------------- */

static void assert_greeting(const char *greeting, const char *want)
{
    char out[256];
    int rc = certnames_greeting_host(greeting, out, sizeof out);
    if (!want) {
        cr_assert_eq(rc, -1, "%s gave %s", greeting, out);
        return;
    }
    cr_assert_eq(rc, 0, "no name in %s", greeting);
    cr_assert_str_eq(out, want);
}

Test(certnames, what_greetings_reveal)
{
    /* Exchange Online: base64 of the UTF-16LE FQDN (KB A1) */
    assert_greeting("* OK The Microsoft Exchange IMAP4 service is ready. [UwBJADIAUABSADAANABDAEEAMAAw"
                    "ADAANQAuAGEAcABjAHAAcgBkADAANAAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]",
                    "SI2PR04CA0005.apcprd04.prod.outlook.com");
    assert_greeting("* OK Microsoft Exchange Server 2003 IMAP4rev1 server version 6.5.7217.0 "
                    "(ex01.contoso.local) ready.", "ex01.contoso.local");
    assert_greeting("* OK [CAPABILITY IMAP4rev1 STARTTLS] imap.example.org Cyrus IMAP 3.0.8 server ready",
                    "imap.example.org");
    assert_greeting("* OK mail.example.com Zimbra IMAP4rev1 server ready", "mail.example.com");
    assert_greeting("+OK mail.example.net POP3 server ready", "mail.example.net");
    assert_greeting("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS] Dovecot ready.", NULL);
    assert_greeting("* OK The Microsoft Exchange IMAP4 service is ready.", NULL);
    assert_greeting("+OK Gpop ready for requests from 192.0.2.1 x1mb123", NULL);
    assert_greeting("* OK 192.0.2.1 ready", NULL);
    assert_greeting("* OK 2.4.17 ready", NULL);
    assert_greeting("* OK [CAPABILITY IMAP4rev1] ready. [AAAA]", NULL);
    assert_greeting(NULL, NULL);
}

Test(certnames, facts_for_the_checked_and_the_revealed_name)
{
    struct tls_info t = good();
    struct certnames f;
    certnames_facts(&t, "EX01.mail.test", "greeting", &f);
    cr_assert_str_eq(f.subject_cn, "mail.test");
    cr_assert_eq(f.n_dns, 2);
    cr_assert_str_eq(f.dns[1], "*.mail.test");
    cr_assert_eq(f.n_ip, 1);
    cr_assert_str_eq(f.ip[0], "192.0.2.7");
    cr_assert_str_eq(f.checked_name, "mail.test");
    cr_assert(f.checked_match);
    cr_assert_eq(f.checked_by, HOSTMATCH_DNS);
    cr_assert_str_eq(f.server_name, "EX01.mail.test");
    cr_assert_str_eq(f.server_name_source, "greeting");
    cr_assert_eq(f.server_name_match, 1);
    cr_assert_eq(f.server_by, HOSTMATCH_WILDCARD);
    cr_assert_str_eq(f.server_matched, "DNS:*.mail.test");
    certnames_facts(&t, "ex01.contoso.local", "ntlm", &f);
    cr_assert_eq(f.server_name_match, 0, "the Exchange case: the server's own name is not on it");
    certnames_facts(&t, NULL, NULL, &f);
    cr_assert_eq(f.server_name_match, -1);
    certnames_facts(NULL, "ex01.contoso.local", "ntlm", &f);
    cr_assert_eq(f.server_name_match, -1, "no certificate: unknown");
    cr_assert_str_eq(f.server_name, "ex01.contoso.local");
}
