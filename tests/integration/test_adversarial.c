/* probe against hostile and broken servers (tracker issue 7): the real
 * binary, `mailscope probe`, against scripted servers
 * (tests/scripted/scenarios/adv-*.scn) that inject responses around
 * STARTTLS, tamper with capabilities, attack the terminal, abuse the
 * parsers, stall or flood, and greet in ways no server should. Each test
 * asserts what an administrator would check: the exit status, the
 * failure_class, the summary, and — from the server's log of every byte
 * the client sent — that no credential and nothing after a refused or
 * injected STARTTLS went out. Classes that already have tests elsewhere
 * (test_probe_scripted.c, unit/test_session.c) are not repeated here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---- running one scenario ------------------------------------------------ */

struct adv {
    pid_t pid;
    char log[256];
    char url[128];
    struct run_result r;
    double seconds;          /* how long mailscope ran */
    char *sent;              /* every byte the client sent (the server's log) */
    size_t sent_len;
    json_t *j;               /* the report, when --json was asked for */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What runs in flight own, freed by the suite's fini when an assertion cuts
 * a test short: a failing test then reports its assertion, not a leak as
 * well. (The pointers are kept here, not the struct: fini runs where the
 * test's stack frame was.) */
struct owned {
    const struct adv *a;
    char *out, *err, *sent;
    json_t *j;
};
static struct owned live[4];

static struct owned *slot_of(const struct adv *a)
{
    for (size_t i = 0; i < sizeof live / sizeof *live; i++)
        if (live[i].a == a)
            return &live[i];
    cr_assert_fail("more than %zu runs at once", sizeof live / sizeof *live);
    return NULL;
}

static void owned_free(struct owned *o)
{
    json_decref(o->j);
    free(o->sent);
    free(o->out);
    free(o->err);
    memset(o, 0, sizeof *o);
}

static void adv_free(struct adv *a)
{
    owned_free(slot_of(a));
    memset(a, 0, sizeof *a);
}

static void free_live(void)
{
    for (size_t i = 0; i < sizeof live / sizeof *live; i++)
        owned_free(&live[i]);
}

/* The report as any JSON parser sees it. RFC 8259 allows "\u0000", which a
 * NUL from the server becomes, so NUL is allowed here. */
static json_t *report_of(const struct run_result *r)
{
    json_error_t e;
    json_t *j = json_loads(r->out, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    cr_assert(json_is_object(j), "stdout is not one JSON object (%s at %d): %.2000s", e.text,
              e.position, r->out);
    return j;
}

/* Serve scenario, run `mailscope probe URL args...`, wait for the server
 * and require that every step of the scenario held. */
static void adv_run(struct adv *a, const char *scenario, const char *scheme,
                    const char *const *args)
{
    memset(a, 0, sizeof *a);
    struct owned *o = slot_of(NULL);
    o->a = a;
    unsigned port = scripted_start(scenario, &a->pid, a->log);
    snprintf(a->url, sizeof a->url, "%s://alice@127.0.0.1:%u", scheme, port);
    const char *argv[40] = { a->url };
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    double t0 = now_s();
    run_mailscope(&a->r, argv);
    a->seconds = now_s() - t0;
    int st = scripted_wait(a->pid);
    a->sent = slurp(a->log, &a->sent_len);
    unlink(a->log);
    o->out = a->r.out;
    o->err = a->r.err;
    o->sent = a->sent;
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[i], "--json") == 0)
            o->j = a->j = report_of(&a->r);
    cr_assert_eq(st, 0, "the scripted server saw the client misbehave (%s; see its stderr "
                 "above); mailscope exited %d after %.1f s: %s", scenario, a->r.exit_code,
                 a->seconds, a->j ? json_string_value(json_object_get(a->j, "summary"))
                                  : a->r.out);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

/* The verdict an administrator sees first: exit status and failure class. */
static void assert_verdict(const struct adv *a, int code, const char *cls)
{
    assert_exit(&a->r, code);
    const char *got = json_is_null(json_object_get(a->j, "failure_class"))
                    ? "null" : str(a->j, "failure_class");
    cr_assert_str_eq(got, cls, "failure_class %s, expected %s; summary: %s", got, cls,
                     str(a->j, "summary"));
}

static void assert_summary_has(const struct adv *a, const char *needle)
{
    cr_assert(strstr(str(a->j, "summary"), needle), "summary lacks \"%s\": %s", needle,
              str(a->j, "summary"));
}

static void assert_no_credentials(const struct adv *a)
{
    cr_assert_not(contains(a->sent, a->sent_len, "LOGIN "), "LOGIN was sent");
    cr_assert_not(contains(a->sent, a->sent_len, "AUTHENTICATE"), "AUTHENTICATE was sent");
    cr_assert_not(contains(a->sent, a->sent_len, "USER "), "USER was sent");
    cr_assert_not(contains(a->sent, a->sent_len, "PASS "), "PASS was sent");
    cr_assert_not(contains(a->sent, a->sent_len, "AUTH "), "AUTH was sent");
    cr_assert_not(contains(a->sent, a->sent_len, env("MS_TEST_PASSWORD")), "the password was sent");
    cr_assert_not(contains(a->r.out, a->r.out_len, env("MS_TEST_PASSWORD")));
}

/* The client's bytes are exactly want: nothing before, between or after. */
static void assert_sent_exactly(const struct adv *a, const char *want)
{
    cr_assert(a->sent_len == strlen(want) && memcmp(a->sent, want, a->sent_len) == 0,
              "the client sent \"%.*s\", expected exactly \"%s\"", (int)a->sent_len, a->sent,
              want);
}

static bool notice_has(json_t *j, const char *needle)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "notices"), i, v)
        if (strstr(json_string_value(v), needle))
            return true;
    return false;
}

