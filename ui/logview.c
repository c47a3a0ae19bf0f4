#include "logview.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logscan.h"
#include "sanitize.h"
#include "textview.h"
#include "theme.h"

struct logview {
    struct logscan ls;
    size_t sel, top;            /* the selected group, the first one shown */
    bool detail;
    struct textview tv;         /* the open group */
    WINDOW *body;
};

/* s sanitised, cut or padded to width columns (a column a character). */
static void fit(char *out, size_t outlen, const char *s, int width)
{
    char *c = sanitize_text(s ? s : "", s ? strlen(s) : 0, 0);
    const char *t = c ? c : "";
    size_t o = 0;
    int cols = 0;
    for (size_t i = 0; t[i] && cols < width;) {
        size_t k = i + 1;
        while (t[k] && ((unsigned char)t[k] & 0xC0) == 0x80)
            k++;
        if (o + (k - i) + 1 >= outlen)
            break;
        bool last = cols == width - 1 && t[k];
        if (last) {
            out[o++] = '~';             /* cut here */
            i = k;
        } else
            while (i < k)
                out[o++] = t[i++];
        cols++;
    }
    while (cols++ < width && o + 1 < outlen)
        out[o++] = ' ';
    out[o] = 0;
    free(c);
}

static int list_rows(void)
{
    return LINES - 3 > 1 ? LINES - 3 : 1;
}

static void draw_list(struct logview *v)
{
    erase();
    const struct logscan *ls = &v->ls;
    char head[512];
    snprintf(head, sizeof head, " mailscope logscan: %llu failures in %zu groups, %zu files, "
             "%llu lines (%llu malformed)", (unsigned long long)ls->failures, ls->n, ls->n_files,
             (unsigned long long)ls->lines, (unsigned long long)ls->malformed);
    attrset(theme_attr(ROLE_TITLE));
    char row[2048];
    fit(row, sizeof row, head, COLS);
    mvaddstr(0, 0, row);
    int ew = COLS - 8 - 21 - 16 - 11;
    if (ew < 10)
        ew = 10;
    char e[600], u[300], c[100], r[60];
    fit(e, sizeof e, "ERROR", ew);
    fit(u, sizeof u, "USER", 20);
    fit(c, sizeof c, "CLIENT", 15);
    snprintf(row, sizeof row, "%7s %s %s %s RULE", "COUNT", e, u, c);
    attrset(theme_attr(ROLE_DIM));
    mvaddnstr(1, 0, row, COLS);
    if (!ls->n) {
        bool errors = ls->read_error;
        attrset(theme_attr(errors ? ROLE_NO : ROLE_OK));
        mvaddnstr(2, 1, errors ? "Some files could not be read (see mailscope logscan without --tui)."
                               : "No failure in these logs.", COLS - 2);
    }
    int rows = list_rows();
    for (int i = 0; i < rows && v->top + (size_t)i < ls->n; i++) {
        size_t gi = v->top + (size_t)i;
        const struct logscan_group *g = &ls->g[gi];
        fit(e, sizeof e, g->error, ew);
        fit(u, sizeof u, g->user[0] ? g->user : "-", 20);
        fit(c, sizeof c, g->client[0] ? g->client : "-", 15);
        fit(r, sizeof r, g->rule ? g->rule->id : "-", 10);
        snprintf(row, sizeof row, "%7llu %s %s %s %s", (unsigned long long)g->count, e, u, c, r);
        attrset(gi == v->sel ? theme_attr(ROLE_ACTIVE) | A_REVERSE
                             : theme_attr(g->rule ? ROLE_NORMAL : ROLE_NO));
        mvaddnstr(2 + i, 0, row, COLS);
    }
    attrset(theme_attr(ROLE_STATUS));
    fit(row, sizeof row, " Up/Down PgUp/PgDn Home/End: move   Enter: the group, its samples, rule "
        "and fix   q: quit", COLS);
    mvaddstr(LINES - 1, 0, row);
    attrset(A_NORMAL);
    refresh();
}

static void when(char *out, size_t n, const char *dt)
{
    snprintf(out, n, "%s", dt[0] ? dt : "?");
}

