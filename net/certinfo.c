/* certinfo — copy the facts of an X509 into plain C strings. */
#include "certinfo.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Upper-case hex of n bytes, with sep between bytes when sep != 0. */
static void hex_into(char *dst, const unsigned char *p, size_t n, char sep)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        if (sep && i > 0)
            *dst++ = sep;
        *dst++ = digits[p[i] >> 4];
        *dst++ = digits[p[i] & 0x0f];
    }
    *dst = '\0';
}

/* A NUL inside a name would silently shorten it ("good.test\0.evil.test"),
 * so it is kept visible as "\00", the way RFC 2253 printing shows it. */
static char *dup_name_bytes(const unsigned char *p, size_t n)
{
    size_t nuls = 0;
    for (size_t i = 0; i < n; i++)
        nuls += p[i] == '\0';
    char *s = malloc(n + 2 * nuls + 1);
    if (!s)
        return NULL;
    char *d = s;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\0') {
            memcpy(d, "\\00", 3);
            d += 3;
        } else {
            *d++ = (char)p[i];
        }
    }
    *d = '\0';
    return s;
}

/* Copies a memory BIO's contents so the struct owns plain malloc'd memory. */
static char *bio_to_str(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    if (n > 0)
        memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

static char *name_to_str(const X509_NAME *name)
{
    /* RFC 2253 escaping, but non-ASCII stays UTF-8 instead of \XX. */
    const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    char *s = NULL;
    if (X509_NAME_print_ex(bio, name, 0, flags) >= 0)
        s = bio_to_str(bio);
    BIO_free(bio);
    return s;
}

/* Returns 0 (*out NULL when there is no CN), or -1 on allocation failure. */
static int last_cn(const X509_NAME *name, char **out)
{
    *out = NULL;
    int idx = -1, last = -1;
    while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0)
        last = idx;
    if (last < 0)
        return 0;
    ASN1_STRING *val = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
    unsigned char *utf8 = NULL;
    /* Fails for string types with no text form (a CN may legally be a BIT
     * STRING); that is "no usable CN", not a reason to give up on the cert. */
    int n = ASN1_STRING_to_UTF8(&utf8, val);
    if (n < 0)
        return 0;
    *out = dup_name_bytes(utf8, (size_t)n);
    OPENSSL_free(utf8);
    return *out ? 0 : -1;
}

/* Serial magnitude in hex without DER sign padding, like "openssl x509 -serial". */
static char *serial_str(const X509 *cert)
{
    const ASN1_INTEGER *ser = X509_get0_serialNumber(cert);
    size_t n = (size_t)ASN1_STRING_length(ser);
    bool neg = ASN1_STRING_type(ser) == V_ASN1_NEG_INTEGER;
    char *s = malloc(2 * n + 4);
    if (!s)
        return NULL;
    if (n == 0) {
        strcpy(s, "00");
        return s;
    }
    if (neg)
        s[0] = '-';
    hex_into(s + neg, ASN1_STRING_get0_data(ser), n, 0);
    return s;
}

static char *san_ip(const ASN1_OCTET_STRING *ip)
{
    char buf[INET6_ADDRSTRLEN];
    int len = ASN1_STRING_length(ip);
    int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;
    if (af < 0 || !inet_ntop(af, ASN1_STRING_get0_data(ip), buf, sizeof buf))
        return NULL;
    char *s = malloc(strlen(buf) + 4);
    if (s)
        sprintf(s, "IP:%s", buf);
    return s;
}

static char *san_text(const char *prefix, const ASN1_IA5STRING *v)
{
    char *val = dup_name_bytes(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v));
    if (!val)
        return NULL;
    char *s = malloc(strlen(prefix) + strlen(val) + 1);
    if (s)
        sprintf(s, "%s%s", prefix, val);
    free(val);
    return s;
}

/* Returns the formatted entry, NULL with *skip set for unsupported kinds. */
static char *san_entry(const GENERAL_NAME *gn, bool *skip)
{
    *skip = false;
    switch (gn->type) {
    case GEN_DNS:
        return san_text("DNS:", gn->d.dNSName);
    case GEN_EMAIL:
        return san_text("email:", gn->d.rfc822Name);
    case GEN_URI:
        return san_text("URI:", gn->d.uniformResourceIdentifier);
    case GEN_IPADD: {
        int len = ASN1_STRING_length(gn->d.iPAddress);
        if (len == 4 || len == 16)
            return san_ip(gn->d.iPAddress);
        break; /* a malformed address length is not an allocation failure */
    }
    default:
        break;
    }
    *skip = true;
    return NULL;
}

