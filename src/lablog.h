/* lablog — the lab's protocol log, written the way Exchange 2013 writes its
 * IMAP4/POP3 protocol logs (LightWeightLog): one file per service and day,
 * <dir>/Imap4/IMAP4<yyyymmdd>-1.LOG (frontend) and IMAP4BE<yyyymmdd>-1.LOG
 * (backend), <dir>/Pop3/POP3… and POP3BE…, each starting with the #Software,
 * #Version, #Log-type, #Date and #Fields header lines, then one CSV row per
 * event with the 12 columns dateTime,sessionId,seqNumber,sIp,cIp,user,
 * duration,rqsize,rpsize,command,parameters,context. A field holding a comma,
 * a quote or a line break is quoted, its quotes doubled. Passwords never reach
 * it: the caller passes "*****" in their place.
 * Contract: each row is written and flushed at once (a reader tails the file);
 * write errors are counted, never fatal. */
#ifndef MAILSCOPE_LABLOG_H
#define MAILSCOPE_LABLOG_H

#include <stddef.h>
#include <stdint.h>

enum lablog_file { LABLOG_IMAP4, LABLOG_IMAP4BE, LABLOG_POP3, LABLOG_POP3BE, LABLOG_NFILES };

struct lablog;

/* Create <dir>/Imap4 and <dir>/Pop3 and the four files (appending if present). */
struct lablog *lablog_open(const char *dir, char *err, size_t errlen);
void lablog_close(struct lablog *l);

/* The path of one file (for the banner and tests). */
const char *lablog_path(const struct lablog *l, enum lablog_file f);

struct lablog_row {
    uint64_t session;           /* printed as 16 hex digits */
    unsigned seq;
    const char *sip, *cip;      /* "127.77.0.1:143" */
    const char *user;           /* "" before login */
    long duration_ms;
    size_t rqsize, rpsize;
    const char *command;        /* "OpenSession", "login", ... */
    const char *parameters;     /* the command's arguments, password as "*****" */
    const char *context;        /* R="...";Msg=...;ErrMsg=... (unquoted) */
};

void lablog_write(struct lablog *l, enum lablog_file f, const struct lablog_row *row);

/* Quote one CSV field the way the log does into out; returns out. */
char *lablog_csv_field(const char *in, char *out, size_t outlen);

#endif
