/* certnames — certificate-name facts for the diagnosis rules. */
#include "certnames.h"

#include "fingerprint.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void certnames_facts(const struct tls_info *tls, const char *server_name, const char *source,
                     struct certnames *out)
{
    memset(out, 0, sizeof *out);
    out->checked_name = "";
    out->server_name_match = -1;
    if (server_name && *server_name) {
        snprintf(out->server_name, sizeof out->server_name, "%s", server_name);
        out->server_name_source = source;
    }
    if (!tls || !tls->n_chain)
        return;
    const struct cert_info *leaf = &tls->chain[0];
    out->subject_cn = leaf->subject_cn;
    for (size_t i = 0; i < leaf->n_san; i++) {
        if (strncmp(leaf->san[i], "DNS:", 4) == 0)
            out->dns[out->n_dns++] = leaf->san[i] + 4;
        else if (strncmp(leaf->san[i], "IP:", 3) == 0)
            out->ip[out->n_ip++] = leaf->san[i] + 3;
    }
    out->checked_name = tls->name_checked;
    out->checked_match = tls->hostname_match;
    out->checked_by = hostmatch_cert(leaf, tls->name_checked, &out->checked_matched);
    if (out->server_name[0]) {
        out->server_by = hostmatch_cert(leaf, out->server_name, &out->server_matched);
        out->server_name_match = out->server_by != HOSTMATCH_NONE;
    }
}

/* ---- what a greeting reveals ------------------------------------------ */

/* A fully qualified host name: letters, digits, '-' and '.'; two labels or
 * more; a last label of letters (so no version number or address). */
static bool looks_like_fqdn(const char *s, size_t n)
{
    if (n < 4 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
        return false;
    size_t dots = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return false;
            dots++;
            last = i + 1;
        } else if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
            return false;
        }
    }
    if (!dots || n - last < 2)
        return false;
    for (size_t i = last; i < n; i++)
        if (!isalpha((unsigned char)s[i]))
            return false;
    return true;
}

static int copy_name(const char *s, size_t n, char *out, size_t outlen)
{
    if (!looks_like_fqdn(s, n) || n >= outlen)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* Exchange Online's blob, decoded once for everybody by fingerprint. */
static int exchange_blob(const char *g, char *out, size_t outlen)
{
    char name[256];
    if (!fingerprint_exchange_blob(g, name, sizeof name))
        return -1;
    return copy_name(name, strlen(name), out, outlen);
}

/* "(host.example.com)" anywhere, as Exchange 2003 says it. */
static int parenthesised(const char *g, char *out, size_t outlen)
{
    for (const char *p = strchr(g, '('); p; p = strchr(p + 1, '(')) {
        const char *end = strchr(p, ')');
        if (end && copy_name(p + 1, (size_t)(end - p - 1), out, outlen) == 0)
            return 0;
    }
    return -1;
}

/* The first word after the status (and a [CAPABILITY ...] code). */
static int first_word(const char *g, char *out, size_t outlen)
{
    const char *p = !strncmp(g, "* OK ", 5) ? g + 5 : !strncmp(g, "+OK ", 4) ? g + 4 : NULL;
    if (!p)
        return -1;
    if (*p == '[') {
        p = strchr(p, ']');
        if (!p)
            return -1;
        p++;
    }
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, " ");
    return copy_name(p, n, out, outlen);
}

int certnames_greeting_host(const char *greeting, char *out, size_t outlen)
{
    if (!greeting || !outlen)
        return -1;
    out[0] = '\0';
    if (exchange_blob(greeting, out, outlen) == 0 || parenthesised(greeting, out, outlen) == 0
        || first_word(greeting, out, outlen) == 0)
        return 0;
    out[0] = '\0';
    return -1;
}

const char *certnames_server_name(const char *greeting, const struct ntlm_challenge_info *ntlm,
                                  char *out, size_t outlen)
{
    if (ntlm && ntlm->dns_computer[0]) {
        snprintf(out, outlen, "%s", ntlm->dns_computer);
        return "ntlm";
    }
    return certnames_greeting_host(greeting, out, outlen) == 0 ? "greeting" : NULL;
}
