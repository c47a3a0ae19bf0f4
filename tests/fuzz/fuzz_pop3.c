/* fuzz_pop3 — libFuzzer target for net/pop3.c.
 * The server's bytes are framed twice, all at once and split at points the
 * input chooses, switching to multi-line mode the way the session does
 * (after a +OK to a command that opens a listing, picked from the input):
 * both ways must give the same frames. Each frame is checked (bounds,
 * dot-unstuffing, the "." terminator), each line goes through
 * pop3_parse_status and pop3_apop_timestamp.
 * Input: byte 0 picks max_line and which replies open a listing, bytes
 * 1..3 seed the split, the rest is the stream. */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "pop3.h"

struct feed {
    struct pop3_framer f;
    uint8_t *pending;
    size_t npending;
    size_t nlines;             /* status lines seen: decides which open a listing */
    uint8_t listing_mask;
    struct fuzz_log log;
    bool failed;
};

static void check_status(const uint8_t *line, size_t len)
{
    uint8_t *copy = fuzz_dup(line, len);
    const char *s = (const char *)copy;
    struct pop3_status_line st;
    pop3_parse_status(s, len, &st);
    FUZZ_CHECK(st.status <= POP3_ST_CONT);
    FUZZ_CHECK(strnlen(st.code, sizeof st.code) < sizeof st.code);
    FUZZ_CHECK(st.text != NULL && fuzz_inside(s, len, st.text, st.text_len));
    if (st.status == POP3_ST_OK)
        FUZZ_CHECK(len >= 3 && s[0] == '+');
    if (st.status == POP3_ST_ERR)
        FUZZ_CHECK(len >= 4 && s[0] == '-');
    if (st.status == POP3_ST_GARBAGE)
        FUZZ_CHECK(st.text == s && st.text_len == len && !st.code[0]);
    size_t caps[] = { 1, 8, 256 };
    for (size_t i = 0; i < 3; i++) {
        char *out = malloc(caps[i]);
        FUZZ_CHECK(out != NULL);
        if (pop3_apop_timestamp(s, len, out, caps[i])) {
            size_t n = strnlen(out, caps[i]);
            FUZZ_CHECK(n < caps[i] && n >= 3 && out[0] == '<' && out[n - 1] == '>');
            FUZZ_CHECK(memchr(out, '@', n) != NULL && memmem(s, len, out, n) != NULL);
            for (size_t k = 0; k < n; k++)
                FUZZ_CHECK(out[k] > 0x20 && out[k] < 0x7f);
        }
        free(out);
    }
    free(copy);
}

static void take_frame(struct feed *fd, const struct pop3_frame *fr, const uint8_t *buf, size_t n,
                       bool was_multiline)
{
    FUZZ_CHECK(fr->consumed > 0 && fr->consumed <= n);
    FUZZ_CHECK(fuzz_inside(buf, fr->consumed, fr->data, fr->len));
    FUZZ_CHECK(fr->len <= fd->f.max_line && !memchr(fr->data, '\n', fr->len));
    size_t raw = fr->len + (fr->unstuffed ? 1 : 0);
    FUZZ_CHECK(fr->consumed == raw + 1 || (fr->consumed == raw + 2 && buf[raw] == '\r'));
    switch (fr->type) {
    case POP3_FRAME_LINE:
        FUZZ_CHECK(!was_multiline && !fr->unstuffed);
        check_status(fr->data, fr->len);
        /* As the session does: a +OK to CAPA, LIST, RETR... opens a listing. */
        struct pop3_status_line st;
        pop3_parse_status((const char *)fr->data, fr->len, &st);
        if (st.status == POP3_ST_OK && (fd->listing_mask >> (fd->nlines++ % 8) & 1))
            fd->f.multiline = true;
        break;
    case POP3_FRAME_DATA:
        FUZZ_CHECK(was_multiline && fd->f.multiline);
        FUZZ_CHECK(fr->unstuffed == (buf[0] == '.') && (!fr->unstuffed || fr->data == buf + 1));
        FUZZ_CHECK(!(buf[0] == '.' && fr->len == 0));   /* "." alone ends, never data */
        check_status(fr->data, fr->len);
        break;
    case POP3_FRAME_END:
        FUZZ_CHECK(was_multiline && !fd->f.multiline && fr->len == 1 && buf[0] == '.');
        break;
    default:
        FUZZ_CHECK(0);
    }
    log_byte(&fd->log, (uint8_t)fr->type);
    log_byte(&fd->log, fr->unstuffed);
    log_u64(&fd->log, fr->len);
    log_put(&fd->log, fr->data, fr->len);
}

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
        bool was_multiline = fd->f.multiline;
        struct pop3_frame fr;
        pop3_frame_next(&fd->f, buf, fd->npending, &fr);
        if (fr.type == POP3_FRAME_NEED_MORE) {
            FUZZ_CHECK(fr.consumed == 0 && fd->f.multiline == was_multiline);
            free(buf);
            return;
        }
        if (fr.type == POP3_FRAME_ERROR) {
            FUZZ_CHECK(fr.error[0] != 0 && strnlen(fr.error, sizeof fr.error) < sizeof fr.error);
            log_byte(&fd->log, 'E');
            fd->failed = true;
        } else {
            take_frame(fd, &fr, buf, fd->npending, was_multiline);
            memmove(fd->pending, fd->pending + fr.consumed, fd->npending - fr.consumed);
            fd->npending -= fr.consumed;
        }
        free(buf);
    }
}

static void finish(struct feed *fd)
{
    log_byte(&fd->log, 'P');
    log_u64(&fd->log, fd->failed ? 0 : fd->npending);
    free(fd->pending);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t max_line = (data[0] & 3) == 0 ? 0 : (data[0] & 3) == 1 ? 8 : 1 + (data[0] >> 2);
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16;
    const uint8_t *stream = data + 4;
    size_t n = size - 4;
    uint8_t mask = (uint8_t)(data[1] ^ data[0] >> 1);

    struct feed whole = { .listing_mask = mask }, split = { .listing_mask = mask };
    pop3_framer_init(&whole.f, max_line);
    pop3_framer_init(&split.f, max_line);
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
    return 0;
}
