/* The diagnosis rules and engine: every built-in rule fires on evidence that
 * should trigger it and stays silent on a near miss; the ranking and the
 * confidence words; "no known rule"; placeholders; the loader's refusals of
 * malformed files (file:line: what), all or nothing, and hostile bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "evidence.h"
#include "rules.h"

struct spec {
    const char *proto, *failure, *step, *reply, *line, *family, *version, *user, *host;
    const char *caps, *problem, *message;
    const char *log;        /* one server-log line (a context field) */
    char covers;            /* 'y', 'n' or 0 (unknown) */
    bool secure;
    unsigned port;
    long elapsed;           /* ms; 0: unknown */
    char sni_differs, sni_covers;   /* probe --sni: 'y', 'n' or 0 (unknown) */
};

struct built {
    struct diag_evidence e;
    char code[64], caps[512];
    const char *log[1];
};

static void build(struct built *b, const struct spec *s)
{
    memset(b, 0, sizeof *b);
    struct diag_evidence *e = &b->e;
    diag_evidence_init(e);
    e->pop3 = s->proto && !strcmp(s->proto, "pop3");
    e->failure = s->failure ? s->failure : "";
    e->failed = e->failure[0] != 0;
    e->step = s->step ? s->step : "";
    e->reply = s->reply ? s->reply : "";
    evidence_reply_code(e->reply, b->code, sizeof b->code);
    e->code = b->code;
    if (s->reply)
        e->lines[e->n_lines++] = s->reply;
    if (s->line)
        e->lines[e->n_lines++] = s->line;
    e->family = s->family ? s->family : "unknown";
    e->family_version = s->version ? s->version : "";
    e->user = s->user ? s->user : "alice";
    e->host = s->host ? s->host : "mail.example.com";
    e->message = s->message ? s->message : "";
    snprintf(b->caps, sizeof b->caps, "%s", s->caps ? s->caps : "");
    for (char *save, *w = strtok_r(b->caps, " ", &save); w && e->n_caps_before < DIAG_MAX_CAPS;
         w = strtok_r(NULL, " ", &save))
        e->caps_before[e->n_caps_before++] = w;
    if (s->problem)
        e->problems[e->n_problems++] = s->problem;
    e->cert_seen = s->problem || s->covers;
    e->cert_covers_server = s->covers == 'y' ? 1 : s->covers == 'n' ? 0 : -1;
    e->secure = s->secure;
    if (s->log) {
        b->log[0] = s->log;
        e->log_lines = b->log;
        e->n_log_lines = 1;
    }
    e->port = s->port;
    e->elapsed_ms = s->elapsed ? s->elapsed : -1;
    e->sni_cert_differs = s->sni_differs == 'y' ? 1 : s->sni_differs == 'n' ? 0 : -1;
    e->sni_default_covers = s->sni_covers == 'y' ? 1 : s->sni_covers == 'n' ? 0 : -1;
    if (s->sni_differs) {
        e->sni_name = "imap.example.net";
        e->sni_cert = "imap.example.net";
        e->default_cert = s->sni_differs == 'y' ? "mail.example.com" : "imap.example.net";
    }
}

static struct ruleset rs;

static void load(void)
{
    char err[512];
    ruleset_init(&rs);
    cr_assert_eq(rules_load_builtin(&rs, err, sizeof err), 0, "%s", err);
}

static void unload(void) { ruleset_free(&rs); }

static const struct diag_hypothesis *find(const struct diag_result *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->h[i].rule->id, id))
            return &r->h[i];
    return NULL;
}

static bool fires(const char *id, const struct spec *s)
{
    struct built b;
    struct diag_result r;
    build(&b, s);
    diag_run(&rs, &b.e, &r);
    bool yes = find(&r, id) != NULL;
    diag_result_free(&r);
    return yes;
}

#define EXLOGIN(...) { .failure = "auth", .step = "login", .reply = "a002 NO LOGIN failed.", \
                       .family = "exchange", __VA_ARGS__ }

