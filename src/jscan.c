#include "jscan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void jscan_mem(struct jscan *s, const char *buf, size_t len)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->p = buf ? buf : "";
    s->len = len;
    s->eof = true;
    s->max_input = UINT64_MAX;
    s->line = 1;
}

void jscan_fd(struct jscan *s, int fd, size_t window, uint64_t max_input)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->p = "";
    s->read_max = window ? window : JSCAN_WINDOW;
    s->max_input = max_input;
    s->line = 1;
}

void jscan_free(struct jscan *s)
{
    free(s->buf);
    s->buf = NULL;
    s->p = "";
    s->len = 0;
}

static void stop(struct jscan *s, enum jscan_status why)
{
    s->eof = true;
    if (!s->status)
        s->status = why;
}

/* Room at the window's end: what is before keep goes, and the window
 * doubles only when what must stay fills it. */
static bool make_room(struct jscan *s)
{
    size_t drop = (size_t)(s->keep - s->base);
    if (drop) {
        memmove(s->buf, s->buf + drop, s->len - drop);
        s->len -= drop;
        s->base += drop;
    }
    if (s->len < s->cap)
        return true;
    size_t cap = s->cap ? s->cap * 2 : s->read_max;
    char *b = realloc(s->buf, cap);
    if (!b)
        return false;
    s->buf = b;
    s->cap = cap;
    return true;
}

/* More bytes at the window's end: true, or false when the input ended. */
static bool fill(struct jscan *s)
{
    if (s->eof)
        return false;
    if (!make_room(s)) {
        stop(s, JSCAN_NOMEM);
        return false;
    }
    s->p = s->buf;
    size_t want = s->cap - s->len;
    if (want > s->read_max)
        want = s->read_max;
    ssize_t got;
    do
        got = read(s->fd, s->buf + s->len, want);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        s->io_errno = errno;
        stop(s, JSCAN_IO);
        return false;
    }
    if (got == 0) {
        s->eof = true;
        return false;
    }
    s->len += (size_t)got;
    if (s->base + s->len > s->max_input) {
        stop(s, JSCAN_HUGE);
        return false;
    }
    return true;
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int jscan_peek(struct jscan *s)
{
    for (;;) {
        s->keep = s->pos;
        const char *p = s->p + (s->pos - s->base), *end = s->p + s->len;
        for (; p < end && is_space(*p); p++)
            if (*p == '\n') {
                s->line++;
                s->line_start = s->base + (uint64_t)(p + 1 - s->p);
            }
        s->pos = s->keep = s->base + (uint64_t)(p - s->p);
        if (p < end)
            return (unsigned char)*p;
        if (!fill(s))
            return -1;
    }
}

void jscan_skip(struct jscan *s)
{
    if (s->pos < s->base + s->len)
        s->pos++;
}

/* The scan's state between windows. */
struct run {
    unsigned depth;
    bool scalar, in_str, esc;
};

/* Scan the window's bytes from the cursor: true when the value ended (the
 * cursor just past it), false when the window ran out first or *st was set
 * (too deep). A number or a name ends at the first byte that is not part of
 * it, which stays at the cursor. */
static bool scan_window(struct jscan *s, struct run *r, unsigned max_depth, enum jscan_status *st)
{
    const char *p = s->p + (s->pos - s->base), *end = s->p + s->len;
    bool ended = false;
    while (p < end && !ended) {
        if (r->in_str && !r->esc)   /* the bulk of a file: string bytes with nothing to see */
            while (p < end && *p != '"' && *p != '\\' && *p != '\n')
                p++;
        if (p == end)
            break;
        char c = *p;
        if (r->scalar) {
            if (is_space(c) || (c && strchr(",:]}[{\"", c)))
                ended = true;
            else
                p++;
            continue;
        }
        p++;
        if (c == '\n') {
            s->line++;
            s->line_start = s->base + (uint64_t)(p - s->p);
        }
        if (r->in_str) {
            if (r->esc)
                r->esc = false;
            else if (c == '\\')
                r->esc = true;
            else if (c == '"') {
                r->in_str = false;
                ended = !r->depth;
            }
        } else if (c == '"') {
            r->in_str = true;
        } else if (c == '{' || c == '[') {
            if (++r->depth > max_depth) {
                *st = JSCAN_DEEP;
                break;
            }
        } else if (c == '}' || c == ']') {
            ended = !--r->depth;
        }
    }
    s->pos = s->base + (uint64_t)(p - s->p);
    return ended;
}

enum jscan_status jscan_value(struct jscan *s, size_t max, unsigned max_depth, const char **v,
                              size_t *n)
{
    int c = jscan_peek(s);
    *v = NULL;
    *n = 0;
    if (c < 0)
        return s->status ? s->status : JSCAN_END;
    s->v_start = s->keep = s->pos;
    s->v_line = s->line;
    s->v_line_start = s->line_start;
    struct run r = { 0 };
    if (c == '"')
        r.in_str = true;
    else if (c == '{' || c == '[')
        r.depth = 1;
    else if (strchr(",:]}", c))
        return JSCAN_SYNTAX;
    else
        r.scalar = true;
    if (r.depth > max_depth)
        return JSCAN_DEEP;
    s->pos++;
    enum jscan_status st = JSCAN_OK;
    for (;;) {
        bool ended = scan_window(s, &r, max_depth, &st);
        if (st)
            return st;
        if (s->pos - s->v_start > max)
            return JSCAN_BIG;
        if (ended)
            break;
        if (!fill(s)) {
            if (!r.scalar || s->status)
                return s->status ? s->status : JSCAN_END;
            break;   /* a number or name at the very end of the input */
        }
    }
    *v = s->p + (s->v_start - s->base);
    *n = (size_t)(s->pos - s->v_start);
    return JSCAN_OK;
}

void jscan_where(const struct jscan *s, unsigned long *line, unsigned long *col)
{
    *line = s->line;
    *col = (unsigned long)(s->pos - s->line_start) + 1;
}

void jscan_where_in_value(const struct jscan *s, size_t off, unsigned long *line,
                          unsigned long *col)
{
    const char *v = s->p + (s->v_start - s->base);
    size_t avail = (size_t)(s->base + s->len - s->v_start);
    if (off > avail)
        off = avail;
    unsigned long l = s->v_line;
    uint64_t start = s->v_line_start;
    for (size_t i = 0; i < off; i++)
        if (v[i] == '\n') {
            l++;
            start = s->v_start + i + 1;
        }
    *line = l;
    *col = (unsigned long)(s->v_start + off - start) + 1;
}
