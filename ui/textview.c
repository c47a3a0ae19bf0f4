#include "textview.h"

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

void tv_clear(struct textview *tv)
{
    for (size_t i = 0; i < tv->n; i++)
        free(tv->lines[i].text);
    tv->n = tv->n_rows = tv->top = 0;
    tv->follow = true;
    tv->match_line = SIZE_MAX;
}

void tv_free(struct textview *tv)
{
    tv_clear(tv);
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
    char *copy = strdup(text);
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

bool tv_search(struct textview *tv, const char *pattern, bool forward, int height)
{
    if (!*pattern || !tv->n)
        return false;
    size_t start = tv->match_line != SIZE_MAX ? tv->match_line
                 : tv->top < tv->n_rows ? tv->rows[tv->top].line : 0;
    for (size_t k = 1; k <= tv->n; k++) {
        size_t i = forward ? (start + k) % tv->n : (start + tv->n - k) % tv->n;
        if (strcasestr(tv->lines[i].text, pattern)) {
            tv->match_line = i;
            size_t row = 0;
            while (row < tv->n_rows && tv->rows[row].line < i)
                row++;
            tv->follow = false;
            tv->top = row > (size_t)height / 2 ? row - (size_t)height / 2 : 0;
            tv_scroll(tv, 0, height);
            tv->follow = false;
            return true;
        }
    }
    return false;
}
