/* fuzz_sanitize — libFuzzer target for src/sanitize.c: whatever a server
 * sends, the output holds no byte a terminal acts on. Checked here, byte by
 * byte, against the contract in sanitize.h:
 *  - valid UTF-8; no C0 control, no DEL, no U+0080..U+009F, no bidi or
 *    invisible format character;
 *  - every backslash that could start one of our escapes is one: "\\",
 *    "\xNN" (two hex digits), "\r", "\n", "\t" — a server cannot forge one;
 *  - with a limit, at most max_out + 32 bytes and the cut is announced;
 *  - input that is already clean comes back unchanged.
 * Input: bytes 0..1 pick max_out (0 = no limit), the rest is the text. */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sanitize.h"

/* Decodes one UTF-8 sequence known to be valid; returns its length. */
static size_t decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    *cp = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++)
        *cp = *cp << 6 | (s[i] & 0x3F);
    return len;
}

static bool forbidden(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C
        || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E)
        || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF;
}

static bool hex(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* Length of the escape starting at the backslash s[0], or 1 when the
 * backslash is ordinary text (e.g. IMAP's \Seen). */
static size_t escape_len(const unsigned char *s, size_t left)
{
    if (left >= 2 && s[1] && strchr("rnt\\", s[1]))
        return 2;
    if (left >= 2 && s[1] == 'x') {
        FUZZ_CHECK(left >= 4 && hex(s[2]) && hex(s[3]));   /* never a forged "\x" */
        return 4;
    }
    return 1;
}

static void check_output(const char *out, size_t in_n, size_t max_out)
{
    const unsigned char *s = (const unsigned char *)out;
    size_t n = strlen(out);
    FUZZ_CHECK(sanitize_is_utf8(out, n));
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if (s[i] == '\\') {
            i += escape_len(s + i, n - i);
            continue;
        }
        size_t len = decode(s + i, &cp);
        FUZZ_CHECK(!forbidden(cp));
        i += len;
    }
    if (max_out > 0) {
        FUZZ_CHECK(n <= max_out + 32);
        const char *cut = strstr(out, " \xE2\x80\xA6[");
        if (n > max_out)
            FUZZ_CHECK(cut != NULL && strstr(cut, " more bytes]") != NULL);
    } else {
        FUZZ_CHECK(n >= in_n);   /* without a limit nothing is dropped */
    }
}

/* Length of a valid UTF-8 sequence at s (as sanitize.c accepts them), or 0. */
static size_t valid_seq(const unsigned char *s, size_t left)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    return len && len <= left && sanitize_is_utf8(s, len) ? len : 0;
}

/* The input as the output should spell it once backslash escapes are
 * undone: NUL, C1 and format characters become their <...> names. */
static void normalise(const unsigned char *s, size_t n, struct fuzz_log *l)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = valid_seq(s + i, n - i);
        if (len && (decode(s + i, &cp), cp == 0 || (cp >= 0x80 && forbidden(cp)))) {
            char name[16];
            int k = cp ? snprintf(name, sizeof name, "<U+%04X>", (unsigned)cp)
                       : snprintf(name, sizeof name, "<NUL>");
            log_put(l, name, (size_t)k);
        } else {
            log_put(l, s + i, len ? len : 1);
        }
        i += len ? len : 1;
    }
}

/* Undo the backslash escapes of the output. */
static void unescape(const unsigned char *s, size_t n, struct fuzz_log *l)
{
    static const char from[] = "rnt\\", to[] = "\r\n\t\\";
    for (size_t i = 0; i < n;) {
        size_t k = s[i] == '\\' ? escape_len(s + i, n - i) : 1;
        if (k == 2) {
            log_byte(l, (uint8_t)to[strchr(from, s[i + 1]) - from]);
        } else if (k == 4) {
            char h[3] = { (char)s[i + 2], (char)s[i + 3], 0 };
            log_byte(l, (uint8_t)strtoul(h, NULL, 16));
        } else {
            log_byte(l, s[i]);
        }
        i += k;
    }
}

/* Without truncation the output must be faithful: undoing its escapes gives
 * back exactly the input (NUL, C1 and format characters by name). */
static void check_faithful(const char *out, const uint8_t *in, size_t n)
{
    struct fuzz_log want = { 0 }, got = { 0 };
    normalise(in, n, &want);
    unescape((const unsigned char *)out, strlen(out), &got);
    FUZZ_CHECK(log_equal(&want, &got));
    log_free(&want);
    log_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_out = (size_t)(data[0] | (data[1] & 0x0F) << 8);
    const uint8_t *text = data + 2;
    size_t n = size - 2;
    char *out = sanitize_text(text, n, max_out);
    FUZZ_CHECK(out != NULL);
    check_output(out, n, max_out);
    if (max_out == 0)
        check_faithful(out, text, n);
    if (sanitize_is_clean(text, n)) {
        FUZZ_CHECK(sanitize_is_utf8(text, n));
        if (max_out == 0 || n <= max_out)
            FUZZ_CHECK(strlen(out) == n && memcmp(out, text, n) == 0);
    }
    free(out);
    return 0;
}
