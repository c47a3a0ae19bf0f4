/* fuzz_trjson — libFuzzer target for src/trjson.c's loader: `mailscope
 * replay` opens files that come from anyone (a ticket attachment).
 * Whatever the bytes, the loader must return (no crash, leak or hang) and:
 *  - on refusal: a message of printable UTF-8 (no control byte reaches the
 *    terminal), and nothing left in the recording;
 *  - on success: a recording within the documented bounds, whose summary is
 *    printable too, whose TLS facts the certificate checks (what the Chain
 *    tab runs) read without fault, and that the writer turns into a document the loader
 *    accepts again with the same events, facts and capabilities (a fixed
 *    point: what replay shows can be saved and shown again);
 *  - the same from a descriptor read a few bytes at a time (the streaming
 *    reader's window boundaries fall anywhere): the same answer, message
 *    and events. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "certcheck.h"
#include "fuzz_common.h"
#include "sanitize.h"
#include "trjson.h"

static void check_printable(const char *s, size_t n)
{
    FUZZ_CHECK(sanitize_is_utf8(s, n));
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(s[i] == '\n' || ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f));
}

static void check_bounds(const struct recording *r)
{
    FUZZ_CHECK(r->t.n <= TRJSON_MAX_EVENTS);
    FUZZ_CHECK(r->t.tls.n_chain <= TLS_MAX_CHAIN && r->t.tls.n_path <= TLS_MAX_CHAIN);
    FUZZ_CHECK(r->t.tls.n_first <= sizeof r->t.tls.first_bytes);
    for (size_t i = 0; i < r->t.n; i++) {
        const struct tr_event *e = &r->t.ev[i];
        FUZZ_CHECK(e->t_us >= 0 && e->t_us <= (int64_t)(TRJSON_MAX_SECONDS * 1e6) + 1);
        FUZZ_CHECK((unsigned)e->kind <= TR_WALK && (unsigned)e->op < OP_COUNT);
        FUZZ_CHECK(!e->data || e->data[e->len] == 0);
        FUZZ_CHECK(e->data || !e->len);
        if (e->kind == TR_SENT || e->kind == TR_RECEIVED || e->kind == TR_DISCARDED)
            FUZZ_CHECK(e->data != NULL);
        if (e->kind == TR_LITERAL)
            FUZZ_CHECK(e->literal_seen >= e->len);
    }
    for (int p = 0; p < CAPS_PHASES; p++)
        FUZZ_CHECK(r->caps[p].n <= CAPSET_MAX + CAPSET_RESERVED);
}

static void check_same(const struct recording *a, const struct recording *b)
{
    FUZZ_CHECK(a->t.n == b->t.n && a->t.proto == b->t.proto);
    FUZZ_CHECK(a->t.wall0.tv_sec == b->t.wall0.tv_sec);
    for (size_t i = 0; i < a->t.n; i++) {
        const struct tr_event *x = &a->t.ev[i], *y = &b->t.ev[i];
        FUZZ_CHECK(x->kind == y->kind && x->t_us == y->t_us && x->op == y->op);
        FUZZ_CHECK(x->secure == y->secure && x->ok == y->ok && x->fail == y->fail);
        FUZZ_CHECK(x->len == y->len && (!x->len || memcmp(x->data, y->data, x->len) == 0));
        FUZZ_CHECK(x->elapsed_us == y->elapsed_us);
        FUZZ_CHECK(x->literal_seen == y->literal_seen && x->literal_total == y->literal_total);
        if (x->kind == TR_STATE)
            FUZZ_CHECK(x->state == y->state);
        FUZZ_CHECK(!x->message == !y->message && (!x->message || !strcmp(x->message, y->message)));
    }
    FUZZ_CHECK(a->t.has_tls == b->t.has_tls && a->t.has_ntlm == b->t.has_ntlm);
    FUZZ_CHECK(a->t.tls.n_chain == b->t.tls.n_chain && a->t.tls.n_path == b->t.tls.n_path);
    for (size_t i = 0; i < a->t.tls.n_chain; i++)
        FUZZ_CHECK(!strcmp(a->t.tls.chain[i].sha256, b->t.tls.chain[i].sha256));
    FUZZ_CHECK(!strcmp(a->t.tls.version, b->t.tls.version));
    FUZZ_CHECK(!strcmp(a->t.ntlm.dns_computer, b->t.ntlm.dns_computer));
    for (int p = 0; p < CAPS_PHASES; p++)
        FUZZ_CHECK(a->caps[p].n == b->caps[p].n);
}

/* Write the recording (with an empty report) and load that. */
static void check_fixed_point(const struct recording *r)
{
    const struct capset *caps[CAPS_PHASES] = { &r->caps[0], &r->caps[1], &r->caps[2] };
    json_t *rep = json_object();
    json_t *doc = trjson_document(rep, &r->t, caps, NULL, NULL);
    json_decref(rep);
    FUZZ_CHECK(doc != NULL);
    char *text = json_dumps(doc, JSON_REAL_PRECISION(15));
    json_decref(doc);
    FUZZ_CHECK(text != NULL);
    struct recording again;
    char err[700];
    int rc = trjson_load_buffer(text, strlen(text), &again, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "rewritten recording refused: %s\n", err);
    FUZZ_CHECK(rc == 0);
    check_same(r, &again);
    recording_free(&again);
    free(text);
}

/* The same input through trjson_load_fd with a window of 1..16 bytes. */
static void check_through_fd(const uint8_t *data, size_t size, int rc, const char *err,
                             const struct recording *r)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("fuzz-trjson", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0 && ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        FUZZ_CHECK(n > 0);
        off += (size_t)n;
    }
    FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
    struct recording again;
    char err2[700];
    size_t window = 1 + (size ? data[size / 2] % 16 : 0);
    int rc2 = trjson_load_fd(fd, window, &again, err2, sizeof err2);
    if (rc2 != rc || (rc < 0 && strcmp(err, err2)))
        fprintf(stderr, "memory: %d %s\nfd (window %zu): %d %s\n", rc, rc < 0 ? err : "", window,
                rc2, rc2 < 0 ? err2 : "");
    FUZZ_CHECK(rc2 == rc);
    if (rc < 0)
        FUZZ_CHECK(!strcmp(err, err2));
    else
        check_same(r, &again);
    recording_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = (char *)fuzz_dup(data, size);
    struct recording r;
    char err[700];
    int rc = trjson_load_buffer(buf, size, &r, err, sizeof err);
    free(buf);
    check_through_fd(data, size, rc, err, &r);
    if (rc < 0) {
        check_printable(err, strlen(err));
        FUZZ_CHECK(r.t.n == 0 && r.n_diag == 0 && !r.t.has_tls);
        return 0;
    }
    check_bounds(&r);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    FUZZ_CHECK(f != NULL);
    recording_summary(f, &r, "fuzz.json");
    fclose(f);
    check_printable(out, len);
    free(out);
    if (r.t.has_tls) {
        struct certcheck_result cr;
        certcheck_run(&r.t.tls, r.t.wall0.tv_sec, 30, &cr);
        FUZZ_CHECK(cr.n <= sizeof cr.p / sizeof cr.p[0]);
    }
    check_fixed_point(&r);
    recording_free(&r);
    return 0;
}