static json_t *caps(json_t *j, const char *phase)
{
    return json_object_get(json_object_get(j, "capabilities"), phase);
}

/* The largest resident set of any child reaped so far (mailscope, the
 * server), in MiB. Criterion runs each test in its own process. */
static long children_max_rss_mib(void)
{
    struct rusage ru;
    cr_assert_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    return ru.ru_maxrss / 1024;
}

/* ---- what reaches the operator's terminal -------------------------------- */

static bool format_char(uint32_t cp)
{
    return cp == 0x061C || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E)
        || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF;
}

/* Decode one UTF-8 sequence (shortest form); returns its length or 0. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    *cp = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = *cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    return *cp >= min[len] && *cp <= 0x10FFFF && !(*cp >= 0xD800 && *cp <= 0xDFFF) ? len : 0;
}

/* Text that a terminal shows as it is: valid UTF-8, no control other than
 * LF, no DEL, no C1 (raw or encoded), no bidi or invisible character. */
static void assert_terminal_safe(const char *what, const char *out, size_t n)
{
    const unsigned char *s = (const unsigned char *)out;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_next(s + i, n - i, &cp);
        cr_assert(len > 0, "%s: invalid UTF-8 (byte 0x%02x) at offset %zu", what, s[i], i);
        cr_assert(cp >= 0x20 || cp == '\n', "%s: control 0x%02x reached the terminal at %zu",
                  what, (unsigned)cp, i);
        cr_assert(cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f), "%s: DEL or C1 U+%04X at %zu",
                  what, (unsigned)cp, i);
        cr_assert(!format_char(cp), "%s: format character U+%04X reached the terminal", what,
                  (unsigned)cp);
        i += len;
    }
}

/* The text report (stdout and stderr) is safe, and the JSON report of the
 * same scenario is one valid JSON object. */
