/* The playbook format: a good file loads with its defaults, each malformed
 * case is refused with its line number, unknown next steps are refused,
 * placeholders are filled; the built-in playbooks load and follow rules
 * that exist. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "playbook.h"
#include "rules.h"
#include "walk.h"

static const char *const good =
    "# a comment\n"
    "playbook demo\n"
    "title: Demo for {host}\n"
    "follows: R-EXCH-001 R-EXCH-013\n"
    "protocols: imap\n"
    "families: exchange\n"
    "intro: first line\n"
    "intro: second line\n"
    "source: here\n"
    "\n"
    "step ask question\n"
    "  text: Does OWA work?\n"
    "  answer yes: look\n"
    "  answer no: end\n"
    "step look check cert-name\n"
    "  text: Compare with {server_fqdn}.\n"
    "  fail: fix\n"
    "step fix action\n"
    "  text: Set it.\n"
    "  command: Set-{proto}Settings -Server {server} -X509CertificateName {server_fqdn}\n"
    "  command: Restart-Service MSExchange{service}; Restart-Service MSExchange{service}BE\n"
    "  note: a trade-off\n"
    "  failed: end\n"
    "step retest retest\n"
    "  text: Log in as {user}.\n";

static int parse(struct playbook_set *s, const char *text, char *err, size_t errlen)
{
    return playbook_parse(s, "t.playbook", text, strlen(text), err, errlen);
}

Test(playbook, good_file_loads_with_defaults)
{
    struct playbook_set s;
    char err[300];
    playbook_set_init(&s);
    cr_assert_eq(parse(&s, good, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.n, 1);
    const struct playbook *pb = playbook_find(&s, "demo");
    cr_assert(pb);
    cr_expect_str_eq(pb->title, "Demo for {host}");
    cr_expect_str_eq(pb->intro, "first line second line");
    cr_expect_eq(pb->protocols, 1u);
    cr_expect_eq(pb->n_follows, 2);
    cr_expect_eq(pb->n_steps, 4);
    cr_expect_str_eq(pb->origin, "t.playbook:2");
    const struct pb_step *ask = &pb->steps[0], *look = &pb->steps[1], *fix = &pb->steps[2];
    cr_expect_eq(ask->kind, PB_QUESTION);
    cr_expect_eq(ask->n_answers, 2);
    cr_expect_eq(ask->answers[0].next, 1);
    cr_expect_eq(ask->answers[1].next, PB_END);
    cr_expect_eq(look->check, PBC_CERT_NAME);
    cr_expect_eq(look->next[PBR_PASS], 2, "an unset pass goes to the next step in the file");
    cr_expect_eq(look->next[PBR_FAIL], 2);
    cr_expect_eq(fix->n_commands, 2);
    cr_expect_eq(fix->next[PBR_DONE], 3);
    cr_expect_eq(fix->next[PBR_FAILED], PB_END);
    cr_expect_eq(pb->steps[3].next[PBR_PASS], PB_END, "a retest ends the playbook by default");
    cr_expect_eq(playbook_for_rule(&s, "R-EXCH-013", false, "exchange"), pb);
    cr_expect_null(playbook_for_rule(&s, "R-EXCH-013", true, "exchange"), "IMAP only");
    cr_expect_null(playbook_for_rule(&s, "R-EXCH-013", false, "dovecot"), "Exchange only");
    cr_expect_null(playbook_for_rule(&s, "R-DOV-001", false, "exchange"));
    playbook_set_free(&s);
}

/* Each broken file is refused whole, with "t.playbook:LINE: what". */
struct bad_case {
    const char *text;
    const char *where;      /* "t.playbook:N:" */
    const char *what;       /* part of the message */
};

