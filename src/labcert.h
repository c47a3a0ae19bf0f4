/* labcert — the lab's certificates, generated at start with the OpenSSL API:
 * a lab root CA, an intermediate CA, and leaf certificates (server names plus
 * the lab's IP address as a SAN, so a client that trusts the lab CA verifies
 * them), fresh, expired or issued by the intermediate.
 * Contract: a labpki owns its keys and certificates; labcert_ctx() builds a
 * server SSL_CTX the caller owns. Errors come back as -1/NULL with a message. */
#ifndef MAILSCOPE_LABCERT_H
#define MAILSCOPE_LABCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

struct labpki;

/* One leaf certificate as Get-ExchangeCertificate shows it. */
struct labcert {
    char names[4][96];        /* DNS names, first = CN; "" when unused */
    char subject[128];        /* "CN=mail.contoso.com" */
    char issuer[128];
    char thumbprint[41];      /* SHA-1 of the DER, upper-case hex */
    time_t not_before, not_after;
    bool self_signed_look;    /* issued as Exchange's own certificate (by the lab root) */
    bool via_intermediate;    /* issued by the intermediate CA */
    X509 *x509;
    EVP_PKEY *key;
};

enum labcert_age { LABCERT_VALID, LABCERT_EXPIRED };

/* A new root CA ("Contoso Lab Root CA") and intermediate; ip goes into each leaf's SANs. */
struct labpki *labpki_new(const char *ip, char *err, size_t errlen);
void labpki_free(struct labpki *p);

/* Issue a leaf for names (NULL-terminated, 1..4). Returns 0 or -1. */
int labpki_issue(struct labpki *p, const char *const *names, enum labcert_age age,
                 bool via_intermediate, struct labcert *out, char *err, size_t errlen);
void labcert_clear(struct labcert *c);

/* Write the root CA certificate (PEM) to path, mode 0644. */
int labpki_write_ca(const struct labpki *p, const char *path, char *err, size_t errlen);

/* The TLS versions a server context offers: 0 is the lab's default (TLS 1.2
 * and later); LABCERT_TLS_SET with version bits is an explicit set (SChannel's
 * protocol switches), which may be empty. */
#define LABCERT_TLS10 1u
#define LABCERT_TLS11 2u
#define LABCERT_TLS12 4u
#define LABCERT_TLS_SET 0x100u

/* A TLS server context serving c; with_chain adds the intermediate when c was
 * issued by it (false: the leaf alone, the "missing intermediate" fault). */
SSL_CTX *labcert_ctx(const struct labpki *p, const struct labcert *c, bool with_chain,
                     unsigned versions, char *err, size_t errlen);

/* Does c carry name (case-insensitive, exact DNS name)? */
bool labcert_has_name(const struct labcert *c, const char *name);

#endif
