/* test_session — tier-2 tests of net/session against an in-process scripted
 * peer (tests/unit/peer.c): a thread on 127.0.0.1, port 0, that plays one
 * server conversation byte for byte, TLS included. The test process runs the
 * session on its own loop and records every event for the assertions.
 *
 * Each test: h_start(script, params) -> drive the session -> wait for
 * events -> h_finish() (closes the session, joins the peer and asserts that
 * every scripted step passed) -> assertions on events and on what the peer
 * received. Every wait is bounded; the suite's timeout bounds the rest. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"
#include "session.h"

/* ---- the recording harness -------------------------------------------- */

struct rec {
    enum session_event_type type;
    enum session_op op;
    int64_t at_us;
    bool ok, secure;
    enum failure_class fail;
    char status[16];
    char *data;                 /* NUL-terminated copy of data/len */
    size_t len;
    char *message;              /* copy, NULL when none */
    uint64_t literal_total;
    enum session_state state;
    bool tls_verified;
    char tls_version[16];
    bool has_ntlm;
    struct ntlm_challenge_info ntlm;
};

struct harness {
    struct loop *loop;
    struct session *s;
    struct peer *peer;
    struct session_params p;
    struct rec *ev;
    size_t n, cap;
    size_t cursor;              /* h_wait_end() looks from here on */
    int64_t t0_us;
    /* optional observer action, run after the event is recorded */
    void (*hook)(struct harness *h, const struct session_event *ev);
    int hook_state;
};

static struct harness H;

static const char *const type_names[] = { "OP_BEGIN", "SENT", "RECEIVED", "LITERAL", "OP_END",
                                          "TLS", "DISCARDED", "NOTICE", "NTLM", "STATE",
                                          "CLOSED" };

static void on_event(void *arg, const struct session_event *ev)
{
    struct harness *h = arg;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->ev = realloc(h->ev, h->cap * sizeof *h->ev);
        cr_assert_not_null(h->ev);
    }
    struct rec *r = &h->ev[h->n++];
    memset(r, 0, sizeof *r);
    r->type = ev->type;
    r->op = ev->op;
    r->at_us = ev->at_us;
    r->ok = ev->ok;
    r->secure = ev->secure;
    r->fail = ev->fail;
    snprintf(r->status, sizeof r->status, "%s", ev->status ? ev->status : "");
    r->len = ev->data ? ev->len : 0;
    r->data = malloc(r->len + 1);
    if (r->len)
        memcpy(r->data, ev->data, r->len);
    r->data[r->len] = 0;
    r->message = ev->message ? strdup(ev->message) : NULL;
    r->literal_total = ev->literal_total;
    r->state = ev->state;
    if (ev->type == SEV_TLS && ev->tls) {
        r->tls_verified = ev->tls->verified;
        snprintf(r->tls_version, sizeof r->tls_version, "%s", ev->tls->version);
    }
    if (ev->type == SEV_NTLM && ev->ntlm) {
        r->has_ntlm = true;
        r->ntlm = *ev->ntlm;
    }
    if (h->hook)
        h->hook(h, ev);
}

static void h_dump(const struct harness *h)
{
    fprintf(stderr, "---- %zu session events ----\n", h->n);
    for (size_t i = 0; i < h->n; i++) {
        const struct rec *r = &h->ev[i];
        fprintf(stderr, "[%2zu] %6.1f ms %-9s %-10s", i, (double)(r->at_us - h->t0_us) / 1000.0,
                type_names[r->type], session_op_name(r->op, h->p.proto));
        if (r->type == SEV_OP_END)
            fprintf(stderr, " ok=%d fail=%s status=%s", r->ok, failure_class_name(r->fail),
                    r->status);
        if (r->type == SEV_CLOSED)
            fprintf(stderr, " fail=%s", failure_class_name(r->fail));
        if (r->len)
            fprintf(stderr, " \"%.*s\"%s", r->len > 120 ? 120 : (int)r->len, r->data,
                    r->len > 120 ? "..." : "");
        if (r->message)
            fprintf(stderr, " -- %s", r->message);
        fputc('\n', stderr);
    }
    if (h->peer && h->peer->failed)
        fprintf(stderr, "peer: %s\n", h->peer->error);
}

static void h_cleanup(void)
{
    struct harness *h = &H;
    if (h->s)
        session_free(h->s);
    h->s = NULL;
    if (h->loop)
        loop_free(h->loop);
    h->loop = NULL;
    if (h->peer) {
        peer_finish(h->peer);
        peer_free(h->peer);
        h->peer = NULL;
    }
    for (size_t i = 0; i < h->n; i++) {
        free(h->ev[i].data);
        free(h->ev[i].message);
    }
    free(h->ev);
    memset(h, 0, sizeof *h);
}

TestSuite(session, .timeout = 25 * MS_SLOW_FACTOR, .fini = h_cleanup);

static struct session_params params(enum session_proto proto)
{
    return (struct session_params){ .proto = proto, .host = "127.0.0.1", .family = AF_INET,
                                    .timeout_ms = 3000 * MS_SLOW_FACTOR };
}

/* TLS parameters that make the peer's certificate verify. */
static void with_tls(struct session_params *p)
{
    const struct peer_cert *c = peer_cert_get();
    cr_assert_not_null(c, "cannot make the test certificate");
    p->tls.servername = "mail.test";
    p->tls.cafile = c->cert_path;
}

/* Start the peer (script may be NULL: port given in p), the session, and connect. */
static void h_start(const struct peer_step *script, struct session_params p)
{
    struct harness *h = &H;
    if (script) {
        h->peer = peer_start(script);
        cr_assert_not_null(h->peer, "cannot start the peer");
        p.port = h->peer->port;
    }
    h->p = p;
    h->loop = loop_new();
    cr_assert_not_null(h->loop);
    h->s = session_new(h->loop, &p, on_event, h);
    cr_assert_not_null(h->s);
    h->t0_us = loop_now_us();
    size_t before = h->n;
    cr_assert_eq(session_connect(h->s), 0, "session_connect: %s", session_error(h->s));
    cr_assert_eq(h->n, before, "an event was reported from inside session_connect()");
}

typedef bool (*h_pred)(struct harness *h, const void *arg);

/* Run the loop until pred holds or ms pass. */
static bool h_run_until(h_pred pred, const void *arg, int ms)
{
    struct harness *h = &H;
    int64_t end = loop_now_ms() + ms;
    while (!pred(h, arg)) {
        if (loop_now_ms() >= end)
            return false;
        loop_run_once(h->loop, 10);
    }
    return true;
}

static bool never(struct harness *h, const void *arg) { (void)h; (void)arg; return false; }

/* Let the loop run for ms regardless. */
static void h_spin(int ms) { h_run_until(never, NULL, ms); }

static const struct rec *find_from(const struct harness *h, size_t from,
                                   enum session_event_type type, int op)
{
    for (size_t i = from; i < h->n; i++)
        if (h->ev[i].type == type && (op < 0 || h->ev[i].op == (enum session_op)op))
            return &h->ev[i];
    return NULL;
}

struct want { enum session_event_type type; int op; size_t from; };

static bool have(struct harness *h, const void *arg)
{
    const struct want *w = arg;
    return find_from(h, w->from, w->type, w->op) != NULL;
}

/* The next OP_END of op (after the previous one waited for); fails the test
 * when it does not come within 4 s. */
static const struct rec *h_wait_end(enum session_op op)
{
    struct harness *h = &H;
    struct want w = { SEV_OP_END, (int)op, h->cursor };
    if (!h_run_until(have, &w, 4000)) {
        h_dump(h);
        cr_assert_fail("no OP_END(%s) within 4 s", session_op_name(op, h->p.proto));
    }
    const struct rec *r = find_from(h, h->cursor, SEV_OP_END, (int)op);
    h->cursor = (size_t)(r - h->ev) + 1;
    return r;
}

