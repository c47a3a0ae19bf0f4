/* labcert — see labcert.h. EC P-256 keys: fast to generate at every start. */
#include "labcert.h"

#include <fcntl.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

struct labpki {
    EVP_PKEY *root_key, *int_key;
    X509 *root, *inter;
    char ip[64];
    long serial;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_get_error();
    if (e) {
        size_t n = strlen(err);
        if (n + 3 < errlen) {
            snprintf(err + n, errlen - n, ": ");
            ERR_error_string_n(e, err + n + 2, errlen - n - 2);
        }
    }
    ERR_clear_error();
    return -1;
}

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int rc = X509_add_ext(cert, ext, -1) ? 0 : -1;
    X509_EXTENSION_free(ext);
    return rc;
}

/* A certificate for key, named cn, signed by (issuer, ikey), or self-signed
 * when issuer is NULL; valid from now+from_s to now+to_s. */
static X509 *make_cert(struct labpki *p, EVP_PKEY *key, const char *cn, const char *org,
                       X509 *issuer, EVP_PKEY *ikey, long from_s, long to_s)
{
    X509 *c = X509_new();
    if (!c)
        return NULL;
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), ++p->serial + 0x1000);
    X509_gmtime_adj(X509_getm_notBefore(c), from_s);
    X509_gmtime_adj(X509_getm_notAfter(c), to_s);
    X509_set_pubkey(c, key);
    X509_NAME *n = X509_get_subject_name(c);
    if (org)
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
    if (add_ext(c, issuer ? issuer : c, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(c, issuer ? issuer : c, NID_authority_key_identifier, "keyid:always") < 0 ||
        !X509_sign(c, ikey ? ikey : key, EVP_sha256())) {
        X509_free(c);
        return NULL;
    }
    return c;
}

static X509 *make_ca(struct labpki *p, EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey)
{
    X509 *c = X509_new();
    if (!c)
        return NULL;
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), ++p->serial + 0x1000);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600L * 24 * 400);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24 * 3650);
    X509_set_pubkey(c, key);
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"mailscope lab", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
    if (add_ext(c, issuer ? issuer : c, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(c, issuer ? issuer : c, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(c, issuer ? issuer : c, NID_subject_key_identifier, "hash") < 0 ||
        !X509_sign(c, ikey ? ikey : key, EVP_sha256())) {
        X509_free(c);
        return NULL;
    }
    return c;
}

struct labpki *labpki_new(const char *ip, char *err, size_t errlen)
{
    struct labpki *p = calloc(1, sizeof *p);
    if (!p) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(p->ip, sizeof p->ip, "%s", ip ? ip : "");
    p->root_key = new_key();
    p->int_key = new_key();
    if (!p->root_key || !p->int_key)
        goto bad;
    p->root = make_ca(p, p->root_key, "Contoso Lab Root CA", NULL, NULL);
    if (!p->root)
        goto bad;
    p->inter = make_ca(p, p->int_key, "Contoso Lab Issuing CA 1", p->root, p->root_key);
    if (!p->inter)
        goto bad;
    return p;
bad:
    fail(err, errlen, "lab: cannot generate the lab CA");
    labpki_free(p);
    return NULL;
}

void labpki_free(struct labpki *p)
{
    if (!p)
        return;
    X509_free(p->root);
    X509_free(p->inter);
    EVP_PKEY_free(p->root_key);
    EVP_PKEY_free(p->int_key);
    free(p);
}

static void format_name(X509_NAME *n, char *out, size_t outlen)
{
    char cn[96] = "";
    X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof cn);
    snprintf(out, outlen, "CN=%s", cn);
}

