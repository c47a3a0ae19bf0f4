/* fuzz_imap — libFuzzer target for net/imap.c.
 * The server's bytes are framed twice: all at once and split at points
 * chosen by the input (as TCP may deliver them). The resumable framer must
 * produce the same lines and the same literal bytes both ways, never read
 * past what it was given, and never accept a line over max_line. Every line
 * goes through imap_parse_response, and a string from the input through
 * imap_astring, each checked against its contract.
 * Input: byte 0 picks max_line, bytes 1..3 seed the split, the rest is the
 * stream (also the astring argument, up to its first NUL). */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "imap.h"

struct feed {
    struct imap_framer f;
    uint8_t *pending;          /* received, not yet consumed */
    size_t npending;
    struct fuzz_log log;
    struct fuzz_log literal;   /* the literal bytes of the current run */
    bool failed;
};

static void check_parse(const uint8_t *line, size_t len)
{
    uint8_t *copy = fuzz_dup(line, len);
    const char *s = (const char *)copy;
    struct imap_response r;
    int rc = imap_parse_response(s, len, &r);
    FUZZ_CHECK((rc == -1) == (r.kind == IMAP_GARBAGE));
    FUZZ_CHECK(r.kind <= IMAP_GARBAGE && r.status <= IMAP_ST_BYE);
    FUZZ_CHECK(strnlen(r.tag, sizeof r.tag) < sizeof r.tag);
    FUZZ_CHECK(strnlen(r.keyword, sizeof r.keyword) < sizeof r.keyword);
    FUZZ_CHECK(strnlen(r.code, sizeof r.code) < sizeof r.code);
    FUZZ_CHECK(r.text != NULL && fuzz_inside(s, len, r.text, r.text_len));
    FUZZ_CHECK(!r.code_arg || fuzz_inside(s, len, r.code_arg, r.code_arg_len));
    if (r.kind == IMAP_TAGGED) {
        size_t t = strlen(r.tag);
        FUZZ_CHECK(t > 0 && t < len && memcmp(r.tag, s, t) == 0 && s[t] == ' ');
        FUZZ_CHECK(r.status == IMAP_ST_OK || r.status == IMAP_ST_NO || r.status == IMAP_ST_BAD);
    }
    if (r.kind == IMAP_CONTINUATION)
        FUZZ_CHECK(len >= 1 && s[0] == '+');
    if (r.kind == IMAP_UNTAGGED)
        FUZZ_CHECK(len >= 2 && s[0] == '*' && s[1] == ' ');
    (void)imap_status_name(r.status);
    free(copy);
}

static void flush_literal(struct feed *fd)
{
    if (!fd->literal.len)
        return;
    log_byte(&fd->log, 'B');
    log_u64(&fd->log, fd->literal.len);
    log_put(&fd->log, fd->literal.p, fd->literal.len);
    fd->literal.len = 0;
}

/* Checks one frame the framer returned for buf[0..n) and logs it. */
static void take_frame(struct feed *fd, const struct imap_frame *fr, const uint8_t *buf,
                       size_t n, uint64_t left_before)
{
    FUZZ_CHECK(fr->consumed > 0 && fr->consumed <= n);
    FUZZ_CHECK(fuzz_inside(buf, fr->consumed, fr->data, fr->len));
    if (fr->type == IMAP_FRAME_LITERAL) {
        FUZZ_CHECK(left_before > 0 && fr->len == fr->consumed);
        FUZZ_CHECK(fr->literal_left == left_before - fr->len);
        log_put(&fd->literal, fr->data, fr->len);
        return;
    }
    FUZZ_CHECK(left_before == 0);
    FUZZ_CHECK(fr->len <= fd->f.max_line);
    FUZZ_CHECK(!memchr(fr->data, '\n', fr->len));
    FUZZ_CHECK(fr->consumed == fr->len + 1
               || (fr->consumed == fr->len + 2 && buf[fr->len] == '\r'));
    FUZZ_CHECK(fd->f.mid_response == !fr->ends_response);
    FUZZ_CHECK(fd->f.literal_left == fr->literal_size);
    check_parse(fr->data, fr->len);
    flush_literal(fd);
    log_byte(&fd->log, 'L');
    log_byte(&fd->log, (uint8_t)(fr->starts_response | fr->ends_response << 1));
    log_u64(&fd->log, fr->literal_size);
    log_u64(&fd->log, fr->len);
    log_put(&fd->log, fr->data, fr->len);
}

