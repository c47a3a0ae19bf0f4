/* fuzz_sasl — libFuzzer target for the two SASL decoders that read what a
 * server sends: sasl_b64_decode (every "+ challenge") and
 * sasl_ntlm_parse_challenge (the NTLM type 2 message, whose offsets and
 * lengths the server picks). Checked: bounds (ASan), decoded base64 that
 * re-encodes to the same text, and NTLM names that are NUL-terminated valid
 * UTF-8 without NUL inside (the header's promise, so a hostile name cannot
 * hide its tail), and an error message whenever a call fails.
 * Input: byte 0 bit 0 chooses base64 text (then the decoded bytes go on to
 * the NTLM parser, as in a session) or raw NTLM bytes. */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sanitize.h"
#include "sasl.h"

static void check_name(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    FUZZ_CHECK(n < cap);
    FUZZ_CHECK(sanitize_is_utf8(s, n));
}

static void check_ntlm(const uint8_t *msg, size_t n)
{
    uint8_t *copy = fuzz_dup(msg, n);
    struct ntlm_challenge_info info;
    char err[200] = "";
    if (sasl_ntlm_parse_challenge(copy, n, &info, err, sizeof err) < 0) {
        FUZZ_CHECK(err[0] != 0 && strnlen(err, sizeof err) < sizeof err);
    } else {
        FUZZ_CHECK(n >= 32 && memcmp(info.challenge, copy + 24, 8) == 0);
    }
    /* Fields decoded before a fault are kept, so check them either way. */
    check_name(info.target_name, sizeof info.target_name);
    check_name(info.netbios_computer, sizeof info.netbios_computer);
    check_name(info.netbios_domain, sizeof info.netbios_domain);
    check_name(info.dns_computer, sizeof info.dns_computer);
    check_name(info.dns_domain, sizeof info.dns_domain);
    check_name(info.dns_tree, sizeof info.dns_tree);
    FUZZ_CHECK(strnlen(info.os_version, sizeof info.os_version) < sizeof info.os_version);
    free(copy);
}

static void check_b64(const uint8_t *text, size_t n)
{
    char *in = (char *)fuzz_dup(text, n);
    uint8_t *out = NULL;
    size_t len = 0;
    char err[200] = "";
    if (sasl_b64_decode(in, n, &out, &len, err, sizeof err) < 0) {
        FUZZ_CHECK(out == NULL && len == 0 && err[0] != 0);
        free(in);
        return;
    }
    FUZZ_CHECK(out != NULL && out[len] == 0 && len <= n / 4 * 3);
    /* The decoding is exact: encoding it again decodes to the same bytes. */
    char *again = NULL;
    size_t alen = 0;
    FUZZ_CHECK(sasl_b64_encode(out, len, &again, &alen) == 0);
    uint8_t *round = NULL;
    size_t rlen = 0;
    FUZZ_CHECK(sasl_b64_decode(again, alen, &round, &rlen, err, sizeof err) == 0);
    FUZZ_CHECK(rlen == len && (len == 0 || memcmp(round, out, len) == 0));
    check_ntlm(out, len);
    sasl_free(round, rlen);
    sasl_free(again, alen);
    sasl_free(out, len);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        check_b64(data + 1, size - 1);
    else
        check_ntlm(data + 1, size - 1);
    return 0;
}
