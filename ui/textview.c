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
    tv->n_blocks = tv->n_texts = 0;
    tv->texts_unordered = false;
    tv->n = tv->n_rows = tv->top = 0;
    tv->follow = true;
    tv->match_line = SIZE_MAX;
}

/* Own texts from number k on go, and the block bytes they used. */
static void drop_texts(struct textview *tv, size_t k)
{
    if (k >= tv->n_texts)
        return;
    const char *p = tv->texts[k].text;
    size_t b = tv->n_blocks;
    while (b > 0 && !(p >= tv->blocks[b - 1].buf && p < tv->blocks[b - 1].buf + tv->blocks[b - 1].cap))
        b--;
    if (b > 0) {
        for (size_t i = b; i < tv->n_blocks; i++)
            free(tv->blocks[i].buf);
        tv->n_blocks = b;
        tv->blocks[b - 1].used = (size_t)(p - tv->blocks[b - 1].buf);
    }
    tv->n_texts = k;
}

void tv_truncate(struct textview *tv, size_t n)
{
    if (n >= tv->n)
        return;
    /* Own texts are numbered in line order, so the first dropped line's is
     * where the kept lines' texts end; after tv_materialize they are not,
     * and the texts stay until tv_clear. */
    for (size_t i = n; i < tv->n && !tv->texts_unordered; i++)
        if (tv->lines[i].flags & TV_OWN) {
            drop_texts(tv, tv->lines[i].key);
            break;
        }
    tv->n_rows = tv->lines[n].row;
    tv->n = n;
    if (tv->top > tv->n_rows)
        tv->top = tv->n_rows;
    tv->follow = true;
    if (tv->match_line != SIZE_MAX && tv->match_line >= n)
        tv->match_line = SIZE_MAX;
}

void tv_free(struct textview *tv)
{
    tv_clear(tv);
    free(tv->blocks);
    free(tv->texts);
    free(tv->lines);
    free(tv->scratch);
    memset(tv, 0, sizeof *tv);
}

void tv_set_source(struct textview *tv, const struct tv_source *src)
{
    tv->src = *src;
}

const char *tv_text(struct textview *tv, size_t i, size_t *len)
{
    const struct tv_line *l = &tv->lines[i];
    if (l->flags & TV_OWN) {
        const char *t = l->key < tv->n_texts ? tv->texts[l->key].text : "";
        *len = strlen(t);
        return t;
    }
    if (!tv->scratch && !(tv->scratch = malloc(TV_RENDER_MAX))) {
        *len = 0;
        return "";
    }
    *len = tv->src.render ? tv->src.render(tv->src.ctx, l->key, tv->scratch, TV_RENDER_MAX) : 0;
    if (!tv->src.render)
        tv->scratch[0] = 0;
    return tv->scratch;
}

static size_t rows_of(struct textview *tv, size_t i)
{
    size_t len;
    const char *t = tv_text(tv, i, &len);
    return wrap_rows(t, len, tv->width, NULL, 0);
}

/* The line that row r (< n_rows) belongs to. */
static size_t line_of_row(const struct textview *tv, size_t r)
{
    size_t lo = 0, hi = tv->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tv->lines[mid].row <= r)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static void relayout(struct textview *tv, int width)
{
    size_t top_line = tv->top < tv->n_rows ? line_of_row(tv, tv->top) : 0;
    tv->width = width;
    tv->n_rows = 0;
    for (size_t i = 0; i < tv->n; i++) {
        tv->lines[i].row = tv->n_rows;
        tv->n_rows += rows_of(tv, i);
    }
    tv->top = top_line < tv->n ? tv->lines[top_line].row : 0;
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
        *b = (struct tv_block){ .buf = buf, .cap = cap };
    }
    char *copy = b->buf + b->used;
    memcpy(copy, text, len);
    copy[len] = 0;
    b->used += len + 1;
    return copy;
}

/* An own copy of text as text number n_texts; its index, or -1. */
static long add_text(struct textview *tv, const char *text, size_t len)
{
    if (tv->n_texts == tv->texts_cap) {
        size_t cap = tv->texts_cap ? tv->texts_cap * 2 : 256;
        struct tv_text *t = realloc(tv->texts, cap * sizeof *t);
        if (!t)
            return -1;
        tv->texts = t;
        tv->texts_cap = cap;
    }
    char *copy = store(tv, text, len);
    if (!copy)
        return -1;
    tv->texts[tv->n_texts] = (struct tv_text){ copy, 0 };
    return (long)tv->n_texts++;
}

static bool add_line(struct textview *tv, struct tv_line line)
{
    if (tv->n == tv->cap) {
        size_t cap = tv->cap ? tv->cap * 2 : 256;
        struct tv_line *l = realloc(tv->lines, cap * sizeof *l);
        if (!l)
            return false;
        tv->lines = l;
        tv->cap = cap;
    }
    line.row = tv->n_rows;
    tv->lines[tv->n] = line;
    if (tv->width > 0)
        tv->n_rows += rows_of(tv, tv->n);
    tv->n++;
    return true;
}

