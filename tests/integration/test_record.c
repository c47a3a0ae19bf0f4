/* probe --record FILE in each format (.txt .md .html .json), as a user
 * attaches it to a ticket: the header, the timeline in order with
 * non-decreasing timestamps, the TLS banner, the chain, the diagnosis of an
 * Exchange scenario; the 100-column rule of .txt; hostile server bytes and
 * markup kept inert in every format; the redaction of every login mechanism
 * against Dovecot (password byte for byte and in base64; with --redact-user
 * the user name too); the .html rendered by headless Chromium. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static const char *const formats[] = { "txt", "md", "html", "json" };

struct rec {
    char dir[64], path[128];
    char *text;
    size_t len;
    struct run_result r;
};

static void rec_free(struct rec *rc)
{
    free(rc->text);
    run_result_free(&rc->r);
    unlink(rc->path);
    rmdir(rc->dir);
}

static void make_dir(struct rec *rc, const char *ext)
{
    memset(rc, 0, sizeof *rc);
    snprintf(rc->dir, sizeof rc->dir, "/tmp/ms-record-XXXXXX");
    cr_assert_not_null(mkdtemp(rc->dir));
    snprintf(rc->path, sizeof rc->path, "%s/session.%s", rc->dir, ext);
}

static void read_record(struct rec *rc)
{
    struct stat st;
    cr_assert(stat(rc->path, &st) == 0, "%s was not written\nstderr: %s", rc->path, rc->r.err);
    cr_expect_eq(st.st_mode & 0777, 0600, "the transcript is mode %o", st.st_mode & 0777);
    rc->text = slurp(rc->path, &rc->len);
    cr_assert_not_null(rc->text);
}

/* probe URL-of-the-scripted-server [extra] --record FILE.ext */
static void record_scripted(struct rec *rc, const char *scenario, const char *cert,
                            const char *ext, const char *const *extra, int exit_code)
{
    make_dir(rc, ext);
    pid_t pid;
    char log[256], url[128];
    unsigned port = cert ? scripted_start_cert(scenario, cert, "leaf.key", &pid, log)
                         : scripted_start(scenario, &pid, log);
    snprintf(url, sizeof url, "imap://alice@127.0.0.1:%u", port);
    const char *args[24] = { url, "--record", rc->path };
    size_t n = 3;
    for (size_t i = 0; extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    run_mailscope(&rc->r, args);
    cr_assert_eq(scripted_wait(pid), 0, "the scripted server saw the client misbehave");
    unlink(log);
    assert_exit(&rc->r, exit_code);
    read_record(rc);
}

#define EXCHANGE_ARGS (const char *[]){ "--password-env", "PW", "--tls=starttls", \
    "--auth=login", "--cafile", cert_path("root.pem"), "--servername", "mail.test", NULL }

static void record_exchange(struct rec *rc, const char *ext)
{
    record_scripted(rc, "diag-exchange-cert-bound.scn", "chain.pem", ext, EXCHANGE_ARGS, 2);
}

static void expect_has(const struct rec *rc, const char *needle)
{
    cr_expect(contains(rc->text, rc->len, needle), "%s lacks \"%s\":\n%.6000s", rc->path,
              needle, rc->text);
}

/* needles appear in this order. */
static void expect_order(const struct rec *rc, const char *const *needles)
{
    const char *at = rc->text;
    for (size_t i = 0; needles[i]; i++) {
        const char *next = strstr(at, needles[i]);
        cr_expect_not_null(next, "\"%s\" missing or out of order in %s:\n%.6000s", needles[i],
                           rc->path, rc->text);
        if (!next)
            return;
        at = next + strlen(needles[i]);
    }
}

/* Every timeline line "+S.MMMs ..." (after an optional prefix such as the
 * HTML span) has a time not before the previous one; returns how many. */
