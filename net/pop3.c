#include "pop3.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void pop3_framer_init(struct pop3_framer *f, size_t max_line)
{
    memset(f, 0, sizeof *f);
    f->max_line = max_line ? max_line : POP3_MAX_LINE_DEFAULT;
}

void pop3_frame_next(struct pop3_framer *f, const uint8_t *buf, size_t len, struct pop3_frame *out)
{
    memset(out, 0, sizeof *out);
    size_t scan = len < f->max_line + 2 ? len : f->max_line + 2;
    const uint8_t *lf = memchr(buf, '\n', scan);
    if (!lf) {
        if (len > f->max_line + 1) {
            out->type = POP3_FRAME_ERROR;
            snprintf(out->error, sizeof out->error,
                     "the server sent a line longer than %zu bytes", f->max_line);
        } else {
            out->type = POP3_FRAME_NEED_MORE;
        }
        return;
    }
    size_t n = (size_t)(lf - buf);
    out->consumed = n + 1;
    if (n && buf[n - 1] == '\r')
        n--;
    if (n > f->max_line) {
        out->type = POP3_FRAME_ERROR;
        snprintf(out->error, sizeof out->error,
                 "the server sent a line longer than %zu bytes", f->max_line);
        return;
    }
    out->data = buf;
    out->len = n;
    if (!f->multiline) {
        out->type = POP3_FRAME_LINE;
        return;
    }
    if (n == 1 && buf[0] == '.') {
        out->type = POP3_FRAME_END;
        f->multiline = false;
        return;
    }
    out->type = POP3_FRAME_DATA;
    if (n && buf[0] == '.') {
        out->data++;
        out->len--;
        out->unstuffed = true;
    }
}

/* A line that is exactly "." (CRLF or LF) starts at l, within end. */
static bool is_end_line(const uint8_t *l, const uint8_t *end)
{
    return end - l >= 2 && l[0] == '.' &&
           (l[1] == '\n' || (end - l >= 3 && l[1] == '\r' && l[2] == '\n'));
}

/* Whole lines at memchr speed rather than one call per line: the
 * closing "." can only follow a LF, and a line longer than max_line shows as
 * a window of max_line + 2 bytes without a line end. */
size_t pop3_data_run(const struct pop3_framer *f, const uint8_t *buf, size_t len)
{
    const uint8_t *last = f->multiline && len ? memrchr(buf, '\n', len) : NULL;
    if (!last || is_end_line(buf, last + 1))
        return 0;
    size_t stop = (size_t)(last - buf) + 1;
    /* Dots are rarer than line ends: look for them, then at the byte before. */
    for (const uint8_t *p = buf + 1; p < buf + stop && (p = memchr(p, '.', stop - (size_t)(p - buf)));
         p++)
        if (p[-1] == '\n' && is_end_line(p, buf + stop)) {
            stop = (size_t)(p - buf);
            break;
        }
    size_t pos = 0, win_max = f->max_line + 2;   /* the longest line, CRLF included */
    while (pos < stop) {
        size_t win = stop - pos < win_max ? stop - pos : win_max;
        const uint8_t *lf = memrchr(buf + pos, '\n', win);
        if (!lf)
            break;   /* a line longer than max_line starts at pos: the framer refuses it */
        /* Only a line filling the whole window can be one byte too long (LF only). */
        if (win == win_max && lf == buf + pos + win - 1 && lf[-1] != '\r' &&
            !memchr(buf + pos, '\n', win - 1))
            break;
        pos = (size_t)(lf - buf) + 1;
    }
    return pos;
}

void pop3_parse_status(const char *line, size_t len, struct pop3_status_line *st)
{
    memset(st, 0, sizeof *st);
    size_t skip;
    if (len >= 3 && strncasecmp(line, "+OK", 3) == 0 && (len == 3 || line[3] == ' ')) {
        st->status = POP3_ST_OK;
        skip = 3;
    } else if (len >= 4 && strncasecmp(line, "-ERR", 4) == 0 && (len == 4 || line[4] == ' ')) {
        st->status = POP3_ST_ERR;
        skip = 4;
    } else if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
        st->status = POP3_ST_CONT;
        skip = 1;
    } else {
        st->text = line;
        st->text_len = len;
        return;
    }
    if (skip < len)
        skip++;
    const char *t = line + skip;
    size_t tl = len - skip;
    if (st->status != POP3_ST_CONT && tl > 2 && t[0] == '[') {
        const char *close = memchr(t, ']', tl);
        if (close && (size_t)(close - t) - 1 < sizeof st->code) {
            size_t cl = (size_t)(close - t) - 1;
            for (size_t i = 0; i < cl; i++)
                st->code[i] = (char)toupper((unsigned char)t[1 + i]);
            size_t used = cl + 2;
            if (used < tl && t[used] == ' ')
                used++;
            t += used;
            tl -= used;
        }
    }
    st->text = t;
    st->text_len = tl;
}

bool pop3_apop_timestamp(const char *line, size_t len, char *out, size_t cap)
{
    const char *lt = memchr(line, '<', len);
    if (!lt)
        return false;
    const char *gt = memchr(lt, '>', len - (size_t)(lt - line));
    if (!gt)
        return false;
    size_t n = (size_t)(gt - lt) + 1;
    if (n >= cap || !memchr(lt, '@', n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)lt[i] < 0x21 || (unsigned char)lt[i] > 0x7e)
            return false;
    memcpy(out, lt, n);
    out[n] = 0;
    return true;
}
