/* tls — OpenSSL set-up for one client connection, and the facts of the result.
 * Contract: tls_client_new() builds an SSL object that verifies the peer but
 * never aborts the handshake on a verification error: the verify callback
 * records the first error per depth so the whole chain can be shown; the
 * caller applies the policy afterwards from struct tls_info. No session
 * resumption (every run shows a fresh chain); no SNI for IP literals, nor
 * when tls_params.no_sni asks for a ClientHello without it. */
#ifndef MAILSCOPE_TLS_H
#define MAILSCOPE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "certinfo.h"

#define TLS_MAX_CHAIN 16

/* Protocol versions as on the wire (what OpenSSL's TLS1_x_VERSION are). */
enum { TLS_VERSION_1_0 = 0x0301, TLS_VERSION_1_1 = 0x0302, TLS_VERSION_1_2 = 0x0303,
       TLS_VERSION_1_3 = 0x0304 };

/* What verification found at one depth of the built path (a bit set, so
 * several problems of one certificate are all kept). Our own words for
 * OpenSSL's verify codes: src/ reads these, never X509_V_ERR_*. */
enum {
    TLS_VF_EXPIRED = 1 << 0,            /* past notAfter */
    TLS_VF_NOT_YET_VALID = 1 << 1,      /* before notBefore */
    TLS_VF_SELF_SIGNED_LEAF = 1 << 2,   /* the leaf is self-signed and not trusted */
    TLS_VF_UNTRUSTED_ROOT = 1 << 3,     /* a root was sent but is not trusted */
    TLS_VF_ISSUER_UNKNOWN = 1 << 4,     /* the issuer is neither sent nor trusted */
    TLS_VF_NAME_MISMATCH = 1 << 5,      /* the leaf lacks the host name / IP */
    TLS_VF_PURPOSE = 1 << 6,            /* not valid for TLS server authentication */
    TLS_VF_KEY_TOO_SMALL = 1 << 7,      /* RSA/DSA < 2048 bits, EC < 256 */
    TLS_VF_MD_TOO_WEAK = 1 << 8,        /* signed with SHA-1 or MD5 */
    TLS_VF_BAD_SIGNATURE = 1 << 9,      /* the signature does not verify */
    TLS_VF_OTHER = 1 << 10,             /* anything else (see verify_error) */
};

enum tls_source {
    TLS_SRC_SERVER,           /* the server sent this certificate */
    TLS_SRC_STORE,            /* verification took it from the local trust store */
};

struct tls_params {
    const char *servername;   /* SNI and the name verified */
    const char *cafile, *capath;
    const char *cert, *key;   /* client certificate */
    int min_version, max_version;   /* TLS_VERSION_*; 0: OpenSSL's default */
    bool no_sni;              /* send no SNI (the name is still verified): which
                               * certificate does a client without SNI get? */
    bool legacy;              /* security level 0, so TLS 1.0/1.1 can be offered at all
                               * (for --tls-versions; weak certificates still fail
                               * verification: that policy is ours, see tls.c) */
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
    /* The path verification built (SSL_get0_verified_chain), leaf first: on
     * failure as far as it got. path_flags[d] has the TLS_VF_* at depth d. */
    struct cert_info path[TLS_MAX_CHAIN];
    size_t n_path;
    enum tls_source path_source[TLS_MAX_CHAIN];
    bool path_sent[TLS_MAX_CHAIN];    /* the server also sent this certificate */
    unsigned path_flags[TLS_MAX_CHAIN];
    bool chain_in_path[TLS_MAX_CHAIN];   /* chain[i] was used in the path */
    unsigned char first_bytes[256];  /* the first bytes the server sent once TLS began */
    size_t n_first;
    char alert[64];           /* the last fatal TLS alert the server sent, "" if none */
    int alert_code;           /* its number (70: protocol version) */
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
/* Can this OpenSSL offer exactly version (TLS_VERSION_*), with legacy as in
 * tls_params? 1, or 0 with the reason in why. No connection is made. */
int tls_version_offerable(int version, bool legacy, char *why, size_t whylen);
/* "TLSv1.2" for TLS_VERSION_1_2; "?" when unknown. */
const char *tls_version_name(int version);

/* The server answered the ClientHello with something that is not a TLS
 * record (first_bytes holds it): a plain-text service on a TLS port, or
 * Exchange's "* BYE Connection is closed. 14" when no certificate matches. */
bool tls_reply_was_plaintext(const struct tls_info *info);
/* The operator's words for a verification error code (depth_error[]). */
const char *tls_verify_error_text(long code);

#endif
