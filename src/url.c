#include "url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct { const char *scheme; enum session_proto proto; bool tls; unsigned port; }
schemes[] = {
    { "imap", SESSION_IMAP, false, 143 }, { "imaps", SESSION_IMAP, true, 993 },
    { "pop3", SESSION_POP3, false, 110 }, { "pop3s", SESSION_POP3, true, 995 },
    { "pop", SESSION_POP3, false, 110 },  { "pops", SESSION_POP3, true, 995 },
};

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

static int percent_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || o + 1 >= cap)
            return -1;   /* a control character in a user name would split a command */
        out[o++] = (char)c;
    }
    out[o] = 0;
    return 0;
}

static int parse_scheme(const char *s, struct mail_url *u, const char **rest)
{
    const char *sep = strstr(s, "://");
    if (!sep)
        return -1;
    size_t n = (size_t)(sep - s);
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        if (strlen(schemes[i].scheme) == n && strncasecmp(s, schemes[i].scheme, n) == 0) {
            u->proto = schemes[i].proto;
            u->implicit_tls = schemes[i].tls;
            u->port = schemes[i].port;
            snprintf(u->scheme, sizeof u->scheme, "%s", schemes[i].scheme);
            *rest = sep + 3;
            return 0;
        }
    }
    return -1;
}

static int parse_port(const char *p, const char *end, unsigned *port)
{
    if (p == end || end - p > 5)
        return -1;
    unsigned v = 0;
    for (; p < end; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

static int parse_hostport(const char *h, const char *end, struct mail_url *u, char *err,
                          size_t errlen)
{
    const char *host = h, *host_end, *colon = NULL;
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close) {
            snprintf(err, errlen, "unclosed [ in the address");
            return -1;
        }
        host = h + 1;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':') {
                snprintf(err, errlen, "unexpected text after the IPv6 address");
                return -1;
            }
            colon = close + 1;
        }
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        host_end = colon ? colon : end;
    }
    if (host_end == host || (size_t)(host_end - host) >= sizeof u->host) {
        snprintf(err, errlen, "the URL has no host");
        return -1;
    }
    memcpy(u->host, host, (size_t)(host_end - host));
    u->host[host_end - host] = 0;
    for (const char *c = u->host; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr(".-_:%", *c)) {
            snprintf(err, errlen, "the host name contains a character hosts cannot have");
            return -1;
        }
    if (colon && parse_port(colon + 1, end, &u->port) < 0) {
        snprintf(err, errlen, "the port must be a number from 1 to 65535");
        return -1;
    }
    return 0;
}

int url_parse(const char *s, struct mail_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    const char *rest;
    if (parse_scheme(s, u, &rest) < 0) {
        snprintf(err, errlen, "the URL must start with imap://, imaps://, pop3:// or pop3s://");
        return -1;
    }
    const char *end = rest + strcspn(rest, "/?#");
    if (*end && strcmp(end, "/") != 0) {
        snprintf(err, errlen, "the URL must not have a path or query (only scheme://[user@]host[:port])");
        return -1;
    }
    const char *at = NULL;
    for (const char *p = rest; p < end; p++)
        if (*p == '@')
            at = p;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon) {
            snprintf(err, errlen, "passwords are never taken from the command line: use "
                     "--password-env or --password-file");
            return -1;
        }
        if (percent_decode(rest, (size_t)(at - rest), u->user, sizeof u->user) < 0) {
            snprintf(err, errlen, "the user name in the URL is not valid percent-encoding "
                     "or contains a control character");
            return -1;
        }
        rest = at + 1;
    }
    return parse_hostport(rest, end, u, err, errlen);
}
