/* paint.c — the layout and one paint per loop turn: step bar, transcript,
 * inspector, status line, command line, help overlay. Nothing here changes
 * the session; it only reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certnames.h"
#include "cmdtable.h"
#include "console_int.h"
#include "fingerprint.h"
#include "rlbridge.h"
#include "sanitize.h"

#define MIN_COLS 80
#define MIN_ROWS 24

static void drop(WINDOW **w)
{
    if (*w)
        delwin(*w);
    *w = NULL;
}

void console_layout(struct console *c)
{
    drop(&c->wstep);
    drop(&c->wtrans);
    drop(&c->wsep);
    drop(&c->wins);
    drop(&c->wstatus);
    drop(&c->wcmd);
    getmaxyx(stdscr, c->rows, c->cols);
    c->too_small = c->cols < MIN_COLS || c->rows < MIN_ROWS;
    int body = c->rows - 3, tw = c->cols * 58 / 100;
    if (!c->too_small) {
        c->wstep = newwin(1, c->cols, 0, 0);
        c->wtrans = newwin(body, tw, 1, 0);
        c->wsep = newwin(body, 1, 1, tw);
        c->wins = newwin(body, c->cols - tw - 1, 1, tw + 1);
        c->wstatus = newwin(1, c->cols, c->rows - 2, 0);
    }
    /* The command line always exists: it owns the keyboard. */
    c->wcmd = newwin(1, c->cols, c->rows - 1, 0);
    keypad(c->wcmd, TRUE);
    nodelay(c->wcmd, TRUE);
    rlb_resize(c->cols);
    clearok(curscr, TRUE);
}

static void step_bar(struct console *c)
{
    WINDOW *w = c->wstep;
    werase(w);
    wbkgd(w, theme_attr(ROLE_STATUS));
    if (c->rec) {
        replay_step_bar(c, w);
        wnoutrefresh(w);
        return;
    }
    enum session_proto proto = c->have_session ? c->o.url.proto : SESSION_IMAP;
    enum plan_step next = c->have_session ? plan_next(&c->plan) : STEP_CONNECT;
    for (int st = STEP_CONNECT; st < STEP_DONE; st++) {
        if ((st == STEP_DISCOVER || st == STEP_COMMAND) && (int)next != st)
            continue;   /* shown only when it will run: an Exchange that names itself nowhere */
        wattrset(w, st == (int)next ? theme_attr(ROLE_ACTIVE)
                    : st < (int)next ? theme_attr(ROLE_STATUS) | A_DIM : theme_attr(ROLE_STATUS));
        wprintw(w, " %s ", plan_step_name((enum plan_step)st, proto));
    }
    char preview[300] = "";
    if (c->have_session)
        plan_preview(&c->plan, preview, sizeof preview);
    wattrset(w, theme_attr(ROLE_STATUS));
    if (next < STEP_DONE)
        wprintw(w, "  F5: %s  F6: edit", c->have_session ? preview : "connect");
    wnoutrefresh(w);
}

static const char *state_word(struct console *c)
{
    if (!c->have_session)
        return "not connected";
    switch (session_state(c->s)) {
    case SST_CONNECTING: return "connecting";
    case SST_NOT_AUTHENTICATED: return "connected";
    case SST_AUTHENTICATED: return "authenticated";
    case SST_SELECTED: return "selected";
    case SST_LOGGING_OUT: return "logging out";
    case SST_CLOSED: return "closed";
    default: return "idle";
    }
}

/* The last reply's round trip: the newest finished command. */
static double last_rtt_ms(const struct transcript *t)
{
    for (size_t i = t->n; i-- > 0;) {
        const struct tr_event *e = &t->ev[i];
        if (e->kind == TR_OP_END && e->op != OP_CONNECT && e->op != OP_TLS && e->op != OP_LOGIN)
            return e->elapsed_us / 1000.0;
    }
    return -1;
}

/* Seconds since the op in flight began, for the spinner. */
static double waiting_s(const struct transcript *t)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->ev[i].kind == TR_OP_BEGIN)
            return (loop_now_us() - t->t0_us - t->ev[i].t_us) / 1e6;
    return 0;
}

