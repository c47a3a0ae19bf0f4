/* hostmatch — RFC 6125/7817/9525 name checks on plain strings. */
#include "hostmatch.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- Punycode (RFC 3492 §6.3), for one label ----------------------------- */

enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700,
       PC_BIAS = 72, PC_N = 128, LABEL_MAX = 63 };

static char pc_digit(uint32_t d) { return (char)(d < 26 ? 'a' + d : '0' + (d - 26)); }

static uint32_t pc_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

/* Appends c to out[*o] within cap; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *o, char c)
{
    if (*o + 1 >= cap)
        return false;
    out[(*o)++] = c;
    return true;
}

/* Emits delta as a generalized variable-length integer with the given bias. */
static bool pc_emit(char *out, size_t cap, size_t *o, uint32_t q, uint32_t bias)
{
    for (uint32_t k = PC_BASE;; k += PC_BASE) {
        uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
        if (q < t)
            break;
        if (!put(out, cap, o, pc_digit(t + (q - t) % (PC_BASE - t))))
            return false;
        q = (q - t) / (PC_BASE - t);
    }
    return put(out, cap, o, pc_digit(q));
}

/* cps[0..n) (some non-ASCII) to "xn--..." in out; false on overflow. */
static bool punycode_label(const uint32_t *cps, size_t n, char *out, size_t cap, size_t *o)
{
    for (const char *p = "xn--"; *p; p++)
        if (!put(out, cap, o, *p))
            return false;
    size_t basic = 0;
    for (size_t i = 0; i < n; i++)
        if (cps[i] < 0x80) {
            if (!put(out, cap, o, (char)cps[i]))
                return false;
            basic++;
        }
    if (basic && !put(out, cap, o, '-'))
        return false;
    uint32_t cp = PC_N, delta = 0, bias = PC_BIAS;
    for (size_t h = basic; h < n;) {
        uint32_t m = UINT32_MAX;
        for (size_t i = 0; i < n; i++)
            if (cps[i] >= cp && cps[i] < m)
                m = cps[i];
        if ((uint64_t)(m - cp) * (h + 1) + delta > UINT32_MAX)
            return false;
        delta += (m - cp) * (uint32_t)(h + 1);
        cp = m;
        for (size_t i = 0; i < n; i++) {
            if (cps[i] < cp && ++delta == 0)
                return false;
            if (cps[i] == cp) {
                if (!pc_emit(out, cap, o, delta, bias))
                    return false;
                bias = pc_adapt(delta, (uint32_t)h + 1, h == basic);
                delta = 0;
                h++;
            }
        }
        delta++;
        cp++;
    }
    return true;
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Decodes one code point at s (length left n); returns its length, 0 if invalid. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || len > n)
        return 0;
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* One label s[0..n) into out at *o: ASCII lower-cased, otherwise Punycode. */
static bool label_to_ascii(const char *s, size_t n, char *out, size_t cap, size_t *o)
{
    uint32_t cps[LABEL_MAX * 4];
    size_t k = 0;
    bool ascii = true;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (!len || k == sizeof cps / sizeof *cps)
            return false;
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        ascii &= cp < 0x80;
        cps[k++] = cp;
        i += len;
    }
    size_t start = *o;
    if (ascii) {
        for (size_t i = 0; i < k; i++)
            if (!put(out, cap, o, (char)cps[i]))
                return false;
    } else if (!punycode_label(cps, k, out, cap, o)) {
        return false;
    }
    return *o - start <= LABEL_MAX;
}

int hostmatch_to_ascii(const char *name, char *out, size_t outlen)
{
    size_t n = name ? strlen(name) : 0, o = 0;
    if (n && name[n - 1] == '.')
        n--;   /* the root label: "mail.test." is "mail.test" */
    if (!n || !outlen)
        return -1;
    for (size_t i = 0; i <= n;) {
        const char *dot = memchr(name + i, '.', n - i);
        size_t len = dot ? (size_t)(dot - (name + i)) : n - i;
        if (!len || !label_to_ascii(name + i, len, out, outlen, &o))
            return -1;
        i += len + 1;
        if (i <= n && !put(out, outlen, &o, '.'))
            return -1;
    }
    out[o] = '\0';
    return o <= HOSTMATCH_MAX_NAME - 1 ? 0 : -1;
}

