/* certcheck — problem codes from the facts of a TLS handshake.
 * Sources for the "what breaks" lines: KB = /work/shared/knowledge/
 * imap-pop-failures.md (rule ids); Apple HT210176 = "Requirements for trusted
 * certificates in iOS 13 and macOS 10.15" (support.apple.com/en-us/HT210176);
 * Microsoft "Authority Information Access retrieval" (learn.microsoft.com,
 * windows-server/security/authority-information-access-retrieval). */
#include "certcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct { const char *code, *impact; } impacts[] = {
    { "expired", "Every client refuses it: Outlook, Apple Mail, Thunderbird and phones show a "
      "certificate error or just fail to connect (KB R-CERT-002)." },
    { "not-yet-valid", "Every client refuses it until its start date; if the dates look right, "
      "a clock is wrong - this machine's or the client's (KB R-CERT-002)." },
    { "expires-soon", "Nothing breaks yet; on that date every client refuses it (KB R-CERT-002). "
      "On Exchange, enabling the renewed certificate for IMAP/POP rewrites X509CertificateName "
      "(KB R-EXCH-001)." },
    { "hostname-mismatch", "Clients that check the name (Outlook, Apple Mail, Thunderbird, "
      "Android) warn or refuse; iOS 13+/macOS 10.15+ take the name only from a subjectAltName, "
      "never from the CN (KB R-CERT-003; Apple HT210176)." },
    { "self-signed", "Refused by every client that has not been told to trust this very "
      "certificate (KB R-CERT-004)." },
    { "untrusted-root", "Refused by every client whose trust store lacks this root - usually "
      "every device outside the organisation that runs the CA (KB R-CERT-004)." },
    { "incomplete-chain", "Windows (Outlook, Windows Mail) often completes the chain from its "
      "certificate cache or the AIA URL and works; OpenSSL-based clients, Android and mobile apps "
      "that use only what the server sends refuse it (KB R-CERT-001; Microsoft AIA retrieval)." },
    { "weak-key", "RSA keys under 2048 bits are refused by iOS 13+/macOS 10.15+ (Apple "
      "HT210176) and by OpenSSL at security level 2, the default on Debian (KB R-CERT-005)." },
    { "weak-signature", "SHA-1 or MD5 signatures are refused by iOS 13+/macOS 10.15+ (Apple "
      "HT210176) and by OpenSSL 3 from security level 1 (KB R-CERT-005)." },
    { "wrong-order", "TLS 1.2 requires each certificate to certify the one before it (RFC 5246 "
      "7.4.2); Windows, Apple and OpenSSL re-sort, strict TLS stacks in older Java and embedded "
      "clients may fail [unverified which]." },
    { "not-for-server-auth", "A certificate whose extended key usage lacks serverAuth is refused "
      "by OpenSSL-based clients (invalid purpose), Windows and iOS 13+/macOS 10.15+ (Apple "
      "HT210176)." },
};

const char *certcheck_impact(const char *code)
{
    for (size_t i = 0; code && i < sizeof impacts / sizeof *impacts; i++)
        if (strcmp(impacts[i].code, code) == 0)
            return impacts[i].impact;
    return NULL;
}

static void __attribute__((format(printf, 5, 6)))
add(struct certcheck_result *r, const char *code, int depth, bool fails, const char *fmt, ...)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->p[i].code, code) == 0) {
            r->p[i].fails_verification |= fails;   /* the first detail stays */
            return;
        }
    if (r->n == CERTCHECK_MAX)
        return;
    struct certcheck_problem *p = &r->p[r->n++];
    *p = (struct certcheck_problem){ .code = code, .depth = depth, .fails_verification = fails,
                                     .impact = certcheck_impact(code) };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
}

/* ---- the certificates looked at --------------------------------------- */

/* The built path when there is one (its depths match path_flags), else the
 * chain as sent (a handshake that failed before verification). */
struct view {
    const struct tls_info *t;
    const struct cert_info *c;
    size_t n;
    bool is_path;
};