static int fill_sans(struct cert_info *ci, const X509 *cert)
{
    /* A missing or undecodable extension both come back NULL: no SANs. */
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (!gens)
        return 0;
    int rc = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        bool skip;
        char *s = san_entry(sk_GENERAL_NAME_value(gens, i), &skip);
        if (skip)
            continue;
        if (!s) {
            rc = -1;
            break;
        }
        if (ci->n_san == CERTINFO_MAX_SAN) {
            free(s);
            ci->san_truncated = true;
            break;
        }
        ci->san[ci->n_san++] = s;
    }
    GENERAL_NAMES_free(gens);
    return rc;
}

static time_t asn1_to_time_t(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return timegm(&tm);
}

static const char *key_type_name(const EVP_PKEY *pk)
{
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "EC";
    case EVP_PKEY_DSA: return "DSA";
    case EVP_PKEY_DH: return "DH";
    case EVP_PKEY_ED25519: return "ED25519";
    case EVP_PKEY_ED448: return "ED448";
    case EVP_PKEY_X25519: return "X25519";
    case EVP_PKEY_X448: return "X448";
    default: break;
    }
    /* Provider-only key types have no legacy id but do have a name. */
    const char *name = EVP_PKEY_get0_type_name(pk);
    return name ? name : "unknown";
}

static char *key_str(X509 *cert, int *bits, char *type, size_t typelen)
{
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    char buf[128];
    *bits = 0;
    snprintf(type, typelen, "%s", pk ? key_type_name(pk) : "unknown");
    if (!pk) {
        snprintf(buf, sizeof buf, "unknown");
    } else {
        char group[64];
        size_t glen = 0;
        *bits = EVP_PKEY_get_bits(pk);
        int n = snprintf(buf, sizeof buf, "%s %d", key_type_name(pk), *bits);
        /* Only EC keys have a named group worth showing; ignore failure. */
        if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC
            && EVP_PKEY_get_group_name(pk, group, sizeof group, &glen) == 1)
            snprintf(buf + n, sizeof buf - (size_t)n, " (%s)", group);
    }
    return strdup(buf);
}

static char *signature_str(const X509 *cert)
{
    int nid = X509_get_signature_nid(cert);
    const char *ln = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;
    if (ln)
        return strdup(ln);
    /* Unknown algorithm: the dotted OID still tells the reader something. */
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    char oid[128];
    X509_get0_signature(NULL, &alg, cert);
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    if (!obj || OBJ_obj2txt(oid, sizeof oid, obj, 1) <= 0)
        return strdup("unknown");
    return strdup(oid);
}

static void fingerprint(const X509 *cert, const EVP_MD *md, char *out)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(cert, md, buf, &n) != 1)
        n = 0; /* leaves "" rather than a wrong value */
    hex_into(out, buf, n, ':');
}

static bool is_self_signed(X509 *cert)
{
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    /* Not X509_check_issued(): it also demands keyCertSign, so a self-signed
     * server certificate with keyUsage digitalSignature would be missed.
     * The signature check stops a look-alike whose names merely match. */
    return pk
        && X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0
        && X509_verify(cert, pk) == 1;
}

/* The keyUsage bits in our own numbering (see certinfo.h). */
static void fill_key_usage(struct cert_info *ci, X509 *cert)
{
    static const struct { uint32_t ossl; unsigned ours; } map[] = {
        { KU_DIGITAL_SIGNATURE, CERTINFO_KU_DIGITAL_SIGNATURE },
        { KU_NON_REPUDIATION, CERTINFO_KU_NON_REPUDIATION },
        { KU_KEY_ENCIPHERMENT, CERTINFO_KU_KEY_ENCIPHERMENT },
        { KU_DATA_ENCIPHERMENT, CERTINFO_KU_DATA_ENCIPHERMENT },
        { KU_KEY_AGREEMENT, CERTINFO_KU_KEY_AGREEMENT },
        { KU_KEY_CERT_SIGN, CERTINFO_KU_KEY_CERT_SIGN }, { KU_CRL_SIGN, CERTINFO_KU_CRL_SIGN },
        { KU_ENCIPHER_ONLY, CERTINFO_KU_ENCIPHER_ONLY },
        { KU_DECIPHER_ONLY, CERTINFO_KU_DECIPHER_ONLY } };
    ci->has_key_usage = (X509_get_extension_flags(cert) & EXFLAG_KUSAGE) != 0;
    uint32_t ku = X509_get_key_usage(cert);
    for (size_t i = 0; ci->has_key_usage && i < sizeof map / sizeof *map; i++)
        if (ku & map[i].ossl)
            ci->key_usage |= map[i].ours;
}

