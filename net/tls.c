#include "tls.h"

#include <arpa/inet.h>
#include <strings.h>

#include "hostmatch.h"
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static int info_index = -1;

bool tls_is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

void tls_error_string(char *buf, size_t n)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0)
        last = e;   /* the last queued error is the most specific */
    if (!n)
        return;
    if (!last) {
        buf[0] = 0;
        return;
    }
    const char *reason = ERR_reason_error_string(last);
    if (reason)
        snprintf(buf, n, "%s", reason);
    else
        snprintf(buf, n, "OpenSSL error %lx", last);
}

static void set_err(char *err, size_t errlen, const char *what)
{
    char detail[160];
    tls_error_string(detail, sizeof detail);
    snprintf(err, errlen, "%s%s%s", what, detail[0] ? ": " : "", detail);
}

static unsigned flag_of(long code)
{
    switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return TLS_VF_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID: return TLS_VF_NOT_YET_VALID;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return TLS_VF_SELF_SIGNED_LEAF;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return TLS_VF_UNTRUSTED_ROOT;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return TLS_VF_ISSUER_UNKNOWN;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return TLS_VF_NAME_MISMATCH;
    case X509_V_ERR_INVALID_PURPOSE: return TLS_VF_PURPOSE;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL: return TLS_VF_KEY_TOO_SMALL;
    case X509_V_ERR_CA_MD_TOO_WEAK: return TLS_VF_MD_TOO_WEAK;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return TLS_VF_BAD_SIGNATURE;
    default: return TLS_VF_OTHER;
    }
}

/* Let the handshake finish whatever the verdict, so the chain can be shown;
 * remember the first error at each depth and overall, and every kind of
 * error per depth (an expired leaf may also carry the wrong name). */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_info *info = ssl ? SSL_get_ex_data(ssl, info_index) : NULL;
    if (!ok && info) {
        int depth = X509_STORE_CTX_get_error_depth(store);
        long code = X509_STORE_CTX_get_error(store);
        if (depth >= 0 && depth < TLS_MAX_CHAIN && !info->depth_error[depth])
            info->depth_error[depth] = code;
        if (depth >= 0 && depth < TLS_MAX_CHAIN)
            info->path_flags[depth] |= flag_of(code);
        if (info->verify_code == X509_V_OK) {
            info->verify_code = code;
            info->verify_error_depth = depth;
        }
    }
    return 1;
}

/* A fatal alert from the server is how it says "not this version" or "no
 * common cipher"; --tls-versions needs it to tell refusal from our limits. */
static void info_cb(const SSL *ssl, int where, int ret)
{
    struct tls_info *info = SSL_get_ex_data(ssl, info_index);
    if (!info || !(where & SSL_CB_READ_ALERT) || (ret >> 8) != SSL3_AL_FATAL)
        return;
    info->alert_code = ret & 0xff;
    snprintf(info->alert, sizeof info->alert, "%s", SSL_alert_desc_string_long(ret));
}

/* Protocol range and security level; 0 with err set when OpenSSL refuses. */
static int set_versions(SSL_CTX *ctx, const struct tls_params *p, char *err, size_t errlen)
{
    if (p->legacy)
        SSL_CTX_set_security_level(ctx, 0);
    if ((p->min_version && SSL_CTX_set_min_proto_version(ctx, p->min_version) != 1)
        || (p->max_version && SSL_CTX_set_max_proto_version(ctx, p->max_version) != 1)) {
        set_err(err, errlen, "this OpenSSL cannot offer the TLS versions asked for");
        return 0;
    }
    return 1;
}

struct ssl_ctx_st *tls_ctx_new(const struct tls_params *p, char *err, size_t errlen)
{
    if (info_index < 0)
        info_index = SSL_get_ex_new_index(0, "mailscope tls_info", NULL, NULL, NULL);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        set_err(err, errlen, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_info_callback(ctx, info_cb);
    if (!set_versions(ctx, p, err, errlen))
        goto fail;
    int ok;
    if (p->cafile || p->capath)
        ok = SSL_CTX_load_verify_locations(ctx, p->cafile, p->capath);
    else
        ok = SSL_CTX_set_default_verify_paths(ctx); /* honours SSL_CERT_FILE / SSL_CERT_DIR */
    if (ok != 1) {
        set_err(err, errlen, "cannot load trust anchors");
        goto fail;
    }
    if (p->cert) {
        if (SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1) {
            set_err(err, errlen, "cannot load client certificate");
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, p->key ? p->key : p->cert, SSL_FILETYPE_PEM) != 1
            || SSL_CTX_check_private_key(ctx) != 1) {
            set_err(err, errlen, "cannot load the client certificate's key");
            goto fail;
        }
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* Keep the first bytes the server sends after the ClientHello, so a reply
 * that is no TLS at all can be shown to the operator as it was. */
static long capture_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
                       int ret, size_t *processed)
{
    struct tls_info *info = (struct tls_info *)BIO_get_callback_arg(b);
    if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed && info) {
        size_t room = sizeof info->first_bytes - info->n_first;
        size_t n = *processed < room ? *processed : room;
        memcpy(info->first_bytes + info->n_first, argp, n);
        info->n_first += n;
    }
    (void)len;
    (void)argi;
    (void)argl;
    return ret;
}