static struct view view_of(const struct tls_info *t)
{
    if (t->n_path)
        return (struct view){ t, t->path, t->n_path, true };
    return (struct view){ t, t->chain, t->n_chain, false };
}

static unsigned flags_at(const struct view *v, size_t d)
{
    return v->is_path && d < TLS_MAX_CHAIN ? v->t->path_flags[d] : 0;
}

static bool sent_at(const struct view *v, size_t d)
{
    return !v->is_path || v->t->path_source[d] == TLS_SRC_SERVER || v->t->path_sent[d];
}

static const char *name_of(const struct cert_info *c)
{
    return c->subject_cn ? c->subject_cn : c->subject ? c->subject : "?";
}

/* "the server certificate "mail.test"" / "the intermediate "..."" / "the root "..."" */
static const char *who(const struct cert_info *c, size_t depth, char *buf, size_t n)
{
    const char *role = depth == 0 ? "the server certificate" : c->self_signed ? "the root"
                                                                               : "the intermediate";
    snprintf(buf, n, "%s \"%s\"", role, name_of(c));
    return buf;
}

static const char *date_of(time_t t, char *buf, size_t n)
{
    struct tm tm;
    if (!t || !gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d", &tm))
        snprintf(buf, n, "?");
    return buf;
}

/* The names a certificate carries: its DNS and IP SANs, else its CN. */
static const char *names_of(const struct cert_info *c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_san && len < n; i++) {
        const char *s = c->san[i];
        bool dns = strncmp(s, "DNS:", 4) == 0, ip = strncmp(s, "IP:", 3) == 0;
        if (dns || ip)
            len += (size_t)snprintf(buf + len, n - len, "%s%s%s", len ? ", " : "",
                                    ip ? "IP " : "", s + (dns ? 4 : 3));
    }
    if (!buf[0])
        snprintf(buf, n, c->subject_cn ? "only the CN %s (no subjectAltName names)"
                                        : "no name at all", c->subject_cn);
    return buf;
}

static bool weak_key(const struct cert_info *c)
{
    if (!strncmp(c->key_type, "RSA", 3) || !strcmp(c->key_type, "DSA"))
        return c->key_bits < 2048;
    return !strcmp(c->key_type, "EC") && c->key_bits < 256;
}

static bool weak_digest(const struct cert_info *c)
{
    const char *h = c->sig_hash;
    return !strcmp(h, "sha1") || !strcmp(h, "md5") || !strcmp(h, "md4") || !strcmp(h, "md2");
}

static bool has_eku(const struct cert_info *c, const char *name)
{
    for (size_t i = 0; i < c->n_eku; i++)
        if (strcmp(c->eku[i], name) == 0)
            return true;
    return false;
}

static bool eku_allows_server(const struct cert_info *c)
{
    return !c->has_eku || has_eku(c, "serverAuth") || has_eku(c, "anyExtendedKeyUsage");
}

static const char *eku_list(const struct cert_info *c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_eku && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", c->eku[i]);
    return buf[0] ? buf : "empty";
}

/* ---- the checks ------------------------------------------------------- */

static void check_dates(const struct view *v, time_t now, int soon, struct certcheck_result *r)
{
    char w[300], d1[16];
    for (size_t d = 0; d < v->n; d++) {
        const struct cert_info *c = &v->c[d];
        unsigned f = flags_at(v, d);
        long days = certinfo_days_left(c, now);
        bool expired = (f & TLS_VF_EXPIRED) || (c->not_after && now > c->not_after);
        if (expired)
            add(r, "expired", (int)d, true, "%s expired on %s (%ld days ago)",
                who(c, d, w, sizeof w), date_of(c->not_after, d1, sizeof d1),
                (long)((now - c->not_after) / 86400));
        if ((f & TLS_VF_NOT_YET_VALID) || (c->not_before && now < c->not_before))
            add(r, "not-yet-valid", (int)d, true, "%s is valid only from %s (in %ld days)",
                who(c, d, w, sizeof w), date_of(c->not_before, d1, sizeof d1),
                (long)((c->not_before - now + 86399) / 86400));
        /* Only what the server sends: a root in a client's store is not the
         * server admin's to renew. */
        if (!expired && c->not_after && days <= soon && sent_at(v, d))
            add(r, "expires-soon", (int)d, false, "%s expires on %s (in %ld days)",
                who(c, d, w, sizeof w), date_of(c->not_after, d1, sizeof d1), days);
    }
}

