/* tls — OpenSSL set-up for one client connection, and the facts of the result.
 * Contract: tls_client_new() builds an SSL object that verifies the peer but
 * never aborts the handshake on a verification error: the verify callback
 * records the first error per depth so the whole chain can be shown; the
 * caller applies the policy afterwards from struct tls_info. No session
 * resumption (every run shows a fresh chain); no SNI for IP literals. */
#ifndef MAILSCOPE_TLS_H
#define MAILSCOPE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "certinfo.h"

#define TLS_MAX_CHAIN 16

struct tls_params {
    const char *servername;   /* SNI and the name verified */
    const char *cafile, *capath;
    const char *cert, *key;   /* client certificate */
};

struct tls_info {
    char version[16];         /* "TLSv1.3" */
    char cipher[64];
    char group[32];           /* key exchange group, "" when unknown */
    char sni[256];            /* "" when none was sent (IP literal) */
    char name_checked[256];
    bool verified;            /* chain and name verified */
    long verify_code;         /* X509_V_OK (0) or the first error */
    char verify_error[160];   /* "unable to get local issuer certificate (depth 1)" */
    int verify_error_depth;
    bool hostname_match;      /* the leaf carries name_checked (RFC 6125 rules) */
    struct cert_info chain[TLS_MAX_CHAIN];  /* as the server sent it, leaf first */
    size_t n_chain;
    bool chain_truncated;
    long depth_error[TLS_MAX_CHAIN];         /* first verify error seen at each depth, 0 if none */
    size_t n_verified;        /* length of the verified path incl. trust anchor, 0 if none */
    char verified_root[512];  /* subject of the trust anchor that closed the path */
};

struct ssl_ctx_st;
struct ssl_st;

/* Build a context for params. Returns NULL with a message in err. */
struct ssl_ctx_st *tls_ctx_new(const struct tls_params *p, char *err, size_t errlen);
/* Build the SSL for fd under ctx; info receives the verify callback's records. */
struct ssl_st *tls_client_new(struct ssl_ctx_st *ctx, int fd, const struct tls_params *p,
                              struct tls_info *info, char *err, size_t errlen);
/* After a handshake (also a failed one, as far as it got): fill version,
 * cipher, chain, verification and name-check results. */
void tls_info_collect(struct tls_info *info, struct ssl_st *ssl, const char *name);
void tls_info_clear(struct tls_info *info);
/* Deep copy (dst is overwritten, not cleared first). 0 or -1. */
int tls_info_copy(struct tls_info *dst, const struct tls_info *src);
/* The OpenSSL error queue as one line (emptied), e.g. "wrong version number". */
void tls_error_string(char *buf, size_t n);
/* True when s is an IPv4 or IPv6 literal. */
bool tls_is_ip_literal(const char *s);

/* The operator's words for a verification error code (depth_error[]). */
const char *tls_verify_error_text(long code);

#endif
