/* Unit tests for src/sanitize.c: the terminal escape-injection barrier. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

/* Decodes UTF-8 already known to be valid. */
static uint32_t next_cp(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t cp;
    size_t len;
    if (s[0] < 0x80)
        cp = s[0], len = 1;
    else if (s[0] < 0xE0)
        cp = s[0] & 0x1F, len = 2;
    else if (s[0] < 0xF0)
        cp = s[0] & 0x0F, len = 3;
    else
        cp = s[0] & 0x07, len = 4;
    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    *p += len;
    return cp;
}

static bool forbidden_cp(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C
        || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E)
        || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF;
}

/* The contract every output must meet, whatever the input was. */
static void assert_safe(const char *out)
{
    cr_assert_not_null(out);
    size_t n = strlen(out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        cr_assert(c >= 0x20 && c != 0x7F, "control byte 0x%02x at %zu in \"%s\"", c, i, out);
    }
    cr_assert(sanitize_is_utf8(out, n), "output is not UTF-8: \"%s\"", out);
    const unsigned char *p = (const unsigned char *)out;
    while (*p) {
        uint32_t cp = next_cp(&p);
        cr_assert(!forbidden_cp(cp), "forbidden U+%04X in output", (unsigned)cp);
    }
}

/* Sanitises n bytes without a limit and compares with the expected text. */
static void check_n(const char *in, size_t n, const char *want)
{
    char *out = sanitize_text(in, n, 0);
    assert_safe(out);
    cr_assert_str_eq(out, want);
    cr_assert_eq(sanitize_is_clean(in, n), strcmp(out, in) == 0 && strlen(in) == n,
                 "is_clean disagrees with sanitize_text for \"%s\"", want);
    free(out);
}

static void check(const char *in, const char *want)
{
    check_n(in, strlen(in), want);
}

Test(sanitize, printable_ascii_unchanged)
{
    check("* OK [CAPABILITY IMAP4rev1] Dovecot ready.", "* OK [CAPABILITY IMAP4rev1] Dovecot ready.");
    cr_assert(sanitize_is_clean("+OK POP3", 8));
}

Test(sanitize, empty_input)
{
    check_n("", 0, "");
    char *out = sanitize_text(NULL, 0, 0);
    cr_assert_str_eq(out, "");
    free(out);
    cr_assert(sanitize_is_utf8("", 0));
    cr_assert(sanitize_is_clean("", 0));
}

Test(sanitize, ansi_colour_shown_as_text)
{
    check("\x1b[31mX", "\\x1b[31mX");
}

Test(sanitize, osc52_clipboard_write)
{
    check("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07");
}

Test(sanitize, raw_c1_csi_byte)
{
    check("a\x9b" "31mb", "a\\x9b31mb");
}

Test(sanitize, c1_encoded_as_utf8)
{
    check("a\xc2\x9b" "31m", "a<U+009B>31m");
    check("\xc2\x80\xc2\x9f", "<U+0080><U+009F>");
    check("\xc2\xa0", "\xc2\xa0"); /* U+00A0 is the first non-C1 and passes */
}

Test(sanitize, bidi_override)
{
    check("invoice\xe2\x80\xaetxt.exe", "invoice<U+202E>txt.exe");
}

Test(sanitize, zero_width_and_bom)
{
    check("mail\xe2\x80\x8b.test", "mail<U+200B>.test");
    check("\xef\xbb\xbf* OK", "<U+FEFF>* OK");
}

Test(sanitize, every_listed_format_char)
{
    static const uint32_t cps[] = { 0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F,
        0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060, 0x2064, 0x2066, 0x2069, 0xFEFF };
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char in[4], want[16];
        in[0] = (char)(0xE0 | (cps[i] >> 12));
        in[1] = (char)(0x80 | ((cps[i] >> 6) & 0x3F));
        in[2] = (char)(0x80 | (cps[i] & 0x3F));
        if (cps[i] < 0x800) { /* U+061C is a two-byte sequence */
            in[0] = (char)(0xC0 | (cps[i] >> 6));
            in[1] = (char)(0x80 | (cps[i] & 0x3F));
        }
        snprintf(want, sizeof want, "<U+%04X>", (unsigned)cps[i]);
        check_n(in, cps[i] < 0x800 ? 2 : 3, want);
    }
    check("\xe2\x80\xaf\xe2\x81\xb0", "\xe2\x80\xaf\xe2\x81\xb0"); /* U+202F, U+2070 pass */
}

Test(sanitize, nul_in_middle_uses_length)
{
    check_n("user\0admin", 10, "user<NUL>admin");
    cr_assert_not(sanitize_is_clean("a\0b", 3));
}

Test(sanitize, cr_spoofing)
{
    check("TLS OK\rTLS FAIL", "TLS OK\\rTLS FAIL");
}

Test(sanitize, backspace_spoofing)
{
    check("verified\b\b\b", "verified\\x08\\x08\\x08");
}

Test(sanitize, tab_lf_del_and_other_c0)
{
    check("a\tb\nc", "a\\tb\\nc");
    check("x\x7fy", "x\\x7fy");
    check("\x01\x1f", "\\x01\\x1f");
}

Test(sanitize, invalid_bytes_escaped_one_each)
{
    check("\xff\xfe\xc3 ", "\\xff\\xfe\\xc3 ");
    cr_assert_not(sanitize_is_utf8("\xff", 1));
}

