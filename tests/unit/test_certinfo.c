/* Unit tests for net/certinfo.c, on certificates generated here. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certinfo.h"

#define ROOT_NB  ((time_t)1600000000)   /* 2020-09-13T12:26:40Z, UTCTime */
#define ROOT_NA  ((time_t)2600000000)   /* 2052-05-22, GeneralizedTime */
#define LEAF_NB  ((time_t)1704067200)   /* 2024-01-01T00:00:00Z */
#define LEAF_NA  ((time_t)1735689599)   /* 2024-12-31T23:59:59Z */
#define LEAF_SAN "DNS:mail.test,DNS:*.example.net,IP:127.0.0.2,IP:::1"

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    cr_assert_not_null(ext, "extension %s=%s", OBJ_nid2sn(nid), value);
    cr_assert(X509_add_ext(cert, ext, -1));
    X509_EXTENSION_free(ext);
}

static void add_name(X509_NAME *name, const char *field, const char *utf8)
{
    cr_assert(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                         (const unsigned char *)utf8, -1, -1, 0));
}

static void set_serial(X509 *cert, const char *hex)
{
    BIGNUM *bn = NULL;
    cr_assert(BN_hex2bn(&bn, hex));
    cr_assert_not_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)));
    BN_free(bn);
}

/* An unsigned v3 certificate for key: subject "O=Mailscope Test" + CN cn
 * (none when NULL), issued by issuer (itself when NULL). */
static X509 *cert_new(EVP_PKEY *key, const char *cn, X509 *issuer, time_t nb, time_t na)
{
    X509 *x = X509_new();
    cr_assert_not_null(x);
    cr_assert(X509_set_version(x, X509_VERSION_3));
    set_serial(x, "01");
    cr_assert_not_null(ASN1_TIME_set(X509_getm_notBefore(x), nb));
    cr_assert_not_null(ASN1_TIME_set(X509_getm_notAfter(x), na));
    cr_assert(X509_set_pubkey(x, key));
    X509_NAME *name = X509_get_subject_name(x);
    add_name(name, "O", "Mailscope Test");
    if (cn)
        add_name(name, "CN", cn);
    cr_assert(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name));
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    return x;
}

static void cert_sign(X509 *x, EVP_PKEY *signer)
{
    int id = EVP_PKEY_get_base_id(signer);
    bool no_md = id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448;
    cr_assert(X509_sign(x, signer, no_md ? NULL : EVP_sha256()) > 0);
}

static EVP_PKEY *root_key, *leaf_key;
static X509 *root, *leaf;
static struct cert_info ci;

static X509 *make_root(void)
{
    X509 *x = cert_new(root_key, "Test Root", NULL, ROOT_NB, ROOT_NA);
    add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    cert_sign(x, root_key);
    return x;
}

/* Unsigned, so a test can still change it before cert_sign(x, root_key). */
static X509 *make_leaf(const char *san)
{
    X509 *x = cert_new(leaf_key, "mail.test", root, LEAF_NB, LEAF_NA);
    set_serial(x, "0123456789ABCDEF");
    add_ext(x, root, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, root, NID_key_usage, "critical,digitalSignature");
    if (san)
        add_ext(x, root, NID_subject_alt_name, san);
    return x;
}

/* An RSA 2048 key: the one tests/env/gen-certs.sh made for this run when
 * scripts/test says where (MS_CERTS), else a fresh one. Each test runs in
 * its own process, and 26 RSA key generations take minutes under valgrind. */
static EVP_PKEY *rsa_key(void)
{
    const char *dir = getenv("MS_CERTS");
    char path[4096];
    if (dir && snprintf(path, sizeof path, "%s/root.key", dir) < (int)sizeof path) {
        FILE *f = fopen(path, "r");
        EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (k && EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) == 2048)
            return k;
        EVP_PKEY_free(k);
        ERR_clear_error();
    }
    return EVP_RSA_gen(2048);
}

static void setup(void)
{
    root_key = rsa_key();
    leaf_key = EVP_EC_gen("P-256");
    cr_assert(root_key && leaf_key);
    root = make_root();
    leaf = make_leaf(LEAF_SAN);
    cert_sign(leaf, root_key);
}

static void teardown(void)
{
    certinfo_clear(&ci);
    X509_free(leaf);
    X509_free(root);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(root_key);
}

static void load(X509 *x)
{
    certinfo_clear(&ci);
    cr_assert_eq(certinfo_from_x509(&ci, x), 0);
}

