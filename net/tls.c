#include "tls.h"

#include <arpa/inet.h>
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

/* Let the handshake finish whatever the verdict, so the chain can be shown;
 * remember the first error at each depth and overall. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_info *info = ssl ? SSL_get_ex_data(ssl, info_index) : NULL;
    if (!ok && info) {
        int depth = X509_STORE_CTX_get_error_depth(store);
        long code = X509_STORE_CTX_get_error(store);
        if (depth >= 0 && depth < TLS_MAX_CHAIN && !info->depth_error[depth])
            info->depth_error[depth] = code;
        if (info->verify_code == X509_V_OK) {
            info->verify_code = code;
            info->verify_error_depth = depth;
        }
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

struct ssl_st *tls_client_new(struct ssl_ctx_st *ctx, int fd, const struct tls_params *p,
                              struct tls_info *info, char *err, size_t errlen)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        set_err(err, errlen, "cannot create TLS connection");
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_ex_data(ssl, info_index, info);
    const char *name = p->servername;
    snprintf(info->name_checked, sizeof info->name_checked, "%s", name);
    int ok;
    if (tls_is_ip_literal(name)) {
        /* RFC 6066: no SNI for address literals; check the IP SAN instead. */
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
    } else {
        snprintf(info->sni, sizeof info->sni, "%s", name);
        ok = SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1;
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
    return X509_check_host(leaf, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
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
    memset(info, 0, sizeof *info);
}

int tls_info_copy(struct tls_info *dst, const struct tls_info *src)
{
    *dst = *src;
    for (size_t i = 0; i < src->n_chain; i++) {
        if (certinfo_copy(&dst->chain[i], &src->chain[i]) < 0) {
            dst->n_chain = i;
            tls_info_clear(dst);
            return -1;
        }
    }
    return 0;
}
