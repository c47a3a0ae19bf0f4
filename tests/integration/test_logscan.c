/* mailscope logscan as a user runs it, on Exchange protocol logs that the
 * test generates (tests/tools/gen_exlog.c) in Exchange's format: the groups
 * and their counts, first/last seen and rules match what the generator
 * wrote; malformed lines are reported with their numbers; hostile bytes in
 * user names come out escaped; the exit statuses; the JSON schema; and a
 * log loaded into a live diagnosis (probe --server-log) making the
 * founding case certain. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sanitize.h"

static char dir[] = "/tmp/test_logscan_XXXXXX";

TestSuite(logscan, .timeout = 120 * MS_SLOW_FACTOR);

static void setup(void)
{
    strcpy(dir, "/tmp/test_logscan_XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Run argv (argv[0] a path) with stdout and stderr captured. */
static void run(struct run_result *r, const char *const *argv)
{
    memset(r, 0, sizeof *r);
    char out[400], err[400];
    snprintf(out, sizeof out, "%s/.out", dir);
    snprintf(err, sizeof err, "%s/.err", dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(e, 2);
        alarm(120 * MS_SLOW_FACTOR);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->out = slurp(out, &r->out_len);
    r->err = slurp(err, &r->err_len);
    cr_assert(r->out && r->err);
}

static void logscan(struct run_result *r, const char *const *args)
{
    const char *argv[32] = { env("MS_BIN"), "logscan" };
    size_t n = 2;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    run(r, argv);
}

static void gen(const char *path, const char *const *opts)
{
    const char *argv[32] = { env("MS_GEN_EXLOG") };
    size_t n = 1;
    for (size_t i = 0; opts[i] && n < 30; i++)
        argv[n++] = opts[i];
    argv[n++] = path;
    argv[n] = NULL;
    struct run_result r;
    run(&r, argv);
    cr_assert_eq(r.exit_code, 0, "gen_exlog: %s", r.err);
    run_result_free(&r);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

/* What the generator says it wrote, merged by logscan's key. */
struct want {
    unsigned long long count;
    char error[160], user[200], client[64], first[40], last[40], rule[32];
};

static size_t read_expect(const char *path, struct want *w, size_t max, size_t n,
                          unsigned long long *failures, unsigned long long *malformed)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        unsigned long long v;
        if (sscanf(line, "failures %llu", &v) == 1)
            *failures += v;
        else if (sscanf(line, "malformed %llu", &v) == 1)
            *malformed += v;
        if (strncmp(line, "group ", 6))
            continue;
        line[strcspn(line, "\n")] = 0;
        struct want x = { 0 };
        char *save, *tok[7];
        int k = 0;
        for (char *t = strtok_r(line + 6, "\t", &save); t && k < 7; t = strtok_r(NULL, "\t", &save))
            tok[k++] = t;
        cr_assert_eq(k, 7);
        x.count = strtoull(tok[0], NULL, 10);
        /* the user as logscan shows it: sanitised */
        char *u = sanitize_text(tok[2], strlen(tok[2]), 0);
        snprintf(x.error, sizeof x.error, "%s", tok[1]);
        snprintf(x.user, sizeof x.user, "%s", u);
        free(u);
        snprintf(x.client, sizeof x.client, "%s", tok[3]);
        snprintf(x.first, sizeof x.first, "%s", tok[4]);
        snprintf(x.last, sizeof x.last, "%s", tok[5]);
        snprintf(x.rule, sizeof x.rule, "%s", tok[6]);
        size_t i = 0;
        while (i < n && !(!strcmp(w[i].error, x.error) && !strcmp(w[i].user, x.user) &&
                          !strcmp(w[i].client, x.client)))
            i++;
        if (i == n) {
            cr_assert_lt(n, max);
            w[n++] = x;
            continue;
        }
        w[i].count += x.count;
        if (strcmp(x.first, w[i].first) < 0)
            strcpy(w[i].first, x.first);
        if (strcmp(x.last, w[i].last) > 0)
            strcpy(w[i].last, x.last);
    }
    fclose(f);
    return n;
}

static json_t *group_of(json_t *report, const struct want *w)
{
    json_t *g;
    size_t i;
    json_array_foreach(json_object_get(report, "groups"), i, g)
        if (!strcmp(str(g, "error"), w->error) && !strcmp(str(g, "user"), w->user) &&
            !strcmp(str(g, "client"), w->client))
            return g;
    return NULL;
}

