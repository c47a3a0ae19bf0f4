/* spill — where the full bytes of large literals and bulk replies go, so the
 * transcript keeps only a summary and a preview in memory while the console's
 * literal viewer can still page through everything.
 * Contract: one temporary file per store, in $TMPDIR (else /tmp), mode 0600,
 * never linked into the file system (O_TMPFILE, else mkstemp + unlink at
 * once): it disappears with the process. Bytes are appended in order and read
 * back at any offset. Bounded: past max bytes nothing more is written (the
 * caller counts what is dropped). Errors are values with a message. */
#ifndef MAILSCOPE_SPILL_H
#define MAILSCOPE_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPILL_MAX_DEFAULT (256ull * 1024 * 1024)

struct spill {
    int fd;
    uint64_t size;          /* bytes written */
    uint64_t max;           /* bound on size */
    uint64_t dropped;       /* bytes refused by the bound or by a write error */
};

/* Open an empty store bounded by max bytes (max > 0). 0, or -1 with err. */
int spill_open(struct spill *sp, uint64_t max, char *err, size_t errlen);
/* Append up to n bytes (what fits under max); returns the bytes kept. They
 * start at the offset sp->size had before the call. */
size_t spill_append(struct spill *sp, const void *buf, size_t n);
/* Read up to n bytes at off; the count (0 at the end), or -1. */
ssize_t spill_read(const struct spill *sp, uint64_t off, void *buf, size_t n);
void spill_close(struct spill *sp);
/* "256M", "1G", "65536", "0" -> bytes. 0, or -1 when it is not a size. */
int spill_parse_size(const char *s, uint64_t *out);

#endif