static size_t expect_monotonic(const struct rec *rc, const char *line_prefix)
{
    double last = -1;
    size_t n = 0;
    for (const char *p = rc->text; (p = strstr(p, line_prefix)); p += strlen(line_prefix)) {
        double t;
        char s;
        if (sscanf(p + strlen(line_prefix), "+%lf%c", &t, &s) != 2 || s != 's')
            continue;
        cr_expect_geq(t, last, "time %.3f after %.3f in %s", t, last, rc->path);
        last = t;
        n++;
    }
    return n;
}

/* Display columns of one line (UTF-8 characters; the exports are ASCII
 * apart from server text). */
static size_t columns(const char *s, size_t len)
{
    size_t c = 0;
    for (size_t i = 0; i < len; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static bool server_line(const char *line)
{
    double t;
    int off = 0;
    return sscanf(line, "+%lfs S: %n", &t, &off) == 1 && off > 0;
}

/* ---- content of each format -------------------------------------------- */

static const char *const timeline_order[] = {
    "C: a001 CAPABILITY", "S: * CAPABILITY IMAP4 IMAP4rev1", "C: a002 STARTTLS",
    "TLS TLSv1.", "C: a003 CAPABILITY", "C: a004 LOGIN alice *****", "S: a004 NO LOGIN failed.",
    "C: a005 LOGOUT", NULL };

Test(record, txt_tells_the_whole_story_within_100_columns)
{
    struct rec rc;
    record_exchange(&rc, "txt");
    expect_has(&rc, "Tool        mailscope ");
    expect_has(&rc, "Started     ");
    expect_has(&rc, "(UTC 20");
    expect_has(&rc, "Target      imap://alice@127.0.0.1:");
    expect_has(&rc, "Address     127.0.0.1:");
    expect_has(&rc, "Protocol    IMAP; TLS requested: starttls; used: STARTTLS, TLSv1.");
    expect_has(&rc, "Result      CRITICAL: login refused: NO LOGIN failed.");
    expect_has(&rc, "Redacted    passwords, SASL payloads");
    cr_expect_not(contains(rc.text, rc.len, "user names"), "user names said redacted without --redact-user");
    expect_order(&rc, timeline_order);
    expect_has(&rc, "established, TLS_");
    expect_has(&rc, "certificate verified");
    cr_expect_geq(expect_monotonic(&rc, "\n"), 20);
    expect_has(&rc, "+0.0");
    /* timings, chain, diagnosis */
    expect_order(&rc, (const char *[]){ "Timings", "connect 127.0.0.1:", "greeting",
                 "TLS handshake", "FAILED       login: a004 LOGIN alice *****", NULL });
    expect_has(&rc, "  0 subject: CN=mail.test");
    expect_has(&rc, "    issuer:  CN=mailscope Test Intermediate");
    expect_has(&rc, "  1 subject: CN=mailscope Test Intermediate");
    expect_has(&rc, "Verification: verified");
    expect_has(&rc, "[R-EXCH-001]");
    expect_has(&rc, "fix 2: Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local");
    /* 100 columns or less, except quoted server lines */
    size_t lines = 0;
    for (const char *p = rc.text; *p;) {
        size_t len = strcspn(p, "\n");
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        if (!server_line(line))
            cr_expect_leq(columns(p, len), 100, "line over 100 columns: %s", line);
        lines++;
        p += len + (p[len] == '\n');
    }
    cr_expect_gt(lines, 60);
    rec_free(&rc);
}

Test(record, md_has_tables_a_fence_and_the_diagnosis)
{
    struct rec rc;
    record_exchange(&rc, "md");
    expect_order(&rc, (const char *[]){ "# mailscope transcript: imap://alice@127.0.0.1:",
                 "| Field | Value |", "| Tool | mailscope ", "| Started | ", "(UTC 20",
                 "| Redacted | passwords, SASL payloads", "## Timeline", "```text\n",
                 "C: a001 CAPABILITY", "\n```\n", "## Timings",
                 "| Operation | Start (s) | Elapsed (ms) | Result |", "| connect 127.0.0.1:",
                 "| TLS handshake |", "## Certificate chain", "| 0 | CN=mail.test | CN=mailscope Test Intermediate |",
                 "| 1 | CN=mailscope Test Intermediate | CN=mailscope Test Root |",
                 "## Diagnosis", "### 1. Backend proxy fails", "R-EXCH-001",
                 "Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local", NULL });
    expect_order(&rc, timeline_order);
    cr_expect_geq(expect_monotonic(&rc, "\n"), 20);
    rec_free(&rc);
}

/* Every tag of the page, checked for a reference to anything outside it. */
static void expect_self_contained(const char *html)
{
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        size_t n = strcspn(p, ">");
        char tag[2048];
        snprintf(tag, sizeof tag, "%.*s", (int)(n < sizeof tag ? n : sizeof tag - 1), p);
        for (char *c = tag; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        cr_expect_null(strstr(tag, "src="), "a tag loads something: %s", tag);
        cr_expect_null(strstr(tag, "href="), "a tag links something: %s", tag);
        cr_expect_null(strstr(tag, "<script"), "a script tag: %s", tag);
        cr_expect_null(strstr(tag, "<link"), "a link tag: %s", tag);
        cr_expect_null(strstr(tag, "<iframe"), "an iframe: %s", tag);
    }
    cr_expect_null(strstr(html, "url("), "CSS loads something");
    cr_expect_null(strstr(html, "@import"), "CSS imports something");
}

Test(record, html_is_self_contained_with_waterfall_chain_and_diagnosis)
{
    struct rec rc;
    record_exchange(&rc, "html");
    expect_order(&rc, (const char *[]){ "<!DOCTYPE html>",
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';",
                 "<h1>mailscope transcript: imap://alice@127.0.0.1:", "Started", "(UTC 20",
                 "passwords, SASL payloads", "<h2>Timeline</h2>",
                 "<div class=\"c clear\"><span class=\"t\">+", "C: a001 CAPABILITY",
                 "<div class=\"tls-ok\">", "TLS TLSv1.", "<div class=\"c\">",
                 "C: a004 LOGIN alice *****", "<h2>Timings</h2>", "TLS handshake",
                 "class=\"b\" style=\"left:", "<h2>Certificate chain</h2>", "CN=mail.test",
                 "<h2>Diagnosis</h2>", "R-EXCH-001",
                 "Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local",
                 "</html>", NULL });
    cr_expect_geq(expect_monotonic(&rc, "<span class=\"t\">"), 20);
    expect_self_contained(rc.text);
    rec_free(&rc);
}

Test(record, json_keeps_its_schema_and_every_event)
{
    struct rec rc;
    record_exchange(&rc, "json");
    json_error_t e;
    json_t *j = json_loads(rc.text, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    cr_expect_str_eq(json_string_value(json_object_get(j, "schema")), "mailscope.transcript/2");
    cr_expect_gt(json_array_size(json_object_get(j, "events")), 20);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "report"), "status")),
                     "CRITICAL");
    cr_expect_str_eq(json_string_value(json_object_get(j, "redacted")), "passwords, SASL payloads");
    json_decref(j);
    rec_free(&rc);
}

