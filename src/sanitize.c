/* sanitize — make server-controlled bytes safe to show on a terminal. */
#include "sanitize.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One decoded input unit and what it becomes in the output. */
struct step {
    size_t in_len;      /* input bytes consumed (1..4) */
    size_t out_len;
    bool pass;          /* output is the input bytes unchanged */
    char out[16];
};

/* Length (1..4) of the valid, shortest-form UTF-8 sequence at s, or 0. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {           /* C0/C1 leads are always overlong */
        len = 2, min = 0x80, *cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, *cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {    /* F5.. would exceed U+10FFFF */
        len = 4, min = 0x10000, *cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return len;
}

/* Invisible or direction-changing characters that could make displayed text
 * read differently from what the server sent. */
static bool is_format_char(uint32_t cp)
{
    return cp == 0x061C || (cp >= 0x200B && cp <= 0x200F)
        || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2069)
        || cp == 0xFEFF;
}

static void set_out(struct step *st, const char *s)
{
    st->out_len = strlen(s);
    memcpy(st->out, s, st->out_len);
}

static void byte_escape(struct step *st, unsigned char b)
{
    st->out_len = (size_t)snprintf(st->out, sizeof st->out, "\\x%02x", b);
}

/* Escape for a valid code point, or false when it may pass through. */
static bool cp_escape(struct step *st, uint32_t cp)
{
    switch (cp) {
    case 0x00: set_out(st, "<NUL>"); return true;
    case '\t': set_out(st, "\\t"); return true;
    case '\r': set_out(st, "\\r"); return true;
    case '\n': set_out(st, "\\n"); return true;
    default: break;
    }
    if (cp < 0x20 || cp == 0x7F) {
        byte_escape(st, (unsigned char)cp);
        return true;
    }
    if ((cp >= 0x80 && cp <= 0x9F) || is_format_char(cp)) {
        st->out_len = (size_t)snprintf(st->out, sizeof st->out, "<U+%04X>", (unsigned)cp);
        return true;
    }
    return false;
}

static void next_step(const unsigned char *s, size_t n, struct step *st)
{
    uint32_t cp;
    size_t len = utf8_decode(s, n, &cp);
    st->pass = false;
    if (len == 0) {
        /* Resync at the very next byte so one bad byte hides nothing after it. */
        st->in_len = 1;
        byte_escape(st, s[0]);
        return;
    }
    st->in_len = len;
    /* A backslash is doubled only where it could pass for one of our escapes
     * ("\x1b", "\r", "\\") or stands before a byte that is itself escaped,
     * so IMAP flags like \Seen stay readable. */
    if (cp == '\\' && n > 1 && (strchr("xrnt\\", s[1]) || s[1] < 0x20 || s[1] >= 0x7f)) {
        set_out(st, "\\\\");
        return;
    }
    if (!cp_escape(st, cp)) {
        st->pass = true;
        st->out_len = len;
        memcpy(st->out, s, len);
    }
}

/* Worst case is "<NUL>" (5 bytes) per input byte; with a limit only the
 * kept part plus the suffix is needed. */
static size_t out_capacity(size_t n, size_t max_out, bool *ok)
{
    *ok = n <= (SIZE_MAX - 64) / 5;
    size_t cap = *ok ? 5 * n : 0;
    if (max_out > 0 && max_out < cap)
        cap = max_out;
    return cap + 64;
}

char *sanitize_text(const void *in, size_t n, size_t max_out)
{
    const unsigned char *s = in;
    bool ok;
    size_t cap = out_capacity(s ? n : 0, max_out, &ok);
    char *out = ok ? malloc(cap) : NULL;
    if (!out)
        return NULL;
    size_t len = 0, pos = 0;
    struct step st;
    while (s && pos < n) {
        next_step(s + pos, n - pos, &st);
        if (max_out > 0 && len + st.out_len > max_out)
            break;
        memcpy(out + len, st.out, st.out_len);
        len += st.out_len;
        pos += st.in_len;
    }
    /* The suffix is 17 bytes plus the digits of N, so it stays within the
     * promised 32 for any N below 10^14. */
    if (s && pos < n)
        snprintf(out + len, cap - len, " \xE2\x80\xA6[%zu more bytes]", n - pos);
    else
        out[len] = '\0';
    return out;
}

bool sanitize_is_utf8(const void *in, size_t n)
{
    const unsigned char *s = in;
    uint32_t cp;
    for (size_t pos = 0, len; pos < n; pos += len) {
        len = utf8_decode(s + pos, n - pos, &cp);
        if (len == 0)
            return false;
    }
    return true;
}

bool sanitize_is_clean(const void *in, size_t n)
{
    const unsigned char *s = in;
    struct step st;
    for (size_t pos = 0; pos < n; pos += st.in_len) {
        next_step(s + pos, n - pos, &st);
        if (!st.pass)
            return false;
    }
    return true;
}
