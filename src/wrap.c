#include "wrap.h"

#include <stdbool.h>
#include <string.h>
#include <wchar.h>

/* One character: its byte length and display width. */
static size_t next_char(const char *s, size_t len, int *cols)
{
    if ((unsigned char)*s < 0x80) {     /* ASCII: one column (what the slow path gives too) */
        *cols = 1;
        return 1;
    }
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t n = mbrtowc(&wc, s, len, &st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        *cols = 1;
        return 1;
    }
    int w = wcwidth(wc);
    *cols = w < 0 ? 1 : w;
    return n;
}

int wrap_columns(const char *s, size_t len)
{
    int total = 0;
    for (size_t i = 0; i < len;) {
        int c;
        i += next_char(s + i, len - i, &c);
        total += c;
    }
    return total;
}

/* The end of the row that starts at off: as many characters as fit in
 * width, cut after the last space in it when there is one. */
static size_t row_end(const char *s, size_t len, size_t off, int width)
{
    int used = 0;
    size_t i = off, last_space = 0;
    while (i < len) {
        int c;
        size_t n = next_char(s + i, len - i, &c);
        if (used + c > width && i > off)
            break;
        used += c;
        i += n;
        if (s[i - 1] == ' ')
            last_space = i;
    }
    if (i < len && last_space > off)
        return last_space;
    return i;
}

size_t wrap_rows(const char *s, size_t len, int width, struct wrap_row *rows, size_t max)
{
    if (width < 1)
        width = 1;
    size_t count = 0, off = 0;
    do {
        size_t end = row_end(s, len, off, width);
        if (count < max)
            rows[count] = (struct wrap_row){ off, end - off };
        count++;
        off = end;
    } while (off < len);
    return count;
}