/* The first event of this type (any op), waiting up to ms for it. */
static const struct rec *h_wait_type(enum session_event_type type, int ms)
{
    struct harness *h = &H;
    struct want w = { type, -1, 0 };
    if (!h_run_until(have, &w, ms)) {
        h_dump(h);
        cr_assert_fail("no %s event within %d ms", type_names[type], ms);
    }
    return find_from(h, 0, type, -1);
}

static const struct rec *h_find(enum session_event_type type, int op)
{
    return find_from(&H, 0, type, op);
}

static size_t h_count(enum session_event_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < H.n; i++)
        n += H.ev[i].type == type;
    return n;
}

/* A SENT event whose display contains needle. */
static const struct rec *h_sent_containing(const char *needle)
{
    for (size_t i = 0; i < H.n; i++)
        if (H.ev[i].type == SEV_SENT && strstr(H.ev[i].data, needle))
            return &H.ev[i];
    return NULL;
}

/* A NOTICE whose message contains needle (case-insensitive). */
static const struct rec *h_notice_containing(const char *needle)
{
    for (size_t i = 0; i < H.n; i++)
        if (H.ev[i].type == SEV_NOTICE && H.ev[i].message && strcasestr(H.ev[i].message, needle))
            return &H.ev[i];
    return NULL;
}

/* No event's bytes or message carries secret. */
static void h_assert_no_secret(const char *secret)
{
    for (size_t i = 0; i < H.n; i++) {
        const struct rec *r = &H.ev[i];
        bool leak = (r->len && memmem(r->data, r->len, secret, strlen(secret))) ||
                    (r->message && strstr(r->message, secret));
        if (leak)
            h_dump(&H);
        cr_assert(!leak, "event %zu (%s) shows the secret \"%s\"", i, type_names[r->type],
                  secret);
    }
}

/* Close the session, join the peer and require that its whole script passed. */
static void h_finish(void)
{
    struct harness *h = &H;
    if (h->s)
        session_free(h->s);
    h->s = NULL;
    if (!h->peer)
        return;
    bool ok = peer_finish(h->peer);
    if (!ok)
        h_dump(h);
    cr_assert(ok, "%s", h->peer->error);
}

static void expect_caps(const struct capset *c, const char *const *yes, const char *const *no)
{
    cr_assert(c->known, "the capability list is not known");
    for (; yes && *yes; yes++)
        cr_assert(capset_has(c, *yes), "capability %s missing", *yes);
    for (; no && *no; no++)
        cr_assert(!capset_has(c, *no), "capability %s present", *no);
}

static void expect_closed(enum failure_class want);

static char *b64(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    cr_assert_not_null(out);
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

#define GREETING_IMAP "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] mail.test IMAP ready\r\n"
#define PASSWORD "s3cret-pw"

/* ---- 1. greeting ------------------------------------------------------- */

static void check_greeting_caps(void)
{
    const struct rec *g = h_wait_end(OP_GREETING);
    cr_assert(g->ok);
    cr_assert_str_eq(g->status, "OK");
    cr_assert_str_eq(session_greeting(H.s),
                     "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] mail.test IMAP ready");
    cr_assert_eq(session_state(H.s), SST_NOT_AUTHENTICATED);
    const struct capset *before = session_caps(H.s, CAPS_BEFORE_TLS);
    expect_caps(before, (const char *const[]){ "IMAP4rev1", "STARTTLS", "AUTH=PLAIN", NULL },
                NULL);
    cr_assert_eq(before->n, 3);
    cr_assert(capset_has_sasl(before, "PLAIN"));
    cr_assert_eq(session_current_caps(H.s), before, "before TLS the current list is the pre-TLS one");
    cr_assert(!session_caps(H.s, CAPS_AFTER_TLS)->known);
    cr_assert(!session_secure(H.s));
    cr_assert_null(session_tls(H.s));
    /* The greeting is one received line, CRLF stripped, outside TLS. */
    size_t lines = 0;
    for (size_t i = 0; i < H.n; i++)
        if (H.ev[i].type == SEV_RECEIVED) {
            lines++;
            cr_assert_str_eq(H.ev[i].data, session_greeting(H.s));
            cr_assert(!H.ev[i].secure);
        }
    cr_assert_eq(lines, 1);
    const struct rec *c = h_find(SEV_OP_END, OP_CONNECT);
    cr_assert(c && c->ok, "the connect step did not end well");
}

Test(session, imap_greeting_capabilities_known_before_tls)
{
    static const struct peer_step script[] = { P_SEND(GREETING_IMAP), P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    check_greeting_caps();
    h_finish();
}

Test(session, imap_greeting_one_byte_per_write)
{
    static const struct peer_step script[] = { P_SEND_SLOW(GREETING_IMAP), P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    check_greeting_caps();
    h_finish();
}

/* ---- 2. STARTTLS done right -------------------------------------------- */

Test(session, imap_starttls_then_capabilities_asked_again)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN] ready\r\n"),
        P_EXPECT_LINE("? STARTTLS"),
        P_SEND("$T OK Begin TLS negotiation now\r\n"),
        P_TLS(),
        P_EXPECT_LINE("? CAPABILITY"),
        P_SEND("* CAPABILITY IMAP4rev1 AUTH=LOGIN SASL-IR\r\n$T OK done\r\n"),
        P_EXPECT_LINE("? LOGIN alice " PASSWORD),
        P_SEND("$T OK [CAPABILITY IMAP4rev1 IDLE] logged in\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    with_tls(&p);
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);

    cr_assert_eq(session_starttls(H.s), 0, "%s", session_error(H.s));
    /* Nothing may be pipelined behind STARTTLS. */
    cr_assert_eq(session_noop(H.s), -1, "a NOOP was accepted while STARTTLS is in flight");
    cr_assert_eq(session_capability(H.s), -1);

    const struct rec *st = h_wait_end(OP_STARTTLS);
    cr_assert(st->ok, "%s", st->message ? st->message : "");
    const struct rec *tls = h_wait_end(OP_TLS);
    cr_assert(tls->ok, "%s", tls->message ? tls->message : "");
    const struct rec *tev = h_find(SEV_TLS, -1);
    cr_assert_not_null(tev);
    cr_assert(tev->tls_verified, "the certificate did not verify against the cafile");
    cr_assert(session_secure(H.s));
    cr_assert_not_null(session_tls(H.s));
    cr_assert(session_tls(H.s)->verified);
    cr_assert_str_eq(session_tls(H.s)->sni, "mail.test");

    /* Inside TLS nothing is known until asked again. */
    const struct capset *now = session_current_caps(H.s);
    cr_assert_eq(now, session_caps(H.s, CAPS_AFTER_TLS));
    cr_assert(!now->known, "capabilities are known inside TLS before CAPABILITY was sent");
    cr_assert_eq(now->n, 0);
    cr_assert(!capset_has(now, "AUTH=PLAIN"));
    cr_assert_not_null(h_notice_containing("discarded"));

    cr_assert_eq(session_capability(H.s), 0, "%s", session_error(H.s));
    const struct rec *cap = h_wait_end(OP_CAPABILITY);
    cr_assert(cap->ok);
    expect_caps(session_caps(H.s, CAPS_AFTER_TLS),
                (const char *const[]){ "IMAP4rev1", "AUTH=LOGIN", "SASL-IR", NULL },
                (const char *const[]){ "AUTH=PLAIN", "STARTTLS", "LOGINDISABLED", NULL });
    cr_assert_eq(session_caps(H.s, CAPS_AFTER_TLS)->n, 3);
    expect_caps(session_caps(H.s, CAPS_BEFORE_TLS),
                (const char *const[]){ "STARTTLS", "LOGINDISABLED", "AUTH=PLAIN", NULL }, NULL);

    /* LOGINDISABLED was pre-TLS only: LOGIN now goes, inside verified TLS. */
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", PASSWORD), 0);
    const struct rec *login = h_wait_end(OP_LOGIN);
    cr_assert(login->ok, "%s", login->message ? login->message : "");
    cr_assert_eq(session_state(H.s), SST_AUTHENTICATED);
    cr_assert(!session_plaintext_login_used(H.s));
    cr_assert_null(h_notice_containing("unencrypted"));
    const struct rec *sent = h_sent_containing("LOGIN alice");
    cr_assert_not_null(sent);
    cr_assert(sent->secure);
    expect_caps(session_caps(H.s, CAPS_AFTER_LOGIN), (const char *const[]){ "IDLE", NULL }, NULL);
    h_assert_no_secret(PASSWORD);
    h_finish();
    cr_assert(H.peer->saw_client_hello);
    cr_assert(H.peer->tls_ok);
}

/* The certificate does not match the name asked for: fatal, nothing sent. */
Test(session, starttls_unverified_certificate_is_fatal)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? STARTTLS"),
        P_SEND("$T OK Begin TLS\r\n"),
        P_TLS(),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    with_tls(&p);
    p.tls.servername = "wrong.test";
    p.allow_plaintext_login = true;   /* irrelevant inside TLS */
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_starttls(H.s), 0);
    expect_closed(FAIL_CERT);
    const struct rec *tev = h_find(SEV_TLS, -1);
    cr_assert_not_null(tev);
    cr_assert(!tev->tls_verified);
    const struct rec *t = h_find(SEV_OP_END, OP_TLS);
    cr_assert(t && !t->ok && t->fail == FAIL_CERT);
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", PASSWORD), -1);
    h_finish();
    cr_assert(H.peer->tls_ok);
    cr_assert(!peer_got_contains(H.peer, "alice"));
}

