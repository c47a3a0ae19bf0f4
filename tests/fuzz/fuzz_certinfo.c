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

/* ---- a DER-aware mutator ------------------------------------------------
 * Byte flips rarely survive d2i_X509, so most runs would stop at the
 * parser. This mutator parses the input as a certificate, changes one field
 * through OpenSSL (names with odd string types and bytes, SANs of every
 * kind, extreme dates, serials, EKU/KU/AIA extensions) and re-encodes it;
 * what does not parse gets libFuzzer's own byte mutations. */
#include <openssl/x509v3.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void random_bytes(unsigned *s, unsigned char *buf, size_t n)
{
    static const unsigned char spice[] = { 0, '\x1b', '[', ']', 0x9b, 0xe2, 0x80, 0xae, '.', '*',
                                           '\\', '"', 0xff, 0xc0, '\n', 'a', 'A', '1' };
    for (size_t i = 0; i < n; i++)
        buf[i] = next_rand(s) % 3 ? spice[next_rand(s) % sizeof spice] : (unsigned char)next_rand(s);
}

static void mutate_name(X509 *x, unsigned *s, bool subject)
{
    static const int types[] = { MBSTRING_ASC, MBSTRING_UTF8, V_ASN1_T61STRING, V_ASN1_BMPSTRING,
                                 V_ASN1_UNIVERSALSTRING, V_ASN1_IA5STRING, V_ASN1_PRINTABLESTRING };
    static const char *const fields[] = { "CN", "O", "OU", "C", "emailAddress", "DC", "serialNumber" };
    X509_NAME *n = X509_NAME_new();
    unsigned char buf[96];
    for (unsigned k = 0, count = 1 + next_rand(s) % 4; n && k < count; k++) {
        size_t len = next_rand(s) % sizeof buf;
        random_bytes(s, buf, len);
        X509_NAME_add_entry_by_txt(n, fields[next_rand(s) % 7], types[next_rand(s) % 7], buf,
                                   (int)len, -1, (int)(next_rand(s) % 2));
    }
    if (n)
        subject ? X509_set_subject_name(x, n) : X509_set_issuer_name(x, n);
    X509_NAME_free(n);
    ERR_clear_error();
}

static void mutate_san(X509 *x, unsigned *s)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    unsigned char buf[64];
    for (unsigned k = 0, count = 1 + next_rand(s) % 6; gens && k < count; k++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *str = ASN1_IA5STRING_new();
        ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();
        size_t len = next_rand(s) % sizeof buf;
        random_bytes(s, buf, len);
        if (!g || !str || !oct) {
            GENERAL_NAME_free(g), ASN1_IA5STRING_free(str), ASN1_OCTET_STRING_free(oct);
            break;
        }
        int type = (int)(next_rand(s) % 3);
        if (type == 2) {    /* an IP of any length: 4 and 16 are the valid ones */
            ASN1_OCTET_STRING_set(oct, buf, (int)(len % 20));
            GENERAL_NAME_set0_value(g, GEN_IPADD, oct);
            ASN1_IA5STRING_free(str);
        } else {
            ASN1_STRING_set(str, buf, (int)len);
            GENERAL_NAME_set0_value(g, type ? GEN_URI : GEN_DNS, str);
            ASN1_OCTET_STRING_free(oct);
        }
        sk_GENERAL_NAME_push(gens, g);
    }
    if (gens)
        X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE);
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
}

static void mutate_dates(X509 *x, unsigned *s)
{
    static const char *const times[] = { "19500101000000Z", "99991231235959Z", "20380119031408Z",
                                         "00000101000000Z", "20260229000000Z", "19700101000000Z" };
    ASN1_TIME *t = ASN1_TIME_new();
    if (t && ASN1_TIME_set_string_X509(t, times[next_rand(s) % 6]))
        next_rand(s) % 2 ? X509_set1_notBefore(x, t) : X509_set1_notAfter(x, t);
    ASN1_TIME_free(t);
    ERR_clear_error();
}

static void mutate_serial(X509 *x, unsigned *s)
{
    unsigned char buf[40];
    size_t len = next_rand(s) % sizeof buf;
    random_bytes(s, buf, len);
    BIGNUM *bn = BN_bin2bn(buf, (int)len, NULL);
    if (bn) {
        BN_set_negative(bn, (int)(next_rand(s) % 2));
        ASN1_INTEGER *i = BN_to_ASN1_INTEGER(bn, NULL);
        if (i)
            X509_set_serialNumber(x, i);
        ASN1_INTEGER_free(i);
        BN_free(bn);
    }
    ERR_clear_error();
}

static void mutate_ext(X509 *x, unsigned *s)
{
    static const char *const exts[][2] = {
        { "extendedKeyUsage", "serverAuth,clientAuth,emailProtection,codeSigning" },
        { "extendedKeyUsage", "1.2.3.4.5" },
        { "keyUsage", "critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign" },
        { "keyUsage", "encipherOnly" },
        { "basicConstraints", "critical,CA:TRUE,pathlen:0" },
        { "authorityInfoAccess", "OCSP;URI:http://\x1b[31mx/,caIssuers;URI:ldap://a" },
        { "subjectKeyIdentifier", "00" },
    };
    size_t k = next_rand(s) % (sizeof exts / sizeof *exts);
    X509_EXTENSION *ext = X509V3_EXT_conf(NULL, NULL, exts[k][0], exts[k][1]);
    if (ext) {
        int at = X509_get_ext_by_OBJ(x, X509_EXTENSION_get_object(ext), -1);
        if (at >= 0)
            X509_EXTENSION_free(X509_delete_ext(x, at));
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    ERR_clear_error();
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    const unsigned char *p = data;
    X509 *x = next_rand(&seed) % 4 ? d2i_X509(NULL, &p, (long)size) : NULL;
    ERR_clear_error();
    if (!x)
        return LLVMFuzzerMutate(data, size, max_size);
    switch (next_rand(&seed) % 6) {
    case 0: mutate_name(x, &seed, true); break;
    case 1: mutate_name(x, &seed, false); break;
    case 2: mutate_san(x, &seed); break;
    case 3: mutate_dates(x, &seed); break;
    case 4: mutate_serial(x, &seed); break;
    default: mutate_ext(x, &seed); break;
    }
    int len = i2d_X509(x, NULL);
    size_t out = size;
    if (len > 0 && (size_t)len <= max_size) {
        unsigned char *q = data;
        out = (size_t)i2d_X509(x, &q);
    } else {
        out = LLVMFuzzerMutate(data, size, max_size);
    }
    X509_free(x);
    ERR_clear_error();
    return out;
}
