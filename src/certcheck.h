/* certcheck — the problems a certificate chain shows, as stable codes
 * (tls.problems): expired, not-yet-valid, expires-soon, hostname-mismatch,
 * self-signed, untrusted-root, incomplete-chain, weak-key, weak-signature,
 * not-for-server-auth. A first cut from the verify results and the leaf;
 * the certificate inspector refines it (AIA, order, per-client effects). */
#ifndef MAILSCOPE_CERTCHECK_H
#define MAILSCOPE_CERTCHECK_H

#include <stddef.h>
#include <time.h>

#include "tls.h"

#define CERTCHECK_MAX 12

/* Fill codes[] (static strings) and return how many. */
size_t certcheck_problems(const struct tls_info *tls, time_t now, int soon_days,
                          const char *codes[CERTCHECK_MAX]);

#endif