/* --insecure goes on after a failed verification, and says so. */
Test(session, starttls_insecure_goes_on_with_notice)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? STARTTLS"),
        P_SEND("$T OK Begin TLS\r\n"),
        P_TLS(),
        P_EXPECT_LINE("? LOGIN alice " PASSWORD),
        P_SEND("$T OK logged in\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    with_tls(&p);
    p.tls.servername = "wrong.test";
    p.insecure = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_starttls(H.s), 0);
    cr_assert(h_wait_end(OP_STARTTLS)->ok);
    const struct rec *t = h_wait_end(OP_TLS);
    cr_assert(!t->ok, "an unverified handshake is not a success");
    cr_assert(session_secure(H.s));
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", PASSWORD), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(l->ok, "%s", l->message ? l->message : "");
    cr_assert_not_null(h_notice_containing("did not verify"));
    cr_assert(!session_plaintext_login_used(H.s));
    h_assert_no_secret(PASSWORD);
    h_finish();
}

Test(session, implicit_tls_greeting_inside_tls)
{
    static const struct peer_step script[] = {
        P_TLS(),
        P_SEND("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    with_tls(&p);
    p.implicit_tls = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_TLS)->ok);
    const struct rec *g = h_wait_end(OP_GREETING);
    cr_assert(g->ok);
    const struct rec *r = h_find(SEV_RECEIVED, OP_GREETING);
    cr_assert(r && r->secure);
    cr_assert(!session_caps(H.s, CAPS_BEFORE_TLS)->known);
    expect_caps(session_caps(H.s, CAPS_AFTER_TLS), (const char *const[]){ "AUTH=PLAIN", NULL },
                NULL);
    h_finish();
}

