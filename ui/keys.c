/* keys.c — what each key does, by focus and prompt. The command line is
 * readline's unless a prompt (password, confirmation, search) is open. */
#include <string.h>

#include "console_int.h"
#include "rlbridge.h"

#define CTRL(k) ((k) & 0x1f)

static int pane_height(WINDOW *w) { return w ? getmaxy(w) : 1; }

static void prompt_key(struct console *c, int key)
{
    if (key == '\r' || key == '\n' || key == KEY_ENTER) {
        console_prompt_done(c, true);
    } else if (key == 27 || key == CTRL('c') || key == CTRL('g')) {
        console_prompt_done(c, false);
    } else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        /* drop a whole UTF-8 character */
        while (c->plen && (c->pbuf[--c->plen] & 0xc0) == 0x80) {}
    } else if (key == CTRL('u')) {
        c->plen = 0;
    } else if (key >= 0x20 && key < 256 && key != 127 && c->plen + 1 < sizeof c->pbuf) {
        c->pbuf[c->plen++] = (char)key;
    }
}

static void scroll_focused(struct console *c, long delta)
{
    if (c->focus == FOCUS_INSPECTOR)
        tv_scroll(&c->ip.tv, delta, pane_height(c->wins) - 1);
    else
        tv_scroll(&c->tp.tv, delta, pane_height(c->wtrans));
}

/* F6: the next step's command in the command line, for the operator to edit
 * and send by hand. The login step becomes /login so no password is typed. */
static void edit_step(struct console *c)
{
    char text[400] = "";
    if (!c->have_session) {
        snprintf(text, sizeof text, "/connect %s", c->o.url_text ? c->o.url_text : "imap://");
    } else if (plan_next(&c->plan) == STEP_LOGIN) {
        const char *user = c->o.user ? c->o.user : "";
        if (c->o.auth == AUTH_DEFAULT || c->o.auth == AUTH_LOGIN || c->o.auth == AUTH_USER)
            snprintf(text, sizeof text, "/login %s", user);
        else
            snprintf(text, sizeof text, "/auth %s %s", session_auth_name(c->o.auth), user);
    } else if (plan_next(&c->plan) == STEP_CONNECT) {
        snprintf(text, sizeof text, "/connect %s", c->o.url_text ? c->o.url_text : "");
    } else if (plan_next(&c->plan) < STEP_DONE) {
        plan_preview(&c->plan, text, sizeof text);
        plan_skip(&c->plan);   /* the operator sends it instead */
    }
    c->focus = FOCUS_CMD;
    rlb_prefill(text);
}

/* Keys that work wherever the focus is. Returns true when it used the key. */
static bool global_key(struct console *c, int key)
{
    int page = pane_height(c->wtrans) - 1;
    switch (key) {
    case KEY_F(1): c->help = !c->help; return true;
    case KEY_F(5): console_step(c); return true;
    case KEY_F(6): edit_step(c); return true;
    case CTRL('l'): c->redraw = true; return true;
    case CTRL('c'): rlb_cancel(); console_cancel(c); return true;
    case KEY_PPAGE: scroll_focused(c, -page); return true;
    case KEY_NPAGE: scroll_focused(c, page); return true;
    case KEY_BTAB: c->focus = (enum focus)((c->focus + FOCUS_COUNT - 1) % FOCUS_COUNT); return true;
    case KEY_RESIZE: console_layout(c); return true;
    default: return false;
    }
}

