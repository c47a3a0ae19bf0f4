/* Unit tests for net/imap.c: the resumable IMAP framer, the response-line
 * parser and the astring formatter. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"

/* ---- a caller of the framer ------------------------------------------ */

/* One frame as the caller saw it, data copied out of the caller's buffer. */
struct rec {
    enum imap_frame_type type;
    char data[64];
    size_t len;
    bool starts, ends;
    uint64_t literal_size, literal_left;
};

struct feeder {
    struct imap_framer f;
    uint8_t pending[512];   /* received but not yet consumed */
    size_t npending;
    struct rec recs[64];
    size_t nrecs;
    bool failed;            /* an ERROR frame was returned */
};

static void feeder_init(struct feeder *fd, size_t max_line)
{
    memset(fd, 0, sizeof *fd);
    imap_framer_init(&fd->f, max_line);
}

/* Appends new bytes to the unconsumed ones and frames until NEED_MORE. The
 * framer sees an exactly sized heap copy, so ASan catches any read past len. */
static void feed(struct feeder *fd, const void *bytes, size_t n)
{
    cr_assert_leq(fd->npending + n, sizeof fd->pending);
    memcpy(fd->pending + fd->npending, bytes, n);
    fd->npending += n;
    for (;;) {
        uint8_t *buf = malloc(fd->npending ? fd->npending : 1);
        cr_assert_not_null(buf);
        memcpy(buf, fd->pending, fd->npending);
        struct imap_frame fr;
        imap_frame_next(&fd->f, buf, fd->npending, &fr);
        if (fr.type == IMAP_FRAME_NEED_MORE) {
            cr_assert_eq(fr.consumed, 0, "NEED_MORE must consume nothing");
            free(buf);
            return;
        }
        cr_assert_lt(fd->nrecs, sizeof fd->recs / sizeof *fd->recs, "too many frames");
        struct rec *r = &fd->recs[fd->nrecs++];
        r->type = fr.type;
        if (fr.type == IMAP_FRAME_ERROR) {
            cr_assert_neq(fr.error[0], 0, "an ERROR frame explains itself");
            fd->failed = true;
            free(buf);
            return;
        }
        cr_assert_gt(fr.consumed, 0, "a frame must make progress");
        cr_assert_leq(fr.consumed, fd->npending);
        cr_assert(fr.data >= buf && fr.data + fr.len <= buf + fr.consumed,
                  "frame data must lie inside the consumed bytes");
        cr_assert_lt(fr.len, sizeof r->data);
        memcpy(r->data, fr.data, fr.len);
        r->len = fr.len;
        r->starts = fr.starts_response;
        r->ends = fr.ends_response;
        r->literal_size = fr.literal_size;
        r->literal_left = fr.literal_left;
        memmove(fd->pending, fd->pending + fr.consumed, fd->npending - fr.consumed);
        fd->npending -= fr.consumed;
        free(buf);
    }
}

/* Merges consecutive LITERAL chunks into one record, checking on the way
 * that each chunk's literal_left counts down to what the next one holds. */
static size_t coalesce(struct feeder *fd, struct rec *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < fd->nrecs; i++) {
        const struct rec *r = &fd->recs[i];
        if (r->type == IMAP_FRAME_LITERAL && n && out[n - 1].type == IMAP_FRAME_LITERAL
            && out[n - 1].literal_left > 0) {
            struct rec *m = &out[n - 1];
            cr_assert_eq(m->literal_left, r->len + r->literal_left,
                         "literal_left %llu, but the next chunk has %zu bytes and %llu left",
                         (unsigned long long)m->literal_left, r->len,
                         (unsigned long long)r->literal_left);
            cr_assert_lt(m->len + r->len, sizeof m->data);
            memcpy(m->data + m->len, r->data, r->len);
            m->len += r->len;
            m->literal_left = r->literal_left;
        } else {
            cr_assert_lt(n, cap);
            out[n++] = *r;
        }
    }
    return n;
}

static void expect_line(const struct rec *r, const char *text, bool starts, bool ends,
                        uint64_t literal_size)
{
    cr_assert_eq(r->type, IMAP_FRAME_LINE, "type %d, want LINE \"%s\"", r->type, text);
    cr_assert_eq(r->len, strlen(text), "line \"%.*s\", want \"%s\"", (int)r->len, r->data, text);
    cr_assert(memcmp(r->data, text, r->len) == 0, "line \"%.*s\", want \"%s\"", (int)r->len,
              r->data, text);
    cr_assert_eq(r->starts, starts, "starts_response of \"%s\"", text);
    cr_assert_eq(r->ends, ends, "ends_response of \"%s\"", text);
    cr_assert_eq(r->literal_size, literal_size, "literal_size of \"%s\": %llu", text,
                 (unsigned long long)r->literal_size);
}