Test(session, pop3_stls_then_capa_inside_tls)
{
    static const struct peer_step script[] = {
        P_SEND("+OK POP3 ready <1.2@mail.test>\r\n"),
        P_EXPECT_LINE("CAPA"),
        P_SEND("+OK\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n"),
        P_EXPECT_LINE("STLS"),
        P_SEND("+OK Begin TLS\r\n"),
        P_TLS(),
        P_EXPECT_LINE("CAPA"),
        P_SEND("+OK\r\nUSER\r\nSASL LOGIN\r\n.\r\n"),
        P_EXPECT_LINE("USER alice"),
        P_SEND("+OK\r\n"),
        P_EXPECT_LINE("PASS " PASSWORD),
        P_SEND("+OK\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_POP3);
    with_tls(&p);
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_capability(H.s), 0);
    cr_assert(h_wait_end(OP_CAPABILITY)->ok);
    cr_assert_eq(session_starttls(H.s), 0);
    cr_assert(h_wait_end(OP_STARTTLS)->ok);
    cr_assert(h_wait_end(OP_TLS)->ok);
    cr_assert(!session_current_caps(H.s)->known);
    cr_assert_eq(session_capability(H.s), 0);
    cr_assert(h_wait_end(OP_CAPABILITY)->ok);
    const struct capset *after = session_caps(H.s, CAPS_AFTER_TLS);
    expect_caps(after, (const char *const[]){ "USER", NULL }, (const char *const[]){ "STLS", NULL });
    cr_assert(!capset_has_sasl(after, "PLAIN"));
    cr_assert(capset_has_sasl(session_caps(H.s, CAPS_BEFORE_TLS), "PLAIN"));
    cr_assert_eq(session_login(H.s, AUTH_USER, "alice", PASSWORD), 0);
    cr_assert(h_wait_end(OP_LOGIN)->ok);
    cr_assert(!session_plaintext_login_used(H.s));
    h_assert_no_secret(PASSWORD);
    h_finish();
}

/* ---- 3. STARTTLS response injection ------------------------------------ */

static void check_injection(const char *injected)
{
    const struct rec *st = h_wait_end(OP_STARTTLS);
    cr_assert(!st->ok, "STARTTLS succeeded despite bytes after its OK");
    cr_assert_eq(st->fail, FAIL_PROTOCOL);
    const struct rec *closed = h_wait_type(SEV_CLOSED, 4000);
    cr_assert_eq(closed->fail, FAIL_PROTOCOL);
    const struct rec *d = h_find(SEV_DISCARDED, -1);
    cr_assert_not_null(d, "no DISCARDED event");
    cr_assert_eq(d->len, strlen(injected));
    cr_assert_str_eq(d->data, injected);
    cr_assert_null(h_find(SEV_OP_BEGIN, OP_TLS), "a TLS handshake was started");
    cr_assert_null(h_find(SEV_TLS, -1));
    cr_assert_eq(session_state(H.s), SST_CLOSED);
    cr_assert(!session_caps(H.s, CAPS_AFTER_TLS)->known);
    h_finish();   /* the peer's P_EOF: no ClientHello, nothing at all */
    cr_assert(!H.peer->saw_client_hello);
}

Test(session, imap_starttls_response_injection_aborts)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? STARTTLS"),
        P_SEND("$T OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_starttls(H.s), 0);
    check_injection("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
}

Test(session, pop3_stls_response_injection_aborts)
{
    static const struct peer_step script[] = {
        P_SEND("+OK POP3 ready\r\n"),
        P_EXPECT_LINE("STLS"),
        P_SEND("+OK Begin TLS\r\n+OK\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_POP3));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_starttls(H.s), 0);
    check_injection("+OK\r\n");
}

/* ---- 4. STARTTLS refused ----------------------------------------------- */

Test(session, imap_starttls_refused_connection_still_usable)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? STARTTLS"),
        P_SEND("$T NO nope\r\n"),
        P_EXPECT_LINE("? NOOP"),
        P_SEND("$T OK NOOP completed\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_starttls(H.s), 0);
    const struct rec *st = h_wait_end(OP_STARTTLS);
    cr_assert(!st->ok);
    cr_assert_eq(st->fail, FAIL_TLS_REQUIRED);
    cr_assert_str_eq(st->status, "NO");
    cr_assert_null(h_find(SEV_CLOSED, -1));
    cr_assert_eq(session_state(H.s), SST_NOT_AUTHENTICATED);
    cr_assert(!session_secure(H.s));
    cr_assert_eq(session_noop(H.s), 0, "%s", session_error(H.s));
    cr_assert(h_wait_end(OP_NOOP)->ok);
    h_finish();
}

/* ---- 5. credentials policy --------------------------------------------- */

Test(session, imap_login_refused_in_clear_without_permission)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? NOOP"),       /* the first thing sent: no LOGIN, no AUTHENTICATE */
        P_SEND("$T OK\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    const enum session_auth mechs[] = { AUTH_LOGIN, AUTH_PLAIN, AUTH_DEFAULT, AUTH_CRAM_MD5 };
    for (size_t i = 0; i < sizeof mechs / sizeof *mechs; i++) {
        size_t before = H.n;
        cr_assert_eq(session_login(H.s, mechs[i], "alice", PASSWORD), 0,
                     "a refused login must still start (and end at once)");
        cr_assert_eq(H.n, before, "an event was reported from inside session_login()");
        const struct rec *l = h_wait_end(OP_LOGIN);
        cr_assert(!l->ok);
        cr_assert_eq(l->fail, FAIL_TLS_REQUIRED, "%s: fail %s", session_auth_name(mechs[i]),
                     failure_class_name(l->fail));
    }
    cr_assert_null(h_find(SEV_SENT, OP_LOGIN), "something was sent for the login");
    cr_assert(!session_plaintext_login_used(H.s));
    cr_assert_eq(session_noop(H.s), 0);
    cr_assert(h_wait_end(OP_NOOP)->ok);
    h_finish();
    cr_assert(!peer_got_contains(H.peer, "LOGIN"));
    cr_assert(!peer_got_contains(H.peer, "AUTHENTICATE"));
    cr_assert(!peer_got_contains(H.peer, PASSWORD));
}

Test(session, imap_login_in_clear_when_allowed)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
        P_EXPECT_LINE("? LOGIN alice " PASSWORD),
        P_SEND("$T OK [CAPABILITY IMAP4rev1 IDLE] LOGIN completed\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", PASSWORD), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(l->ok, "%s", l->message ? l->message : "");
    cr_assert_str_eq(l->status, "OK");
    cr_assert_not_null(h_notice_containing("unencrypted"), "no notice about sending in clear");
    const struct rec *sent = h_sent_containing("LOGIN");
    cr_assert_not_null(sent);
    cr_assert(strstr(sent->data, " LOGIN alice *****") && !strstr(sent->data, PASSWORD),
              "displayed as \"%s\"", sent->data);
    cr_assert(!sent->secure);
    cr_assert(session_plaintext_login_used(H.s));
    cr_assert_eq(session_state(H.s), SST_AUTHENTICATED);
    h_assert_no_secret(PASSWORD);
    h_finish();
}

Test(session, imap_logindisabled_login_not_sent)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"),
        P_EXPECT_LINE("? NOOP"),
        P_SEND("$T OK\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;   /* even so */
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", PASSWORD), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(!l->ok);
    cr_assert_eq(l->fail, FAIL_TLS_REQUIRED);
    cr_assert(l->message && strstr(l->message, "LOGINDISABLED"), "message: %s", l->message);
    cr_assert_null(h_find(SEV_SENT, OP_LOGIN));
    cr_assert_eq(session_noop(H.s), 0);
    cr_assert(h_wait_end(OP_NOOP)->ok);
    h_finish();
    cr_assert(!peer_got_contains(H.peer, "LOGIN"));
}

/* ---- 6. LOGIN argument quoting ----------------------------------------- */

Test(session, imap_login_password_quoted_and_escaped)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
        P_EXPECT_LINE("? LOGIN alice \"pa ss\\\"w\\\\d\""),
        P_SEND("$T OK\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", "pa ss\"w\\d"), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(l->ok);
    cr_assert_not_null(h_sent_containing("LOGIN alice *****"));
    h_assert_no_secret("pa ss");
    h_finish();
}

#define PW8 "p\xc3\xa4ssw\xc3\xb6rd"   /* 10 bytes of UTF-8 */

Test(session, imap_login_8bit_password_waits_for_continuation)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
        P_EXPECT_LINE("? LOGIN alice {10}"),
        P_SILENCE(400),                    /* a synchronising literal waits for "+" */
        P_SEND("+ Ready for literal data\r\n"),
        P_EXPECT_LINE(PW8),
        P_SEND("$T OK LOGIN completed\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", PW8), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(l->ok, "%s", l->message ? l->message : "");
    cr_assert_not_null(h_sent_containing("LOGIN alice {10}"));
    h_assert_no_secret(PW8);
    h_assert_no_secret("ssw");
    h_finish();
}

Test(session, imap_login_8bit_password_literal_plus_sent_at_once)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n"),
        P_EXPECT_LINE("? LOGIN alice {10+}"),
        P_EXPECT_LINE(PW8),
        P_SEND("$T OK LOGIN completed\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", PW8), 0);
    cr_assert(h_wait_end(OP_LOGIN)->ok);
    h_assert_no_secret(PW8);
    h_finish();
}

/* ---- 7. AUTHENTICATE ----------------------------------------------------- */

static char plain_line[200], plain_cmd[200];

static void make_plain_lines(void)
{
    char *p = b64("\0alice\0" PASSWORD, 16);
    cr_assert_str_eq(p, "AGFsaWNlAHMzY3JldC1wdw==");
    snprintf(plain_line, sizeof plain_line, "%s", p);
    snprintf(plain_cmd, sizeof plain_cmd, "? AUTHENTICATE PLAIN %s", p);
    free(p);
}

Test(session, imap_authenticate_plain_with_sasl_ir_one_round_trip)
{
    make_plain_lines();
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n"),
        P_EXPECT_LINE(plain_cmd),
        P_SEND("$T OK authenticated\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_PLAIN, "alice", PASSWORD), 0);
    cr_assert(h_wait_end(OP_LOGIN)->ok);
    cr_assert_not_null(h_sent_containing("AUTHENTICATE PLAIN ***** (user alice)"));
    cr_assert_eq(h_count(SEV_SENT), 1);
    h_assert_no_secret(PASSWORD);
    h_assert_no_secret(plain_line);
    h_finish();
}

Test(session, imap_authenticate_plain_without_sasl_ir)
{
    make_plain_lines();
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
        P_EXPECT_LINE("? AUTHENTICATE PLAIN"),
        P_SEND("+ \r\n"),
        P_EXPECT_LINE(plain_line),
        P_SEND("$T OK authenticated\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_PLAIN, "alice", PASSWORD), 0);
    cr_assert(h_wait_end(OP_LOGIN)->ok);
    cr_assert_eq(h_count(SEV_SENT), 2);
    h_assert_no_secret(PASSWORD);
    h_assert_no_secret(plain_line);
    h_finish();
}

Test(session, imap_authenticate_cram_md5_rfc2195_vector)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 AUTH=CRAM-MD5] ready\r\n"),
        P_EXPECT_LINE("? AUTHENTICATE CRAM-MD5"),
        P_SEND("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
        P_EXPECT_LINE("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"),
        P_SEND("$T OK CRAM-MD5 authentication successful\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf"), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(l->ok, "%s", l->message ? l->message : "");
    h_assert_no_secret("tanstaaftanstaaf");
    h_finish();
}

#define ECHOED "hunter2-secret"
static const struct peer_step echo_script[] = {
    P_SEND("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
    P_EXPECT_LINE("? LOGIN alice " ECHOED),
    P_SEND("$T NO [AUTHENTICATIONFAILED] bad password " ECHOED " for alice\r\n"),
    P_EOF(), P_END };

static const struct rec *run_echo(void)
{
    struct session_params p = params(SESSION_IMAP);
    p.allow_plaintext_login = true;
    h_start(echo_script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_LOGIN, "alice", ECHOED), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(!l->ok);
    cr_assert_eq(l->fail, FAIL_AUTH);
    cr_assert_str_eq(l->status, "NO");
    return l;
}

Test(session, echoed_password_scrubbed_from_received_line)
{
    run_echo();
    bool seen = false;
    for (size_t i = 0; i < H.n; i++) {
        const struct rec *r = &H.ev[i];
        if (r->type != SEV_RECEIVED || !strstr(r->data, "bad password"))
            continue;
        seen = true;
        cr_assert(strstr(r->data, "bad password ***** for alice"), "shown as \"%s\"", r->data);
        cr_assert(!strstr(r->data, ECHOED));
    }
    cr_assert(seen, "the NO line was not reported");
    h_finish();
}

/* The operator-facing OP_END message quotes the server's text: it must be
 * scrubbed like the received line. */
Test(session, echoed_password_scrubbed_from_op_end_message)
{
    const struct rec *l = run_echo();
    cr_assert(l->message && strstr(l->message, "bad password"), "message: %s", l->message);
    cr_assert(!strstr(l->message, ECHOED), "OP_END(login) message shows the password: \"%s\"",
              l->message);
    h_finish();
}

/* ---- 8. NTLM probe ------------------------------------------------------ */

struct msg {
    uint8_t b[1024];
    size_t n;
};

static void wr16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v & 0xffff);
    wr16(p + 2, v >> 16);
}

