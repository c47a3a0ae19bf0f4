/* labproto — the lab servers' IMAP and POP3 dialogues, word for word as
 * Exchange 2013 (frontend and backend), Exchange Online and Dovecot 2.3 answer
 * (texts from the knowledge file, parts A and B, and the R-DOV rules), and the
 * protocol log rows Exchange writes for them. */
#include "lab_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "sanitize.h"
#include "sasl.h"

#define FQDN "EX01.contoso.local"
#define EXCH_TAIL " UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"
#define DOV_CAPS "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+"
#define DOV_POST_CAPS "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY " \
    "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT " \
    "CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES " \
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY LITERAL+ NOTIFY SPECIAL-USE"
#define PLAIN_DISALLOWED "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
#define LAB_TOKEN "lab-oauth-token"
/* Gmail (knowledge R-GMAIL-001..003, R-XOAUTH2-001). The greeting and the
 * pre-login CAPABILITY are field captures quoted in public client code and
 * test fixtures (imapsync logs, node IMAP tests); the post-login capability
 * list, the OK/BYE wording, ID, SELECT and the whole POP3 dialogue are from
 * memory of Gmail sessions: [UNVERIFIED]. The session id after the address
 * ("h98mb854172451pjb") is Google's per-connection tag; the lab makes one up. */
#define GM_CAPS "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR " \
    "AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH"
#define GM_POST_CAPS "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS " \
    "COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- " \
    "SPECIAL-USE APPENDLIMIT=35651584"
#define GM_APP_PW "Application-specific password required: https://support.google.com/accounts/answer/185833"
#define GM_INVALID "[AUTHENTICATIONFAILED] Invalid credentials (Failure)"
/* R-XOAUTH2-001: {"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"} */
#define GM_XOAUTH_ERR "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0="

static const char *const messages[] = {
    "From: Contoso IT <it@contoso.com>\r\nTo: Alice Wood <alice@contoso.com>\r\n"
    "Subject: Welcome to the lab\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\n"
    "Message-ID: <lab-1@contoso.com>\r\n\r\nThis mailbox lives in mailscope's lab.\r\n",
    "From: Bob Smith <bob@contoso.com>\r\nTo: Alice Wood <alice@contoso.com>\r\n"
    "Subject: Invoices for October\r\nDate: Tue, 3 Nov 2026 14:12:00 +0000\r\n"
    "Message-ID: <lab-2@contoso.com>\r\n\r\nThe invoices are attached (not really).\r\n",
    "From: Helpdesk <helpdesk@contoso.com>\r\nTo: Alice Wood <alice@contoso.com>\r\n"
    "Subject: Your mail client can read your mailbox again\r\nDate: Wed, 4 Nov 2026 08:30:00 +0000\r\n"
    "Message-ID: <lab-3@contoso.com>\r\n\r\nIf you can read this, LOGIN worked.\r\n",
};
#define NMSG 3

static bool is_pop(const struct labconn *c) { return lab_port_proto(c->port) == LP_POP; }
static bool gmail(const struct labconn *c) { return c->lab->family == LF_GMAIL; }
static enum lab_family fam(const struct labconn *c) { return c->lab->family; }
static struct lab_run *run(const struct labconn *c) { return &c->lab->run[lab_port_svc(c->port)]; }

/* ---- the protocol log -------------------------------------------------- */

static enum lablog_file log_file(const struct labconn *c)
{
    bool be = lab_port_is_be(c->port);
    return is_pop(c) ? (be ? LABLOG_POP3BE : LABLOG_POP3) : (be ? LABLOG_IMAP4BE : LABLOG_IMAP4);
}

/* One row for the command just answered: R is the final reply line. */
static void log_row(struct labconn *c, const char *command, const char *params, const char *reply,
                    const char *extra, size_t rpsize)
{
    if (fam(c) != LF_EXCH2013 || !run(c)->set.log_enabled)
        return;
    char ctx[1600];
    if (reply)
        snprintf(ctx, sizeof ctx, "R=\"%s\"%s%s", reply, extra && *extra ? ";" : "", extra ? extra : "");
    else
        snprintf(ctx, sizeof ctx, "%s", extra ? extra : "");
    char *u = sanitize_text(c->user, strlen(c->user), 200);
    char *p = sanitize_text(params ? params : "", params ? strlen(params) : 0, 600);
    char *x = sanitize_text(ctx, strlen(ctx), 1200);
    struct lablog_row row = {
        .session = c->session, .seq = c->seq++, .sip = c->sip, .cip = c->cip,
        .user = c->state ? (u ? u : "") : (strcmp(command, "login") && strcmp(command, "pass") &&
                                           strcmp(command, "authenticate") && strcmp(command, "auth") ? "" : (u ? u : "")),
        .duration_ms = (long)(loop_now_ms() - c->t0_ms), .rqsize = c->rq, .rpsize = rpsize,
        .command = command, .parameters = p ? p : "", .context = x ? x : "",
    };
    lablog_write(c->lab->log, log_file(c), &row);
    free(u);
    free(p);
    free(x);
}

/* ---- accounts ---------------------------------------------------------- */

enum acct { ACCT_OK, ACCT_BAD, ACCT_WELLKNOWN };

/* Exchange's login strings: user, DOMAIN\user (as DOMAIN/user), user@upn. */
static enum acct check_account(const struct lab *lab, const char *user, const char *pass)
{
    char base[128];
    const char *u = user;
    const char *slash = strpbrk(u, "\\/");
    if (slash)
        u = slash + 1;
    snprintf(base, sizeof base, "%s", u);
    char *at = strchr(base, '@');
    if (at) {
        if (strcasecmp(at + 1, "contoso.com") && strcasecmp(at + 1, "contoso.local") &&
            strcasecmp(at + 1, "example.net"))
            return ACCT_BAD;
        *at = '\0';
    }
    if (!strcasecmp(base, "administrator") || !strcasecmp(base, "guest"))
        return ACCT_WELLKNOWN;
    /* the lab's account, and Exchange's health-probe mailboxes (HealthMailbox<guid>) */
    bool known = !strcasecmp(base, lab_user(lab)) || !strncasecmp(base, "healthmailbox", 13);
    return known && pass && !strcmp(pass, lab_password(lab)) ? ACCT_OK : ACCT_BAD;
}

/* ---- NTLM challenge ---------------------------------------------------- */

static size_t put_u16(uint8_t *b, size_t o, unsigned v) { b[o] = v & 0xff; b[o + 1] = (v >> 8) & 0xff; return o + 2; }
static size_t put_u32(uint8_t *b, size_t o, uint32_t v) { put_u16(b, o, v & 0xffff); return put_u16(b, o + 2, v >> 16); }

static size_t put_utf16(uint8_t *b, size_t o, const char *s)
{
    for (; *s; s++) {
        b[o++] = (uint8_t)*s;
        b[o++] = 0;
    }
    return o;
}

static size_t av_pair(uint8_t *b, size_t o, unsigned id, const char *s)
{
    o = put_u16(b, o, id);
    o = put_u16(b, o, (unsigned)strlen(s) * 2);
    return put_utf16(b, o, s);
}

/* A Windows Server 2012 R2 type 2 message naming EX01 / EX01.contoso.local /
 * CONTOSO / contoso.local: what nmap's imap-ntlm-info and mailscope read. */
