/* exlog — a streaming reader of Exchange's IMAP4 and POP3 protocol logs
 * (knowledge A4): '#' header lines (#Software, #Version, #Log-type: IMAP4
 * Log | POP3 Log, #Date, #Fields: dateTime,sessionId,...,context), then
 * one CSV record a line (RFC 4180: a field holding a comma or a quote is
 * quoted and its quotes doubled).
 * Contract:
 *  - Column order comes from the last #Fields: header seen; a file may hold
 *    several. Before any, the 12 columns of A4 in their order are assumed.
 *    Unknown columns (a 13th "puid") are skipped.
 *  - UTF-8 with or without a BOM, LF or CRLF. A line longer than
 *    EXLOG_MAX_LINE, an unterminated quote, bytes after a closing quote or
 *    too few fields make the line malformed: it is counted, its number and
 *    reason kept (the first EXLOG_MAX_BAD), and skipped. Nothing a file holds
 *    makes the reader fail or read out of bounds.
 *  - Fast: the file is read in EXLOG_CHUNK blocks, lines found with memchr,
 *    fields point into the block (no allocation a line). A record is valid
 *    until the next exlog_next() call.
 *  - The last column, when it is not quoted, runs to the end of the line, so
 *    an unquoted context holding a comma still reads whole. */
#ifndef MAILSCOPE_EXLOG_H
#define MAILSCOPE_EXLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXLOG_MAX_LINE (256u * 1024)
#define EXLOG_CHUNK (4u * 1024 * 1024)
#define EXLOG_MAX_FIELDS 32         /* columns a #Fields header may name */
#define EXLOG_MAX_BAD 16            /* malformed lines remembered (all are counted) */

enum exlog_col {
    EXC_DATETIME, EXC_SESSION, EXC_SEQ, EXC_SIP, EXC_CIP, EXC_USER, EXC_DURATION,
    EXC_RQSIZE, EXC_RPSIZE, EXC_COMMAND, EXC_PARAMS, EXC_CONTEXT, EXC_COUNT
};

enum exlog_proto { EXLOG_UNKNOWN, EXLOG_IMAP4, EXLOG_POP3 };

/* A field as it stands in the line: without its surrounding quotes, doubled
 * quotes still doubled when quoted (exlog_unquote collapses them). */
struct exlog_field {
    const char *p;
    size_t n;
    bool quoted;
};

struct exlog_record {
    struct exlog_field col[EXC_COUNT];   /* n == 0 when the column is absent */
    const char *line;                    /* the raw line, without CR LF */
    size_t len;
    uint64_t lineno;
    enum exlog_proto proto;              /* from #Log-type, else the file name */
};

struct exlog_bad {
    uint64_t lineno;
    const char *reason;                  /* static text */
};

struct exlog_reader {
    int fd;
    bool own_fd;
    const char *mem;                     /* exlog_open_mem: the whole input */
    size_t mem_len, mem_off;
    char *buf;                           /* read buffer (EXLOG_CHUNK + EXLOG_MAX_LINE) */
    size_t cap, start, end;
    bool eof, skipping, first;
    int map[EXLOG_MAX_FIELDS];           /* field index -> enum exlog_col, -1 unknown */
    size_t n_map;
    enum exlog_proto proto;
    uint64_t lineno, records, malformed, headers;
    uint64_t bytes;
    struct exlog_bad bad[EXLOG_MAX_BAD];
    size_t n_bad;
    int read_errno;                      /* set when a read failed */
};

/* Open path for reading ("-" is standard input). Returns 0, or -1 with a
 * message in err. */
int exlog_open(struct exlog_reader *r, const char *path, char *err, size_t errlen);
/* Read from a buffer the caller keeps alive (tests, fuzzing). */
void exlog_open_mem(struct exlog_reader *r, const void *data, size_t len, enum exlog_proto proto);
/* The next record: 1, 0 at the end, -1 on a read error (r->read_errno). */
int exlog_next(struct exlog_reader *r, struct exlog_record *rec);
void exlog_close(struct exlog_reader *r);

/* Copy field f with doubled quotes collapsed into out (NUL-terminated, cut
 * to outlen - 1 bytes). Returns the length written. */
size_t exlog_unquote(const struct exlog_field *f, char *out, size_t outlen);

/* One key of a context field ("R=\"a2 NO ...\";Msg=...;ErrMsg=X"): keys are
 * ';'-separated, a value may be CSV-quoted (and then hold ';'). */
struct exlog_kv {
    const char *key, *val;
    size_t klen, vlen;
    bool quoted;                         /* val still has doubled quotes */
};
/* Iterate the keys of ctx[0..n): *pos starts at 0. False at the end. */
bool exlog_context_next(const char *ctx, size_t n, size_t *pos, struct exlog_kv *kv);
/* The value of key in ctx, unquoted into out; false when absent. */
bool exlog_context_get(const char *ctx, size_t n, const char *key, char *out, size_t outlen);

/* What went wrong in a record, when something did. */
struct exlog_failure {
    char error[160];         /* the grouping key: ErrMsg, else [Error=X], else the reply */
    const char *source;      /* "ErrMsg", "Error", "reply" */
    char errmsg[160];        /* ErrMsg=, "" */
    char bracket[160];       /* Error= in the reply's [Error=X Proxy=Y], "" */
    char proxy[256];         /* Proxy= of the bracket, else Msg=Proxy:..., "" */
    char reply[512];         /* the failing reply line (R=), "" */
    char excpt[160];         /* Excpt=, "" */
};

/* Fill f and return true when rec records a failure: an ErrMsg key, an
 * [Error=...] in the reply, or a NO / BAD / -ERR / BYE reply (not the
 * logout's "signing off", nor ErrMsg=AuthCancelled: the client cancelling its own
 * AUTHENTICATE). ctxbuf (ctxlen bytes) is scratch for the
 * unquoted context. */
bool exlog_failure(const struct exlog_record *rec, struct exlog_failure *f, char *ctxbuf,
                   size_t ctxlen);

/* Tests and the fuzz target set this to check that the vector path gives
 * what the byte-wise walk gives. */
extern bool exlog_scalar;

/* The failure in the context's own syntax, bounded (outlen bytes):
 * R="reply";Msg=Proxy:target;ErrMsg=X;Excpt=Y (the keys that are set).
 * What the rules' "log" conditions read, without a long context's bulk. */
void exlog_failure_context(const struct exlog_failure *f, char *out, size_t outlen);

const char *exlog_proto_name(enum exlog_proto p);
const char *exlog_col_name(enum exlog_col c);

#endif
