/* wrap — cut sanitised UTF-8 text into rows of at most width terminal
 * columns (wcwidth), at character boundaries, preferring the last space.
 * No terminal needed: the console's panes and the tests both use it.
 * The caller sets an UTF-8 locale (setlocale) before use. */
#ifndef MAILSCOPE_WRAP_H
#define MAILSCOPE_WRAP_H

#include <stddef.h>

struct wrap_row {
    size_t off, len;    /* bytes of the input */
};

/* Fill up to max rows; returns how many rows the text needs (may be more
 * than max: then only the first max are filled). Empty text is one row. */
size_t wrap_rows(const char *s, size_t len, int width, struct wrap_row *rows, size_t max);
/* Display columns of s[0..len) (a character wcwidth cannot measure counts 1). */
int wrap_columns(const char *s, size_t len);

#endif
