#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

/* ---- helpers --------------------------------------------------------- */

/* Compares a (buffer, length) result with an expected byte string. */
static void expect_bytes(const uint8_t *got, size_t gotlen, const char *want, size_t wantlen)
{
    cr_assert_eq(gotlen, wantlen, "length %zu, want %zu", gotlen, wantlen);
    cr_assert(memcmp(got, want, wantlen) == 0, "bytes differ");
}

static void expect_encode(const char *in, const char *want)
{
    char *out = NULL;
    size_t len = 99;
    cr_assert_eq(sasl_b64_encode(in, strlen(in), &out, &len), 0);
    cr_assert_str_eq(out, want);
    cr_assert_eq(len, strlen(want));
    sasl_free(out, len);
}

static void expect_decode(const char *in, const char *want)
{
    uint8_t *out = NULL;
    size_t len = 99;
    char err[128] = "";
    cr_assert_eq(sasl_b64_decode(in, strlen(in), &out, &len, err, sizeof err), 0,
                 "decode \"%s\": %s", in, err);
    cr_assert_not_null(out);
    expect_bytes(out, len, want, strlen(want));
    sasl_free(out, len);
}

static void expect_decode_fails(const char *in, size_t n)
{
    uint8_t *out = (uint8_t *)1;
    size_t len = 99;
    char err[128] = "";
    cr_assert_eq(sasl_b64_decode(in, n, &out, &len, err, sizeof err), -1,
                 "\"%.*s\" should be rejected", (int)n, in);
    cr_assert_null(out);
    cr_assert_eq(len, 0);
    cr_assert_neq(err[0], '\0', "no error message for \"%.*s\"", (int)n, in);
}

/* ---- base64 ---------------------------------------------------------- */

Test(sasl_b64, rfc4648_encode_vectors)
{
    expect_encode("", "");
    expect_encode("f", "Zg==");
    expect_encode("fo", "Zm8=");
    expect_encode("foo", "Zm9v");
    expect_encode("foob", "Zm9vYg==");
    expect_encode("fooba", "Zm9vYmE=");
    expect_encode("foobar", "Zm9vYmFy");
}

Test(sasl_b64, rfc4648_decode_vectors)
{
    expect_decode("", "");
    expect_decode("Zg==", "f");
    expect_decode("Zm8=", "fo");
    expect_decode("Zm9v", "foo");
    expect_decode("Zm9vYg==", "foob");
    expect_decode("Zm9vYmE=", "fooba");
    expect_decode("Zm9vYmFy", "foobar");
}

Test(sasl_b64, lone_equals_is_empty)
{
    expect_decode("=", "");
}

