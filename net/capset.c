#include "capset.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A flood of junk must not push out what decides whether TLS or a
 * credential may go (STARTTLS, STLS, LOGINDISABLED, AUTH=..., SASL ...). */
static bool security_relevant(const char *s, size_t len)
{
    static const char *const names[] = { "STARTTLS", "STLS", "LOGINDISABLED", "SASL-IR",
                                         "LITERAL+", "USER" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == len && strncasecmp(s, names[i], len) == 0)
            return true;
    return (len > 5 && strncasecmp(s, "AUTH=", 5) == 0) ||
           (len > 5 && strncasecmp(s, "SASL ", 5) == 0);
}

static void add(struct capset *c, const char *s, size_t len)
{
    c->known = true;
    if (!len)
        return;
    if (c->n >= CAPSET_MAX && (c->n == CAPSET_MAX + CAPSET_RESERVED ||
                               !security_relevant(s, len))) {
        c->truncated = true;
        return;
    }
    if (len > CAPSET_MAX_LEN) {
        len = CAPSET_MAX_LEN;
        c->truncated = true;
    }
    char *p = malloc(len + 1);
    if (!p)
        return;
    memcpy(p, s, len);
    p[len] = 0;
    c->item[c->n++] = p;
}

void capset_add_atoms(struct capset *c, const char *s, size_t len)
{
    c->known = true;
    size_t i = 0;
    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        size_t start = i;
        while (i < len && s[i] != ' ')
            i++;
        if (i > start)
            add(c, s + start, i - start);
    }
}

void capset_add_line(struct capset *c, const char *s, size_t len) { add(c, s, len); }

bool capset_has(const struct capset *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcasecmp(c->item[i], name) == 0)
            return true;
    return false;
}

static bool word_in(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; *p;) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ' ');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l == wl && strncasecmp(p, word, wl) == 0)
            return true;
        p += l;
    }
    return false;
}

bool capset_has_sasl(const struct capset *c, const char *mech)
{
    for (size_t i = 0; i < c->n; i++) {
        const char *it = c->item[i];
        if (strncasecmp(it, "AUTH=", 5) == 0 && strcasecmp(it + 5, mech) == 0)
            return true;
        if (strncasecmp(it, "SASL ", 5) == 0 && word_in(it + 5, mech))
            return true;
    }
    return false;
}

void capset_clear(struct capset *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->item[i]);
    memset(c, 0, sizeof *c);
}

void capset_copy(struct capset *dst, const struct capset *src)
{
    capset_clear(dst);
    for (size_t i = 0; i < src->n; i++)
        add(dst, src->item[i], strlen(src->item[i]));
    dst->known = src->known;
    dst->truncated = src->truncated;
}
