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
#define CERTINFO_MAX_EKU 16
#define CERTINFO_MAX_AIA 8

/* keyUsage bits (RFC 5280 §4.2.1.3), our own values: no OpenSSL constant
 * leaves net/. certinfo_key_usage_names() spells them. */
enum {
    CERTINFO_KU_DIGITAL_SIGNATURE = 1 << 0, CERTINFO_KU_NON_REPUDIATION = 1 << 1,
    CERTINFO_KU_KEY_ENCIPHERMENT = 1 << 2, CERTINFO_KU_DATA_ENCIPHERMENT = 1 << 3,
    CERTINFO_KU_KEY_AGREEMENT = 1 << 4, CERTINFO_KU_KEY_CERT_SIGN = 1 << 5,
    CERTINFO_KU_CRL_SIGN = 1 << 6, CERTINFO_KU_ENCIPHER_ONLY = 1 << 7,
    CERTINFO_KU_DECIPHER_ONLY = 1 << 8, CERTINFO_KU_COUNT = 9
};

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
    char *issuer_cn;        /* last CN of the issuer, or NULL: names a missing issuer */
    char key_type[16];      /* "RSA", "RSA-PSS", "EC", "DSA", "ED25519", ... */
    char sig_hash[24];      /* digest of the signature: "sha256", "sha1", "md5";
                             * "" when intrinsic (Ed25519) or unknown */
    bool has_key_usage;     /* keyUsage present */
    unsigned key_usage;     /* CERTINFO_KU_* bits */
    bool has_eku;           /* extendedKeyUsage present (absent: any purpose) */
    char *eku[CERTINFO_MAX_EKU];  /* "serverAuth", "clientAuth", "anyExtendedKeyUsage",
                                   * or the dotted OID of one without a name */
    size_t n_eku;
    char *ca_issuers[CERTINFO_MAX_AIA];  /* AIA caIssuers URLs: where the issuer can be fetched */
    size_t n_ca_issuers;
    char *ocsp[CERTINFO_MAX_AIA];        /* AIA OCSP responder URLs */
    size_t n_ocsp;
    char ski[96];           /* subjectKeyIdentifier "AB:CD:..", "" if absent */
    char aki[96];           /* authorityKeyIdentifier keyid, "" if absent */
};

struct x509_st;             /* OpenSSL's X509, kept opaque here */

/* Fill *ci from cert. Returns 0, or -1 with *ci cleared on allocation failure. */
int certinfo_from_x509(struct cert_info *ci, struct x509_st *cert);

/* The same from exactly one PEM certificate of len bytes (a recorded
 * chain). Returns 0, or -1 with *ci cleared when it is not one valid
 * certificate; the OpenSSL error queue is left as it was. */
int certinfo_from_pem(struct cert_info *ci, const char *pem, size_t len);

/* The names of the keyUsage bits set, in RFC 5280 order ("digitalSignature",
 * "keyEncipherment", ...); returns how many were written to names[]. */
size_t certinfo_key_usage_names(unsigned key_usage, const char *names[CERTINFO_KU_COUNT]);

/* issuer plausibly issued cert: issuer's subject is cert's issuer and, when
 * both key identifiers are present, they agree. Names only, no signature. */
bool certinfo_issued_by(const struct cert_info *cert, const struct cert_info *issuer);

/* Whole days from now until not_after (negative when expired). */
long certinfo_days_left(const struct cert_info *ci, time_t now);

/* Deep copy; 0, or -1 with *dst cleared. */
int certinfo_copy(struct cert_info *dst, const struct cert_info *src);

void certinfo_clear(struct cert_info *ci);

#endif