static void check_name(const struct tls_info *t, const struct view *v, struct certcheck_result *r)
{
    char names[360];
    if (t->hostname_match && !(flags_at(v, 0) & TLS_VF_NAME_MISMATCH))
        return;
    add(r, "hostname-mismatch", 0, true, "%s is not among the names the certificate carries: %s",
        t->name_checked[0] ? t->name_checked : "(no name)", names_of(&t->chain[0], names, sizeof names));
}

static void check_self_signed(const struct tls_info *t, const struct view *v,
                              struct certcheck_result *r)
{
    const struct cert_info *leaf = &t->chain[0];
    bool refused = flags_at(v, 0) & TLS_VF_SELF_SIGNED_LEAF;
    if (!refused && !leaf->self_signed)
        return;
    if (refused || !t->verified)
        add(r, "self-signed", 0, refused, "the server certificate \"%s\" is signed by its own "
            "key and is in no trust store used here", name_of(leaf));
    else
        add(r, "self-signed", 0, false, "the self-signed server certificate \"%s\" verified "
            "here only because the trust anchors given contain it; other clients refuse it",
            name_of(leaf));
}

/* Where the issuer of c can be fetched, as "; CA issuers URL: ..." or "". */
static const char *aia_hint(const struct cert_info *c, char *buf, size_t n)
{
    buf[0] = '\0';
    if (c->n_ca_issuers)
        snprintf(buf, n, "; its CA issuers URL (AIA) is %s", c->ca_issuers[0]);
    return buf;
}

/* An issuer neither sent nor trusted: after a leaf, a missing intermediate;
 * after a CA certificate, most likely an unknown root. */
static void check_issuers(const struct tls_info *t, const struct view *v, struct certcheck_result *r)
{
    char w[300], aia[300];
    for (size_t d = 0; d < v->n; d++) {
        const struct cert_info *c = &v->c[d];
        unsigned f = flags_at(v, d);
        if (f & TLS_VF_UNTRUSTED_ROOT)
            add(r, "untrusted-root", (int)d, true, "the chain ends in the root \"%s\", which the "
                "server sent but no trust store used here contains", name_of(c));
        if (!(f & TLS_VF_ISSUER_UNKNOWN))
            continue;
        const char *issuer = c->issuer_cn ? c->issuer_cn : c->issuer ? c->issuer : "?";
        if (c->is_ca)
            add(r, "untrusted-root", (int)d, true, "the issuer of %s, \"%s\", is in no trust "
                "store used here (if it is a further intermediate, the server must send it%s)",
                who(c, d, w, sizeof w), issuer, aia_hint(c, aia, sizeof aia));
        else
            add(r, "incomplete-chain", (int)d, true, "the server sent %zu certificate%s; the "
                "intermediate \"%s\" that issued %s is missing (neither sent nor in the trust "
                "store)%s", t->n_chain, t->n_chain == 1 ? "" : "s", issuer,
                who(c, d, w, sizeof w), aia_hint(c, aia, sizeof aia));
    }
    /* Verified, but only with an intermediate from the local store. */
    for (size_t d = 1; v->is_path && d < v->n; d++)
        if (t->path_source[d] == TLS_SRC_STORE && !t->path_sent[d] && !v->c[d].self_signed)
            add(r, "incomplete-chain", (int)d, false, "the server did not send the intermediate "
                "\"%s\"; verification here found it in the local trust store, clients without it "
                "fail%s", name_of(&v->c[d]), aia_hint(&v->c[d - 1], aia, sizeof aia));
}

