#include "textview.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sanitize.h"
#include "wrap.h"

void tv_init(struct textview *tv)
{
    memset(tv, 0, sizeof *tv);
    tv->follow = true;
    tv->match_line = SIZE_MAX;
}

#define TV_BLOCK (1u << 20)

void tv_clear(struct textview *tv)
{
    for (size_t i = 0; i < tv->n_blocks; i++)
        free(tv->blocks[i].buf);
    tv->n_blocks = 0;
    tv->n = tv->n_rows = tv->top = 0;
    tv->follow = true;
    tv->match_line = SIZE_MAX;
}

void tv_free(struct textview *tv)
{
    tv_clear(tv);
    free(tv->blocks);
    free(tv->lines);
    free(tv->rows);
    memset(tv, 0, sizeof *tv);
}

static void add_rows(struct textview *tv, size_t line)
{
    const char *t = tv->lines[line].text;
    size_t len = strlen(t);
    struct wrap_row tmp[64];
    size_t need = wrap_rows(t, len, tv->width, tmp, 64);
    struct wrap_row *rows = need <= 64 ? tmp : malloc(need * sizeof *rows);
    if (!rows)
        return;
    if (need > 64)
        wrap_rows(t, len, tv->width, rows, need);
    if (tv->n_rows + need > tv->rows_cap) {
        size_t cap = tv->rows_cap ? tv->rows_cap : 256;
        while (cap < tv->n_rows + need)
            cap *= 2;
        struct tv_row *r = realloc(tv->rows, cap * sizeof *r);
        if (!r) {
            if (rows != tmp)
                free(rows);
            return;
        }
        tv->rows = r;
        tv->rows_cap = cap;
    }
    for (size_t i = 0; i < need; i++)
        tv->rows[tv->n_rows++] = (struct tv_row){ (uint32_t)line, (uint32_t)rows[i].off,
                                                  (uint32_t)rows[i].len };
    if (rows != tmp)
        free(rows);
}

static void relayout(struct textview *tv, int width)
{
    size_t top_line = tv->n_rows && tv->top < tv->n_rows ? tv->rows[tv->top].line : 0;
    tv->width = width;
    tv->n_rows = 0;
    for (size_t i = 0; i < tv->n; i++)
        add_rows(tv, i);
    tv->top = 0;
    while (tv->top + 1 < tv->n_rows && tv->rows[tv->top].line < top_line)
        tv->top++;
}

/* A copy of text[0..len) in the current block (a new one when it is full;
 * a text longer than a block gets a block of its own). */
static char *store(struct textview *tv, const char *text, size_t len)
{
    struct tv_block *b = tv->n_blocks ? &tv->blocks[tv->n_blocks - 1] : NULL;
    if (!b || b->cap - b->used < len + 1) {
        if (tv->n_blocks == tv->blocks_cap) {
            size_t cap = tv->blocks_cap ? tv->blocks_cap * 2 : 8;
            struct tv_block *nb = realloc(tv->blocks, cap * sizeof *nb);
            if (!nb)
                return NULL;
            tv->blocks = nb;
            tv->blocks_cap = cap;
        }
        size_t cap = len + 1 > TV_BLOCK ? len + 1 : TV_BLOCK;
        char *buf = malloc(cap);
        if (!buf)
            return NULL;
        b = &tv->blocks[tv->n_blocks++];
        *b = (struct tv_block){ .buf = buf, .cap = cap, .first_line = tv->n };
    }
    char *copy = b->buf + b->used;
    memcpy(copy, text, len);
    copy[len] = 0;
    b->used += len + 1;
    return copy;
}

void tv_add_prefixed(struct textview *tv, enum role prefix_role, size_t prefix_len,
                     enum role role, const char *text)
{
    if (tv->n == tv->cap) {
        size_t cap = tv->cap ? tv->cap * 2 : 256;
        struct tv_line *l = realloc(tv->lines, cap * sizeof *l);
        if (!l)
            return;
        tv->lines = l;
        tv->cap = cap;
    }
    char *copy = store(tv, text, strlen(text));
    if (!copy)
        return;
    tv->lines[tv->n] = (struct tv_line){ copy, role, prefix_role, (uint16_t)prefix_len, 0 };
    if (tv->width > 0)
        add_rows(tv, tv->n);
    tv->n++;
}