static void expect_literal(const struct rec *r, const char *text)
{
    cr_assert_eq(r->type, IMAP_FRAME_LITERAL, "type %d, want LITERAL \"%s\"", r->type, text);
    cr_assert_eq(r->len, strlen(text));
    cr_assert(memcmp(r->data, text, r->len) == 0, "literal \"%.*s\", want \"%s\"", (int)r->len,
              r->data, text);
    cr_assert_eq(r->literal_left, 0);
}

/* ---- framer: lines ---------------------------------------------------- */

static const char FETCH[] = "* 1 FETCH (BODY[] {11}\r\nhello world)\r\n";

static void expect_fetch(struct feeder *fd, const char *how)
{
    cr_assert_not(fd->failed, "%s: unexpected ERROR", how);
    cr_assert_eq(fd->npending, 0, "%s: %zu bytes left unconsumed", how, fd->npending);
    struct rec c[16];
    size_t n = coalesce(fd, c, 16);
    cr_assert_eq(n, 3, "%s: %zu frames after merging literal chunks, want 3", how, n);
    expect_line(&c[0], "* 1 FETCH (BODY[] {11}", true, false, 11);
    expect_literal(&c[1], "hello world");
    expect_line(&c[2], ")", false, true, 0);
}

Test(imap_frame, crlf_and_bare_lf_lines)
{
    struct feeder fd;
    feeder_init(&fd, 0);
    feed(&fd, "* OK ready\r\na1 OK done\n\r\n", 25);
    cr_assert_eq(fd.nrecs, 3);
    cr_assert_eq(fd.npending, 0);
    expect_line(&fd.recs[0], "* OK ready", true, true, 0);
    expect_line(&fd.recs[1], "a1 OK done", true, true, 0);
    expect_line(&fd.recs[2], "", true, true, 0);
}

Test(imap_frame, consumed_counts_the_line_ending)
{
    struct imap_framer f;
    struct imap_frame fr;
    imap_framer_init(&f, 0);
    imap_frame_next(&f, (const uint8_t *)"a OK\r\nb OK\r\n", 12, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_LINE);
    cr_assert_eq(fr.consumed, 6);
    cr_assert_eq(fr.len, 4);
    imap_frame_next(&f, (const uint8_t *)"a OK\nb", 6, &fr);
    cr_assert_eq(fr.consumed, 5);
    cr_assert_eq(fr.len, 4);
}

Test(imap_frame, partial_line_needs_more)
{
    struct imap_framer f;
    struct imap_frame fr;
    imap_framer_init(&f, 0);
    imap_frame_next(&f, (const uint8_t *)"* OK hel", 8, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_NEED_MORE);
    cr_assert_eq(fr.consumed, 0);
    imap_frame_next(&f, (const uint8_t *)"* OK hello\r", 11, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_NEED_MORE);
    imap_frame_next(&f, (const uint8_t *)"", 0, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_NEED_MORE);
}

Test(imap_frame, init_zero_means_default_max_line)
{
    struct imap_framer f;
    imap_framer_init(&f, 0);
    cr_assert_eq(f.max_line, IMAP_MAX_LINE_DEFAULT);
    cr_assert_eq(f.literal_left, 0);
    cr_assert_not(f.mid_response);
    imap_framer_init(&f, 77);
    cr_assert_eq(f.max_line, 77);
}

/* ---- framer: literals, whole and in pieces --------------------------- */

Test(imap_frame, literal_fed_whole)
{
    struct feeder fd;
    feeder_init(&fd, 0);
    feed(&fd, FETCH, strlen(FETCH));
    /* All bytes present: the literal comes as one chunk. */
    cr_assert_eq(fd.nrecs, 3);
    expect_fetch(&fd, "whole");
}

Test(imap_frame, literal_split_at_every_position)
{
    size_t n = strlen(FETCH);
    for (size_t cut = 0; cut <= n; cut++) {
        struct feeder fd;
        feeder_init(&fd, 0);
        feed(&fd, FETCH, cut);
        feed(&fd, FETCH + cut, n - cut);
        char how[32];
        snprintf(how, sizeof how, "split at %zu", cut);
        expect_fetch(&fd, how);
    }
}

Test(imap_frame, literal_one_byte_at_a_time)
{
    struct feeder fd;
    feeder_init(&fd, 0);
    for (size_t i = 0; FETCH[i]; i++)
        feed(&fd, FETCH + i, 1);
    expect_fetch(&fd, "bytewise");
    /* Every literal byte arrived alone, so each chunk is one byte. */
    size_t lit = 0;
    for (size_t i = 0; i < fd.nrecs; i++)
        if (fd.recs[i].type == IMAP_FRAME_LITERAL) {
            cr_assert_eq(fd.recs[i].len, 1);
            lit++;
        }
    cr_assert_eq(lit, 11);
}

