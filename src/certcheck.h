/* certcheck — the problems a certificate chain shows, as stable codes
 * (tls.problems in the JSON, the same words in the console):
 *   expired, not-yet-valid, expires-soon, hostname-mismatch, self-signed,
 *   untrusted-root, incomplete-chain, weak-key, weak-signature, wrong-order,
 *   not-for-server-auth.
 * Read from plain data only (struct tls_info: the chain as sent, the path
 * verification built with where each certificate came from, what failed at
 * each depth), so a recorded transcript gives the same answer.
 * Each problem carries the certificate it concerns, a detail naming the
 * certificates and names involved, whether it makes verification fail
 * (CRITICAL unless --insecure) or only warns, and one line on what breaks
 * for which clients. */
#ifndef MAILSCOPE_CERTCHECK_H
#define MAILSCOPE_CERTCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tls.h"

#define CERTCHECK_MAX 12

struct certcheck_problem {
    const char *code;           /* one of the codes above (static) */
    int depth;                  /* path depth of the certificate concerned; -1: the chain */
    bool fails_verification;    /* a client verifying like mailscope refuses the server */
    char detail[480];           /* e.g. the missing issuer's name and AIA URL; contains
                                 * server-controlled text: sanitise before display */
    const char *impact;         /* what breaks for which clients (static, one line) */
};

struct certcheck_result {
    struct certcheck_problem p[CERTCHECK_MAX];
    size_t n;                   /* each code at most once, verification failures first */
};

/* All problems of tls at time now; expires-soon within soon_days. */
void certcheck_run(const struct tls_info *tls, time_t now, int soon_days,
                   struct certcheck_result *r);

/* Just the codes (static strings); returns how many. */
size_t certcheck_problems(const struct tls_info *tls, time_t now, int soon_days,
                          const char *codes[CERTCHECK_MAX]);

/* The "what breaks for which clients" line of a code; NULL if unknown. */
const char *certcheck_impact(const char *code);

#endif
