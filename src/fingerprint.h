/* fingerprint — who the server is, from what it said: the family
 * ("exchange", "dovecot", ... or "unknown"), a version hint, and Exchange
 * Online's greeting blob (base64 of the server's FQDN in UTF-16LE). The
 * server's name from all sources is certnames_server_name()'s job. */
#ifndef MAILSCOPE_FINGERPRINT_H
#define MAILSCOPE_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "capset.h"

struct server_identity {
    const char *family;         /* never NULL */
    char version[64];           /* "Online", "2003 6.5.7217.0", "" when unknown */
};

const char *fingerprint_family(const char *greeting, const struct capset *caps);
/* Exchange Online's "[base64]" at the end of the greeting, decoded; false
 * when there is none or it does not decode to an ASCII host name. */
bool fingerprint_exchange_blob(const char *greeting, char *out, size_t cap);
void fingerprint_identify(const char *greeting, const struct capset *caps,
                          struct server_identity *id);
/* Sharpen id with what the server said later: an IMAP ID reply
 * ("Microsoft.Exchange.Imap4.Imap4Server" "version" "15.1" is 2016), a
 * sign-off line ("Microsoft Exchange Server 2013 IMAP4 server signing
 * off."), wordings that changed between versions (Dovecot 2.4 says
 * "Cleartext" where 2.3 said "Plaintext"). A family already known is kept;
 * an unknown one may be learnt here. */
void fingerprint_refine(struct server_identity *id, const char *const *lines, size_t n);

#endif
