/* certnames — the certificate-name facts the diagnosis rules read: the
 * leaf's subject CN and SANs, whether they cover the name that was checked
 * (the URL's host or --servername), and whether they cover the name the
 * server reveals about itself (its greeting, or the DNS name in an NTLM
 * challenge) — the Exchange case where IMAP/POP carry the server's own
 * certificate while clients use the public name.
 * Plain data: pointers borrow from the tls_info passed in, which must
 * outlive the facts. report.c writes them as tls.names. */
#ifndef MAILSCOPE_CERTNAMES_H
#define MAILSCOPE_CERTNAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "hostmatch.h"
#include "sasl.h"
#include "tls.h"

struct certnames {
    const char *subject_cn;                 /* NULL when the leaf has none */
    const char *dns[CERTINFO_MAX_SAN];      /* dNSName SANs, without "DNS:" */
    size_t n_dns;
    const char *ip[CERTINFO_MAX_SAN];       /* iPAddress SANs, without "IP:" */
    size_t n_ip;
    const char *checked_name;               /* the name verified ("" when none) */
    bool checked_match;                     /* as verification saw it (OpenSSL) */
    enum hostmatch_by checked_by;           /* how it matched (our matcher) */
    const char *checked_matched;            /* the identifier that matched, or NULL */
    char server_name[256];                  /* the name the server reveals, "" unknown */
    const char *server_name_source;         /* "greeting", "ntlm" or NULL */
    int server_name_match;                  /* 1 yes, 0 no, -1 unknown (no name, no cert) */
    enum hostmatch_by server_by;
    const char *server_matched;
};

/* Facts for tls (NULL or no chain: only the server name is filled).
 * server_name/source may be NULL when nothing revealed a name. */
void certnames_facts(const struct tls_info *tls, const char *server_name, const char *source,
                     struct certnames *out);

/* The host name a greeting reveals, conservatively: the Exchange Online
 * "[base64 of UTF-16LE FQDN]" suffix (KB A1), "(fqdn)" as in Exchange 2003,
 * or a first word after "* OK"/"+OK" (and any [code]) that looks like a
 * fully qualified name, as Cyrus, Zimbra and UW IMAP send. 0 when found. */
int certnames_greeting_host(const char *greeting, char *out, size_t outlen);
/* The name the server gives itself: the NTLM challenge's DNS computer name
 * (the definite one), else what the greeting reveals. Returns the source
 * ("ntlm", "greeting") or NULL when there is none. ntlm may be NULL. */
const char *certnames_server_name(const char *greeting, const struct ntlm_challenge_info *ntlm,
                                  char *out, size_t outlen);

#endif