Test(imap_frame, literal_chunk_stops_at_literal_end)
{
    struct imap_framer f;
    struct imap_frame fr;
    imap_framer_init(&f, 0);
    const char *s = "* 1 FETCH (BODY[] {3}\r\nabc)\r\n";
    imap_frame_next(&f, (const uint8_t *)s, strlen(s), &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_LINE);
    s += fr.consumed;
    imap_frame_next(&f, (const uint8_t *)s, strlen(s), &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_LITERAL);
    cr_assert_eq(fr.len, 3);
    cr_assert_eq(fr.consumed, 3);
    cr_assert_eq(fr.literal_left, 0);
    cr_assert_eq(f.literal_left, 0);
    cr_assert(f.mid_response);
}

Test(imap_frame, literal_with_crlf_and_braces_inside_is_opaque)
{
    struct feeder fd;
    feeder_init(&fd, 0);
    const char *s = "* 1 FETCH (BODY[] {9}\r\na\r\n{2}\r\nb)\r\na1 OK done\r\n";
    feed(&fd, s, strlen(s));
    struct rec c[16];
    size_t n = coalesce(&fd, c, 16);
    cr_assert_eq(n, 4);
    expect_line(&c[0], "* 1 FETCH (BODY[] {9}", true, false, 9);
    expect_literal(&c[1], "a\r\n{2}\r\nb");
    expect_line(&c[2], ")", false, true, 0);
    expect_line(&c[3], "a1 OK done", true, true, 0);
}

Test(imap_frame, empty_literal)
{
    struct feeder fd;
    feeder_init(&fd, 0);
    const char *s = "* 1 FETCH (BODY[] {0}\r\n)\r\n";
    feed(&fd, s, strlen(s));
    cr_assert_not(fd.failed);
    cr_assert_eq(fd.nrecs, 2, "a {0} literal has no chunk: %zu frames", fd.nrecs);
    expect_line(&fd.recs[0], "* 1 FETCH (BODY[] {0}", true, false, 0);
    expect_line(&fd.recs[1], ")", false, true, 0);
}

Test(imap_frame, non_synchronizing_literal)
{
    struct feeder fd;
    feeder_init(&fd, 0);
    const char *s = "* 1 FETCH (BODY[] {5+}\r\nhello)\r\n";
    feed(&fd, s, strlen(s));
    struct rec c[16];
    cr_assert_eq(coalesce(&fd, c, 16), 3);
    expect_line(&c[0], "* 1 FETCH (BODY[] {5+}", true, false, 5);
    expect_literal(&c[1], "hello");
    expect_line(&c[2], ")", false, true, 0);
}

Test(imap_frame, literal8)
{
    struct feeder fd;
    feeder_init(&fd, 0);
    static const char s[] = "* 1 FETCH (BINARY[] ~{3}\r\n\x00\x01\xff)\r\n";
    feed(&fd, s, sizeof s - 1);
    struct rec c[16];
    cr_assert_eq(coalesce(&fd, c, 16), 3);
    expect_line(&c[0], "* 1 FETCH (BINARY[] ~{3}", true, false, 3);
    cr_assert_eq(c[1].type, IMAP_FRAME_LITERAL);
    cr_assert_eq(c[1].len, 3);
    cr_assert(memcmp(c[1].data, "\x00\x01\xff", 3) == 0);
    expect_line(&c[2], ")", false, true, 0);
}

Test(imap_frame, two_literals_in_one_response)
{
    const char *s = "* 1 FETCH (BODY[1] {2}\r\nab BODY[2] {3}\r\ncde)\r\na1 OK done\r\n";
    size_t len = strlen(s);
    for (size_t cut = 0; cut <= len; cut++) {
        struct feeder fd;
        feeder_init(&fd, 0);
        feed(&fd, s, cut);
        feed(&fd, s + cut, len - cut);
        struct rec c[16];
        size_t n = coalesce(&fd, c, 16);
        cr_assert_eq(n, 6, "split at %zu: %zu frames", cut, n);
        expect_line(&c[0], "* 1 FETCH (BODY[1] {2}", true, false, 2);
        expect_literal(&c[1], "ab");
        expect_line(&c[2], " BODY[2] {3}", false, false, 3);
        expect_literal(&c[3], "cde");
        expect_line(&c[4], ")", false, true, 0);
        expect_line(&c[5], "a1 OK done", true, true, 0);
    }
}

