/* The transcript writers on a transcript built by hand: the operator's notes
 * and walkthrough steps (which probe never makes) in the timeline and in
 * their own sections of every format; --redact-user's second layer (a note
 * naming the user); record_write's dispatch and its refusal of other
 * extensions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"

struct fixture {
    struct transcript t;
    struct report_target tg;
    struct report_verdict v;
    struct plan p;
    char dir[64];
};

static void ev(struct transcript *t, enum session_event_type type, enum session_op op,
               const char *text)
{
    struct session_event e = { .type = type, .op = op, .at_us = loop_now_us(),
                               .data = (const uint8_t *)text, .len = text ? strlen(text) : 0,
                               .ok = true, .status = "OK", .elapsed_us = 1500 };
    if (type != SEV_SENT && type != SEV_RECEIVED)
        e.data = NULL, e.len = 0;
    cr_assert_eq(transcript_append(t, &e), 0);
}

static void build(struct fixture *fx, bool redact_user)
{
    memset(fx, 0, sizeof *fx);
    transcript_init(&fx->t, SESSION_IMAP);
    ev(&fx->t, SEV_OP_BEGIN, OP_CONNECT, NULL);
    ev(&fx->t, SEV_OP_END, OP_CONNECT, NULL);
    ev(&fx->t, SEV_RECEIVED, OP_GREETING, "* OK ready");
    ev(&fx->t, SEV_OP_BEGIN, OP_LOGIN, NULL);
    ev(&fx->t, SEV_SENT, OP_LOGIN, redact_user ? "a001 LOGIN <user> *****"
                                                : "a001 LOGIN bob.smith *****");
    ev(&fx->t, SEV_RECEIVED, OP_LOGIN, "a001 OK welcome bob.smith");
    ev(&fx->t, SEV_OP_END, OP_LOGIN, NULL);
    cr_assert_eq(transcript_note(&fx->t, TR_NOTE, OP_NONE,
                                 "ran Set-ImapSettings on EX01 for bob.smith | *not bold*"), 0);
    cr_assert_eq(transcript_walk(&fx->t, "exchange-login/check-cert", "passed",
                                 "the certificate names EX01"), 0);
    fx->tg = (struct report_target){ .url = redact_user ? "imap://<user>@ex01.test"
                                                        : "imap://bob.smith@ex01.test",
                                     .scheme = "imap", .host = "ex01.test", .port = 143,
                                     .user = "bob.smith", .auth = "login", .tls_requested = "auto",
                                     .expiry_warn_days = 30, .redact_user = redact_user };
    snprintf(fx->v.summary, sizeof fx->v.summary, "logged in");
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ms-export-XXXXXX");
    cr_assert_not_null(mkdtemp(fx->dir));
}

static char *write_and_read(struct fixture *fx, const char *ext)
{
    char path[128], err[600];
    snprintf(path, sizeof path, "%s/t.%s", fx->dir, ext);
    json_t *report = json_pack("{s:s}", "user", fx->tg.redact_user ? "<user>" : "bob.smith");
    int rc = record_write(path, report, &fx->p, &fx->t, NULL, &fx->tg, &fx->v, err, sizeof err);
    json_decref(report);
    cr_assert_eq(rc, 0, "%s", err);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    unlink(path);
    return buf;
}

static void done(struct fixture *fx)
{
    transcript_free(&fx->t);
    rmdir(fx->dir);
}

/* a appears before b */
static void before(const char *text, const char *a, const char *b)
{
    const char *pa = strstr(text, a), *pb = pa ? strstr(pa, b) : NULL;
    cr_expect(pa && pb, "\"%s\" then \"%s\" expected in:\n%s", a, b, text);
}

Test(export, notes_and_walkthrough_steps_in_every_format)
{
    struct fixture fx;
    build(&fx, false);
    char *txt = write_and_read(&fx, "txt");
    before(txt, "NOTE ran Set-ImapSettings on EX01 for bob.smith", "WALK exchange-login/check-cert [passed]");
    before(txt, "Walkthrough steps", "exchange-login/check-cert [passed]: the certificate names EX01");
    before(txt, "Operator notes", "ran Set-ImapSettings on EX01 for bob.smith");
    cr_expect(strstr(txt, "Redacted    passwords, SASL payloads (shown as *****)"), "%s", txt);
    char *md = write_and_read(&fx, "md");
    before(md, "## Walkthrough steps", "exchange-login/check-cert \\[passed\\]");
    before(md, "## Operator notes", "for bob.smith \\| \\*not bold\\*");
    char *html = write_and_read(&fx, "html");
    before(html, "<h2>Walkthrough steps</h2>", "<td>passed</td>");
    before(html, "<h2>Operator notes</h2>", "for bob.smith | *not bold*");
    char *json = write_and_read(&fx, "json");
    cr_expect(strstr(json, "\"kind\": \"note\""), "%s", json);
    cr_expect(strstr(json, "\"kind\": \"walk\""));
    done(&fx);
}

Test(export, redact_user_scrubs_the_name_wherever_it_came_from)
{
    struct fixture fx;
    build(&fx, true);
    static const char *const exts[] = { "txt", "md", "html", "json" };
    for (size_t i = 0; i < 4; i++) {
        char *text = write_and_read(&fx, exts[i]);
        cr_expect_null(strstr(text, "bob.smith"), "the user name is in the .%s:\n%s", exts[i], text);
        cr_expect_null(strstr(text, "Ym9iLnNtaXRo"), "the base64 user name is in the .%s", exts[i]);
        if (strcmp(exts[i], "json"))
            cr_expect(strstr(text, "passwords, SASL payloads, user names"), "%s", text);
    }
    done(&fx);
}

Test(export, other_extensions_are_refused_with_the_list)
{
    struct fixture fx;
    build(&fx, false);
    char path[128], err[600];
    snprintf(path, sizeof path, "%s/t.pdf", fx.dir);
    cr_expect_eq(record_write(path, NULL, &fx.p, &fx.t, NULL, &fx.tg, &fx.v, err, sizeof err), -1);
    cr_expect(strstr(err, ".txt, .md, .html or .json"), "%s", err);
    cr_expect_neq(access(path, F_OK), 0);
    done(&fx);
}
