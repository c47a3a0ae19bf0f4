/* walkui.c — the guided walkthrough in the console: /walkthrough starts the
 * playbook for the diagnosis (or the one named), its automatic checks run
 * from the console's loop (walkcheck.h) without blocking the keyboard, the
 * operator answers with /done /failed /skip /answer or the keys d f s y n
 * in the Walkthrough tab. `mailscope walkthrough ID URL` opens the console,
 * runs the plan to its end and starts ID. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "console_int.h"
#include "evidence.h"
#include "secret.h"

static bool load_playbooks(struct console *c)
{
    struct walk_ui *k = &c->wk;
    if (k->loaded)
        return true;
    playbook_set_init(&k->set);
    char warn[1024];
    if (playbook_load_default(&k->set, warn, sizeof warn) < 0) {
        console_message(c, "playbooks: %s", warn);
        playbook_set_free(&k->set);
        return false;
    }
    if (warn[0])
        console_message(c, "a playbook file was refused (mailscope walkthrough --check)");
    k->loaded = true;
    return true;
}

/* As the Diagnosis tab sees it: with a loaded protocol log (/log, --server-log). */
static struct report_target target_of(struct console *c, char *url, size_t n)
{
    struct report_target tg = options_report_target(&c->o, url, n);
    if (c->ip.have_log) {
        tg.log_lines = (const char *const *)c->ip.log.lines;
        tg.n_log_lines = c->ip.log.n;
        tg.log_server = c->ip.log.server;
    }
    return tg;
}

static void stop_check(struct walk_ui *k)
{
    if (k->checking)
        walkcheck_free(&k->check);
    k->checking = false;
}

static void end_walk(struct console *c, const char *why)
{
    struct walk_ui *k = &c->wk;
    if (!k->active)
        return;
    stop_check(k);
    walk_stop(&k->w, why);
    walk_free(&k->w);
    k->active = false;
}

void walkui_start(struct console *c, const char *id)
{
    struct walk_ui *k = &c->wk;
    if (!c->have_session) {
        console_message(c, "connect first (/connect URL): a walkthrough follows a session");
        return;
    }
    if (!load_playbooks(c))
        return;
    char url[600];
    struct report_target tg = target_of(c, url, sizeof url);
    struct evidence_store st;
    evidence_collect_live(&st, &c->t, c->s, &tg);
    struct ruleset rs;
    struct diag_result r;
    ruleset_init(&rs);
    char warn[512], err[400];
    rules_load_default(&rs, warn, sizeof warn);
    diag_run(&rs, &st.e, &r);
    const char *rule = NULL;
    const struct playbook *pb = walk_pick(&k->set, id, &r, &st.e, &rule, err, sizeof err);
    char rule_id[80] = "";
    snprintf(rule_id, sizeof rule_id, "%s", rule ? rule : "");   /* rs is freed below */
    struct walk_names names;
    walk_names_from(&names, &st.e);
    names.backend_port = k->backend_port;
    diag_result_free(&r);
    ruleset_free(&rs);
    c->ip.tab = TAB_WALKTHROUGH;
    if (!pb) {
        console_message(c, "%s", err);
        return;
    }
    if (k->active && !walk_over(&k->w))
        end_walk(c, "another walkthrough was started");
    else if (k->active)
        walk_free(&k->w);
    walk_start(&k->w, pb, &names, &c->t);
    k->active = true;
    if (rule_id[0])
        console_message(c, "walkthrough %s (it follows %s): answer in the Walkthrough tab",
                        pb->id, rule_id);
    else
        console_message(c, "walkthrough %s: answer in the Walkthrough tab", pb->id);
}

bool walkui_waiting(const struct console *c)
{
    return c->wk.active && !walk_over(&c->wk.w) && !walk_wants_check(&c->wk.w);
}

void walkui_answer(struct console *c, const char *word, const char *note)
{
    struct walk_ui *k = &c->wk;
    char err[400];
    if (!k->active || walk_over(&k->w)) {
        console_message(c, "no walkthrough under way: /walkthrough [ID]");
        return;
    }
    if (!*word) {
        char exp[300];
        walk_expected(&k->w, exp, sizeof exp);
        console_message(c, "answer with one of: %s", exp);
        return;
    }
    if (walk_answer(&k->w, word, note, err, sizeof err) < 0)
        console_message(c, "%s", err);
    else
        c->message[0] = 0;
}

/* "/answer yes it works" -> word "yes", note "it works". */
void walkui_command(struct console *c, enum cmd_id id, const char *args)
{
    char word[64] = "";
    const char *note = args;
    switch (id) {
    case CMD_WALKTHROUGH:
        if (!strcmp(args, "stop")) {
            if (c->wk.active && !walk_over(&c->wk.w)) {
                stop_check(&c->wk);    /* the walk stays shown with its outcome */
                walk_stop(&c->wk.w, "the operator stopped the walkthrough");
            }
            c->ip.tab = TAB_WALKTHROUGH;
        } else if (*args || !c->wk.active) {
            walkui_start(c, args);
        } else {
            c->ip.tab = TAB_WALKTHROUGH;
            c->focus = FOCUS_INSPECTOR;
        }
        return;
    case CMD_DONE: walkui_answer(c, "done", args); return;
    case CMD_FAILED: walkui_answer(c, "failed", args); return;
    case CMD_SKIP: walkui_answer(c, "skip", args); return;
    case CMD_ANSWER: {
        size_t n = strcspn(args, " \t");
        snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word ? n : sizeof word - 1), args);
        note = args + n;
        while (*note == ' ' || *note == '\t')
            note++;
        walkui_answer(c, word, note);
        return;
    }
    default: return;
    }
}

