/* fuzz_exlog — libFuzzer target for src/exlog.c (the Exchange protocol log
 * reader). The input is read twice: from memory and through a file
 * descriptor (a memfd), and both must give the same records, line numbers
 * and malformed-line reports. Each record's fields must lie inside its line
 * (memory) and unquote within bounds; every context is walked key by key
 * and asked for its failure, whose strings must be terminated in bounds.
 * The memory read is done once more byte by byte (exlog_scalar), which must
 * agree with the vector path.
 * Input: the log's bytes as they are. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exlog.h"
#include "fuzz_common.h"

static char ctx[8192], buf[4096];

static void check_record(const struct exlog_record *rec, const uint8_t *data, size_t size,
                         bool in_mem, struct fuzz_log *log)
{
    if (in_mem)
        FUZZ_CHECK(fuzz_inside(data, size, rec->line, rec->len));
    log_u64(log, rec->lineno);
    log_u64(log, rec->len);
    log_put(log, rec->line, rec->len);
    for (int c = 0; c < EXC_COUNT; c++) {
        const struct exlog_field *f = &rec->col[c];
        if (f->n)
            FUZZ_CHECK(fuzz_inside(rec->line, rec->len, f->p, f->n));
        size_t n = exlog_unquote(f, buf, sizeof buf);
        FUZZ_CHECK(n < sizeof buf && n <= f->n && buf[n] == 0);
        log_u64(log, f->n);
    }
    size_t cn = exlog_unquote(&rec->col[EXC_CONTEXT], ctx, sizeof ctx);
    size_t pos = 0, keys = 0;
    struct exlog_kv kv;
    while (exlog_context_next(ctx, cn, &pos, &kv)) {
        FUZZ_CHECK(fuzz_inside(ctx, cn, kv.key, kv.klen));
        FUZZ_CHECK(fuzz_inside(ctx, cn, kv.val, kv.vlen));
        FUZZ_CHECK(pos <= cn);
        FUZZ_CHECK(++keys <= cn + 1);
    }
    struct exlog_failure fl;
    if (exlog_failure(rec, &fl, ctx, sizeof ctx)) {
        FUZZ_CHECK(strlen(fl.error) < sizeof fl.error && fl.error[0]);
        FUZZ_CHECK(strlen(fl.reply) < sizeof fl.reply);
        FUZZ_CHECK(strlen(fl.proxy) < sizeof fl.proxy);
        FUZZ_CHECK(strlen(fl.bracket) < sizeof fl.bracket);
        char small[40];
        exlog_failure_context(&fl, small, sizeof small);
        FUZZ_CHECK(strlen(small) < sizeof small);
        exlog_failure_context(&fl, buf, sizeof buf);
        FUZZ_CHECK(strlen(buf) < sizeof buf);
        log_put(log, fl.error, strlen(fl.error));
    }
}

static void read_all(struct exlog_reader *r, const uint8_t *data, size_t size, bool in_mem,
                     struct fuzz_log *log)
{
    struct exlog_record rec;
    int rc;
    while ((rc = exlog_next(r, &rec)) == 1)
        check_record(&rec, data, size, in_mem, log);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(r->records + r->malformed <= r->lineno);
    FUZZ_CHECK(r->n_bad <= EXLOG_MAX_BAD && r->n_bad <= r->malformed);
    log_u64(log, r->lineno);
    log_u64(log, r->records);
    log_u64(log, r->malformed);
    for (size_t i = 0; i < r->n_bad; i++) {
        log_u64(log, r->bad[i].lineno);
        log_put(log, r->bad[i].reason, strlen(r->bad[i].reason));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = fuzz_dup(data, size);
    struct fuzz_log a = { 0 }, b = { 0 }, s = { 0 };
    struct exlog_reader r;
    exlog_open_mem(&r, copy, size, EXLOG_UNKNOWN);
    read_all(&r, copy, size, true, &a);
    exlog_close(&r);
    exlog_scalar = true;
    exlog_open_mem(&r, copy, size, EXLOG_UNKNOWN);
    read_all(&r, copy, size, true, &s);
    exlog_close(&r);
    exlog_scalar = false;
    FUZZ_CHECK(log_equal(&a, &s));
    log_free(&s);

    int fd = memfd_create("exlog", 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(size == 0 || write(fd, copy, size) == (ssize_t)size);
    lseek(fd, 0, SEEK_SET);
    char path[64], err[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    FUZZ_CHECK(exlog_open(&r, path, err, sizeof err) == 0);
    read_all(&r, copy, size, false, &b);
    exlog_close(&r);
    close(fd);
    FUZZ_CHECK(log_equal(&a, &b));
    log_free(&a);
    log_free(&b);
    free(copy);
    return 0;
}