static const struct { const char *id; struct spec pos, near; } cases[] = {
    { "R-EXCH-013", EXLOGIN(),
      { .failure = "auth", .step = "login", .reply = "a002 NO LOGIN failed.", .family = "dovecot" } },
    { "R-EXCH-004", EXLOGIN(),
      { .failure = "auth", .step = "login", .reply = "a002 NO AUTHENTICATE failed.",
        .family = "exchange" } },
    { "R-EXCH-014", EXLOGIN(.user = "CONTOSO\\Administrator"), EXLOGIN(.user = "admin.alice") },
    { "R-EXCH-001", EXLOGIN(.covers = 'n'), EXLOGIN(.version = "Online") },
    { "R-EXCH-018", EXLOGIN(.version = "Online"), EXLOGIN(.version = "") },
    { "R-EXCH-005",
      { .failure = "auth", .step = "login", .family = "exchange",
        .reply = "a002 BAD Command received in Invalid state." },
      { .failure = "auth", .step = "login", .family = "exchange", .secure = true,
        .reply = "a002 BAD Command received in Invalid state." } },
    { "R-EXCH-002", { .failure = "tls", .line = "* BYE Connection is closed. 14" },
      { .failure = "tls", .line = "* BYE Connection is closed. 13" } },
    { "R-EXCH-003", { .failure = "protocol", .reply = "a003 BAD User is authenticated but not connected." },
      { .failure = "protocol", .reply = "a003 BAD User is authenticated." } },
    { "R-EXCH-009", { .failure = "protocol", .reply = "a003 NO Server Unavailable. 15" },
      { .failure = "protocol", .reply = "a003 NO Server Unavailable. 16" } },
    { "R-EXCH-011", { .failure = "closed", .line = "* BYE Connection is closed. 10" },
      { .failure = "closed", .line = "* BYE Connection is closed. 11" } },
    { "R-EXCH-017", EXLOGIN(.log = "R=\"a2 NO LOGIN failed.\";ErrMsg=ProxyTimeout"),
      EXLOGIN(.log = "R=\"a2 NO LOGIN failed.\";ErrMsg=ProxyNotAuthenticated") },
    { "R-EXCH-016", EXLOGIN(.log = "R=\"a2 NO LOGIN failed.\";ErrMsg=LogonFailed:FailClientAccessRules"),
      EXLOGIN(.log = "R=\"a2 NO LOGIN failed.\";ErrMsg=LogonFailed:LogonDenied") },
    { "R-EXCH-007",
      { .failure = "auth", .step = "login", .family = "exchange",
        .reply = "a002 BAD Command Argument Error. 11" },
      { .failure = "auth", .step = "login", .family = "exchange",
        .reply = "a002 BAD Command Argument Error. 12" } },
    { "R-DOV-001",
      { .failure = "auth", .step = "login",
        .reply = "a002 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections." },
      { .failure = "auth", .step = "login",
        .reply = "a002 NO [PRIVACYREQUIRED] Plaintext authentication disallowed." } },
    { "R-DOV-002",
      { .failure = "auth", .family = "dovecot", .reply = "a002 NO [AUTHENTICATIONFAILED] Authentication failed." },
      { .failure = "auth", .family = "gmail", .reply = "a002 NO [AUTHENTICATIONFAILED] Authentication failed." } },
    { "R-DOV-003",
      { .failure = "auth", .reply = "a002 NO [UNAVAILABLE] Temporary authentication failure. [mx1:2024-01-02 03:04:05]" },
      { .failure = "auth", .reply = "a002 NO [UNAVAILABLE] Internal error occurred." } },
    { "R-DOV-004",
      { .failure = "auth", .reply = "a002 NO [LIMIT] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)" },
      { .failure = "auth", .reply = "a002 NO [LIMIT] Maximum number of connections exceeded" } },
    { "R-DOV-007",
      { .proto = "pop3", .failure = "protocol", .reply = "-ERR [IN-USE] Mailbox is locked by another POP3 session." },
      { .proto = "imap", .failure = "protocol", .reply = "-ERR [IN-USE] Mailbox is locked by another POP3 session." } },
    { "R-GMAIL-001",
      { .failure = "auth", .reply = "a002 NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)" },
      { .failure = "auth", .reply = "a002 NO [ALERT] Password required (Failure)" } },
    { "R-GMAIL-002",
      { .failure = "auth", .reply = "a002 NO [ALERT] Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 (Failure)" },
      { .failure = "auth", .reply = "a002 NO [ALERT] Please log in (Failure)" } },
    { "R-GMAIL-003",
      { .failure = "auth", .family = "gmail", .reply = "a002 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)" },
      { .failure = "auth", .family = "dovecot", .reply = "a002 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)" } },
    { "R-GMAIL-004",
      { .failure = "auth", .reply = "a002 NO [ALERT] Your account is not enabled for IMAP use." },
      { .failure = "auth", .reply = "a002 NO [ALERT] Your account is enabled." } },
    { "R-5530-AUTHENTICATIONFAILED", { .failure = "auth", .reply = "a002 NO [AUTHENTICATIONFAILED] nope" },
      { .failure = "auth", .reply = "a002 NO AUTHENTICATIONFAILED nope" } },
    { "R-5530-AUTHORIZATIONFAILED", { .failure = "auth", .reply = "a002 NO [AUTHORIZATIONFAILED] x" },
      { .failure = "auth", .reply = "a002 NO [AUTHENTICATIONFAILED] x" } },
    { "R-5530-EXPIRED", { .failure = "auth", .reply = "a002 NO [EXPIRED] x" },
      { .failure = "auth", .reply = "a002 NO [EXPUNGEISSUED] x" } },
    { "R-5530-PRIVACYREQUIRED", { .failure = "auth", .reply = "a002 NO [PRIVACYREQUIRED] x" },
      { .failure = "auth", .reply = "a002 NO PRIVACYREQUIRED x" } },
    { "R-5530-CONTACTADMIN", { .failure = "auth", .reply = "a002 NO [CONTACTADMIN] x" },
      { .failure = "auth", .reply = "a002 NO contact the admin" } },
    { "R-5530-UNAVAILABLE", { .failure = "auth", .reply = "a002 NO [UNAVAILABLE] x" },
      { .failure = "auth", .reply = "a002 NO [CANNOT] x" } },
    { "R-IMAP-ALERT", { .failure = "auth", .reply = "a002 NO [ALERT] read this" },
      { .failure = "auth", .reply = "a002 NO ALERT read this" } },
    { "R-POP3-AUTH", { .proto = "pop3", .failure = "auth", .reply = "-ERR [AUTH] Authentication failed." },
      { .proto = "pop3", .failure = "auth", .reply = "-ERR Authentication failed." } },
    { "R-POP3-SYS-TEMP", { .proto = "pop3", .failure = "auth", .reply = "-ERR [SYS/TEMP] x" },
      { .proto = "pop3", .failure = "auth", .reply = "-ERR [SYS/PERM] x" } },
    { "R-POP3-SYS-PERM", { .proto = "pop3", .failure = "auth", .reply = "-ERR [SYS/PERM] x" },
      { .proto = "pop3", .failure = "auth", .reply = "-ERR [SYS/TEMP] x" } },
    { "R-POP3-IN-USE", { .proto = "pop3", .failure = "auth", .reply = "-ERR [IN-USE] x" },
      { .proto = "pop3", .failure = "auth", .reply = "-ERR [LOGIN-DELAY] x" } },
    { "R-LOGINDISABLED",
      { .failure = "tls-required", .step = "login", .caps = "IMAP4rev1 LOGINDISABLED STARTTLS" },
      { .failure = "tls-required", .step = "login", .caps = "IMAP4rev1 AUTH=PLAIN STARTTLS" } },
    { "R-TLS-NO-STARTTLS", { .failure = "tls-required", .caps = "IMAP4rev1 AUTH=PLAIN" },
      { .failure = "tls-required", .caps = "IMAP4rev1 AUTH=PLAIN STARTTLS" } },
    { "R-TLS-NO-STLS", { .proto = "pop3", .failure = "tls-required", .caps = "USER SASL" },
      { .proto = "pop3", .failure = "tls-required", .caps = "USER STLS" } },
    { "R-CERT-001", { .failure = "cert", .problem = "incomplete-chain" },
      { .failure = "cert", .problem = "untrusted-root" } },
    { "R-CERT-002", { .failure = "cert", .problem = "expired" },
      { .failure = "cert", .problem = "expires-soon" } },
    { "R-CERT-002B", { .failure = "cert", .problem = "not-yet-valid" },
      { .failure = "cert", .problem = "expired" } },
    { "R-CERT-003", { .failure = "cert", .problem = "hostname-mismatch" },
      { .failure = "cert", .problem = "self-signed" } },
    { "R-CERT-004", { .failure = "cert", .problem = "untrusted-root" },
      { .failure = "cert", .problem = "incomplete-chain" } },
    { "R-CERT-004B", { .failure = "cert", .problem = "self-signed" },
      { .failure = "cert", .problem = "weak-key" } },
    { "R-CERT-006", { .failure = "tls", .message = "TLS handshake failed: unsupported protocol" },
      { .failure = "tls", .message = "TLS handshake failed: bad record mac" } },
    /* OpenSSL 3 at its default security level when the server chose TLS 1.0 */
    { "R-CERT-006", { .failure = "tls", .message = "TLS handshake failed: legacy sigalg disallowed or unsupported" },
      { .failure = "tls", .message = "TLS handshake failed: sigalg mismatch" } },
    { "R-NET-REFUSED", { .failure = "connect", .message = "127.0.0.1:1: Connection refused" },
      { .failure = "connect", .message = "127.0.0.1:1: No route to host" } },
    { "R-NET-TIMEOUT", { .failure = "timeout", .step = "connect" },
      { .failure = "closed", .step = "connect" } },
    { "R-NET-DNS", { .failure = "dns" }, { .failure = "connect" } },
    { "R-CYRUS-001", { .failure = "auth", .reply = "a002 NO Login failed: authentication failure" },
      { .failure = "protocol", .reply = "a002 NO Login failed: authentication failure" } },
    { "R-CYRUS-002", { .failure = "auth", .reply = "a002 NO Login only available under a layer" },
      { .failure = "auth", .reply = "a002 NO Login only available" } },
    { "R-COURIER-001", { .failure = "auth", .family = "courier", .reply = "a002 NO Login failed." },
      { .failure = "auth", .family = "cyrus", .reply = "a002 NO Login failed." } },
    { "R-COURIER-002", { .failure = "auth", .reply = "a002 NO STARTTLS required" },
      { .failure = "auth", .reply = "a002 NO STARTTLS refused" } },
    { "R-COURIER-003", { .failure = "closed", .line = "* BYE Temporary problem, please try again later" },
      { .failure = "closed", .line = "* BYE Permanent problem" } },
    { "R-ZIMBRA-001", { .failure = "auth", .reply = "a002 NO cleartext logins disabled" },
      { .failure = "auth", .reply = "a002 NO logins disabled" } },
    { "R-ZIMBRA-002", { .failure = "auth", .reply = "a002 NO [ALERT] password must be changed before IMAP login permitted" },
      { .failure = "auth", .reply = "a002 NO [ALERT] password must be strong" } },
    { "R-ZIMBRA-003", { .failure = "auth", .reply = "a002 NO [ALERT] account undergoing maintenance; please try again later" },
      { .failure = "auth", .reply = "a002 NO [ALERT] account locked" } },
    { "R-YAHOO-001", { .failure = "auth", .reply = "a002 NO [AUTHENTICATIONFAILED] Incorrect username or password." },
      { .failure = "auth", .reply = "a002 NO [AUTHENTICATIONFAILED] Incorrect." } },
    { "R-ICLOUD-001", { .failure = "auth", .family = "icloud", .reply = "a002 NO [AUTHENTICATIONFAILED] Authentication failed" },
      { .failure = "auth", .family = "yahoo", .reply = "a002 NO [AUTHENTICATIONFAILED] Authentication failed" } },
    { "R-XOAUTH2-001", { .failure = "auth", .line = "+ eyJzdGF0dXMiOiI0MDAifQ==" },
      { .failure = "auth", .line = "+ " } },
    { "R-EXCH-008", { .failure = "protocol", .reply = "a002 BAD Command Error. 11" },
      { .failure = "protocol", .reply = "a002 BAD Command Error. 13" } },
    { "R-EXCH-012", { .failure = "closed", .line = "* BYE Connection is closed. 13" },
      { .failure = "closed", .line = "* BYE Connection is closed. 14" } },
    { "R-EXCH-019", { .failure = "tls", .line = "TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/popimap_tls" },
      { .failure = "tls", .line = "TLS 1.2 is supported" } },
    { "R-DOV-006", { .failure = "closed", .line = "* BYE Disconnected for inactivity." },
      { .failure = "closed", .line = "* BYE Disconnected." } },
    { "R-DOV-005", { .failure = "protocol", .reply = "a003 NO [SERVERBUG] Internal error occurred." },
      { .failure = "protocol", .reply = "a003 NO [UNAVAILABLE] Internal error occurred." } },
    { "R-DOV-005B", { .failure = "protocol", .reply = "a003 NO [LIMIT] Too many messages." },
      { .failure = "auth", .reply = "a002 NO [LIMIT] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)" } },
    { "R-GMAIL-005", { .failure = "auth", .reply = "a002 NO [ALERT] Too many simultaneous connections. (Failure)" },
      { .failure = "auth", .reply = "a002 NO [ALERT] Too many login attempts. (Failure)" } },
    { "R-EXCH-006", { .failure = "protocol", .step = "select", .family = "exchange",
                      .reply = "a003 BAD Command received in Invalid state." },
      { .failure = "protocol", .step = "starttls", .family = "exchange",
        .reply = "a003 BAD Command received in Invalid state." } },
    { "R-EXCH-010", { .failure = "protocol", .reply = "a005 NO Mailbox has been deleted or moved." },
      { .failure = "protocol", .reply = "a005 NO Mailbox does not exist." } },
    { "R-EXCH-015", EXLOGIN(.user = "CONTOSO\\alice\\sales"), EXLOGIN(.user = "CONTOSO\\alice") },
    { "R-EXCH-020", { .failure = "tls", .family = "exchange", .message = "TLS handshake failed: unsupported protocol" },
      { .failure = "tls", .family = "exchange", .version = "Online",
        .message = "TLS handshake failed: unsupported protocol" } },
    { "R-CERT-005", { .failure = "cert", .problem = "weak-signature" },
      { .failure = "cert", .problem = "expires-soon" } },
    { "R-CERT-005B", { .failure = "cert", .problem = "weak-key" },
      { .failure = "cert", .problem = "weak-signature" } },
    { "R-CERT-007", { .failure = "tls", .port = 143, .message = "TLS handshake failed: wrong version number" },
      { .failure = "tls", .port = 143, .message = "TLS handshake failed: certificate verify failed" } },
    { "R-CERT-008", { .sni_differs = 'y', .sni_covers = 'n' },
      { .sni_differs = 'n', .sni_covers = 'y' } },
    { "R-CERT-007B", { .failure = "timeout", .step = "greeting", .port = 993 },
      { .failure = "timeout", .step = "greeting", .port = 993, .secure = true } },
};