/* Exchange's folders: Logging/Imap4 and Logging/Pop3, several days each. */
static void make_tree(char *root, size_t rootlen, char (*expect)[400], size_t *n_expect)
{
    snprintf(root, rootlen, "%s/Logging", dir);
    char p[600], e[600];
    mkdir(root, 0700);
    snprintf(p, sizeof p, "%s/Imap4", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/Pop3", root);
    mkdir(p, 0700);
    static const struct { const char *name, *seed; bool pop3; } files[] = {
        { "Imap4/IMAP4_20261126-1.LOG", "1", false }, { "Imap4/IMAP4_20261127-1.LOG", "2", false },
        { "Imap4/IMAP4BE_20261127-1.LOG", "3", false }, { "Pop3/POP3_20261127-1.LOG", "4", true } };
    *n_expect = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i].name);
        snprintf(e, sizeof e, "%s/expect%zu", dir, i);
        gen(p, files[i].pop3 ? (const char *[]){ "--pop3", "--seed", files[i].seed, "--sessions",
                                                  "1500", "--expect", e, NULL }
                             : (const char *[]){ "--seed", files[i].seed, "--sessions", "1500",
                                                  "--expect", e, NULL });
        snprintf(expect[(*n_expect)++], 400, "%.399s", e);
    }
    /* Not a log: skipped in a directory walk. */
    snprintf(p, sizeof p, "%s/Imap4/readme.txt", root);
    FILE *f = fopen(p, "w");
    fputs("ErrMsg=ProxyNotAuthenticated\n", f);
    fclose(f);
}

Test(logscan, groups_counts_and_rules_match_the_generated_logs, .init = setup, .fini = teardown)
{
    char root[400], expect[4][400];
    size_t ne;
    make_tree(root, sizeof root, expect, &ne);
    static struct want w[2000];
    size_t n = 0;
    unsigned long long failures = 0, malformed = 0;
    for (size_t i = 0; i < ne; i++)
        n = read_expect(expect[i], w, 2000, n, &failures, &malformed);
    cr_assert_gt(n, 20, "the generator wrote a varied log");
    struct run_result r;
    logscan(&r, (const char *[]){ "--json", root, NULL });
    cr_assert_eq(r.exit_code, 1, "failures found: exit 1 (%s)", r.err);
    json_t *j = run_json(&r);
    cr_expect_str_eq(str(j, "schema"), "mailscope.logscan/1");
    cr_expect_eq(json_integer_value(json_object_get(j, "exit_code")), 1);
    cr_expect_eq(json_array_size(json_object_get(j, "files")), 4, "readme.txt is no log");
    cr_expect_eq((unsigned long long)json_integer_value(json_object_get(j, "failures")), failures);
    cr_expect_eq((unsigned long long)json_integer_value(json_object_get(j, "malformed")), malformed);
    cr_expect_eq(json_array_size(json_object_get(j, "groups")), n, "one group per key");
    json_t *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *g = group_of(j, &w[i]);
        cr_assert(g, "group %s / %s / %s missing", w[i].error, w[i].user, w[i].client);
        cr_expect_eq((unsigned long long)json_integer_value(json_object_get(g, "count")),
                     w[i].count, "%s %s %s", w[i].error, w[i].user, w[i].client);
        cr_expect_str_eq(str(g, "first_seen"), w[i].first, "%s", w[i].error);
        cr_expect_str_eq(str(g, "last_seen"), w[i].last, "%s", w[i].error);
        json_t *rule = json_object_get(g, "rule");
        cr_assert(json_is_object(rule), "%s has no rule", w[i].error);
        cr_expect_str_eq(str(rule, "id"), w[i].rule, "%s", w[i].error);
        if (strstr(w[i].error, "Proxy") && w[i].user[0] != 'H')
            cr_expect(json_array_has(json_object_get(g, "proxies"), "ex02.contoso.local:1993:SSL") ||
                      json_array_has(json_object_get(g, "proxies"), "ex02.contoso.local:1995:SSL"));
    }
    /* sorted by count, largest first */
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(j, "groups"), i, g) {
        if (prev)
            cr_expect_geq(json_integer_value(json_object_get(prev, "count")),
                          json_integer_value(json_object_get(g, "count")));
        prev = g;
        json_t *s = json_object_get(g, "samples");
        cr_expect_geq(json_array_size(s), 1);
        cr_expect_gt(json_integer_value(json_object_get(json_array_get(s, 0), "line")), 5);
    }
    /* the founding case: certain, with the backend's name in the fix */
    struct want pna = { .error = "ProxyNotAuthenticated" };
    json_t *found = NULL;
    json_array_foreach(json_object_get(j, "groups"), i, g)
        if (!strcmp(str(g, "error"), pna.error)) {
            found = g;
            break;
        }
    cr_assert(found);
    json_t *rule = json_object_get(found, "rule");
    cr_expect_str_eq(str(rule, "confidence"), "certain");
    cr_expect_str_eq(str(rule, "basis"), "decisive-log");
    char *fix = json_dumps(json_object_get(rule, "fix"), 0);
    cr_expect(strstr(fix, "Set-ImapSettings -Server ex02 -X509CertificateName ex02.contoso.local") ||
              strstr(fix, "Set-PopSettings -Server ex02 -X509CertificateName ex02.contoso.local"),
              "%s", fix);
    free(fix);
    json_decref(j);
    run_result_free(&r);
}

