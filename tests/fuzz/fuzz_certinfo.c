/* fuzz_certinfo — libFuzzer target for net/certinfo.c: a server chooses
 * every byte of the certificates it sends, and the inspector reads each of
 * them. Whatever DER d2i_X509 accepts, certinfo_from_x509 must fill a
 * struct that keeps its own bounds (counts within the arrays, fingerprints
 * in their fixed form), and certinfo_copy/clear must copy and free it
 * without a leak or a double free. Strings are not checked for content:
 * the header says callers sanitise them. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "fuzz_common.h"

/* "AB:CD:..." with n bytes. */
static bool fingerprint_form(const char *s, size_t n)
{
    if (strlen(s) != 3 * n - 1)
        return false;
    for (size_t i = 0; i < 3 * n - 1; i++) {
        bool colon = i % 3 == 2;
        if (colon ? s[i] != ':' : !strchr("0123456789ABCDEF", s[i]) || !s[i])
            return false;
    }
    return true;
}

static void check_strings(const struct cert_info *ci)
{
    FUZZ_CHECK(ci->subject && ci->issuer && ci->serial && ci->key && ci->signature && ci->pem);
    FUZZ_CHECK(ci->n_san <= CERTINFO_MAX_SAN && ci->n_eku <= CERTINFO_MAX_EKU);
    FUZZ_CHECK(ci->n_ca_issuers <= CERTINFO_MAX_AIA && ci->n_ocsp <= CERTINFO_MAX_AIA);
    for (size_t i = 0; i < ci->n_san; i++)
        FUZZ_CHECK(ci->san[i] != NULL);
    for (size_t i = ci->n_san; i < CERTINFO_MAX_SAN; i++)
        FUZZ_CHECK(ci->san[i] == NULL);
    for (size_t i = 0; i < ci->n_eku; i++)
        FUZZ_CHECK(ci->eku[i] != NULL);
    FUZZ_CHECK(fingerprint_form(ci->sha256, 32) && fingerprint_form(ci->sha1, 20));
    FUZZ_CHECK(strnlen(ci->key_type, sizeof ci->key_type) < sizeof ci->key_type);
    FUZZ_CHECK(strnlen(ci->sig_hash, sizeof ci->sig_hash) < sizeof ci->sig_hash);
    FUZZ_CHECK(strnlen(ci->ski, sizeof ci->ski) < sizeof ci->ski);
    FUZZ_CHECK(strnlen(ci->aki, sizeof ci->aki) < sizeof ci->aki);
    FUZZ_CHECK(strncmp(ci->pem, "-----BEGIN CERTIFICATE-----", 27) == 0);
}

static void check_copy(const struct cert_info *ci)
{
    struct cert_info copy;
    FUZZ_CHECK(certinfo_copy(&copy, ci) == 0);
    FUZZ_CHECK(strcmp(copy.subject, ci->subject) == 0 && copy.subject != ci->subject);
    FUZZ_CHECK(copy.n_san == ci->n_san && strcmp(copy.sha256, ci->sha256) == 0);
    for (size_t i = 0; i < ci->n_san; i++)
        FUZZ_CHECK(strcmp(copy.san[i], ci->san[i]) == 0 && copy.san[i] != ci->san[i]);
    FUZZ_CHECK(certinfo_issued_by(&copy, ci) == certinfo_issued_by(ci, ci));
    certinfo_clear(&copy);
    FUZZ_CHECK(copy.subject == NULL && copy.n_san == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509 *cert = d2i_X509(NULL, &p, (long)size);
    ERR_clear_error();
    if (!cert)
        return 0;
    struct cert_info ci;
    if (certinfo_from_x509(&ci, cert) == 0) {
        check_strings(&ci);
        check_copy(&ci);
        const char *names[CERTINFO_KU_COUNT];
        FUZZ_CHECK(certinfo_key_usage_names(ci.key_usage, names) <= CERTINFO_KU_COUNT);
        (void)certinfo_days_left(&ci, time(NULL));
        certinfo_clear(&ci);
    } else {
        FUZZ_CHECK(ci.subject == NULL && ci.pem == NULL);   /* cleared on failure */
    }
    X509_free(cert);
    FUZZ_CHECK(ERR_peek_error() == 0);   /* no error left for a later SSL_get_error() */
    return 0;
}