Test(sasl_b64, empty_encode_from_null)
{
    char *out = NULL;
    size_t len = 99;
    cr_assert_eq(sasl_b64_encode(NULL, 0, &out, &len), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(len, 0);
    sasl_free(out, len);
}

Test(sasl_b64, binary_round_trip_all_lengths)
{
    uint8_t in[256];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(255 - i);
    for (size_t n = 0; n <= sizeof in; n++) {
        char *enc = NULL;
        size_t enclen = 0;
        cr_assert_eq(sasl_b64_encode(in, n, &enc, &enclen), 0);
        cr_assert_eq(enclen, (n + 2) / 3 * 4);
        cr_assert_eq(strlen(enc), enclen);
        uint8_t *dec = NULL;
        size_t declen = 0;
        char err[128] = "";
        cr_assert_eq(sasl_b64_decode(enc, enclen, &dec, &declen, err, sizeof err), 0,
                     "n=%zu: %s", n, err);
        cr_assert_eq(declen, n, "n=%zu: got %zu", n, declen);
        cr_assert(n == 0 || memcmp(dec, in, n) == 0, "n=%zu differs", n);
        sasl_free(enc, enclen);
        sasl_free(dec, declen);
    }
}

Test(sasl_b64, decoded_output_is_nul_terminated)
{
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(sasl_b64_decode("Zm8=", 4, &out, &len, NULL, 0), 0);
    cr_assert_eq(len, 2);
    cr_assert_eq(out[2], '\0');
    sasl_free(out, len);
}

Test(sasl_b64, invalid_lengths_rejected)
{
    expect_decode_fails("Z", 1);
    expect_decode_fails("Zm", 2);
    expect_decode_fails("Zm9", 3);
    expect_decode_fails("Zm9vY", 5);
    expect_decode_fails("==", 2);
}

Test(sasl_b64, invalid_characters_rejected)
{
    expect_decode_fails("Zm9v\r\n", 6);
    expect_decode_fails("Zm 9", 4);
    expect_decode_fails(" Zm9v", 5);
    expect_decode_fails("Zm9v!A==", 8);
    expect_decode_fails("Zm-_", 4);         /* base64url is not base64 */
    expect_decode_fails("Zm9\0", 4);        /* embedded NUL */
    expect_decode_fails("Zm9\xc3", 4);
}

Test(sasl_b64, misplaced_padding_rejected)
{
    expect_decode_fails("====", 4);
    expect_decode_fails("Z===", 4);
    expect_decode_fails("Zg=a", 4);
    expect_decode_fails("=Zg=", 4);
    expect_decode_fails("Zg==Zg==", 8);
    expect_decode_fails("Zm9v=", 5);
}

Test(sasl_b64, error_buffer_may_be_null)
{
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(sasl_b64_decode("Zm9", 3, &out, &len, NULL, 0), -1);
    char tiny[4];
    cr_assert_eq(sasl_b64_decode("Zm9", 3, &out, &len, tiny, sizeof tiny), -1);
    cr_assert_eq(strlen(tiny), 3);
}

/* ---- PLAIN / CRAM-MD5 / XOAUTH2 / OAUTHBEARER / APOP ------------------ */

Test(sasl_plain, without_authzid)
{
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(sasl_plain(NULL, "tim", "tanstaaf", &out, &len, NULL, 0), 0);
    expect_bytes(out, len, "\0tim\0tanstaaf", 13);
    sasl_free(out, len);
}

Test(sasl_plain, with_authzid_matches_rfc4616_example)
{
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(sasl_plain("Ursel", "Kurt", "xipj3plmq", &out, &len, NULL, 0), 0);
    expect_bytes(out, len, "Ursel\0Kurt\0xipj3plmq", 20);
    char *b64 = NULL;
    size_t b64len = 0;
    cr_assert_eq(sasl_b64_encode(out, len, &b64, &b64len), 0);
    cr_assert_str_eq(b64, "VXJzZWwAS3VydAB4aXBqM3BsbXE=");
    sasl_free(b64, b64len);
    sasl_free(out, len);
}

Test(sasl_plain, missing_user_rejected)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char err[128] = "";
    cr_assert_eq(sasl_plain(NULL, NULL, "x", &out, &len, err, sizeof err), -1);
    cr_assert_null(out);
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(sasl_plain(NULL, "", "x", &out, &len, err, sizeof err), -1);
    cr_assert_eq(sasl_plain(NULL, "u", NULL, &out, &len, err, sizeof err), -1);
}

Test(sasl_cram_md5, rfc2195_example)
{
    static const char chal[] = "<1896.697170952@postoffice.reston.mci.net>";
    uint8_t *out = NULL;
    size_t len = 0;
    char err[128] = "";
    cr_assert_eq(sasl_cram_md5("tim", "tanstaaftanstaaf", (const uint8_t *)chal, strlen(chal),
                               &out, &len, err, sizeof err), 0, "%s", err);
    static const char want[] = "tim b913a602c7eda7a495b4e6e7334d3890";
    expect_bytes(out, len, want, strlen(want));
    sasl_free(out, len);
}

/* RFC 2104 test case 2 key/data give the HMAC-MD5 digest the RFC lists. */
Test(sasl_cram_md5, rfc2104_vector)
{
    static const char data[] = "what do ya want for nothing?";
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(sasl_cram_md5("Jefe", "Jefe", (const uint8_t *)data, strlen(data), &out, &len,
                               NULL, 0), 0);
    static const char want[] = "Jefe 750c783e6ab0b503eaa86e310a5db738";
    expect_bytes(out, len, want, strlen(want));
    sasl_free(out, len);
}