static void check_strength(const struct view *v, struct certcheck_result *r)
{
    char w[300];
    for (size_t d = 0; d < v->n; d++) {
        const struct cert_info *c = &v->c[d];
        unsigned f = flags_at(v, d);
        if ((f & TLS_VF_KEY_TOO_SMALL) || weak_key(c))
            add(r, "weak-key", (int)d, true, "%s has the key %s (RSA and DSA need 2048 bits, "
                "EC 256)", who(c, d, w, sizeof w), c->key ? c->key : c->key_type);
        bool anchor = c->self_signed && d + 1 == v->n;   /* its self-signature is not checked */
        if ((f & TLS_VF_MD_TOO_WEAK) || (weak_digest(c) && !anchor))
            add(r, "weak-signature", (int)d, true, "%s is signed with %s", who(c, d, w, sizeof w),
                c->signature ? c->signature : c->sig_hash);
    }
}

static void check_purpose(const struct view *v, struct certcheck_result *r)
{
    char w[300], list[200];
    for (size_t d = 0; d < v->n; d++) {
        const struct cert_info *c = &v->c[d];
        bool flagged = flags_at(v, d) & TLS_VF_PURPOSE;
        if (!flagged && (d > 0 || eku_allows_server(c)))
            continue;
        if (!eku_allows_server(c))
            add(r, "not-for-server-auth", (int)d, true, "%s allows only the extended key usage "
                "%s; serverAuth is missing", who(c, d, w, sizeof w), eku_list(c, list, sizeof list));
        else
            add(r, "not-for-server-auth", (int)d, true, "%s is not valid for TLS server "
                "authentication (its key usage or basic constraints forbid it)",
                who(c, d, w, sizeof w));
    }
}

/* The chain as sent must run leaf, its issuer, that one's issuer...; only a
 * certificate whose issuer was sent elsewhere in the list counts (a missing
 * one is incomplete-chain, an extra cross-signed root is harmless). */
static void check_order(const struct tls_info *t, struct certcheck_result *r)
{
    const struct cert_info *c = t->chain;
    for (size_t j = 1; c[0].is_ca && j < t->n_chain; j++)
        if (!c[j].is_ca && certinfo_issued_by(&c[j], &c[0])) {
            add(r, "wrong-order", -1, false, "the server certificate \"%s\" is at position %zu; "
                "the server sent the CA \"%s\" first", name_of(&c[j]), j, name_of(&c[0]));
            return;
        }
    for (size_t i = 1; i < t->n_chain; i++) {
        if (certinfo_issued_by(&c[i - 1], &c[i]))
            continue;
        for (size_t j = i + 1; j < t->n_chain; j++)
            if (certinfo_issued_by(&c[i - 1], &c[j])) {
                add(r, "wrong-order", -1, false, "certificate %zu (\"%s\") does not certify "
                    "certificate %zu (\"%s\"); its issuer \"%s\" comes later, at position %zu",
                    i, name_of(&c[i]), i - 1, name_of(&c[i - 1]), name_of(&c[j]), j);
                return;
            }
    }
}

void certcheck_run(const struct tls_info *t, time_t now, int soon_days, struct certcheck_result *r)
{
    memset(r, 0, sizeof *r);
    if (!t || !t->n_chain)
        return;
    struct view v = view_of(t);
    check_dates(&v, now, soon_days, r);
    check_name(t, &v, r);
    check_self_signed(t, &v, r);
    check_issuers(t, &v, r);
    check_strength(&v, r);
    check_purpose(&v, r);
    check_order(t, r);
    /* Verification failures first; otherwise in the order found. */
    struct certcheck_result sorted = { .n = 0 };
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < r->n; i++)
            if (r->p[i].fails_verification == pass)
                sorted.p[sorted.n++] = r->p[i];
    *r = sorted;
}

size_t certcheck_problems(const struct tls_info *t, time_t now, int soon_days,
                          const char *codes[CERTCHECK_MAX])
{
    struct certcheck_result r;
    certcheck_run(t, now, soon_days, &r);
    for (size_t i = 0; i < r.n; i++)
        codes[i] = r.p[i].code;
    return r.n;
}