/* Colon-separated upper-case hex, computed independently of certinfo.c. */
static void expect_fingerprint(X509 *x, const EVP_MD *md, const char *got)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char want[3 * EVP_MAX_MD_SIZE + 1] = "";
    cr_assert(X509_digest(x, md, buf, &n));
    for (unsigned int i = 0; i < n; i++)
        sprintf(want + 3 * i, i + 1 < n ? "%02X:" : "%02X", buf[i]);
    cr_assert_str_eq(got, want);
}

TestSuite(certinfo, .init = setup, .fini = teardown);

Test(certinfo, root_names_and_flags)
{
    load(root);
    cr_assert_str_eq(ci.subject, "CN=Test Root,O=Mailscope Test");
    cr_assert_str_eq(ci.issuer, "CN=Test Root,O=Mailscope Test");
    cr_assert_str_eq(ci.subject_cn, "Test Root");
    cr_assert_str_eq(ci.serial, "01");
    cr_assert_eq(ci.n_san, 0);
    cr_assert_not(ci.san_truncated);
    cr_assert(ci.self_signed);
    cr_assert(ci.is_ca);
}

Test(certinfo, root_key_signature_dates)
{
    load(root);
    cr_assert_str_eq(ci.key, "RSA 2048");
    cr_assert_eq(ci.key_bits, 2048);
    cr_assert_str_eq(ci.signature, "sha256WithRSAEncryption");
    cr_assert_eq(ci.not_before, ROOT_NB);
    cr_assert_eq(ci.not_after, ROOT_NA); /* GeneralizedTime path */
}

Test(certinfo, leaf_names_serial_flags)
{
    load(leaf);
    cr_assert_not_null(strstr(ci.subject, "CN=mail.test"));
    cr_assert_str_eq(ci.subject, "CN=mail.test,O=Mailscope Test");
    cr_assert_str_eq(ci.issuer, "CN=Test Root,O=Mailscope Test");
    cr_assert_str_eq(ci.subject_cn, "mail.test");
    cr_assert_str_eq(ci.serial, "0123456789ABCDEF");
    cr_assert_not(ci.self_signed);
    cr_assert_not(ci.is_ca);
}

Test(certinfo, leaf_san_order_and_format)
{
    load(leaf);
    cr_assert_eq(ci.n_san, 4);
    cr_assert_not(ci.san_truncated);
    cr_assert_str_eq(ci.san[0], "DNS:mail.test");
    cr_assert_str_eq(ci.san[1], "DNS:*.example.net");
    cr_assert_str_eq(ci.san[2], "IP:127.0.0.2");
    cr_assert_str_eq(ci.san[3], "IP:::1");
    cr_assert_null(ci.san[4]);
}

Test(certinfo, leaf_key_signature_dates)
{
    load(leaf);
    cr_assert_str_eq(ci.key, "EC 256 (prime256v1)");
    cr_assert_eq(ci.key_bits, 256);
    cr_assert_str_eq(ci.signature, "sha256WithRSAEncryption");
    cr_assert_eq(ci.not_before, LEAF_NB);
    cr_assert_eq(ci.not_after, LEAF_NA);
}