int labpki_issue(struct labpki *p, const char *const *names, enum labcert_age age,
                 bool via_intermediate, struct labcert *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!names || !names[0])
        return fail(err, errlen, "lab: a certificate needs a name");
    char san[512] = "";
    size_t used = 0;
    for (int i = 0; names[i] && i < 4; i++) {
        snprintf(out->names[i], sizeof out->names[i], "%s", names[i]);
        used += (size_t)snprintf(san + used, sizeof san - used, "%sDNS:%s", i ? "," : "", names[i]);
        if (used >= sizeof san)
            return fail(err, errlen, "lab: certificate names too long");
    }
    if (p->ip[0])
        snprintf(san + used, sizeof san - used, ",IP:%s", p->ip);
    long day = 3600L * 24;
    long from = age == LABCERT_EXPIRED ? -day * 400 : -day * 30;
    long to = age == LABCERT_EXPIRED ? -day * 35 : day * 365;
    out->key = new_key();
    X509 *iss = via_intermediate ? p->inter : p->root;
    EVP_PKEY *ikey = via_intermediate ? p->int_key : p->root_key;
    if (!out->key)
        return fail(err, errlen, "lab: cannot generate a key");
    out->x509 = make_cert(p, out->key, names[0], via_intermediate ? "Contoso Ltd" : NULL,
                          iss, ikey, from, to);
    if (!out->x509 || add_ext(out->x509, iss, NID_subject_alt_name, san) < 0 ||
        add_ext(out->x509, iss, NID_ext_key_usage, "serverAuth") < 0 ||
        !X509_sign(out->x509, ikey, EVP_sha256())) {
        labcert_clear(out);
        return fail(err, errlen, "lab: cannot issue the certificate for %s", names[0]);
    }
    out->via_intermediate = via_intermediate;
    out->self_signed_look = !via_intermediate;
    format_name(X509_get_subject_name(out->x509), out->subject, sizeof out->subject);
    format_name(X509_get_issuer_name(out->x509), out->issuer, sizeof out->issuer);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    X509_digest(out->x509, EVP_sha1(), md, &mdlen);
    for (unsigned i = 0; i < mdlen && i < 20; i++)
        snprintf(out->thumbprint + 2 * i, 3, "%02X", md[i]);
    time_t now = time(NULL);
    out->not_before = now + from;
    out->not_after = now + to;
    return 0;
}

void labcert_clear(struct labcert *c)
{
    X509_free(c->x509);
    EVP_PKEY_free(c->key);
    memset(c, 0, sizeof *c);
}

int labpki_write_ca(const struct labpki *p, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(err, errlen, "lab: cannot write %s", path);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return fail(err, errlen, "lab: cannot write %s", path);
    }
    int ok = PEM_write_X509(f, p->root);
    if (fclose(f) != 0 || !ok)
        return fail(err, errlen, "lab: cannot write %s", path);
    return 0;
}

/* An explicit version set, as Windows Server 2012 R2's SChannel would offer
 * it: never TLS 1.3 (SChannel there has none), TLS 1.0/1.1 at security level
 * 0, because OpenSSL 3 (Debian 12) refuses them at its default level 1/2
 * (no SHA-1/MD5 signatures), and a gap (1.0 and 1.2 without 1.1) as a gap. */
static void set_versions(SSL_CTX *ctx, unsigned v)
{
    static const struct { unsigned bit; int ver; uint64_t no; } all[] = {
        { LABCERT_TLS10, TLS1_VERSION, SSL_OP_NO_TLSv1 },
        { LABCERT_TLS11, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
        { LABCERT_TLS12, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
    };
    int lo = 0, hi = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        if (v & all[i].bit) {
            lo = lo ? lo : all[i].ver;
            hi = all[i].ver;
        }
    }
    if (!lo) {      /* everything switched off: no handshake can succeed */
        SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3);
        return;
    }
    if (lo < TLS1_2_VERSION) {
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    }
    SSL_CTX_set_min_proto_version(ctx, lo);
    SSL_CTX_set_max_proto_version(ctx, hi);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i].ver > lo && all[i].ver < hi && !(v & all[i].bit))
            SSL_CTX_set_options(ctx, all[i].no);
}

SSL_CTX *labcert_ctx(const struct labpki *p, const struct labcert *c, bool with_chain,
                     unsigned versions, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        fail(err, errlen, "lab: SSL_CTX_new");
        return NULL;
    }
    if (versions & LABCERT_TLS_SET)
        set_versions(ctx, versions);
    else
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate(ctx, c->x509) != 1 || SSL_CTX_use_PrivateKey(ctx, c->key) != 1)
        goto bad;
    if (!with_chain)
        SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    if (with_chain && c->via_intermediate && SSL_CTX_add1_chain_cert(ctx, p->inter) != 1)
        goto bad;
    return ctx;
bad:
    fail(err, errlen, "lab: cannot load the certificate for %s", c->names[0]);
    SSL_CTX_free(ctx);
    return NULL;
}

bool labcert_has_name(const struct labcert *c, const char *name)
{
    for (int i = 0; i < 4 && c->names[i][0]; i++)
        if (!strcasecmp(c->names[i], name))
            return true;
    return false;
}