static size_t ntlm_type2(uint8_t *b)
{
    memset(b, 0, 512);
    memcpy(b, "NTLMSSP", 8);
    size_t o = put_u32(b, 8, 2);
    const char *target = "CONTOSO";
    size_t tlen = strlen(target) * 2, toff = 56;
    o = put_u16(b, 12, (unsigned)tlen);
    o = put_u16(b, o, (unsigned)tlen);
    put_u32(b, o, (uint32_t)toff);
    put_u32(b, 20, 0xe2898215u);
    for (int i = 0; i < 8; i++)
        b[24 + i] = (uint8_t)(rand() & 0xff);
    put_utf16(b, toff, target);
    size_t info = toff + tlen, p = info;
    p = av_pair(b, p, 2, "CONTOSO");
    p = av_pair(b, p, 1, "EX01");
    p = av_pair(b, p, 4, "contoso.local");
    p = av_pair(b, p, 3, FQDN);
    p = av_pair(b, p, 5, "contoso.local");
    p = put_u16(b, p, 7);
    p = put_u16(b, p, 8);
    uint64_t ft = ((uint64_t)time(NULL) + 11644473600ull) * 10000000ull;
    p = put_u32(b, p, (uint32_t)ft);
    p = put_u32(b, p, (uint32_t)(ft >> 32));
    p = put_u32(b, p, 0);          /* MsvAvEOL */
    o = put_u16(b, 40, (unsigned)(p - info));
    o = put_u16(b, o, (unsigned)(p - info));
    put_u32(b, o, (uint32_t)info);
    b[48] = 6;
    b[49] = 3;
    put_u16(b, 50, 9600);
    b[55] = 15;
    return p;
}

/* ---- shared pieces ----------------------------------------------------- */

static bool plain_port(const struct labconn *c)
{
    return c->port == LAB_IMAP || c->port == LAB_POP3;
}

/* Dovecot counts a connection from the server's own address as secured
 * (login-common/client-common.c): testing on the server hides the fault. */
static bool same_host(const struct labconn *c)
{
    const char *a = strrchr(c->sip, ':'), *b = strrchr(c->cip, ':');
    return a && b && a - c->sip == b - c->cip && !strncmp(c->sip, c->cip, (size_t)(a - c->sip));
}

/* May a password be sent now? */
static bool plain_ok(const struct labconn *c, bool sasl_plain)
{
    if (c->tls)
        return true;
    switch (fam(c)) {
    case LF_DOVECOT: return !c->lab->dov_disable_plain_run || same_host(c);
    case LF_ONLINE: case LF_GMAIL: return false;
    default:
        (void)sasl_plain;   /* PLAIN in clear text: PlainTextLogin only, as LOGIN (table A3) */
        return run(c)->set.login == LT_PLAINTEXTLOGIN;
    }
}

const char *labproto_no_cert_line(const struct labconn *c)
{
    const struct lab_run *r = run(c);
    bool bad = r->cert < 0 || !r->ctx ||
               (lab_port_is_be(c->port) && !c->lab->certs[r->cert].be_usable);
    if (!bad)
        return NULL;
    return is_pop(c) ? "-ERR Connection is closed. 13" : "* BYE Connection is closed. 14";
}

const char *labproto_idle_line(const struct labconn *c)
{
    if (fam(c) == LF_DOVECOT)
        return is_pop(c) ? "-ERR Disconnected for inactivity." : "* BYE Disconnected for inactivity.";
    return is_pop(c) ? "-ERR Connection is closed. 12" : "* BYE Connection is closed. 13";
}

static void b64_send(struct labconn *c, const char *prefix, const uint8_t *p, size_t n)
{
    char *b64 = NULL;
    size_t blen = 0;
    if (sasl_b64_encode(p, n, &b64, &blen) == 0) {
        labconn_send(c, "%s%s\r\n", prefix, b64);
        sasl_free(b64, blen);
    }
}

/* Outcome of a password login, with the log's context and the event. */
struct login_result {
    bool ok;
    int gm;                 /* Gmail: enum gm_login */
    char extra[256];
    char bracket[200];      /* "[Error=X Proxy=Y] " for the users Exchange tells why, else "" */
};

/* ProtocolResponse.GetAuthError(): the reason goes on the wire only for
 * proxied logins and the health-probe accounts (healthmailbox*, *exchangemon.net). */
static void auth_error_bracket(struct login_result *lr, const char *user, const char *proxy)
{
    size_t n = strlen(user);
    bool probe_account = !strncasecmp(user, "healthmailbox", 13) ||
                         (n >= 15 && !strcasecmp(user + n - 15, "exchangemon.net"));
    const char *err = strstr(lr->extra, "ErrMsg=");
    if (lr->ok || !probe_account || !err)
        return;
    snprintf(lr->bracket, sizeof lr->bracket, "[Error=%s%s%s] ", err + 7,
             proxy ? " Proxy=" : "", proxy ? proxy : "");
}

static void proxy_backend_rows(struct labconn *c, const char *user)
{
    /* The backend's side of a successful proxy hop: its own session, from the frontend. */
    enum lablog_file f = is_pop(c) ? LABLOG_POP3BE : LABLOG_IMAP4BE;
    if (!c->lab->run[is_pop(c) ? LS_POP3BE : LS_IMAP4BE].set.log_enabled)
        return;
    unsigned be = c->lab->port[is_pop(c) ? LAB_POP3_BE : LAB_IMAP_BE];
    char sip[96], cip[96], ctx[256], client[80];
    snprintf(sip, sizeof sip, "%s:%u", c->lab->address, be);
    snprintf(cip, sizeof cip, "%s:%u", c->lab->address, 40000u + (unsigned)(c->session % 20000));
    snprintf(client, sizeof client, "%s", c->cip);
    char *colon = strrchr(client, ':');
    if (colon)
        *colon = '\0';
    uint64_t sid = 0x8000 + c->session;
    struct lablog_row r = { .session = sid, .seq = 0, .sip = sip, .cip = cip, .user = "",
                            .command = "OpenSession", .parameters = "", .context = "" };
    lablog_write(c->lab->log, f, &r);
    snprintf(ctx, sizeof ctx, "R=\"%s\";ClientIp=%s",
             is_pop(c) ? "+OK User successfully authenticated." : "1 OK AUTHENTICATE completed.", client);
    r.seq = 1;
    r.user = user;
    r.command = is_pop(c) ? "auth" : "authenticate";
    r.parameters = "PLAIN";
    r.context = ctx;
    r.duration_ms = 15;
    r.rqsize = 60;
    r.rpsize = 30;
    lablog_write(c->lab->log, f, &r);
}