static void status_line(struct console *c)
{
    WINDOW *w = c->wstatus;
    werase(w);
    wbkgd(w, theme_attr(ROLE_STATUS));
    wmove(w, 0, 0);
    if (c->rec) {
        replay_status(c, w);
    } else if (c->have_session) {
        const struct tls_info *tls = session_tls(c->s);
        bool secure = session_secure(c->s);
        wprintw(w, " %s:%u %s | ", c->o.url.host, c->o.url.port,
                c->o.url.proto == SESSION_IMAP ? "IMAP" : "POP3");
        wattrset(w, secure && tls && tls->verified ? theme_attr(ROLE_STATUS)
                                                   : theme_attr(ROLE_BANNER_BAD));
        wprintw(w, "%s", secure ? (tls && tls->verified ? tls->version : "TLS UNVERIFIED")
                                : "PLAINTEXT");
        wattrset(w, theme_attr(ROLE_STATUS));
        char name[256];
        const char *greeting = session_greeting(c->s);
        bool named = certnames_server_name(greeting, c->t.has_ntlm ? &c->t.ntlm : NULL, name,
                                           sizeof name) != NULL;
        wprintw(w, " | %s | %s%s", state_word(c),
                fingerprint_family(greeting, session_current_caps(c->s)), named ? " " : "");
        if (named) {   /* the server's own name: it may differ from the one typed */
            char *clean = sanitize_text(name, strlen(name), 80);
            waddstr(w, clean ? clean : "");
            free(clean);
        }
        double rtt = last_rtt_ms(&c->t);
        if (rtt >= 0)
            wprintw(w, " | rtt %.1f ms", rtt);
        if (session_busy(c->s)) {
            static const char spin[] = "|/-\\";
            double s = waiting_s(&c->t);
            wprintw(w, " | waiting %c %.1fs", spin[(int)(s * 5) % 4], s);
        }
    } else {
        wprintw(w, " not connected");
    }
    if (c->message[0]) {
        wprintw(w, " | ");
        wattrset(w, theme_attr(ROLE_ACTIVE));
        char *clean = sanitize_text(c->message, strlen(c->message), 400);
        waddstr(w, clean ? clean : "");
        free(clean);
        wattrset(w, theme_attr(ROLE_STATUS));
    } else {
        wprintw(w, c->rec ? " | ] [ step  F1 help" : " | F1 help F5 step Tab focus");
    }
    wnoutrefresh(w);
}

static void command_line(struct console *c)
{
    WINDOW *w = c->wcmd;
    if (c->prompt == PROMPT_NONE) {
        rlb_draw(w);
        return;
    }
    werase(w);
    if (c->prompt == PROMPT_PASSWORD) {
        mvwprintw(w, 0, 0, "Password: ");
        for (size_t i = 0; i < c->plen; i++)
            if ((c->pbuf[i] & 0xc0) != 0x80)
                waddch(w, '*');
    } else {
        c->pbuf[c->plen] = 0;
        char *clean = sanitize_text(c->pbuf, c->plen, 200);
        mvwprintw(w, 0, 0, "%s%s", c->prompt == PROMPT_SEARCH ? "Search: " : "yes/no: ",
                  clean ? clean : "");
        free(clean);
    }
    wnoutrefresh(w);
}