/* New bytes arrive: frame until the framer needs more (or fails). */
static void feed(struct feed *fd, const uint8_t *bytes, size_t n)
{
    if (fd->failed)
        return;
    fd->pending = realloc(fd->pending, fd->npending + n + 1);
    FUZZ_CHECK(fd->pending != NULL);
    memcpy(fd->pending + fd->npending, bytes, n);
    fd->npending += n;
    while (!fd->failed) {
        uint8_t *buf = fuzz_dup(fd->pending, fd->npending);
        uint64_t left_before = fd->f.literal_left;
        struct imap_frame fr;
        imap_frame_next(&fd->f, buf, fd->npending, &fr);
        if (fr.type == IMAP_FRAME_NEED_MORE) {
            FUZZ_CHECK(fr.consumed == 0 && fd->f.literal_left == left_before);
            free(buf);
            return;
        }
        if (fr.type == IMAP_FRAME_ERROR) {
            FUZZ_CHECK(fr.error[0] != 0 && strnlen(fr.error, sizeof fr.error) < sizeof fr.error);
            flush_literal(fd);
            log_byte(&fd->log, 'E');
            fd->failed = true;
        } else {
            take_frame(fd, &fr, buf, fd->npending, left_before);
            memmove(fd->pending, fd->pending + fr.consumed, fd->npending - fr.consumed);
            fd->npending -= fr.consumed;
        }
        free(buf);
    }
}

static void finish(struct feed *fd)
{
    flush_literal(fd);
    log_byte(&fd->log, 'P');
    log_u64(&fd->log, fd->failed ? 0 : fd->npending);
    free(fd->pending);
    log_free(&fd->literal);
}

static size_t pick_max_line(uint8_t b)
{
    switch (b & 3) {
    case 0: return 0;   /* the default, 1 MiB */
    case 1: return 16;
    case 2: return 64;
    default: return 1 + (b >> 2);
    }
}

static void check_astring(const uint8_t *data, size_t n, uint8_t knob)
{
    size_t len = strnlen((const char *)data, n);
    char *s = malloc(len + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, len);
    s[len] = 0;
    size_t caps[] = { 1 + knob % 8, 1 + knob, 2 * len + 16 };
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
        char *out = malloc(caps[i]);
        FUZZ_CHECK(out != NULL);
        bool literal = false;
        int w = imap_astring(s, knob & 1, out, caps[i], &literal);
        if (w >= 0) {
            FUZZ_CHECK((size_t)w < caps[i] && strlen(out) == (size_t)w);
            if (literal) {
                char want[32];
                snprintf(want, sizeof want, "{%zu%s}", len, knob & 1 ? "+" : "");
                FUZZ_CHECK(strcmp(out, want) == 0);
            } else if (out[0] == '"') {
                /* Unquoting gives back the input exactly. */
                size_t o = 0;
                FUZZ_CHECK(w >= 2 && out[w - 1] == '"');
                for (int k = 1; k < w - 1; k++) {
                    if (out[k] == '\\')
                        k++;
                    FUZZ_CHECK(k < w - 1 && o < len && out[k] == s[o]);
                    o++;
                }
                FUZZ_CHECK(o == len);
            } else {
                FUZZ_CHECK(strcmp(out, s) == 0 && len > 0);
            }
        } else {
            FUZZ_CHECK(caps[i] < 2 * len + 16);   /* only a small buffer may refuse */
        }
        free(out);
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t max_line = pick_max_line(data[0]);
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16;
    const uint8_t *stream = data + 4;
    size_t n = size - 4;

    struct feed whole = { 0 }, split = { 0 };
    imap_framer_init(&whole.f, max_line);
    imap_framer_init(&split.f, max_line);
    feed(&whole, stream, n);
    for (size_t off = 0; off < n;) {
        size_t chunk = 1 + fuzz_rand(&seed) % (seed & 0x100 ? 3 : 64);
        if (chunk > n - off)
            chunk = n - off;
        feed(&split, stream + off, chunk);
        off += chunk;
    }
    finish(&whole);
    finish(&split);
    FUZZ_CHECK(log_equal(&whole.log, &split.log));
    log_free(&whole.log);
    log_free(&split.log);

    check_astring(stream, n, data[1]);
    return 0;
}
