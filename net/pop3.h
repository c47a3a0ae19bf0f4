/* pop3 — POP3 wire syntax on the client side (RFC 1939, 2449, 5034), no I/O.
 * Contract: pop3_frame_next() is a resumable framer; in multi-line mode
 * (set by the caller after +OK to CAPA, LIST, UIDL, TOP, RETR) it returns
 * each data line dot-unstuffed and then POP3_FRAME_END for the "." line.
 * pop3_parse_status() reads a status line; pop3_apop_timestamp() finds the
 * greeting's <...> timestamp. */
#ifndef MAILSCOPE_POP3_H
#define MAILSCOPE_POP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POP3_MAX_LINE_DEFAULT (64u * 1024)

struct pop3_framer {
    size_t max_line;
    bool multiline;
};

enum pop3_frame_type { POP3_FRAME_NEED_MORE, POP3_FRAME_LINE, POP3_FRAME_DATA,
                       POP3_FRAME_END, POP3_FRAME_ERROR };

struct pop3_frame {
    enum pop3_frame_type type;
    const uint8_t *data;
    size_t len;
    size_t consumed;
    bool unstuffed;           /* DATA: a leading dot was removed */
    char error[160];
};

void pop3_framer_init(struct pop3_framer *f, size_t max_line);
void pop3_frame_next(struct pop3_framer *f, const uint8_t *buf, size_t len, struct pop3_frame *out);
/* In multi-line mode: how many bytes at the start of buf are whole data lines
 * (each within max_line, none the closing "."), so a caller can pass bulk
 * data on in one piece; 0 when the next line is incomplete, too long or the
 * end, which pop3_frame_next() then reports. */
size_t pop3_data_run(const struct pop3_framer *f, const uint8_t *buf, size_t len);

enum pop3_status { POP3_ST_GARBAGE, POP3_ST_OK, POP3_ST_ERR, POP3_ST_CONT };

struct pop3_status_line {
    enum pop3_status status;
    char code[48];            /* RFC 2449 extended code: "SYS/PERM", "AUTH", "IN-USE" */
    const char *text;         /* text after the status (and code) */
    size_t text_len;
};

void pop3_parse_status(const char *line, size_t len, struct pop3_status_line *st);
/* Copy the greeting's APOP timestamp "<...@...>" into out; false when none. */
bool pop3_apop_timestamp(const char *line, size_t len, char *out, size_t cap);

#endif
