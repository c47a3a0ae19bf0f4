#include "certcheck.h"

#include <openssl/x509_vfy.h>
#include <string.h>
#include <strings.h>

static void add(const char *codes[], size_t *n, const char *code)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(codes[i], code) == 0)
            return;
    if (*n < CERTCHECK_MAX)
        codes[(*n)++] = code;
}

static const char *code_for(const struct tls_info *t, long err, size_t depth)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "not-yet-valid";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return "self-signed";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return "untrusted-root";
    case X509_V_ERR_HOSTNAME_MISMATCH: case X509_V_ERR_IP_ADDRESS_MISMATCH: return "hostname-mismatch";
    case X509_V_ERR_INVALID_PURPOSE: return "not-for-server-auth";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        /* The last certificate sent is a CA: its root is unknown here. A leaf
         * without its CA: an intermediate is missing (or the root is unknown). */
        return depth + 1 >= t->n_chain && depth < t->n_chain && t->chain[depth].is_ca
                   ? "untrusted-root" : "incomplete-chain";
    default: return NULL;
    }
}

static void leaf_checks(const struct tls_info *t, time_t now, int soon, const char *codes[],
                        size_t *n)
{
    const struct cert_info *leaf = &t->chain[0];
    long days = certinfo_days_left(leaf, now);
    if (leaf->not_after && now > leaf->not_after)
        add(codes, n, "expired");
    else if (leaf->not_after && days <= soon)
        add(codes, n, "expires-soon");
    if (leaf->not_before && now < leaf->not_before)
        add(codes, n, "not-yet-valid");
    if (!t->hostname_match)
        add(codes, n, "hostname-mismatch");
    if (leaf->self_signed)
        add(codes, n, "self-signed");
    const char *k = leaf->key ? leaf->key : "";
    if ((strncmp(k, "RSA", 3) == 0 && leaf->key_bits < 2048) ||
        (strncmp(k, "EC", 2) == 0 && leaf->key_bits < 256))
        add(codes, n, "weak-key");
}

size_t certcheck_problems(const struct tls_info *t, time_t now, int soon_days,
                          const char *codes[CERTCHECK_MAX])
{
    size_t n = 0;
    if (!t || !t->n_chain)
        return 0;
    for (size_t d = 0; d < t->n_chain && d < TLS_MAX_CHAIN; d++) {
        const char *c = t->depth_error[d] ? code_for(t, t->depth_error[d], d) : NULL;
        if (c)
            add(codes, &n, c);
        const char *sig = t->chain[d].signature ? t->chain[d].signature : "";
        if (!t->chain[d].self_signed && (strcasestr(sig, "sha1") || strcasestr(sig, "md5")))
            add(codes, &n, "weak-signature");
    }
    const char *c = t->verify_code ? code_for(t, t->verify_code, (size_t)t->verify_error_depth)
                                   : NULL;
    if (c)
        add(codes, &n, c);
    leaf_checks(t, now, soon_days, codes, &n);
    return n;
}