/* Sizes beyond 32 bits are streamed: the framer only counts them down. */
static void expect_huge_literal(const char *digits, uint64_t size)
{
    char line[80];
    int n = snprintf(line, sizeof line, "* 1 FETCH (BODY[] {%s}\r\nabc", digits);
    struct imap_framer f;
    struct imap_frame fr;
    imap_framer_init(&f, 0);
    imap_frame_next(&f, (const uint8_t *)line, (size_t)n, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_LINE, "{%s} refused: %s", digits, fr.error);
    cr_assert_eq(fr.literal_size, size);
    cr_assert_not(fr.ends_response);
    size_t off = fr.consumed;
    imap_frame_next(&f, (const uint8_t *)line + off, (size_t)n - off, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_LITERAL);
    cr_assert_eq(fr.len, 3);
    cr_assert_eq(fr.literal_left, size - 3);
    cr_assert_eq(f.literal_left, size - 3);
    /* More bytes keep streaming as literal, whatever they look like. */
    imap_frame_next(&f, (const uint8_t *)")\r\n", 3, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_LITERAL);
    cr_assert_eq(fr.literal_left, size - 6);
}

Test(imap_frame, literal_of_4294967296_is_streamed)
{
    expect_huge_literal("4294967296", 4294967296ull);
}

Test(imap_frame, literal_of_int64_max_is_streamed)
{
    expect_huge_literal("9223372036854775807", 9223372036854775807ull);
}

static void expect_literal_error(const char *line)
{
    struct imap_framer f;
    struct imap_frame fr;
    imap_framer_init(&f, 0);
    imap_frame_next(&f, (const uint8_t *)line, strlen(line), &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_ERROR, "\"%s\" accepted, type %d", line, fr.type);
    cr_assert_neq(fr.error[0], 0);
    cr_assert_eq(f.literal_left, 0, "a refused literal must not be streamed");
}

Test(imap_frame, literal_of_2_pow_63_rejected)
{
    expect_literal_error("* 1 FETCH (BODY[] {9223372036854775808}\r\n");
}

Test(imap_frame, literal_of_20_digits_rejected)
{
    expect_literal_error("* 1 FETCH (BODY[] {18446744073709551615}\r\n");
    expect_literal_error("* 1 FETCH (BODY[] {99999999999999999999}\r\n");
    expect_literal_error("* 1 FETCH (BODY[] {00000000000000000001}\r\n");
    expect_literal_error("* 1 FETCH (BODY[] {123456789012345678901234567890+}\r\n");
}

static void expect_no_literal(const char *text)
{
    char line[128];
    int n = snprintf(line, sizeof line, "%s\r\n", text);
    struct feeder fd;
    feeder_init(&fd, 0);
    feed(&fd, line, (size_t)n);
    cr_assert_eq(fd.nrecs, 1, "\"%s\": %zu frames", text, fd.nrecs);
    expect_line(&fd.recs[0], text, true, true, 0);
    cr_assert_eq(fd.f.literal_left, 0);
    cr_assert_not(fd.f.mid_response);
}

Test(imap_frame, braces_that_are_no_literal)
{
    expect_no_literal("* OK {abc}");
    expect_no_literal("* OK {}");
    expect_no_literal("* OK {+}");
    expect_no_literal("* OK {12");
    expect_no_literal("* OK 12}");
    expect_no_literal("* OK {1 2}");
    expect_no_literal("* OK {-1}");
    expect_no_literal("* OK {5} trailing");
    expect_no_literal("}");
    expect_no_literal("{}");
}

Test(imap_frame, literal_marker_alone_on_a_line)
{
    struct feeder fd;
    feeder_init(&fd, 0);
    feed(&fd, "{2}\r\nab\r\n", 9);
    struct rec c[8];
    cr_assert_eq(coalesce(&fd, c, 8), 3);
    expect_line(&c[0], "{2}", true, false, 2);
    expect_literal(&c[1], "ab");
    expect_line(&c[2], "", false, true, 0);
}

/* ---- framer: line length limit ----------------------------------------- */

Test(imap_frame, line_of_exactly_max_line_accepted)
{
    struct feeder fd;
    feeder_init(&fd, 8);
    feed(&fd, "12345678\r\n", 10);
    cr_assert_eq(fd.nrecs, 1);
    expect_line(&fd.recs[0], "12345678", true, true, 0);
    feed(&fd, "abcdefgh\n", 9);
    cr_assert_eq(fd.nrecs, 2);
    expect_line(&fd.recs[1], "abcdefgh", true, true, 0);
}

