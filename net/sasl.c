#include "sasl.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* MS-NLMP 2.2.2.5 negotiate flags (only those this file uses). */
#define NTLM_NEGOTIATE_UNICODE      0x00000001u
#define NTLM_NEGOTIATE_OEM          0x00000002u
#define NTLM_REQUEST_TARGET         0x00000004u
#define NTLM_NEGOTIATE_NTLM         0x00000200u
#define NTLM_NEGOTIATE_ALWAYS_SIGN  0x00008000u
#define NTLM_NEGOTIATE_EXTENDED_SS  0x00080000u
#define NTLM_NEGOTIATE_TARGET_INFO  0x00800000u
#define NTLM_NEGOTIATE_VERSION      0x02000000u
#define NTLM_NEGOTIATE_128          0x20000000u
#define NTLM_NEGOTIATE_56           0x80000000u

/* CHALLENGE_MESSAGE layout (MS-NLMP 2.2.1.2). */
#define NTLM_T2_MIN          32   /* through ServerChallenge: the oldest servers stop here */
#define NTLM_T2_TARGET_NAME  12
#define NTLM_T2_FLAGS        20
#define NTLM_T2_CHALLENGE    24
#define NTLM_T2_TARGET_INFO  40
#define NTLM_T2_VERSION      48
#define NTLM_T2_HEADER       56   /* with TargetInfo and Version fields */

/* AV_PAIR ids (MS-NLMP 2.2.2.1). */
enum {
    MSV_AV_EOL = 0,
    MSV_AV_NB_COMPUTER = 1,
    MSV_AV_NB_DOMAIN = 2,
    MSV_AV_DNS_COMPUTER = 3,
    MSV_AV_DNS_DOMAIN = 4,
    MSV_AV_DNS_TREE = 5,
};

