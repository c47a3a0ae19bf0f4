/* fingerprint — who the server is, from what it said: the family
 * ("exchange", "dovecot", ... or "unknown"), a version hint, and the
 * server's own name when it gives one away (Exchange Online's greeting blob:
 * base64 of the FQDN in UTF-16LE; an NTLM challenge's DNS computer name).
 * The diagnosis engine builds on these facts. */
#ifndef MAILSCOPE_FINGERPRINT_H
#define MAILSCOPE_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "capset.h"
#include "sasl.h"

struct server_identity {
    const char *family;         /* never NULL */
    char version[64];           /* "Online", "2003 6.5.7217.0", "" when unknown */
    char name_hint[256];        /* the server's FQDN as it gives it away, "" if none */
    const char *name_source;    /* "greeting-blob", "ntlm", NULL */
};

const char *fingerprint_family(const char *greeting, const struct capset *caps);
/* Exchange Online's "[base64]" at the end of the greeting, decoded; false
 * when there is none or it does not decode to an ASCII host name. */
bool fingerprint_exchange_blob(const char *greeting, char *out, size_t cap);
/* All of it; ntlm may be NULL. */
void fingerprint_identify(const char *greeting, const struct capset *caps,
                          const struct ntlm_challenge_info *ntlm, struct server_identity *id);

#endif