static void open_group(struct logview *v)
{
    const struct logscan_group *g = &v->ls.g[v->sel];
    struct textview *tv = &v->tv;
    tv_clear(tv);
    char a[48], b[48];
    when(a, sizeof a, g->first);
    when(b, sizeof b, g->last);
    char *e = sanitize_text(g->error, strlen(g->error), 400);
    char *u = sanitize_text(g->user, strlen(g->user), 200);
    char *c = sanitize_text(g->client, strlen(g->client), 100);
    tv_addf(tv, ROLE_TITLE, "%s  (%llu times, from %s)", e ? e : "", (unsigned long long)g->count,
            g->source);
    tv_addf(tv, ROLE_NORMAL, "user %s, client %s, protocol %s%s%s", u && *u ? u : "-",
            c && *c ? c : "-", g->protos & 2 ? "IMAP4" : "",
            (g->protos & 6) == 6 ? " and " : "", g->protos & 4 ? "POP3" : "");
    free(e);
    free(u);
    free(c);
    tv_addf(tv, ROLE_NORMAL, "first seen %s, last seen %s", a, b);
    for (size_t i = 0; i < g->n_servers; i++) {
        char t[320];
        snprintf(t, sizeof t, "server address %s", g->servers[i]);
        tv_add_text(tv, ROLE_NORMAL, t);
    }
    for (size_t i = 0; i < g->n_proxies; i++) {
        char t[320];
        snprintf(t, sizeof t, "proxied to the backend %s", g->proxies[i]);
        tv_add_text(tv, ROLE_NORMAL, t);
    }
    if (g->reply && g->reply[0]) {
        char t[700];
        snprintf(t, sizeof t, "reply: %s", g->reply);
        tv_add_text(tv, ROLE_NO, t);
    }
    tv_add(tv, ROLE_NORMAL, "");
    tv_add(tv, ROLE_TITLE, "Sample lines");
    for (size_t i = 0; i < g->n_samples; i++) {
        char t[700];
        snprintf(t, sizeof t, "%s:%llu", g->sample[i].file, (unsigned long long)g->sample[i].line);
        tv_add_text(tv, ROLE_DIM, t);
        tv_add_text(tv, ROLE_NORMAL, g->sample[i].text);
    }
    tv_add(tv, ROLE_NORMAL, "");
    if (!g->rule) {
        tv_add(tv, ROLE_NO, "No known rule explains this failure.");
        return;
    }
    const struct rule *r = g->rule;
    tv_addf(tv, ROLE_TITLE, "Rule %s (%s, by the %s): %s", r->id, g->confidence,
            !strcmp(g->basis, "reply") ? "reply alone" : "log's ErrMsg", r->title);
    char *x = r->explanation ? logscan_fill(g, r->explanation) : NULL;
    if (x)
        tv_add_text(tv, ROLE_NORMAL, x);
    free(x);
    x = r->cause ? logscan_fill(g, r->cause) : NULL;
    if (x) {
        tv_addf(tv, ROLE_DIM, "Cause:");
        tv_add_text(tv, ROLE_NORMAL, x);
    }
    free(x);
    tv_add(tv, ROLE_NORMAL, "");
    tv_add(tv, ROLE_TITLE, "Fix");
    for (size_t i = 0; i < r->n_fix; i++) {
        char *f = logscan_fill(g, r->fix[i]);
        char t[RULES_MAX_LINE * 2 + 16];
        snprintf(t, sizeof t, "%zu. %s", i + 1, f ? f : "");
        tv_add_text(tv, ROLE_SENT, t);
        free(f);
    }
    x = r->verify ? logscan_fill(g, r->verify) : NULL;
    if (x) {
        tv_add(tv, ROLE_NORMAL, "");
        tv_addf(tv, ROLE_DIM, "Verify:");
        tv_add_text(tv, ROLE_NORMAL, x);
    }
    free(x);
    if (r->source)
        tv_add_text(tv, ROLE_DIM, r->source);
}

