/* Unit tests for src/url.c: mailscope's target URLs. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "url.h"

static struct mail_url parse_ok(const char *s)
{
    struct mail_url u;
    char err[256] = "";
    int rc = url_parse(s, &u, err, sizeof err);
    cr_assert_eq(rc, 0, "\"%s\" refused: %s", s, err);
    return u;
}

/* Refused, with a message containing want (when want is not NULL). */
static void parse_bad(const char *s, const char *want)
{
    struct mail_url u;
    char err[256] = "";
    cr_assert_eq(url_parse(s, &u, err, sizeof err), -1, "\"%s\" accepted (host \"%s\")", s,
                 u.host);
    cr_assert_neq(err[0], 0, "\"%s\": refused without a message", s);
    if (want)
        cr_assert_not_null(strstr(err, want), "\"%s\": message \"%s\" lacks \"%s\"", s, err, want);
}

Test(url, imap_defaults)
{
    struct mail_url u = parse_ok("imap://mail.example.com");
    cr_assert_eq(u.proto, SESSION_IMAP);
    cr_assert_not(u.implicit_tls);
    cr_assert_str_eq(u.scheme, "imap");
    cr_assert_str_eq(u.user, "");
    cr_assert_str_eq(u.host, "mail.example.com");
    cr_assert_eq(u.port, 143);
}

Test(url, imaps_with_port)
{
    struct mail_url u = parse_ok("imaps://host:1993");
    cr_assert_eq(u.proto, SESSION_IMAP);
    cr_assert(u.implicit_tls);
    cr_assert_str_eq(u.scheme, "imaps");
    cr_assert_str_eq(u.host, "host");
    cr_assert_eq(u.port, 1993);
    u = parse_ok("imaps://host");
    cr_assert_eq(u.port, 993);
}

Test(url, pop3_with_user)
{
    struct mail_url u = parse_ok("pop3://alice@host");
    cr_assert_eq(u.proto, SESSION_POP3);
    cr_assert_not(u.implicit_tls);
    cr_assert_str_eq(u.user, "alice");
    cr_assert_str_eq(u.host, "host");
    cr_assert_eq(u.port, 110);
}

Test(url, pop3s_and_pop_aliases)
{
    struct mail_url u = parse_ok("pop3s://host");
    cr_assert_eq(u.proto, SESSION_POP3);
    cr_assert(u.implicit_tls);
    cr_assert_eq(u.port, 995);
    u = parse_ok("pop://host");
    cr_assert_eq(u.proto, SESSION_POP3);
    cr_assert_not(u.implicit_tls);
    cr_assert_eq(u.port, 110);
    u = parse_ok("pops://host");
    cr_assert_eq(u.proto, SESSION_POP3);
    cr_assert(u.implicit_tls);
    cr_assert_eq(u.port, 995);
}

Test(url, scheme_is_case_insensitive)
{
    struct mail_url u = parse_ok("IMAPS://Host.Example.COM");
    cr_assert_eq(u.proto, SESSION_IMAP);
    cr_assert(u.implicit_tls);
    cr_assert_str_eq(u.scheme, "imaps");
    cr_assert_eq(u.port, 993);
    cr_assert_str_eq(u.host, "Host.Example.COM");
    u = parse_ok("Pop3://h");
    cr_assert_eq(u.proto, SESSION_POP3);
}

Test(url, percent_encoded_user)
{
    struct mail_url u = parse_ok("imaps://alice%40example.com@mail.example.com:993");
    cr_assert_str_eq(u.user, "alice@example.com");
    cr_assert_str_eq(u.host, "mail.example.com");
    cr_assert_eq(u.port, 993);
    u = parse_ok("imap://a%2fb%2Bc@h");
    cr_assert_str_eq(u.user, "a/b+c");
}

Test(url, bad_percent_encoding_refused)
{
    parse_bad("imap://alice%4@h", "percent");
    parse_bad("imap://alice%@h", "percent");
    parse_bad("imap://alice%zz@h", "percent");
    parse_bad("imap://a%00b@h", "percent");
}