static size_t put_utf16(uint8_t *dst, const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        wr16(dst + 2 * i, (uint8_t)s[i]);
    return 2 * i;
}

static void av(struct msg *m, unsigned id, const char *s)
{
    size_t len = put_utf16(m->b + m->n + 4, s);
    wr16(m->b + m->n, id);
    wr16(m->b + m->n + 2, (unsigned)len);
    m->n += 4 + len;
}

/* A type 2 message as Exchange on Windows Server 2019 in CONTOSO sends it. */
static void ntlm_type2(struct msg *m)
{
    memset(m, 0, sizeof *m);
    memcpy(m->b, "NTLMSSP\0", 8);
    wr32(m->b + 8, 2);
    wr32(m->b + 20, 0x00000001u | 0x00000004u | 0x00000200u | 0x00008000u | 0x00010000u |
                        0x00080000u | 0x00800000u | 0x02000000u | 0x20000000u | 0x80000000u);
    for (int i = 0; i < 8; i++)
        m->b[24 + i] = (uint8_t)(0x11 * (i + 1));
    m->b[48] = 10;
    wr16(m->b + 50, 17763);
    m->b[55] = 0x0f;
    m->n = 56;
    size_t name = m->n;
    m->n += put_utf16(m->b + m->n, "CONTOSO");
    wr16(m->b + 12, (unsigned)(m->n - name));
    wr16(m->b + 14, (unsigned)(m->n - name));
    wr32(m->b + 16, (uint32_t)name);
    size_t info = m->n;
    av(m, 2, "CONTOSO");
    av(m, 1, "EX01");
    av(m, 4, "contoso.local");
    av(m, 3, "EX01.contoso.local");
    av(m, 5, "contoso.local");
    wr16(m->b + m->n, 0);   /* MsvAvEOL */
    wr16(m->b + m->n + 2, 0);
    m->n += 4;
    wr16(m->b + 40, (unsigned)(m->n - info));
    wr16(m->b + 42, (unsigned)(m->n - info));
    wr32(m->b + 44, (uint32_t)info);
}

static char ntlm_line[1500];

Test(session, imap_ntlm_probe_reports_server_identity)
{
    struct msg m;
    ntlm_type2(&m);
    char *c = b64(m.b, m.n);
    snprintf(ntlm_line, sizeof ntlm_line, "+ %s\r\n", c);
    free(c);
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 AUTH=NTLM] ready\r\n"),
        P_EXPECT_LINE("? AUTHENTICATE NTLM"),
        P_SEND("+ \r\n"),
        P_EXPECT("TlRMTVNTUAABAAAA"),      /* "NTLMSSP\0" type 1 */
        P_SEND(ntlm_line),
        P_EXPECT_LINE("*"),
        P_SEND("$T BAD cancelled\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_NTLM, NULL, NULL), 0, "%s", session_error(H.s));
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(!l->ok);
    cr_assert_eq(l->fail, FAIL_NONE, "fail %s", failure_class_name(l->fail));
    cr_assert_str_eq(l->status, "BAD");
    cr_assert(l->message && strstr(l->message, "EX01.contoso.local"), "message: %s", l->message);
    const struct rec *n = h_find(SEV_NTLM, -1);
    cr_assert_not_null(n, "no NTLM event");
    cr_assert(n->has_ntlm);
    cr_assert_str_eq(n->ntlm.dns_computer, "EX01.contoso.local");
    cr_assert_str_eq(n->ntlm.netbios_computer, "EX01");
    cr_assert_str_eq(n->ntlm.netbios_domain, "CONTOSO");
    cr_assert_str_eq(n->ntlm.dns_domain, "contoso.local");
    cr_assert_str_eq(n->ntlm.os_version, "10.0.17763");
    cr_assert_null(h_find(SEV_CLOSED, -1));
    h_finish();
}

/* ---- 9. literals ------------------------------------------------------- */

#define LIT_SIZE 100000

static uint8_t lit_byte(size_t i) { return (uint8_t)(i * 7 + i / 251 + 3); }

static int send_big_literal(struct peer *p, const void *arg)
{
    (void)arg;
    char head[64], tail[96];
    int hn = snprintf(head, sizeof head, "* 1 FETCH (BODY[] {%d}\r\n", LIT_SIZE);
    int tn = snprintf(tail, sizeof tail, ")\r\n%s OK FETCH done\r\n", p->tag);
    size_t total = (size_t)hn + LIT_SIZE + (size_t)tn;
    uint8_t *all = malloc(total);
    if (!all) {
        peer_fail(p, "out of memory");
        return -1;
    }
    memcpy(all, head, (size_t)hn);
    for (size_t i = 0; i < LIT_SIZE; i++)
        all[(size_t)hn + i] = lit_byte(i);
    memcpy(all + hn + LIT_SIZE, tail, (size_t)tn);
    static const size_t chunks[] = { 1, 3, 7, 4093, 13, 65537, 2, 911, 29 };
    int rc = 0;
    for (size_t off = 0, k = 0; off < total && rc == 0; k++) {
        size_t n = chunks[k % (sizeof chunks / sizeof *chunks)];
        if (n > total - off)
            n = total - off;
        rc = peer_write(p, all + off, n);
        off += n;
        if (k % 3 == 0)
            usleep(200);
    }
    free(all);
    if (rc < 0)
        peer_fail(p, "could not send the literal");
    return rc;
}

Test(session, imap_literal_streamed_in_odd_chunks)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? FETCH 1 BODY[]"),
        P_CALL(send_big_literal, NULL),
        P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_raw(H.s, "FETCH 1 BODY[]", true), 0, "%s", session_error(H.s));
    const struct rec *raw = h_wait_end(OP_RAW);
    cr_assert(raw->ok, "%s", raw->message ? raw->message : "");
    cr_assert_str_eq(raw->status, "OK");
    size_t total = 0, chunks = 0;
    bool same = true;
    for (size_t i = 0; i < H.n; i++) {
        const struct rec *r = &H.ev[i];
        if (r->type != SEV_LITERAL)
            continue;
        chunks++;
        cr_assert_eq(r->literal_total, LIT_SIZE);
        for (size_t j = 0; j < r->len && same; j++)
            same = (uint8_t)r->data[j] == lit_byte(total + j);
        total += r->len;
    }
    cr_assert_eq(total, LIT_SIZE, "literal bytes reported: %zu", total);
    cr_assert(same, "the literal's bytes were changed");
    cr_assert_gt(chunks, 1, "the literal came as one chunk: not streamed");
    cr_assert_not_null(h_sent_containing(" FETCH 1 BODY[]"));
    bool close_paren = false;
    for (size_t i = 0; i < H.n; i++)
        close_paren |= H.ev[i].type == SEV_RECEIVED && strcmp(H.ev[i].data, ")") == 0;
    cr_assert(close_paren, "the line after the literal was not reported");
    cr_assert_null(h_find(SEV_CLOSED, -1));
    h_finish();
}