Test(record, unknown_extension_names_the_four_formats)
{
    struct rec rc;
    make_dir(&rc, "pdf");
    pid_t pid;
    char log[256], url[128];
    unsigned port = scripted_start("silent.scn", &pid, log);
    snprintf(url, sizeof url, "imap://127.0.0.1:%u", port);
    run_mailscope(&rc.r, (const char *[]){ url, "--until=connect", "--record", rc.path, NULL });
    scripted_wait(pid);
    unlink(log);
    cr_expect(strstr(rc.r.err, ".txt, .md, .html or .json"), "stderr: %s", rc.r.err);
    cr_expect(access(rc.path, F_OK) != 0, "a .pdf file was written");
    rec_free(&rc);
}

/* The diagnosis fills {user} in its fixes and the URL carries it: with
 * --redact-user both say <user>, in every format, and the report's user
 * field too. */
Test(record, redact_user_reaches_the_diagnosis_and_the_url)
{
    for (size_t f = 0; f < 4; f++) {
        struct rec rc;
        record_scripted(&rc, "diag-exchange-cert-bound.scn", "chain.pem", formats[f],
                        (const char *[]){ "--password-env", "PW", "--tls=starttls", "--auth=login",
                                          "--cafile", cert_path("root.pem"), "--servername",
                                          "mail.test", "--redact-user", NULL }, 2);
        cr_expect_not(contains(rc.text, rc.len, "alice"), "the user name is in %s:\n%s", rc.path,
                      rc.text);
        cr_expect_not(contains(rc.text, rc.len, "YWxpY2U"), "the base64 user name is in %s", rc.path);
        if (!strcmp(formats[f], "json"))
            expect_has(&rc, "\"redacted\": \"passwords, SASL payloads, user names\"");
        if (!strcmp(formats[f], "txt")) {
            expect_has(&rc, "Target      imap://<user>@127.0.0.1:");
            expect_has(&rc, "C: a004 LOGIN <user> *****");
            expect_has(&rc, "Get-CASMailbox -Identity <user> ");
        } else if (!strcmp(formats[f], "html")) {
            expect_has(&rc, "C: a004 LOGIN &lt;user&gt; *****");
            expect_has(&rc, "Get-CASMailbox -Identity &lt;user&gt; ");
        } else if (!strcmp(formats[f], "md")) {
            expect_has(&rc, "C: a004 LOGIN <user> *****");    /* inside the fence: verbatim */
            expect_has(&rc, "Get-CASMailbox -Identity \\<user\\> ");
        } else {
            expect_has(&rc, "\"user\": \"<user>\"");
            expect_has(&rc, "a004 LOGIN <user> *****");
        }
        rec_free(&rc);
    }
}

