/* fuzz_common — small helpers shared by the libFuzzer targets in tests/fuzz.
 * Header-only (static functions) so each target builds from its own .c file
 * plus the net/ or src/ sources it exercises, without CMake. */
#ifndef MAILSCOPE_FUZZ_COMMON_H
#define MAILSCOPE_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failed check is a crash, so libFuzzer saves the input that caused it. */
#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* xorshift32: the split pattern is a function of the input, so a crash
 * replays exactly. */
static inline uint32_t fuzz_rand(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* An exactly sized heap copy, so ASan sees any read past n. */
static inline uint8_t *fuzz_dup(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    FUZZ_CHECK(d != NULL);
    if (n)
        memcpy(d, p, n);
    return d;
}

/* A growing byte log: two runs that must agree write the same log. */
struct fuzz_log {
    uint8_t *p;
    size_t len, cap;
};

static inline void log_put(struct fuzz_log *l, const void *p, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 256;
        while (cap < l->len + n)
            cap *= 2;
        l->p = realloc(l->p, cap);
        FUZZ_CHECK(l->p != NULL);
        l->cap = cap;
    }
    if (n)
        memcpy(l->p + l->len, p, n);
    l->len += n;
}

static inline void log_u64(struct fuzz_log *l, uint64_t v) { log_put(l, &v, sizeof v); }
static inline void log_byte(struct fuzz_log *l, uint8_t b) { log_put(l, &b, 1); }

static inline bool log_equal(const struct fuzz_log *a, const struct fuzz_log *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static inline void log_free(struct fuzz_log *l)
{
    free(l->p);
    memset(l, 0, sizeof *l);
}

/* The pointer range [q, q+qn) lies inside [p, p+n]. */
static inline bool fuzz_inside(const void *p, size_t n, const void *q, size_t qn)
{
    const char *a = p, *b = q;
    return b >= a && b <= a + n && qn <= (size_t)(a + n - b);
}

#endif
