#include "rlbridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <readline/history.h>
#include <readline/readline.h>

static int pending_byte = -1;
static rlb_line_fn line_fn;
static rlb_complete_fn complete_fn;
static char *history_file;
static bool active;
static char completion_note[512];
static FILE *devnull;

/* Readline asks for a byte only when we fed one: it never reads stdin. */
static int getc_cb(FILE *f)
{
    (void)f;
    int c = pending_byte;
    pending_byte = -1;
    return c < 0 ? EOF : c;
}

static int input_available_cb(void) { return pending_byte >= 0; }

/* Drawing happens in rlb_draw, once per loop turn, never from readline. */
static void redisplay_cb(void) {}

static void handler(char *line)
{
    if (line_fn)
        line_fn(line);
    else
        free(line);
}

static char *generator(const char *text, int state)
{
    static char **list;
    static size_t idx;
    if (!state) {
        free(list);    /* strings were handed to readline, only the array is ours */
        list = complete_fn ? complete_fn(text, rl_point == (int)strlen(text)) : NULL;
        idx = 0;
    }
    return list && list[idx] ? list[idx++] : NULL;
}

static char **attempted(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;   /* no file-name completion */
    return rl_completion_matches(text, generator);
}

/* Readline would print the list on its own stream: keep it for the screen. */
static void display_matches(char **matches, int n, int max)
{
    (void)max;
    size_t o = 0;
    completion_note[0] = 0;
    for (int i = 1; i <= n && o + 2 < sizeof completion_note; i++)
        o += (size_t)snprintf(completion_note + o, sizeof completion_note - o, "%s%s",
                              i > 1 ? "  " : "", matches[i]);
}

int rlb_init(const char *prompt, rlb_line_fn on_line, rlb_complete_fn complete,
             const char *history_path)
{
    line_fn = on_line;
    complete_fn = complete;
    devnull = fopen("/dev/null", "w");
    rl_readline_name = "mailscope";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_prep_term_function = NULL;
    rl_deprep_term_function = NULL;
    rl_getc_function = getc_cb;
    rl_input_available_hook = input_available_cb;
    rl_redisplay_function = redisplay_cb;
    rl_outstream = devnull;
    rl_instream = NULL;
    rl_attempted_completion_function = attempted;
    rl_completion_display_matches_hook = display_matches;
    rl_initialize();   /* reads ~/.inputrc: emacs or vi editing as the user likes */
    rl_variable_bind("enable-bracketed-paste", "off");
    rl_variable_bind("bell-style", "none");
    using_history();
    stifle_history(1000);
    if (history_path) {
        history_file = strdup(history_path);
        read_history(history_file);
    }
    rl_callback_handler_install(prompt, handler);
    active = true;
    return 0;
}

static void feed_byte(int c)
{
    pending_byte = c & 0xff;
    rl_callback_read_char();
}

static void feed_seq(const char *seq)
{
    for (; *seq; seq++)
        feed_byte((unsigned char)*seq);
}

void rlb_feed_key(int key)
{
    if (!active)
        return;
    switch (key) {
    case KEY_LEFT: feed_seq("\033[D"); break;
    case KEY_RIGHT: feed_seq("\033[C"); break;
    case KEY_UP: feed_seq("\033[A"); break;
    case KEY_DOWN: feed_seq("\033[B"); break;
    case KEY_HOME: feed_seq("\033[H"); break;
    case KEY_END: feed_seq("\033[F"); break;
    case KEY_DC: feed_seq("\033[3~"); break;
    case KEY_BACKSPACE: feed_byte(127); break;
    case KEY_ENTER: feed_byte('\r'); break;
    default:
        if (key >= 0 && key < 256)
            feed_byte(key);
    }
}

void rlb_draw(WINDOW *w)
{
    int cols = getmaxx(w);
    werase(w);
    const char *prompt = rl_display_prompt ? rl_display_prompt : "";
    const char *line = rl_line_buffer ? rl_line_buffer : "";
    int pcols = (int)mbstowcs(NULL, prompt, 0);
    if (pcols < 0)
        pcols = (int)strlen(prompt);
    /* Columns up to the point, so the cursor lands on the right character. */
    char *head = strndup(line, (size_t)rl_point);
    int point_cols = head ? (int)mbstowcs(NULL, head, 0) : rl_point;
    free(head);
    if (point_cols < 0)
        point_cols = rl_point;
    int scroll = pcols + point_cols >= cols ? pcols + point_cols - cols + 1 : 0;
    mvwaddstr(w, 0, 0, prompt);
    /* Show the line from the horizontal scroll offset (in characters). */
    const char *p = line;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (int skipped = 0; *p && skipped < scroll; skipped++) {
        size_t n = mbrlen(p, MB_CUR_MAX, &st);
        p += n == (size_t)-1 || n == (size_t)-2 || n == 0 ? 1 : n;
    }
    waddnstr(w, p, -1);
    wmove(w, 0, pcols + point_cols - scroll < cols ? pcols + point_cols - scroll : cols - 1);
    wnoutrefresh(w);
}

bool rlb_line_empty(void) { return !rl_line_buffer || !rl_line_buffer[0]; }

void rlb_cancel(void)
{
    if (!active)
        return;
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_replace_line("", 0);
    rl_point = 0;
    completion_note[0] = 0;
}

void rlb_prefill(const char *text)
{
    if (!active)
        return;
    rl_replace_line(text, 0);
    rl_point = rl_end;
}

void rlb_remember(const char *line)
{
    if (*line)
        add_history(line);
}

void rlb_resize(int cols)
{
    if (active)
        rl_set_screen_size(1, cols);
}

const char *rlb_completion_note(void) { return completion_note; }
void rlb_completion_note_clear(void) { completion_note[0] = 0; }

void rlb_shutdown(void)
{
    if (!active)
        return;
    active = false;
    rl_callback_handler_remove();
    if (history_file)
        write_history(history_file);
    free(history_file);
    history_file = NULL;
    if (devnull)
        fclose(devnull);
    devnull = NULL;
}
