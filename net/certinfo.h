/* certinfo — the facts of one X.509 certificate as plain data.
 * Contract: certinfo_from_x509() copies everything the UI, the report and the
 * diagnosis need out of an OpenSSL X509 so that no OpenSSL type leaves net/.
 * Strings are NUL-terminated, owned by the struct, freed by certinfo_clear().
 * Text fields hold the certificate's bytes as decoded by OpenSSL (UTF-8);
 * callers sanitise before display. */
#ifndef MAILSCOPE_CERTINFO_H
#define MAILSCOPE_CERTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define CERTINFO_MAX_SAN 64

struct cert_info {
    char *subject;          /* RFC 2253 one-line form, e.g. "CN=mail.test,O=Test" */
    char *issuer;
    char *subject_cn;       /* last CN of the subject, or NULL */
    char *serial;           /* hex, upper case */
    char *san[CERTINFO_MAX_SAN]; /* "DNS:name" / "IP:addr" / "email:..." */
    size_t n_san;
    bool san_truncated;     /* more than CERTINFO_MAX_SAN entries */
    time_t not_before;      /* UTC seconds; 0 if unreadable */
    time_t not_after;
    char *key;              /* "RSA 2048", "EC 256 (prime256v1)", "ED25519 256" */
    int key_bits;
    char *signature;        /* "sha256WithRSAEncryption" */
    char sha256[95 + 1];    /* "AB:CD:..." 32 bytes */
    char sha1[59 + 1];
    bool self_signed;       /* subject == issuer and the signature verifies with its own key */
    bool is_ca;             /* basicConstraints CA:TRUE */
    char *pem;              /* the certificate in PEM, for saving the chain */
};

struct x509_st;             /* OpenSSL's X509, kept opaque here */

/* Fill *ci from cert. Returns 0, or -1 with *ci cleared on allocation failure. */
int certinfo_from_x509(struct cert_info *ci, struct x509_st *cert);

/* Whole days from now until not_after (negative when expired). */
long certinfo_days_left(const struct cert_info *ci, time_t now);

/* Deep copy; 0, or -1 with *dst cleared. */
int certinfo_copy(struct cert_info *dst, const struct cert_info *src);

void certinfo_clear(struct cert_info *ci);

#endif