static struct login_result exch_login(struct labconn *c, const char *user, const char *pass)
{
    struct login_result lr = { false, 0, "", "" };
    struct lab *lab = c->lab;
    bool proxied = false;
    enum acct a = check_account(lab, user, pass);
    bool be_port = lab_port_is_be(c->port);
    enum lab_svc fe = is_pop(c) ? LS_POP3 : LS_IMAP4, be = is_pop(c) ? LS_POP3BE : LS_IMAP4BE;
    char proxy[96];
    snprintf(proxy, sizeof proxy, "Proxy:%s:%u:SSL", FQDN, is_pop(c) ? 1995u : 1993u);
    if (fam(c) == LF_ONLINE) {
        snprintf(lr.extra, sizeof lr.extra, "ErrMsg=AuthFailed:BasicAuthDisabled");
        lab_event(lab, "lab: %s login as \"%s\" refused: basic authentication is off (use XOAUTH2)", c->cip, user);
        return lr;
    }
    if (a == ACCT_WELLKNOWN) {
        snprintf(lr.extra, sizeof lr.extra, "ErrMsg=LogonFailed:WellKnownAccount");
    } else if (a == ACCT_BAD) {
        snprintf(lr.extra, sizeof lr.extra, "ErrMsg=LogonFailed:LogonDenied");
    } else if (!lab->run[fe].mbx_enabled && !lab->run[be].mbx_enabled) {
        snprintf(lr.extra, sizeof lr.extra, "ErrMsg=UserDisabled");
    } else if (be_port) {
        lr.ok = true;
    } else {
        const struct lab_run *b = &lab->run[be];
        bool hop = b->cert >= 0 && b->ctx && lab->certs[b->cert].be_usable;
        if (hop) {
            lr.ok = true;
            snprintf(lr.extra, sizeof lr.extra, "Msg=ProxySuccess");
            proxy_backend_rows(c, user);
        } else {
            snprintf(lr.extra, sizeof lr.extra, "Msg=%s;ErrMsg=ProxyNotAuthenticated", proxy);
            proxied = true;
        }
    }
    auth_error_bracket(&lr, user, proxied ? proxy + 6 : NULL);
    const char *why = strstr(lr.extra, "ErrMsg=");
    lab_event(lab, "lab: %s login as \"%s\": %s%s%s%s", c->cip, user, lr.ok ? "accepted" : "refused",
              why ? " (" : "", why ? why : "", why ? ")" : "");
    return lr;
}

/* Gmail's answer to a password: the account's own one is refused because
 * 2-Step Verification is on (R-GMAIL-001), an app password is accepted. */
enum gm_login { GM_OK, GM_APP_PASSWORD, GM_INVALID_CREDENTIALS };

static enum gm_login gmail_login(struct labconn *c, const char *user, const char *pass)
{
    struct lab *lab = c->lab;
    bool known = !strcasecmp(user, lab_user(lab)) || !strcasecmp(user, "alice");
    enum gm_login r = !known ? GM_INVALID_CREDENTIALS
                    : labgoogle_app_password_ok(lab, pass) ? GM_OK
                    : !strcmp(pass, lab_password(lab)) ? GM_APP_PASSWORD : GM_INVALID_CREDENTIALS;
    lab_event(lab, "lab: %s login as \"%s\": %s", c->cip, user,
              r == GM_OK ? "accepted (app password)" : r == GM_APP_PASSWORD
              ? "refused: the account password, with 2-Step Verification on (an app password is required)"
              : "refused (invalid credentials)");
    return r;
}

static const char *gmail_tag_id(const struct labconn *c, char *out, size_t n)
{
    snprintf(out, n, "%02llxmb%09llulab", (unsigned long long)(c->session & 0xff),
             (unsigned long long)(c->session * 7919u % 1000000000u));
    return out;
}

/* ---- IMAP -------------------------------------------------------------- */

static void imap_caps(const struct labconn *c, char *out, size_t n)
{
    bool starttls = !c->tls && plain_port(c) && run(c)->ctx;
    switch (fam(c)) {
    case LF_GMAIL:
        snprintf(out, n, "%s", c->state ? GM_POST_CAPS : GM_CAPS);
        return;
    case LF_DOVECOT:
        snprintf(out, n, DOV_CAPS "%s%s", starttls ? " STARTTLS" : "",
                 plain_ok(c, false) ? " AUTH=PLAIN" : " LOGINDISABLED");
        return;
    case LF_ONLINE:
        snprintf(out, n, c->tls ? "IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR" EXCH_TAIL
                                : "IMAP4 IMAP4rev1 LOGINDISABLED STARTTLS SASL-IR" EXCH_TAIL);
        return;
    default: break;
    }
    enum lab_login lt = run(c)->set.login;
    const char *st = starttls ? " STARTTLS" : "";
    if (c->tls || lt == LT_PLAINTEXTLOGIN)
        snprintf(out, n, "IMAP4 IMAP4rev1 AUTH=NTLM AUTH=GSSAPI AUTH=PLAIN%s" EXCH_TAIL, st);
    else if (lt == LT_PLAINTEXTAUTH)
        snprintf(out, n, "IMAP4 IMAP4rev1 LOGINDISABLED%s AUTH=NTLM AUTH=GSSAPI" EXCH_TAIL, st);
    else
        snprintf(out, n, "IMAP4 IMAP4rev1 LOGINDISABLED%s" EXCH_TAIL, st);
}

static void pop_greet(struct labconn *c)
{
    char id[32], ip[80];
    snprintf(ip, sizeof ip, "%s", c->cip);
    ip[strcspn(ip, ":")] = '\0';
    if (gmail(c))
        labconn_send(c, "+OK Gpop ready for requests from %s %s\r\n", ip, gmail_tag_id(c, id, sizeof id));
    else if (fam(c) == LF_DOVECOT)
        labconn_send(c, "+OK Dovecot ready.\r\n");
    else if (fam(c) == LF_ONLINE)
        labconn_send(c, "+OK The Microsoft Exchange POP3 service is ready. [%s]\r\n", c->lab->online_blob);
    else
        labconn_send(c, "+OK The Microsoft Exchange POP3 service is ready.\r\n");
}

void labproto_greet(struct labconn *c)
{
    c->greeted = true;
    log_row(c, "OpenSession", "", NULL, "", 0);
    if (is_pop(c)) {
        pop_greet(c);
        return;
    }
    if (gmail(c)) {
        char id[32], ip[80];
        snprintf(ip, sizeof ip, "%s", c->cip);
        ip[strcspn(ip, ":")] = '\0';
        labconn_send(c, "* OK Gimap ready for requests from %s %s\r\n", ip, gmail_tag_id(c, id, sizeof id));
    } else if (fam(c) == LF_DOVECOT) {
        char caps[512];
        imap_caps(c, caps, sizeof caps);
        labconn_send(c, "* OK [CAPABILITY %s] Dovecot ready.\r\n", caps);
    } else if (fam(c) == LF_ONLINE) {
        labconn_send(c, "* OK The Microsoft Exchange IMAP4 service is ready. [%s]\r\n", c->lab->online_blob);
    } else {
        labconn_send(c, "* OK The Microsoft Exchange IMAP4 service is ready.\r\n");
    }
}

void labproto_closed(struct labconn *c)
{
    if (c->greeted)
        log_row(c, "CloseSession", "", NULL, "", 0);
}

/* Send the tagged reply and log the command. */
static void imap_done(struct labconn *c, const char *cmd, const char *params, const char *extra,
                      size_t before, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void imap_done(struct labconn *c, const char *cmd, const char *params, const char *extra,
                      size_t before, const char *fmt, ...)
{
    char text[1024], line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s %s", c->tag, text);
    labconn_send(c, "%s\r\n", line);
    char lc[32];
    size_t i = 0;
    for (; cmd[i] && i + 1 < sizeof lc; i++)
        lc[i] = (char)tolower((unsigned char)cmd[i]);
    lc[i] = '\0';
    log_row(c, lc, params, line, extra, c->sent_total - before);
}

/* IMAP astring: atom or quoted string. Returns the rest or NULL. */
static char *astring(char *p, char *out, size_t outlen)
{
    size_t o = 0;
    while (*p == ' ')
        p++;
    if (!*p)
        return NULL;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (o + 1 < outlen)
                out[o++] = *p;
        }
        if (*p != '"')
            return NULL;
        p++;
    } else {
        if (*p == '{')
            return NULL;
        for (; *p && *p != ' '; p++)
            if (o + 1 < outlen)
                out[o++] = *p;
    }
    out[o] = '\0';
    return p;
}

