/* Unit tests for net/hostmatch.c: RFC 6125 §6.4 server identity checks as
 * tightened by RFC 7817/9525 (wildcards only as the whole left-most label,
 * the CN only without dNSName SANs), IP SANs, IDNA A-labels (RFC 3492 test
 * vectors), and agreement with OpenSSL's X509_check_host on the same cases. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hostmatch.h"

/* ---- Punycode / A-labels ------------------------------------------------ */

static void assert_ascii(const char *in, const char *want)
{
    char out[HOSTMATCH_MAX_NAME];
    cr_assert_eq(hostmatch_to_ascii(in, out, sizeof out), 0, "%s did not convert", in);
    cr_assert_str_eq(out, want, "%s -> %s, expected %s", in, out, want);
}

Test(hostname, ascii_names_are_lower_cased_without_trailing_dot)
{
    assert_ascii("Mail.Example.COM", "mail.example.com");
    assert_ascii("mail.example.com.", "mail.example.com");
    assert_ascii("xn--bcher-kva.example", "xn--bcher-kva.example");
}

Test(hostname, rfc3492_vectors_and_common_labels)
{
    assert_ascii("bücher.example", "xn--bcher-kva.example");
    assert_ascii("Bücher.example", "xn--bcher-kva.example");
    assert_ascii("münchen.de", "xn--mnchen-3ya.de");
    assert_ascii("παράδειγμα.δοκιμή", "xn--hxajbheg2az3al.xn--jxalpdlp");
    assert_ascii("例え.テスト", "xn--r8jz45g.xn--zckzah");
    assert_ascii("日本語.jp", "xn--wgv71a119e.jp");
    /* RFC 3492 7.1 (B) and (A) */
    assert_ascii("他们为什么不说中文", "xn--ihqwcrb4cv8a8dqg056pqjye");
    assert_ascii("ليهمابتكلموشعربي؟", "xn--egbpdaj6bu4bxfgehfvwxn");
    /* 7.1 (L), with the basic B folded to b */
    assert_ascii("3年B組金八先生", "xn--3b-ww4c5e180e575a65lsy2b");
}

Test(hostname, invalid_names_are_refused)
{
    char out[HOSTMATCH_MAX_NAME];
    cr_assert_eq(hostmatch_to_ascii("", out, sizeof out), -1);
    cr_assert_eq(hostmatch_to_ascii(".", out, sizeof out), -1);
    cr_assert_eq(hostmatch_to_ascii("mail..example", out, sizeof out), -1);
    cr_assert_eq(hostmatch_to_ascii(".mail.example", out, sizeof out), -1);
    cr_assert_eq(hostmatch_to_ascii("b\xc3.example", out, sizeof out), -1, "truncated UTF-8");
    cr_assert_eq(hostmatch_to_ascii("b\xed\xa0\x80.example", out, sizeof out), -1, "surrogate");
    char label[80];
    memset(label, 'a', 64);
    strcpy(label + 64, ".example");
    cr_assert_eq(hostmatch_to_ascii(label, out, sizeof out), -1, "a 64-octet label");
    cr_assert_eq(hostmatch_to_ascii("mail.example", out, 5), -1, "does not fit");
}

/* ---- one presented DNS-ID ---------------------------------------------- */

struct dns_case {
    char presented[48], reference[48];
    bool match;
};

static const struct dns_case dns_cases[] = {
    /* RFC 6125 6.4.1: exact, case-insensitive; the reference's trailing dot
     * is dropped (hostmatch_to_ascii), a presented one matches nothing */
    { "mail.example.com", "mail.example.com", true },
    { "MAIL.Example.Com", "mail.example.com", true },
    { "mail.example.com", "mail.example.com.", true },
    { "mail.example.com.", "mail.example.com", false },
    { "mail.example.com", "mail.example.org", false },
    { "example.com", "mail.example.com", false },
    /* 6.4.3: the wildcard is the whole left-most label and stands for one label */
    { "*.example.com", "foo.example.com", true },
    { "*.example.com", "bar.foo.example.com", false },
    { "*.example.com", "example.com", false },
    { "*.Example.COM", "foo.example.com", true },
    { "*.example.com", "xn--bcher-kva.example.com", true },
    /* partial wildcards: allowed by RFC 6125 as a MAY, forbidden by RFC 9525 */
    { "baz*.example.net", "baz1.example.net", false },
    { "*baz.example.net", "foobaz.example.net", false },
    { "b*z.example.net", "buzz.example.net", false },
    /* not the left-most label, not directly above one label, not in an A-label */
    { "www.*.example.com", "www.foo.example.com", false },
    { "*.com", "example.com", false },
    { "*", "localhost", false },
    { "xn--*.example", "xn--bcher-kva.example", false },
    { "*.*.example.com", "a.b.example.com", false },
    /* a presented U-label is not a valid dNSName: never matches */
    { "bücher.example", "xn--bcher-kva.example", false },
};

