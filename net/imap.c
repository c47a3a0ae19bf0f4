#include "imap.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void imap_framer_init(struct imap_framer *f, size_t max_line)
{
    memset(f, 0, sizeof *f);
    f->max_line = max_line ? max_line : IMAP_MAX_LINE_DEFAULT;
}

/* A line announcing a literal ends in "{digits}" or "{digits+}" ("~{...}"
 * for literal8). Returns 1 with *size, 0 when there is none, -1 when the
 * size cannot be a number64 (RFC 9051: at most 2^63 - 1). */
static int trailing_literal(const uint8_t *s, size_t len, uint64_t *size)
{
    if (len < 3 || s[len - 1] != '}')
        return 0;
    size_t end = len - 1;
    if (s[end - 1] == '+')
        end--;
    size_t start = end;
    while (start > 0 && isdigit(s[start - 1]))
        start--;
    if (start == end || start == 0 || s[start - 1] != '{')
        return 0;
    if (end - start > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = start; i < end; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > INT64_MAX)
        return -1;
    *size = v;
    return 1;
}

static void frame_literal(struct imap_framer *f, const uint8_t *buf, size_t len,
                          struct imap_frame *out)
{
    if (!len) {
        out->type = IMAP_FRAME_NEED_MORE;
        return;
    }
    size_t n = (uint64_t)len < f->literal_left ? len : (size_t)f->literal_left;
    f->literal_left -= n;
    out->type = IMAP_FRAME_LITERAL;
    out->data = buf;
    out->len = out->consumed = n;
    out->literal_left = f->literal_left;
}

void imap_frame_next(struct imap_framer *f, const uint8_t *buf, size_t len, struct imap_frame *out)
{
    memset(out, 0, sizeof *out);
    if (f->literal_left) {
        frame_literal(f, buf, len, out);
        return;
    }
    size_t scan = len < f->max_line + 2 ? len : f->max_line + 2;
    const uint8_t *lf = memchr(buf, '\n', scan);
    if (!lf) {
        if (len > f->max_line + 1) {
            out->type = IMAP_FRAME_ERROR;
            snprintf(out->error, sizeof out->error,
                     "the server sent a line longer than %zu bytes", f->max_line);
        } else {
            out->type = IMAP_FRAME_NEED_MORE;
        }
        return;
    }
    size_t line_len = (size_t)(lf - buf);
    out->consumed = line_len + 1;
    if (line_len && buf[line_len - 1] == '\r')
        line_len--;
    if (line_len > f->max_line) {
        out->type = IMAP_FRAME_ERROR;
        snprintf(out->error, sizeof out->error,
                 "the server sent a line longer than %zu bytes", f->max_line);
        return;
    }
    out->type = IMAP_FRAME_LINE;
    out->data = buf;
    out->len = line_len;
    out->starts_response = !f->mid_response;
    uint64_t size = 0;
    int lit = trailing_literal(buf, line_len, &size);
    if (lit < 0) {
        out->type = IMAP_FRAME_ERROR;
        snprintf(out->error, sizeof out->error, "the server announced a literal too large to be one");
        return;
    }
    out->ends_response = lit == 0;
    out->literal_size = size;
    f->literal_left = size;
    f->mid_response = lit == 1;
}

const char *imap_status_name(enum imap_status s)
{
    static const char *const names[] = { "", "OK", "NO", "BAD", "PREAUTH", "BYE" };
    return names[s];
}

static enum imap_status status_of(const char *w, size_t n)
{
    for (int s = IMAP_ST_OK; s <= IMAP_ST_BYE; s++) {
        const char *name = imap_status_name((enum imap_status)s);
        if (strlen(name) == n && strncasecmp(w, name, n) == 0)
            return (enum imap_status)s;
    }
    return IMAP_ST_NONE;
}

static size_t word_len(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] != ' ')
        i++;
    return i;
}

static void copy_upper(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)toupper((unsigned char)s[i]);
    dst[n] = 0;
}

