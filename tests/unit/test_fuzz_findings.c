/* test_fuzz_findings — regression tests for what the libFuzzer targets in
 * tests/fuzz found (scripts/fuzz). Each input is also in the target's seed
 * corpus, so the fuzzer replays it first on every run. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "rules.h"
#include "sanitize.h"

/* sanitize_text(in) is want; the result is freed before asserting, so a
 * failure is reported as such and not as a leak too. */
static void expect_sanitized(const char *in, size_t n, const char *want)
{
    char *out = sanitize_text(in, n, 0);
    char got[256];
    snprintf(got, sizeof got, "%s", out ? out : "(null)");
    free(out);
    cr_assert_str_eq(got, want, "sanitize_text gave \"%s\", want \"%s\"", got, want);
}

/* fuzz_sanitize, corpus/sanitize/regress-backslash-before-esc. A backslash
 * is doubled only before x, r, n, t or a backslash; before a byte that is
 * itself escaped it stays single, and the escape that follows then reads
 * as an escaped backslash plus text: "\" ESC "[31m" came out as
 * "\\x1b[31m" — a literal backslash and the harmless text "x1b[31m" to
 * whoever reads it, and exactly what the four characters \ x 1 b (plus
 * "[31m") give. The ESC is hidden and two different inputs look the same. */
Test(fuzz_findings, backslash_before_an_escaped_byte_is_doubled)
{
    expect_sanitized("a\\\x1b[31m", 7, "a\\\\\\x1b[31m");
    expect_sanitized("a\\x1b[31m", 9, "a\\\\x1b[31m");   /* what it must not look like */
}

/* corpus/sanitize/regress-osc8-st-before-invalid-utf8: the OSC 8 string
 * terminator is ESC "\"; an invalid byte after it made "\" + "\xc3" read
 * as "\\" + "xc3". */
Test(fuzz_findings, backslash_before_invalid_utf8_is_doubled)
{
    expect_sanitized("\x1b\\\xc3 x", 5, "\\x1b\\\\\\xc3 x");
}

/* fuzz_rules, 2026-11-28: "AUTHENT+++...+ICATE" (44 stacked '+') in a rule's
 * regular expression made glibc's regcomp take over 2 GB. Stacked and large
 * counted repetitions are now refused with a line-numbered message. */
Test(fuzz_findings, rules_refuse_regexes_that_explode)
{
    static const struct { const char *re, *why; } cases[] = {
        { "AUTHENT++++++++++++++++++++++++++++++++++++++++++++ICATE", "repetition of a repetition" },
        { "a*+", "repetition of a repetition" },
        { "(a{200})", "count over 32" },
        { "(ab){1,1000}", "count over 32" },
        { "a?b?c?d?e?f?g?h?i?j?k?l?m?n?o?p?q?r?s?t?u?v?w?x?y?z?A?B?C?D?E?F?G?", "more than 32" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[512], err[256] = "";
        snprintf(text, sizeof text, "rule X\ntitle: t\nrequire reply matches %s\nend\n", cases[i].re);
        struct ruleset rs;
        ruleset_init(&rs);
        cr_expect_eq(rules_parse(&rs, "u.rules", text, strlen(text), err, sizeof err), -1,
                     "accepted %s", cases[i].re);
        cr_expect(strstr(err, "u.rules:3:") && strstr(err, cases[i].why), "%s: %s", cases[i].re, err);
        ruleset_free(&rs);
    }
    /* What real rules use still loads. */
    const char *ok = "rule X\ntitle: t\nrequire reply matches ^[^ ]+ NO \\[[A-Z]+\\] (a|b){1,3}[[:space:]]*$\nexplanation: e\nfix: f\nverify: v\nsource: s\nend\n";
    struct ruleset rs;
    char err[256] = "";
    ruleset_init(&rs);
    cr_expect_eq(rules_parse(&rs, "u.rules", ok, strlen(ok), err, sizeof err), 0, "%s", err);
    ruleset_free(&rs);
}