ParameterizedTestParameters(hostname, dns_id)
{
    return cr_make_param_array(struct dns_case, dns_cases, sizeof dns_cases / sizeof *dns_cases);
}

ParameterizedTest(const struct dns_case *c, hostname, dns_id)
{
    cr_assert_eq(hostmatch_dns_id(c->presented, c->reference), c->match, "%s vs %s: expected %s",
                 c->presented, c->reference, c->match ? "match" : "no match");
}

Test(hostname, ip_addresses_compare_as_binary)
{
    cr_assert(hostmatch_ip("127.0.0.1", "127.0.0.1"));
    cr_assert(hostmatch_ip("::1", "0:0:0:0:0:0:0:1"));
    cr_assert(hostmatch_ip("2001:db8::1", "[2001:DB8:0::1]"));
    cr_assert_not(hostmatch_ip("127.0.0.1", "127.0.0.2"));
    cr_assert_not(hostmatch_ip("::ffff:127.0.0.1", "127.0.0.1"), "v4-mapped is another address");
    cr_assert_not(hostmatch_ip("127.0.0.1", "localhost"));
}

/* ---- whole certificates ------------------------------------------------- */

static struct cert_info ci_of(const char *cn, const char *const *sans)
{
    struct cert_info ci = { .subject_cn = (char *)cn };
    for (size_t i = 0; sans && sans[i]; i++)
        ci.san[ci.n_san++] = (char *)sans[i];
    return ci;
}

Test(hostname, cert_san_wildcard_ip_and_which_identifier)
{
    const char *sans[] = { "DNS:mail.example.com", "DNS:*.example.net", "IP:192.0.2.7",
                           "IP:2001:db8::7", "email:postmaster@example.com", NULL };
    struct cert_info ci = ci_of("legacy.example.org", sans);
    const char *m = NULL;
    cr_assert_eq(hostmatch_cert(&ci, "MAIL.example.com", &m), HOSTMATCH_DNS);
    cr_assert_str_eq(m, "DNS:mail.example.com");
    cr_assert_eq(hostmatch_cert(&ci, "imap.example.net", &m), HOSTMATCH_WILDCARD);
    cr_assert_str_eq(m, "DNS:*.example.net");
    cr_assert_eq(hostmatch_cert(&ci, "192.0.2.7", &m), HOSTMATCH_IP);
    cr_assert_eq(hostmatch_cert(&ci, "[2001:db8:0::7]", &m), HOSTMATCH_IP);
    cr_assert_str_eq(m, "IP:2001:db8::7");
    /* 6.4.4: with dNSName SANs present the CN is never consulted */
    cr_assert_eq(hostmatch_cert(&ci, "legacy.example.org", &m), HOSTMATCH_NONE);
    cr_assert_null(m);
    cr_assert_eq(hostmatch_cert(&ci, "postmaster@example.com", NULL), HOSTMATCH_NONE);
}

Test(hostname, cn_only_without_dns_sans_and_never_for_ip)
{
    struct cert_info bare = ci_of("mail.example.com", NULL);
    cr_assert_eq(hostmatch_cert(&bare, "mail.example.com", NULL), HOSTMATCH_CN);
    const char *ip_only[] = { "IP:192.0.2.7", NULL };
    struct cert_info ipc = ci_of("mail.example.com", ip_only);
    cr_assert_eq(hostmatch_cert(&ipc, "mail.example.com", NULL), HOSTMATCH_CN,
                 "an IP SAN is no dNSName: the CN still counts");
    struct cert_info ipcn = ci_of("192.0.2.7", NULL);
    cr_assert_eq(hostmatch_cert(&ipcn, "192.0.2.7", NULL), HOSTMATCH_NONE,
                 "an IP address is matched against iPAddress SANs only");
    const char *dns_ip[] = { "DNS:192.0.2.7", NULL };
    struct cert_info dnsip = ci_of(NULL, dns_ip);
    cr_assert_eq(hostmatch_cert(&dnsip, "192.0.2.7", NULL), HOSTMATCH_NONE);
}