Test(imap_frame, line_of_max_line_bytewise_accepted)
{
    struct feeder fd;
    feeder_init(&fd, 8);
    const char *s = "12345678\r\n";
    for (size_t i = 0; s[i]; i++)
        feed(&fd, s + i, 1);
    cr_assert_not(fd.failed);
    cr_assert_eq(fd.nrecs, 1);
    expect_line(&fd.recs[0], "12345678", true, true, 0);
}

Test(imap_frame, too_long_line_is_an_error_only_past_max_line_plus_one)
{
    struct imap_framer f;
    struct imap_frame fr;
    imap_framer_init(&f, 8);
    /* max_line + 1 bytes: could still be max_line bytes and a CR. */
    imap_frame_next(&f, (const uint8_t *)"123456789", 9, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_NEED_MORE);
    imap_frame_next(&f, (const uint8_t *)"12345678\r", 9, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_NEED_MORE);
    imap_frame_next(&f, (const uint8_t *)"1234567890", 10, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_ERROR);
    cr_assert_neq(fr.error[0], 0);
    /* The LF is there but beyond the limit. */
    imap_frame_next(&f, (const uint8_t *)"123456789\r\n", 11, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_ERROR);
}

Test(imap_frame, too_long_line_fed_bytewise)
{
    struct feeder fd;
    feeder_init(&fd, 8);
    const char *s = "0123456789abcdef\r\n";
    size_t i = 0;
    for (; s[i] && !fd.failed; i++)
        feed(&fd, s + i, 1);
    cr_assert(fd.failed);
    cr_assert_eq(i, 10, "ERROR after %zu bytes, want 10 (max_line + 2)", i);
    cr_assert_eq(fd.nrecs, 1);
}

Test(imap_frame, max_line_does_not_limit_literals)
{
    struct feeder fd;
    feeder_init(&fd, 8);
    const char *s = "* {20}\r\n01234567890123456789)\r\n";
    feed(&fd, s, strlen(s));
    cr_assert_not(fd.failed);
    struct rec c[8];
    cr_assert_eq(coalesce(&fd, c, 8), 3);
    expect_literal(&c[1], "01234567890123456789");
}

/* Regression: with a bare LF, a line of max_line + 1 bytes was accepted,
 * though max_line is "the longest line accepted, CRLF excluded". */
Test(imap_frame, line_of_max_line_plus_one_with_bare_lf_refused)
{
    struct imap_framer f;
    struct imap_frame fr;
    imap_framer_init(&f, 8);
    imap_frame_next(&f, (const uint8_t *)"123456789\n", 10, &fr);
    cr_assert_eq(fr.type, IMAP_FRAME_ERROR, "a 9-byte line passed max_line 8 (len %zu)", fr.len);
}

/* ---- imap_parse_response ------------------------------------------------ */

static void parse_ok(const char *line, struct imap_response *r)
{
    cr_assert_eq(imap_parse_response(line, strlen(line), r), 0, "\"%s\" refused", line);
}

static void expect_span(const char *p, size_t n, const char *want, const char *what)
{
    cr_assert_not_null(p, "%s is NULL, want \"%s\"", what, want);
    cr_assert(n == strlen(want) && memcmp(p, want, n) == 0, "%s \"%.*s\", want \"%s\"", what,
              (int)n, p, want);
}

Test(imap_parse, greeting_with_capability_code)
{
    struct imap_response r;
    parse_ok("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready", &r);
    cr_assert_eq(r.kind, IMAP_UNTAGGED);
    cr_assert_eq(r.status, IMAP_ST_OK);
    cr_assert_str_eq(r.code, "CAPABILITY");
    expect_span(r.code_arg, r.code_arg_len, "IMAP4rev1 STARTTLS", "code_arg");
    expect_span(r.text, r.text_len, "ready", "text");
    cr_assert_str_eq(r.tag, "");
    cr_assert_not(r.has_number);
}

Test(imap_parse, greeting_without_code)
{
    struct imap_response r;
    parse_ok("* OK Dovecot ready.", &r);
    cr_assert_eq(r.status, IMAP_ST_OK);
    cr_assert_str_eq(r.code, "");
    cr_assert_null(r.code_arg);
    expect_span(r.text, r.text_len, "Dovecot ready.", "text");
}

Test(imap_parse, preauth_and_bye)
{
    struct imap_response r;
    parse_ok("* PREAUTH", &r);
    cr_assert_eq(r.kind, IMAP_UNTAGGED);
    cr_assert_eq(r.status, IMAP_ST_PREAUTH);
    cr_assert_eq(r.text_len, 0);
    parse_ok("* PREAUTH [CAPABILITY IMAP4rev1] logged in as alice", &r);
    cr_assert_eq(r.status, IMAP_ST_PREAUTH);
    cr_assert_str_eq(r.code, "CAPABILITY");
    expect_span(r.text, r.text_len, "logged in as alice", "text");
    parse_ok("* BYE", &r);
    cr_assert_eq(r.kind, IMAP_UNTAGGED);
    cr_assert_eq(r.status, IMAP_ST_BYE);
    parse_ok("* BYE [UNAVAILABLE] shutting down", &r);
    cr_assert_eq(r.status, IMAP_ST_BYE);
    cr_assert_str_eq(r.code, "UNAVAILABLE");
    expect_span(r.text, r.text_len, "shutting down", "text");
}