/* After a status word: optional "[CODE args]" then text. */
static void parse_resp_text(const char *s, size_t len, struct imap_response *r)
{
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close) {
            const char *in = s + 1;
            size_t inlen = (size_t)(close - in);
            size_t atom = word_len(in, inlen);
            copy_upper(r->code, sizeof r->code, in, atom);
            r->code_raw = in;
            r->code_raw_len = atom;
            if (atom < inlen) {
                r->code_arg = in + atom + 1;
                r->code_arg_len = inlen - atom - 1;
            }
            size_t used = (size_t)(close - s) + 1;
            if (used < len && s[used] == ' ')
                used++;
            s += used;
            len -= used;
        }
    }
    r->text = s;
    r->text_len = len;
}

static void parse_untagged(const char *s, size_t len, struct imap_response *r)
{
    r->kind = IMAP_UNTAGGED;
    size_t i = 0;
    if (len && isdigit((unsigned char)s[0])) {
        uint64_t v = 0;
        while (i < len && isdigit((unsigned char)s[i]) && v <= UINT32_MAX)
            v = v * 10 + (uint64_t)(s[i++] - '0');
        r->has_number = v <= UINT32_MAX;
        r->number = (uint32_t)v;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        if (i < len && s[i] == ' ')
            i++;
    }
    size_t w = word_len(s + i, len - i);
    r->status = r->has_number ? IMAP_ST_NONE : status_of(s + i, w);
    copy_upper(r->keyword, sizeof r->keyword, s + i, w);
    i += w;
    if (i < len && s[i] == ' ')
        i++;
    if (r->status != IMAP_ST_NONE) {
        parse_resp_text(s + i, len - i, r);
    } else {
        r->text = s + i;
        r->text_len = len - i;
    }
}

static bool tag_char(char c)
{
    return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\+", c);
}

int imap_parse_response(const char *line, size_t len, struct imap_response *r)
{
    memset(r, 0, sizeof *r);
    r->text = line;
    r->text_len = len;
    if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
        r->kind = IMAP_CONTINUATION;
        r->text = line + (len > 1 ? 2 : 1);
        r->text_len = len - (len > 1 ? 2 : 1);
        return 0;
    }
    if (len >= 2 && line[0] == '*' && line[1] == ' ') {
        parse_untagged(line + 2, len - 2, r);
        return 0;
    }
    size_t t = word_len(line, len);
    bool valid = t > 0 && t < sizeof r->tag && t < len;
    for (size_t i = 0; valid && i < t; i++)
        valid = tag_char(line[i]);
    size_t w = valid ? word_len(line + t + 1, len - t - 1) : 0;
    enum imap_status st = valid ? status_of(line + t + 1, w) : IMAP_ST_NONE;
    if (st != IMAP_ST_OK && st != IMAP_ST_NO && st != IMAP_ST_BAD) {
        r->kind = IMAP_GARBAGE;
        return -1;
    }
    r->kind = IMAP_TAGGED;
    memcpy(r->tag, line, t);
    r->tag[t] = 0;
    r->status = st;
    size_t i = t + 1 + w;
    if (i < len && line[i] == ' ')
        i++;
    parse_resp_text(line + i, len - i, r);
    return 0;
}

static bool atom_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\", c);
}

int imap_astring(const char *s, bool nonsync, char *out, size_t cap, bool *literal)
{
    size_t n = strlen(s);
    bool atom = n > 0, quotable = n <= 1000;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        atom = atom && atom_char(c);
        quotable = quotable && c >= 0x01 && c <= 0x7f && c != '\r' && c != '\n';
    }
    *literal = false;
    int w;
    if (atom) {
        w = snprintf(out, cap, "%s", s);
    } else if (quotable) {
        size_t o = 0;
        if (cap < 3)
            return -1;
        out[o++] = '"';
        for (size_t i = 0; i < n; i++) {
            bool esc = s[i] == '"' || s[i] == '\\';
            if (o + 2 + esc >= cap)   /* this char, its escape, the closing quote, NUL */
                return -1;
            if (esc)
                out[o++] = '\\';
            out[o++] = s[i];
        }
        out[o++] = '"';
        out[o] = 0;
        w = (int)o;
    } else {
        *literal = true;
        w = snprintf(out, cap, "{%zu%s}", n, nonsync ? "+" : "");
    }
    return w < 0 || (size_t)w >= cap ? -1 : w;
}