static void transcript_key(struct console *c, int key)
{
    struct textview *tv = &c->tp.tv;
    int h = pane_height(c->wtrans);
    switch (key) {
    case KEY_UP: tv_scroll(tv, -1, h); break;
    case KEY_DOWN: tv_scroll(tv, 1, h); break;
    case KEY_HOME: tv_home(tv); break;
    case KEY_END: tv_end(tv, h); break;
    case '/':
        c->prompt = PROMPT_SEARCH;
        c->plen = 0;
        break;
    case 'n': case 'N':
        c->message[0] = 0;
        if (!tv_search(tv, c->search, key == 'n', h))
            console_message(c, c->search[0] ? "not found: %s" : "no search yet: press /%s",
                            c->search);
        break;
    case '\t': c->focus = FOCUS_INSPECTOR; break;
    case 'v':
        if ((c->have_session || c->rec) && tv_ref_in_view(tv, h)) {
            c->viewer_ref = tv_ref_in_view(tv, h);
            c->viewer_page = tpane_literal_page(&c->t, c->viewer_ref, 0, &c->viewer);
            c->viewing = true;
        } else {
            console_message(c, "no literal in view");
        }
        break;
    default:
        if (key >= 0x20 && key < 256) {   /* typing goes to the command line */
            c->focus = FOCUS_CMD;
            rlb_feed_key(key);
        }
    }
}

static void inspector_key(struct console *c, int key)
{
    int h = pane_height(c->wins) - 1;
    if (walkui_key(c, key))
        return;
    switch (key) {
    case KEY_LEFT: c->ip.tab = (enum ipane_tab)((c->ip.tab + TAB_COUNT - 1) % TAB_COUNT); break;
    case KEY_RIGHT: c->ip.tab = (enum ipane_tab)((c->ip.tab + 1) % TAB_COUNT); break;
    case KEY_UP: tv_scroll(&c->ip.tv, -1, h); break;
    case KEY_DOWN: tv_scroll(&c->ip.tv, 1, h); break;
    case KEY_HOME: tv_home(&c->ip.tv); break;
    case KEY_END: tv_end(&c->ip.tv, h); break;
    case '\t': c->focus = FOCUS_CMD; break;
    default:
        if (key >= '1' && key < '1' + TAB_COUNT)
            c->ip.tab = (enum ipane_tab)(key - '1');
        else if (key >= 0x20 && key < 256) {
            c->focus = FOCUS_CMD;
            rlb_feed_key(key);
        }
    }
}

static void command_key(struct console *c, int key)
{
    /* Tab completes a word; on an empty line it moves the focus. */
    if (key == '\t' && rlb_line_empty()) {
        c->focus = FOCUS_TRANSCRIPT;
        return;
    }
    rlb_feed_key(key);
    if (*rlb_completion_note()) {   /* several matches: show them */
        console_message(c, "%s", rlb_completion_note());
        rlb_completion_note_clear();
    }
}

static void viewer_key(struct console *c, int key)
{
    int h = c->rows - 6;
    switch (key) {
    case 27: case 'q': case CTRL('c'): c->viewing = false; break;
    case KEY_UP: tv_scroll(&c->viewer, -1, h); break;
    case KEY_DOWN: tv_scroll(&c->viewer, 1, h); break;
    case KEY_PPAGE: tv_scroll(&c->viewer, -h, h); break;
    case KEY_NPAGE: case ' ': tv_scroll(&c->viewer, h, h); break;
    case KEY_HOME: tv_home(&c->viewer); break;
    case KEY_END: tv_end(&c->viewer, h); break;
    case ']': case '[':
        if (key == ']' || c->viewer_page > 0)
            c->viewer_page = tpane_literal_page(&c->t, c->viewer_ref,
                                                c->viewer_page + (key == ']' ? 1 : -1),
                                                &c->viewer);
        break;
    default: break;
    }
}

void keys_handle(struct console *c, int key)
{
    if (c->viewing && key != KEY_RESIZE) {
        viewer_key(c, key);
        return;
    }
    if (c->help && key != KEY_F(1) && key != KEY_RESIZE) {
        c->help = false;   /* any key closes the help overlay */
        return;
    }
    if (c->prompt != PROMPT_NONE) {
        prompt_key(c, key);
        return;
    }
    if (c->rec && replay_key(c, key))
        return;
    if (global_key(c, key))
        return;
    if (key != CTRL('c'))
        c->ctrl_c = 0;
    switch (c->focus) {
    case FOCUS_TRANSCRIPT: transcript_key(c, key); break;
    case FOCUS_INSPECTOR: inspector_key(c, key); break;
    default: command_key(c, key); break;
    }
}
