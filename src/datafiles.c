#include "datafiles.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int datafiles_load_file(const char *path, size_t max, datafiles_parse_fn parse, void *set,
                        char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        snprintf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    int rc = parse(set, path, buf, n, err, errlen);
    free(buf);
    return rc;
}

void datafiles_warn(char *warn, size_t warnlen, const char *msg)
{
    size_t n = strlen(warn);
    if (n + 2 < warnlen)
        snprintf(warn + n, warnlen - n, "%s%s", n ? "\n" : "", msg);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void datafiles_load_dir(const char *dir, const char *ext, size_t max, datafiles_parse_fn parse,
                        void *set, char *warn, size_t warnlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *names[256];
    size_t n = 0, elen = strlen(ext);
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] != '.' && l > elen && !strcmp(e->d_name + l - elen, ext))
            if ((names[n] = strdup(e->d_name)))
                n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[4096], err[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (datafiles_load_file(path, max, parse, set, err, sizeof err))
            datafiles_warn(warn, warnlen, err);
        free(names[i]);
    }
}

int datafiles_load_builtin(const struct datafiles_builtin *files, size_t n,
                           datafiles_parse_fn parse, void *set, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        char name[96];
        snprintf(name, sizeof name, "builtin:%s", files[i].name);
        if (parse(set, name, files[i].text, strlen(files[i].text), err, errlen))
            return -1;
    }
    return 0;
}

int datafiles_load_default(const struct datafiles_builtin *files, size_t n, const char *leaf,
                           const char *ext, size_t max, datafiles_parse_fn parse, void *set,
                           char *warn, size_t warnlen)
{
    if (warnlen)
        warn[0] = 0;
    if (datafiles_load_builtin(files, n, parse, set, warn, warnlen))
        return -1;
    char dir[4096];
    if (datafiles_config_dir(leaf, dir, sizeof dir))
        datafiles_load_dir(dir, ext, max, parse, set, warn, warnlen);
    return 0;
}

int datafiles_config_dir(const char *leaf, char *out, size_t cap)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, cap, "%s/mailscope/%s", xdg, leaf);
    else if (home && *home)
        snprintf(out, cap, "%s/.config/mailscope/%s", home, leaf);
    else
        return 0;
    return 1;
}

char *datafiles_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

char *datafiles_word(char **s)
{
    char *w = *s;
    while (*w == ' ' || *w == '\t')
        w++;
    if (!*w)
        return NULL;
    char *e = w;
    while (*e && *e != ' ' && *e != '\t')
        e++;
    if (*e)
        *e++ = 0;
    *s = e;
    return w;
}

bool datafiles_valid_id(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

int datafiles_fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt,
                   va_list ap)
{
    int n = snprintf(err, errlen, "%s:%zu: ", name, line);
    if (n >= 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    return -1;
}
