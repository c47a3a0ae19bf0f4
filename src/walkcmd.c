#include "walkcmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "evidence.h"
#include "logscan.h"
#include "options.h"
#include "playbook.h"
#include "record.h"
#include "report.h"
#include "sanitize.h"
#include "secret.h"
#include "walk.h"
#include "walkcheck.h"

void walkcmd_usage(FILE *out)
{
    fputs("       mailscope walkthrough --list            the guided walkthroughs (playbooks)\n"
          "       mailscope walkthrough --check FILE...   check playbook files (man mailscope:\n"
          "                                               WALKTHROUGHS)\n"
          "       mailscope walkthrough ID|auto URL [OPTIONS] [--batch] [--backend-port N]\n"
          "                                    [--retest-auth MECH] [--retest-password-env VAR]\n"
          "                                    run the session up to its failure, then playbook\n"
          "                                    ID (auto: the one for the top diagnosis), in the\n"
          "                                    console; --batch (or stdin not a terminal): step\n"
          "                                    by step on stdout, answers from stdin (done [NOTE],\n"
          "                                    failed [NOTE], skip, yes, no, an answer word, note\n"
          "                                    TEXT, quit); --record FILE keeps the steps too;\n"
          "                                    the re-test logs in with --retest-auth and\n"
          "                                    --retest-password-env when given (after a switch\n"
          "                                    to OAuth or an app password).\n"
          "                                    Exit 0 when the final re-test passed, 1 when it did\n"
          "                                    not, 2 stopped, 3 usage\n", out);
}

static void put(FILE *out, const char *prefix, const char *s)
{
    char *clean = sanitize_text(s ? s : "", s ? strlen(s) : 0, 4000);
    fprintf(out, "%s%s\n", prefix, clean ? clean : "");
    free(clean);
}

/* ---- --list and --check --------------------------------------------------- */

static int list(FILE *out, FILE *err)
{
    struct playbook_set s;
    char warn[2048];
    playbook_set_init(&s);
    int rc = playbook_load_default(&s, warn, sizeof warn);
    if (warn[0])
        put(err, "mailscope: ", warn);
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        const struct playbook *pb = s.p[i];
        char follows[400] = "";
        for (size_t k = 0, o = 0; k < pb->n_follows && o + 2 < sizeof follows; k++)
            o += (size_t)snprintf(follows + o, sizeof follows - o, "%s%s", k ? "," : "",
                                  pb->follows[k]);
        fprintf(out, "%-26s %-5s%-5s %-9s %-34s ", pb->id, pb->protocols & 1 ? "imap" : "",
                pb->protocols & 2 ? "pop3" : "", pb->families ? pb->families : "any",
                follows[0] ? follows : "-");
        put(out, "", pb->title);
    }
    if (rc == 0)
        fprintf(out, "%zu playbooks\n", s.n);
    playbook_set_free(&s);
    return rc ? 3 : warn[0] ? 3 : 0;
}

static int check(FILE *out, FILE *err, char **files, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        struct playbook_set s;
        char msg[600];
        playbook_set_init(&s);
        if (playbook_load_builtin(&s, msg, sizeof msg) == 0) {
            size_t before = s.n;
            if (playbook_load_file(&s, files[i], msg, sizeof msg) == 0)
                fprintf(out, "%s: %zu playbooks, OK\n", files[i], s.n - before);
        }
        if (msg[0]) {
            put(err, "mailscope: ", msg);
            rc = 3;
        }
        playbook_set_free(&s);
    }
    return rc;
}

/* ---- the walkthrough's own options ------------------------------------------ */

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value (NULL: missing),
 * or "" when argv[*i] is another option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0 || (argv[*i][n] != 0 && argv[*i][n] != '='))
        return "";
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

int walkcmd_own_options(int argc, char **argv, struct walkcmd_opts *wo, char *err, size_t errlen)
{
    int o = 1;
    memset(wo, 0, sizeof *wo);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--batch")) {
            wo->batch = true;
        } else if (*(v = opt_value(argc, argv, &i, "--backend-port")) || !v) {
            char *end;
            long p = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || p < 1 || p > 65535) {
                snprintf(err, errlen, "--backend-port takes a port number (1-65535)");
                return -1;
            }
            wo->backend_port = (unsigned)p;
        } else if (*(v = opt_value(argc, argv, &i, "--retest-auth")) || !v) {
            if (!v || session_auth_parse(v, &wo->retest_auth) < 0) {
                snprintf(err, errlen, "--retest-auth takes a mechanism as --auth does");
                return -1;
            }
            wo->retest_auth_set = true;
        } else if (*(v = opt_value(argc, argv, &i, "--retest-password-env")) || !v) {
            if (!v) {
                snprintf(err, errlen, "--retest-password-env needs a variable name");
                return -1;
            }
            wo->retest_password_env = v;
        } else {
            argv[o++] = argv[i];
        }
    }
    argv[o] = NULL;
    return o;
}