Test(logscan, table_is_sanitised_bounded_and_reports_malformed_lines, .init = setup,
     .fini = teardown)
{
    char p[400];
    snprintf(p, sizeof p, "%s/IMAP4_20261127-1.LOG", dir);
    gen(p, (const char *[]){ "--sessions", "3000", "--fail-every", "3", NULL });
    struct run_result r;
    logscan(&r, (const char *[]){ p, NULL });
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_expect_not(contains(r.out, r.out_len, "\x1b"), "a raw ESC reached the terminal");
    cr_expect_not(contains(r.out, r.out_len, "\x07"), "a raw BEL reached the terminal");
    cr_expect(contains(r.out, r.out_len, "eve\\x1b]0;pwned\\x07"), "%s", r.out);
    cr_expect(contains(r.out, r.out_len, "ProxyNotAuthenticated"));
    cr_expect(contains(r.out, r.out_len, "R-EXCH-001"));
    cr_expect(contains(r.out, r.out_len, "certain: Backend proxy fails"));
    char want[500];
    snprintf(want, sizeof want, "%s:", p);
    cr_expect(contains(r.out, r.out_len, want), "malformed lines are named by file:line");
    cr_expect(contains(r.out, r.out_len, "malformed line skipped: unterminated quote"));
    /* every line within 100 columns (one column a character) */
    for (char *line = r.out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        size_t cols = 0;
        for (char *c = line; c < nl; c++)
            cols += ((unsigned char)*c & 0xC0) != 0x80;
        cr_expect_leq(cols, 100, "%.*s", (int)(nl - line), line);
    }
    run_result_free(&r);
}

/* A reply with terminal escapes: the table and the JSON show it escaped; and
 * every key the JSON schema documents is there. */
