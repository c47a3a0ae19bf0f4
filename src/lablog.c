/* lablog — see lablog.h. */
#include "lablog.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct lablog {
    FILE *f[LABLOG_NFILES];
    char path[LABLOG_NFILES][700];
    unsigned errors;
};

static const char *const prefixes[LABLOG_NFILES] = { "IMAP4", "IMAP4BE", "POP3", "POP3BE" };

static void now_iso(char *out, size_t outlen)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%.24s.%03dZ", base, (int)(tv.tv_usec / 1000) % 1000);
}

static FILE *open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "a");
    if (!f)
        close(fd);
    return f;
}

struct lablog *lablog_open(const char *dir, char *err, size_t errlen)
{
    struct lablog *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char day[16];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y%m%d", &tm);
    for (int i = 0; i < LABLOG_NFILES; i++) {
        const char *sub = i < LABLOG_POP3 ? "Imap4" : "Pop3";
        char d[600];
        snprintf(d, sizeof d, "%s/%s", dir, sub);
        if (mkdir(d, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "lab: cannot create %s: %s", d, strerror(errno));
            lablog_close(l);
            return NULL;
        }
        snprintf(l->path[i], sizeof l->path[i], "%s/%s%s-1.LOG", d, prefixes[i], day);
        struct stat st;
        bool fresh = stat(l->path[i], &st) < 0 || st.st_size == 0;
        l->f[i] = open_append(l->path[i]);
        if (!l->f[i]) {
            snprintf(err, errlen, "lab: cannot write %s: %s", l->path[i], strerror(errno));
            lablog_close(l);
            return NULL;
        }
        if (fresh) {
            char date[40];
            now_iso(date, sizeof date);
            fprintf(l->f[i],
                    "#Software: Microsoft Exchange Server\r\n"
                    "#Version: 15.0.0.0\r\n"
                    "#Log-type: %s Log\r\n"
                    "#Date: %s\r\n"
                    "#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,"
                    "command,parameters,context\r\n",
                    i < LABLOG_POP3 ? "IMAP4" : "POP3", date);
            fflush(l->f[i]);
        }
    }
    return l;
}

void lablog_close(struct lablog *l)
{
    if (!l)
        return;
    for (int i = 0; i < LABLOG_NFILES; i++)
        if (l->f[i])
            fclose(l->f[i]);
    free(l);
}

const char *lablog_path(const struct lablog *l, enum lablog_file f)
{
    return l && f < LABLOG_NFILES ? l->path[f] : "";
}

char *lablog_csv_field(const char *in, char *out, size_t outlen)
{
    if (!outlen)
        return out;
    in = in ? in : "";
    bool quote = strpbrk(in, ",\"\r\n") != NULL;
    size_t o = 0;
    if (quote && o + 1 < outlen)
        out[o++] = '"';
    for (const char *p = in; *p && o + 3 < outlen; p++) {
        if (*p == '"')
            out[o++] = '"';
        out[o++] = *p;
    }
    if (quote && o + 1 < outlen)
        out[o++] = '"';
    out[o] = '\0';
    return out;
}

void lablog_write(struct lablog *l, enum lablog_file f, const struct lablog_row *r)
{
    if (!l || f >= LABLOG_NFILES || !l->f[f])
        return;
    char when[40], user[512], params[1200], ctx[2400];
    now_iso(when, sizeof when);
    int n = fprintf(l->f[f], "%s,%016llX,%u,%s,%s,%s,", when, (unsigned long long)r->session,
                    r->seq, r->sip ? r->sip : "", r->cip ? r->cip : "",
                    lablog_csv_field(r->user, user, sizeof user));
    /* OpenSession/CloseSession rows leave duration and sizes empty, as Exchange does. */
    if (r->command && (!strcmp(r->command, "OpenSession") || !strcmp(r->command, "CloseSession")))
        n = n < 0 ? n : fprintf(l->f[f], ",,,");
    else
        n = n < 0 ? n : fprintf(l->f[f], "%ld,%zu,%zu,", r->duration_ms, r->rqsize, r->rpsize);
    n = n < 0 ? n : fprintf(l->f[f], "%s,%s,%s\r\n", r->command ? r->command : "",
                            lablog_csv_field(r->parameters, params, sizeof params),
                            lablog_csv_field(r->context, ctx, sizeof ctx));
    if (n < 0 || fflush(l->f[f]) != 0)
        l->errors++;
}