#define N_CASES (sizeof cases / sizeof *cases)

Test(rules, every_builtin_rule_fires_and_misses, .init = load, .fini = unload)
{
    for (size_t i = 0; i < N_CASES; i++) {
        cr_expect(fires(cases[i].id, &cases[i].pos), "%s does not fire on its evidence", cases[i].id);
        cr_expect_not(fires(cases[i].id, &cases[i].near), "%s fires on its near miss", cases[i].id);
    }
}

Test(rules, every_builtin_rule_has_a_case, .init = load, .fini = unload)
{
    cr_assert_geq(rs.n, 20);
    for (size_t i = 0; i < rs.n; i++) {
        size_t k = 0;
        while (k < N_CASES && strcmp(cases[k].id, rs.r[i].id))
            k++;
        cr_expect_lt(k, N_CASES, "rule %s has no positive/near-miss case", rs.r[i].id);
    }
}

static void run(const struct spec *s, struct built *b, struct diag_result *r)
{
    build(b, s);
    diag_run(&rs, &b->e, r);
}

Test(diag, bare_login_failed_is_only_possible, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    run(&(struct spec)EXLOGIN(), &b, &r);
    cr_assert_geq(r.n, 3);
    cr_expect_str_eq(r.h[0].rule->id, "R-EXCH-013");
    for (size_t i = 0; i < r.n; i++) {
        cr_expect_str_neq(r.h[i].confidence, "certain");
        cr_expect_str_neq(r.h[i].confidence, "likely", "%s", r.h[i].rule->id);
    }
    cr_expect_not(r.no_rule);
    diag_result_free(&r);
}

