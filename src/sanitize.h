/* sanitize — one sanitiser for every byte string a server controls, before
 * it reaches a terminal, a text transcript or an error message.
 * Contract: output is valid UTF-8 holding no C0/C1 control, no DEL, no bidi
 * or invisible format character; each is shown as a visible escape:
 *   NUL -> "<NUL>", TAB -> "\t", CR -> "\r", LF -> "\n", ESC -> "\x1b",
 *   other C0/DEL/raw C1/invalid UTF-8 bytes -> "\xNN" (one per byte),
 *   U+0080..U+009F and format characters (U+061C, U+200B-U+200F,
 *   U+202A-U+202E, U+2060-U+2069, U+FEFF) -> "<U+202E>" style,
 *   a backslash before x, r, n, t, another backslash, a control or a non-ASCII
 *   byte -> "\\" (so an escape in the output is never forged; IMAP's \Seen
 *   stays as it is).
 * Valid printable UTF-8 passes through unchanged. */
#ifndef MAILSCOPE_SANITIZE_H
#define MAILSCOPE_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Sanitise n bytes into a new NUL-terminated string (caller frees).
 * If max_out > 0 and the result would be longer, it is cut at a character
 * boundary and " …[N more bytes]" is appended, so the result stays under
 * max_out + 32 bytes. Returns NULL only on allocation failure. */
char *sanitize_text(const void *in, size_t n, size_t max_out);

/* True when n bytes are valid UTF-8 (shortest forms, no surrogates, <= U+10FFFF). */
bool sanitize_is_utf8(const void *in, size_t n);

/* True when sanitize_text() would return the input unchanged. */
bool sanitize_is_clean(const void *in, size_t n);

#endif