static void help_overlay(struct console *c)
{
    int h = c->rows - 4, w = c->cols - 8;
    WINDOW *win = newwin(h, w, 2, 4);
    if (!win)
        return;
    werase(win);
    box(win, 0, 0);
    int y = 1;
    static const char *const keys[] = {
        "F1 this help (any key closes it)      F5 run the next step (/step)",
        "F6 put the next step's command in the command line to edit (/skip skips it)",
        "Tab / Shift-Tab  move the focus: command line, transcript, inspector",
        "PgUp PgDn  scroll the focused pane (the transcript from the command line)",
        "Transcript: Up Down Home End scroll, / search, n N next / previous hit,",
        "  v view the literal in view ({N bytes}): ] [ next / previous MiB, Esc or q closes",
        "Inspector: Left Right or 1-5 switch tabs (Chain TLS Caps Diagnosis Walkthrough)",
        "Walkthrough tab: d done, f failed, s skip (an action); y yes, n no (a question)",
        "Ctrl-L redraw   Ctrl-C cancel the command in flight (twice: leave)   Ctrl-D leave",
        "A line that is not a /command goes to the server as typed (IMAP: tagged a001",
        "when it has no tag). // sends a line that starts with a slash.",
        "Lines marked in yellow were sent or received in clear text (before TLS).",
        "Replay (mailscope replay FILE.json): ] [ next / previous event (F5 next),",
        "  } { next / previous command, > < end / start, /goto SECONDS|+Ns|#N|end|start",
        NULL };
    wattrset(win, theme_attr(ROLE_TITLE));
    mvwaddnstr(win, y++, 2, "mailscope: keys", w - 4);
    wattrset(win, A_NORMAL);
    for (int i = 0; keys[i] && y < h - 1; i++)
        mvwaddnstr(win, y++, 2, keys[i], w - 4);
    wattrset(win, theme_attr(ROLE_TITLE));
    if (y < h - 1)
        mvwaddnstr(win, y++, 2, "Commands", w - 4);
    wattrset(win, A_NORMAL);
    for (int i = 0; i < CMD_COUNT && y < h - 1; i++)
        mvwprintw(win, y++, 2, "%-12s %-16s %.*s", cmdtable[i].name, cmdtable[i].args,
                  w - 36 > 0 ? w - 36 : 0, cmdtable[i].help);
    wnoutrefresh(win);
    delwin(win);
}

static void literal_viewer(struct console *c)
{
    WINDOW *win = newwin(c->rows - 4, c->cols - 8, 2, 4);
    if (!win)
        return;
    werase(win);
    box(win, 0, 0);
    wnoutrefresh(win);
    WINDOW *body = derwin(win, c->rows - 6, c->cols - 10, 1, 1);
    if (body) {
        tv_draw(&c->viewer, body);
        delwin(body);
    }
    delwin(win);
}

static void too_small(struct console *c)
{
    werase(stdscr);
    mvwprintw(stdscr, 0, 0, "mailscope needs a terminal of at least %dx%d (this one is %dx%d).",
              MIN_COLS, MIN_ROWS, c->cols, c->rows);
    mvwprintw(stdscr, 1, 0, "Make it larger, or leave with Ctrl-C twice.");
    wnoutrefresh(stdscr);
    rlb_draw(c->wcmd);
}

void paint(struct console *c)
{
    if (c->redraw) {
        clearok(curscr, TRUE);
        c->redraw = false;
    }
    if (c->too_small) {
        too_small(c);
        doupdate();
        return;
    }
    if (c->have_session && !session_busy(c->s))
        plan_settle(&c->plan);   /* the step bar shows the step that will really run */
    if (c->have_session || c->rec)
        tpane_sync(&c->tp, &c->t);
    c->ip.walk = c->wk.active ? &c->wk.w : NULL;
    c->ip.walk_checking = c->wk.checking;
    ipane_refresh(&c->ip, &c->t, c->have_session ? c->s : NULL);
    step_bar(c);
    tv_draw(&c->tp.tv, c->wtrans);
    werase(c->wsep);
    wattrset(c->wsep, theme_attr(c->focus == FOCUS_INSPECTOR ? ROLE_ACTIVE : ROLE_DIM));
    for (int y = 0; y < getmaxy(c->wsep); y++)
        mvwaddch(c->wsep, y, 0, ACS_VLINE);
    wnoutrefresh(c->wsep);
    ipane_draw(&c->ip, c->wins, c->focus == FOCUS_INSPECTOR);
    status_line(c);
    if (c->viewing)
        literal_viewer(c);
    if (c->help)
        help_overlay(c);
    command_line(c);   /* last: the hardware cursor ends in the command line */
    doupdate();
}
