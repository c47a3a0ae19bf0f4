/* textview — a scrollable list of sanitised lines, each with a role,
 * wrapped to the window's width. Rows are recomputed only when the width
 * changes; appending a line adds its rows. Follow mode keeps the newest
 * line in view until the operator scrolls back. */
#ifndef MAILSCOPE_TEXTVIEW_H
#define MAILSCOPE_TEXTVIEW_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theme.h"

struct tv_line {
    char *text;             /* sanitised UTF-8, NUL-terminated, in the view's text blocks */
    enum role role;
    enum role prefix_role;  /* for the first prefix_len bytes */
    uint16_t prefix_len;
    uint32_t ref;           /* the owner's reference (tpane: transcript event + 1), 0 if none */
};

struct tv_row {
    uint32_t line;
    uint32_t off, len;
};

/* Line texts are packed one after another (NUL-separated) in large blocks:
 * no allocation per line, and a search scans whole blocks. */
struct tv_block {
    char *buf;
    size_t used, cap;
    size_t first_line;      /* index of the first line stored in this block */
};

struct textview {
    struct tv_block *blocks;
    size_t n_blocks, blocks_cap;
    struct tv_line *lines;
    size_t n, cap;
    struct tv_row *rows;
    size_t n_rows, rows_cap;
    int width;
    size_t top;             /* first row shown */
    bool follow;
    size_t match_line;      /* highlighted search hit, SIZE_MAX if none */
};

void tv_init(struct textview *tv);
void tv_free(struct textview *tv);
void tv_clear(struct textview *tv);
/* Append a line (text is copied; it must already be sanitised). */
void tv_add(struct textview *tv, enum role role, const char *text);
void tv_add_prefixed(struct textview *tv, enum role prefix_role, size_t prefix_len,
                     enum role role, const char *text);
/* Append text a server may have written: sanitised first (at most 16 KiB shown). */
void tv_add_text(struct textview *tv, enum role role, const char *text);
void tv_addf(struct textview *tv, enum role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Tag the line added last with the owner's reference. */
void tv_set_ref(struct textview *tv, uint32_t ref);
/* The newest line in view that carries a reference, or 0. */
uint32_t tv_ref_in_view(const struct textview *tv, int height);
void tv_draw(struct textview *tv, WINDOW *w);
void tv_scroll(struct textview *tv, long delta, int height);
void tv_home(struct textview *tv);
void tv_end(struct textview *tv, int height);
/* Find pattern (case-insensitive) from the line after (forward) or before
 * the current hit; scrolls to it. Returns false when there is none. */
bool tv_search(struct textview *tv, const char *pattern, bool forward, int height);

#endif