Test(imap_parse, tagged_authenticationfailed)
{
    struct imap_response r;
    parse_ok("a001 OK [AUTHENTICATIONFAILED] Authentication failed.", &r);
    cr_assert_eq(r.kind, IMAP_TAGGED);
    cr_assert_str_eq(r.tag, "a001");
    cr_assert_eq(r.status, IMAP_ST_OK);
    cr_assert_str_eq(r.code, "AUTHENTICATIONFAILED");
    cr_assert_eq(r.code_arg_len, 0);
    expect_span(r.text, r.text_len, "Authentication failed.", "text");
}

Test(imap_parse, tagged_no_and_bad)
{
    struct imap_response r;
    parse_ok("a002 NO [UNAVAILABLE] x", &r);
    cr_assert_eq(r.kind, IMAP_TAGGED);
    cr_assert_str_eq(r.tag, "a002");
    cr_assert_eq(r.status, IMAP_ST_NO);
    cr_assert_str_eq(r.code, "UNAVAILABLE");
    expect_span(r.text, r.text_len, "x", "text");
    parse_ok("A3 BAD Command unrecognized", &r);
    cr_assert_eq(r.status, IMAP_ST_BAD);
    cr_assert_str_eq(r.tag, "A3");
    cr_assert_str_eq(r.code, "");
    expect_span(r.text, r.text_len, "Command unrecognized", "text");
}

Test(imap_parse, tagged_status_is_case_insensitive)
{
    struct imap_response r;
    parse_ok("a1 ok done", &r);
    cr_assert_eq(r.kind, IMAP_TAGGED);
    cr_assert_eq(r.status, IMAP_ST_OK);
    expect_span(r.text, r.text_len, "done", "text");
    parse_ok("a1 No [alert] lower-case code", &r);
    cr_assert_eq(r.status, IMAP_ST_NO);
    cr_assert_str_eq(r.code, "ALERT");
}

Test(imap_parse, tagged_without_text)
{
    struct imap_response r;
    parse_ok("a1 OK", &r);
    cr_assert_eq(r.kind, IMAP_TAGGED);
    cr_assert_eq(r.status, IMAP_ST_OK);
    cr_assert_eq(r.text_len, 0);
}

Test(imap_parse, tagged_preauth_or_bye_is_garbage)
{
    struct imap_response r;
    cr_assert_eq(imap_parse_response("a1 PREAUTH x", 12, &r), -1);
    cr_assert_eq(r.kind, IMAP_GARBAGE);
    cr_assert_eq(imap_parse_response("a1 BYE x", 8, &r), -1);
    cr_assert_eq(r.kind, IMAP_GARBAGE);
}

Test(imap_parse, continuation)
{
    struct imap_response r;
    parse_ok("+ ", &r);
    cr_assert_eq(r.kind, IMAP_CONTINUATION);
    cr_assert_eq(r.text_len, 0);
    parse_ok("+", &r);
    cr_assert_eq(r.kind, IMAP_CONTINUATION);
    cr_assert_eq(r.text_len, 0);
    parse_ok("+ UGFzc3dvcmQ6", &r);
    cr_assert_eq(r.kind, IMAP_CONTINUATION);
    expect_span(r.text, r.text_len, "UGFzc3dvcmQ6", "text");
    parse_ok("+ Ready for literal data", &r);
    expect_span(r.text, r.text_len, "Ready for literal data", "text");
}

Test(imap_parse, untagged_capability_data)
{
    struct imap_response r;
    parse_ok("* CAPABILITY IMAP4rev1 LOGINDISABLED", &r);
    cr_assert_eq(r.kind, IMAP_UNTAGGED);
    cr_assert_eq(r.status, IMAP_ST_NONE);
    cr_assert_str_eq(r.keyword, "CAPABILITY");
    expect_span(r.text, r.text_len, "IMAP4rev1 LOGINDISABLED", "text");
    parse_ok("* capability imap4rev1", &r);
    cr_assert_str_eq(r.keyword, "CAPABILITY");
}