/* ---- matching --------------------------------------------------------------- */

static bool all_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* Case-insensitive equality; a trailing dot is dropped from the reference
 * only (a presented absolute name matches nothing, as with OpenSSL). */
static bool names_equal(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (blen && b[blen - 1] == '.')
        blen--;
    return alen == blen && alen && strncasecmp(a, b, alen) == 0;
}

bool hostmatch_dns_id(const char *presented, const char *reference)
{
    if (!presented || !reference || !*reference || !all_ascii(presented))
        return false;
    if (presented[0] != '*')
        return !strchr(presented, '*') && names_equal(presented, strlen(presented), reference);
    /* "*.rest": rest must itself hold two labels (no "*.com") and no other
     * '*'; the reference's first label is replaced by exactly one label. */
    const char *rest = presented + 1;
    if (*rest != '.' || strchr(rest, '*'))
        return false;
    const char *rest_dot = strchr(rest + 1, '.');
    if (!rest_dot || rest_dot[1] == '\0')
        return false;
    const char *ref_dot = strchr(reference, '.');
    if (!ref_dot || ref_dot == reference)
        return false;
    return names_equal(rest, strlen(rest), ref_dot);
}

/* Parses an IPv4 or IPv6 literal (brackets allowed); returns its length, 0 if none. */
static size_t ip_parse(const char *s, unsigned char buf[16])
{
    char tmp[64];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET, tmp, buf) == 1)
        return 4;
    return inet_pton(AF_INET6, tmp, buf) == 1 ? 16 : 0;
}

bool hostmatch_ip(const char *presented, const char *reference)
{
    unsigned char a[16], b[16];
    size_t na = presented ? ip_parse(presented, a) : 0;
    size_t nb = reference ? ip_parse(reference, b) : 0;
    return na && na == nb && memcmp(a, b, na) == 0;
}

static enum hostmatch_by match_ip(const struct cert_info *ci, const char *ref, const char **matched)
{
    for (size_t i = 0; i < ci->n_san; i++)
        if (strncmp(ci->san[i], "IP:", 3) == 0 && hostmatch_ip(ci->san[i] + 3, ref)) {
            *matched = ci->san[i];
            return HOSTMATCH_IP;
        }
    return HOSTMATCH_NONE;
}

enum hostmatch_by hostmatch_cert(const struct cert_info *ci, const char *reference,
                                 const char **matched)
{
    const char *dummy;
    matched = matched ? matched : &dummy;
    *matched = NULL;
    unsigned char ipbuf[16];
    if (!ci || !reference)
        return HOSTMATCH_NONE;
    if (ip_parse(reference, ipbuf))
        return match_ip(ci, reference, matched);
    char ref[HOSTMATCH_MAX_NAME];
    if (hostmatch_to_ascii(reference, ref, sizeof ref) < 0)
        return HOSTMATCH_NONE;
    bool any_dns = false;
    for (size_t i = 0; i < ci->n_san; i++) {
        if (strncmp(ci->san[i], "DNS:", 4) != 0)
            continue;
        any_dns = true;
        if (hostmatch_dns_id(ci->san[i] + 4, ref)) {
            *matched = ci->san[i];
            return ci->san[i][4] == '*' ? HOSTMATCH_WILDCARD : HOSTMATCH_DNS;
        }
    }
    /* RFC 6125 §6.4.4: the CN only when no dNSName SAN is present. */
    if (!any_dns && ci->subject_cn && hostmatch_dns_id(ci->subject_cn, ref)) {
        *matched = ci->subject_cn;
        return HOSTMATCH_CN;
    }
    return HOSTMATCH_NONE;
}

const char *hostmatch_by_name(enum hostmatch_by by)
{
    static const char *const names[] = { NULL, "dns", "wildcard", "ip", "cn" };
    return (unsigned)by < sizeof names / sizeof *names ? names[by] : NULL;
}
