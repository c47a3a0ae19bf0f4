/* fingerprint — a first guess at the server family from its greeting and
 * capabilities ("exchange", "dovecot", ... or "unknown"). The diagnosis
 * engine refines it (versions, ID, sign-off lines). */
#ifndef MAILSCOPE_FINGERPRINT_H
#define MAILSCOPE_FINGERPRINT_H

#include "capset.h"

const char *fingerprint_family(const char *greeting, const struct capset *caps);

#endif