/* ---- hostile server bytes ------------------------------------------------ */

static void expect_no_raw_controls(const struct rec *rc)
{
    for (size_t i = 0; i < rc->len; i++) {
        unsigned char c = (unsigned char)rc->text[i];
        cr_assert(c >= 0x20 || c == '\n', "control byte 0x%02x at %zu in %s", c, i, rc->path);
        cr_assert(c != 0x7f, "DEL in %s", rc->path);
        if (c == 0xc2 && i + 1 < rc->len)
            cr_assert((unsigned char)rc->text[i + 1] < 0x80 || (unsigned char)rc->text[i + 1] > 0x9f,
                      "a C1 control in %s", rc->path);
    }
    cr_assert_not(contains(rc->text, rc->len, "\xe2\x80\xae"), "a bidi override in %s", rc->path);
}

Test(record, hostile_greeting_is_escaped_in_every_text_format)
{
    for (size_t f = 0; f < 3; f++) {
        struct rec rc;
        record_scripted(&rc, "imap-hostile-greeting.scn", NULL, formats[f],
                        (const char *[]){ "--tls=starttls", NULL }, 2);
        expect_no_raw_controls(&rc);
        expect_has(&rc, "\\x1b[31mEvil\\x1b]52;c;ZXZpbA==\\x07 ");
        expect_has(&rc, "U+202E");
        rec_free(&rc);
    }
}

