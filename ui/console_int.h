/* console_int — the console's state, shared by console.c (loop, session,
 * lines typed), keys.c (the keyboard) and paint.c (drawing). Only ui/. */
#ifndef MAILSCOPE_CONSOLE_INT_H
#define MAILSCOPE_CONSOLE_INT_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmdtable.h"
#include "compare.h"
#include "ipane.h"
#include "options.h"
#include "plan.h"
#include "session.h"
#include "tpane.h"
#include "transcript.h"
#include "walk.h"
#include "walkcheck.h"
#include "recording.h"

enum focus { FOCUS_CMD, FOCUS_TRANSCRIPT, FOCUS_INSPECTOR, FOCUS_COUNT };
enum prompt { PROMPT_NONE, PROMPT_PASSWORD, PROMPT_CONFIRM, PROMPT_SEARCH };

/* What waits for the operator's answer at a prompt. */
enum pending_kind { PEND_NONE, PEND_STEP, PEND_LOGIN, PEND_RAW };

struct pending {
    enum pending_kind kind;
    enum session_auth mech;
    char user[256];
    char *line;             /* PEND_RAW: the typed line (may hold a credential: wiped) */
};

/* The guided walkthrough (walkui.c). */
struct walk_ui {
    struct playbook_set set;
    bool loaded;
    struct walk w;
    bool active;            /* w was started (it may be over: its outcome stays shown) */
    struct walkcheck check;
    bool checking;          /* check runs on the loop for the walk's current step */
    unsigned check_gen;
    unsigned backend_port;  /* --backend-port, 0: 1993/1995 */
    bool retest_auth_set;   /* --retest-auth: the login check's mechanism */
    enum session_auth retest_auth;
    char *retest_secret;    /* --retest-password-env: its secret (wiped) */
    char pending_id[80];    /* mailscope walkthrough ID URL: start ID when the plan is done */
    size_t hinted;          /* transcript events looked at for a failure to offer a walk for */
};

struct console {
    struct loop *loop;
    struct ms_options o;
    char *secret;           /* password or token: from the options or asked; wiped */
    bool secret_typed;      /* asked at the prompt (a typed /login asks again */
    bool secret_spent;      /* ... once a login has used it) */
    struct session *s;
    struct transcript t;
    bool have_session;
    struct plan plan;
    struct tpane tp;
    struct ipane ip;
    WINDOW *wstep, *wtrans, *wsep, *wins, *wstatus, *wcmd;
    int rows, cols;
    bool too_small;
    enum focus focus;
    enum prompt prompt;
    char pbuf[1024];
    size_t plen;
    struct pending pend;
    char search[256];
    bool help, quit, redraw;
    bool viewing;           /* the literal viewer overlay is open */
    struct textview viewer;
    uint32_t viewer_ref;    /* the literal in the viewer (a transcript reference) */
    uint64_t viewer_page;   /* its page shown (spilled literals are paged) */
    int ctrl_c;
    struct compare *cmp;    /* a /compare under way, else NULL */
    struct sni_check *sni;  /* a /sni under way, else NULL */
    int steps_queued;       /* F5 presses waiting for the step in flight */
    char message[600];
    int sig_pipe[2];
    int exit_code;
    struct walk_ui wk;
    /* replay (mailscope replay FILE.json): read-only over a recording */
    struct recording *rec;  /* NULL in a live console */
    const char *rec_name;
    size_t rec_pos;         /* events shown: c->t is rec->t cut at rec_pos (borrowed) */
    struct lab *lab;        /* mailscope --lab: the lab in this loop (ui/labface.c) */
    bool lab_in_ps;
    char lab_url[160];
};

/* console.c */
void console_line(struct console *c, char *line);
void console_message(struct console *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void console_step(struct console *c);
void console_cancel(struct console *c);
void console_prompt_done(struct console *c, bool accepted);
void console_layout(struct console *c);
char **console_complete(const char *word, bool first_word);

/* console.c: the console over a loaded recording (replay.c loads it). */
int console_replay(struct recording *rec, const char *name);

/* replay.c: what the console does differently in a replay */
void replay_seek(struct console *c, size_t pos);
/* A key replay handles (stepping, refusals): true when it used it. */
bool replay_key(struct console *c, int key);
/* A typed line or command that would reach a server: refused (true). */
bool replay_refuses(struct console *c, const struct cmd_info *cmd);
void replay_goto(struct console *c, const char *args);
void replay_status(struct console *c, WINDOW *w);
void replay_step_bar(struct console *c, WINDOW *w);

/* keys.c */
void keys_handle(struct console *c, int key);

/* walkui.c */
void walkui_start(struct console *c, const char *id);
void walkui_command(struct console *c, enum cmd_id id, const char *args);
void walkui_answer(struct console *c, const char *word, const char *note);
bool walkui_waiting(const struct console *c);
/* A key in the inspector's Walkthrough tab (d f s y n); true when used. */
bool walkui_key(struct console *c, int key);
/* Every loop turn: runs the current check, starts a pending walkthrough. */
void walkui_tick(struct console *c);
void walkui_session_ends(struct console *c, const char *why);
void walkui_free(struct console *c);

/* paint.c */
void paint(struct console *c);

#endif