Test(imap_parse, untagged_number)
{
    struct imap_response r;
    parse_ok("* 23 EXISTS", &r);
    cr_assert_eq(r.kind, IMAP_UNTAGGED);
    cr_assert(r.has_number);
    cr_assert_eq(r.number, 23);
    cr_assert_str_eq(r.keyword, "EXISTS");
    cr_assert_eq(r.status, IMAP_ST_NONE);
    parse_ok("* 4294967295 EXISTS", &r);
    cr_assert(r.has_number);
    cr_assert_eq(r.number, 4294967295u);
    parse_ok("* 12 FETCH (FLAGS (\\Seen))", &r);
    cr_assert_eq(r.number, 12);
    cr_assert_str_eq(r.keyword, "FETCH");
    expect_span(r.text, r.text_len, "(FLAGS (\\Seen))", "text");
}

Test(imap_parse, untagged_number_overflow)
{
    struct imap_response r;
    parse_ok("* 4294967296 EXISTS", &r);
    cr_assert_eq(r.kind, IMAP_UNTAGGED);
    cr_assert_not(r.has_number);
    cr_assert_str_eq(r.keyword, "EXISTS");
    parse_ok("* 99999999999999999999999999 EXISTS", &r);
    cr_assert_not(r.has_number);
    cr_assert_str_eq(r.keyword, "EXISTS");
}

static void expect_garbage(const char *line, size_t len)
{
    struct imap_response r;
    cr_assert_eq(imap_parse_response(line, len, &r), -1, "\"%.*s\" accepted", (int)len, line);
    cr_assert_eq(r.kind, IMAP_GARBAGE);
}

Test(imap_parse, garbage)
{
    expect_garbage("hello", 5);
    expect_garbage("a001 FOO bar", 12);
    expect_garbage("", 0);
    expect_garbage("a001", 4);
    expect_garbage("a001 ", 5);
    expect_garbage(" OK x", 5);
    expect_garbage("*", 1);
    expect_garbage("a+1 OK x", 8);
    expect_garbage("a\"1 OK x", 8);
    expect_garbage("HTTP/1.1 400 Bad Request", 24);
    expect_garbage("SSH-2.0-OpenSSH_9.6", 19);
    expect_garbage("a1 OKAY", 7);
}

Test(imap_parse, long_tag_is_garbage_not_overflow)
{
    char line[200];
    memset(line, 'a', 100);
    memcpy(line + 100, " OK x", 6);
    expect_garbage(line, strlen(line));
    struct imap_response r;
    memset(line, 'b', 63);
    memcpy(line + 63, " OK x", 6);
    parse_ok(line, &r);
    cr_assert_eq(strlen(r.tag), 63);
}

Test(imap_parse, unclosed_code_bracket_is_text)
{
    struct imap_response r;
    parse_ok("a1 NO [ALERT the rest", &r);
    cr_assert_eq(r.kind, IMAP_TAGGED);
    cr_assert_eq(r.status, IMAP_ST_NO);
    cr_assert_str_eq(r.code, "");
    cr_assert_null(r.code_arg);
    expect_span(r.text, r.text_len, "[ALERT the rest", "text");
}

Test(imap_parse, exchange_proxy_code)
{
    struct imap_response r;
    parse_ok("a NO [Error=ProxyNotAuthenticated Proxy=EX01.contoso.local:1993:SSL] LOGIN failed.",
             &r);
    cr_assert_eq(r.kind, IMAP_TAGGED);
    cr_assert_str_eq(r.tag, "a");
    cr_assert_eq(r.status, IMAP_ST_NO);
    cr_assert_str_eq(r.code, "ERROR=PROXYNOTAUTHENTICATED");
    /* The argument keeps its case: it names a host. */
    expect_span(r.code_arg, r.code_arg_len, "Proxy=EX01.contoso.local:1993:SSL", "code_arg");
    expect_span(r.text, r.text_len, "LOGIN failed.", "text");
}

Test(imap_parse, code_with_parenthesised_argument)
{
    struct imap_response r;
    parse_ok("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited", &r);
    cr_assert_str_eq(r.code, "PERMANENTFLAGS");
    expect_span(r.code_arg, r.code_arg_len, "(\\Deleted \\Seen \\*)", "code_arg");
    expect_span(r.text, r.text_len, "Limited", "text");
}

Test(imap_parse, overlong_code_is_cut_not_overflowed)
{
    char line[200];
    snprintf(line, sizeof line, "a1 NO [%0100d] x", 0);
    struct imap_response r;
    parse_ok(line, &r);
    cr_assert_eq(strlen(r.code), sizeof r.code - 1);
    expect_span(r.text, r.text_len, "x", "text");
}

