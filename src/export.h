/* export — what the transcript writers (.txt and .md: export_text.c,
 * .html: export_html.c) share: the header facts, one walk over the
 * timeline, the timings of each operation, the certificate rows and the
 * diagnosis. Every string handed out is safe to print: server- and
 * file-controlled bytes sanitised (sanitize.h), and with --redact-user any
 * copy of the user name scrubbed (redact.h, the second layer after the
 * engine's). The writers add only their own escaping (Markdown, HTML).
 * Credentials were redacted by the engine before they were recorded. */
#ifndef MAILSCOPE_EXPORT_H
#define MAILSCOPE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "evidence.h"
#include "plan.h"
#include "redact.h"
#include "report.h"
#include "transcript.h"

struct export_ctx {
    const struct plan *p;
    const struct transcript *t;
    struct session *s;
    const struct report_target *tg;
    const struct report_verdict *v;
    struct redact red;
};

void export_ctx_init(struct export_ctx *x, const struct plan *p, const struct transcript *t,
                     struct session *s, const struct report_target *tg,
                     const struct report_verdict *v);

/* Untrusted bytes: user scrubbed, then sanitised (caller frees; never NULL:
 * "" when memory ran out). max as in sanitize_text. */
char *export_clean(const struct export_ctx *x, const void *data, size_t len, size_t max);
/* Text already sanitised (a diagnosis, the verdict): only scrubbed. */
char *export_scrub(const struct export_ctx *x, const char *text);

struct export_header {
    char tool[64];              /* "mailscope 0.1.0" */
    char local[128], utc[80];    /* the session's start (transcript wall0) */
    char url[700];              /* userinfo hidden with --redact-user */
    char address[96];           /* "" when never resolved */
    const char *protocol;       /* "IMAP" / "POP3" */
    const char *tls_requested;  /* auto, starttls, implicit, none */
    char tls_used[160];         /* "STARTTLS, TLSv1.3 TLS_AES_..." / "none" */
    const char *redacted;       /* "passwords, SASL payloads[, user names]" */
    const char *status;         /* OK WARNING CRITICAL UNKNOWN */
    char summary[1400];
};

void export_header(const struct export_ctx *x, struct export_header *h);

/* One line of the timeline. */
enum export_role {
    EXR_CLIENT, EXR_SERVER, EXR_LITERAL, EXR_TLS_OK, EXR_TLS_BAD, EXR_DISCARDED, EXR_NOTICE,
    EXR_NTLM, EXR_STATE, EXR_STEP_OK, EXR_STEP_FAIL, EXR_STEP_STOPPED, EXR_CLOSED, EXR_NOTE, EXR_WALK
};

struct export_line {
    int64_t t_us;               /* since the session began */
    enum export_role role;
    const char *who;            /* "C:", "S:", "TLS", "!!", "--", "NOTE", "WALK", "NTLM" */
    const char *text;           /* safe (see above) */
    bool secure;                /* the bytes travelled inside TLS */
    bool server;                /* quoted server bytes: may be longer than a text line */
};

typedef void (*export_line_fn)(void *arg, const struct export_line *l);
/* Every event in order (OP_BEGIN has no line of its own: the timings show it). */
void export_walk(const struct export_ctx *x, export_line_fn fn, void *arg);
/* The length of the longest run of c in every line's text (for Markdown fences). */
size_t export_longest_run(const struct export_ctx *x, char c);

struct export_timing {
    char label[200];            /* "connect 127.0.0.2:143", "capability: a001 CAPABILITY" */
    int64_t start_us, dur_us;
    bool ok, done;
    bool stopped;               /* ended on purpose, not a failure (NTLM discovery, not awaited) */
};

/* The operations in order (caller frees *out). */
size_t export_timings(const struct export_ctx *x, struct export_timing **out);

/* The facts of one certificate of the chain as sent, safe strings. */
struct export_cert {
    char *subject, *issuer, *names;
    char not_before[16], not_after[16];
    long days_left;
    char key[80], signature[80];
    const char *sha256;
    bool self_signed, ca, in_path;
};

void export_cert(const struct export_ctx *x, size_t i, struct export_cert *c);
void export_cert_free(struct export_cert *c);

/* The diagnosis of the session, as the JSON report has it. */
struct export_diag {
    struct ruleset rs;
    struct evidence_store st;
    struct diag_result r;
    char warn[1024];
};

void export_diag_run(const struct export_ctx *x, struct export_diag *d);
void export_diag_free(struct export_diag *d);
/* A rule text with its placeholders filled, scrubbed (caller frees). */
char *export_diag_fill(const struct export_ctx *x, const struct export_diag *d, const char *s);

/* The state's name for the timeline. */
const char *export_state_name(enum session_state st);

#endif