Test(diag, administrator_ranks_first_and_likely, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    run(&(struct spec)EXLOGIN(.user = "administrator@contoso.com"), &b, &r);
    cr_assert_geq(r.n, 1);
    cr_expect_str_eq(r.h[0].rule->id, "R-EXCH-014");
    cr_expect_str_eq(r.h[0].confidence, "likely");
    const struct diag_hypothesis *pw = find(&r, "R-EXCH-013");
    cr_assert(pw);
    cr_expect_gt(pw->n_against, 0, "the administrator account counts against a wrong password");
    diag_result_free(&r);
}

Test(diag, bound_certificate_ranks_proxy_first_with_names_filled, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    run(&(struct spec)EXLOGIN(.covers = 'n'), &b, &r);
    b.e.server_fqdn = "EX01.contoso.local";
    b.e.cert_cn = "mail.contoso.com";
    cr_assert_geq(r.n, 1);
    const struct diag_hypothesis *h = &r.h[0];
    cr_expect_str_eq(h->rule->id, "R-EXCH-001");
    cr_expect_str_eq(h->confidence, "likely");
    char *fix = diag_fill(h->rule->fix[1], &b.e);
    cr_expect_str_eq(fix, "Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local");
    free(fix);
    char *cause = diag_fill(h->rule->cause, &b.e);
    cr_expect(strstr(cause, "(mail.contoso.com)"), "%s", cause);
    free(cause);
    diag_result_free(&r);
}