Test(logscan, hostile_reply_and_the_json_schema, .init = setup, .fini = teardown)
{
    char p[400];
    snprintf(p, sizeof p, "%s/IMAP4_20261128-1.LOG", dir);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fputs("#Log-type: IMAP4 Log\r\n#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,"
          "rqsize,rpsize,command,parameters,context\r\n"
          "2026-11-28T01:00:00.000Z,1,2,10.0.0.5:143,[::1]:5000,mallory,1,2,3,select,x,"
          "\"R=\"\"a3 NO \x1b]52;c;cHduZWQ=\x07\x1b[2J gone\"\"\"\r\n", f);
    fclose(f);
    struct run_result r;
    logscan(&r, (const char *[]){ p, NULL });
    cr_expect_eq(r.exit_code, 1);
    cr_expect_not(contains(r.out, r.out_len, "\x1b]52"), "a raw OSC 52 reached the terminal");
    cr_expect(contains(r.out, r.out_len, "NO \\x1b]52;c;cHduZWQ=\\x07"), "%s", r.out);
    cr_expect(contains(r.out, r.out_len, "::1"), "an IPv6 client without its port: %s", r.out);
    run_result_free(&r);

    logscan(&r, (const char *[]){ "--json", p, NULL });
    json_t *j = run_json(&r);
    static const char *const top[] = { "schema", "exit_code", "bytes", "lines", "records",
        "malformed", "failures", "dropped", "files", "groups", "rules_note" };
    for (size_t i = 0; i < sizeof top / sizeof *top; i++)
        cr_expect(json_object_get(j, top[i]), "no %s", top[i]);
    json_t *file = json_array_get(json_object_get(j, "files"), 0);
    static const char *const fk[] = { "path", "protocol", "bytes", "lines", "records",
        "malformed", "failures", "malformed_lines", "error" };
    for (size_t i = 0; i < sizeof fk / sizeof *fk; i++)
        cr_expect(json_object_get(file, fk[i]), "no files[].%s", fk[i]);
    json_t *g = json_array_get(json_object_get(j, "groups"), 0);
    static const char *const gk[] = { "error", "source", "user", "client", "protocols", "count",
        "first_seen", "last_seen", "servers", "proxies", "reply", "command", "samples", "rule" };
    for (size_t i = 0; i < sizeof gk / sizeof *gk; i++)
        cr_expect(json_object_get(g, gk[i]), "no groups[].%s", gk[i]);
    cr_expect_str_eq(str(g, "client"), "::1");
    cr_expect_str_eq(str(g, "source"), "reply");
    cr_expect_str_eq(str(g, "error"), "NO \\x1b]52;c;cHduZWQ=\\x07\\x1b[2J gone");
    cr_expect(json_is_null(json_object_get(g, "rule")), "no rule explains this reply");
    cr_expect_str_eq(str(file, "protocol"), "IMAP4");
    json_decref(j);
    run_result_free(&r);
}

Test(logscan, exit_statuses_and_errors, .init = setup, .fini = teardown)
{
    char ok[400], missing[400];
    snprintf(ok, sizeof ok, "%s/IMAP4_ok.LOG", dir);
    gen(ok, (const char *[]){ "--sessions", "200", "--fail-every", "0", NULL });
    struct run_result r;
    logscan(&r, (const char *[]){ ok, NULL });
    cr_expect_eq(r.exit_code, 0, "no failure: exit 0\n%s", r.out);
    cr_expect(contains(r.out, r.out_len, "0 failures in 0 groups"), "%s", r.out);
    run_result_free(&r);

    snprintf(missing, sizeof missing, "%s/nope.log", dir);
    logscan(&r, (const char *[]){ "--json", ok, missing, NULL });
    cr_expect_eq(r.exit_code, 2, "a file that cannot be read: exit 2");
    cr_expect(contains(r.err, r.err_len, "nope.log: No such file or directory"), "%s", r.err);
    json_t *j = run_json(&r);
    json_t *f = json_array_get(json_object_get(j, "files"), 1);
    cr_expect(strstr(str(f, "error"), "No such file"));
    cr_expect(json_is_null(json_object_get(json_array_get(json_object_get(j, "files"), 0), "error")));
    json_decref(j);
    run_result_free(&r);

    logscan(&r, (const char *[]){ NULL });
    cr_expect_eq(r.exit_code, 2, "no path: a usage error");
    cr_expect(contains(r.err, r.err_len, "give a log file or directory"), "%s", r.err);
    run_result_free(&r);
    logscan(&r, (const char *[]){ "--bogus", ok, NULL });
    cr_expect_eq(r.exit_code, 2);
    run_result_free(&r);
    logscan(&r, (const char *[]){ "--help", NULL });
    cr_expect_eq(r.exit_code, 0);
    cr_expect(contains(r.out, r.out_len, "Exit status: 0 no failure, 1 failures found, 2 usage"));
    run_result_free(&r);
}

/* A hand-written file with the founding case for alice and a wrong password
 * for bob: what probe --server-log reads. */