Test(certinfo, fingerprints_and_pem)
{
    load(leaf);
    cr_assert_eq(strlen(ci.sha256), 95);
    cr_assert_eq(strlen(ci.sha1), 59);
    expect_fingerprint(leaf, EVP_sha256(), ci.sha256);
    expect_fingerprint(leaf, EVP_sha1(), ci.sha1);
    cr_assert_eq(strncmp(ci.pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
    cr_assert_not_null(strstr(ci.pem, "-----END CERTIFICATE-----\n"));
    load(root);
    expect_fingerprint(root, EVP_sha256(), ci.sha256);
}

Test(certinfo, days_left_rounds_down)
{
    load(leaf);
    cr_assert_eq(certinfo_days_left(&ci, LEAF_NA - 10 * 86400), 10);
    cr_assert_eq(certinfo_days_left(&ci, LEAF_NA - 10 * 86400 + 1), 9);
    cr_assert_eq(certinfo_days_left(&ci, LEAF_NA - 1), 0);
    cr_assert_eq(certinfo_days_left(&ci, LEAF_NA), 0);
    cr_assert_eq(certinfo_days_left(&ci, LEAF_NA + 1), -1);
    cr_assert_eq(certinfo_days_left(&ci, LEAF_NA + 86400), -1);
    cr_assert_eq(certinfo_days_left(&ci, LEAF_NA + 86401), -2);
    cr_assert_eq(certinfo_days_left(&ci, LEAF_NA + 400 * 86400), -400);
}

Test(certinfo, utf8_cn_stays_utf8)
{
    X509 *x = cert_new(leaf_key, "Z\xc3\xbcrich", root, LEAF_NB, LEAF_NA);
    cert_sign(x, root_key);
    load(x);
    cr_assert_str_eq(ci.subject_cn, "Z\xc3\xbcrich");
    cr_assert_str_eq(ci.subject, "CN=Z\xc3\xbcrich,O=Mailscope Test");
    X509_free(x);
}

Test(certinfo, bmpstring_cn_converted_to_utf8)
{
    static const unsigned char bmp[] = { 0, 'Z', 0, 0xFC, 0, 'r', 0, 'i', 0, 'c', 0, 'h' };
    X509 *x = cert_new(leaf_key, NULL, root, LEAF_NB, LEAF_NA);
    cr_assert(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", V_ASN1_BMPSTRING,
                                         bmp, sizeof bmp, -1, 0));
    cert_sign(x, root_key);
    load(x);
    cr_assert_str_eq(ci.subject_cn, "Z\xc3\xbcrich");
    cr_assert_str_eq(ci.subject, "CN=Z\xc3\xbcrich,O=Mailscope Test");
    X509_free(x);
}

Test(certinfo, cn_without_text_form_is_null)
{
    static const unsigned char bits[] = { 0x00, 0xDE, 0xAD };
    X509 *x = cert_new(leaf_key, NULL, root, LEAF_NB, LEAF_NA);
    cr_assert(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", V_ASN1_BIT_STRING,
                                         bits, sizeof bits, -1, 0));
    cert_sign(x, root_key);
    load(x);
    cr_assert_null(ci.subject_cn);
    cr_assert_not_null(strstr(ci.subject, "CN=#"), "%s", ci.subject);
    X509_free(x);
}

Test(certinfo, last_cn_wins_and_missing_cn_is_null)
{
    X509 *x = cert_new(leaf_key, "first.test", root, LEAF_NB, LEAF_NA);
    add_name(X509_get_subject_name(x), "CN", "second.test");
    cert_sign(x, root_key);
    load(x);
    cr_assert_str_eq(ci.subject_cn, "second.test");
    X509_free(x);

    x = cert_new(leaf_key, NULL, root, LEAF_NB, LEAF_NA);
    cert_sign(x, root_key);
    load(x);
    cr_assert_null(ci.subject_cn);
    cr_assert_str_eq(ci.subject, "O=Mailscope Test");
    X509_free(x);
}

Test(certinfo, san_email_uri_and_skipped_kinds)
{
    X509 *x = make_leaf("email:postmaster@mail.test,RID:1.2.3.4,URI:https://mail.test/,"
                        "otherName:1.3.6.1.5.5.7.8.9;UTF8:p@mail.test,DNS:x.test");
    cert_sign(x, root_key);
    load(x);
    cr_assert_eq(ci.n_san, 3);
    cr_assert_str_eq(ci.san[0], "email:postmaster@mail.test");
    cr_assert_str_eq(ci.san[1], "URI:https://mail.test/");
    cr_assert_str_eq(ci.san[2], "DNS:x.test");
    X509_free(x);
}

Test(certinfo, san_with_nul_is_not_shortened)
{
    static const char evil[] = "good.test\0.evil.test";
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    cr_assert(gens && gn && ia5);
    cr_assert(ASN1_STRING_set(ia5, evil, sizeof evil - 1));
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    cr_assert(sk_GENERAL_NAME_push(gens, gn));
    X509 *x = make_leaf(NULL);
    cr_assert(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT));
    GENERAL_NAMES_free(gens);
    cert_sign(x, root_key);
    load(x);
    cr_assert_eq(ci.n_san, 1);
    cr_assert_str_eq(ci.san[0], "DNS:good.test\\00.evil.test");
    X509_free(x);
}

Test(certinfo, seventy_sans_truncated_to_64)
{
    char san[70 * 16] = "";
    for (int i = 0; i < 70; i++)
        sprintf(san + strlen(san), "%sDNS:h%d.test", i ? "," : "", i);
    X509 *x = make_leaf(san);
    cert_sign(x, root_key);
    load(x);
    cr_assert_eq(ci.n_san, CERTINFO_MAX_SAN);
    cr_assert(ci.san_truncated);
    cr_assert_str_eq(ci.san[0], "DNS:h0.test");
    cr_assert_str_eq(ci.san[63], "DNS:h63.test");
    X509_free(x);
}