Test(diag, pop3_placeholders, .init = load, .fini = unload)
{
    struct diag_evidence e;
    diag_evidence_init(&e);
    e.pop3 = true;
    char *s = diag_fill("Set-{proto}Settings; Restart-Service MSExchange{service}BE {server} {nope} {", &e);
    cr_expect_str_eq(s, "Set-PopSettings; Restart-Service MSExchangePOP3BE <server> {nope} {");
    free(s);
}

Test(diag, decisive_log_makes_it_certain, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    build(&b, &(struct spec)EXLOGIN());
    static const char *const log[] = {
        "R=\"a2 NO LOGIN failed.\";Msg=Proxy:ex02.contoso.local:1993:SSL;ErrMsg=ProxyNotAuthenticated"
    };
    b.e.log_lines = log;
    b.e.n_log_lines = 1;
    diag_run(&rs, &b.e, &r);
    cr_assert_geq(r.n, 1);
    cr_expect_str_eq(r.h[0].rule->id, "R-EXCH-001");
    cr_expect_str_eq(r.h[0].confidence, "certain");
    diag_result_free(&r);
}

Test(diag, unknown_failure_has_no_rule, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    run(&(struct spec){ .failure = "auth", .step = "login", .family = "unknown",
                        .reply = "a001 NO The frobnication quotient is out of phase" }, &b, &r);
    cr_expect_eq(r.n, 0);
    cr_expect(r.no_rule);
    diag_result_free(&r);
}

Test(diag, success_is_not_no_rule, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    run(&(struct spec){ .family = "dovecot" }, &b, &r);
    cr_expect_eq(r.n, 0);
    cr_expect_not(r.no_rule);
    diag_result_free(&r);
}

Test(diag, reply_codes)
{
    char c[64];
    evidence_reply_code("a1 NO [AUTHENTICATIONFAILED] x", c, sizeof c);
    cr_expect_str_eq(c, "AUTHENTICATIONFAILED");
    evidence_reply_code("-ERR [SYS/TEMP] x", c, sizeof c);
    cr_expect_str_eq(c, "SYS/TEMP");
    evidence_reply_code("a1 NO [UNAVAILABLE", c, sizeof c);
    cr_expect_str_eq(c, "UNAVAILABLE");
    evidence_reply_code("a1 NO LOGIN failed. [x]", c, sizeof c);
    cr_expect_str_eq(c, "");
    evidence_reply_code("* OK [ALERT] hi", c, sizeof c);
    cr_expect_str_eq(c, "ALERT");
    evidence_reply_code("", c, sizeof c);
    cr_expect_str_eq(c, "");
}

/* ---- the loader ---- */

#define GOOD "rule U-1\ntitle: t\nrequire failure is auth\nexplanation: e\nfix: f\nsource: s\nend\n"

static void refused(const char *text, size_t len, const char *want)
{
    struct ruleset r;
    char err[512];
    ruleset_init(&r);
    size_t before = r.n;
    cr_expect_eq(rules_parse(&r, "u.rules", text, len, err, sizeof err), -1, "accepted: %s", want);
    cr_expect(strstr(err, want), "wanted \"%s\", got \"%s\"", want, err);
    cr_expect(!strncmp(err, "u.rules:", 8), "%s", err);
    cr_expect_eq(r.n, before, "a refused file added rules");
    ruleset_free(&r);
}

#define REFUSED(text, want) refused(text, sizeof(text) - 1, want)