Test(sasl_cram_md5, bad_arguments_rejected)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char err[128] = "";
    cr_assert_eq(sasl_cram_md5(NULL, "p", (const uint8_t *)"c", 1, &out, &len, err, sizeof err),
                 -1);
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(sasl_cram_md5("u", "p", NULL, 5, &out, &len, err, sizeof err), -1);
    cr_assert_null(out);
}

/* Google's documented XOAUTH2 example. */
Test(sasl_xoauth2, google_example)
{
    uint8_t *out = NULL;
    size_t len = 0;
    static const char token[] = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
    cr_assert_eq(sasl_xoauth2("someuser@example.com", token, &out, &len, NULL, 0), 0);
    static const char want[] = "user=someuser@example.com\x01"
                               "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01";
    expect_bytes(out, len, want, strlen(want));
    char *b64 = NULL;
    size_t b64len = 0;
    cr_assert_eq(sasl_b64_encode(out, len, &b64, &b64len), 0);
    cr_assert_str_eq(b64, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRx"
                          "bVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    sasl_free(b64, b64len);
    sasl_free(out, len);
}

Test(sasl_xoauth2, separator_in_token_rejected)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char err[128] = "";
    cr_assert_eq(sasl_xoauth2("u", "a\x01" "b", &out, &len, err, sizeof err), -1);
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(sasl_xoauth2("u", "", &out, &len, err, sizeof err), -1);
}

/* RFC 7628 section 4.1 example. */
Test(sasl_oauthbearer, rfc7628_example)
{
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(sasl_oauthbearer("user@example.com", "server.example.com", 143,
                                  "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", &out, &len,
                                  NULL, 0), 0);
    static const char want[] = "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
                               "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01";
    expect_bytes(out, len, want, strlen(want));
    sasl_free(out, len);
}

Test(sasl_oauthbearer, gs2_user_escaping)
{
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(sasl_oauthbearer("a,b=c", "h", 993, "t", &out, &len, NULL, 0), 0);
    static const char want[] = "n,a=a=2Cb=3Dc,\x01host=h\x01port=993\x01" "auth=Bearer t\x01\x01";
    expect_bytes(out, len, want, strlen(want));
    sasl_free(out, len);
}

Test(sasl_oauthbearer, bad_arguments_rejected)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char err[128] = "";
    cr_assert_eq(sasl_oauthbearer("u", "h", 0, "t", &out, &len, err, sizeof err), -1);
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(sasl_oauthbearer("u", "h", 65536, "t", &out, &len, err, sizeof err), -1);
    cr_assert_eq(sasl_oauthbearer("u", "h\x01x", 143, "t", &out, &len, err, sizeof err), -1);
    cr_assert_eq(sasl_oauthbearer("u", NULL, 143, "t", &out, &len, err, sizeof err), -1);
    cr_assert_null(out);
}