/* The OID's short name ("serverAuth") or, without one, its dotted form. */
static char *oid_str(const ASN1_OBJECT *obj)
{
    int nid = OBJ_obj2nid(obj);
    const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
    if (sn)
        return strdup(sn);
    char buf[128];
    if (OBJ_obj2txt(buf, sizeof buf, obj, 1) <= 0)
        return strdup("unknown");
    return strdup(buf);
}

static int fill_eku(struct cert_info *ci, X509 *cert)
{
    /* NULL both when absent and when undecodable; the flag tells which. */
    ci->has_eku = (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
    if (!eku)
        return 0;
    int rc = 0;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku) && ci->n_eku < CERTINFO_MAX_EKU; i++) {
        char *s = oid_str(sk_ASN1_OBJECT_value(eku, i));
        if (!s) {
            rc = -1;
            break;
        }
        ci->eku[ci->n_eku++] = s;
    }
    EXTENDED_KEY_USAGE_free(eku);
    return rc;
}

/* One AIA URI into list (URIs only: that is where clients fetch from). */
static int aia_add(char **list, size_t *n, const GENERAL_NAME *gn)
{
    if (gn->type != GEN_URI || *n == CERTINFO_MAX_AIA)
        return 0;
    const ASN1_IA5STRING *uri = gn->d.uniformResourceIdentifier;
    list[*n] = dup_name_bytes(ASN1_STRING_get0_data(uri), (size_t)ASN1_STRING_length(uri));
    return list[(*n)++] ? 0 : -1;
}

static int fill_aia(struct cert_info *ci, X509 *cert)
{
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
    if (!aia)
        return 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        int nid = OBJ_obj2nid(ad->method);
        if (nid == NID_ad_ca_issuers)
            rc = aia_add(ci->ca_issuers, &ci->n_ca_issuers, ad->location);
        else if (nid == NID_ad_OCSP)
            rc = aia_add(ci->ocsp, &ci->n_ocsp, ad->location);
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    return rc;
}

static void fill_key_ids(struct cert_info *ci, X509 *cert)
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(cert);
    /* Up to 31 bytes fit the buffer; identifiers are 20 (SHA-1) in practice. */
    if (ski && ASN1_STRING_length(ski) <= 31)
        hex_into(ci->ski, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), ':');
    if (aki && ASN1_STRING_length(aki) <= 31)
        hex_into(ci->aki, ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki), ':');
}

/* The signature's digest, from OpenSSL's own reading of the algorithm (so
 * RSA-PSS parameters count); "" for algorithms without a separate digest. */