static void draw_detail(struct logview *v)
{
    erase();
    char row[2048];
    attrset(theme_attr(ROLE_TITLE));
    fit(row, sizeof row, " mailscope logscan: a group", COLS);
    mvaddstr(0, 0, row);
    attrset(theme_attr(ROLE_STATUS));
    fit(row, sizeof row, " Up/Down PgUp/PgDn: scroll   Esc, Backspace or q: back to the list",
        COLS);
    mvaddstr(LINES - 1, 0, row);
    attrset(A_NORMAL);
    refresh();
    if (v->body)
        delwin(v->body);
    v->body = newwin(LINES - 2 > 1 ? LINES - 2 : 1, COLS, 1, 0);
    tv_draw(&v->tv, v->body);
    wnoutrefresh(v->body);
    doupdate();
}

static void move_sel(struct logview *v, long d)
{
    if (!v->ls.n)
        return;
    long s = (long)v->sel + d;
    if (s < 0)
        s = 0;
    if (s >= (long)v->ls.n)
        s = (long)v->ls.n - 1;
    v->sel = (size_t)s;
    size_t rows = (size_t)list_rows();
    if (v->sel < v->top)
        v->top = v->sel;
    if (v->sel >= v->top + rows)
        v->top = v->sel - rows + 1;
}

/* One key; false to leave. */
static bool key(struct logview *v, int k)
{
    int h = LINES - 2 > 1 ? LINES - 2 : 1;
    if (v->detail) {
        switch (k) {
        case 'q': case 27: case KEY_BACKSPACE: case 127: case KEY_LEFT: v->detail = false; break;
        case KEY_UP: case 'k': tv_scroll(&v->tv, -1, h); break;
        case KEY_DOWN: case 'j': tv_scroll(&v->tv, 1, h); break;
        case KEY_PPAGE: tv_scroll(&v->tv, -(h - 1), h); break;
        case KEY_NPAGE: case ' ': tv_scroll(&v->tv, h - 1, h); break;
        case KEY_HOME: tv_home(&v->tv); break;
        case KEY_END: tv_end(&v->tv, h); break;
        default: break;
        }
        return true;
    }
    switch (k) {
    case 'q': case 27: return false;
    case KEY_UP: case 'k': move_sel(v, -1); break;
    case KEY_DOWN: case 'j': move_sel(v, 1); break;
    case KEY_PPAGE: move_sel(v, -(long)list_rows()); break;
    case KEY_NPAGE: move_sel(v, list_rows()); break;
    case KEY_HOME: move_sel(v, -(long)v->ls.n); break;
    case KEY_END: move_sel(v, (long)v->ls.n); break;
    case '\r': case '\n': case KEY_ENTER: case KEY_RIGHT:
        if (v->ls.n) {
            open_group(v);
            tv_home(&v->tv);
            v->detail = true;
        }
        break;
    default: break;
    }
    return true;
}

int logview_main(int argc, char **argv)
{
    struct logscan_args a;
    char err[256];
    if (logscan_parse_args(argc, argv, &a, err, sizeof err) < 0 || !a.tui)
        return logscan_main(argc, argv);
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "mailscope logscan: --tui needs a terminal\n");
        return 2;
    }
    static struct logview v;
    logscan_init(&v.ls);
    for (int i = 0; i < a.n_paths; i++)
        logscan_add_path(&v.ls, a.paths[i]);
    logscan_finish(&v.ls);
    tv_init(&v.tv);
    setlocale(LC_ALL, "");
    initscr();
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    theme_init();
    for (;;) {
        if (v.detail)
            draw_detail(&v);
        else
            draw_list(&v);
        int k = getch();
        if (k == 3 || k == ERR)         /* Ctrl-C (raw mode), or the terminal went away */
            break;
        if (!key(&v, k))
            break;
    }
    if (v.body)
        delwin(v.body);
    endwin();
    for (size_t i = 0; i < v.ls.n_files; i++)
        if (v.ls.f[i].error) {
            char *c = sanitize_text(v.ls.f[i].error, strlen(v.ls.f[i].error), 0);
            fprintf(stderr, "mailscope logscan: %s\n", c ? c : "");
            free(c);
        }
    int code = logscan_exit_code(&v.ls);
    tv_free(&v.tv);
    logscan_free(&v.ls);
    return code;
}