/* ---- 10. protocol abuse ----------------------------------------------- */

static int send_2mib_line(struct peer *p, const void *arg)
{
    (void)arg;
    size_t n = 2u << 20;
    uint8_t *b = malloc(n);
    if (!b) {
        peer_fail(p, "out of memory");
        return -1;
    }
    memset(b, 'A', n);
    memcpy(b, "* OK ", 5);
    peer_write(p, b, n);   /* the client may well hang up half way */
    free(b);
    return 0;
}

static void expect_closed(enum failure_class want)
{
    const struct rec *c = h_wait_type(SEV_CLOSED, 4000);
    if (c->fail != want)
        h_dump(&H);
    cr_assert_eq(c->fail, want, "closed with %s, want %s", failure_class_name(c->fail),
                 failure_class_name(want));
    cr_assert_eq(session_state(H.s), SST_CLOSED);
}

Test(session, overlong_line_is_a_protocol_error)
{
    static const struct peer_step script[] = { P_CALL(send_2mib_line, NULL), P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    expect_closed(FAIL_PROTOCOL);
    const struct rec *g = h_find(SEV_OP_END, OP_GREETING);
    cr_assert(g && !g->ok && g->fail == FAIL_PROTOCOL);
    cr_assert_null(h_find(SEV_RECEIVED, -1), "part of the overlong line was reported");
    h_finish();
}

static void huge_literal(const char *line)
{
    static struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? NOOP"),
        P_SEND(NULL),
        P_EOF(), P_END };
    script[2].text = line;
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_noop(H.s), 0);
    expect_closed(FAIL_PROTOCOL);
    const struct rec *n = h_wait_end(OP_NOOP);
    cr_assert(!n->ok);
    cr_assert_eq(n->fail, FAIL_PROTOCOL);
    cr_assert_null(h_find(SEV_LITERAL, -1));
    h_finish();
}

Test(session, literal_size_beyond_64_bits_is_a_protocol_error)
{
    huge_literal("* 1 FETCH (BODY[] {99999999999999999999}\r\n");
}

Test(session, literal_size_beyond_int64_is_a_protocol_error)
{
    huge_literal("* 1 FETCH (BODY[] {9223372036854775808}\r\n");
}

Test(session, silent_server_times_out)
{
    static const struct peer_step script[] = { P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.timeout_ms = 500;
    h_start(script, p);
    expect_closed(FAIL_TIMEOUT);
    const struct rec *c = h_find(SEV_CLOSED, -1);
    double ms = (double)(c->at_us - H.t0_us) / 1000.0;
    cr_assert(ms >= 400 && ms <= 1500 * MS_SLOW_FACTOR, "timed out after %.0f ms (timeout 500 ms)", ms);
    const struct rec *g = h_find(SEV_OP_END, OP_GREETING);
    cr_assert(g && g->fail == FAIL_TIMEOUT);
    h_finish();
}

Test(session, server_closes_right_after_starttls_ok)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? STARTTLS"),
        P_SEND("$T OK Begin TLS\r\n"),
        P_CLOSE() };
    struct session_params p = params(SESSION_IMAP);
    with_tls(&p);
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_starttls(H.s), 0);
    int64_t t = loop_now_us();
    const struct rec *c = h_wait_type(SEV_CLOSED, 3000);
    cr_assert(c->fail == FAIL_TLS || c->fail == FAIL_CLOSED, "closed with %s",
              failure_class_name(c->fail));
    cr_assert_lt(c->at_us - t, 2000000);
    cr_assert(!session_secure(H.s));
    h_finish();
}

Test(session, connection_refused)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sin;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
              getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
    close(fd);   /* nobody listens there now */
    struct session_params p = params(SESSION_IMAP);
    p.port = ntohs(sin.sin_port);
    h_start(NULL, p);
    expect_closed(FAIL_CONNECT);
    const struct rec *c = h_find(SEV_OP_END, OP_CONNECT);
    cr_assert(c && !c->ok && c->fail == FAIL_CONNECT);
    cr_assert_null(h_find(SEV_OP_BEGIN, OP_GREETING));
    h_finish();
}

Test(session, preauth_in_clear_with_tls_required_is_fatal)
{
    static const struct peer_step script[] = {
        P_SEND("* PREAUTH [CAPABILITY IMAP4rev1] you are logged in\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    p.tls_required = true;
    h_start(script, p);
    expect_closed(FAIL_TLS_REQUIRED);
    cr_assert_null(h_find(SEV_SENT, -1), "something was sent");
    cr_assert_neq(session_state(H.s), SST_AUTHENTICATED);
    h_finish();
    cr_assert_eq(H.peer->got_len, 0, "the client sent %zu bytes", H.peer->got_len);
}

/* The server resets the connection while a command waits to be sent: the
 * failure must be reported (no crash, no use after free). */
Test(session, reset_while_a_command_is_queued)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_SLEEP(150),
        P_RESET() };
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    usleep(500 * 1000);    /* the RST arrives while the loop is not looking */
    cr_assert_eq(session_noop(H.s), 0);
    const struct rec *c = h_wait_type(SEV_CLOSED, 3000);
    cr_assert(c->fail == FAIL_CLOSED || c->fail == FAIL_CONNECT, "closed with %s",
              failure_class_name(c->fail));
    const struct rec *n = h_wait_end(OP_NOOP);
    cr_assert(!n->ok);
    h_finish();
}

/* ---- typed (raw) lines and the security rules --------------------------- */

/* Contract: nothing is pipelined after STARTTLS — typed lines included. */
Test(session, raw_line_not_pipelined_behind_starttls)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? STARTTLS"),
        P_SILENCE(300),
        P_SEND("$T OK Begin TLS\r\n"),
        P_TLS(),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_IMAP);
    with_tls(&p);
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_starttls(H.s), 0);
    int rc = session_raw(H.s, "XYZZY", true);
    cr_assert_eq(rc, -1, "a typed line was accepted while STARTTLS was in flight");
    cr_assert(h_wait_end(OP_STARTTLS)->ok);
    cr_assert(h_wait_end(OP_TLS)->ok);
    h_finish();
}

/* A line typed while an earlier typed command waits for its answer (and the
 * server has asked for no continuation) is a new command: the credentials
 * policy and the redaction apply to it. */
Test(session, raw_login_while_raw_command_in_flight_obeys_policy)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? NOOP"),
        P_SILENCE(400),
        P_SEND("$T OK NOOP completed\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_raw(H.s, "NOOP", true), 0);
    h_spin(100);
    session_raw(H.s, "LOGIN alice " PASSWORD, true);
    h_spin(200);
    const struct rec *l = h_find(SEV_OP_END, OP_LOGIN);
    if (!l)
        h_dump(&H);
    cr_assert_not_null(l, "the typed LOGIN was not treated as a login");
    cr_assert_eq(l->fail, FAIL_TLS_REQUIRED);
    h_assert_no_secret(PASSWORD);
    cr_assert(h_wait_end(OP_NOOP)->ok);
    h_finish();
    cr_assert(!peer_got_contains(H.peer, PASSWORD), "the password went out in clear");
}

/* ---- 11. POP3 -------------------------------------------------------- */

#define GREETING_POP3 "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"