Test(certinfo, exactly_64_sans_not_truncated)
{
    char san[64 * 16] = "";
    for (int i = 0; i < 64; i++)
        sprintf(san + strlen(san), "%sDNS:h%d.test", i ? "," : "", i);
    X509 *x = make_leaf(san);
    cert_sign(x, root_key);
    load(x);
    cr_assert_eq(ci.n_san, 64);
    cr_assert_not(ci.san_truncated);
    X509_free(x);
}

Test(certinfo, serial_forms)
{
    X509 *x = make_leaf(NULL);
    set_serial(x, "FF00");     /* high bit set: DER pads, the display must not */
    cert_sign(x, root_key);
    load(x);
    cr_assert_str_eq(ci.serial, "FF00");
    set_serial(x, "-1");
    cert_sign(x, root_key);
    load(x);
    cr_assert_str_eq(ci.serial, "-01");
    X509_free(x);
}

Test(certinfo, self_signed_server_cert_without_certsign)
{
    /* Typical self-signed mail server certificate: not a CA, no keyCertSign.
     * X509_check_issued() refuses it, yet it is self-signed. */
    X509 *x = cert_new(leaf_key, "mail.test", NULL, LEAF_NB, LEAF_NA);
    add_ext(x, NULL, NID_key_usage, "critical,digitalSignature");
    cert_sign(x, leaf_key);
    cr_assert_neq(X509_check_issued(x, x), X509_V_OK);
    load(x);
    cr_assert(ci.self_signed);
    cr_assert_not(ci.is_ca);
    cr_assert_str_eq(ci.signature, "ecdsa-with-SHA256");
    X509_free(x);
}

Test(certinfo, same_names_wrong_key_is_not_self_signed)
{
    X509 *x = cert_new(leaf_key, "Test Root", NULL, LEAF_NB, LEAF_NA);
    cert_sign(x, root_key);
    ERR_clear_error();
    load(x);
    cr_assert_str_eq(ci.subject, ci.issuer);
    cr_assert_not(ci.self_signed);
    cr_assert_eq(ERR_peek_error(), 0, "certinfo left errors on the OpenSSL queue");
    X509_free(x);
}

Test(certinfo, ed25519_key)
{
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    cr_assert_not_null(ed);
    X509 *x = cert_new(ed, "ed.test", NULL, LEAF_NB, LEAF_NA);
    cert_sign(x, ed);
    load(x);
    cr_assert_eq(ci.key_bits, 256);
    cr_assert_str_eq(ci.key, "ED25519 256");
    cr_assert_str_eq(ci.signature, "ED25519");
    cr_assert(ci.self_signed);
    X509_free(x);
    EVP_PKEY_free(ed);
}

Test(certinfo, clear_zeroes_and_is_idempotent)
{
    load(leaf);
    certinfo_clear(&ci);
    static const struct cert_info zero;
    cr_assert_eq(memcmp(&ci, &zero, sizeof ci), 0);
    certinfo_clear(&ci);
    cr_assert_eq(memcmp(&ci, &zero, sizeof ci), 0);
}

Test(certinfo, null_cert_fails_cleared)
{
    memset(&ci, 0xA5, sizeof ci);
    cr_assert_eq(certinfo_from_x509(&ci, NULL), -1);
    cr_assert_null(ci.subject);
    cr_assert_eq(ci.n_san, 0);
}

/* ---- the inspector's facts: usages, AIA, key identifiers, digests -------- */

Test(certinfo, key_usage_eku_and_aia)
{
    X509 *x = make_leaf(LEAF_SAN);
    add_ext(x, root, NID_ext_key_usage, "serverAuth,clientAuth,1.3.6.1.4.1.99999.1");
    add_ext(x, root, NID_info_access, "caIssuers;URI:http://pki.test/inter.crt,"
                                      "OCSP;URI:http://ocsp.test/,caIssuers;URI:ldap://dir.test/ca");
    cert_sign(x, root_key);
    load(x);
    cr_assert(ci.has_key_usage);
    cr_assert_eq(ci.key_usage, CERTINFO_KU_DIGITAL_SIGNATURE);
    const char *names[CERTINFO_KU_COUNT];
    cr_assert_eq(certinfo_key_usage_names(ci.key_usage, names), 1);
    cr_assert_str_eq(names[0], "digitalSignature");
    cr_assert(ci.has_eku);
    cr_assert_eq(ci.n_eku, 3);
    cr_assert_str_eq(ci.eku[0], "serverAuth");
    cr_assert_str_eq(ci.eku[1], "clientAuth");
    cr_assert_str_eq(ci.eku[2], "1.3.6.1.4.1.99999.1", "an OID without a name stays dotted");
    cr_assert_eq(ci.n_ca_issuers, 2);
    cr_assert_str_eq(ci.ca_issuers[0], "http://pki.test/inter.crt");
    cr_assert_str_eq(ci.ca_issuers[1], "ldap://dir.test/ca");
    cr_assert_eq(ci.n_ocsp, 1);
    cr_assert_str_eq(ci.ocsp[0], "http://ocsp.test/");
    cr_assert_eq(ERR_peek_error(), 0);
    X509_free(x);
}

