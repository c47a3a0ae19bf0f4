#include "walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sanitize.h"

const char *walk_status_name(enum walk_status s)
{
    static const char *const n[] = { "running", "resolved", "unresolved", "stopped" };
    return (unsigned)s < sizeof n / sizeof *n ? n[s] : "?";
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void walk_names_from(struct walk_names *n, const struct diag_evidence *e)
{
    memset(n, 0, sizeof *n);
    n->pop3 = e->pop3;
    n->port = e->port;
    copy(n->host, sizeof n->host, e->host);
    copy(n->user, sizeof n->user, e->user);
    copy(n->url, sizeof n->url, e->url);
    copy(n->server_fqdn, sizeof n->server_fqdn, e->server_fqdn);
    copy(n->server_short, sizeof n->server_short, e->server_short);
    copy(n->cert_cn, sizeof n->cert_cn, e->cert_cn);
}

static void point_evidence(struct walk *w)
{
    struct diag_evidence *e = &w->e;
    diag_evidence_init(e);
    e->pop3 = w->names.pop3;
    e->port = w->names.port;
    e->backend_port = w->names.backend_port;
    e->host = w->names.host;
    e->user = w->names.user;
    e->url = w->names.url;
    e->server_fqdn = w->names.server_fqdn;
    e->server_short = w->names.server_short;
    e->cert_cn = w->names.cert_cn;
}

char *walk_fill(const struct walk *w, const char *s)
{
    return diag_fill(s ? s : "", &w->e);
}

static void ref_of(const struct walk *w, int step, char *buf, size_t cap)
{
    if (step >= 0)
        snprintf(buf, cap, "%s/%s", w->pb->id, w->pb->steps[step].id);
    else
        snprintf(buf, cap, "%s", w->pb->id);
}

static void record(struct walk *w, int step, const char *outcome, const char *text)
{
    char ref[160];
    ref_of(w, step, ref, sizeof ref);
    if (w->t)
        transcript_walk(w->t, ref, outcome, text ? text : "");
}

static void record_filled(struct walk *w, const char *outcome, const char *s)
{
    char *f = walk_fill(w, s);
    record(w, w->cur, outcome, f ? f : "");
    free(f);
}

/* A step when it is shown: its text, then each command and note filled in,
 * one event each, so every export shows a command on a line of its own. */
static void show(struct walk *w)
{
    if (w->cur < 0)
        return;
    const struct pb_step *st = &w->pb->steps[w->cur];
    record_filled(w, "shown", st->text);
    for (size_t i = 0; i < st->n_commands; i++)
        record_filled(w, "command", st->commands[i]);
    for (size_t i = 0; i < st->n_notes; i++)
        record_filled(w, "note", st->notes[i]);
}

static void finish(struct walk *w, enum walk_status st, const char *why)
{
    w->cur = PB_END;
    w->status = st;
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", walk_status_name(st), why);
    record(w, -1, walk_status_name(st), msg);
}

static void go(struct walk *w, int next, bool was_retest)
{
    w->gen++;
    if (next == PB_END) {
        bool ok = was_retest && w->last_retest_passed;
        finish(w, ok ? WALK_RESOLVED : WALK_UNRESOLVED,
               ok ? "the re-test passed" : was_retest ? "the re-test failed"
                                                       : "the playbook ended without a passing re-test");
        return;
    }
    if (w->n_hist >= WALK_MAX_HISTORY) {
        finish(w, WALK_STOPPED, "too many steps taken");
        return;
    }
    w->cur = next;
    show(w);
}

static void remember(struct walk *w, const char *outcome, const char *text)
{
    if (w->n_hist >= WALK_MAX_HISTORY)
        return;
    struct walk_entry *h = &w->hist[w->n_hist++];
    h->step = w->cur;
    snprintf(h->outcome, sizeof h->outcome, "%s", outcome);
    h->text = sanitize_text(text ? text : "", text ? strlen(text) : 0, 1000);
    record(w, w->cur, outcome, h->text);
}

void walk_start(struct walk *w, const struct playbook *pb, const struct walk_names *names,
                struct transcript *t)
{
    memset(w, 0, sizeof *w);
    w->pb = pb;
    w->t = t;
    w->names = *names;
    point_evidence(w);
    w->status = WALK_RUNNING;
    char msg[600];
    char *title = walk_fill(w, pb->title);
    snprintf(msg, sizeof msg, "walkthrough %s started: %s", pb->id, title ? title : "");
    free(title);
    record(w, -1, "started", msg);
    w->cur = pb->n_steps ? 0 : PB_END;
    show(w);
}

void walk_free(struct walk *w)
{
    for (size_t i = 0; i < w->n_hist; i++)
        free(w->hist[i].text);
    w->n_hist = 0;
}

const struct pb_step *walk_current(const struct walk *w)
{
    return w->pb && w->cur >= 0 ? &w->pb->steps[w->cur] : NULL;
}

bool walk_over(const struct walk *w) { return !walk_current(w); }

bool walk_wants_check(const struct walk *w)
{
    const struct pb_step *st = walk_current(w);
    return st && (st->kind == PB_CHECK || st->kind == PB_RETEST);
}

void walk_expected(const struct walk *w, char *buf, size_t cap)
{
    const struct pb_step *st = walk_current(w);
    buf[0] = 0;
    if (!st || walk_wants_check(w))
        return;
    if (st->kind == PB_ACTION) {
        snprintf(buf, cap, "done, failed, skip");
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < st->n_answers && o + 1 < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", st->answers[i].word);
}

static char *answer_text(const char *word, const char *note)
{
    char buf[1200];
    snprintf(buf, sizeof buf, "%s%s%.1000s", word, note && *note ? ": " : "", note ? note : "");
    return strdup(buf);
}

int walk_answer(struct walk *w, const char *word, const char *note, char *err, size_t errlen)
{
    const struct pb_step *st = walk_current(w);
    char expected[300];
    walk_expected(w, expected, sizeof expected);
    if (!st || walk_wants_check(w)) {
        snprintf(err, errlen, st ? "this step is a check the program runs; wait for it"
                                 : "the walkthrough is over");
        return -1;
    }
    int next = -3;
    const char *outcome = "answer", *said = word;
    if (st->kind == PB_ACTION) {
        if (!strcasecmp(word, "done"))
            next = st->next[PBR_DONE], outcome = "done";
        else if (!strcasecmp(word, "failed") || !strcasecmp(word, "fail"))
            next = st->next[PBR_FAILED], outcome = "failed";
        else if (!strcasecmp(word, "skip") || !strcasecmp(word, "skipped"))
            next = st->next[PBR_SKIPPED], outcome = "skipped";
    } else {
        for (size_t i = 0; i < st->n_answers; i++)
            if (!strcasecmp(word, st->answers[i].word)) {
                next = st->answers[i].next;
                said = st->answers[i].word;
            }
    }
    if (next == -3) {
        char *clean = sanitize_text(word, strlen(word), 40);
        snprintf(err, errlen, "'%s' is not an answer here: %s", clean ? clean : "", expected);
        free(clean);
        return -1;
    }
    char *text = answer_text(st->kind == PB_ACTION ? outcome : said, note);
    remember(w, outcome, text ? text : "");
    free(text);
    go(w, next, false);
    return 0;
}

void walk_check_result(struct walk *w, bool passed, const char *detail)
{
    const struct pb_step *st = walk_current(w);
    if (!st || !walk_wants_check(w))
        return;
    bool retest = st->kind == PB_RETEST;
    if (retest)
        w->last_retest_passed = passed;
    remember(w, passed ? "passed" : "failed", detail);
    go(w, st->next[passed ? PBR_PASS : PBR_FAIL], retest);
}

void walk_stop(struct walk *w, const char *why)
{
    if (walk_over(w))
        return;
    w->gen++;
    finish(w, WALK_STOPPED, why && *why ? why : "the operator left the walkthrough");
}

const struct playbook *walk_pick(const struct playbook_set *set, const char *id,
                                 const struct diag_result *r, const struct diag_evidence *e,
                                 const char **rule, char *err, size_t errlen)
{
    bool pop3 = e->pop3;
    *rule = NULL;
    if (id && *id && strcmp(id, "auto") != 0) {
        const struct playbook *pb = playbook_find(set, id);
        if (!pb) {
            char *clean = sanitize_text(id, strlen(id), 64);
            snprintf(err, errlen, "no playbook '%s' (mailscope walkthrough --list)", clean ? clean : "");
            free(clean);
        } else if (!(pb->protocols & (pop3 ? 2u : 1u))) {
            snprintf(err, errlen, "playbook %s is not for %s", pb->id, pop3 ? "POP3" : "IMAP");
            pb = NULL;
        }
        return pb;
    }
    for (size_t i = 0; r && i < r->n; i++) {
        const struct playbook *pb = playbook_for_rule(set, r->h[i].rule->id, pop3, e->family);
        if (pb) {
            *rule = r->h[i].rule->id;
            return pb;
        }
    }
    if (!r || (!r->n && !r->no_rule))
        snprintf(err, errlen, "nothing failed, so no playbook is chosen: name one "
                 "(mailscope walkthrough --list)");
    else if (r->no_rule)
        snprintf(err, errlen, "%s, so no playbook is chosen: name one "
                 "(mailscope walkthrough --list)", DIAG_NO_RULE);
    else
        snprintf(err, errlen, "no playbook follows %s (or the other hypotheses): name one "
                 "(mailscope walkthrough --list)", r->h[0].rule->id);
    return NULL;
}