/* ---- the batch face ------------------------------------------------------ */

struct batch {
    struct ms_options o;
    char *secret;
    struct loop *l;
    struct transcript t;
    struct plan plan;
    struct session *s;
    struct report_target tg;
    struct report_verdict v;
    FILE *out, *err;
    char *retest_secret;        /* --retest-password-env */
    char url[600];              /* the report's URL (tg.url) */
    struct logscan_evidence log;    /* --server-log */
    bool have_log;
};

static void on_event(void *arg, const struct session_event *ev)
{
    struct batch *b = arg;
    transcript_append(&b->t, ev);
    plan_on_event(&b->plan, ev);
}

static int run_session(struct batch *b)
{
    transcript_init(&b->t, b->o.url.proto);
    struct session_params sp = options_session_params(&b->o);
    b->s = session_new(b->l, &sp, on_event, b);
    if (!b->s)
        return -1;
    struct plan_options po = { .tls = b->o.tls, .until = b->o.until, .auth = b->o.auth,
                               .no_discover = b->o.no_discover, .no_id = b->o.no_id,
                               .user = b->o.user,
                               .secret = b->secret };
    plan_init(&b->plan, b->s, &b->t, b->o.url.proto, &po);
    for (;;) {
        if (!session_busy(b->s) && !plan_done(&b->plan))
            plan_advance(&b->plan);
        if (!session_busy(b->s) && plan_done(&b->plan))
            break;
        if (loop_run_once(b->l, 1000) < 0 && errno != EINTR)
            break;
    }
    b->tg = options_report_target(&b->o, b->url, sizeof b->url);
    if (b->have_log) {
        b->tg.log_lines = (const char *const *)b->log.lines;
        b->tg.n_log_lines = b->log.n;
        b->tg.log_server = b->log.server;
    }
    report_evaluate(&b->plan, &b->t, b->s, &b->tg, &b->v);
    return 0;
}

/* The login check and the re-test: the session's credentials, or those of
 * --retest-auth / --retest-password-env. */
static void retest_credentials(struct walkcheck_target *tg, const struct walkcmd_opts *wo,
                               const char *retest_secret)
{
    tg->auth_set = wo->retest_auth_set;
    tg->auth = wo->retest_auth;
    if (retest_secret)
        tg->secret = retest_secret;
}

static void print_step(FILE *out, const struct walk *w, size_t n)
{
    const struct pb_step *st = walk_current(w);
    fprintf(out, "\n[%zu] %s/%s  %s%s%s\n", n, w->pb->id, st->id, pb_kind_name(st->kind),
            st->check ? " " : "", st->check ? pb_check_name(st->check) : "");
    char *t = walk_fill(w, st->text);
    put(out, "    ", t);
    free(t);
    for (size_t i = 0; i < st->n_commands; i++) {
        char *c = walk_fill(w, st->commands[i]);
        put(out, "      ", c);
        free(c);
    }
    for (size_t i = 0; i < st->n_notes; i++) {
        char *x = walk_fill(w, st->notes[i]);
        put(out, "    note: ", x);
        free(x);
    }
}

/* One line from the operator: 1 answered (or a note), 0 end of input. */
static int operator_line(struct batch *b, struct walk *w)
{
    char expected[300], line[2048];
    walk_expected(w, expected, sizeof expected);
    fprintf(b->out, "    answer (%s) [note]: ", expected);
    fflush(b->out);
    if (!fgets(line, sizeof line, stdin)) {
        fputc('\n', b->out);
        return 0;
    }
    line[strcspn(line, "\r\n")] = 0;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    char *word = p;
    p += strcspn(p, " \t");
    if (*p)
        *p++ = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    fputc('\n', b->out);
    if (!*word)
        return 1;
    if (!strcasecmp(word, "quit") || !strcasecmp(word, "stop")) {
        walk_stop(w, *p ? p : "the operator stopped the walkthrough");
        return 1;
    }
    if (!strcasecmp(word, "note")) {
        if (*p)
            transcript_note(&b->t, TR_NOTE, OP_NONE, p);
        return 1;
    }
    char err[400];
    if (walk_answer(w, word, p, err, sizeof err) < 0)
        put(b->out, "    ", err);
    return 1;
}