Test(session, pop3_greeting_and_capa)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("CAPA"),
        P_SEND("+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN\r\nSTLS\r\n"
               "PIPELINING\r\n.\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_POP3));
    const struct rec *g = h_wait_end(OP_GREETING);
    cr_assert(g->ok);
    cr_assert_str_eq(g->status, "+OK");
    cr_assert(strstr(session_greeting(H.s), "<1896.697170952@dbc.mtview.ca.us>"));
    cr_assert_eq(session_capability(H.s), 0);
    const struct rec *c = h_wait_end(OP_CAPABILITY);
    cr_assert(c->ok);
    const struct capset *caps = session_caps(H.s, CAPS_BEFORE_TLS);
    expect_caps(caps, (const char *const[]){ "STLS", "USER", "TOP", "PIPELINING", NULL }, NULL);
    cr_assert_eq(caps->n, 5);
    cr_assert(capset_has_sasl(caps, "PLAIN"));
    cr_assert(capset_has_sasl(caps, "LOGIN"));
    cr_assert(!capset_has_sasl(caps, "CRAM-MD5"));
    cr_assert_eq(session_current_caps(H.s), caps);
    h_finish();
}

Test(session, pop3_user_pass_in_clear_when_allowed)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("USER alice"),
        P_SEND("+OK\r\n"),
        P_EXPECT_LINE("PASS " PASSWORD),
        P_SEND("+OK maildrop locked and ready\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_POP3);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_USER, "alice", PASSWORD), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(l->ok, "%s", l->message ? l->message : "");
    cr_assert_not_null(h_sent_containing("USER alice"));
    const struct rec *pass = h_sent_containing("PASS");
    cr_assert_not_null(pass);
    cr_assert_str_eq(pass->data, "PASS *****");
    cr_assert_not_null(h_notice_containing("unencrypted"));
    cr_assert_eq(session_state(H.s), SST_AUTHENTICATED);
    h_assert_no_secret(PASSWORD);
    h_finish();
}

/* PIPELINING: USER and PASS go together; both replies are consumed. */
static void pop3_pipelined(const char *replies, bool want_ok)
{
    static struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("CAPA"),
        P_SEND("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"),
        P_EXPECT_LINE("USER alice"),
        P_EXPECT_LINE("PASS " PASSWORD),   /* before any reply: pipelined */
        P_SEND(NULL),
        P_EXPECT_LINE("NOOP"),
        P_SEND("+OK noop\r\n"),
        P_EOF(), P_END };
    script[5].text = replies;
    struct session_params p = params(SESSION_POP3);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_capability(H.s), 0);
    cr_assert(h_wait_end(OP_CAPABILITY)->ok);
    cr_assert_eq(session_login(H.s, AUTH_USER, "alice", PASSWORD), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert_eq(l->ok, want_ok, "%s", l->message ? l->message : "");
    if (!want_ok)
        cr_assert_eq(l->fail, FAIL_AUTH);
    cr_assert_eq(session_noop(H.s), 0, "%s", session_error(H.s));
    const struct rec *n = h_wait_end(OP_NOOP);
    cr_assert(n->ok, "the NOOP got the PASS reply: %s", n->message ? n->message : "");
    cr_assert_eq(session_state(H.s), want_ok ? SST_AUTHENTICATED : SST_NOT_AUTHENTICATED);
    h_assert_no_secret(PASSWORD);
    h_finish();
}

Test(session, pop3_user_pass_pipelined)
{
    pop3_pipelined("+OK\r\n+OK maildrop ready\r\n", true);
}

Test(session, pop3_user_pass_pipelined_user_refused)
{
    pop3_pipelined("-ERR no such user\r\n-ERR\r\n", false);
}

Test(session, pop3_user_refused_in_clear_without_permission)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("NOOP"),
        P_SEND("+OK\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_POP3));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_USER, "alice", PASSWORD), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert_eq(l->fail, FAIL_TLS_REQUIRED);
    cr_assert_eq(session_noop(H.s), 0);
    cr_assert(h_wait_end(OP_NOOP)->ok);
    h_finish();
    cr_assert(!peer_got_contains(H.peer, "USER"));
    cr_assert(!peer_got_contains(H.peer, "PASS"));
}

Test(session, pop3_apop_rfc1939_example)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("APOP mrose c4c9334bac560ecc979e58001b3e22fb"),
        P_SEND("+OK mrose's maildrop has 2 messages (320 octets)\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_POP3);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_APOP, "mrose", "tanstaaf"), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(l->ok, "%s", l->message ? l->message : "");
    const struct rec *sent = h_sent_containing("APOP");
    cr_assert_not_null(sent);
    cr_assert_str_eq(sent->data, "APOP mrose *****");
    h_assert_no_secret("c4c9334bac560ecc979e58001b3e22fb");
    h_assert_no_secret("tanstaaf");
    h_finish();
}

Test(session, pop3_retr_dot_stuffed_ends_at_the_lone_dot)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("RETR 1"),
        P_SEND("+OK 120 octets\r\nSubject: test\r\n\r\n..leading dot\r\n..\r\nlast line\r\n.\r\n"),
        P_EXPECT_LINE("NOOP"),
        P_SEND("+OK\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_POP3));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_raw(H.s, "RETR 1", false), 0, "%s", session_error(H.s));
    const struct rec *r = h_wait_end(OP_RAW);
    cr_assert(r->ok, "%s", r->message ? r->message : "");
    /* The body's lines came before the end, the stuffed lone dot included. */
    bool last = false, dot = false;
    for (const struct rec *e = H.ev; e < r; e++) {
        if (e->type != SEV_RECEIVED && e->type != SEV_LITERAL)
            continue;
        last |= strstr(e->data, "last line") != NULL;
        dot |= strcmp(e->data, "..") == 0 || strcmp(e->data, ".") == 0;
    }
    cr_assert(last, "the op ended before the body's last line");
    cr_assert(dot, "the stuffed \"..\" line was not reported");
    cr_assert_eq(session_noop(H.s), 0, "%s", session_error(H.s));
    cr_assert(h_wait_end(OP_NOOP)->ok, "single-line replies are not read as such after RETR");
    cr_assert_null(h_find(SEV_CLOSED, -1));
    h_finish();
}

Test(session, pop3_pass_refused_is_fail_auth)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("USER alice"),
        P_SEND("+OK\r\n"),
        P_EXPECT_LINE("PASS " PASSWORD),
        P_SEND("-ERR [AUTH] bad\r\n"),
        P_EOF(), P_END };
    struct session_params p = params(SESSION_POP3);
    p.allow_plaintext_login = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_login(H.s, AUTH_USER, "alice", PASSWORD), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(!l->ok);
    cr_assert_eq(l->fail, FAIL_AUTH);
    cr_assert_str_eq(l->status, "-ERR");
    cr_assert_neq(session_state(H.s), SST_AUTHENTICATED);
    cr_assert_null(h_find(SEV_CLOSED, -1));
    h_finish();
}

/* ---- 12. observer safety ---------------------------------------------- */

static void free_on_greeting_end(struct harness *h, const struct session_event *ev)
{
    if (ev->type == SEV_OP_END && ev->op == OP_GREETING && h->s) {
        session_free(h->s);
        h->s = NULL;
    }
}

static bool session_gone(struct harness *h, const void *arg)
{
    (void)arg;
    return h->s == NULL;
}

Test(session, session_free_inside_callback_on_greeting_end)
{
    /* More lines in the same write: events are still queued when it is freed. */
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP "* OK [ALERT] more after the greeting\r\n* BYE going\r\n"),
        P_EOF(), P_END };
    H.hook = free_on_greeting_end;
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_run_until(session_gone, NULL, 4000), "the greeting never ended");
    size_t n = H.n;
    h_spin(200);   /* nothing may fire for the freed session */
    cr_assert_eq(H.n, n, "events after session_free()");
    const struct rec *last = &H.ev[H.n - 1];
    cr_assert(last->type == SEV_OP_END && last->op == OP_GREETING);
    h_finish();
}

static void free_on_closed(struct harness *h, const struct session_event *ev)
{
    if (ev->type == SEV_CLOSED && h->s) {
        session_free(h->s);
        h->s = NULL;
    }
}

