/* rlbridge — GNU readline inside an ncurses window, through readline's
 * callback interface. Readline owns nothing: it never touches the terminal
 * (no prep/deprep, no signals, no LINES/COLUMNS, output to /dev/null); we
 * feed it one byte at a time and draw its line ourselves.
 * See ../shared/design/readline-in-ncurses.md for the sixteen traps. */
#ifndef MAILSCOPE_RLBRIDGE_H
#define MAILSCOPE_RLBRIDGE_H

#include <curses.h>
#include <stdbool.h>

/* Called with each finished line (malloc'd; the callee frees), NULL on EOF. */
typedef void (*rlb_line_fn)(char *line);
/* Completion: a NULL-terminated malloc'd list for the word (or NULL). */
typedef char **(*rlb_complete_fn)(const char *word, bool first_word);

int rlb_init(const char *prompt, rlb_line_fn on_line, rlb_complete_fn complete,
             const char *history_path);
/* Feed one key from wgetch(): a byte, or a KEY_* code re-encoded as the
 * escape sequence readline expects. */
void rlb_feed_key(int key);
/* Draw prompt and line into w (one row) and leave the cursor where
 * readline's point is (wnoutrefresh; the caller does doupdate). */
void rlb_draw(WINDOW *w);
/* True when nothing has been typed on the line. */
bool rlb_line_empty(void);
/* Ctrl-C: drop the line being edited. */
void rlb_cancel(void);
/* Put text in the line for the operator to edit (the step preview). */
void rlb_prefill(const char *text);
/* Remember a line in the history (never a line with a credential). */
void rlb_remember(const char *line);
/* Set a new screen width after a resize. */
void rlb_resize(int cols);
/* Save the history and let go of readline. Safe to call twice. */
void rlb_shutdown(void);
/* The last completion list readline wanted to display ("" if none). */
const char *rlb_completion_note(void);
void rlb_completion_note_clear(void);

#endif