static void check_both_outputs(const char *scenario, const char *scheme,
                               const char *const *args, const char *const *json_args,
                               const char *must_show)
{
    struct adv a;
    adv_run(&a, scenario, scheme, args);
    assert_exit(&a.r, 2);
    assert_terminal_safe("stdout", a.r.out, a.r.out_len);
    assert_terminal_safe("stderr", a.r.err, a.r.err_len);
    cr_assert(strstr(a.r.out, must_show), "the text report lacks the escaped form \"%s\":\n%s",
              must_show, a.r.out);
    adv_free(&a);
    adv_run(&a, scenario, scheme, json_args);
    assert_exit(&a.r, 2);
    assert_terminal_safe("JSON", a.r.out, a.r.out_len);
    adv_free(&a);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define CA "--cafile", cert_path("root.pem"), "--servername", "mail.test"

TestSuite(adversarial, .timeout = 90 * MS_SLOW_FACTOR, .fini = free_live);

/* ---- STARTTLS: injection, refusal, tampering ------------------------------ */

/* A forged BYE glued to the STARTTLS OK is refused as injection; nothing
 * follows STARTTLS on the wire (no ClientHello, no LOGOUT). */
Test(adversarial, starttls_ok_with_glued_bye_is_injection)
{
    struct adv a;
    adv_run(&a, "adv-starttls-bye-after-ok.scn", "imap", ARGS("--password-env", "PW", "--json"));
    assert_verdict(&a, 2, "protocol");
    assert_summary_has(&a, "possible response injection");
    cr_assert(strstr(str(a.j, "discarded_at_starttls"), "* BYE close the connection please."));
    cr_assert(json_is_null(json_object_get(a.j, "tls")), "a TLS session was started");
    assert_sent_exactly(&a, "a001 STARTTLS\r\n");
    adv_free(&a);
}

/* Binary bytes right after the STLS +OK are refused as injection, never fed
 * to the handshake as if the server had started TLS. */
Test(adversarial, pop3_non_tls_bytes_after_stls_ok_are_injection)
{
    struct adv a;
    adv_run(&a, "adv-pop3-stls-binary-after-ok.scn", "pop3",
            ARGS("--password-env", "PW", "--json"));
    assert_verdict(&a, 2, "protocol");
    assert_summary_has(&a, "9 bytes after its STLS +OK");
    cr_assert(strstr(str(a.j, "discarded_at_starttls"), "\\xb9\\xb3\\xb1\\xb2\\xb9<NUL>\\xff"),
              "discarded: %s", str(a.j, "discarded_at_starttls"));
    assert_sent_exactly(&a, "CAPA\r\nSTLS\r\n");
    adv_free(&a);
}

/* An ALERT before the STARTTLS OK is attacker-controllable clear text: TLS
 * still starts (nothing followed the OK), and when the ALERT is shown to
 * the operator it says it came in clear, before TLS (invariant I6). */
Test(adversarial, alert_before_starttls_ok_is_labelled_clear_text)
{
    struct adv a;
    adv_run(&a, "adv-starttls-alert-prefix.scn", "imap", ARGS(CA, "--json"));
    assert_verdict(&a, 0, "null");
    cr_assert(contains(a.sent, a.sent_len, "a001 STARTTLS\r\n== TLS ==\n"));
    size_t i;
    json_t *v;
    const char *alert = NULL;
    json_array_foreach(json_object_get(a.j, "notices"), i, v)
        if (strstr(json_string_value(v), "call +1-555-0100"))
            alert = json_string_value(v);
    cr_assert_not_null(alert, "the ALERT was not shown to the operator");
    cr_assert(strstr(alert, "clear text") || strstr(alert, "before TLS"),
              "the pre-TLS ALERT is shown without saying it came in clear text: \"%s\"", alert);
    adv_free(&a);
}

/* Capabilities injected before the STARTTLS OK (untagged, and as a code in
 * the OK itself) are not used after TLS: only the list asked for inside TLS
 * counts, so without SASL-IR inside TLS, AUTHENTICATE PLAIN goes without an
 * initial response; credentials only inside TLS. */
Test(adversarial, capabilities_injected_before_starttls_ok_do_not_survive)
{
    struct adv a;
    adv_run(&a, "adv-starttls-caps-tampering.scn", "imap",
            ARGS(CA, "--password-env", "PW", "--json"));
    assert_verdict(&a, 0, "null");
    json_t *after = caps(a.j, "after_tls");
    cr_assert(json_array_has(after, "AUTH=PLAIN") && json_array_size(after) == 2,
              "after_tls is not exactly the list given inside TLS");
    cr_assert_not(json_array_has(after, "SASL-IR"));
    cr_assert_not(json_array_has(after, "X-PRETLS-INJECTED"));
    cr_assert_not(json_array_has(after, "X-OK-CODE-INJECTED"));
    cr_assert_not(json_array_has(caps(a.j, "after_login"), "AUTH=X-INJECTED"));
    const char *tls_at = strstr(a.sent, "== TLS ==");
    cr_assert_not_null(tls_at);
    cr_assert_not(contains(a.sent, (size_t)(tls_at - a.sent), env("MS_TEST_PASSWORD")));
    cr_assert_not(contains(a.sent, (size_t)(tls_at - a.sent), "AUTHENTICATE"));
    adv_free(&a);
}

/* A tagged OK that arrives under the STARTTLS tag before STARTTLS was sent
 * (reordered injection) is no answer: it is noted as a reply to a tag
 * never sent, STARTTLS goes out, and TLS starts only on the real OK (the
 * scenario fails a client that starts the handshake early). */
Test(adversarial, tagged_ok_before_starttls_was_sent_is_not_its_answer)
{
    struct adv a;
    adv_run(&a, "adv-starttls-ok-before-command.scn", "imap", ARGS(CA, "--json"));
    assert_verdict(&a, 0, "null");
    cr_assert(notice_has(a.j, "tag a002, which was never sent"), "no notice of the early OK");
    cr_assert(contains(a.sent, a.sent_len, "a002 STARTTLS\r\n== TLS ==\n"));
    adv_free(&a);
}

/* "+ continue" is no answer to STARTTLS: with TLS required the client gives
 * up at once (the server then stays silent for 2.5 s) and sends no
 * credential. */
Test(adversarial, continuation_request_to_starttls_is_a_refusal)
{
    struct adv a;
    adv_run(&a, "adv-starttls-continuation.scn", "imap",
            ARGS("--tls=starttls", "--password-env", "PW", "--timeout", "10", "--json"));
    assert_exit(&a.r, 2);
    const char *cls = str(a.j, "failure_class");
    cr_assert(strcmp(cls, "tls-required") == 0 || strcmp(cls, "protocol") == 0,
              "failure_class %s (%s): the client waited instead of giving up", cls,
              str(a.j, "summary"));
    cr_assert_lt(a.seconds, 2.0 + time_slack(), "gave up only after %.1f s", a.seconds);
    assert_no_credentials(&a);
    adv_free(&a);
}

static void refused_stls(const char *scenario, const char *scheme, const char *summary,
                         const char *sent)
{
    struct adv a;
    adv_run(&a, scenario, scheme,
            ARGS("--tls=starttls", "--password-env", "PW", "--allow-plaintext-login", "--json"));
    assert_verdict(&a, 2, "tls-required");
    assert_summary_has(&a, summary);
    assert_no_credentials(&a);
    assert_sent_exactly(&a, sent);   /* a polite LOGOUT/QUIT in clear, nothing more */
    adv_free(&a);
}

Test(adversarial, starttls_bad_is_critical_and_sends_no_credentials)
{
    refused_stls("adv-starttls-bad.scn", "imap", "refused STARTTLS: BAD currently unavailable",
                 "a001 STARTTLS\r\na002 LOGOUT\r\n");
}

Test(adversarial, pop3_stls_err_is_critical_and_sends_no_credentials)
{
    refused_stls("adv-pop3-stls-err.scn", "pop3", "refused STLS: -ERR currently unavailable",
                 "CAPA\r\nSTLS\r\nQUIT\r\n");
}

/* ---- the operator's terminal ---------------------------------------------- */

/* OSC 8 hyperlink, NUL, BEL, backspaces and CR in a NO reply's text. */
Test(adversarial, hostile_no_reply_text_is_escaped)
{
    check_both_outputs("adv-hostile-no-reply.scn", "imap", ARGS("--tls=starttls"),
                       ARGS("--tls=starttls", "--json"),
                       "\\x1b]8;;http://evil.example/\\x1b\\Click here\\x1b]8;;\\x1b\\ "
                       "<NUL>\\x07\\x08\\x08\\x08ok\\rTLS OK");
}

/* NUL is shown, never a terminator (I5): the summary an operator or a
 * monitoring system reads must not lose what follows a NUL the server put
 * in its reply. */
Test(adversarial, nul_in_a_reply_does_not_hide_the_rest_of_it)
{
    struct adv a;
    adv_run(&a, "adv-hostile-no-reply.scn", "imap", ARGS("--tls=starttls", "--json"));
    assert_verdict(&a, 2, "tls-required");
    assert_summary_has(&a, "TLS OK");
    adv_free(&a);
}

/* C1 (raw and UTF-8), bidi override and isolates, zero-width and BOM, DEL,
 * a title OSC and a clear-screen CSI in an ALERT, which is also repeated as
 * a notice. */
Test(adversarial, hostile_alert_is_escaped)
{
    check_both_outputs("adv-hostile-alert.scn", "imap", ARGS("--tls=starttls"),
                       ARGS("--tls=starttls", "--json"),
                       "\\x9b2J<U+009B>2J<U+0085> <U+202E>cod.exe<U+2066>x<U+2069><U+200B>"
                       "<U+FEFF>\\x7f \\x1b]0;pwned\\x07\\x1b[2J");
}

/* ANSI colours, invalid UTF-8 and a CR in a POP3 -ERR greeting. */
Test(adversarial, hostile_pop3_err_greeting_is_escaped)
{
    check_both_outputs("adv-pop3-hostile-err-greeting.scn", "pop3", ARGS("--tls=auto"),
                       ARGS("--json"),
                       "-ERR \\x1b[31;1;4mPOP3\\x1b[0m server \\xff\\xfe\\xc3 ready\\rOK");
    struct adv a;
    adv_run(&a, "adv-pop3-hostile-err-greeting.scn", "pop3", ARGS("--json"));
    assert_verdict(&a, 2, "closed");
    assert_summary_has(&a, "refused the session");
    assert_sent_exactly(&a, "");
    adv_free(&a);
}

/* ---- parser abuse ----------------------------------------------------------- */

/* A 10 MiB line without CRLF ends at the 1 MiB line limit: a protocol
 * error, at once, without holding the line (a few MiB more than an
 * ordinary run at most, under ASan). */
Test(adversarial, ten_mib_line_is_a_bounded_protocol_error)
{
    struct adv a;
    adv_run(&a, "adv-imap-10mib-line.scn", "imap", ARGS("--json"));
    assert_verdict(&a, 2, "protocol");
    assert_summary_has(&a, "longer than 1048576 bytes");
    cr_assert_lt(a.seconds, 5.0 + time_slack());
    long rss = children_max_rss_mib();
    cr_assert_lt(rss, rss_limit_mib(64), "mailscope (or the server) grew to %ld MiB", rss);
    assert_sent_exactly(&a, "");
    adv_free(&a);
}

/* A literal of 2^32 bytes is streamed as it comes (64 KiB shown as such),
 * not allocated by its announced size; the close in its middle is
 * reported as a close. */
Test(adversarial, literal_of_2_pow_32_is_streamed_and_truncation_reported)
{
    struct adv a;
    adv_run(&a, "adv-literal-2pow32-truncated.scn", "imap", ARGS("--json"));
    assert_verdict(&a, 2, "closed");
    json_t *cap = step_named(a.j, "capability");
    cr_assert(json_array_has(json_object_get(cap, "received"), "* 1 FETCH (BODY[] {4294967296}"));
    cr_assert(json_array_has(json_object_get(cap, "received"), "{65536 bytes}"));
    long rss = children_max_rss_mib();
    cr_assert_lt(rss, rss_limit_mib(64), "mailscope (or the server) grew to %ld MiB", rss);
    adv_free(&a);
}

/* 2^64 fits no 64-bit counter: a protocol error, not a wrap to 0 (which
 * would read "small\r\n" as the next response). */
Test(adversarial, literal_of_2_pow_64_is_a_protocol_error)
{
    struct adv a;
    adv_run(&a, "adv-literal-2pow64.scn", "imap", ARGS("--json"));
    assert_verdict(&a, 2, "protocol");
    assert_summary_has(&a, "literal too large");
    assert_sent_exactly(&a, "a001 CAPABILITY\r\n");
    adv_free(&a);
}

/* "{abc}" and "{}" announce nothing: plain text; the session goes on. */
Test(adversarial, non_numeric_literal_size_is_plain_text)
{
    struct adv a;
    adv_run(&a, "adv-literal-garbage-size.scn", "imap", ARGS("--tls=auto", "--json"));
    assert_verdict(&a, 0, "null");
    json_t *cap = step_named(a.j, "capability");
    cr_assert(json_array_has(json_object_get(cap, "received"), "* 1 FETCH (BODY[] {abc}"));
    cr_assert(json_array_has(json_object_get(cap, "received"), "a001 OK done"));
    adv_free(&a);
}

Test(adversarial, close_in_the_middle_of_a_literal_is_closed)
{
    struct adv a;
    adv_run(&a, "adv-literal-truncated.scn", "imap", ARGS("--json"));
    assert_verdict(&a, 2, "closed");
    json_t *cap = step_named(a.j, "capability");
    cr_assert(json_array_has(json_object_get(cap, "received"), "{10 bytes}"),
              "the 10 bytes of the cut literal are not reported");
    adv_free(&a);
}

/* 20000 "+ " during AUTHENTICATE: the client answers the first (its PLAIN
 * response), may cancel once with "*", and then must stop, not answer
 * every one. */
Test(adversarial, endless_continuations_during_authenticate_end)
{
    struct adv a;
    adv_run(&a, "adv-authenticate-endless-continuations.scn", "imaps",
            ARGS(CA, "--password-env", "PW", "--json"));
    assert_exit(&a.r, 2);
    size_t cancels = 0;
    for (const char *p = a.sent; (p = strstr(p, "\n*\r\n")); p += 3)
        cancels++;
    cr_assert_leq(cancels, 1, "the client answered %zu continuation requests with \"*\"", cancels);
    const char *cls = str(a.j, "failure_class");
    cr_assert(strcmp(cls, "protocol") == 0 || strcmp(cls, "auth") == 0, "failure_class %s: %s",
              cls, str(a.j, "summary"));
    adv_free(&a);
}

/* A CAPA listing that never ends: bounded by --timeout 1. */
Test(adversarial, unterminated_pop3_capa_times_out)
{
    struct adv a;
    adv_run(&a, "adv-pop3-capa-unterminated.scn", "pop3", ARGS("--timeout", "1", "--json"));
    assert_verdict(&a, 2, "timeout");
    assert_summary_has(&a, "no answer to capability within 1.0 s");
    cr_assert_lt(a.seconds, 2.5 + time_slack());
    adv_free(&a);
}

/* "..STLS" is ".STLS", ". " is data, ".SASL PLAIN" is "SASL PLAIN": STLS is
 * not offered, so with TLS required the client stops after CAPA. */
Test(adversarial, dot_stuffed_pop3_capa_is_unstuffed_exactly)
{
    struct adv a;
    adv_run(&a, "adv-pop3-capa-dot-stuffing.scn", "pop3",
            ARGS("--tls=starttls", "--password-env", "PW", "--json"));
    assert_verdict(&a, 2, "tls-required");
    json_t *before = caps(a.j, "before_tls");
    cr_assert(json_array_has(before, ".STLS") && !json_array_has(before, "STLS"));
    cr_assert(json_array_has(before, "USER"), "\". \" ended the listing early");
    cr_assert(json_array_has(before, "SASL PLAIN"));
    assert_sent_exactly(&a, "CAPA\r\n");
    adv_free(&a);
}

/* "a999 OK Logged in" for a tag never sent, before the real NO: a login
 * failure, and the forged capability code is not taken. */
Test(adversarial, forged_ok_under_a_tag_never_sent_counts_for_nothing)
{
    struct adv a;
    adv_run(&a, "adv-tag-never-sent.scn", "imaps", ARGS(CA, "--password-env", "PW", "--json"));
    assert_verdict(&a, 2, "auth");
    assert_summary_has(&a, "AUTHENTICATIONFAILED");
    cr_assert(notice_has(a.j, "tag a999, which was never sent"));
    cr_assert_not(json_array_has(caps(a.j, "after_tls"), "X-FORGED"));
    cr_assert_not(json_array_has(caps(a.j, "after_login"), "X-FORGED"));
    cr_assert(contains(a.sent, a.sent_len, "a002 LOGOUT"), "no orderly logout");
    cr_assert_not(contains(a.sent, a.sent_len, "EXAMINE"), "went on as if logged in");
    adv_free(&a);
}

/* 300 junk capabilities before STARTTLS and LOGINDISABLED: the bounded
 * capability list must not make the client miss STARTTLS (then it would
 * stay in clear, and under --allow-plaintext-login log in despite
 * LOGINDISABLED). */
Test(adversarial, capability_flood_does_not_hide_starttls)
{
    struct adv a;
    adv_run(&a, "adv-caps-flood-hides-starttls.scn", "imap", ARGS(CA, "--json"));
    assert_verdict(&a, 0, "null");
    cr_assert(contains(a.sent, a.sent_len, "a002 STARTTLS\r\n== TLS ==\n"));
    adv_free(&a);
}

/* ---- slow, stalling, flooding and failing networks -------------------------- */

/* Every byte its own write, 2 ms apart, in clear and inside TLS: a slow
 * but correct server; the whole session succeeds. */
Test(adversarial, one_byte_at_a_time_server_still_succeeds)
{
    struct adv a;
    adv_run(&a, "adv-drip-slow-server.scn", "imap", ARGS(CA, "--password-env", "PW", "--json"));
    assert_verdict(&a, 0, "null");
    char *names = step_names(a.j);
    cr_assert_str_eq(names, "connect,greeting,starttls,tls,capability,login,select,logout");
    free(names);
    json_t *sel = step_named(a.j, "select");
    cr_assert(json_array_has(json_object_get(sel, "received"), "{5 bytes}"),
              "the dripped literal was not framed as one");
    adv_free(&a);
}

/* A greeting dripped one byte per 300 ms: each byte is activity, but the
 * greeting as a whole must arrive within --timeout ("each reply"). */
Test(adversarial, slowloris_greeting_is_bounded_by_timeout)
{
    struct adv a;
    adv_run(&a, "adv-slowloris-greeting.scn", "imap", ARGS("--timeout", "2", "--json"));
    assert_verdict(&a, 2, "timeout");
    cr_assert_lt(a.seconds, 4.0 + time_slack(), "waited %.1f s for a greeting with --timeout 2", a.seconds);
    adv_free(&a);
}

/* A flood of untagged data instead of the tagged answer: the wait ends in a
 * timeout and memory stays bounded. That bytes do not reset the wait is the
 * slowloris test's to prove (its drip outlasts any bound); here the bound
 * only says the run ended, with room for parsing 13 MB on a loaded machine
 * (3 s was exceeded at a load average of 6). */
Test(adversarial, untagged_flood_is_bounded_in_time_and_memory)
{
    struct adv a;
    adv_run(&a, "adv-flood-untagged.scn", "imap", ARGS("--timeout", "1", "--json"));
    assert_verdict(&a, 2, "timeout");
    cr_assert_lt(a.seconds, 8.0 + time_slack(), "waited %.1f s with --timeout 1", a.seconds);
    long rss = children_max_rss_mib();
    cr_assert_lt(rss, rss_limit_mib(128), "mailscope grew to %ld MiB under a flood of untagged lines", rss);
    adv_free(&a);
}

/* RST right after the ClientHello: a TLS failure naming the reset. */
Test(adversarial, reset_during_the_tls_handshake_is_a_tls_failure)
{
    struct adv a;
    adv_run(&a, "adv-reset-mid-handshake.scn", "imap", ARGS(CA, "--password-env", "PW", "--json"));
    assert_verdict(&a, 2, "tls");
    assert_summary_has(&a, "reset");
    assert_no_credentials(&a);
    adv_free(&a);
}

/* ---- greetings ----------------------------------------------------------------- */

static void bad_greeting(const char *scenario, const char *cls, const char *summary)
{
    struct adv a;
    adv_run(&a, scenario, "imap", ARGS("--password-env", "PW", "--timeout", "5", "--json"));
    assert_verdict(&a, 2, cls);
    assert_summary_has(&a, summary);
    cr_assert_lt(a.seconds, 2.0 + time_slack(), "took %.1f s to give up on the greeting", a.seconds);
    assert_sent_exactly(&a, "");
    adv_free(&a);
}

Test(adversarial, garbage_greeting_is_a_protocol_error)
{
    bad_greeting("adv-garbage-greeting.scn", "protocol", "not an IMAP greeting");
}

Test(adversarial, tagged_greeting_is_a_protocol_error)
{
    bad_greeting("adv-tagged-greeting.scn", "protocol", "not an IMAP greeting");
}

Test(adversarial, bye_greeting_is_a_refused_session)
{
    bad_greeting("adv-bye-greeting.scn", "closed", "Too many connections");
}

Test(adversarial, no_greeting_is_a_protocol_error)
{
    bad_greeting("adv-no-greeting.scn", "protocol", "not an IMAP greeting");
}

/* A listener on the address the referrals name; it must see no connection. */
static int referral_trap(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(2243) };
    inet_pton(AF_INET, "127.77.7.7", &sin.sin_addr);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(fd, 4) == 0,
              "cannot listen on 127.77.7.7:2243: %s", strerror(errno));
    return fd;
}