void tv_add_text(struct textview *tv, enum role role, const char *text)
{
    char *clean = sanitize_text(text, strlen(text), 16384);
    tv_add(tv, role, clean ? clean : "");
    free(clean);
}

void tv_addf(struct textview *tv, enum role role, const char *fmt, ...)
{
    char buf[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tv_add_text(tv, role, buf);
}

void tv_set_ref(struct textview *tv, uint32_t ref)
{
    if (tv->n)
        tv->lines[tv->n - 1].ref = ref;
}

uint32_t tv_ref_in_view(const struct textview *tv, int height)
{
    size_t end = tv->top + (size_t)height < tv->n_rows ? tv->top + (size_t)height : tv->n_rows;
    for (size_t r = end; r-- > tv->top;)
        if (tv->lines[tv->rows[r].line].ref)
            return tv->lines[tv->rows[r].line].ref;
    return 0;
}

void tv_add(struct textview *tv, enum role role, const char *text)
{
    tv_add_prefixed(tv, role, 0, role, text);
}

static void draw_row(struct textview *tv, WINDOW *w, int y, const struct tv_row *r)
{
    const struct tv_line *l = &tv->lines[r->line];
    const char *t = l->text + r->off;
    size_t len = r->len, pre = 0;
    if (r->off < l->prefix_len)
        pre = l->prefix_len - r->off < len ? l->prefix_len - r->off : len;
    wmove(w, y, 0);
    bool hit = r->line == tv->match_line;
    wattrset(w, hit ? theme_attr(ROLE_MATCH) : theme_attr(l->prefix_role));
    waddnstr(w, t, (int)pre);
    wattrset(w, hit ? theme_attr(ROLE_MATCH) : theme_attr(l->role));
    waddnstr(w, t + pre, (int)(len - pre));
    wattrset(w, A_NORMAL);
}

void tv_draw(struct textview *tv, WINDOW *w)
{
    int h = getmaxy(w), width = getmaxx(w);
    if (width != tv->width)
        relayout(tv, width);
    if (tv->follow)
        tv->top = tv->n_rows > (size_t)h ? tv->n_rows - (size_t)h : 0;
    werase(w);
    for (int y = 0; y < h && tv->top + (size_t)y < tv->n_rows; y++)
        draw_row(tv, w, y, &tv->rows[tv->top + (size_t)y]);
    wnoutrefresh(w);
}

void tv_scroll(struct textview *tv, long delta, int height)
{
    long max_top = (long)tv->n_rows - height;
    if (max_top < 0)
        max_top = 0;
    long top = (long)tv->top + delta;
    if (top < 0)
        top = 0;
    if (top > max_top)
        top = max_top;
    tv->top = (size_t)top;
    tv->follow = top >= max_top;
}

void tv_home(struct textview *tv)
{
    tv->top = 0;
    tv->follow = false;
}

void tv_end(struct textview *tv, int height)
{
    tv->follow = true;
    tv_scroll(tv, (long)tv->n_rows, height);
}

/* The pattern byte to look for first: the one rarest in a sample of the
 * text, so that few candidates need checking (a common letter like 'e'
 * would make every line a candidate). */
static size_t anchor_of(const struct textview *tv, const char *pat, size_t plen)
{
    size_t count[256] = { 0 };
    const struct tv_block *b = &tv->blocks[tv->n_blocks / 2];
    size_t n = b->used < 65536 ? b->used : 65536;
    for (size_t i = 0; i < n; i++)
        count[tolower((unsigned char)b->buf[i])]++;
    size_t best = 0;
    for (size_t k = 1; k < plen; k++)
        if (count[(unsigned char)pat[k]] < count[(unsigned char)pat[best]])
            best = k;
    return best;
}

/* Case-insensitive search of pat (lower-cased, plen > 0) in buf[from..to):
 * candidates are found with memchr on both cases of the anchor byte, so a
 * million lines are scanned at memchr's speed. Returns the offset or -1. */
static long find_ci(const char *buf, size_t from, size_t to, const char *pat, size_t plen,
                    size_t anchor)
{
    unsigned char lo = (unsigned char)pat[anchor], up = (unsigned char)toupper(lo);
    const char *end = buf + to, *p = buf + from + anchor;
    const char *nl = NULL, *nu = NULL;   /* next candidate of each case, found lazily */
    while (p < end) {
        if (!nl || nl < p)
            nl = memchr(p, lo, (size_t)(end - p));
        if (up != lo && (!nu || nu < p))
            nu = memchr(p, up, (size_t)(end - p));
        if (!nl)
            nl = end;
        if (up == lo || !nu)
            nu = end;
        const char *c = (nl < nu ? nl : nu) - anchor;
        if (c + plen > end)
            return -1;
        size_t k = 0;
        while (k < plen && tolower((unsigned char)c[k]) == (unsigned char)pat[k])
            k++;
        if (k == plen)
            return c - buf;
        p = c + anchor + 1;
    }
    return -1;
}

/* The line whose text holds block offset off (lines are in order in a block). */
static size_t line_at(const struct textview *tv, size_t blk, size_t off)
{
    const struct tv_block *b = &tv->blocks[blk];
    size_t lo = b->first_line, hi = blk + 1 < tv->n_blocks ? tv->blocks[blk + 1].first_line : tv->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((size_t)(tv->lines[mid].text - b->buf) <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static size_t block_of(const struct textview *tv, size_t line)
{
    size_t lo = 0, hi = tv->n_blocks;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tv->blocks[mid].first_line <= line)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static size_t block_end_line(const struct textview *tv, size_t blk)
{
    return blk + 1 < tv->n_blocks ? tv->blocks[blk + 1].first_line : tv->n;
}

/* Where line's text starts in block blk; the block's end for a later line. */
static size_t line_off(const struct textview *tv, size_t blk, size_t line)
{
    return line < block_end_line(tv, blk) ? (size_t)(tv->lines[line].text - tv->blocks[blk].buf)
                                          : tv->blocks[blk].used;
}

/* Forward: the first line from `line` on that holds pat; backward: the last
 * one up to `line`. No wrapping; SIZE_MAX if none. */
static size_t search_from(const struct textview *tv, size_t line, const char *pat, size_t plen,
                          bool forward)
{
    size_t anchor = anchor_of(tv, pat, plen);
    size_t home = block_of(tv, line);
    if (forward) {
        for (size_t blk = home; blk < tv->n_blocks; blk++) {
            const struct tv_block *b = &tv->blocks[blk];
            long at = find_ci(b->buf, blk == home ? line_off(tv, blk, line) : 0, b->used, pat, plen,
                              anchor);
            if (at >= 0)
                return line_at(tv, blk, (size_t)at);
        }
        return SIZE_MAX;
    }
    for (size_t blk = home + 1; blk-- > 0;) {
        const struct tv_block *b = &tv->blocks[blk];
        size_t to = blk == home ? line_off(tv, blk, line + 1) : b->used, best = SIZE_MAX;
        for (size_t from = 0;;) {
            long at = find_ci(b->buf, from, to, pat, plen, anchor);
            if (at < 0)
                break;
            best = line_at(tv, blk, (size_t)at);
            from = line_off(tv, blk, best + 1);
        }
        if (best != SIZE_MAX)
            return best;
    }
    return SIZE_MAX;
}

static size_t first_row_of(const struct textview *tv, size_t line)
{
    size_t lo = 0, hi = tv->n_rows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tv->rows[mid].line < line)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool tv_search(struct textview *tv, const char *pattern, bool forward, int height)
{
    if (!*pattern || !tv->n)
        return false;
    size_t plen = strlen(pattern);
    char *pat = malloc(plen + 1);
    if (!pat)
        return false;
    for (size_t k = 0; k <= plen; k++)
        pat[k] = (char)tolower((unsigned char)pattern[k]);
    size_t start = tv->match_line != SIZE_MAX ? tv->match_line
                 : tv->top < tv->n_rows ? tv->rows[tv->top].line : 0;
    size_t i;
    if (forward) {
        i = start + 1 < tv->n ? search_from(tv, start + 1, pat, plen, true) : SIZE_MAX;
        if (i == SIZE_MAX)
            i = search_from(tv, 0, pat, plen, true);   /* wrap */
    } else {
        i = start > 0 ? search_from(tv, start - 1, pat, plen, false) : SIZE_MAX;
        if (i == SIZE_MAX)
            i = search_from(tv, tv->n - 1, pat, plen, false);
    }
    free(pat);
    if (i == SIZE_MAX)
        return false;
    tv->match_line = i;
    size_t row = first_row_of(tv, i);
    tv->follow = false;
    tv->top = row > (size_t)height / 2 ? row - (size_t)height / 2 : 0;
    tv_scroll(tv, 0, height);
    tv->follow = false;
    return true;
}