Test(loader, good_file_loads_and_fires)
{
    struct ruleset r;
    char err[512];
    ruleset_init(&r);
    cr_assert_eq(rules_parse(&r, "u.rules", GOOD, strlen(GOOD), err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.n, 1);
    cr_expect_str_eq(r.r[0].families, "any");
    cr_expect_str_eq(r.r[0].origin, "u.rules:1");
    ruleset_free(&r);
}

Test(loader, refusals_name_the_line)
{
    REFUSED("title: x\n", "u.rules:1: expected 'rule ID'");
    REFUSED("rule A\ntitle: t\n", "not closed with 'end'");
    REFUSED("rule A\nrule B\n", "u.rules:2: rule A is not closed");
    REFUSED("rule A B\n", "needs one id");
    REFUSED("rule A/B\n", "needs one id");
    REFUSED("rule A\nrequire reply matches (\n", "u.rules:2: bad regular expression");
    REFUSED("rule A\nrequire colour is red\n", "unknown fact 'colour'");
    REFUSED("rule A\nrequire failure equals auth\n", "unknown operator 'equals'");
    REFUSED("rule A\nrequire failure matches auth\n", "does not apply");
    REFUSED("rule A\nrequire failure is\n", "without a value");
    REFUSED("rule A\nfor 0 failure is auth\n", "weight from 1 to 100");
    REFUSED("rule A\nfor 101 failure is auth\n", "weight from 1 to 100");
    REFUSED("rule A\nfor x failure is auth\n", "weight from 1 to 100");
    REFUSED("rule A\nrequire secure is maybe\n", "takes yes or no");
    REFUSED("rule A\nfix: {nope}\n", "unknown placeholder {nope}");
    REFUSED("rule A\nseverity: fatal\n", "severity must be");
    REFUSED("rule A\nprotocols: smtp\n", "unknown protocol 'smtp'");
    REFUSED("rule A\ncolour: red\n", "unknown field 'colour'");
    REFUSED("rule A\ntitle:\n", "is empty");
    REFUSED("rule A\ntitle: a\ntitle: b\n", "second title");
    REFUSED("rule A\ntitle: t\nrequire failure is auth\nexplanation: e\nsource: s\nend\n", "has no fix");
    REFUSED("rule A\ntitle: t\nfor 1 failure is auth\nexplanation: e\nfix: f\nsource: s\nend\n",
            "has no 'require'");
    REFUSED("rule A\nexplanation: e\nfix: f\nsource: s\nrequire failure is auth\nend\n", "has no title");
    REFUSED("rule A\ntitle: t\nrequire failure is auth\nexplanation: e\nfix: f\nsource: s\nend x\n",
            "text after 'end'");
    REFUSED(GOOD GOOD, "u.rules:8: rule id U-1 is already defined");
    REFUSED("rule A\ntitle: t\0x\n", "u.rules:2: NUL byte");
    REFUSED("rule A\ntitle: \xff\n", "UTF-8");
    REFUSED("rule A\ntitle: \x1b[2J\n", "control character");
}

Test(loader, all_or_nothing_and_builtin_ids_taken)
{
    struct ruleset r;
    char err[512];
    ruleset_init(&r);
    cr_assert_eq(rules_load_builtin(&r, err, sizeof err), 0, "%s", err);
    size_t n = r.n;
    const char *t = GOOD "rule R-EXCH-001\n";
    cr_expect_eq(rules_parse(&r, "u.rules", t, strlen(t), err, sizeof err), -1);
    cr_expect(strstr(err, "u.rules:8: rule id R-EXCH-001 is already defined"), "%s", err);
    cr_expect_eq(r.n, n);
    ruleset_free(&r);
}

Test(loader, bounds)
{
    size_t n = RULES_MAX_LINE + 10;
    char *t = malloc(n + 1);
    memset(t, 'x', n);
    t[n] = 0;
    memcpy(t, "rule A\ntitle: ", 14);
    refused(t, n, "u.rules:2: line longer than");
    free(t);
    /* more conditions than a rule holds */
    char big[8192] = "rule A\n";
    for (int i = 0; i <= RULES_MAX_COND; i++)
        strcat(big, "require failure is auth\n");
    refused(big, strlen(big), "more than");
    char fixes[4096] = "rule A\n";
    for (int i = 0; i <= RULES_MAX_FIX; i++)
        strcat(fixes, "fix: f\n");
    refused(fixes, strlen(fixes), "fix steps");
}

/* Hostile input: mutated rule files must be refused or loaded, never crash
 * (ASan/UBSan watch). A deterministic generator: the same run every time. */
Test(loader, mutations_never_crash)
{
    static const char *pieces[] = { "rule ", "X-1", "\n", "title: ", "require ", "for ", "against ",
        "decisive ", "reply ", "matches ", "is ", "has ", "(", ")", "[", "{host}", "{", "}",
        "end", "99 ", "fix: ", "explanation: ", "source: ", "\\", "*", "\xc3", "\xa9", "\t", " ",
        "caps ", "line ", "failure ", "auth", "#", "\r", "yes", "cert-covers-server " };
    unsigned seed = 12345;
    char buf[512];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 0;
        int parts = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 40;
        for (int k = 0; k < parts; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof *pieces)];
            size_t pl = strlen(p);
            if (len + pl >= sizeof buf)
                break;
            memcpy(buf + len, p, pl);
            len += pl;
        }
        struct ruleset r;
        char err[256];
        ruleset_init(&r);
        rules_parse(&r, "fuzz", buf, len, err, sizeof err);
        ruleset_free(&r);
    }
}