static const struct bad_case bad[] = {
    { "title: x\n", "t.playbook:1:", "before any 'playbook'" },
    { "playbook p\ntitle: x\nstep a action\ntext: t\n", "t.playbook:3:", "has no command" },
    { "playbook p\ntitle: x\nstep a check\ntext: t\n", "t.playbook:3:", "needs one of" },
    { "playbook p\ntitle: x\nstep a check ping\ntext: t\n", "t.playbook:3:", "needs one of" },
    { "playbook p\ntitle: x\nstep a dance\n", "t.playbook:3:", "unknown step kind" },
    { "playbook p\ntitle: x\nstep a retest\ntext: t\nstep a retest\ntext: t\n",
      "t.playbook:5:", "defined twice" },
    { "playbook p\ntitle: x\nstep a retest\ntext: t\nfail: nowhere\n", "t.playbook:5:",
      "no step 'nowhere'" },
    { "playbook p\ntitle: x\nstep q question\ntext: t\nanswer yes: a\nanswer no: gone\n"
      "step a retest\ntext: t\n", "t.playbook:6:", "no step 'gone'" },
    { "playbook p\ntitle: x\nstep q question\ntext: t\nanswer yes: end\n", "t.playbook:3:",
      "at least two answers" },
    { "playbook p\ntitle: x\nstep q question\ntext: t\nanswer yes: end\nanswer YES: end\n",
      "t.playbook:6:", "given twice" },
    { "playbook p\ntitle: x\nstep a retest\ntext: {nonsense}\n", "t.playbook:4:",
      "unknown placeholder {nonsense}" },
    { "playbook p\ntitle: x\nstep a retest\ntext: t\ncommand: x\n", "t.playbook:5:",
      "belongs in an action" },
    { "playbook p\ntitle: x\nstep a retest\ntext: t\ndone: end\n", "t.playbook:5:",
      "does not fit a retest" },
    { "playbook p\ntitle: x\nstep a action\ntext: t\ncommand: c\npass: end\n", "t.playbook:6:",
      "does not fit a action" },
    { "playbook p\ntitle: x\nstep a retest\ntext: t\nanswer yes: end\n", "t.playbook:5:",
      "belongs in a question" },
    { "playbook p\ntitle: x\nstep a retest\n", "t.playbook:3:", "has no text" },
    { "playbook p\nstep a retest\ntext: t\n", "t.playbook:1:", "has no title" },
    { "playbook p\ntitle: x\n", "t.playbook:1:", "has no steps" },
    { "playbook p\ntitle: x\nwhatever: y\n", "t.playbook:3:", "unknown playbook field" },
    { "playbook p\ntitle: x\nstep a retest\ntext: t\nfollows: R-1\n", "t.playbook:5:",
      "belongs before the playbook's first step" },
    { "playbook p\ntitle: x\nprotocols: smtp\n", "t.playbook:3:", "unknown protocol" },
    { "playbook p q\n", "t.playbook:1:", "one id" },
    { "playbook p\ntitle: x\nstep end retest\n", "t.playbook:3:", "not 'end'" },
    { "playbook p\ntitle: x\nstep a retest\ntext: t\nplaybook p\n", "t.playbook:5:",
      "defined twice" },
    { "playbook p\ntitle: x\nstep a retest\ntext: t\x01\n", "t.playbook:4:", "control character" },
    { "playbook p\ntitle: x\nstep a retest\ntext: \xff\n", "t.playbook:4:", "UTF-8" },
    { "playbook p\ntitle: x\njust words\n", "t.playbook:3:", "expected" },
};

Test(playbook, malformed_files_are_refused_with_the_line)
{
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct playbook_set s;
        char err[300];
        playbook_set_init(&s);
        cr_expect_eq(parse(&s, bad[i].text, err, sizeof err), -1, "case %zu loaded", i);
        cr_expect_eq(s.n, 0, "case %zu: nothing is added", i);
        cr_expect(!strncmp(err, bad[i].where, strlen(bad[i].where)), "case %zu: '%s'", i, err);
        cr_expect(strstr(err, bad[i].what), "case %zu: '%s' lacks '%s'", i, err, bad[i].what);
        playbook_set_free(&s);
    }
}

Test(playbook, long_line_and_big_file_are_refused)
{
    struct playbook_set s;
    char err[300];
    playbook_set_init(&s);
    size_t n = PB_MAX_LINE + 100;
    char *text = malloc(n + 64);
    int o = snprintf(text, n + 64, "playbook p\ntitle: ");
    memset(text + o, 'x', n);
    text[o + n] = 0;
    cr_expect_eq(parse(&s, text, err, sizeof err), -1);
    cr_expect(strstr(err, "t.playbook:2: line longer"), "%s", err);
    free(text);
    cr_expect_eq(playbook_parse(&s, "big", "x", PB_MAX_FILE + 1, err, sizeof err), -1);
    playbook_set_free(&s);
}

Test(playbook, a_second_file_cannot_redefine_an_id)
{
    struct playbook_set s;
    char err[300];
    playbook_set_init(&s);
    cr_assert_eq(parse(&s, good, err, sizeof err), 0, "%s", err);
    cr_expect_eq(playbook_parse(&s, "u.playbook", good, strlen(good), err, sizeof err), -1);
    cr_expect(strstr(err, "u.playbook:2: playbook demo is already defined (t.playbook:2)"), "%s",
              err);
    cr_expect_eq(s.n, 1);
    playbook_set_free(&s);
}

