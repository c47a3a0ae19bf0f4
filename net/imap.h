/* imap — IMAP4rev1/rev2 wire syntax on the client side, no I/O.
 * Contract: imap_frame_next() is a resumable framer: given the bytes
 * received so far it returns one line (CRLF stripped) or one chunk of a
 * literal, and how many bytes it consumed; literals of any size are streamed
 * in chunks and never buffered whole. imap_parse_response() reads the first
 * line of a response: tag, status, response code, untagged keyword.
 * imap_astring() formats an argument as atom, quoted string or literal. */
#ifndef MAILSCOPE_IMAP_H
#define MAILSCOPE_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_MAX_LINE_DEFAULT (1u << 20)

struct imap_framer {
    size_t max_line;          /* longest line accepted, CRLF excluded */
    uint64_t literal_left;    /* > 0 while inside a literal */
    bool mid_response;        /* the next line continues the current response */
};

enum imap_frame_type { IMAP_FRAME_NEED_MORE, IMAP_FRAME_LINE, IMAP_FRAME_LITERAL, IMAP_FRAME_ERROR };

struct imap_frame {
    enum imap_frame_type type;
    const uint8_t *data;      /* points into the caller's buffer */
    size_t len;
    size_t consumed;          /* bytes of the buffer this frame used */
    bool starts_response;     /* LINE: the first line of a response */
    bool ends_response;       /* LINE: no literal follows: the response is complete */
    uint64_t literal_size;    /* LINE: size of the literal announced at its end */
    uint64_t literal_left;    /* LITERAL: bytes of the literal still to come */
    char error[160];          /* ERROR: what was wrong */
};

void imap_framer_init(struct imap_framer *f, size_t max_line);
/* Examine buf[0..len). Never reads past len; NEED_MORE consumes nothing. */
void imap_frame_next(struct imap_framer *f, const uint8_t *buf, size_t len, struct imap_frame *out);

enum imap_kind { IMAP_UNTAGGED, IMAP_TAGGED, IMAP_CONTINUATION, IMAP_GARBAGE };
enum imap_status { IMAP_ST_NONE, IMAP_ST_OK, IMAP_ST_NO, IMAP_ST_BAD, IMAP_ST_PREAUTH, IMAP_ST_BYE };

struct imap_response {
    enum imap_kind kind;
    char tag[64];
    enum imap_status status;      /* OK/NO/BAD/PREAUTH/BYE, tagged or untagged */
    bool has_number;              /* "* 23 EXISTS" */
    uint32_t number;
    char keyword[32];             /* untagged data keyword, upper case: "CAPABILITY" */
    char code[48];                /* response code atom, upper case: "ALERT" */
    const char *code_raw;         /* the atom as the server wrote it (for the operator) */
    size_t code_raw_len;
    const char *code_arg;         /* rest of the bracket after the atom */
    size_t code_arg_len;
    const char *text;             /* human-readable text (status) or data (untagged) */
    size_t text_len;
};

/* Parse one response's first line (no CRLF). Returns 0, or -1 for a line
 * that is no IMAP response at all (kind = IMAP_GARBAGE). */
int imap_parse_response(const char *line, size_t len, struct imap_response *r);
const char *imap_status_name(enum imap_status s);

/* Format s as an IMAP astring into out (cap bytes): an atom when it is one,
 * else a quoted string, else (CR, LF, NUL-free 8-bit or too long) a literal
 * header "{n}" / "{n+}" — then *literal is set and the caller sends s
 * itself after the continuation. Returns the length written, -1 if too long. */
int imap_astring(const char *s, bool nonsync, char *out, size_t cap, bool *literal);

#endif