static int walk_batch(struct batch *b, const struct playbook *pb, const struct walk_names *names,
                      const struct walkcmd_opts *wo)
{
    struct walk w;
    walk_start(&w, pb, names, &b->t);
    fprintf(b->out, "\nWalkthrough %s: ", pb->id);
    char *title = walk_fill(&w, pb->title);
    put(b->out, "", title);
    free(title);
    if (pb->intro) {
        char *x = walk_fill(&w, pb->intro);
        put(b->out, "  ", x);
        free(x);
    }
    size_t shown = 0;
    int last = -2;
    unsigned gen = ~0u;
    while (!walk_over(&w)) {
        if (w.cur != last || w.gen != gen) {
            print_step(b->out, &w, ++shown);
            last = w.cur;
            gen = w.gen;
        }
        if (walk_wants_check(&w)) {
            const struct pb_step *st = walk_current(&w);
            struct walkcheck c;
            struct walkcheck_target tg = {
                .o = &b->o, .secret = b->secret, .backend_port = wo->backend_port,
                .server_fqdn = names->server_fqdn,
                .fallback_tls = b->t.has_tls ? &b->t.tls : NULL };
            retest_credentials(&tg, wo, b->retest_secret);
            fflush(b->out);
            walkcheck_start(&c, b->l, st->kind == PB_RETEST ? PBC_LOGIN : st->check, &tg);
            walkcheck_wait(b->l, &c);
            fprintf(b->out, "    -> %s: %s\n", c.passed ? "passed" : "FAILED", c.detail);
            walk_check_result(&w, c.passed, c.detail);
            walkcheck_free(&c);
        } else if (!operator_line(b, &w)) {
            walk_stop(&w, "end of input");
        }
    }
    fprintf(b->out, "\nWalkthrough %s: %s", pb->id, walk_status_name(w.status));
    fprintf(b->out, "%s\n", w.status == WALK_RESOLVED ? " (the re-test passed)"
                            : w.status == WALK_UNRESOLVED ? " (no passing re-test)" : "");
    int rc = w.status == WALK_RESOLVED ? 0 : w.status == WALK_UNRESOLVED ? 1 : 2;
    walk_free(&w);
    return rc;
}

static void record(struct batch *b)
{
    char err[600];
    json_t *j = report_json(&b->plan, &b->t, b->s, &b->tg, &b->v);
    if (record_write(b->o.record, j, &b->plan, &b->t, b->s, &b->tg, &b->v, err, sizeof err) < 0)
        put(b->err, "mailscope walkthrough: --record: ", err);
    json_decref(j);
}

static int batch_main(struct batch *b, const char *id, const struct walkcmd_opts *wo)
{
    struct playbook_set set;
    char warn[2048], err[600];
    playbook_set_init(&set);
    if (playbook_load_default(&set, warn, sizeof warn) < 0) {
        put(b->err, "mailscope walkthrough: ", warn);
        playbook_set_free(&set);
        return 3;
    }
    if (warn[0])
        put(b->err, "mailscope walkthrough: ", warn);
    struct diag_evidence proto_only;
    diag_evidence_init(&proto_only);
    proto_only.pop3 = b->o.url.proto == SESSION_POP3;
    const char *rule = NULL;
    const struct playbook *pb = NULL;
    if (strcmp(id, "auto") &&
        !(pb = walk_pick(&set, id, NULL, &proto_only, &rule, err, sizeof err))) {
        put(b->err, "mailscope walkthrough: ", err);
        playbook_set_free(&set);
        return 3;
    }
    b->l = loop_new();
    int rc = 3;
    if (!b->l || run_session(b) < 0) {
        fputs("mailscope walkthrough: out of memory\n", b->err);
        goto out;
    }
    put(b->out, "mailscope walkthrough on ", b->o.url_text);
    put(b->out, b->v.success ? "The session: OK: " : "The session: FAILED: ", b->v.summary);
    struct ruleset rs;
    struct evidence_store st;
    struct diag_result r;
    char rwarn[1024];
    evidence_diagnose(&b->t, b->s, &b->tg, &b->v, &rs, &st, &r, rwarn, sizeof rwarn);
    diag_text(b->out, &r, &st.e);
    struct walk_names names;
    walk_names_from(&names, &st.e);
    names.backend_port = wo->backend_port;
    if (!pb)
        pb = walk_pick(&set, NULL, &r, &st.e, &rule, err, sizeof err);
    if (pb && rule)
        fprintf(b->out, "Playbook %s follows %s.\n", pb->id, rule);
    diag_result_free(&r);
    ruleset_free(&rs);
    if (!pb) {
        put(b->err, "mailscope walkthrough: ", err);
        goto out;
    }
    rc = walk_batch(b, pb, &names, wo);
    if (b->o.record)
        record(b);
out:
    if (b->s)
        session_free(b->s);
    transcript_free(&b->t);
    loop_free(b->l);
    playbook_set_free(&set);
    return rc;
}