static void assert_trap_untouched(int fd)
{
    int c = accept(fd, NULL, NULL);
    cr_assert(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
              "mailscope followed the referral to 127.77.7.7:2243");
    close(fd);
}

/* REFERRAL in the greeting and in the login's NO (LOGIN-REFERRALS): not
 * followed; the credentials went only to this server, only inside TLS. */
Test(adversarial, referrals_in_greeting_and_login_are_not_followed)
{
    int trap = referral_trap();
    struct adv a;
    adv_run(&a, "adv-referral-greeting.scn", "imap", ARGS(CA, "--password-env", "PW", "--json"));
    assert_trap_untouched(trap);
    assert_verdict(&a, 2, "auth");
    const char *tls_at = strstr(a.sent, "== TLS ==");
    cr_assert_not_null(tls_at);
    cr_assert_not(contains(a.sent, (size_t)(tls_at - a.sent), "AUTHENTICATE"));
    cr_assert(strncmp(str(a.j, "address"), "127.0.0.1:", 10) == 0, "connected to %s",
              str(a.j, "address"));
    adv_free(&a);
}

Test(adversarial, bye_referral_greeting_is_not_followed)
{
    int trap = referral_trap();
    bad_greeting("adv-bye-referral-greeting.scn", "closed", "Server moved");
    usleep(200 * 1000);
    assert_trap_untouched(trap);
}

/* A CAPA-like listing glued to the POP3 greeting offers STLS; the real CAPA
 * answer does not. Only the answer counts: TLS required, so stop. */
Test(adversarial, pop3_listing_glued_to_the_greeting_is_not_the_capa_answer)
{
    struct adv a;
    adv_run(&a, "adv-pop3-glued-listing.scn", "pop3",
            ARGS("--tls=starttls", "--password-env", "PW", "--json"));
    assert_verdict(&a, 2, "tls-required");
    cr_assert_not(json_array_has(caps(a.j, "before_tls"), "STLS"));
    cr_assert(notice_has(a.j, "nobody asked for"));
    assert_sent_exactly(&a, "CAPA\r\n");
    adv_free(&a);
}