bool walkui_key(struct console *c, int key)
{
    if (c->ip.tab != TAB_WALKTHROUGH || !walkui_waiting(c))
        return false;
    const struct pb_step *st = walk_current(&c->wk.w);
    const char *word = NULL;
    if (st->kind == PB_ACTION)
        word = key == 'd' ? "done" : key == 'f' ? "failed" : key == 's' ? "skip" : NULL;
    else if (key == 'y' || key == 'n')
        word = key == 'y' ? "yes" : "no";
    if (!word)
        return false;
    walkui_answer(c, word, "");
    return true;
}

static void start_check(struct console *c)
{
    struct walk_ui *k = &c->wk;
    const struct pb_step *st = walk_current(&k->w);
    struct walkcheck_target tg = {
        .o = &c->o, .secret = c->secret, .backend_port = k->backend_port,
        .server_fqdn = k->w.names.server_fqdn,
        .fallback_tls = c->have_session && c->t.has_tls ? &c->t.tls : NULL,
        .auth_set = k->retest_auth_set, .auth = k->retest_auth };
    if (k->retest_secret)
        tg.secret = k->retest_secret;
    walkcheck_start(&k->check, c->loop, st->kind == PB_RETEST ? PBC_LOGIN : st->check, &tg);
    k->checking = true;
    k->check_gen = k->w.gen;
}

/* A step failed and a playbook follows the diagnosis: say so once, so an
 * operator who does not know the fix finds the way to it. */
static void offer(struct console *c)
{
    struct walk_ui *k = &c->wk;
    if (k->active || k->pending_id[0] || !c->have_session || session_busy(c->s) ||
        c->prompt != PROMPT_NONE || c->t.n == k->hinted)
        return;
    if (k->hinted > c->t.n)
        k->hinted = 0;      /* a new session */
    bool failed = false;
    for (size_t i = k->hinted; i < c->t.n; i++)
        failed |= c->t.ev[i].kind == TR_OP_END && !c->t.ev[i].ok && c->t.ev[i].fail;
    k->hinted = c->t.n;
    if (!failed || !load_playbooks(c))
        return;
    char url[600];
    struct report_target tg = target_of(c, url, sizeof url);
    struct evidence_store st;
    evidence_collect_live(&st, &c->t, c->s, &tg);
    struct ruleset rs;
    struct diag_result r;
    char warn[512], err[400];
    const char *rule = NULL;
    ruleset_init(&rs);
    rules_load_default(&rs, warn, sizeof warn);
    diag_run(&rs, &st.e, &r);
    const struct playbook *pb = walk_pick(&k->set, NULL, &r, &st.e, &rule, err, sizeof err);
    if (pb && rule)
        console_message(c, "the %s step failed: /walkthrough guides the fix (%s, playbook %s)",
                        st.e.step[0] ? st.e.step : "last", rule, pb->id);
    diag_result_free(&r);
    ruleset_free(&rs);
}

void walkui_tick(struct console *c)
{
    struct walk_ui *k = &c->wk;
    offer(c);
    if (k->pending_id[0] && c->have_session) {
        /* mailscope walkthrough ID URL: the plan runs to its end first */
        if (c->prompt == PROMPT_NONE && !session_busy(c->s) && !plan_done(&c->plan))
            console_step(c);
        else if (plan_done(&c->plan) && !session_busy(c->s)) {
            char id[sizeof k->pending_id];
            snprintf(id, sizeof id, "%s", k->pending_id);
            k->pending_id[0] = 0;
            walkui_start(c, id);
        }
    }
    if (!k->active || walk_over(&k->w))
        return;
    if (!walk_wants_check(&k->w))
        return;
    if (!k->checking) {
        start_check(c);
        return;
    }
    if (!walkcheck_advance(&k->check))
        return;
    walk_check_result(&k->w, k->check.passed, k->check.detail);
    stop_check(k);
}

/* The session under the walk is going away: the walk keeps its own copy of
 * the names, but its transcript is the session's. */
void walkui_session_ends(struct console *c, const char *why)
{
    end_walk(c, why);
}

void walkui_free(struct console *c)
{
    struct walk_ui *k = &c->wk;
    stop_check(k);
    if (k->active)
        walk_free(&k->w);
    k->active = false;
    if (k->loaded)
        playbook_set_free(&k->set);
    k->loaded = false;
    secret_free(k->retest_secret);
    k->retest_secret = NULL;
}
