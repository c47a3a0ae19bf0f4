#include "redact.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void redact_init(struct redact *r, bool on, const char *user)
{
    memset(r, 0, sizeof *r);
    r->user = on;
    if (!on || !user || strlen(user) >= sizeof r->name)
        return;
    snprintf(r->name, sizeof r->name, "%s", user);
    EVP_EncodeBlock((unsigned char *)r->name_b64, (const unsigned char *)r->name,
                    (int)strlen(r->name));
}

const char *redact_what(const struct redact *r)
{
    return r->user ? "passwords, SASL payloads, user names" : "passwords, SASL payloads";
}

const char *redact_url(const char *url, bool on, char *buf, size_t n)
{
    const char *auth = url ? strstr(url, "://") : NULL;
    if (!on || !auth) {
        snprintf(buf, n, "%s", url ? url : "");
        return buf;
    }
    auth += 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            at = p;
    if (!at)
        snprintf(buf, n, "%s", url);
    else
        snprintf(buf, n, "%.*s%s%s", (int)(auth - url), url, SESSION_USER_MARK, at);
    return buf;
}

/* Too short a name cannot be told from ordinary text (the engine's rule too). */
static bool scrubbable(const char *needle) { return strlen(needle) >= 3; }

static size_t count(const char *hay, size_t len, const char *needle)
{
    size_t nl = strlen(needle), c = 0;
    for (size_t i = 0; scrubbable(needle) && i + nl <= len; i++)
        if (!memcmp(hay + i, needle, nl)) {
            c++;
            i += nl - 1;
        }
    return c;
}

static char *replace(const char *in, size_t len, const char *needle, size_t *out_len)
{
    size_t nl = strlen(needle), ml = strlen(SESSION_USER_MARK);
    size_t c = count(in, len, needle);
    char *out = malloc(len + c * ml + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (c && i + nl <= len && !memcmp(in + i, needle, nl)) {
            memcpy(out + o, SESSION_USER_MARK, ml);
            o += ml;
            i += nl;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

char *redact_scrub(const struct redact *r, const void *data, size_t len, size_t *out_len)
{
    size_t n1;
    char *a = replace(data, len, r->user ? r->name : "", &n1);
    if (!a || !r->user) {
        *out_len = n1;
        return a;
    }
    char *b = replace(a, n1, r->name_b64, out_len);
    free(a);
    return b;
}

static void scrub_string(const struct redact *r, json_t *v)
{
    size_t n;
    char *c = redact_scrub(r, json_string_value(v), json_string_length(v), &n);
    if (c)
        json_string_setn(v, c, n);
    free(c);
}

void redact_scrub_json(const struct redact *r, json_t *doc)
{
    if (!r->user || !r->name[0])
        return;
    if (json_is_string(doc)) {
        scrub_string(r, doc);
    } else if (json_is_object(doc)) {
        const char *k;
        json_t *v;
        json_object_foreach(doc, k, v)
            redact_scrub_json(r, v);
    } else if (json_is_array(doc)) {
        for (size_t i = 0; i < json_array_size(doc); i++)
            redact_scrub_json(r, json_array_get(doc, i));
    }
}