static const char *invalid_state(const struct labconn *c)
{
    return fam(c) == LF_DOVECOT ? "BAD Error in IMAP command received by server." : "BAD Command received in Invalid state.";
}

static void imap_login_result(struct labconn *c, const char *verb, const char *user, const char *pass,
                              const char *params, size_t before)
{
    if (gmail(c)) {
        enum gm_login r = gmail_login(c, user, pass);
        if (r == GM_OK) {
            c->state = 1;
            snprintf(c->user, sizeof c->user, "%s", lab_user(c->lab));
            labconn_send(c, "* CAPABILITY " GM_POST_CAPS "\r\n");
            imap_done(c, verb, params, "", before, "OK %s authenticated (Success)", c->user);
        } else {
            imap_done(c, verb, params, "", before, "%s", r == GM_APP_PASSWORD
                      ? "NO [ALERT] " GM_APP_PW " (Failure)" : "NO " GM_INVALID);
        }
        return;
    }
    if (fam(c) == LF_DOVECOT) {
        bool ok = check_account(c->lab, user, pass) == ACCT_OK;
        lab_event(c->lab, "lab: %s login as \"%s\": %s", c->cip, user, ok ? "accepted" : "refused");
        if (ok) {
            c->state = 1;
            snprintf(c->user, sizeof c->user, "%s", user);
            imap_done(c, verb, params, "", before, "OK [CAPABILITY " DOV_POST_CAPS "] Logged in");
        } else {
            imap_done(c, verb, params, "", before, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        }
        return;
    }
    snprintf(c->user, sizeof c->user, "%s", user);
    struct login_result lr = exch_login(c, user, pass);
    if (lr.ok)
        c->state = 1;
    imap_done(c, verb, params, lr.extra, before, "%s %s%s %s.", lr.ok ? "OK" : "NO", lr.bracket, verb,
              lr.ok ? "completed" : "failed");
    if (!lr.ok)
        c->user[0] = '\0';
}

static void imap_select(struct labconn *c, const char *cmd, char *args, size_t before)
{
    char box[256];
    if (c->state < 1) {
        imap_done(c, cmd, args, "", before, "%s", invalid_state(c));
        return;
    }
    if (!astring(args, box, sizeof box)) {
        imap_done(c, cmd, args, "", before, "BAD Command Argument Error. 12");
        return;
    }
    if (strcasecmp(box, "INBOX")) {
        imap_done(c, cmd, args, "", before, "NO %s failed.", cmd);
        return;
    }
    bool ro = !strcasecmp(cmd, "EXAMINE");
    c->state = 2;
    if (gmail(c)) {
        labconn_send(c, "* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $NotPhishing $Phishing)\r\n"
                        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $NotPhishing "
                        "$Phishing \\*)] Flags permitted.\r\n* OK [UIDVALIDITY 1] UIDs valid.\r\n"
                        "* %d EXISTS\r\n* 0 RECENT\r\n* OK [UIDNEXT 4] Predicted next UID.\r\n", NMSG);
        imap_done(c, cmd, "INBOX", "", before, "OK [%s] INBOX selected. (Success)", ro ? "READ-ONLY" : "READ-WRITE");
        return;
    }
    if (fam(c) == LF_DOVECOT) {
        labconn_send(c, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n"
                        "* %d EXISTS\r\n* 0 RECENT\r\n* OK [UNSEEN 3] First unseen.\r\n"
                        "* OK [UIDVALIDITY 1762000000] UIDs valid\r\n* OK [UIDNEXT 4] Predicted next UID\r\n", NMSG);
        imap_done(c, cmd, "INBOX", "", before, "OK [%s] %s completed (0.001 + 0.000 secs).",
                  ro ? "READ-ONLY" : "READ-WRITE", ro ? "Examine" : "Select");
        return;
    }
    labconn_send(c, "* %d EXISTS\r\n* 0 RECENT\r\n"
                    "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)\r\n"
                    "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)] Permanent flags\r\n"
                    "* OK [UNSEEN 3] Is the first unseen message\r\n"
                    "* OK [UIDVALIDITY 14] UIDVALIDITY value\r\n"
                    "* OK [UIDNEXT 4] The next unique identifier value\r\n", NMSG);
    char extra[96];
    snprintf(extra, sizeof extra, "Rows=%d;Recent=0;Unseen=1", NMSG);
    imap_done(c, cmd, "INBOX", extra, before, "OK [%s] %s completed.", ro ? "READ-ONLY" : "READ-WRITE", cmd);
}

/* FETCH n[:m] with FLAGS, UID, RFC822.SIZE, BODY[], BODY.PEEK[], RFC822. */
static void imap_fetch(struct labconn *c, const char *cmd, char *args, bool uid, size_t before)
{
    if (c->state < 2) {
        imap_done(c, cmd, args, "", before, "%s", invalid_state(c));
        return;
    }
    char set[64];
    char *rest = astring(args, set, sizeof set);
    if (!rest) {
        imap_done(c, cmd, args, "", before, "BAD Command Argument Error. 12");
        return;
    }
    long lo = 1, hi = NMSG;
    char *colon = strchr(set, ':');
    if (strcmp(set, "1:*")) {
        lo = strtol(set, NULL, 10);
        hi = colon ? (colon[1] == '*' ? NMSG : strtol(colon + 1, NULL, 10)) : lo;
    }
    if (lo < 1)
        lo = 1;
    if (hi > NMSG)
        hi = NMSG;
    char items[256];
    snprintf(items, sizeof items, "%s", rest);
    for (char *p = items; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    bool body = strstr(items, "BODY[]") || strstr(items, "BODY.PEEK[]") || strstr(items, "RFC822 ") ||
                strstr(items, "RFC822)") || !strcmp(items + (strlen(items) > 6 ? strlen(items) - 6 : 0), "RFC822");
    for (long i = lo; i <= hi; i++) {
        const char *m = messages[i - 1];
        labconn_send(c, "* %ld FETCH (UID %ld FLAGS (%s) RFC822.SIZE %zu", i, i, i < 3 ? "\\Seen" : "",
                     strlen(m));
        if (body) {
            labconn_send(c, " BODY[] {%zu}\r\n", strlen(m));
            labconn_send_raw(c, m, strlen(m));
        }
        labconn_send(c, ")\r\n");
    }
    if (gmail(c))
        imap_done(c, uid ? "UID" : cmd, args, "", before, "OK Success");
    else
        imap_done(c, uid ? "UID" : cmd, args, "", before, "OK %sFETCH completed.", uid ? "UID " : "");
}

static void imap_authenticate(struct labconn *c, char *args, size_t before)
{
    char mech[32], ir[LAB_LINE_MAX];
    char *rest = astring(args, mech, sizeof mech);
    if (!rest) {
        imap_done(c, "AUTHENTICATE", args, "", before, "BAD Command Argument Error. 12");
        return;
    }
    bool has_ir = astring(rest, ir, sizeof ir) != NULL;
    if (c->state) {
        imap_done(c, "AUTHENTICATE", mech, "", before, "%s", invalid_state(c));
        return;
    }
    bool ntlm = !strcasecmp(mech, "NTLM") && fam(c) == LF_EXCH2013;
    bool plain = !strcasecmp(mech, "PLAIN");
    bool xoauth = !strcasecmp(mech, "XOAUTH2") && (fam(c) == LF_ONLINE || gmail(c));
    if (!ntlm && !plain && !xoauth) {
        imap_done(c, "AUTHENTICATE", mech, "", before, "%s",
                  fam(c) == LF_DOVECOT ? "NO Unsupported authentication mechanism." : "BAD Command Argument Error. 11");
        return;
    }
    if (!c->tls) {
        enum lab_login lt = run(c)->set.login;
        bool refused = fam(c) == LF_ONLINE || (fam(c) == LF_EXCH2013 && (lt == LT_SECURELOGIN || (plain && lt == LT_PLAINTEXTAUTH)));
        if (fam(c) == LF_DOVECOT && !plain_ok(c, true)) {
            imap_done(c, "AUTHENTICATE", mech, "", before, "NO [PRIVACYREQUIRED] " PLAIN_DISALLOWED);
            return;
        }
        if (refused) {
            imap_done(c, "AUTHENTICATE", mech, "", before, "BAD Command received in Invalid state.");
            return;
        }
    }
    snprintf(c->user, sizeof c->user, "%s", "");
    snprintf(c->mech, sizeof c->mech, "%s", mech);
    c->sasl = ntlm ? LAB_SASL_NTLM1 : plain ? LAB_SASL_PLAIN : LAB_SASL_XOAUTH2;
    if (has_ir && !ntlm) {
        labproto_line(c, ir, strlen(ir));
        return;
    }
    labconn_send(c, "+ \r\n");
}

/* One line of an AUTHENTICATE or AUTH exchange. */
static void sasl_cancelled(struct labconn *c, size_t before)
{
    bool pop = is_pop(c);
    const char *t = fam(c) == LF_DOVECOT
        ? (pop ? "-ERR Authentication aborted by client." : "BAD Authentication aborted by client.")
        : (pop ? "-ERR The AUTH protocol exchange was canceled by the client."
               : "NO The AUTH protocol exchange was canceled by the client.");
    if (pop) {
        labconn_send(c, "%s\r\n", t);
        log_row(c, "auth", c->mech, t, "ErrMsg=AuthCancelled", c->sent_total - before);
    } else {
        imap_done(c, "AUTHENTICATE", c->mech, "ErrMsg=AuthCancelled", before, "%s", t);
    }
}

/* PLAIN: authzid NUL authcid NUL password. */
static bool sasl_plain_login(struct labconn *c, const uint8_t *raw, size_t rawlen, struct login_result *lr)
{
    const char *authz = (const char *)raw, *end = (const char *)raw + rawlen;
    const char *authc = memchr(authz, '\0', rawlen);
    const char *pass = authc ? memchr(authc + 1, '\0', (size_t)(end - authc - 1)) : NULL;
    if (!authc || !pass)
        return false;
    char user[128], pw[256];
    snprintf(user, sizeof user, "%.*s", (int)(pass - authc - 1), authc + 1);
    snprintf(pw, sizeof pw, "%.*s", (int)(end - pass - 1), pass + 1);
    snprintf(c->user, sizeof c->user, "%s", user);
    if (gmail(c)) {
        lr->gm = (int)gmail_login(c, user, pw);
        lr->ok = lr->gm == GM_OK;
        lr->extra[0] = '\0';
    } else if (fam(c) == LF_DOVECOT) {
        lr->ok = check_account(c->lab, user, pw) == ACCT_OK;
        lr->extra[0] = '\0';
    } else {
        *lr = exch_login(c, user, pw);
    }
    OPENSSL_cleanse(pw, sizeof pw);
    return lr->ok;
}

/* XOAUTH2: "user=U\x01auth=Bearer T\x01\x01"; the lab's token is LAB_TOKEN. */
static bool sasl_xoauth2_login(struct labconn *c, const uint8_t *raw, size_t rawlen)
{
    char s[512];
    bool ok = false;
    snprintf(s, sizeof s, "%.*s", (int)(rawlen < sizeof s - 1 ? rawlen : sizeof s - 1), (const char *)raw);
    char *u = strstr(s, "user="), *a = strstr(s, "auth=Bearer ");
    if (u && a) {
        char *e = strchr(u, '\x01');
        if (e)
            *e = '\0';
        snprintf(c->user, sizeof c->user, "%s", u + 5);
        char *t = a + 12, *te = strchr(t, '\x01');
        if (te)
            *te = '\0';
        ok = !strcmp(t, LAB_TOKEN);
        lab_event(c->lab, "lab: %s XOAUTH2 as \"%s\": %s", c->cip, c->user,
                  ok ? "accepted" : "refused (invalid token)");
    }
    OPENSSL_cleanse(s, sizeof s);
    return ok;
}

/* The final reply of an AUTHENTICATE / AUTH exchange, and its log row. */
static void gmail_sasl_finish(struct labconn *c, const struct login_result *lr, size_t before)
{
    if (lr->ok) {
        c->state = 1;
        snprintf(c->user, sizeof c->user, "%s", lab_user(c->lab));
    }
    bool app = lr->gm == GM_APP_PASSWORD;
    if (is_pop(c)) {
        labconn_send(c, "%s\r\n", lr->ok ? "+OK Welcome." : app ? "-ERR [AUTH] " GM_APP_PW
                                                                  : "-ERR [AUTH] Invalid credentials (Failure)");
        return;
    }
    if (lr->ok)
        labconn_send(c, "* CAPABILITY " GM_POST_CAPS "\r\n");
    if (lr->ok)
        imap_done(c, "AUTHENTICATE", c->mech, "", before, "OK %s authenticated (Success)", c->user);
    else
        imap_done(c, "AUTHENTICATE", c->mech, "", before, "%s",
                  app ? "NO [ALERT] " GM_APP_PW " (Failure)" : "NO " GM_INVALID);
}

static void sasl_finish(struct labconn *c, const struct login_result *lr, size_t before)
{
    if (gmail(c)) {
        gmail_sasl_finish(c, lr, before);
        if (!lr->ok)
            c->user[0] = '\0';
        return;
    }
    const char *fail_imap = fam(c) == LF_DOVECOT ? "NO [AUTHENTICATIONFAILED] Authentication failed."
                                                 : "NO AUTHENTICATE failed.";
    const char *fail_pop = fam(c) == LF_DOVECOT ? "-ERR [AUTH] Authentication failed."
                                                : "-ERR Authentication failure: unknown user name or bad password.";
    size_t bl = strlen(lr->bracket);
    if (lr->ok)
        c->state = 1;
    if (is_pop(c)) {
        char t[400];
        snprintf(t, sizeof t, "%s%s%.*s", lr->ok ? "+OK User successfully authenticated." : fail_pop,
                 bl ? " " : "", bl ? (int)bl - 1 : 0, lr->bracket);
        labconn_send(c, "%s\r\n", t);
        log_row(c, "auth", c->mech, t, lr->extra, c->sent_total - before);
    } else if (lr->ok) {
        imap_done(c, "AUTHENTICATE", c->mech, lr->extra, before, "OK AUTHENTICATE completed.");
    } else {
        /* "NO [Error=...] AUTHENTICATE failed." for the accounts Exchange tells */
        imap_done(c, "AUTHENTICATE", c->mech, lr->extra, before, "%.3s%s%s", fail_imap, lr->bracket,
                  fail_imap + 3);
    }
    if (!lr->ok)
        c->user[0] = '\0';
}

/* One line of an AUTHENTICATE or AUTH exchange. */
static void sasl_step(struct labconn *c, const char *line, size_t before)
{
    int step = c->sasl;
    c->sasl = LAB_SASL_NONE;
    if (step == LAB_SASL_XOAUTH2_ERR) {     /* Google: after the error challenge, the tagged NO */
        struct login_result lr = { false, GM_INVALID_CREDENTIALS, "", "" };
        sasl_finish(c, &lr, before);
        return;
    }
    if (!strcmp(line, "*")) {
        sasl_cancelled(c, before);
        return;
    }
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    char err[128];
    bool decoded = sasl_b64_decode(line, strlen(line), &raw, &rawlen, err, sizeof err) == 0;
    if (step == LAB_SASL_NTLM1 && decoded && rawlen >= 12 && !memcmp(raw, "NTLMSSP", 8) && raw[8] == 1) {
        uint8_t t2[512];
        size_t n = ntlm_type2(t2);
        b64_send(c, "+ ", t2, n);
        c->sasl = LAB_SASL_NTLM3;
        lab_event(c->lab, "lab: %s NTLM negotiate: challenge names EX01 / " FQDN " / CONTOSO", c->cip);
        sasl_free(raw, rawlen);
        return;
    }
    /* an NTLM authenticate message is never checked: the lab has no domain to ask */
    struct login_result lr = { false, GM_INVALID_CREDENTIALS, "ErrMsg=InvalidAuthBlob", "" };
    if (decoded && step == LAB_SASL_PLAIN) {
        sasl_plain_login(c, raw, rawlen, &lr);
    } else if (decoded && step == LAB_SASL_XOAUTH2) {
        lr.ok = sasl_xoauth2_login(c, raw, rawlen);
        lr.gm = lr.ok ? GM_OK : GM_INVALID_CREDENTIALS;
        lr.extra[0] = '\0';
        if (!lr.ok && gmail(c)) {   /* R-XOAUTH2-001: a 401 challenge first */
            sasl_free(raw, rawlen);
            labconn_send(c, "+ " GM_XOAUTH_ERR "\r\n");
            c->sasl = LAB_SASL_XOAUTH2_ERR;
            return;
        }
    }
    if (raw)
        sasl_free(raw, rawlen);
    sasl_finish(c, &lr, before);
}

/* The IMAP commands, one handler each: cmd is the name as the client typed
 * it, args the rest of the line. */
typedef void (*imap_fn)(struct labconn *c, const char *cmd, char *args, size_t before);

static void imap_capability(struct labconn *c, const char *cmd, char *args, size_t before)
{
    (void)args;
    char caps[600];
    imap_caps(c, caps, sizeof caps);
    if (c->state && fam(c) == LF_DOVECOT)
        snprintf(caps, sizeof caps, "%s", DOV_POST_CAPS);
    labconn_send(c, "* CAPABILITY %s\r\n", caps);
    char id[32];
    if (gmail(c)) {
        imap_done(c, cmd, "", "", before, "OK Thats all she wrote! %s", gmail_tag_id(c, id, sizeof id));
        return;
    }
    imap_done(c, cmd, "", "", before, "%s", fam(c) == LF_DOVECOT
              ? (c->state ? "OK Capability completed." : "OK Pre-login capabilities listed, post-login capabilities have more.")
              : "OK CAPABILITY completed.");
}

static void imap_noop(struct labconn *c, const char *cmd, char *args, size_t before)
{
    (void)args;
    imap_done(c, cmd, "", "", before, gmail(c) ? "OK Success" : "OK NOOP completed.");
}

static void imap_logout(struct labconn *c, const char *cmd, char *args, size_t before)
{
    (void)args;
    if (gmail(c)) {
        labconn_send(c, "* BYE LOGOUT Requested\r\n");
        imap_done(c, cmd, "", "", before, "OK 73 good day (Success)");
        c->close_after_flush = true;
        return;
    }
    if (fam(c) == LF_DOVECOT)
        labconn_send(c, "* BYE Logging out\r\n");
    else
        labconn_send(c, "* BYE Microsoft Exchange Server%s IMAP4 server signing off.\r\n",
                     fam(c) == LF_ONLINE ? "" : " 2013");
    imap_done(c, cmd, "", "", before, "%s", fam(c) == LF_DOVECOT ? "OK Logout completed." : "OK LOGOUT completed.");
    c->close_after_flush = true;
}

static void imap_id(struct labconn *c, const char *cmd, char *args, size_t before)
{
    if (gmail(c)) {
        labconn_send(c, "* ID (\"name\" \"GImap\" \"vendor\" \"Google, Inc.\" \"support-url\" "
                        "\"https://support.google.com/mail\")\r\n");
        imap_done(c, cmd, args, "", before, "OK Success");
        return;
    }
    if (fam(c) == LF_DOVECOT)
        labconn_send(c, "* ID (\"name\" \"Dovecot\")\r\n");
    else
        labconn_send(c, "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"%s\")\r\n",
                     fam(c) == LF_ONLINE ? "15.20" : "15.0");
    imap_done(c, cmd, args, "", before, "OK ID completed.");
}

static void imap_starttls(struct labconn *c, const char *cmd, char *args, size_t before)
{
    if (c->tls || !plain_port(c) || !run(c)->ctx || c->state) {
        imap_done(c, cmd, "", "", before, "%s", invalid_state(c));
    } else if (*args) {
        imap_done(c, cmd, "", "", before, "BAD Command Argument Error. 12");
    } else {
        imap_done(c, cmd, "", "", before, "OK Begin TLS negotiation now.");
        c->tls_after_flush = true;
    }
}

static void imap_login(struct labconn *c, const char *cmd, char *args, size_t before)
{
    char user[128], pass[256];
    char *r = astring(args, user, sizeof user);
    r = r ? astring(r, pass, sizeof pass) : NULL;
    char params[200];
    snprintf(params, sizeof params, "%s *****", r ? user : "");
    if (!r) {
        imap_done(c, cmd, params, "", before, "BAD Command Argument Error. 12");
    } else if (c->state) {
        imap_done(c, cmd, params, "", before, "%s", invalid_state(c));
    } else if (!plain_ok(c, false)) {
        if (fam(c) == LF_DOVECOT)   /* 2.3: the password went out anyway, it says so */
            labconn_send(c, "* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your "
                            "client did it anyway. If anyone was listening, the password was exposed.\r\n");
        imap_done(c, cmd, params, "", before, "%s", fam(c) == LF_DOVECOT
                  ? "NO [PRIVACYREQUIRED] " PLAIN_DISALLOWED : "BAD Command received in Invalid state.");
    } else {
        imap_login_result(c, "LOGIN", user, pass, params, before);
    }
    OPENSSL_cleanse(pass, sizeof pass);
}

static void imap_authenticate_cmd(struct labconn *c, const char *cmd, char *args, size_t before)
{
    (void)cmd;
    imap_authenticate(c, args, before);
}

static void imap_list(struct labconn *c, const char *cmd, char *args, size_t before)
{
    if (c->state < 1) {
        imap_done(c, cmd, args, "", before, "%s", invalid_state(c));
        return;
    }
    labconn_send(c, "* %s (\\Marked \\HasNoChildren) \"/\" INBOX\r\n", cmd);
    imap_done(c, cmd, args, "", before, "OK %s completed.", cmd);
}

static void imap_fetch_cmd(struct labconn *c, const char *cmd, char *args, size_t before)
{
    imap_fetch(c, cmd, args, false, before);
}

static void imap_uid(struct labconn *c, const char *cmd, char *args, size_t before)
{
    if (!strncasecmp(args, "FETCH ", 6))
        imap_fetch(c, "FETCH", args + 6, true, before);
    else
        imap_done(c, cmd, args, "", before, "%s", fam(c) == LF_DOVECOT
                  ? "BAD Error in IMAP command UID: Unknown command." : "BAD Command Argument Error. 11");
}

static void imap_close(struct labconn *c, const char *cmd, char *args, size_t before)
{
    (void)args;
    if (c->state < 2) {
        imap_done(c, cmd, "", "", before, "%s", invalid_state(c));
        return;
    }
    c->state = 1;
    imap_done(c, cmd, "", "", before, "OK %s completed.", cmd);
}

static void imap_select_cmd(struct labconn *c, const char *cmd, char *args, size_t before)
{
    imap_select(c, cmd, args, before);
}

static void imap_unknown(struct labconn *c, const char *cmd, size_t before)
{
    char *clean = sanitize_text(cmd, strlen(cmd), 40);
    if (fam(c) == LF_DOVECOT)
        imap_done(c, "unknown", "", "", before, "BAD Error in IMAP command %s: Unknown command.",
                  clean ? clean : "?");
    else
        imap_done(c, "unknown", "", "", before, "BAD Command Error. 12");
    free(clean);
    if (fam(c) != LF_DOVECOT && ++c->bad > 2) {    /* Exchange gives up after the third */
        labconn_send(c, "* BYE Connection closed. 14\r\n");
        c->close_after_flush = true;
    }
}

static const struct { const char *name; imap_fn fn; } imap_commands[] = {
    { "CAPABILITY", imap_capability }, { "NOOP", imap_noop }, { "LOGOUT", imap_logout },
    { "ID", imap_id }, { "STARTTLS", imap_starttls }, { "LOGIN", imap_login },
    { "AUTHENTICATE", imap_authenticate_cmd }, { "SELECT", imap_select_cmd },
    { "EXAMINE", imap_select_cmd }, { "LIST", imap_list }, { "LSUB", imap_list },
    { "FETCH", imap_fetch_cmd }, { "UID", imap_uid }, { "CLOSE", imap_close },
    { "UNSELECT", imap_close },
};

static void imap_line(struct labconn *c, char *line, size_t before)
{
    char *sp = strchr(line, ' ');
    if (!sp || sp == line) {
        snprintf(c->tag, sizeof c->tag, "*");
        imap_done(c, "unknown", "", "", before, "%s",
                  fam(c) == LF_DOVECOT ? "BAD Error in IMAP command received by server." : "BAD Command Error. 12");
        return;
    }
    *sp = '\0';
    snprintf(c->tag, sizeof c->tag, "%.60s", line);
    char *cmd = sp + 1, *args = strchr(cmd, ' ');
    if (args)
        *args++ = '\0';
    else
        args = cmd + strlen(cmd);
    for (size_t i = 0; i < sizeof imap_commands / sizeof *imap_commands; i++)
        if (!strcasecmp(cmd, imap_commands[i].name)) {
            imap_commands[i].fn(c, cmd, args, before);
            return;
        }
    imap_unknown(c, cmd, before);
}

/* ---- POP3 -------------------------------------------------------------- */

static void pop_reply(struct labconn *c, const char *cmd, const char *params, const char *extra,
                      size_t before, const char *text)
{
    labconn_send(c, "%s\r\n", text);
    log_row(c, cmd, params, text, extra, c->sent_total - before);
}

static void pop_capa(struct labconn *c)
{
    if (gmail(c)) {
        labconn_send(c, "+OK Capability list follows\r\nUSER\r\nRESP-CODES\r\nEXPIRE 0\r\nLOGIN-DELAY 300\r\n"
                        "TOP\r\nUIDL\r\nX-GOOGLE-RICO\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n.\r\n");
        return;
    }
    labconn_send(c, "+OK\r\n");
    bool stls = !c->tls && plain_port(c) && run(c)->ctx;
    if (fam(c) == LF_DOVECOT) {
        /* USER and PLAIN only where a password may be sent (pop3-login's CAPA) */
        bool pw = plain_ok(c, false);
        labconn_send(c, "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n%s%s.\r\n",
                     stls ? "STLS\r\n" : "", pw ? "USER\r\nSASL PLAIN\r\n" : "SASL\r\n");
        return;
    }
    if (fam(c) == LF_ONLINE) {
        labconn_send(c, "TOP\r\nUIDL\r\n%sUSER\r\n%s.\r\n", c->tls ? "SASL PLAIN XOAUTH2\r\n" : "",
                     stls ? "STLS\r\n" : "");
        return;
    }
    enum lab_login lt = run(c)->set.login;
    const char *sasl = c->tls || lt == LT_PLAINTEXTLOGIN ? "SASL NTLM GSSAPI PLAIN\r\n"
                      : lt == LT_PLAINTEXTAUTH ? "SASL NTLM GSSAPI\r\n" : "";
    labconn_send(c, "TOP\r\nUIDL\r\n%s%s%s.\r\n", sasl, c->tls || lt == LT_PLAINTEXTLOGIN ? "USER\r\n" : "",
                 stls ? "STLS\r\n" : "");
}

static const char *pop_not_valid(const struct labconn *c)
{
    return fam(c) == LF_DOVECOT ? "-ERR Unknown command." : "-ERR Command is not valid in this state.";
}

static void pop_pass(struct labconn *c, const char *pass, size_t before)
{
    if (c->state || !c->user[0]) {
        pop_reply(c, "pass", "*****", "", before, pop_not_valid(c));
        return;
    }
    if (gmail(c)) {
        enum gm_login r = gmail_login(c, c->user, pass);
        c->state = r == GM_OK;
        pop_reply(c, "pass", "*****", "", before, r == GM_OK ? "+OK Welcome." : r == GM_APP_PASSWORD
                  ? "-ERR [AUTH] " GM_APP_PW : "-ERR [AUTH] Username and password not accepted.");
    } else if (fam(c) == LF_DOVECOT) {
        bool ok = check_account(c->lab, c->user, pass) == ACCT_OK;
        lab_event(c->lab, "lab: %s login as \"%s\": %s", c->cip, c->user, ok ? "accepted" : "refused");
        c->state = ok;
        pop_reply(c, "pass", "*****", "", before, ok ? "+OK Logged in." : "-ERR [AUTH] Authentication failed.");
    } else {
        struct login_result lr = exch_login(c, c->user, pass);
        c->state = lr.ok;
        char t[400];
        size_t bl = strlen(lr.bracket);
        snprintf(t, sizeof t, "%s%s%.*s", lr.ok ? "+OK User successfully logged on." :
                 "-ERR Logon failure: unknown user name or bad password.", bl ? " " : "",
                 bl ? (int)bl - 1 : 0, lr.bracket);
        pop_reply(c, "pass", "*****", lr.extra, before, t);
    }
    if (!c->state)
        c->user[0] = '\0';
}

static void pop_auth(struct labconn *c, char *args, size_t before)
{
    char mech[32], ir[LAB_LINE_MAX];
    char *rest = astring(args, mech, sizeof mech);
    if (!rest) {
        pop_reply(c, "auth", "", "", before, fam(c) == LF_DOVECOT ? "-ERR Unknown command." : "-ERR Protocol error. 16");
        return;
    }
    bool has_ir = astring(rest, ir, sizeof ir) != NULL;
    bool ntlm = !strcasecmp(mech, "NTLM") && fam(c) == LF_EXCH2013;
    bool plain = !strcasecmp(mech, "PLAIN");
    bool xoauth = !strcasecmp(mech, "XOAUTH2") && (fam(c) == LF_ONLINE || gmail(c));
    if (c->state) {
        pop_reply(c, "auth", mech, "", before, pop_not_valid(c));
        return;
    }
    if (!ntlm && !plain && !xoauth) {
        pop_reply(c, "auth", mech, "", before, fam(c) == LF_DOVECOT ? "-ERR [AUTH] Unsupported authentication mechanism." : "-ERR Protocol error. 14");
        return;
    }
    if (!c->tls && !ntlm && !plain_ok(c, true)) {
        pop_reply(c, "auth", mech, "", before, fam(c) == LF_DOVECOT
                  ? "-ERR [AUTH] " PLAIN_DISALLOWED : "-ERR Command is not valid in this state.");
        return;
    }
    if (!c->tls && ntlm && run(c)->set.login == LT_SECURELOGIN) {
        pop_reply(c, "auth", mech, "", before, "-ERR Command is not valid in this state.");
        return;
    }
    c->sasl = ntlm ? LAB_SASL_NTLM1 : plain ? LAB_SASL_PLAIN : LAB_SASL_XOAUTH2;
    snprintf(c->mech, sizeof c->mech, "%s", mech);
    if (has_ir) {       /* RFC 5034 initial response, NTLM's negotiate message included */
        labproto_line(c, ir, strlen(ir));
        return;
    }
    labconn_send(c, "+ \r\n");
}

static void pop_transaction(struct labconn *c, const char *cmd, char *args, size_t before)
{
    char lc[16];
    snprintf(lc, sizeof lc, "%s", cmd);
    for (char *p = lc; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    size_t total = 0;
    for (int i = 0; i < NMSG; i++)
        total += strlen(messages[i]);
    char buf[128];
    long n = strtol(args, NULL, 10);
    if (!strcmp(lc, "stat")) {
        snprintf(buf, sizeof buf, "+OK %d %zu", NMSG, total);
        pop_reply(c, lc, "", "", before, buf);
    } else if (!strcmp(lc, "list") || !strcmp(lc, "uidl")) {
        bool uidl = lc[0] == 'u';
        if (*args) {
            if (n < 1 || n > NMSG) {
                pop_reply(c, lc, args, "", before, "-ERR The specified message is out of range.");
                return;
            }
            if (uidl)
                snprintf(buf, sizeof buf, "+OK %ld AAQkAGlab%ld", n, n);
            else
                snprintf(buf, sizeof buf, "+OK %ld %zu", n, strlen(messages[n - 1]));
            pop_reply(c, lc, args, "", before, buf);
            return;
        }
        labconn_send(c, "+OK\r\n");
        for (int i = 0; i < NMSG; i++) {
            if (uidl)
                labconn_send(c, "%d AAQkAGlab%d\r\n", i + 1, i + 1);
            else
                labconn_send(c, "%d %zu\r\n", i + 1, strlen(messages[i]));
        }
        pop_reply(c, lc, "", "", before, ".");
    } else if (!strcmp(lc, "retr") || !strcmp(lc, "top")) {
        if (n < 1 || n > NMSG) {
            pop_reply(c, lc, args, "", before, "-ERR The specified message is out of range.");
            return;
        }
        labconn_send(c, "+OK\r\n");
        labconn_send_raw(c, messages[n - 1], strlen(messages[n - 1]));
        pop_reply(c, lc, args, "", before, ".");
    } else if (!strcmp(lc, "dele") || !strcmp(lc, "rset") || !strcmp(lc, "noop")) {
        pop_reply(c, lc, args, "", before, "+OK");
    } else {
        pop_reply(c, lc, "", "", before, fam(c) == LF_DOVECOT ? "-ERR Unknown command." : "-ERR Protocol error. 19");
    }
}

static void pop_line(struct labconn *c, char *line, size_t before)
{
    char *args = strchr(line, ' ');
    if (args)
        *args++ = '\0';
    else
        args = line + strlen(line);
    const char *cmd = line;
    if (!strcasecmp(cmd, "CAPA")) {
        pop_capa(c);
        log_row(c, "capa", "", "+OK", "", c->sent_total - before);
    } else if (!strcasecmp(cmd, "QUIT")) {
        const char *t = gmail(c) ? "+OK Farewell." : fam(c) == LF_DOVECOT ? "+OK Logging out." :
                        fam(c) == LF_ONLINE ? "+OK Microsoft Exchange Server POP3 server signing off."
                                            : "+OK Microsoft Exchange Server 2013 POP3 server signing off.";
        pop_reply(c, "quit", "", "", before, t);
        c->close_after_flush = true;
    } else if (!strcasecmp(cmd, "STLS")) {
        if (c->tls || !plain_port(c) || !run(c)->ctx || c->state)
            pop_reply(c, "stls", "", "", before, pop_not_valid(c));
        else {
            pop_reply(c, "stls", "", "", before, fam(c) == LF_DOVECOT ? "+OK Begin TLS negotiation now."
                                                                        : "+OK Begin TLS negotiation.");
            c->tls_after_flush = true;
        }
    } else if (!strcasecmp(cmd, "USER")) {
        if (c->state)
            pop_reply(c, "user", args, "", before, pop_not_valid(c));
        else if (!plain_ok(c, false))
            pop_reply(c, "user", args, "", before, fam(c) == LF_DOVECOT
                      ? "-ERR [AUTH] " PLAIN_DISALLOWED : "-ERR Command is not valid in this state.");
        else {
            snprintf(c->user, sizeof c->user, "%s", args);
            pop_reply(c, "user", args, "", before, gmail(c) ? "+OK send PASS" : "+OK");
        }
    } else if (!strcasecmp(cmd, "PASS")) {
        pop_pass(c, args, before);
        OPENSSL_cleanse(args, strlen(args));
    } else if (!strcasecmp(cmd, "AUTH")) {
        pop_auth(c, args, before);
    } else if (c->state) {
        pop_transaction(c, cmd, args, before);
    } else {
        pop_reply(c, "unknown", "", "", before, fam(c) == LF_DOVECOT ? "-ERR Unknown command." : "-ERR Command is not valid in this state.");
    }
}

void labproto_line(struct labconn *c, char *line, size_t n)
{
    (void)n;
    size_t before = c->sent_total;
    c->t0_ms = loop_now_ms();
    if (!line) {
        if (is_pop(c))
            labconn_send(c, "%s\r\n", fam(c) == LF_DOVECOT ? "-ERR Input line too long." : "-ERR Protocol error. Connection is closed. 10");
        else
            labconn_send(c, "%s\r\n", fam(c) == LF_DOVECOT ? "* BYE Too long argument." : "* BAD Command Error. 10\r\n* BYE Connection closed.");
        lab_event(c->lab, "lab: %s sent a line longer than %d bytes: closing", c->cip, LAB_LINE_MAX);
        return;
    }
    if (c->sasl) {
        sasl_step(c, line, before);
        return;
    }
    if (is_pop(c))
        pop_line(c, line, before);
    else
        imap_line(c, line, before);
}
