/* fuzz_rules — libFuzzer target for the rule loader (src/rules.c) and the
 * engine that reads what it loaded (src/diag.c). Whatever a user's rules.d
 * file holds:
 *  - loading is all or nothing: on error nothing is added and the message
 *    starts with "name:line: " for a line that exists in the input;
 *  - on success every rule has an id and a title, its conditions are within
 *    bounds and name a known fact and operator;
 *  - the engine runs those rules against evidence and fills every fix and
 *    verify line without crashing, and what it fills holds no control byte.
 * Input: the bytes of one rules file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fuzz_common.h"
#include "rules.h"

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 1;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

static void check_error(const char *err, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(strncmp(err, "fuzz.rules:", 11) == 0);
    char *end;
    unsigned long line = strtoul(err + 11, &end, 10);
    FUZZ_CHECK(end != err + 11 && *end == ':');
    FUZZ_CHECK(line >= 1 && line <= count_lines(data, size) + 1);
}

static void check_filled(const char *s, const struct diag_evidence *e)
{
    char *f = diag_fill(s, e);
    if (!f)
        return;     /* no memory: allowed */
    for (const unsigned char *p = (const unsigned char *)f; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7F);
    free(f);
}

static void run_engine(const struct ruleset *rs)
{
    static const char *const lines[] = { "a002 NO LOGIN failed.", "* BYE Connection is closed. 14" };
    static const char *const caps[] = { "IMAP4rev1", "STARTTLS", "AUTH=NTLM" };
    static const char *const problems[] = { "hostname-mismatch" };
    static const char *const log[] = { "R=\"a2 NO LOGIN failed.\";ErrMsg=ProxyNotAuthenticated" };
    struct diag_evidence e;
    diag_evidence_init(&e);
    e.failed = true;
    e.failure = "auth";
    e.step = "login";
    e.reply = lines[0];
    e.family = "exchange";
    e.user = "CONTOSO\\alice";
    e.host = "mail.contoso.com";
    e.server_fqdn = "EX01.contoso.local";
    e.port = 143;
    e.elapsed_ms = 1196;
    for (size_t i = 0; i < 2; i++)
        e.lines[e.n_lines++] = lines[i];
    for (size_t i = 0; i < 3; i++)
        e.caps_before[e.n_caps_before++] = caps[i];
    e.problems[e.n_problems++] = problems[0];
    e.log_lines = log;
    e.n_log_lines = 1;
    struct diag_result r;
    diag_run(rs, &e, &r);
    FUZZ_CHECK(r.n <= DIAG_MAX_RESULTS);
    for (size_t i = 0; i < r.n; i++) {
        const struct rule *rule = r.h[i].rule;
        for (size_t k = 0; k < rule->n_fix; k++)
            check_filled(rule->fix[k], &e);
        if (rule->verify)
            check_filled(rule->verify, &e);
    }
    diag_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ruleset rs;
    char err[512] = "";
    ruleset_init(&rs);
    int rc = rules_parse(&rs, "fuzz.rules", (const char *)data, size, err, sizeof err);
    if (rc < 0) {
        FUZZ_CHECK(rs.n == 0);
        check_error(err, data, size);
    } else {
        for (size_t i = 0; i < rs.n; i++) {
            const struct rule *r = &rs.r[i];
            FUZZ_CHECK(r->id && r->id[0] && r->title);
            FUZZ_CHECK(r->n_fix <= RULES_MAX_FIX && r->n_cond <= RULES_MAX_COND);
            for (size_t k = 0; k < r->n_cond; k++) {
                FUZZ_CHECK(r->cond[k].fact < RF_COUNT);
                FUZZ_CHECK(strcmp(rule_op_name(r->cond[k].op), "?") != 0);
            }
        }
        run_engine(&rs);
    }
    ruleset_free(&rs);
    return 0;
}