Test(hostname, idna_reference_names_match_a_label_sans)
{
    const char *sans[] = { "DNS:xn--bcher-kva.example", "DNS:*.xn--mnchen-3ya.de", NULL };
    struct cert_info ci = ci_of(NULL, sans);
    cr_assert_eq(hostmatch_cert(&ci, "bücher.example", NULL), HOSTMATCH_DNS);
    cr_assert_eq(hostmatch_cert(&ci, "BÜCHER.example", NULL), HOSTMATCH_NONE,
                 "no Unicode case folding: documented");
    cr_assert_eq(hostmatch_cert(&ci, "mail.münchen.de", NULL), HOSTMATCH_WILDCARD);
    cr_assert_eq(hostmatch_cert(&ci, "xn--bcher-kva.example", NULL), HOSTMATCH_DNS);
    cr_assert_eq(hostmatch_cert(&ci, "bucher.example", NULL), HOSTMATCH_NONE);
}

Test(hostname, by_names)
{
    cr_assert_null(hostmatch_by_name(HOSTMATCH_NONE));
    cr_assert_str_eq(hostmatch_by_name(HOSTMATCH_WILDCARD), "wildcard");
    cr_assert_str_eq(hostmatch_by_name(HOSTMATCH_CN), "cn");
}

/* ---- the same answers as OpenSSL's X509_check_host (as net/tls.c uses it) - */

/* A throwaway certificate with one dNSName SAN (or, if san is NULL, none)
 * and the CN cn; only the names matter here, so it is not even signed. */
static X509 *named_cert(const char *cn, const char *san)
{
    X509 *x = X509_new();
    cr_assert_not_null(x);
    X509_NAME *name = X509_get_subject_name(x);
    cr_assert(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                         -1, 0));
    if (san) {
        char value[80];
        snprintf(value, sizeof value, "DNS:%s", san);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);
        cr_assert_not_null(ext);
        cr_assert(X509_add_ext(x, ext, -1));
        X509_EXTENSION_free(ext);
    }
    return x;
}

Test(hostname, agrees_with_openssl_check_host)
{
    for (size_t i = 0; i < sizeof dns_cases / sizeof *dns_cases; i++) {
        const struct dns_case *c = &dns_cases[i];
        bool ascii = true;
        for (const char *p = c->presented; *p; p++)
            ascii &= (unsigned char)*p < 0x80;
        if (!ascii)
            continue;   /* OpenSSL cannot even put a U-label into a dNSName */
        X509 *x = named_cert("unrelated.invalid", c->presented);
        /* net/tls.c hands OpenSSL the ASCII form, as here */
        char ref[HOSTMATCH_MAX_NAME];
        cr_assert_eq(hostmatch_to_ascii(c->reference, ref, sizeof ref), 0);
        bool ossl = X509_check_host(x, ref, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
        const char *sans[] = { NULL, NULL };
        char buf[64];
        snprintf(buf, sizeof buf, "DNS:%.48s", c->presented);
        sans[0] = buf;
        struct cert_info ci = ci_of("unrelated.invalid", sans);
        bool ours = hostmatch_cert(&ci, c->reference, NULL) != HOSTMATCH_NONE;
        cr_expect_eq(ours, ossl, "%s vs %s: ours %d, OpenSSL %d", c->presented, c->reference,
                     ours, ossl);
        X509_free(x);
    }
    X509 *cn_only = named_cert("mail.example.com", NULL);
    cr_assert_eq(X509_check_host(cn_only, "mail.example.com", 0, 0, NULL), 1,
                 "OpenSSL also falls back to the CN without dNSName SANs");
    X509_free(cn_only);
}