Test(record, markup_from_the_server_stays_text)
{
    for (size_t f = 0; f < 3; f++) {
        struct rec rc;
        record_scripted(&rc, "record-hostile-markup.scn", NULL, formats[f],
                        (const char *[]){ "--tls=none", NULL }, 0);
        expect_no_raw_controls(&rc);
        expect_has(&rc, "\\x1b[31mred\\x1b]8;;http://evil.test/\\x07");
        if (!strcmp(formats[f], "html")) {
            expect_self_contained(rc.text);
            expect_has(&rc, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x");
            expect_has(&rc, "X-&lt;/div&gt;&lt;/td&gt;");
            expect_has(&rc, "&lt;/pre&gt;&lt;/html&gt;");
        } else if (!strcmp(formats[f], "md")) {
            /* the server sent a run of 4 backticks: the fence is longer, and
             * every server line is inside it */
            const char *open = strstr(rc.text, "\n`````text\n");
            cr_assert_not_null(open, "%s", rc.text);
            const char *close = strstr(open + 11, "\n`````\n");
            cr_assert_not_null(close);
            const char *hostile = strstr(rc.text, "<script>");
            cr_expect(hostile > open && hostile < close, "server text outside the fence");
            cr_expect_eq(strstr(rc.text, "</pre></html>") > open &&
                         strstr(rc.text, "</pre></html>") < close, 1);
        } else {
            expect_has(&rc, "S: * OK <script>alert(1)</script>");
        }
        rec_free(&rc);
    }
}

/* ---- redaction against Dovecot ------------------------------------------ */

static char *b64(const void *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* The secret must not be in the file, byte for byte or in base64 alone or
 * in the SASL PLAIN forms "user\0user\0pw" and "\0user\0pw". */
static void expect_absent(const struct rec *rc, const char *secret, const char *what)
{
    const char *user = env("MS_TEST_USER"), *pw = env("MS_TEST_PASSWORD");
    char plain[600];
    int n1 = snprintf(plain, sizeof plain, "%s%c%s%c%s", user, 0, user, 0, pw);
    char *forms[] = { strdup(secret), b64(secret, strlen(secret)), b64(plain, (size_t)n1),
                      b64(plain + strlen(user), (size_t)n1 - strlen(user)) };
    for (size_t i = 0; i < 4; i++) {
        cr_expect_not(contains(rc->text, rc->len, forms[i]), "the %s (%s) is in %s:\n%.4000s",
                      what, i == 0 ? "as is" : "base64", rc->path, rc->text);
        free(forms[i]);
    }
}

static void record_dovecot(struct rec *rc, const char *scheme, const char *port_var,
                           const char *auth, const char *ext, bool redact_user)
{
    make_dir(rc, ext);
    char url[256], mech[64];
    snprintf(url, sizeof url, "%s://%s@%s:%s", scheme, env("MS_TEST_USER"),
             env("MS_DOVECOT_HOST"), env(port_var));
    snprintf(mech, sizeof mech, "--auth=%s", auth);
    run_mailscope(&rc->r, (const char *[]){ url, "--password-env", "PW", mech, "--cafile",
                  cert_path("root.pem"), "--servername", "mail.test", "--record", rc->path,
                  redact_user ? "--redact-user" : NULL, NULL });
    assert_exit(&rc->r, 0);     /* logged in: the credentials really went out */
    read_record(rc);
}

static void redaction_for(const char *scheme, const char *port_var, const char *auth)
{
    for (int redact_user = 0; redact_user < 2; redact_user++)
        for (size_t f = 0; f < 4; f++) {
            struct rec rc;
            record_dovecot(&rc, scheme, port_var, auth, formats[f], redact_user);
            expect_has(&rc, "*****");
            expect_absent(&rc, env("MS_TEST_PASSWORD"), "password");
            if (redact_user) {
                expect_absent(&rc, env("MS_TEST_USER"), "user name");
                expect_has(&rc, !strcmp(formats[f], "html") ? "&lt;user&gt;"
                                : !strcmp(formats[f], "md") ? "\\<user\\>" : "<user>");
                if (strcmp(formats[f], "json"))
                    expect_has(&rc, "passwords, SASL payloads, user names");
            } else if (strcmp(formats[f], "json")) {
                expect_has(&rc, env("MS_TEST_USER"));
                cr_expect_not(contains(rc.text, rc.len, "user names"));
            }
            rec_free(&rc);
        }
}

Test(redaction, imap_login) { redaction_for("imaps", "MS_OPEN_IMAPS_PORT", "login"); }
Test(redaction, imap_authenticate_plain) { redaction_for("imaps", "MS_OPEN_IMAPS_PORT", "plain"); }
Test(redaction, imap_authenticate_login) { redaction_for("imaps", "MS_OPEN_IMAPS_PORT", "login-sasl"); }
Test(redaction, imap_cram_md5) { redaction_for("imaps", "MS_OPEN_IMAPS_PORT", "cram-md5"); }
Test(redaction, pop3_user_pass) { redaction_for("pop3s", "MS_OPEN_POP3S_PORT", "user"); }
Test(redaction, pop3_apop) { redaction_for("pop3s", "MS_OPEN_POP3S_PORT", "apop"); }
Test(redaction, pop3_auth_plain) { redaction_for("pop3s", "MS_OPEN_POP3S_PORT", "plain"); }

/* ---- the .html in a real browser ---------------------------------------- */

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* chromium, networking made useless, screenshots page into png. */
static void screenshot(const char *dir, const char *page, const char *png)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "timeout 120 chromium --headless --no-sandbox --disable-gpu "
             "--no-first-run --user-data-dir=%s/profile --proxy-server=127.0.0.1:9 "
             "--host-resolver-rules='MAP * ~NOTFOUND' --screenshot=%s --window-size=1200,2000 "
             "file://%s >>%s/chromium.log 2>&1", dir, png, page, dir);
    int rc = system(cmd);
    char log[256];
    snprintf(log, sizeof log, "%s/chromium.log", dir);
    size_t n;
    char *text = slurp(log, &n);
    cr_assert_eq(rc, 0, "chromium failed (%d): %.3000s", rc, text ? text : "");
    free(text);
}