Test(url, ipv6_literal)
{
    struct mail_url u = parse_ok("imap://[::1]:143");
    cr_assert_str_eq(u.host, "::1");
    cr_assert_eq(u.port, 143);
    u = parse_ok("imaps://bob@[2001:db8::25]");
    cr_assert_str_eq(u.user, "bob");
    cr_assert_str_eq(u.host, "2001:db8::25");
    cr_assert_eq(u.port, 993);
    parse_bad("imap://[::1", NULL);
    parse_bad("imap://[::1]x", NULL);
    parse_bad("imap://[]", "host");
    parse_bad("imap://[::1]:", "port");
}

Test(url, bad_ports_refused)
{
    parse_bad("imap://host:0", "port");
    parse_bad("imap://host:65536", "port");
    parse_bad("imap://host:abc", "port");
    parse_bad("imap://host:", "port");
    parse_bad("imap://host:-1", "port");
    parse_bad("imap://host:+143", "port");
    parse_bad("imap://host:1000000", "port");
    parse_bad("imap://host:99999999999999999999", "port");
    parse_bad("imap://host:143:143", "port");
    struct mail_url u = parse_ok("imap://host:65535");
    cr_assert_eq(u.port, 65535);
    u = parse_ok("imap://host:1");
    cr_assert_eq(u.port, 1);
}

Test(url, password_refused)
{
    parse_bad("imap://a:b@h", "--password-env");
    parse_bad("pop3s://alice:secret@mail.example.com:995", "--password-env");
    parse_bad("imap://a:@h", "--password-env");
}

Test(url, path_and_query_refused)
{
    parse_bad("imap://host/INBOX", "path");
    parse_bad("imap://host:143/INBOX", "path");
    parse_bad("imap://host//", "path");
    parse_bad("imap://host?x=1", "query");
    parse_bad("imap://host#frag", NULL);
}

Test(url, trailing_slash_accepted)
{
    struct mail_url u = parse_ok("imap://host/");
    cr_assert_str_eq(u.host, "host");
    u = parse_ok("imaps://alice@host:1993/");
    cr_assert_str_eq(u.user, "alice");
    cr_assert_str_eq(u.host, "host");
    cr_assert_eq(u.port, 1993);
}

Test(url, empty_host_refused)
{
    parse_bad("imap://", "host");
    parse_bad("imap:///", "host");
    parse_bad("imap://alice@", "host");
    parse_bad("imap://:143", "host");
    parse_bad("imap://alice@:143", "host");
}

Test(url, other_schemes_refused)
{
    parse_bad("http://host", "imap://");
    parse_bad("smtp://host", "imap://");
    parse_bad("imapx://host", "imap://");
    parse_bad("host", "imap://");
    parse_bad("imap:host", "imap://");
    parse_bad("", "imap://");
    parse_bad("://host", "imap://");
}

Test(url, host_with_bad_characters_refused)
{
    parse_bad("imap://my host", "host");
    parse_bad("imap://host\r\n", "host");
    parse_bad("imap://ho\x1bst", "host");
    parse_bad("imap://ho\tst", "host");
    parse_bad("imap://h\xc3\xa9", "host");
    parse_bad("imap://[::1 ]", "host");
    parse_bad("imap://a\"b", "host");
}

Test(url, last_at_separates_user)
{
    struct mail_url u = parse_ok("imap://alice@example.com@mail.example.com");
    cr_assert_str_eq(u.user, "alice@example.com");
    cr_assert_str_eq(u.host, "mail.example.com");
}

Test(url, long_user_and_host_refused_not_overflowed)
{
    char s[700];
    memset(s, 0, sizeof s);
    strcpy(s, "imap://");
    memset(s + 7, 'u', 300);
    strcpy(s + 307, "@h");
    parse_bad(s, NULL);
    memset(s + 7, 'h', 300);
    s[307] = 0;
    parse_bad(s, NULL);
    /* 255 bytes still fit. */
    s[7 + 255] = 0;
    struct mail_url u = parse_ok(s);
    cr_assert_eq(strlen(u.host), 255);
}

/* Regression: percent-decoding let CR, LF and other control characters into
 * the user name, and "USER <user>" went out verbatim, so
 * pop3://alice%0D%0ADELE%201@host injected a second command. */
Test(url, control_characters_in_user_refused)
{
    parse_bad("pop3://alice%0D%0ADELE%201@host", NULL);
    parse_bad("imap://a%0Ab@host", NULL);
    parse_bad("imap://a%1Bb@host", NULL);
}