Test(sanitize, overlong_forms_rejected)
{
    check("\xc0\xaf", "\\xc0\\xaf");
    check("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
    check("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");
    check("\xc1\xbf", "\\xc1\\xbf");
    cr_assert_not(sanitize_is_utf8("\xc0\xaf", 2));
}

Test(sanitize, surrogates_rejected)
{
    check("\xed\xa0\x80", "\\xed\\xa0\\x80");
    check("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
    check("\xed\x9f\xbf", "\xed\x9f\xbf"); /* U+D7FF is fine */
    cr_assert_not(sanitize_is_utf8("\xed\xa0\x80", 3));
}

Test(sanitize, above_max_code_point_rejected)
{
    check("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
    check("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
    check("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF passes */
}

Test(sanitize, truncated_sequences)
{
    check("ab\xe2\x82", "ab\\xe2\\x82");
    check("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
    check("\xe2\x82" "A", "\\xe2\\x82A"); /* decoding resumes at the next byte */
    check("\x80", "\\x80");
}

Test(sanitize, valid_utf8_passes)
{
    check("Z\xc3\xbcrich", "Z\xc3\xbcrich");
    check("ok \xf0\x9f\x93\xa7", "ok \xf0\x9f\x93\xa7");
    check("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
    cr_assert(sanitize_is_utf8("Z\xc3\xbcrich", 7));
    cr_assert(sanitize_is_clean("Z\xc3\xbcrich", 7));
}

Test(sanitize, backslash_doubled_so_escapes_cannot_be_forged)
{
    /* Literal text "\x1b" must look different from a real ESC. */
    check("\\x1b", "\\\\x1b");
    check("a\\\\b", "a\\\\\\b");
    check("\\r\\n\\t", "\\\\r\\\\n\\\\t");
    /* A backslash that cannot pass for an escape stays readable: IMAP flags. */
    check("(\\Seen \\Answered)", "(\\Seen \\Answered)");
    check("a\\", "a\\");
    cr_assert_not(sanitize_is_clean("\\x", 2));
    cr_assert(sanitize_is_clean("\\Seen", 5));
}

Test(sanitize, is_utf8_allows_controls)
{
    cr_assert(sanitize_is_utf8("\x1b[0m\0", 5));
    cr_assert_not(sanitize_is_clean("\x1b[0m", 4));
}

static void check_max(const char *in, size_t n, size_t max_out, const char *want)
{
    char *out = sanitize_text(in, n, max_out);
    assert_safe(out);
    cr_assert_str_eq(out, want);
    cr_assert_lt(strlen(out), max_out + 32);
    free(out);
}

Test(sanitize, truncation_plain)
{
    check_max("abcdef", 6, 3, "abc \xe2\x80\xa6[3 more bytes]");
    check_max("abcdef", 6, 6, "abcdef");     /* exact fit: no suffix */
    check_max("abcdef", 6, 100, "abcdef");
}

Test(sanitize, truncation_never_splits_a_character)
{
    /* "Zürich" is 7 bytes; the ü (2 bytes) does not fit into 2. */
    check_max("Z\xc3\xbcrich", 7, 2, "Z \xe2\x80\xa6[6 more bytes]");
    check_max("Z\xc3\xbcrich", 7, 3, "Z\xc3\xbc \xe2\x80\xa6[4 more bytes]");
}

Test(sanitize, truncation_never_splits_an_escape)
{
    check_max("\x1b\x1b", 2, 5, "\\x1b \xe2\x80\xa6[1 more bytes]");
    check_max("a\xe2\x80\xae", 4, 8, "a \xe2\x80\xa6[3 more bytes]");
    check_max("\x1b", 1, 1, " \xe2\x80\xa6[1 more bytes]");
}

Test(sanitize, truncation_long_input_bounded)
{
    size_t n = 100000;
    char *in = malloc(n);
    cr_assert_not_null(in);
    memset(in, 0, n); /* worst case: every byte expands to "<NUL>" */
    char *out = sanitize_text(in, n, 80);
    assert_safe(out);
    cr_assert_str_eq(out, "<NUL><NUL><NUL><NUL><NUL><NUL><NUL><NUL><NUL><NUL>"
                          "<NUL><NUL><NUL><NUL><NUL><NUL> \xe2\x80\xa6[99984 more bytes]");
    free(out);
    free(in);
}

/* Deterministic xorshift so a failure reproduces. */
static uint32_t rng_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

Test(sanitize, random_bytes_always_safe)
{
    /* Bytes biased towards controls, lead bytes and continuations. */
    static const unsigned char pool[] = { 0x00, 0x07, 0x08, 0x09, 0x0a, 0x0d, 0x1b, 0x5c,
        0x7f, 0x80, 0x9b, 0xbf, 0xc0, 0xc2, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
        'a', '[', ']' };
    uint32_t x = 2463534242u;
    unsigned char buf[24];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rng_next(&x) % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = rng_next(&x);
            buf[i] = (r & 1) ? pool[(r >> 1) % sizeof pool] : (unsigned char)(r >> 8);
        }
        char *out = sanitize_text(buf, n, iter % 3 ? 0 : 1 + iter % 17);
        assert_safe(out);
        if (iter % 3) {
            bool same = strlen(out) == n && memcmp(out, buf, n) == 0;
            cr_assert_eq(sanitize_is_clean(buf, n), same);
        }
        free(out);
    }
}