static const uint8_t ntlm_signature[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', '\0' };

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void sasl_free(void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

/* ---- base64 ---------------------------------------------------------- */

int sasl_b64_encode(const void *in, size_t n, char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    /* EVP_EncodeBlock takes and returns int. */
    if (n > (size_t)INT_MAX / 4 * 3 - 3 || (n > 0 && !in))
        return -1;
    size_t cap = (n + 2) / 3 * 4 + 1;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    int len = EVP_EncodeBlock((unsigned char *)buf, in, (int)n);
    if (len < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = (size_t)len;
    return 0;
}

static bool b64_alphabet(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* EVP_DecodeBlock accepts '=' anywhere and skips surrounding whitespace,
 * so the strict grammar is checked here first. Returns the padding count. */
static int b64_validate(const char *in, size_t n, char *err, size_t errlen)
{
    if (n % 4 != 0) {
        set_err(err, errlen, "base64: length %zu is not a multiple of 4", n);
        return -1;
    }
    size_t pad = 0;
    while (pad < 2 && pad < n && in[n - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++) {
        if (!b64_alphabet((unsigned char)in[i])) {
            set_err(err, errlen, "base64: invalid character 0x%02x at offset %zu",
                    (unsigned char)in[i], i);
            return -1;
        }
    }
    return (int)pad;
}

int sasl_b64_decode(const char *in, size_t n, uint8_t **out, size_t *outlen,
                    char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (n > 0 && !in) {
        set_err(err, errlen, "base64: no input");
        return -1;
    }
    /* RFC 4959 and friends send "=" for an empty response. */
    bool empty = n == 0 || (n == 1 && in[0] == '=');
    if (!empty && n > INT_MAX) {
        set_err(err, errlen, "base64: input too long (%zu bytes)", n);
        return -1;
    }
    int pad = empty ? 0 : b64_validate(in, n, err, errlen);
    if (pad < 0)
        return -1;
    size_t cap = empty ? 1 : n / 4 * 3 + 1;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        set_err(err, errlen, "base64: out of memory");
        return -1;
    }
    size_t len = 0;
    if (!empty) {
        if (EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n) < 0) {
            sasl_free(buf, cap);
            set_err(err, errlen, "base64: decoding failed");
            return -1;
        }
        /* DecodeBlock decodes padding as zero bits: drop those bytes. */
        len = n / 4 * 3 - (size_t)pad;
        OPENSSL_cleanse(buf + len, cap - len);
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* ---- simple mechanisms ----------------------------------------------- */

static uint8_t *put(uint8_t *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
    return dst + n;
}

static uint8_t *put_str(uint8_t *dst, const char *s) { return put(dst, s, strlen(s)); }

/* Output is sized exactly before any secret is copied, so no realloc leaves
 * stray copies behind. The extra NUL is a convenience, not counted in outlen. */
static uint8_t *alloc_out(size_t len, char *err, size_t errlen)
{
    uint8_t *buf = malloc(len + 1);
    if (!buf)
        set_err(err, errlen, "out of memory");
    else
        buf[len] = '\0';
    return buf;
}

int sasl_plain(const char *authzid, const char *user, const char *pass,
               uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (!user || !*user || !pass) {
        set_err(err, errlen, "PLAIN: user name and password are required");
        return -1;
    }
    if (!authzid)
        authzid = "";
    size_t len = strlen(authzid) + 1 + strlen(user) + 1 + strlen(pass);
    uint8_t *buf = alloc_out(len, err, errlen);
    if (!buf)
        return -1;
    uint8_t *p = put(buf, authzid, strlen(authzid) + 1);
    p = put(p, user, strlen(user) + 1);
    put_str(p, pass);
    *out = buf;
    *outlen = len;
    return 0;
}

static void hex_lower(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

int sasl_cram_md5(const char *user, const char *pass, const uint8_t *challenge,
                  size_t clen, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (!user || !*user || !pass || (clen > 0 && !challenge)) {
        set_err(err, errlen, "CRAM-MD5: user name, password and challenge are required");
        return -1;
    }
    if (strlen(pass) > INT_MAX) {
        set_err(err, errlen, "CRAM-MD5: password too long");
        return -1;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * 16 + 1];
    /* NULL means failure; MD5 is unavailable under a FIPS-only provider. */
    if (!HMAC(EVP_md5(), pass, (int)strlen(pass), challenge ? challenge : (const uint8_t *)"",
              clen, md, &mdlen) || mdlen != 16) {
        OPENSSL_cleanse(md, sizeof md);
        set_err(err, errlen, "CRAM-MD5: HMAC-MD5 failed (MD5 not available?)");
        return -1;
    }
    hex_lower(md, mdlen, hex);
    OPENSSL_cleanse(md, sizeof md);
    size_t len = strlen(user) + 1 + 32;
    uint8_t *buf = alloc_out(len, err, errlen);
    if (buf) {
        uint8_t *p = put_str(buf, user);
        *p++ = ' ';
        put(p, hex, 32);
        *out = buf;
        *outlen = len;
    }
    OPENSSL_cleanse(hex, sizeof hex);
    return buf ? 0 : -1;
}

/* \x01 separates the key/value pairs; one inside a value would forge a field. */
static bool has_ctrl_a(const char *s) { return s && strchr(s, '\x01') != NULL; }

int sasl_xoauth2(const char *user, const char *token, uint8_t **out, size_t *outlen,
                 char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (!user || !*user || !token || !*token) {
        set_err(err, errlen, "XOAUTH2: user name and token are required");
        return -1;
    }
    if (has_ctrl_a(user) || has_ctrl_a(token)) {
        set_err(err, errlen, "XOAUTH2: user name or token contains \\x01");
        return -1;
    }
    static const char k_user[] = "user=", k_auth[] = "\x01" "auth=Bearer ";
    size_t len = strlen(k_user) + strlen(user) + strlen(k_auth) + strlen(token) + 2;
    uint8_t *buf = alloc_out(len, err, errlen);
    if (!buf)
        return -1;
    uint8_t *p = put_str(buf, k_user);
    p = put_str(p, user);
    p = put_str(p, k_auth);
    p = put_str(p, token);
    put(p, "\x01\x01", 2);
    *out = buf;
    *outlen = len;
    return 0;
}

/* RFC 5801 saslname: ',' and '=' would end or confuse the gs2 header. */
static size_t gs2_escaped_len(const char *s)
{
    size_t len = 0;
    for (; *s; s++)
        len += (*s == ',' || *s == '=') ? 3 : 1;
    return len;
}

static uint8_t *put_gs2_escaped(uint8_t *p, const char *s)
{
    for (; *s; s++) {
        if (*s == ',')
            p = put(p, "=2C", 3);
        else if (*s == '=')
            p = put(p, "=3D", 3);
        else
            *p++ = (uint8_t)*s;
    }
    return p;
}

int sasl_oauthbearer(const char *user, const char *host, unsigned port, const char *token,
                     uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (!user || !*user || !host || !*host || !token || !*token || port == 0 || port > 65535) {
        set_err(err, errlen, "OAUTHBEARER: user name, host, port (1-65535) and token are required");
        return -1;
    }
    if (has_ctrl_a(user) || has_ctrl_a(host) || has_ctrl_a(token)) {
        set_err(err, errlen, "OAUTHBEARER: user name, host or token contains \\x01");
        return -1;
    }
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port);
    static const char k_gs2[] = "n,a=", k_host[] = ",\x01host=", k_port[] = "\x01port=",
                      k_auth[] = "\x01" "auth=Bearer ";
    size_t len = strlen(k_gs2) + gs2_escaped_len(user) + strlen(k_host) + strlen(host) +
                 strlen(k_port) + strlen(portstr) + strlen(k_auth) + strlen(token) + 2;
    uint8_t *buf = alloc_out(len, err, errlen);
    if (!buf)
        return -1;
    uint8_t *p = put_str(buf, k_gs2);
    p = put_gs2_escaped(p, user);
    p = put_str(p, k_host);
    p = put_str(p, host);
    p = put_str(p, k_port);
    p = put_str(p, portstr);
    p = put_str(p, k_auth);
    p = put_str(p, token);
    put(p, "\x01\x01", 2);
    *out = buf;
    *outlen = len;
    return 0;
}

int sasl_apop_digest(const char *timestamp, const char *secret, char out33[33])
{
    out33[0] = '\0';
    if (!timestamp || !secret)
        return -1;
    /* Two updates instead of EVP_Digest over a concatenation: no extra copy of the secret. */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) &&
             EVP_DigestUpdate(ctx, timestamp, strlen(timestamp)) &&
             EVP_DigestUpdate(ctx, secret, strlen(secret)) &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 16;
    EVP_MD_CTX_free(ctx); /* cleanses the digest state */
    if (ok)
        hex_lower(md, 16, out33);
    OPENSSL_cleanse(md, sizeof md);
    return ok ? 0 : -1;
}

/* ---- NTLM ------------------------------------------------------------ */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}

int sasl_ntlm_negotiate(uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    /* The flag set nmap's *-ntlm-info scripts send: it makes Windows answer
     * with TargetInfo and its Version, which is all this tool wants. */
    static const uint32_t flags = NTLM_NEGOTIATE_UNICODE | NTLM_NEGOTIATE_OEM |
        NTLM_REQUEST_TARGET | NTLM_NEGOTIATE_NTLM | NTLM_NEGOTIATE_ALWAYS_SIGN |
        NTLM_NEGOTIATE_EXTENDED_SS | NTLM_NEGOTIATE_VERSION | NTLM_NEGOTIATE_128 |
        NTLM_NEGOTIATE_56;
    enum { LEN = 40 };
    *out = NULL;
    *outlen = 0;
    uint8_t *buf = alloc_out(LEN, err, errlen);
    if (!buf)
        return -1;
    memset(buf, 0, LEN);
    memcpy(buf, ntlm_signature, sizeof ntlm_signature);
    wr32(buf + 8, 1);
    wr32(buf + 12, flags);
    /* Empty DomainName and Workstation: offsets point at the (empty) payload. */
    wr32(buf + 20, LEN);
    wr32(buf + 28, LEN);
    /* Version: we claim no OS; only NTLMRevisionCurrent (15) is meaningful. */
    buf[39] = 0x0f;
    *out = buf;
    *outlen = LEN;
    return 0;
}

/* Appends cp as UTF-8 if it fits with room left for the NUL. */
static bool put_utf8(char *dst, size_t cap, size_t *pos, uint32_t cp)
{
    uint8_t tmp[4];
    size_t k;
    if (cp < 0x80) {
        tmp[0] = (uint8_t)cp;
        k = 1;
    } else if (cp < 0x800) {
        tmp[0] = (uint8_t)(0xc0 | cp >> 6);
        tmp[1] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (uint8_t)(0xe0 | cp >> 12);
        tmp[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        tmp[2] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        tmp[0] = (uint8_t)(0xf0 | cp >> 18);
        tmp[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        tmp[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        tmp[3] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 4;
    }
    if (*pos + k >= cap)
        return false;
    memcpy(dst + *pos, tmp, k);
    *pos += k;
    return true;
}

static bool is_high_surrogate(uint32_t u) { return u >= 0xd800 && u <= 0xdbff; }
static bool is_low_surrogate(uint32_t u) { return u >= 0xdc00 && u <= 0xdfff; }

/* Truncates at a character boundary. NUL becomes U+FFFD so that a hostile
 * name cannot hide its tail from the display. */
static void utf16le_to_utf8(const uint8_t *s, size_t n, char *dst, size_t cap)
{
    size_t pos = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t cp = rd16(s + i);
        if (is_high_surrogate(cp) && i + 3 < n && is_low_surrogate(rd16(s + i + 2))) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (rd16(s + i + 2) - 0xdc00u);
            i += 2;
        } else if (is_high_surrogate(cp) || is_low_surrogate(cp) || cp == 0) {
            cp = 0xfffd;
        }
        if (!put_utf8(dst, cap, &pos, cp))
            break;
    }
    dst[pos] = '\0';
}

/* The OEM code page is unknown, so only ASCII is trusted. */
static void oem_to_utf8(const uint8_t *s, size_t n, char *dst, size_t cap)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = (s[i] == 0 || s[i] >= 0x80) ? 0xfffd : s[i];
        if (!put_utf8(dst, cap, &pos, cp))
            break;
    }
    dst[pos] = '\0';
}

struct secbuf {
    const uint8_t *p;
    size_t len;
    size_t off;
};

/* Reads the security buffer header at msg+at (which the caller has checked)
 * and makes sure the payload it names lies inside the message. */
static int read_secbuf(const uint8_t *msg, size_t n, size_t at, const char *what,
                       struct secbuf *sb, char *err, size_t errlen)
{
    size_t len = rd16(msg + at);
    size_t off = rd32(msg + at + 4);
    *sb = (struct secbuf){ .p = NULL, .len = 0, .off = SIZE_MAX };
    if (len == 0)
        return 0;   /* an empty field's offset is meaningless; many servers leave 0 */
    if (off > n || len > n - off) {
        set_err(err, errlen, "NTLM: %s (offset %zu, length %zu) lies outside the %zu-byte message",
                what, off, len, n);
        return -1;
    }
    *sb = (struct secbuf){ .p = msg + off, .len = len, .off = off };
    return 0;
}

static int ntlm_check_header(const uint8_t *msg, size_t n, char *err, size_t errlen)
{
    if (!msg || n < NTLM_T2_MIN) {
        set_err(err, errlen, "NTLM: challenge too short (%zu bytes, need at least %d)", n,
                NTLM_T2_MIN);
        return -1;
    }
    if (memcmp(msg, ntlm_signature, sizeof ntlm_signature) != 0) {
        set_err(err, errlen, "NTLM: challenge lacks the NTLMSSP signature");
        return -1;
    }
    uint32_t type = rd32(msg + 8);
    if (type != 2) {
        set_err(err, errlen, "NTLM: expected a type 2 (challenge) message, got type %u",
                (unsigned)type);
        return -1;
    }
    return 0;
}

static int ntlm_target_name(const uint8_t *msg, size_t n, struct ntlm_challenge_info *info,
                            struct secbuf *sb, char *err, size_t errlen)
{
    if (read_secbuf(msg, n, NTLM_T2_TARGET_NAME, "TargetName", sb, err, errlen) < 0)
        return -1;
    if (!(info->flags & NTLM_NEGOTIATE_UNICODE)) {
        oem_to_utf8(sb->p, sb->len, info->target_name, sizeof info->target_name);
        return 0;
    }
    if (sb->len % 2 != 0) {
        set_err(err, errlen, "NTLM: TargetName has odd UTF-16 length %zu", sb->len);
        return -1;
    }
    utf16le_to_utf8(sb->p, sb->len, info->target_name, sizeof info->target_name);
    return 0;
}

static char *av_field(struct ntlm_challenge_info *info, uint16_t id)
{
    switch (id) {
    case MSV_AV_NB_COMPUTER: return info->netbios_computer;
    case MSV_AV_NB_DOMAIN: return info->netbios_domain;
    case MSV_AV_DNS_COMPUTER: return info->dns_computer;
    case MSV_AV_DNS_DOMAIN: return info->dns_domain;
    case MSV_AV_DNS_TREE: return info->dns_tree;
    default: return NULL;
    }
}

/* Walks the AV_PAIR list; fields decoded before a fault are kept. */
static int ntlm_av_pairs(const uint8_t *p, size_t n, struct ntlm_challenge_info *info,
                         char *err, size_t errlen)
{
    size_t i = 0;
    while (n - i >= 4) {
        uint16_t id = rd16(p + i);
        size_t len = rd16(p + i + 2);
        i += 4;
        if (id == MSV_AV_EOL)
            return 0;
        if (len > n - i) {
            set_err(err, errlen, "NTLM: TargetInfo pair %u (length %zu) runs past the end",
                    (unsigned)id, len);
            return -1;
        }
        char *field = av_field(info, id);
        if (field && len % 2 != 0) {
            set_err(err, errlen, "NTLM: TargetInfo pair %u has odd UTF-16 length %zu",
                    (unsigned)id, len);
            return -1;
        }
        if (field)
            utf16le_to_utf8(p + i, len, field, sizeof info->dns_computer); /* all are 256 */
        i += len;
    }
    set_err(err, errlen, "NTLM: TargetInfo ends without MsvAvEOL");
    return -1;
}

static int ntlm_target_info(const uint8_t *msg, size_t n, struct ntlm_challenge_info *info,
                            struct secbuf *sb, char *err, size_t errlen)
{
    *sb = (struct secbuf){ .p = NULL, .len = 0, .off = SIZE_MAX };
    if (!(info->flags & NTLM_NEGOTIATE_TARGET_INFO))
        return 0;   /* the fields are then reserved, or absent on old servers */
    if (n < NTLM_T2_TARGET_INFO + 8) {
        set_err(err, errlen, "NTLM: TargetInfo flag set but the %zu-byte header lacks its field",
                n);
        return -1;
    }
    if (read_secbuf(msg, n, NTLM_T2_TARGET_INFO, "TargetInfo", sb, err, errlen) < 0)
        return -1;
    return sb->len ? ntlm_av_pairs(sb->p, sb->len, info, err, errlen) : 0;
}

/* Servers that predate the Version field put their payload at offset 48, so
 * the field counts only when no payload starts inside it. */
static void ntlm_version(const uint8_t *msg, size_t n, size_t payload_start,
                         struct ntlm_challenge_info *info)
{
    if (!(info->flags & NTLM_NEGOTIATE_VERSION) || n < NTLM_T2_HEADER ||
        payload_start < NTLM_T2_HEADER)
        return;
    const uint8_t *v = msg + NTLM_T2_VERSION;
    snprintf(info->os_version, sizeof info->os_version, "%u.%u.%u", (unsigned)v[0],
             (unsigned)v[1], (unsigned)rd16(v + 2));
}

int sasl_ntlm_parse_challenge(const uint8_t *msg, size_t n, struct ntlm_challenge_info *info,
                              char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    if (ntlm_check_header(msg, n, err, errlen) < 0)
        return -1;
    info->flags = rd32(msg + NTLM_T2_FLAGS);
    memcpy(info->challenge, msg + NTLM_T2_CHALLENGE, sizeof info->challenge);
    struct secbuf name, tinfo;
    if (ntlm_target_name(msg, n, info, &name, err, errlen) < 0)
        return -1;
    if (ntlm_target_info(msg, n, info, &tinfo, err, errlen) < 0)
        return -1;
    ntlm_version(msg, n, name.off < tinfo.off ? name.off : tinfo.off, info);
    return 0;
}