Test(playbook, placeholders_are_filled_from_the_evidence)
{
    struct playbook_set s;
    char err[300];
    playbook_set_init(&s);
    cr_assert_eq(parse(&s, good, err, sizeof err), 0, "%s", err);
    struct diag_evidence e;
    diag_evidence_init(&e);
    e.host = "mail.contoso.com";
    e.user = "alice";
    e.server_fqdn = "EX01.contoso.local";
    e.cert_cn = "mail.contoso.com";
    struct walk_names names;
    walk_names_from(&names, &e);
    struct walk w;
    walk_start(&w, playbook_find(&s, "demo"), &names, NULL);
    const struct pb_step *fix = &w.pb->steps[2];
    char *c0 = walk_fill(&w, fix->commands[0]), *c1 = walk_fill(&w, fix->commands[1]);
    cr_expect_str_eq(c0, "Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local");
    cr_expect_str_eq(c1, "Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE");
    free(c0);
    free(c1);
    /* POP3, and the NetBIOS name from an NTLM challenge wins over the first label */
    e.pop3 = true;
    e.server_short = "EXMBX7";
    walk_names_from(&names, &e);
    walk_free(&w);
    walk_start(&w, playbook_find(&s, "demo"), &names, NULL);
    c0 = walk_fill(&w, fix->commands[0]);
    c1 = walk_fill(&w, "{backend_port} {host} {user} {cert_cn}");
    cr_expect_str_eq(c0, "Set-PopSettings -Server EXMBX7 -X509CertificateName EX01.contoso.local");
    cr_expect_str_eq(c1, "1995 mail.contoso.com alice mail.contoso.com");
    free(c0);
    free(c1);
    /* nothing known: a visible gap, never an empty argument */
    diag_evidence_init(&e);
    walk_names_from(&names, &e);
    walk_free(&w);
    walk_start(&w, playbook_find(&s, "demo"), &names, NULL);
    c0 = walk_fill(&w, fix->commands[0]);
    cr_expect_str_eq(c0, "Set-ImapSettings -Server <server> -X509CertificateName <server FQDN>");
    free(c0);
    walk_free(&w);
    playbook_set_free(&s);
}

/* The built-in playbooks load, and every rule they follow exists. */
Test(playbook, builtin_playbooks_follow_existing_rules)
{
    struct playbook_set s;
    struct ruleset rs;
    char err[600];
    playbook_set_init(&s);
    ruleset_init(&rs);
    cr_assert_eq(playbook_load_builtin(&s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rules_load_builtin(&rs, err, sizeof err), 0, "%s", err);
    cr_expect_geq(s.n, 9);
    static const char *const must[] = { "exchange-proxy-cert", "exchange-logintype",
        "dovecot-cleartext", "exchange-mailbox-disabled", "exchange-online-oauth",
        "exchange-certificate", "incomplete-chain", "tls-version", "gmail-app-password" };
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        cr_expect(playbook_find(&s, must[i]), "%s missing", must[i]);
    for (size_t i = 0; i < s.n; i++) {
        cr_expect(s.p[i]->n_follows > 0, "%s follows no rule", s.p[i]->id);
        cr_expect(s.p[i]->source, "%s names no source", s.p[i]->id);
        bool retest = false;
        for (size_t k = 0; k < s.p[i]->n_steps; k++)
            retest |= s.p[i]->steps[k].kind == PB_RETEST;
        cr_expect(retest, "%s has no retest", s.p[i]->id);
        for (size_t f = 0; f < s.p[i]->n_follows; f++) {
            bool found = false;
            for (size_t r = 0; r < rs.n; r++)
                found |= !strcmp(rs.r[r].id, s.p[i]->follows[f]);
            cr_expect(found, "%s follows %s, which is no rule", s.p[i]->id, s.p[i]->follows[f]);
        }
    }
    cr_expect_str_eq(playbook_for_rule(&s, "R-EXCH-001", false, "exchange")->id,
                     "exchange-proxy-cert");
    cr_expect_str_eq(playbook_for_rule(&s, "R-LOGINDISABLED", false, "dovecot")->id,
                     "dovecot-cleartext");
    cr_expect_str_eq(playbook_for_rule(&s, "R-LOGINDISABLED", false, "exchange")->id,
                     "exchange-logintype");
    playbook_set_free(&s);
    ruleset_free(&rs);
}
