/* test_fuzz_findings — regression tests for what the libFuzzer targets in
 * tests/fuzz found (scripts/fuzz). Each input is also in the target's seed
 * corpus, so the fuzzer replays it first on every run. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

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
