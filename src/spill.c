#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_tmp(const char *dir, char *err, size_t errlen)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    /* A file system without O_TMPFILE: a private name, unlinked at once. */
    char path[4096];
    snprintf(path, sizeof path, "%s/mailscope-spill-XXXXXX", dir);
    mode_t old = umask(077);
    int fd2 = mkostemp(path, O_CLOEXEC);
    umask(old);
    if (fd2 < 0) {
        snprintf(err, errlen, "cannot create a temporary file in %s: %s", dir, strerror(errno));
        return -1;
    }
    unlink(path);
    return fd2;
}

int spill_open(struct spill *sp, uint64_t max, char *err, size_t errlen)
{
    memset(sp, 0, sizeof *sp);
    sp->fd = -1;
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    sp->fd = open_tmp(dir, err, errlen);
    if (sp->fd < 0)
        return -1;
    fchmod(sp->fd, 0600);
    sp->max = max;
    return 0;
}

size_t spill_append(struct spill *sp, const void *buf, size_t n)
{
    size_t room = sp->fd < 0 || sp->size >= sp->max ? 0 : (size_t)(sp->max - sp->size);
    size_t want = n < room ? n : room, done = 0;
    while (done < want) {
        ssize_t w = pwrite(sp->fd, (const char *)buf + done, want - done, (off_t)(sp->size + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            sp->max = sp->size + done;   /* the disk is full: keep what is there, no more */
            break;
        }
        done += (size_t)w;
    }
    sp->size += done;
    sp->dropped += n - done;
    return done;
}

ssize_t spill_read(const struct spill *sp, uint64_t off, void *buf, size_t n)
{
    if (sp->fd < 0 || off >= sp->size)
        return sp->fd < 0 ? -1 : 0;
    if (n > sp->size - off)
        n = (size_t)(sp->size - off);
    for (;;) {
        ssize_t r = pread(sp->fd, buf, n, (off_t)off);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

void spill_close(struct spill *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
}

int spill_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: return -1;
    }
    if (*end || v > (1ull << 40) >> shift)
        return -1;   /* at most 1 TiB */
    *out = (uint64_t)v << shift;
    return 0;
}