bool tls_reply_was_plaintext(const struct tls_info *info)
{
    /* TLS records begin with a content type from 20 to 23. */
    return info->n_first && (info->first_bytes[0] < 20 || info->first_bytes[0] > 23);
}

struct ssl_st *tls_client_new(struct ssl_ctx_st *ctx, int fd, const struct tls_params *p,
                              struct tls_info *info, char *err, size_t errlen)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        set_err(err, errlen, "cannot create TLS connection");
        SSL_free(ssl);
        return NULL;
    }
    BIO *rbio = SSL_get_rbio(ssl);
    BIO_set_callback_arg(rbio, (char *)info);
    BIO_set_callback_ex(rbio, capture_cb);
    SSL_set_ex_data(ssl, info_index, info);
    const char *name = p->servername;
    snprintf(info->name_checked, sizeof info->name_checked, "%s", name);
    int ok;
    char ascii[HOSTMATCH_MAX_NAME];
    if (tls_is_ip_literal(name)) {
        /* RFC 6066: no SNI for address literals; check the IP SAN instead. */
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
    } else {
        /* SNI and dNSName SANs carry A-labels: "bücher.example" goes out as
         * "xn--bcher-kva.example" (RFC 6066 §3, RFC 5280 §7.2). */
        if (hostmatch_to_ascii(name, ascii, sizeof ascii) == 0)
            name = ascii;
        if (!p->no_sni)
            snprintf(info->sni, sizeof info->sni, "%s", name);
        ok = (p->no_sni || SSL_set_tlsext_host_name(ssl, name) == 1) &&
             SSL_set1_host(ssl, name) == 1;
    }
    if (!ok) {
        set_err(err, errlen, "cannot set the name to verify");
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

static bool leaf_matches(X509 *leaf, const char *name)
{
    if (!leaf || !name || !*name)
        return false;
    if (tls_is_ip_literal(name))
        return X509_check_ip_asc(leaf, name, 0) == 1;
    char ascii[HOSTMATCH_MAX_NAME];
    if (hostmatch_to_ascii(name, ascii, sizeof ascii) == 0)
        name = ascii;
    return X509_check_host(leaf, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

static bool sent_by_server(STACK_OF(X509) *sent, const X509 *x)
{
    for (int i = 0; sent && i < sk_X509_num(sent); i++)
        if (sk_X509_value(sent, i) == x)
            return true;
    return false;
}

/* The built path: each certificate, where verification took it from (the
 * peer's objects are the very ones in its chain; the store's are its own),
 * and which sent certificates it used (same SHA-256). */
static void collect_path(struct tls_info *info, STACK_OF(X509) *sent, STACK_OF(X509) *path)
{
    for (int i = 0; path && i < sk_X509_num(path) && i < TLS_MAX_CHAIN; i++) {
        X509 *x = sk_X509_value(path, i);
        struct cert_info *ci = &info->path[info->n_path];
        if (certinfo_from_x509(ci, x) < 0)
            break;   /* keep depths aligned with path_flags: stop, don't skip */
        info->path_source[info->n_path] = sent_by_server(sent, x) ? TLS_SRC_SERVER : TLS_SRC_STORE;
        for (size_t c = 0; c < info->n_chain; c++)
            if (strcmp(info->chain[c].sha256, ci->sha256) == 0) {
                info->path_sent[info->n_path] = true;
                info->chain_in_path[c] = true;
            }
        info->n_path++;
    }
}

static void collect_chain(struct tls_info *info, SSL *ssl)
{
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
    int n = sent ? sk_X509_num(sent) : 0;
    for (int i = 0; i < n; i++) {
        if (info->n_chain == TLS_MAX_CHAIN) {
            info->chain_truncated = true;
            break;
        }
        if (certinfo_from_x509(&info->chain[info->n_chain], sk_X509_value(sent, i)) == 0)
            info->n_chain++;
    }
    STACK_OF(X509) *path = SSL_get0_verified_chain(ssl);
    info->n_verified = path ? (size_t)sk_X509_num(path) : 0;
    if (info->n_verified) {
        X509 *root = sk_X509_value(path, (int)info->n_verified - 1);
        X509_NAME_oneline(X509_get_subject_name(root), info->verified_root,
                          sizeof info->verified_root);
    }
    collect_path(info, sent, path);
}

static bool weak_key(const struct cert_info *c)
{
    if (!strncmp(c->key_type, "RSA", 3) || !strcmp(c->key_type, "DSA"))
        return c->key_bits < 2048;
    return !strcmp(c->key_type, "EC") && c->key_bits < 256;
}

static bool weak_digest(const char *h)
{
    return !strcmp(h, "sha1") || !strcmp(h, "md5") || !strcmp(h, "md4") || !strcmp(h, "md2");
}

/* Records a problem our policy found; it fails verification when nothing
 * else has yet (and then names it like OpenSSL would). */
static void policy_fail(struct tls_info *info, size_t depth, unsigned flag, long code)
{
    if (info->path_flags[depth] & flag)
        return;
    info->path_flags[depth] |= flag;
    if (!info->depth_error[depth])
        info->depth_error[depth] = code;
    if (info->verify_code == X509_V_OK) {
        info->verify_code = code;
        info->verify_error_depth = (int)depth;
    }
}

/* Verify like a current client whatever the local security level: RSA/DSA
 * keys of 2048 bits and EC of 256 at least, no SHA-1 or MD5 signature
 * (Apple HT210176; OpenSSL's level 2, Debian's default). A self-signed top
 * is exempt from the digest rule: nobody checks an anchor's self-signature. */
static void apply_policy(struct tls_info *info)
{
    for (size_t d = 0; d < info->n_path; d++) {
        const struct cert_info *c = &info->path[d];
        if (weak_key(c))
            policy_fail(info, d, TLS_VF_KEY_TOO_SMALL,
                        d ? X509_V_ERR_CA_KEY_TOO_SMALL : X509_V_ERR_EE_KEY_TOO_SMALL);
        if (weak_digest(c->sig_hash) && !(c->self_signed && d + 1 == info->n_path))
            policy_fail(info, d, TLS_VF_MD_TOO_WEAK, X509_V_ERR_CA_MD_TOO_WEAK);
    }
}

void tls_info_collect(struct tls_info *info, struct ssl_st *ssl, const char *name)
{
    snprintf(info->version, sizeof info->version, "%s", SSL_get_version(ssl));
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    snprintf(info->cipher, sizeof info->cipher, "%s", c ? SSL_CIPHER_get_name(c) : "");
    int group = SSL_get_negotiated_group(ssl);
    const char *gname = group > 0 ? SSL_group_to_name(ssl, group) : NULL;
    snprintf(info->group, sizeof info->group, "%s", gname ? gname : "");
    collect_chain(info, ssl);
    X509 *leaf = SSL_get0_peer_certificate(ssl);
    info->hostname_match = leaf_matches(leaf, name);
    long result = leaf ? SSL_get_verify_result(ssl) : X509_V_ERR_UNSPECIFIED;
    if (info->verify_code == X509_V_OK)
        info->verify_code = result;
    if (leaf)
        apply_policy(info);
    info->verified = leaf && result == X509_V_OK && info->verify_code == X509_V_OK;
    if (!leaf)
        snprintf(info->verify_error, sizeof info->verify_error, "the server sent no certificate");
    else if (!info->verified)
        snprintf(info->verify_error, sizeof info->verify_error, "%s (depth %d)",
                 X509_verify_cert_error_string(info->verify_code), info->verify_error_depth);
}

void tls_info_clear(struct tls_info *info)
{
    for (size_t i = 0; i < info->n_chain; i++)
        certinfo_clear(&info->chain[i]);
    for (size_t i = 0; i < info->n_path; i++)
        certinfo_clear(&info->path[i]);
    memset(info, 0, sizeof *info);
}

int tls_info_copy(struct tls_info *dst, const struct tls_info *src)
{
    *dst = *src;
    /* Until copied, the pointers are src's: clear only what is dst's own. */
    dst->n_chain = dst->n_path = 0;
    for (size_t i = 0; i < src->n_chain; i++, dst->n_chain++)
        if (certinfo_copy(&dst->chain[i], &src->chain[i]) < 0)
            goto fail;
    for (size_t i = 0; i < src->n_path; i++, dst->n_path++)
        if (certinfo_copy(&dst->path[i], &src->path[i]) < 0)
            goto fail;
    return 0;
fail:
    tls_info_clear(dst);
    return -1;
}

const char *tls_version_name(int version)
{
    switch (version) {
    case TLS_VERSION_1_0: return "TLSv1";
    case TLS_VERSION_1_1: return "TLSv1.1";
    case TLS_VERSION_1_2: return "TLSv1.2";
    case TLS_VERSION_1_3: return "TLSv1.3";
    default: return "?";
    }
}

int tls_version_offerable(int version, bool legacy, char *why, size_t whylen)
{
    struct tls_params p = { .min_version = version, .max_version = version, .legacy = legacy };
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || !set_versions(ctx, &p, why, whylen)) {
        if (ctx)
            snprintf(why, whylen, "this OpenSSL (%s) was built without %s",
                     OpenSSL_version(OPENSSL_VERSION), tls_version_name(version));
        SSL_CTX_free(ctx);
        return 0;
    }
    /* The ciphers it would offer for that version alone, after the security
     * level and the system configuration have had their say. */
    SSL *ssl = SSL_new(ctx);
    STACK_OF(SSL_CIPHER) *ciphers = ssl ? SSL_get1_supported_ciphers(ssl) : NULL;
    int n = ciphers ? sk_SSL_CIPHER_num(ciphers) : 0;
    sk_SSL_CIPHER_free(ciphers);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    if (n == 0)
        snprintf(why, whylen, "this OpenSSL (%s) offers no cipher for %s with its configuration "
                 "(OPENSSL_CONF, security level)", OpenSSL_version(OPENSSL_VERSION),
                 tls_version_name(version));
    return n > 0;
}