static uint8_t prefix_byte(size_t prefix_len)
{
    return (uint8_t)(prefix_len < UINT8_MAX ? prefix_len : UINT8_MAX);
}

void tv_add_prefixed(struct textview *tv, enum role prefix_role, size_t prefix_len,
                     enum role role, const char *text)
{
    long k = add_text(tv, text, strlen(text));
    if (k < 0)
        return;
    if (!add_line(tv, (struct tv_line){ .key = (uint32_t)k, .flags = TV_OWN, .role = (uint8_t)role,
                                        .prefix_role = (uint8_t)prefix_role,
                                        .prefix_len = prefix_byte(prefix_len) }))
        tv->n_texts--;
}

void tv_add_keyed(struct textview *tv, enum role prefix_role, size_t prefix_len, enum role role,
                  uint32_t key)
{
    add_line(tv, (struct tv_line){ .key = key, .role = (uint8_t)role,
                                   .prefix_role = (uint8_t)prefix_role,
                                   .prefix_len = prefix_byte(prefix_len) });
}

void tv_materialize(struct textview *tv)
{
    for (size_t i = 0; i < tv->n; i++) {
        if (tv->lines[i].flags & TV_OWN)
            continue;
        size_t len;
        const char *t = tv_text(tv, i, &len);
        long k = add_text(tv, t, len);
        tv->texts_unordered = true;
        tv->lines[i].key = k < 0 ? UINT32_MAX : (uint32_t)k;   /* out of memory: shown empty */
        tv->lines[i].flags |= TV_OWN;
    }
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
    const struct tv_line *l = tv->n ? &tv->lines[tv->n - 1] : NULL;
    if (l && (l->flags & TV_OWN) && l->key < tv->n_texts)
        tv->texts[l->key].ref = ref;
}

uint32_t tv_ref_in_view(const struct textview *tv, int height)
{
    if (tv->top >= tv->n_rows || height <= 0)
        return 0;
    size_t end = tv->top + (size_t)height < tv->n_rows ? tv->top + (size_t)height : tv->n_rows;
    size_t first = line_of_row(tv, tv->top);
    for (size_t i = line_of_row(tv, end - 1) + 1; i-- > first;)
        if ((tv->lines[i].flags & TV_OWN) && tv->lines[i].key < tv->n_texts &&
            tv->texts[tv->lines[i].key].ref)
            return tv->texts[tv->lines[i].key].ref;
    return 0;
}

void tv_add(struct textview *tv, enum role role, const char *text)
{
    tv_add_prefixed(tv, role, 0, role, text);
}

static void draw_row(struct textview *tv, WINDOW *w, int y, size_t line, const char *text,
                     const struct wrap_row *r)
{
    const struct tv_line *l = &tv->lines[line];
    const char *t = text + r->off;
    size_t len = r->len, pre = 0;
    if (r->off < l->prefix_len)
        pre = l->prefix_len - r->off < len ? l->prefix_len - r->off : len;
    wmove(w, y, 0);
    bool hit = line == tv->match_line;
    wattrset(w, hit ? theme_attr(ROLE_MATCH) : theme_attr((enum role)l->prefix_role));
    waddnstr(w, t, (int)pre);
    wattrset(w, hit ? theme_attr(ROLE_MATCH) : theme_attr((enum role)l->role));
    waddnstr(w, t + pre, (int)(len - pre));
    wattrset(w, A_NORMAL);
}

/* Draw line's rows from its row `from` on at window rows y.. < h; returns
 * the next window row. */
static int draw_line(struct textview *tv, WINDOW *w, int y, int h, size_t line, size_t from)
{
    size_t len;
    const char *t = tv_text(tv, line, &len);
    struct wrap_row tmp[64];
    size_t want = from + (size_t)(h - y);
    size_t max = want < 64 ? want : 64;
    size_t need = wrap_rows(t, len, tv->width, tmp, max);
    size_t have = need < want ? need : want;
    struct wrap_row *rows = tmp;
    if (have > 64 && (rows = malloc(have * sizeof *rows)) != NULL)
        wrap_rows(t, len, tv->width, rows, have);
    else if (have > 64)
        return h;
    for (size_t k = from; k < have && y < h; k++)
        draw_row(tv, w, y++, line, t, &rows[k]);
    if (rows != tmp)
        free(rows);
    return y;
}

