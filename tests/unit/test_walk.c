/* The walkthrough runner: answers and check results lead where the playbook
 * says, bad answers change nothing, the outcome follows the last retest,
 * and every step shown, answer, note and outcome lands in the transcript. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "playbook.h"
#include "transcript.h"
#include "walk.h"

static const char *const book =
    "playbook demo\n"
    "title: Demo\n"
    "step ask question\n"
    "  text: Does OWA work for {user}?\n"
    "  answer yes: look\n"
    "  answer no: password\n"
    "step password action\n"
    "  text: Check the password.\n"
    "  command: Get-User {user}\n"
    "  done: retest\n"
    "  failed: end\n"
    "  skipped: end\n"
    "step look check cert-name\n"
    "  text: Compare.\n"
    "  pass: retest\n"
    "  fail: fix\n"
    "step fix action\n"
    "  text: Fix it.\n"
    "  command: Set-ImapSettings -Server {server} -X509CertificateName {server_fqdn}\n"
    "  skipped: ask\n"
    "step retest retest\n"
    "  text: Again.\n"
    "  fail: fix\n";

struct fixture {
    struct playbook_set s;
    struct transcript t;
    struct walk w;
};

static void start(struct fixture *f)
{
    char err[300];
    playbook_set_init(&f->s);
    cr_assert_eq(playbook_parse(&f->s, "demo", book, strlen(book), err, sizeof err), 0, "%s", err);
    transcript_init(&f->t, SESSION_IMAP);
    struct diag_evidence e;
    diag_evidence_init(&e);
    e.user = "alice";
    e.server_fqdn = "EX01.contoso.local";
    struct walk_names n;
    walk_names_from(&n, &e);
    walk_start(&f->w, playbook_find(&f->s, "demo"), &n, &f->t);
}

static void finish(struct fixture *f)
{
    walk_free(&f->w);
    transcript_free(&f->t);
    playbook_set_free(&f->s);
}

static const char *cur(const struct fixture *f)
{
    const struct pb_step *st = walk_current(&f->w);
    return st ? st->id : "(over)";
}

static bool has_walk(const struct transcript *t, const char *ref, const char *outcome,
                     const char *text)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct tr_event *e = &t->ev[i];
        if (e->kind == TR_WALK && !strcmp(e->ref, ref) && !strcmp(e->status, outcome) &&
            (!text || strstr(e->message, text)))
            return true;
    }
    return false;
}

Test(walk, the_founding_path_resolves)
{
    struct fixture f;
    char err[300];
    start(&f);
    cr_expect_str_eq(cur(&f), "ask");
    cr_expect(!walk_wants_check(&f.w));
    cr_expect(has_walk(&f.t, "demo", "started", "Demo"));
    cr_expect(has_walk(&f.t, "demo/ask", "shown", "Does OWA work for alice?"));
    cr_assert_eq(walk_answer(&f.w, "YES", "OWA is fine", err, sizeof err), 0, "%s", err);
    cr_expect(has_walk(&f.t, "demo/ask", "answer", "yes: OWA is fine"));
    cr_expect_str_eq(cur(&f), "look");
    cr_expect(walk_wants_check(&f.w));
    cr_expect_eq(walk_answer(&f.w, "done", NULL, err, sizeof err), -1, "a check is not answered");
    walk_check_result(&f.w, false, "CN mail.test does not carry EX01.contoso.local");
    cr_expect(has_walk(&f.t, "demo/look", "failed", "CN mail.test"));
    cr_expect_str_eq(cur(&f), "fix");
    cr_expect(has_walk(&f.t, "demo/fix", "shown", "Fix it."));
    cr_expect(has_walk(&f.t, "demo/fix", "command",
                       "Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local"));
    cr_assert_eq(walk_answer(&f.w, "done", "ran it in the shell", err, sizeof err), 0, "%s", err);
    cr_expect(has_walk(&f.t, "demo/fix", "done", "done: ran it in the shell"));
    cr_expect_str_eq(cur(&f), "retest", "an unset done goes to the next step in the file");
    walk_check_result(&f.w, true, "a004 OK LOGIN completed.");
    cr_expect(walk_over(&f.w));
    cr_expect_eq(f.w.status, WALK_RESOLVED);
    cr_expect(has_walk(&f.t, "demo/retest", "passed", "LOGIN completed"));
    cr_expect(has_walk(&f.t, "demo", "resolved", "the re-test passed"));
    cr_expect_eq(f.w.n_hist, 4);
    finish(&f);
}

Test(walk, bad_answers_change_nothing)
{
    struct fixture f;
    char err[300];
    start(&f);
    size_t events = f.t.n;
    unsigned gen = f.w.gen;
    cr_expect_eq(walk_answer(&f.w, "maybe", "", err, sizeof err), -1);
    cr_expect(strstr(err, "yes, no"), "%s", err);
    cr_expect_eq(walk_answer(&f.w, "done", "", err, sizeof err), -1, "done is an action's answer");
    cr_expect_str_eq(cur(&f), "ask");
    cr_expect_eq(f.t.n, events);
    cr_expect_eq(f.w.gen, gen);
    walk_check_result(&f.w, true, "ignored: not a check");
    cr_expect_str_eq(cur(&f), "ask");
    finish(&f);
}

Test(walk, a_failed_retest_loops_back_and_skipping_returns_to_the_question)
{
    struct fixture f;
    char err[300];
    start(&f);
    walk_answer(&f.w, "yes", "", err, sizeof err);
    walk_check_result(&f.w, true, "names match");
    cr_expect_str_eq(cur(&f), "retest");
    walk_check_result(&f.w, false, "a004 NO LOGIN failed.");
    cr_expect_str_eq(cur(&f), "fix", "fail: fix");
    cr_assert_eq(walk_answer(&f.w, "skip", "", err, sizeof err), 0, "%s", err);
    cr_expect(has_walk(&f.t, "demo/fix", "skipped", NULL));
    cr_expect_str_eq(cur(&f), "ask", "skipped: ask");
    cr_assert_eq(walk_answer(&f.w, "no", "", err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(cur(&f), "password");
    cr_assert_eq(walk_answer(&f.w, "failed", "locked out", err, sizeof err), 0, "%s", err);
    cr_expect(walk_over(&f.w));
    cr_expect_eq(f.w.status, WALK_UNRESOLVED, "ended without a passing retest");
    cr_expect(has_walk(&f.t, "demo/password", "failed", "locked out"));
    cr_expect(has_walk(&f.t, "demo", "unresolved", NULL));
    cr_expect_eq(walk_answer(&f.w, "done", "", err, sizeof err), -1, "over");
    finish(&f);
}

Test(walk, stopping_is_recorded_and_a_loop_is_bounded)
{
    struct fixture f;
    char err[300];
    start(&f);
    walk_stop(&f.w, "end of input");
    cr_expect(walk_over(&f.w));
    cr_expect_eq(f.w.status, WALK_STOPPED);
    cr_expect(has_walk(&f.t, "demo", "stopped", "end of input"));
    finish(&f);

    start(&f);
    /* ask -> look (pass) -> retest (fail) -> fix (skip) -> ask ... forever */
    for (int i = 0; i < 1000 && !walk_over(&f.w); i++) {
        if (walk_wants_check(&f.w))
            walk_check_result(&f.w, !strcmp(cur(&f), "look"), "x");
        else
            walk_answer(&f.w, !strcmp(cur(&f), "ask") ? "yes" : "skip", "", err, sizeof err);
    }
    cr_expect(walk_over(&f.w));
    cr_expect_eq(f.w.status, WALK_STOPPED);
    cr_expect(has_walk(&f.t, "demo", "stopped", "too many steps"));
    finish(&f);
}

Test(walk, notes_are_sanitised)
{
    struct fixture f;
    char err[300];
    start(&f);
    cr_assert_eq(walk_answer(&f.w, "yes", "evil \x1b[2J note", err, sizeof err), 0);
    cr_expect(has_walk(&f.t, "demo/ask", "answer", "\\x1b[2J"));
    cr_expect_null(strchr(f.w.hist[0].text, 0x1b));
    finish(&f);
}