/* A line that came in clear text is attacker-controllable: the evidence says so. */
Test(diag, clear_text_lines_are_labelled, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    build(&b, &(struct spec){ .failure = "auth", .line = "* OK [ALERT] call +1-555-0100 now" });
    diag_run(&rs, &b.e, &r);
    const struct diag_hypothesis *h = find(&r, "R-IMAP-ALERT");
    cr_assert(h);
    bool labelled = false;
    for (size_t i = 0; i < h->n_for; i++)
        labelled |= strstr(h->evidence_for[i], "call +1-555-0100") &&
                    strstr(h->evidence_for[i], "clear text");
    cr_expect(labelled, "the clear-text ALERT is not labelled");
    diag_result_free(&r);
    b.e.line_secure[0] = true;      /* the same line inside TLS: no label */
    diag_run(&rs, &b.e, &r);
    h = find(&r, "R-IMAP-ALERT");
    cr_assert(h);
    for (size_t i = 0; i < h->n_for; i++)
        cr_expect_null(strstr(h->evidence_for[i], "clear text"), "%s", h->evidence_for[i]);
    diag_result_free(&r);
}

/* Each ErrMsg value of the protocol log's catalogue (knowledge A4) makes its
 * rule certain and first, on the same bare "NO LOGIN failed." */
Test(diag, log_errmsg_makes_its_rule_certain, .init = load, .fini = unload)
{
    static const struct { const char *log, *id, *user; } t[] = {
        { "R=\"a2 NO LOGIN failed.\";Msg=Proxy:ex02:1993:SSL;ErrMsg=ProxyNotAuthenticated", "R-EXCH-001", NULL },
        { "R=\"z NO [Error=ProxyNotAuthenticated Proxy=ex02:1993:SSL] LOGIN failed.\"", "R-EXCH-001", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=UserDisabled", "R-EXCH-004", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=LogonFailed:WellKnownAccount", "R-EXCH-014", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=LogonFailed:LogonDenied", "R-EXCH-013", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=NoADRecipient", "R-EXCH-013", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=ProxyFailed", "R-EXCH-017", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=NoProxyConnection", "R-EXCH-017", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=NoBackendFound", "R-EXCH-017", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=LogonFailed:FailClientAccessRules", "R-EXCH-016", NULL },
        { "R=\"a2 NO LOGIN failed.\";ErrMsg=LogonFailed:UnsupportedLoginFormat2", "R-EXCH-015",
          "CONTOSO\\alice\\sales" },
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct built b;
        struct diag_result r;
        build(&b, &(struct spec)EXLOGIN(.log = t[i].log, .user = t[i].user));
        diag_run(&rs, &b.e, &r);
        cr_assert_geq(r.n, 1, "%s", t[i].log);
        cr_expect_str_eq(r.h[0].rule->id, t[i].id, "%s", t[i].log);
        cr_expect_str_eq(r.h[0].confidence, "certain", "%s", t[i].log);
        for (size_t k = 1; k < r.n; k++)
            cr_expect_str_neq(r.h[k].confidence, "certain", "%s also certain for %s",
                              r.h[k].rule->id, t[i].log);
        diag_result_free(&r);
    }
}

/* A log line of another kind (or none) never makes a guess certain. */
Test(diag, log_without_errmsg_changes_nothing, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    build(&b, &(struct spec)EXLOGIN(.log = "R=\"a2 OK LOGIN completed.\";Msg=ProxySuccess"));
    diag_run(&rs, &b.e, &r);
    cr_assert_geq(r.n, 1);
    cr_expect_str_eq(r.h[0].rule->id, "R-EXCH-013");
    for (size_t k = 0; k < r.n; k++)
        cr_expect_str_neq(r.h[k].confidence, "certain", "%s", r.h[k].rule->id);
    diag_result_free(&r);
}
Test(diag, dovecot_delay_counts_for_a_refused_password, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    struct spec quick = { .failure = "auth", .step = "login", .family = "dovecot",
                          .reply = "a002 NO [AUTHENTICATIONFAILED] Authentication failed.",
                          .elapsed = 40 };
    struct spec slow = quick;
    slow.elapsed = 2010;
    build(&b, &quick);
    diag_run(&rs, &b.e, &r);
    const struct diag_hypothesis *h = find(&r, "R-DOV-002");
    cr_assert(h);
    int quick_score = h->score;
    diag_result_free(&r);
    build(&b, &slow);
    diag_run(&rs, &b.e, &r);
    h = find(&r, "R-DOV-002");
    cr_assert(h);
    cr_expect_eq(h->score, quick_score + 1, "a two-second refusal counts for the password rule");
    bool said = false;
    for (size_t i = 0; i < h->n_for; i++)
        said |= strstr(h->evidence_for[i], "took 2010 ms") != NULL;
    cr_expect(said, "the evidence names the delay");
    diag_result_free(&r);
}

