/* tlsversions — which TLS versions the server accepts: one handshake each
 * with exactly TLS 1.0, 1.1, 1.2 and 1.3 (STARTTLS first on a plain port),
 * the usual cause of "it stopped working" after TLS hardening on Exchange or
 * on the client side (KB R-CERT-006, R-EXCH-019, R-EXCH-020).
 * A version this machine's OpenSSL cannot offer is reported as not tested,
 * with the reason, never as refused by the server. TLS 1.0 and 1.1 are
 * offered at security level 0 (OpenSSL 3 refuses them otherwise). No
 * credentials are sent; certificate verification does not stop a run. */
#ifndef MAILSCOPE_TLSVERSIONS_H
#define MAILSCOPE_TLSVERSIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "tlsrun.h"

#define TLSVERSIONS_N 4

enum tlsver_outcome {
    TLSVER_ACCEPTED,        /* the handshake completed with exactly that version */
    TLSVER_REFUSED,         /* the server answered with an alert or closed the handshake */
    TLSVER_NOT_TESTED,      /* the local OpenSSL cannot offer it */
    TLSVER_ERROR,           /* no answer about TLS: connect, greeting or STARTTLS failed */
};

struct tlsver_result {
    int version;            /* TLS_VERSION_* */
    enum tlsver_outcome outcome;
    char cipher[64];        /* accepted: the cipher the server chose */
    char alert[64];         /* refused: the alert the server sent, "" when it only closed */
    char detail[400];       /* for the operator (sanitised) */
};

struct tlsversions {
    struct tlsrun_target target;    /* what every run connects to (tls.min/max are set per run) */
    char host[256];
    char url[300];
    struct tlsver_result res[TLSVERSIONS_N];
    int exit_code;
    char summary[600];
};

/* Run the four handshakes one after another on l (each bounded by the
 * target's timeout) and judge: CRITICAL when none was accepted, WARNING when
 * TLS 1.0 or 1.1 was (deprecated, RFC 8996), else OK. */
void tlsversions_run(struct loop *l, const struct tlsrun_target *target, const char *url,
                     struct tlsversions *out);
/* The same, one handshake at a time from the caller's loop (the console):
 * begin, then tlsversions_advance() after every loop turn until it returns
 * true (out is then judged); tlsversions_job_free() on the way out. */
struct tlsversions_job {
    struct loop *l;
    struct tlsversions *out;
    size_t i;                   /* the version being tried */
    struct tlsrun r;
    bool running, finished;
    const char *stop;           /* a failure that was not about TLS: the rest are not tried */
};
void tlsversions_begin(struct tlsversions_job *j, struct loop *l,
                       const struct tlsrun_target *target, const char *url,
                       struct tlsversions *out);
bool tlsversions_advance(struct tlsversions_job *j);
void tlsversions_job_free(struct tlsversions_job *j);
const char *tlsver_outcome_name(enum tlsver_outcome o);
json_t *tlsversions_json(const struct tlsversions *v);
void tlsversions_text(FILE *out, const struct tlsversions *v);

#endif