Test(imap_parse, does_not_read_past_len)
{
    /* The line is not NUL-terminated: an exactly sized heap copy. */
    const char *src = "a1 OK [ALERT";
    char *line = malloc(strlen(src));
    cr_assert_not_null(line);
    memcpy(line, src, strlen(src));
    struct imap_response r;
    cr_assert_eq(imap_parse_response(line, strlen(src), &r), 0);
    expect_span(r.text, r.text_len, "[ALERT", "text");
    free(line);
}

Test(imap_parse, status_names)
{
    cr_assert_str_eq(imap_status_name(IMAP_ST_OK), "OK");
    cr_assert_str_eq(imap_status_name(IMAP_ST_NO), "NO");
    cr_assert_str_eq(imap_status_name(IMAP_ST_BAD), "BAD");
    cr_assert_str_eq(imap_status_name(IMAP_ST_PREAUTH), "PREAUTH");
    cr_assert_str_eq(imap_status_name(IMAP_ST_BYE), "BYE");
}

/* ---- imap_astring -------------------------------------------------------- */

static void expect_astring(const char *s, bool nonsync, const char *want, bool want_literal)
{
    char out[2100];
    bool literal = !want_literal;
    int n = imap_astring(s, nonsync, out, sizeof out, &literal);
    cr_assert_eq(n, (int)strlen(want), "\"%s\": returned %d, want %zu", s, n, strlen(want));
    cr_assert_str_eq(out, want);
    cr_assert_eq(literal, want_literal, "\"%s\": literal flag", s);
}

Test(imap_astring, atom)
{
    expect_astring("INBOX", false, "INBOX", false);
    expect_astring("alice@example.com", false, "alice@example.com", false);
    expect_astring("a]b", false, "a]b", false);
    expect_astring("x", true, "x", false);
}

Test(imap_astring, quoted)
{
    expect_astring("Sent Items", false, "\"Sent Items\"", false);
    expect_astring("a\"b", false, "\"a\\\"b\"", false);
    expect_astring("a\\b", false, "\"a\\\\b\"", false);
    expect_astring("\"\\", false, "\"\\\"\\\\\"", false);
    expect_astring("p(x)", false, "\"p(x)\"", false);
    expect_astring("50%", false, "\"50%\"", false);
    expect_astring("a*", false, "\"a*\"", false);
    expect_astring("{5}", false, "\"{5}\"", false);
    expect_astring("tab\there", false, "\"tab\there\"", false);
}

Test(imap_astring, empty_string_is_quoted)
{
    expect_astring("", false, "\"\"", false);
}

Test(imap_astring, literal_for_8bit_cr_lf)
{
    expect_astring("caf\xc3\xa9", false, "{5}", true);
    expect_astring("caf\xc3\xa9", true, "{5+}", true);
    expect_astring("a\rb", false, "{3}", true);
    expect_astring("a\nb", false, "{3}", true);
    expect_astring("pass\r\nA1 LOGOUT", true, "{15+}", true);
}

Test(imap_astring, long_strings_become_literals)
{
    char s[1102];
    memset(s, 'x', sizeof s - 1);
    s[sizeof s - 1] = 0;
    s[10] = ' ';
    /* 1000 bytes still fit in a quoted string. */
    s[1000] = 0;
    char out[1100];
    bool literal = true;
    int n = imap_astring(s, false, out, sizeof out, &literal);
    cr_assert_eq(n, 1002);
    cr_assert_not(literal);
    cr_assert_eq(out[0], '"');
    cr_assert_eq(out[1001], '"');
    s[1000] = 'x';
    s[1001] = 0;
    expect_astring(s, false, "{1001}", true);
    s[1001] = 'x';
    expect_astring(s, true, "{1101+}", true);
}

Test(imap_astring, too_small_buffer)
{
    char out[16];
    bool literal;
    cr_assert_eq(imap_astring("INBOX", false, out, 5, &literal), -1);
    cr_assert_eq(imap_astring("INBOX", false, out, 6, &literal), 5);
    cr_assert_str_eq(out, "INBOX");
    cr_assert_eq(imap_astring("a b c d e f", false, out, 8, &literal), -1);
    cr_assert_eq(imap_astring("caf\xc3\xa9", true, out, 4, &literal), -1);
    cr_assert_eq(imap_astring("caf\xc3\xa9", true, out, 5, &literal), 4);
    cr_assert_str_eq(out, "{5+}");
    cr_assert_eq(imap_astring("", false, out, 2, &literal), -1);
}

/* Regression: a quoted string that fits exactly (with its NUL) was refused,
 * unlike atoms and literal headers. */
Test(imap_astring, quoted_exact_fit)
{
    char out[6];
    bool literal;
    cr_assert_eq(imap_astring("a b", false, out, sizeof out, &literal), 5);
    cr_assert_str_eq(out, "\"a b\"");
}