Test(certinfo, no_eku_means_any_purpose_and_root_usage_bits)
{
    load(leaf);
    cr_assert_not(ci.has_eku);
    cr_assert_eq(ci.n_eku, 0);
    cr_assert_eq(ci.n_ca_issuers + ci.n_ocsp, 0);
    load(root);
    const char *names[CERTINFO_KU_COUNT];
    cr_assert_eq(certinfo_key_usage_names(ci.key_usage, names), 2);
    cr_assert_str_eq(names[0], "keyCertSign");
    cr_assert_str_eq(names[1], "cRLSign");
}

Test(certinfo, key_type_digest_issuer_cn_and_key_ids)
{
    load(leaf);
    cr_assert_str_eq(ci.key_type, "EC");
    cr_assert_eq(ci.key_bits, 256);
    cr_assert_str_eq(ci.sig_hash, "sha256");
    cr_assert_str_eq(ci.issuer_cn, "Test Root");
    cr_assert_eq(strlen(ci.ski), 59, "a SHA-1 key identifier: %s", ci.ski);
    struct cert_info r;
    cr_assert_eq(certinfo_from_x509(&r, root), 0);
    cr_assert_str_eq(r.key_type, "RSA");
    cr_assert_str_eq(ci.aki, r.ski, "the leaf names the root's key");
    cr_assert(certinfo_issued_by(&ci, &r));
    cr_assert_not(certinfo_issued_by(&r, &ci));
    r.ski[0] = r.ski[0] == 'A' ? 'B' : 'A';
    cr_assert_not(certinfo_issued_by(&ci, &r), "same name, another key: not the issuer");
    certinfo_clear(&r);
}

Test(certinfo, sha1_and_ed25519_digests)
{
    X509 *x = make_leaf(NULL);
    cr_assert(X509_sign(x, root_key, EVP_sha1()) > 0);
    load(x);
    cr_assert_str_eq(ci.sig_hash, "sha1");
    cr_assert_str_eq(ci.signature, "sha1WithRSAEncryption");
    X509_free(x);
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    x = cert_new(ed, "ed.test", NULL, LEAF_NB, LEAF_NA);
    cert_sign(x, ed);
    load(x);
    cr_assert_str_eq(ci.sig_hash, "", "Ed25519 has no separate digest");
    cr_assert_str_eq(ci.key_type, "ED25519");
    X509_free(x);
    EVP_PKEY_free(ed);
}

Test(certinfo, copy_owns_the_new_fields)
{
    X509 *x = make_leaf(LEAF_SAN);
    add_ext(x, root, NID_ext_key_usage, "serverAuth");
    add_ext(x, root, NID_info_access, "caIssuers;URI:http://pki.test/i.crt,OCSP;URI:http://o.test/");
    cert_sign(x, root_key);
    load(x);
    struct cert_info dup;
    cr_assert_eq(certinfo_copy(&dup, &ci), 0);
    cr_assert_neq(dup.eku[0], ci.eku[0]);
    cr_assert_neq(dup.ca_issuers[0], ci.ca_issuers[0]);
    cr_assert_neq(dup.issuer_cn, ci.issuer_cn);
    certinfo_clear(&ci);   /* the copy must not share anything with it */
    cr_assert_str_eq(dup.eku[0], "serverAuth");
    cr_assert_str_eq(dup.ca_issuers[0], "http://pki.test/i.crt");
    cr_assert_str_eq(dup.ocsp[0], "http://o.test/");
    cr_assert_str_eq(dup.issuer_cn, "Test Root");
    cr_assert_str_eq(dup.key_type, "EC");
    certinfo_clear(&dup);
    X509_free(x);
}