static void founding_log(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: IMAP4 Log\r\n"
          "#Date: 2026-11-27T07:00:00.000Z\r\n"
          "#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,"
          "parameters,context\r\n", f);
    fprintf(f, "2026-11-27T07:30:46.994Z,0000000000000003,2,10.0.0.5:143,127.0.0.1:32258,%s,1196,"
            "78,97,login,%s *****,\"R=\"\"a004 NO LOGIN failed.\"\";Msg=Proxy:ex02.contoso.local:"
            "1993:SSL;ErrMsg=ProxyNotAuthenticated\"\r\n", "alice", "alice");
    fprintf(f, "2026-11-27T07:31:00.000Z,0000000000000004,2,10.0.0.5:143,127.0.0.1:32259,bob,"
            "10,78,97,login,bob *****,\"R=\"\"a004 NO LOGIN failed.\"\";ErrMsg=LogonFailed:LogonDenied\"\r\n");
    fclose(f);
}

static json_t *probe_with_log(const char *log, const char *user, struct run_result *r)
{
    pid_t pid;
    char slog[256], url[128];
    unsigned port = scripted_start("logscan-exchange-login-failed.scn", &pid, slog);
    snprintf(url, sizeof url, "imap://%s@127.0.0.1:%u", user, port);
    const char *args[16] = { url, "--password-env", "PW", "--json", "--tls=none", "--auth=login",
                             "--allow-plaintext-login", "--no-discover" };
    size_t n = 8;
    if (log) {
        args[n++] = "--server-log";
        args[n++] = log;
    }
    args[n] = NULL;
    run_mailscope(r, args);
    cr_assert_eq(scripted_wait(pid), 0, "the scripted server saw the client misbehave");
    unlink(slog);
    return run_json(r);
}

static json_t *top(json_t *j)
{
    return json_array_get(json_object_get(j, "diagnoses"), 0);
}

Test(logscan, server_log_makes_the_founding_case_certain, .init = setup, .fini = teardown)
{
    char log[400];
    snprintf(log, sizeof log, "%s/IMAP4_20261127-1.LOG", dir);
    founding_log(log);
    struct run_result r;
    json_t *j = probe_with_log(NULL, "alice", &r);
    assert_exit(&r, 2);
    cr_assert(top(j));
    cr_expect_str_neq(str(top(j), "confidence"), "certain", "without the log it is a guess");
    json_decref(j);
    run_result_free(&r);

    j = probe_with_log(log, "alice", &r);
    assert_exit(&r, 2);
    cr_assert(top(j));
    cr_expect_str_eq(str(top(j), "id"), "R-EXCH-001");
    cr_expect_str_eq(str(top(j), "confidence"), "certain");
    char *ev = json_dumps(json_object_get(top(j), "evidence"), 0);
    cr_expect(strstr(ev, "ErrMsg=ProxyNotAuthenticated"), "%s", ev);
    free(ev);
    char *fix = json_dumps(json_object_get(top(j), "fix"), 0);
    cr_expect(strstr(fix, "Set-ImapSettings -Server ex02 -X509CertificateName ex02.contoso.local"),
              "the backend the log names fills the fix: %s", fix);
    free(fix);
    json_t *sl = json_object_get(j, "server_log");
    cr_expect_eq(json_integer_value(json_object_get(sl, "lines_used")), 1, "only alice's line");
    json_decref(j);
    run_result_free(&r);

    /* bob's log line says wrong password: certain for bob, nothing certain of the proxy */
    j = probe_with_log(log, "bob", &r);
    assert_exit(&r, 2);
    cr_expect_str_eq(str(top(j), "id"), "R-EXCH-013");
    cr_expect_str_eq(str(top(j), "confidence"), "certain");
    json_decref(j);
    run_result_free(&r);

    /* a log of other users only: no certainty for carol */
    j = probe_with_log(log, "carol", &r);
    assert_exit(&r, 2);
    cr_expect_str_neq(str(top(j), "confidence"), "certain");
    json_decref(j);
    run_result_free(&r);
}

Test(logscan, server_log_that_cannot_be_read_is_a_usage_error, .init = setup, .fini = teardown)
{
    struct run_result r;
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none.log", dir);
    run_mailscope(&r, (const char *[]){ "imap://alice@127.0.0.1:1", "--server-log", missing,
                                        "--json", NULL });
    assert_exit(&r, 3);
    json_t *j = run_json(&r);
    cr_expect(strstr(str(j, "summary"), "--server-log:") || strstr(r.out, "--server-log:"),
              "%s", r.out);
    cr_expect(strstr(r.out, "none.log"), "%s", r.out);
    json_decref(j);
    run_result_free(&r);
}