Test(session, session_free_inside_callback_on_closed)
{
    static const struct peer_step script[] = {
        P_SEND("this is no IMAP server\r\n"), P_EOF(), P_END };
    H.hook = free_on_closed;
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_run_until(session_gone, NULL, 4000), "the session never closed");
    h_spin(100);
    const struct rec *c = h_find(SEV_CLOSED, -1);
    cr_assert_eq(c->fail, FAIL_PROTOCOL);
    h_finish();
}

/* Commands issued from the callback itself, and the free at the end. */
static void chain(struct harness *h, const struct session_event *ev)
{
    if (ev->type != SEV_OP_END || !h->s)
        return;
    if (ev->op == OP_GREETING)
        cr_assert_eq(session_capability(h->s), 0, "%s", session_error(h->s));
    else if (ev->op == OP_CAPABILITY)
        cr_assert_eq(session_logout(h->s), 0, "%s", session_error(h->s));
    else if (ev->op == OP_LOGOUT) {
        h->hook_state = ev->ok ? 1 : -1;
        session_free(h->s);
        h->s = NULL;
    }
}

Test(session, commands_and_free_from_inside_callback)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_IMAP),
        P_EXPECT_LINE("? CAPABILITY"),
        P_SEND("* CAPABILITY IMAP4rev1 STARTTLS\r\n$T OK\r\n"),
        P_EXPECT_LINE("? LOGOUT"),
        P_SEND("* BYE logging out\r\n$T OK LOGOUT completed\r\n"),
        P_EOF(), P_END };
    H.hook = chain;
    h_start(script, params(SESSION_IMAP));
    cr_assert(h_run_until(session_gone, NULL, 4000), "the chain did not complete");
    cr_assert_eq(H.hook_state, 1, "LOGOUT did not end well");
    h_spin(100);
    h_finish();
}

/* A long POP3 message: the first lines are shown as lines, the rest is
 * counted as bulk data (no event per line, so a huge RETR costs no memory). */
static char long_message[600 * 24];

static int send_long_message(struct peer *p, const void *arg)
{
    (void)arg;
    size_t o = (size_t)snprintf(long_message, sizeof long_message, "+OK message follows\r\n");
    for (int i = 0; i < 500; i++)
        o += (size_t)snprintf(long_message + o, sizeof long_message - o, "line %03d of body\r\n", i);
    o += (size_t)snprintf(long_message + o, sizeof long_message - o, ".\r\n");
    return peer_write(p, long_message, o);
}

Test(session, pop3_long_retr_becomes_counted_data)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("RETR 1"),
        P_CALL(send_long_message, NULL),
        P_EXPECT_LINE("NOOP"),
        P_SEND("+OK\r\n"),
        P_EOF(), P_END };
    h_start(script, params(SESSION_POP3));
    cr_assert(h_wait_end(OP_GREETING)->ok);
    cr_assert_eq(session_raw(H.s, "RETR 1", false), 0, "%s", session_error(H.s));
    const struct rec *r = h_wait_end(OP_RAW);
    cr_assert(r->ok, "%s", r->message ? r->message : "");
    size_t lines = 0, bulk = 0;
    const char *want = strstr(long_message, "line 200 of body");
    bool same = true;
    for (const struct rec *e = H.ev; e < r; e++) {
        if (e->type == SEV_RECEIVED && !strncmp(e->data, "line ", 5))
            lines++;
        if (e->type == SEV_LITERAL) {
            /* passed on from the input buffer without a copy: still the bytes sent */
            same = same && !memcmp(e->data, want + bulk, e->len);
            bulk += e->len;
        }
    }
    cr_assert_eq(lines, 200, "the first 200 data lines are shown as lines");
    cr_assert_eq(bulk, 300 * strlen("line 000 of body\r\n"), "the rest is counted, bytes exact");
    cr_assert(same, "the counted data is the message's own bytes");
    cr_assert_eq(session_noop(H.s), 0, "%s", session_error(H.s));
    cr_assert(h_wait_end(OP_NOOP)->ok);
    h_finish();
}

/* --redact-user: the user name never reaches an event, whichever command
 * carries it (LOGIN, AUTHENTICATE LOGIN's base64, POP3 USER and APOP, a
 * typed LOGIN) and however the server echoes it (as text or base64). */
static void redacted_user_run_as(enum session_proto proto, const struct peer_step *script,
                                 enum session_auth mech, const char *typed, const char *user,
                                 const char *user_b64, const char *secret)
{
    struct session_params p = params(proto);
    p.allow_plaintext_login = true;
    p.redact_user = true;
    h_start(script, p);
    cr_assert(h_wait_end(OP_GREETING)->ok);
    if (typed)
        cr_assert_eq(session_raw(H.s, typed, true), 0);
    else
        cr_assert_eq(session_login(H.s, mech, user, secret), 0);
    const struct rec *l = h_wait_end(OP_LOGIN);
    cr_assert(l->ok, "%s", l->message ? l->message : "");
    cr_assert_not_null(h_sent_containing(SESSION_USER_MARK), "no redacted user in what was sent");
    h_assert_no_secret(user);
    h_assert_no_secret(user_b64);
    h_assert_no_secret(secret);
    h_finish();
}

static void redacted_user_run(enum session_proto proto, const struct peer_step *script,
                              enum session_auth mech, const char *typed)
{
    redacted_user_run_as(proto, script, mech, typed, "bob.smith", "Ym9iLnNtaXRo", PASSWORD);
}

Test(session, redact_user_imap_login_and_echo)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
        P_EXPECT_LINE("? LOGIN bob.smith " PASSWORD),
        P_SEND("* OK hello bob.smith (Ym9iLnNtaXRo)\r\n$T OK LOGIN completed\r\n"),
        P_EOF(), P_END };
    redacted_user_run(SESSION_IMAP, script, AUTH_LOGIN, NULL);
}

Test(session, redact_user_imap_authenticate_login)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 AUTH=LOGIN] ready\r\n"),
        P_EXPECT_LINE("? AUTHENTICATE LOGIN"),
        P_SEND("+ VXNlcm5hbWU6\r\n"),
        P_EXPECT_LINE("Ym9iLnNtaXRo"),
        P_SEND("+ UGFzc3dvcmQ6\r\n"),
        P_EXPECT_LINE("czNjcmV0LXB3"),
        P_SEND("$T OK done\r\n"),
        P_EOF(), P_END };
    redacted_user_run(SESSION_IMAP, script, AUTH_LOGIN_SASL, NULL);
}

Test(session, redact_user_imap_typed_login)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
        P_EXPECT_LINE("? LOGIN bob.smith " PASSWORD),
        P_SEND("$T OK LOGIN completed\r\n"),
        P_EOF(), P_END };
    redacted_user_run(SESSION_IMAP, script, AUTH_LOGIN, "LOGIN bob.smith " PASSWORD);
}

Test(session, redact_user_pop3_user_pass)
{
    static const struct peer_step script[] = {
        P_SEND("+OK ready\r\n"),
        P_EXPECT_LINE("USER bob.smith"),
        P_SEND("+OK\r\n"),
        P_EXPECT_LINE("PASS " PASSWORD),
        P_SEND("+OK bob.smith has 0 messages\r\n"),
        P_EOF(), P_END };
    redacted_user_run(SESSION_POP3, script, AUTH_USER, NULL);
}

Test(session, redact_user_pop3_apop)
{
    static const struct peer_step script[] = {
        P_SEND(GREETING_POP3),
        P_EXPECT_LINE("APOP mrose c4c9334bac560ecc979e58001b3e22fb"),
        P_SEND("+OK mrose's maildrop has 2 messages (320 octets)\r\n"),
        P_EOF(), P_END };
    redacted_user_run_as(SESSION_POP3, script, AUTH_APOP, NULL, "mrose", "bXJvc2U=", "tanstaaf");
}