static void fill_sig_hash(struct cert_info *ci, X509 *cert)
{
    int mdnid = NID_undef;
    if (X509_get_signature_info(cert, &mdnid, NULL, NULL, NULL) != 1 || mdnid == NID_undef)
        return;
    const char *sn = OBJ_nid2sn(mdnid);
    snprintf(ci->sig_hash, sizeof ci->sig_hash, "%s", sn ? sn : "");
    for (char *p = ci->sig_hash; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static char *pem_str(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    char *s = NULL;
    if (PEM_write_bio_X509(bio, cert) == 1)
        s = bio_to_str(bio);
    BIO_free(bio);
    return s;
}

static int fill(struct cert_info *ci, X509 *cert)
{
    ci->subject = name_to_str(X509_get_subject_name(cert));
    ci->issuer = name_to_str(X509_get_issuer_name(cert));
    ci->serial = serial_str(cert);
    ci->key = key_str(cert, &ci->key_bits, ci->key_type, sizeof ci->key_type);
    ci->signature = signature_str(cert);
    ci->pem = pem_str(cert);
    if (!ci->subject || !ci->issuer || !ci->serial || !ci->key
        || !ci->signature || !ci->pem)
        return -1;
    if (last_cn(X509_get_subject_name(cert), &ci->subject_cn) < 0
        || last_cn(X509_get_issuer_name(cert), &ci->issuer_cn) < 0
        || fill_sans(ci, cert) < 0 || fill_eku(ci, cert) < 0 || fill_aia(ci, cert) < 0)
        return -1;
    fill_key_usage(ci, cert);
    fill_key_ids(ci, cert);
    fill_sig_hash(ci, cert);
    ci->not_before = asn1_to_time_t(X509_get0_notBefore(cert));
    ci->not_after = asn1_to_time_t(X509_get0_notAfter(cert));
    fingerprint(cert, EVP_sha256(), ci->sha256);
    fingerprint(cert, EVP_sha1(), ci->sha1);
    ci->self_signed = is_self_signed(cert);
    /* EXFLAG_CA is exactly basicConstraints CA:TRUE; X509_check_ca would
     * also call v1 roots and keyUsage-only certificates CAs. */
    ci->is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
    return 0;
}

int certinfo_from_x509(struct cert_info *ci, struct x509_st *cert)
{
    memset(ci, 0, sizeof *ci);
    if (!cert)
        return -1;
    /* Errors raised while reading a malformed certificate must not linger
     * in the thread's queue, where a later SSL_get_error() would see them. */
    ERR_set_mark();
    int rc = fill(ci, cert);
    ERR_pop_to_mark();
    if (rc < 0)
        certinfo_clear(ci);
    return rc;
}

int certinfo_from_pem(struct cert_info *ci, const char *pem, size_t len)
{
    memset(ci, 0, sizeof *ci);
    if (len > INT_MAX)
        return -1;
    ERR_set_mark();
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    /* One certificate and nothing but blank space after it. */
    char rest[64];
    int more = cert ? BIO_read(bio, rest, sizeof rest) : 0;
    for (int i = 0; i < more; i++)
        if (rest[i] != '\n' && rest[i] != '\r' && rest[i] != ' ' && rest[i] != '\t')
            more = -1;
    int rc = cert && more >= 0 && more < (int)sizeof rest ? certinfo_from_x509(ci, cert) : -1;
    X509_free(cert);
    BIO_free(bio);
    ERR_pop_to_mark();
    return rc;
}

/* Rounds toward minus infinity: 23 hours left is 0 days, one second past
 * not_after is -1, so "< 0" means expired and "0" means expires today. */
long certinfo_days_left(const struct cert_info *ci, time_t now)
{
    long long diff = (long long)ci->not_after - (long long)now;
    long long days = diff / 86400;
    if (diff % 86400 != 0 && diff < 0)
        days--;
    return (long)days;
}

void certinfo_clear(struct cert_info *ci)
{
    free(ci->subject);
    free(ci->issuer);
    free(ci->subject_cn);
    free(ci->serial);
    for (size_t i = 0; i < CERTINFO_MAX_SAN; i++)
        free(ci->san[i]);
    free(ci->key);
    free(ci->signature);
    free(ci->pem);
    free(ci->issuer_cn);
    for (size_t i = 0; i < CERTINFO_MAX_EKU; i++)
        free(ci->eku[i]);
    for (size_t i = 0; i < CERTINFO_MAX_AIA; i++) {
        free(ci->ca_issuers[i]);
        free(ci->ocsp[i]);
    }
    memset(ci, 0, sizeof *ci);
}

static int dup_field(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int certinfo_copy(struct cert_info *dst, const struct cert_info *src)
{
    *dst = *src;   /* scalars and fixed arrays; every pointer is replaced below */
    int rc = dup_field(&dst->subject, src->subject) | dup_field(&dst->issuer, src->issuer)
           | dup_field(&dst->subject_cn, src->subject_cn) | dup_field(&dst->serial, src->serial)
           | dup_field(&dst->key, src->key) | dup_field(&dst->signature, src->signature)
           | dup_field(&dst->pem, src->pem) | dup_field(&dst->issuer_cn, src->issuer_cn);
    for (size_t i = 0; i < CERTINFO_MAX_SAN; i++)
        rc |= dup_field(&dst->san[i], i < src->n_san ? src->san[i] : NULL);
    for (size_t i = 0; i < CERTINFO_MAX_EKU; i++)
        rc |= dup_field(&dst->eku[i], i < src->n_eku ? src->eku[i] : NULL);
    for (size_t i = 0; i < CERTINFO_MAX_AIA; i++) {
        rc |= dup_field(&dst->ca_issuers[i], i < src->n_ca_issuers ? src->ca_issuers[i] : NULL);
        rc |= dup_field(&dst->ocsp[i], i < src->n_ocsp ? src->ocsp[i] : NULL);
    }
    if (rc) {
        certinfo_clear(dst);
        return -1;
    }
    return 0;
}

size_t certinfo_key_usage_names(unsigned key_usage, const char *names[CERTINFO_KU_COUNT])
{
    static const char *const all[CERTINFO_KU_COUNT] = {
        "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
        "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly" };
    size_t n = 0;
    for (size_t i = 0; i < CERTINFO_KU_COUNT; i++)
        if (key_usage & (1u << i))
            names[n++] = all[i];
    return n;
}

bool certinfo_issued_by(const struct cert_info *cert, const struct cert_info *issuer)
{
    if (!cert->issuer || !issuer->subject || strcmp(cert->issuer, issuer->subject) != 0)
        return false;
    return !cert->aki[0] || !issuer->ski[0] || strcmp(cert->aki, issuer->ski) == 0;
}