/* PNG signature and IHDR: 8 bytes, length, "IHDR", width, height (big endian). */
static void expect_png(const char *path, unsigned width, unsigned height)
{
    size_t n;
    unsigned char *p = (unsigned char *)slurp(path, &n);
    cr_assert(p && n > 33, "%s is no PNG", path);
    cr_expect(!memcmp(p, "\x89PNG\r\n\x1a\n", 8), "%s has no PNG signature", path);
    cr_expect(!memcmp(p + 12, "IHDR", 4));
    unsigned w = (unsigned)p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19];
    unsigned h = (unsigned)p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23];
    cr_expect_eq(w, width, "width %u", w);
    cr_expect_eq(h, height, "height %u", h);
    free(p);
}

Test(record, html_renders_in_headless_chromium, .timeout = 240)
{
    cr_assert_eq(system("command -v chromium >/dev/null 2>&1"), 0,
                 "chromium is not installed (scripts/deps.sh installs Debian's chromium as root)");
    struct rec rc;
    record_exchange(&rc, "html");
    expect_self_contained(rc.text);
    char blank[160], shot[160], blank_png[160];
    snprintf(blank, sizeof blank, "%s/blank.html", rc.dir);
    snprintf(shot, sizeof shot, "%s/shot.png", rc.dir);
    snprintf(blank_png, sizeof blank_png, "%s/blank.png", rc.dir);
    FILE *f = fopen(blank, "w");
    cr_assert_not_null(f);
    fputs("<!DOCTYPE html><html><body></body></html>\n", f);
    fclose(f);
    screenshot(rc.dir, rc.path, shot);
    screenshot(rc.dir, blank, blank_png);
    expect_png(shot, 1200, 2000);
    expect_png(blank_png, 1200, 2000);
    /* A page of coloured text, tables and bars compresses far worse than an
     * empty one of the same size. */
    long s = file_size(shot), b = file_size(blank_png);
    cr_expect_gt(s, 8 * b, "the screenshot (%ld bytes) looks blank (an empty page: %ld)", s, b);
    char cleanup[1024];
    snprintf(cleanup, sizeof cleanup, "rm -rf -- '%s/profile' '%s' '%s' '%s' '%s/chromium.log'",
             rc.dir, blank, shot, blank_png, rc.dir);
    cr_expect_eq(system(cleanup), 0);
    rec_free(&rc);
}
