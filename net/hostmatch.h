/* hostmatch — does a certificate carry the name a client connects to?
 * Plain string rules, no OpenSSL, so the report, the console and the
 * diagnosis rules can ask it about any name (the URL's host, the name a
 * greeting or an NTLM challenge reveals):
 *  - RFC 6125 §6.4 as tightened by RFC 7817 (mail) and RFC 9525: DNS-IDs
 *    from the subjectAltName; the subject CN only when there is no dNSName
 *    SAN at all; a wildcard only as the whole left-most label, matching
 *    exactly one label, never within an A-label, never directly above a
 *    single label ("*.com"). This is what OpenSSL's X509_check_host() does
 *    with X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, which net/tls.c sets.
 *  - An IP address is matched against iPAddress SANs only (binary compare),
 *    never against a DNS-ID or the CN.
 *  - IDNA: a reference name in Unicode is compared in its A-label form
 *    (Punycode, RFC 3492). Only ASCII is case-folded; there is no Unicode
 *    normalisation, so a name must be typed in its canonical lower case. */
#ifndef MAILSCOPE_HOSTMATCH_H
#define MAILSCOPE_HOSTMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "certinfo.h"

#define HOSTMATCH_MAX_NAME 254   /* 253 octets + NUL (RFC 1035) */

enum hostmatch_by {
    HOSTMATCH_NONE,         /* no identifier matched */
    HOSTMATCH_DNS,          /* a dNSName SAN, exactly */
    HOSTMATCH_WILDCARD,     /* a dNSName SAN "*.rest" */
    HOSTMATCH_IP,           /* an iPAddress SAN */
    HOSTMATCH_CN,           /* the subject CN (no dNSName SAN present) */
};

/* The ASCII form of a host name: lower case, trailing dot dropped, each
 * non-ASCII label as "xn--" + Punycode. 0, or -1 for a name that cannot be
 * one (empty label, label > 63 or name > 253 octets, invalid UTF-8). */
int hostmatch_to_ascii(const char *name, char *out, size_t outlen);

/* One presented DNS-ID (a dNSName or CN, possibly "*.rest") against a
 * reference name already in ASCII form (hostmatch_to_ascii). */
bool hostmatch_dns_id(const char *presented, const char *reference);

/* One presented IP (text, as in "IP:" SANs) against a reference literal. */
bool hostmatch_ip(const char *presented, const char *reference);

/* reference (a host name in any form, or an IP literal, brackets allowed)
 * against the certificate's identifiers. *matched (may be NULL) receives the
 * identifier that matched, e.g. "DNS:*.example.com", or NULL. */
enum hostmatch_by hostmatch_cert(const struct cert_info *ci, const char *reference,
                                 const char **matched);

/* "dns", "wildcard", "ip", "cn" or NULL for HOSTMATCH_NONE. */
const char *hostmatch_by_name(enum hostmatch_by by);

#endif