static int usage_error(FILE *err, const char *msg)
{
    put(err, "mailscope walkthrough: ", msg);
    fputs("usage: mailscope walkthrough --list | --check FILE... | ID|auto URL [OPTIONS] "
          "[--batch] [--backend-port N] [--retest-auth MECH] [--retest-password-env VAR]\n", err);
    return 3;
}

int walkcmd_main(int argc, char **argv, walkcmd_console_fn console, FILE *out, FILE *err)
{
    if (argc == 2 && !strcmp(argv[1], "--list"))
        return list(out, err);
    if (argc >= 2 && !strcmp(argv[1], "--check"))
        return argc >= 3 ? check(out, err, argv + 2, argc - 2)
                         : usage_error(err, "--check needs a file");
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs("usage:\n", out);
        walkcmd_usage(out);
        fputs("\nOPTIONS are probe's (mailscope probe --help).\n", out);
        return 0;
    }
    if (argc < 3 || argv[1][0] == '-')
        return usage_error(err, "give a playbook ID (or auto) and a URL");
    const char *id = argv[1];
    struct walkcmd_opts wo;
    char msg[600];
    /* argv[1] (the id) gives way to the command name, for the options parser */
    argv[1] = argv[0];
    argc = walkcmd_own_options(argc - 1, argv + 1, &wo, msg, sizeof msg);
    argv++;
    if (argc < 0)
        return usage_error(err, msg);
    if (!wo.batch && console && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return console(argc, argv, id, &wo);
    static struct batch b;
    memset(&b, 0, sizeof b);
    b.out = out;
    b.err = err;
    int rc = options_parse(argc, argv, 1, &b.o, msg, sizeof msg);
    if (rc > 0) {
        walkcmd_usage(out);
        return 0;
    }
    if (rc == 0 && (b.o.compare || b.o.tls_versions || b.o.save_chain || b.o.output != OUT_TEXT)) {
        snprintf(msg, sizeof msg, "--compare, --tls-versions, --save-chain, --json and --output "
                 "are probe options; a walkthrough writes steps (--record FILE.json keeps them)");
        rc = -1;
    }
    if (rc < 0)
        return usage_error(err, msg);
    if (b.o.password_env || b.o.password_file) {
        b.secret = b.o.password_env ? secret_from_env(b.o.password_env, msg, sizeof msg)
                                    : secret_from_file(b.o.password_file, msg, sizeof msg);
        if (!b.secret)
            return usage_error(err, msg);
    }
    if (wo.retest_password_env &&
        !(b.retest_secret = secret_from_env(wo.retest_password_env, msg, sizeof msg))) {
        secret_free(b.secret);
        return usage_error(err, msg);
    }
    /* the log is read before connecting, as probe does: a typo fails at once */
    if (b.o.server_log) {
        if (logscan_evidence_load(&b.log, b.o.server_log, b.o.user,
                                  b.o.url.proto == SESSION_POP3, msg, sizeof msg) < 0) {
            secret_free(b.secret);
            secret_free(b.retest_secret);
            char m2[700];
            snprintf(m2, sizeof m2, "--server-log: %s", msg);
            return usage_error(err, m2);
        }
        b.have_log = true;
    }
    rc = batch_main(&b, id, &wo);
    if (b.have_log)
        logscan_evidence_free(&b.log);
    secret_free(b.secret);
    secret_free(b.retest_secret);
    return rc;
}
