/* jscan — walks JSON text without building it, so that a loader can take a
 * huge document one value at a time (src/trjson.c: a million-event
 * recording). It finds where one value ends (strings and their escapes
 * understood, brackets counted, no recursion) and hands back its bytes for
 * the caller to parse (json_loadb); the caller walks the structure around
 * the values itself with jscan_peek / jscan_skip.
 * Contract:
 *  - Input is a buffer in memory or a file descriptor read through a window;
 *    the window holds the value being scanned and what is read ahead, so its
 *    size follows the largest value asked for, never the input's.
 *  - Every value is bounded by the caller: longer than max bytes or nested
 *    deeper than max_depth is refused as soon as it is seen. The input is
 *    bounded too (max_input bytes), whatever the descriptor turns out to be.
 *  - It checks structure only (strings close, brackets balance); the bytes
 *    handed back still have to be parsed.
 *  - Lines and columns are counted for messages. */
#ifndef MAILSCOPE_JSCAN_H
#define MAILSCOPE_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSCAN_WINDOW (1024u * 1024)     /* a descriptor's first window (and largest read) */

enum jscan_status {
    JSCAN_OK,
    JSCAN_END,          /* the input ended inside a value (or before one) */
    JSCAN_SYNTAX,       /* no value starts here, or a closing bracket without an opening one */
    JSCAN_DEEP,         /* nested deeper than max_depth */
    JSCAN_BIG,          /* the value is longer than max */
    JSCAN_HUGE,         /* the input is longer than max_input */
    JSCAN_IO,           /* read() failed: errno in io_errno */
    JSCAN_NOMEM,
};

struct jscan {
    int fd;                     /* -1: the input is the buffer */
    char *buf;                  /* the window (fd): owned */
    const char *p;              /* the window's first byte */
    size_t len, cap;            /* bytes in the window; its allocation */
    size_t read_max;            /* most bytes one read() asks for */
    uint64_t base;              /* input offset of p[0] */
    uint64_t pos;               /* the cursor */
    uint64_t keep;              /* from here on, bytes stay in the window */
    uint64_t max_input;
    bool eof;
    enum jscan_status status;   /* why the input stopped early (JSCAN_OK: it ended) */
    int io_errno;
    unsigned long line;         /* of the cursor, from 1 */
    uint64_t line_start;        /* input offset of that line's first byte */
    /* The last value's start, for positions inside it. */
    uint64_t v_start;
    unsigned long v_line;
    uint64_t v_line_start;
};

/* Walk len bytes in memory (borrowed, must outlive s). */
void jscan_mem(struct jscan *s, const char *buf, size_t len);
/* Read fd (borrowed, not closed) to its end, window bytes at a time (0:
 * JSCAN_WINDOW; tests use tiny windows so that values straddle reads);
 * more than max_input bytes stops it with JSCAN_HUGE. */
void jscan_fd(struct jscan *s, int fd, size_t window, uint64_t max_input);
void jscan_free(struct jscan *s);

/* The next byte that is not whitespace, left at the cursor; -1 when the
 * input ends (s->status says whether it ended early, and why). */
int jscan_peek(struct jscan *s);
/* Past the byte jscan_peek returned. */
void jscan_skip(struct jscan *s);
/* The value at the cursor (after jscan_peek): its bytes in *v, *n, valid
 * until the next call; the cursor goes past it. JSCAN_OK, or why not. */
enum jscan_status jscan_value(struct jscan *s, size_t max, unsigned max_depth, const char **v,
                              size_t *n);
/* Line and column (from 1) of the cursor, or of byte off of the last value. */
void jscan_where(const struct jscan *s, unsigned long *line, unsigned long *col);
void jscan_where_in_value(const struct jscan *s, size_t off, unsigned long *line,
                          unsigned long *col);

#endif