Test(sasl_apop, rfc1939_example)
{
    char out[33];
    cr_assert_eq(sasl_apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf", out), 0);
    cr_assert_str_eq(out, "c4c9334bac560ecc979e58001b3e22fb");
}

Test(sasl_apop, rfc1321_empty_string)
{
    char out[33];
    cr_assert_eq(sasl_apop_digest("", "", out), 0);
    cr_assert_str_eq(out, "d41d8cd98f00b204e9800998ecf8427e");
}

Test(sasl_apop, null_rejected)
{
    char out[33] = "x";
    cr_assert_eq(sasl_apop_digest(NULL, "s", out), -1);
    cr_assert_str_eq(out, "");
}

Test(sasl_free, null_is_harmless)
{
    sasl_free(NULL, 0);
    sasl_free(NULL, 100);
}

/* ---- NTLM negotiate -------------------------------------------------- */

#define F_UNICODE     0x00000001u
#define F_OEM         0x00000002u
#define F_REQ_TARGET  0x00000004u
#define F_NTLM        0x00000200u
#define F_ALWAYS_SIGN 0x00008000u
#define F_TYPE_DOMAIN 0x00010000u
#define F_ESS         0x00080000u
#define F_TARGET_INFO 0x00800000u
#define F_VERSION     0x02000000u
#define F_128         0x20000000u
#define F_56          0x80000000u

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

Test(sasl_ntlm, negotiate_message)
{
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(sasl_ntlm_negotiate(&out, &len, NULL, 0), 0);
    cr_assert_geq(len, 32);
    cr_assert(memcmp(out, "NTLMSSP\0", 8) == 0);
    cr_assert_eq(le32(out + 8), 1);
    uint32_t flags = le32(out + 12);
    uint32_t need = F_UNICODE | F_OEM | F_REQ_TARGET | F_NTLM | F_ALWAYS_SIGN | F_ESS;
    cr_assert_eq(flags & need, need, "flags 0x%08x", flags);
    cr_assert_eq(out[16] | out[17] << 8, 0, "domain must be empty");
    cr_assert_eq(out[24] | out[25] << 8, 0, "workstation must be empty");
    if (flags & F_VERSION)
        cr_assert_eq(len, 40);
    /* A type 1 is not a challenge. */
    struct ntlm_challenge_info info;
    char err[128] = "";
    cr_assert_eq(sasl_ntlm_parse_challenge(out, len, &info, err, sizeof err), -1);
    cr_assert(strstr(err, "type") != NULL, "%s", err);
    sasl_free(out, len);
}

/* ---- NTLM challenge builder ------------------------------------------ */

struct t2 {
    uint8_t b[2048];
    size_t n;
};

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

/* ASCII as UTF-16LE; returns bytes written. */
static size_t utf16(uint8_t *dst, const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        wr16(dst + 2 * i, (uint8_t)s[i]);
    return 2 * i;
}

static size_t av_str(uint8_t *dst, uint16_t id, const char *s)
{
    size_t len = utf16(dst + 4, s);
    wr16(dst, id);
    wr16(dst + 2, (uint16_t)len);
    return 4 + len;
}

static size_t av_raw(uint8_t *dst, uint16_t id, const void *v, uint16_t len)
{
    wr16(dst, id);
    wr16(dst + 2, len);
    if (len)
        memcpy(dst + 4, v, len);
    return 4 + (size_t)len;
}

/* Header with empty security buffers; payload starts at 56. */
static void t2_header(struct t2 *m, uint32_t flags)
{
    memset(m, 0, sizeof *m);
    memcpy(m->b, "NTLMSSP\0", 8);
    wr32(m->b + 8, 2);
    wr32(m->b + 16, 56);
    wr32(m->b + 20, flags);
    for (int i = 0; i < 8; i++)
        m->b[24 + i] = (uint8_t)(0x11 * (i + 1));
    wr32(m->b + 44, 56);
    /* Windows Server 2019: 10.0.17763, NTLM revision 15 */
    m->b[48] = 10;
    m->b[49] = 0;
    wr16(m->b + 50, 17763);
    m->b[55] = 0x0f;
    m->n = 56;
}

static void t2_set_buf(struct t2 *m, size_t at, uint16_t len, uint32_t off)
{
    wr16(m->b + at, len);
    wr16(m->b + at + 2, len);
    wr32(m->b + at + 4, off);
}

static void t2_target_name_utf16(struct t2 *m, const char *s)
{
    size_t len = utf16(m->b + m->n, s);
    t2_set_buf(m, 12, (uint16_t)len, (uint32_t)m->n);
    m->n += len;
}

static void t2_target_name_raw(struct t2 *m, const void *s, size_t len)
{
    memcpy(m->b + m->n, s, len);
    t2_set_buf(m, 12, (uint16_t)len, (uint32_t)m->n);
    m->n += len;
}

/* Starts the TargetInfo buffer at the current end; t2_end_info closes it. */
static size_t t2_begin_info(struct t2 *m) { return m->n; }

static void t2_end_info(struct t2 *m, size_t start)
{
    t2_set_buf(m, 40, (uint16_t)(m->n - start), (uint32_t)start);
}

/* What an Exchange 2019 on Windows Server 2019 in CONTOSO would send. */
static void t2_realistic(struct t2 *m)
{
    t2_header(m, F_UNICODE | F_REQ_TARGET | F_NTLM | F_ALWAYS_SIGN | F_TYPE_DOMAIN | F_ESS |
                     F_TARGET_INFO | F_VERSION | F_128 | F_56);
    t2_target_name_utf16(m, "CONTOSO");
    size_t start = t2_begin_info(m);
    static const uint8_t filetime[8] = { 0x4e, 0x2a, 0x9b, 0x3c, 0x5d, 0x6e, 0xd9, 0x01 };
    m->n += av_str(m->b + m->n, 2, "CONTOSO");
    m->n += av_str(m->b + m->n, 1, "EX01");
    m->n += av_str(m->b + m->n, 4, "contoso.local");
    m->n += av_str(m->b + m->n, 3, "EX01.contoso.local");
    m->n += av_str(m->b + m->n, 5, "contoso.local");
    m->n += av_raw(m->b + m->n, 7, filetime, sizeof filetime);
    m->n += av_raw(m->b + m->n, 0, NULL, 0);
    t2_end_info(m, start);
}

/* Parses from an exact-size heap copy so that ASan sees any over-read. */
static int parse_exact(const uint8_t *msg, size_t n, struct ntlm_challenge_info *info,
                       char *err, size_t errlen)
{
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    if (n)
        memcpy(copy, msg, n);
    int rc = sasl_ntlm_parse_challenge(copy, n, info, err, errlen);
    free(copy);
    return rc;
}

static void expect_parse_fails(const struct t2 *m, const char *needle)
{
    struct ntlm_challenge_info info;
    char err[256] = "";
    cr_assert_eq(parse_exact(m->b, m->n, &info, err, sizeof err), -1, "accepted; want \"%s\"",
                 needle);
    cr_assert(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
}

/* ---- NTLM challenge: well-formed ------------------------------------- */

Test(sasl_ntlm, realistic_challenge_decodes)
{
    struct t2 m;
    t2_realistic(&m);
    struct ntlm_challenge_info info;
    char err[256] = "";
    cr_assert_eq(parse_exact(m.b, m.n, &info, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(info.target_name, "CONTOSO");
    cr_assert_str_eq(info.netbios_computer, "EX01");
    cr_assert_str_eq(info.netbios_domain, "CONTOSO");
    cr_assert_str_eq(info.dns_computer, "EX01.contoso.local");
    cr_assert_str_eq(info.dns_domain, "contoso.local");
    cr_assert_str_eq(info.dns_tree, "contoso.local");
    cr_assert_str_eq(info.os_version, "10.0.17763");
    cr_assert_eq(info.flags, F_UNICODE | F_REQ_TARGET | F_NTLM | F_ALWAYS_SIGN | F_TYPE_DOMAIN |
                                 F_ESS | F_TARGET_INFO | F_VERSION | F_128 | F_56);
    static const uint8_t chal[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
    cr_assert(memcmp(info.challenge, chal, 8) == 0);
}

Test(sasl_ntlm, via_base64_as_received)
{
    struct t2 m;
    t2_realistic(&m);
    char *b64 = NULL;
    size_t b64len = 0;
    cr_assert_eq(sasl_b64_encode(m.b, m.n, &b64, &b64len), 0);
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    cr_assert_eq(sasl_b64_decode(b64, b64len, &raw, &rawlen, NULL, 0), 0);
    struct ntlm_challenge_info info;
    cr_assert_eq(sasl_ntlm_parse_challenge(raw, rawlen, &info, NULL, 0), 0);
    cr_assert_str_eq(info.dns_computer, "EX01.contoso.local");
    sasl_free(b64, b64len);
    sasl_free(raw, rawlen);
}

Test(sasl_ntlm, unknown_av_pairs_skipped)
{
    struct t2 m;
    t2_header(&m, F_UNICODE | F_TARGET_INFO);
    size_t start = t2_begin_info(&m);
    static const uint8_t flags[4] = { 2, 0, 0, 0 };
    m.n += av_raw(m.b + m.n, 6, flags, 4);               /* MsvAvFlags */
    m.n += av_str(m.b + m.n, 9, "cifs/EX01");             /* MsvAvTargetName */
    m.n += av_raw(m.b + m.n, 0x42, "xyz", 3);             /* unknown, odd length is fine */
    m.n += av_str(m.b + m.n, 3, "ex01.example.org");
    m.n += av_raw(m.b + m.n, 0, NULL, 0);
    t2_end_info(&m, start);
    struct ntlm_challenge_info info;
    char err[256] = "";
    cr_assert_eq(parse_exact(m.b, m.n, &info, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(info.dns_computer, "ex01.example.org");
    cr_assert_str_eq(info.target_name, "");
    cr_assert_str_eq(info.os_version, "", "version flag is clear");
}

Test(sasl_ntlm, minimal_old_style_challenge)
{
    struct t2 m;
    t2_header(&m, F_OEM | F_NTLM);
    m.n = 32;  /* signature, type, target name, flags, challenge: nothing else */
    struct ntlm_challenge_info info;
    char err[256] = "";
    cr_assert_eq(parse_exact(m.b, m.n, &info, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(info.target_name, "");
    cr_assert_str_eq(info.dns_computer, "");
    cr_assert_str_eq(info.os_version, "");
    cr_assert_eq(info.challenge[7], 0x88);
}

Test(sasl_ntlm, version_ignored_when_payload_starts_at_48)
{
    struct t2 m;
    t2_header(&m, F_UNICODE | F_VERSION);
    m.n = 48;
    t2_target_name_utf16(&m, "ABCD");   /* occupies bytes 48..55 */
    struct ntlm_challenge_info info;
    cr_assert_eq(parse_exact(m.b, m.n, &info, NULL, 0), 0);
    cr_assert_str_eq(info.target_name, "ABCD");
    cr_assert_str_eq(info.os_version, "");
}

Test(sasl_ntlm, empty_target_info_is_fine)
{
    struct t2 m;
    t2_header(&m, F_UNICODE | F_TARGET_INFO | F_VERSION);
    wr32(m.b + 44, 0xfffffff0u); /* offset of an empty buffer is meaningless */
    struct ntlm_challenge_info info;
    char err[256] = "";
    cr_assert_eq(parse_exact(m.b, m.n, &info, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(info.os_version, "10.0.17763");
}

Test(sasl_ntlm, oem_target_name)
{
    struct t2 m;
    t2_header(&m, F_OEM);
    t2_target_name_raw(&m, "WORK\xc4GROUP", 10);
    struct ntlm_challenge_info info;
    cr_assert_eq(parse_exact(m.b, m.n, &info, NULL, 0), 0);
    cr_assert_str_eq(info.target_name, "WORK\xef\xbf\xbdGROUP");
}

/* ---- NTLM challenge: UTF-16 ------------------------------------------ */

static void target_name_units(struct t2 *m, const uint16_t *u, size_t count)
{
    t2_header(m, F_UNICODE);
    for (size_t i = 0; i < count; i++)
        wr16(m->b + m->n + 2 * i, u[i]);
    t2_set_buf(m, 12, (uint16_t)(2 * count), (uint32_t)m->n);
    m->n += 2 * count;
}

static void expect_target_name(const uint16_t *u, size_t count, const char *want)
{
    struct t2 m;
    target_name_units(&m, u, count);
    struct ntlm_challenge_info info;
    char err[256] = "";
    cr_assert_eq(parse_exact(m.b, m.n, &info, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(info.target_name, want);
}

Test(sasl_ntlm, utf16_bmp_and_surrogate_pairs)
{
    static const uint16_t u[] = { 'a', 0x00e9, 0x20ac, 0xd83d, 0xde00, 'z' };
    expect_target_name(u, 6, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z");
}

Test(sasl_ntlm, utf16_invalid_units_become_replacement)
{
    static const uint16_t lone_high[] = { 'a', 0xd800, 'b' };
    expect_target_name(lone_high, 3, "a\xef\xbf\xbd" "b");
    static const uint16_t lone_low[] = { 0xdc00, 'b' };
    expect_target_name(lone_low, 2, "\xef\xbf\xbd" "b");
    static const uint16_t high_at_end[] = { 'a', 0xdbff };
    expect_target_name(high_at_end, 2, "a\xef\xbf\xbd");
    static const uint16_t two_highs[] = { 0xd800, 0xd800, 0xdc00 };
    expect_target_name(two_highs, 3, "\xef\xbf\xbd\xf0\x90\x80\x80");
    static const uint16_t nul[] = { 'a', 0, 'b' };
    expect_target_name(nul, 3, "a\xef\xbf\xbd" "b");
}

Test(sasl_ntlm, utf16_truncates_on_character_boundary)
{
    uint16_t u[400];
    for (size_t i = 0; i < 400; i++)
        u[i] = 'A';
    struct t2 m;
    struct ntlm_challenge_info info;
    target_name_units(&m, u, 400);
    cr_assert_eq(parse_exact(m.b, m.n, &info, NULL, 0), 0);
    cr_assert_eq(strlen(info.target_name), 255);

    for (size_t i = 0; i < 400; i++)
        u[i] = 0x20ac;  /* 3 bytes each: 85 fit in 255 */
    target_name_units(&m, u, 400);
    cr_assert_eq(parse_exact(m.b, m.n, &info, NULL, 0), 0);
    cr_assert_eq(strlen(info.target_name), 255);

    for (size_t i = 0; i < 400; i += 2) {
        u[i] = 0xd83d;  /* 4 bytes each: 63 fit in 252 */
        u[i + 1] = 0xde00;
    }
    target_name_units(&m, u, 400);
    cr_assert_eq(parse_exact(m.b, m.n, &info, NULL, 0), 0);
    cr_assert_eq(strlen(info.target_name), 252);
    cr_assert(memcmp(info.target_name + 248, "\xf0\x9f\x98\x80", 4) == 0);
}

/* ---- NTLM challenge: hostile ----------------------------------------- */

Test(sasl_ntlm, truncated_header_rejected)
{
    struct t2 m;
    t2_realistic(&m);
    struct ntlm_challenge_info info;
    for (size_t n = 0; n < 32; n++) {
        char err[256] = "";
        cr_assert_eq(parse_exact(m.b, n, &info, err, sizeof err), -1, "n=%zu accepted", n);
        cr_assert_neq(err[0], '\0');
    }
    cr_assert_eq(sasl_ntlm_parse_challenge(NULL, 0, &info, NULL, 0), -1);
}

Test(sasl_ntlm, target_info_flag_without_field_rejected)
{
    struct t2 m;
    t2_header(&m, F_UNICODE | F_TARGET_INFO);
    m.n = 40;
    expect_parse_fails(&m, "TargetInfo");
}

Test(sasl_ntlm, bad_signature_rejected)
{
    struct t2 m;
    t2_realistic(&m);
    m.b[7] = 'X';
    expect_parse_fails(&m, "signature");
}

Test(sasl_ntlm, wrong_type_rejected)
{
    struct t2 m;
    t2_realistic(&m);
    wr32(m.b + 8, 3);
    expect_parse_fails(&m, "type 3");
}

Test(sasl_ntlm, target_name_past_end_rejected)
{
    struct t2 m;
    t2_realistic(&m);
    t2_set_buf(&m, 12, 14, (uint32_t)m.n - 12);
    expect_parse_fails(&m, "TargetName");
    t2_set_buf(&m, 12, 2, (uint32_t)m.n + 1);
    expect_parse_fails(&m, "TargetName");
}

Test(sasl_ntlm, target_info_past_end_rejected)
{
    struct t2 m;
    t2_realistic(&m);
    uint16_t len = (uint16_t)(m.b[40] | m.b[41] << 8);
    wr16(m.b + 40, (uint16_t)(len + 1));
    expect_parse_fails(&m, "TargetInfo");
}

Test(sasl_ntlm, offset_plus_length_wrap_rejected)
{
    struct t2 m;
    t2_realistic(&m);
    t2_set_buf(&m, 40, 0x20, 0xfffffff0u);   /* wraps to 0x10 in 32 bits */
    expect_parse_fails(&m, "TargetInfo");
    t2_realistic(&m);
    t2_set_buf(&m, 12, 0xffff, 0xffffffffu);
    expect_parse_fails(&m, "TargetName");
}

Test(sasl_ntlm, odd_utf16_target_name_rejected)
{
    struct t2 m;
    t2_header(&m, F_UNICODE);
    t2_target_name_raw(&m, "A\0B", 3);
    expect_parse_fails(&m, "odd");
}

Test(sasl_ntlm, odd_utf16_av_pair_rejected)
{
    struct t2 m;
    t2_header(&m, F_UNICODE | F_TARGET_INFO);
    size_t start = t2_begin_info(&m);
    m.n += av_raw(m.b + m.n, 3, "E\0X", 3);
    m.n += av_raw(m.b + m.n, 0, NULL, 0);
    t2_end_info(&m, start);
    expect_parse_fails(&m, "odd");
}

Test(sasl_ntlm, av_pair_length_past_end_rejected)
{
    struct t2 m;
    t2_header(&m, F_UNICODE | F_TARGET_INFO);
    size_t start = t2_begin_info(&m);
    m.n += av_str(m.b + m.n, 1, "EX01");
    size_t last = m.n;
    m.n += av_str(m.b + m.n, 3, "EX01.contoso.local");
    m.n += av_raw(m.b + m.n, 0, NULL, 0);
    wr16(m.b + last + 2, 0x7ffe);
    t2_end_info(&m, start);
    expect_parse_fails(&m, "past the end");

    /* The pair fits the message but not the TargetInfo buffer that holds it. */
    t2_header(&m, F_UNICODE | F_TARGET_INFO);
    start = t2_begin_info(&m);
    m.n += av_str(m.b + m.n, 3, "EX01.contoso.local");
    m.n += av_raw(m.b + m.n, 0, NULL, 0);
    t2_set_buf(&m, 40, 8, (uint32_t)start);
    expect_parse_fails(&m, "past the end");
}

Test(sasl_ntlm, missing_eol_rejected_but_safe_fields_kept)
{
    struct t2 m;
    t2_header(&m, F_UNICODE | F_TARGET_INFO);
    size_t start = t2_begin_info(&m);
    m.n += av_str(m.b + m.n, 1, "EX01");
    m.n += av_str(m.b + m.n, 3, "EX01.contoso.local");
    t2_end_info(&m, start);
    expect_parse_fails(&m, "MsvAvEOL");
    struct ntlm_challenge_info info;
    cr_assert_eq(parse_exact(m.b, m.n, &info, NULL, 0), -1);
    cr_assert_str_eq(info.netbios_computer, "EX01");
    cr_assert_str_eq(info.dns_computer, "EX01.contoso.local");
}

Test(sasl_ntlm, partial_av_pair_header_rejected)
{
    struct t2 m;
    t2_header(&m, F_UNICODE | F_TARGET_INFO);
    size_t start = t2_begin_info(&m);
    m.n += av_str(m.b + m.n, 1, "EX01");
    m.b[m.n++] = 0;  /* half an EOL */
    m.b[m.n++] = 0;
    t2_end_info(&m, start);
    expect_parse_fails(&m, "MsvAvEOL");
}

/* Every prefix of a real message must be handled without reading past it. */
Test(sasl_ntlm, every_truncation_is_safe)
{
    struct t2 m;
    t2_realistic(&m);
    struct ntlm_challenge_info info;
    for (size_t n = 0; n < m.n; n++) {
        char err[256] = "";
        int rc = parse_exact(m.b, n, &info, err, sizeof err);
        cr_assert(rc == 0 || err[0] != '\0', "n=%zu: -1 without a message", n);
        cr_assert(n >= 32 || rc == -1, "n=%zu accepted", n);
        cr_assert(memchr(info.dns_computer, '\0', sizeof info.dns_computer) != NULL);
    }
}

/* Cheap deterministic fuzzing: random byte flips in the header and payload. */
Test(sasl_ntlm, random_corruption_is_safe)
{
    struct t2 base;
    t2_realistic(&base);
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        struct t2 m = base;
        for (int k = 0; k < 1 + round % 6; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % m.n;
            seed = seed * 1103515245u + 12345u;
            m.b[at] = (uint8_t)(seed >> 16);
        }
        seed = seed * 1103515245u + 12345u;
        size_t n = round % 3 ? m.n : (seed >> 8) % (m.n + 1);
        struct ntlm_challenge_info info;
        char err[256] = "";
        (void)parse_exact(m.b, n, &info, err, sizeof err);
        cr_assert(memchr(info.target_name, '\0', sizeof info.target_name) != NULL);
        cr_assert(memchr(info.os_version, '\0', sizeof info.os_version) != NULL);
    }
}