Test(rules, port_and_elapsed_take_numbers)
{
    static const char *bad[] = {
        "rule X\ntitle: t\nrequire port is https\nexplanation: e\nfix: f\nend\n",
        "rule X\ntitle: t\nrequire elapsed-ms over 2s\nexplanation: e\nfix: f\nend\n",
        "rule X\ntitle: t\nrequire elapsed-ms is 20\nexplanation: e\nfix: f\nend\n",
        "rule X\ntitle: t\nrequire port over 20\nexplanation: e\nfix: f\nend\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct ruleset set;
        char err[256] = "";
        ruleset_init(&set);
        cr_expect_lt(rules_parse(&set, "t.rules", bad[i], strlen(bad[i]), err, sizeof err), 0,
                     "accepted: %s", bad[i]);
        cr_expect(strstr(err, "t.rules:3:") != NULL, "error names the line: %s", err);
        ruleset_free(&set);
    }
}

/* Exchange names the error on the wire for proxied logins and health
 * mailboxes: "NO [Error=ProxyNotAuthenticated Proxy=...] LOGIN failed." (IMAP),
 * "-ERR Logon failure: ... [Error=... Proxy=...]" (POP3). */
Test(diag, error_bracket_on_the_wire_makes_the_proxy_rule_certain, .init = load, .fini = unload)
{
    static const struct spec specs[] = {
        { .failure = "auth", .step = "login", .family = "exchange",
          .reply = "a002 NO [Error=ProxyNotAuthenticated Proxy=EX01.contoso.local:1993:SSL] LOGIN failed." },
        { .proto = "pop3", .failure = "auth", .step = "login", .family = "exchange",
          .reply = "-ERR Logon failure: unknown user name or bad password. "
                   "[Error=ProxyNotAuthenticated Proxy=EX01.contoso.local:1995:SSL]" },
    };
    for (size_t i = 0; i < 2; i++) {
        struct built b;
        struct diag_result r;
        build(&b, &specs[i]);
        diag_run(&rs, &b.e, &r);
        cr_assert_geq(r.n, 1);
        cr_expect_str_eq(r.h[0].rule->id, "R-EXCH-001", "%s", specs[i].reply);
        cr_expect_str_eq(r.h[0].confidence, "certain");
        diag_result_free(&r);
    }
}

/* probe --sni: the rule names the certificate a client without SNI gets, is
 * likelier when that one does not cover the name, and says nothing when
 * both handshakes saw the same certificate or no comparison was made. */
Test(diag, sni_rule_names_the_default_certificate, .init = load, .fini = unload)
{
    struct built b;
    struct diag_result r;
    run(&(struct spec){ .sni_differs = 'y', .sni_covers = 'n' }, &b, &r);
    const struct diag_hypothesis *h = find(&r, "R-CERT-008");
    cr_assert_not_null(h);
    cr_expect_str_eq(r.h[0].rule->id, "R-CERT-008");
    cr_expect_eq(h->score, 5);
    cr_expect_str_eq(h->confidence, "likely");
    char *expl = diag_fill(h->rule->explanation, &b.e);
    cr_assert_not_null(expl);
    cr_expect(strstr(expl, "asked for imap.example.net it presents \"imap.example.net\""), "%s", expl);
    cr_expect(strstr(expl, "gets the default certificate \"mail.example.com\""), "%s", expl);
    free(expl);
    char *fix = diag_fill(h->rule->fix[1], &b.e);
    cr_expect(strstr(fix, "cover imap.example.net"), "%s", fix);
    free(fix);
    cr_expect(strstr(h->evidence_for[0], "without SNI it presents \"mail.example.com\"")
              || strstr(h->evidence_for[1], "without SNI it presents \"mail.example.com\""));
    diag_result_free(&r);

    run(&(struct spec){ .sni_differs = 'y', .sni_covers = 'y' }, &b, &r);
    h = find(&r, "R-CERT-008");
    cr_assert_not_null(h, "it differs: still worth saying, as a possibility");
    cr_expect_eq(h->score, 1);
    cr_expect_str_eq(h->confidence, "possible");
    diag_result_free(&r);

    run(&(struct spec){ .sni_differs = 'n', .sni_covers = 'y' }, &b, &r);
    cr_expect_eq(r.n, 0, "the same certificate both ways: no diagnosis");
    cr_expect_not(r.no_rule);
    diag_result_free(&r);

    run(&(struct spec){ .sni_covers = 'n' }, &b, &r);
    cr_expect_null(find(&r, "R-CERT-008"), "no comparison ran: unknown is not yes");
    diag_result_free(&r);
}

Test(rules, sni_facts_take_yes_no_unknown)
{
    struct ruleset one;
    char err[256];
    ruleset_init(&one);
    const char *bad = "rule X-1\ntitle: t\nrequire sni-cert-differs is maybe\nend\n";
    cr_expect_lt(rules_parse(&one, "t.rules", bad, strlen(bad), err, sizeof err), 0);
    cr_expect(strstr(err, "t.rules:3:") && strstr(err, "or unknown"), "%s", err);
    const char *op = "rule X-1\ntitle: t\nrequire sni-default-covers matches yes\nend\n";
    cr_expect_lt(rules_parse(&one, "t.rules", op, strlen(op), err, sizeof err), 0);
    const char *good = "rule X-1\ntitle: t\nrequire sni-default-covers is unknown\n"
                       "explanation: e\nsource: s\nfix: {sni_name} {sni_cert} {default_cert}\nend\n";
    cr_expect_eq(rules_parse(&one, "t.rules", good, strlen(good), err, sizeof err), 0, "%s", err);
    ruleset_free(&one);
}
