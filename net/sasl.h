/* sasl — client-side SASL message building and decoding, no I/O.
 * Contract: each function writes a newly allocated buffer that the caller owns
 * (free with sasl_free, which wipes it) and returns 0, or -1 with a message in
 * err (size errlen). Base64, MD5 and HMAC come from OpenSSL. Raw (not base64)
 * bytes go in and out unless a name says b64. */
#ifndef MAILSCOPE_SASL_H
#define MAILSCOPE_SASL_H

#include <stddef.h>
#include <stdint.h>

/* Base64 of n bytes (no line breaks). *out is NUL-terminated. */
int sasl_b64_encode(const void *in, size_t n, char **out, size_t *outlen);
/* Decode base64 (whitespace not allowed; "=" alone decodes to empty). */
int sasl_b64_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                    char *err, size_t errlen);

/* PLAIN (RFC 4616): authzid NUL authcid NUL passwd. authzid may be NULL. */
int sasl_plain(const char *authzid, const char *user, const char *pass,
               uint8_t **out, size_t *outlen, char *err, size_t errlen);
/* CRAM-MD5 (RFC 2195): "user " + lowercase hex HMAC-MD5(pass, challenge). */
int sasl_cram_md5(const char *user, const char *pass, const uint8_t *challenge,
                  size_t clen, uint8_t **out, size_t *outlen, char *err, size_t errlen);
/* XOAUTH2: "user=" U "\x01auth=Bearer " T "\x01\x01". */
int sasl_xoauth2(const char *user, const char *token, uint8_t **out, size_t *outlen,
                 char *err, size_t errlen);
/* OAUTHBEARER (RFC 7628): "n,a=" U ",\x01host=" H "\x01port=" P "\x01auth=Bearer " T "\x01\x01". */
int sasl_oauthbearer(const char *user, const char *host, unsigned port, const char *token,
                     uint8_t **out, size_t *outlen, char *err, size_t errlen);
/* APOP (RFC 1939): lowercase hex MD5(timestamp || secret), 32 chars + NUL into out33. */
int sasl_apop_digest(const char *timestamp, const char *secret, char out33[33]);

/* NTLM negotiate (type 1) message, raw bytes. */
int sasl_ntlm_negotiate(uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* What an NTLM challenge (type 2) reveals about the server. Strings are
 * UTF-8 converted from the message's UTF-16LE, NUL-terminated, "" when absent. */
struct ntlm_challenge_info {
    char target_name[256];
    char netbios_computer[256];
    char netbios_domain[256];
    char dns_computer[256];   /* the server's FQDN: on-premises Exchange's only self-identification */
    char dns_domain[256];
    char dns_tree[256];
    uint8_t challenge[8];
    uint32_t flags;
    char os_version[32];      /* "10.0.17763" when the version field is present, else "" */
};
/* Decode a type 2 message (raw bytes). Bounds-checked against every offset. */
int sasl_ntlm_parse_challenge(const uint8_t *msg, size_t n, struct ntlm_challenge_info *info,
                              char *err, size_t errlen);

/* Wipe and free a buffer returned above. */
void sasl_free(void *p, size_t n);

#endif
