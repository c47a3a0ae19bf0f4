/* textview — a scrollable list of sanitised lines, each with a role,
 * wrapped to the window's width. A line is either the view's own copy or
 * a key its source renders on demand (tv_source: the transcript pane's
 * lines). Per line the view keeps its first row, so scrolling is exact and
 * a row's line is a binary search; rows are recounted only when the width
 * changes. Follow mode keeps the newest line in view until the operator
 * scrolls back. */
#ifndef MAILSCOPE_TEXTVIEW_H
#define MAILSCOPE_TEXTVIEW_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theme.h"

/* A line the view keeps no copy of: its owner (the source) renders it from
 * a key when it is drawn or searched, so a million transcript lines cost
 * the view a struct tv_line each and not their text. */
struct tv_pattern {
    const char *pat;        /* lower-cased */
    size_t len;
    size_t anchor;          /* the byte of pat looked for first (tv_find_ci) */
};

struct tv_source {
    /* Line key's text, sanitised, into buf (NUL-terminated, cut at cap - 1
     * bytes); returns its length. */
    size_t (*render)(void *ctx, uint32_t key, char *buf, size_t cap);
    /* Of the keys first..last (the view's lines first..last in order, keys
     * rising), the first (forward) or last whose rendered text holds p;
     * UINT32_MAX when none. NULL: the view renders each line to search it. */
    uint32_t (*find)(void *ctx, uint32_t first, uint32_t last, const struct tv_pattern *p,
                     bool forward);
    void *ctx;
};

#define TV_RENDER_MAX 20000     /* bytes of one rendered line */

enum { TV_OWN = 1 };            /* tv_line.flags: the text is the view's own copy */

struct tv_line {
    uint64_t row;           /* its first row (rows are laid out for the width) */
    uint32_t key;           /* TV_OWN: index in texts; otherwise the source's key */
    uint8_t flags;
    uint8_t role, prefix_role;  /* enum role, for the text and its first prefix_len bytes */
    uint8_t prefix_len;
};

struct tv_text {
    char *text;             /* sanitised UTF-8, NUL-terminated, in the view's blocks */
    uint32_t ref;           /* the owner's reference (tpane: transcript event + 1), 0 if none */
};

/* Own texts are packed one after another (NUL-separated) in large blocks:
 * no allocation per line. */
struct tv_block {
    char *buf;
    size_t used, cap;
};

struct textview {
    struct tv_block *blocks;
    size_t n_blocks, blocks_cap;
    struct tv_text *texts;
    size_t n_texts, texts_cap;
    bool texts_unordered;   /* tv_materialize numbered texts out of line order */
    struct tv_line *lines;
    size_t n, cap;
    size_t n_rows;
    int width;
    size_t top;             /* first row shown */
    bool follow;
    size_t match_line;      /* highlighted search hit, SIZE_MAX if none */
    struct tv_source src;   /* renders the lines added with tv_add_keyed */
    char *scratch;          /* TV_RENDER_MAX bytes: the line rendered last */
};

void tv_init(struct textview *tv);
void tv_free(struct textview *tv);
void tv_clear(struct textview *tv);
/* Keep only the first n lines (their own texts' storage is given back):
 * a replay stepping back drops what follows instead of rebuilding. */
void tv_truncate(struct textview *tv, size_t n);
/* Append a line (text is copied; it must already be sanitised). */
void tv_add(struct textview *tv, enum role role, const char *text);
void tv_add_prefixed(struct textview *tv, enum role prefix_role, size_t prefix_len,
                     enum role role, const char *text);
/* Append text a server may have written: sanitised first (at most 16 KiB shown). */
void tv_add_text(struct textview *tv, enum role role, const char *text);
void tv_addf(struct textview *tv, enum role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A line the source renders from key (tv_set_source first). */
void tv_add_keyed(struct textview *tv, enum role prefix_role, size_t prefix_len, enum role role,
                  uint32_t key);
void tv_set_source(struct textview *tv, const struct tv_source *src);
/* Make every keyed line an own copy: before the source's data goes away. */
void tv_materialize(struct textview *tv);
/* Line i's text (an own line's copy, or a keyed line rendered into the
 * view's scratch buffer, valid until the next call); *len its length. */
const char *tv_text(struct textview *tv, size_t i, size_t *len);
/* Case-insensitive search of p in buf[from..to): candidates are found with
 * memchr on both cases of the anchor byte. Returns the offset or -1. */
long tv_find_ci(const char *buf, size_t from, size_t to, const struct tv_pattern *p);
/* Tag the line added last (an own one) with the owner's reference. */
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