void tv_draw(struct textview *tv, WINDOW *w)
{
    int h = getmaxy(w), width = getmaxx(w);
    if (width != tv->width)
        relayout(tv, width);
    if (tv->follow)
        tv->top = tv->n_rows > (size_t)h ? tv->n_rows - (size_t)h : 0;
    werase(w);
    if (tv->top < tv->n_rows) {
        size_t line = line_of_row(tv, tv->top), from = tv->top - tv->lines[line].row;
        for (int y = 0; y < h && line < tv->n; line++, from = 0)
            y = draw_line(tv, w, y, h, line, from);
    }
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
 * lines (64 spread over the view), so that few candidates need checking (a
 * common letter like 'e' would make every line a candidate). */
static size_t anchor_of(struct textview *tv, const char *pat, size_t plen)
{
    size_t count[256] = { 0 };
    size_t step = tv->n / 64 ? tv->n / 64 : 1;
    for (size_t i = 0; i < tv->n; i += step) {
        size_t len;
        const char *t = tv_text(tv, i, &len);
        for (size_t k = 0; k < len && k < 1024; k++)
            count[tolower((unsigned char)t[k])]++;
    }
    size_t best = 0;
    for (size_t k = 1; k < plen; k++)
        if (count[(unsigned char)pat[k]] < count[(unsigned char)pat[best]])
            best = k;
    return best;
}

long tv_find_ci(const char *buf, size_t from, size_t to, const struct tv_pattern *p)
{
    const char *pat = p->pat;
    size_t plen = p->len, anchor = p->anchor;
    unsigned char lo = (unsigned char)pat[anchor], up = (unsigned char)toupper(lo);
    const char *end = buf + to, *c0 = buf + from + anchor;
    const char *nl = NULL, *nu = NULL;   /* next candidate of each case, found lazily */
    if (to < from + plen)
        return -1;
    for (const char *q = c0; q < end;) {
        if (!nl || nl < q)
            nl = memchr(q, lo, (size_t)(end - q));
        if (up != lo && (!nu || nu < q))
            nu = memchr(q, up, (size_t)(end - q));
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
        q = c + anchor + 1;
    }
    return -1;
}

static bool line_has(struct textview *tv, size_t i, const struct tv_pattern *p)
{
    size_t len;
    const char *t = tv_text(tv, i, &len);
    return tv_find_ci(t, 0, len, p) >= 0;
}

/* The line of lines a..b (keyed, keys rising) whose key is key (the first
 * one after it if none is). */
static size_t line_of_key(const struct textview *tv, size_t a, size_t b, uint32_t key)
{
    size_t lo = a, hi = b + 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tv->lines[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo <= b ? lo : b;
}

/* The hit among keyed lines a..b (a <= b), first or last; SIZE_MAX if none. */
static size_t search_run(struct textview *tv, size_t a, size_t b, const struct tv_pattern *p,
                         bool forward)
{
    if (tv->src.find) {
        uint32_t k = tv->src.find(tv->src.ctx, tv->lines[a].key, tv->lines[b].key, p, forward);
        return k == UINT32_MAX ? SIZE_MAX : line_of_key(tv, a, b, k);
    }
    for (size_t n = 0; n <= b - a; n++) {
        size_t i = forward ? a + n : b - n;
        if (line_has(tv, i, p))
            return i;
    }
    return SIZE_MAX;
}

static bool keyed(const struct textview *tv, size_t i)
{
    return !(tv->lines[i].flags & TV_OWN);
}

/* Forward: the first line from `line` on that holds p; backward: the last
 * one up to `line`. No wrapping; SIZE_MAX if none. Own lines are searched
 * one by one, each run of keyed lines by the source at once. */
static size_t search_from(struct textview *tv, size_t line, const struct tv_pattern *p,
                          bool forward)
{
    if (forward) {
        for (size_t i = line; i < tv->n;) {
            if (!keyed(tv, i)) {
                if (line_has(tv, i, p))
                    return i;
                i++;
                continue;
            }
            size_t j = i;
            while (j + 1 < tv->n && keyed(tv, j + 1))
                j++;
            size_t hit = search_run(tv, i, j, p, true);
            if (hit != SIZE_MAX)
                return hit;
            i = j + 1;
        }
        return SIZE_MAX;
    }
    for (size_t i = line + 1; i-- > 0;) {
        if (!keyed(tv, i)) {
            if (line_has(tv, i, p))
                return i;
            continue;
        }
        size_t j = i;
        while (j > 0 && keyed(tv, j - 1))
            j--;
        size_t hit = search_run(tv, j, i, p, false);
        if (hit != SIZE_MAX)
            return hit;
        i = j;
    }
    return SIZE_MAX;
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
    struct tv_pattern p = { pat, plen, anchor_of(tv, pat, plen) };
    size_t start = tv->match_line != SIZE_MAX && tv->match_line < tv->n ? tv->match_line
                 : tv->top < tv->n_rows ? line_of_row(tv, tv->top) : 0;
    size_t i;
    if (forward) {
        i = start + 1 < tv->n ? search_from(tv, start + 1, &p, true) : SIZE_MAX;
        if (i == SIZE_MAX)
            i = search_from(tv, 0, &p, true);   /* wrap */
    } else {
        i = start > 0 ? search_from(tv, start - 1, &p, false) : SIZE_MAX;
        if (i == SIZE_MAX)
            i = search_from(tv, tv->n - 1, &p, false);
    }
    free(pat);
    if (i == SIZE_MAX)
        return false;
    tv->match_line = i;
    size_t row = tv->width > 0 ? tv->lines[i].row : 0;
    tv->follow = false;
    tv->top = row > (size_t)height / 2 ? row - (size_t)height / 2 : 0;
    tv_scroll(tv, 0, height);
    tv->follow = false;
    return true;
}
