/* Unit tests for net/pop3.c: the resumable POP3 framer (single-line and
 * multi-line with dot-unstuffing), status lines and the APOP timestamp. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pop3.h"

/* ---- a caller of the framer ------------------------------------------ */

struct rec {
    enum pop3_frame_type type;
    char data[64];
    size_t len;
    bool unstuffed;
};

struct feeder {
    struct pop3_framer f;
    uint8_t pending[512];
    size_t npending;
    struct rec recs[64];
    size_t nrecs;
    size_t nlines;          /* LINE frames so far */
    size_t multiline_after; /* set f.multiline after this many LINEs (0: never) */
    bool failed;
};

static void feeder_init(struct feeder *fd, size_t max_line, size_t multiline_after)
{
    memset(fd, 0, sizeof *fd);
    pop3_framer_init(&fd->f, max_line);
    fd->multiline_after = multiline_after;
}

/* Appends bytes to the unconsumed ones and frames until NEED_MORE, the way
 * the session does: after the chosen +OK line it switches to multi-line. The
 * framer sees an exactly sized heap copy, so ASan catches reads past len. */
static void feed(struct feeder *fd, const void *bytes, size_t n)
{
    cr_assert_leq(fd->npending + n, sizeof fd->pending);
    memcpy(fd->pending + fd->npending, bytes, n);
    fd->npending += n;
    for (;;) {
        uint8_t *buf = malloc(fd->npending ? fd->npending : 1);
        cr_assert_not_null(buf);
        memcpy(buf, fd->pending, fd->npending);
        struct pop3_frame fr;
        pop3_frame_next(&fd->f, buf, fd->npending, &fr);
        if (fr.type == POP3_FRAME_NEED_MORE) {
            cr_assert_eq(fr.consumed, 0, "NEED_MORE must consume nothing");
            free(buf);
            return;
        }
        cr_assert_lt(fd->nrecs, sizeof fd->recs / sizeof *fd->recs);
        struct rec *r = &fd->recs[fd->nrecs++];
        r->type = fr.type;
        if (fr.type == POP3_FRAME_ERROR) {
            cr_assert_neq(fr.error[0], 0, "an ERROR frame explains itself");
            fd->failed = true;
            free(buf);
            return;
        }
        cr_assert_gt(fr.consumed, 0);
        cr_assert_leq(fr.consumed, fd->npending);
        cr_assert(fr.data >= buf && fr.data + fr.len <= buf + fr.consumed);
        cr_assert_lt(fr.len, sizeof r->data);
        memcpy(r->data, fr.data, fr.len);
        r->len = fr.len;
        r->unstuffed = fr.unstuffed;
        if (fr.type == POP3_FRAME_LINE && ++fd->nlines == fd->multiline_after)
            fd->f.multiline = true;
        memmove(fd->pending, fd->pending + fr.consumed, fd->npending - fr.consumed);
        fd->npending -= fr.consumed;
        free(buf);
    }
}

static void expect(const struct rec *r, enum pop3_frame_type type, const char *text, bool unstuffed)
{
    cr_assert_eq(r->type, type, "type %d, want %d for \"%s\"", r->type, type, text);
    cr_assert(r->len == strlen(text) && memcmp(r->data, text, r->len) == 0,
              "data \"%.*s\", want \"%s\"", (int)r->len, r->data, text);
    cr_assert_eq(r->unstuffed, unstuffed, "unstuffed flag of \"%s\"", text);
}

/* ---- framer ----------------------------------------------------------- */

Test(pop3_frame, init)
{
    struct pop3_framer f;
    pop3_framer_init(&f, 0);
    cr_assert_eq(f.max_line, POP3_MAX_LINE_DEFAULT);
    cr_assert_not(f.multiline);
    pop3_framer_init(&f, 100);
    cr_assert_eq(f.max_line, 100);
}

Test(pop3_frame, single_line_mode)
{
    struct feeder fd;
    feeder_init(&fd, 0, 0);
    feed(&fd, "+OK ready\r\n-ERR no\n.\r\n..x\r\n", 27);
    cr_assert_eq(fd.nrecs, 4);
    cr_assert_eq(fd.npending, 0);
    expect(&fd.recs[0], POP3_FRAME_LINE, "+OK ready", false);
    expect(&fd.recs[1], POP3_FRAME_LINE, "-ERR no", false);
    /* Without multi-line mode a dot is just a line, left as it is. */
    expect(&fd.recs[2], POP3_FRAME_LINE, ".", false);
    expect(&fd.recs[3], POP3_FRAME_LINE, "..x", false);
    cr_assert_not(fd.f.multiline);
}

Test(pop3_frame, partial_line_needs_more)
{
    struct pop3_framer f;
    struct pop3_frame fr;
    pop3_framer_init(&f, 0);
    pop3_frame_next(&f, (const uint8_t *)"+OK hel", 7, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_NEED_MORE);
    cr_assert_eq(fr.consumed, 0);
    pop3_frame_next(&f, (const uint8_t *)"+OK\r", 4, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_NEED_MORE);
    f.multiline = true;
    pop3_frame_next(&f, (const uint8_t *)".", 1, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_NEED_MORE, "a lone dot is no terminator until its LF");
    cr_assert(f.multiline);
}

Test(pop3_frame, consumed_counts_the_line_ending)
{
    struct pop3_framer f;
    struct pop3_frame fr;
    pop3_framer_init(&f, 0);
    pop3_frame_next(&f, (const uint8_t *)"+OK\r\n+OK\r\n", 10, &fr);
    cr_assert_eq(fr.consumed, 5);
    cr_assert_eq(fr.len, 3);
    f.multiline = true;
    pop3_frame_next(&f, (const uint8_t *)"..a\nx", 5, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_DATA);
    cr_assert_eq(fr.consumed, 4);
    cr_assert_eq(fr.len, 2);
}

/* RETR: "+OK", three data lines (two dot-stuffed, one of them just ".."),
 * an empty line, the terminator, then the next response. */
static const char RETR[] = "+OK 42 octets\r\n..foo\r\nbar\r\n..\r\n\r\n.x\r\n.\r\n+OK next\r\n";

static void expect_retr(struct feeder *fd, const char *how)
{
    cr_assert_not(fd->failed, "%s: ERROR", how);
    cr_assert_eq(fd->npending, 0, "%s: %zu bytes left", how, fd->npending);
    cr_assert_eq(fd->nrecs, 8, "%s: %zu frames", how, fd->nrecs);
    expect(&fd->recs[0], POP3_FRAME_LINE, "+OK 42 octets", false);
    expect(&fd->recs[1], POP3_FRAME_DATA, ".foo", true);
    expect(&fd->recs[2], POP3_FRAME_DATA, "bar", false);
    expect(&fd->recs[3], POP3_FRAME_DATA, ".", true);
    expect(&fd->recs[4], POP3_FRAME_DATA, "", false);
    expect(&fd->recs[5], POP3_FRAME_DATA, "x", true);
    expect(&fd->recs[6], POP3_FRAME_END, ".", false);
    /* END resets the framer to single-line mode. */
    expect(&fd->recs[7], POP3_FRAME_LINE, "+OK next", false);
    cr_assert_not(fd->f.multiline);
}

Test(pop3_frame, multiline_whole)
{
    struct feeder fd;
    feeder_init(&fd, 0, 1);
    feed(&fd, RETR, sizeof RETR - 1);
    expect_retr(&fd, "whole");
}

Test(pop3_frame, multiline_split_at_every_position)
{
    for (size_t cut = 0; cut < sizeof RETR; cut++) {
        struct feeder fd;
        feeder_init(&fd, 0, 1);
        feed(&fd, RETR, cut);
        feed(&fd, RETR + cut, sizeof RETR - 1 - cut);
        char how[32];
        snprintf(how, sizeof how, "split at %zu", cut);
        expect_retr(&fd, how);
    }
}

Test(pop3_frame, multiline_one_byte_at_a_time)
{
    struct feeder fd;
    feeder_init(&fd, 0, 1);
    for (size_t i = 0; i < sizeof RETR - 1; i++)
        feed(&fd, RETR + i, 1);
    expect_retr(&fd, "bytewise");
}

Test(pop3_frame, multiline_with_bare_lf)
{
    struct feeder fd;
    feeder_init(&fd, 0, 1);
    const char *s = "+OK\n..a\n.\n-ERR x\n";
    for (size_t i = 0; s[i]; i++)
        feed(&fd, s + i, 1);
    cr_assert_eq(fd.nrecs, 4);
    expect(&fd.recs[0], POP3_FRAME_LINE, "+OK", false);
    expect(&fd.recs[1], POP3_FRAME_DATA, ".a", true);
    expect(&fd.recs[2], POP3_FRAME_END, ".", false);
    expect(&fd.recs[3], POP3_FRAME_LINE, "-ERR x", false);
}

Test(pop3_frame, dot_lines_that_are_not_the_terminator)
{
    struct feeder fd;
    feeder_init(&fd, 0, 0);
    fd.f.multiline = true;
    feed(&fd, ". \r\n...\r\n.\t\r\n", 13);
    cr_assert_eq(fd.nrecs, 3);
    expect(&fd.recs[0], POP3_FRAME_DATA, " ", true);
    expect(&fd.recs[1], POP3_FRAME_DATA, "..", true);
    expect(&fd.recs[2], POP3_FRAME_DATA, "\t", true);
    cr_assert(fd.f.multiline);
}

Test(pop3_frame, capa_listing)
{
    struct feeder fd;
    feeder_init(&fd, 0, 1);
    const char *s = "+OK Capability list follows\r\nUSER\r\nSASL PLAIN LOGIN\r\nSTLS\r\n.\r\n";
    feed(&fd, s, strlen(s));
    cr_assert_eq(fd.nrecs, 5);
    expect(&fd.recs[1], POP3_FRAME_DATA, "USER", false);
    expect(&fd.recs[2], POP3_FRAME_DATA, "SASL PLAIN LOGIN", false);
    expect(&fd.recs[3], POP3_FRAME_DATA, "STLS", false);
    expect(&fd.recs[4], POP3_FRAME_END, ".", false);
}

Test(pop3_frame, line_of_exactly_max_line_accepted)
{
    struct feeder fd;
    feeder_init(&fd, 8, 0);
    feed(&fd, "12345678\r\n", 10);
    cr_assert_eq(fd.nrecs, 1);
    expect(&fd.recs[0], POP3_FRAME_LINE, "12345678", false);
    fd.f.multiline = true;
    for (const char *p = "12345678\r\n"; *p; p++)
        feed(&fd, p, 1);
    cr_assert_not(fd.failed);
    cr_assert_eq(fd.nrecs, 2);
    expect(&fd.recs[1], POP3_FRAME_DATA, "12345678", false);
}

Test(pop3_frame, overlong_line_is_an_error)
{
    struct pop3_framer f;
    struct pop3_frame fr;
    pop3_framer_init(&f, 8);
    pop3_frame_next(&f, (const uint8_t *)"123456789", 9, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_NEED_MORE);
    pop3_frame_next(&f, (const uint8_t *)"1234567890", 10, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_ERROR);
    cr_assert_neq(fr.error[0], 0);
    pop3_frame_next(&f, (const uint8_t *)"123456789\r\n", 11, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_ERROR);
    f.multiline = true;
    pop3_frame_next(&f, (const uint8_t *)"..........", 10, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_ERROR);
}

Test(pop3_frame, overlong_line_fed_bytewise)
{
    struct feeder fd;
    feeder_init(&fd, 8, 0);
    const char *s = "+OK 0123456789abcdef\r\n";
    size_t i = 0;
    for (; s[i] && !fd.failed; i++)
        feed(&fd, s + i, 1);
    cr_assert(fd.failed);
    cr_assert_eq(i, 10, "ERROR after %zu bytes, want 10", i);
}

/* Regression: as in the IMAP framer, a bare-LF line of max_line + 1
 * bytes got through. */
Test(pop3_frame, line_of_max_line_plus_one_with_bare_lf_refused)
{
    struct pop3_framer f;
    struct pop3_frame fr;
    pop3_framer_init(&f, 8);
    pop3_frame_next(&f, (const uint8_t *)"123456789\n", 10, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_ERROR, "a 9-byte line passed max_line 8");
}

/* ---- pop3_parse_status ----------------------------------------------- */

static void status(const char *line, struct pop3_status_line *st)
{
    pop3_parse_status(line, strlen(line), st);
}

static void expect_text(const struct pop3_status_line *st, const char *want)
{
    cr_assert_not_null(st->text);
    cr_assert(st->text_len == strlen(want) && memcmp(st->text, want, st->text_len) == 0,
              "text \"%.*s\", want \"%s\"", (int)st->text_len, st->text, want);
}

Test(pop3_status, ok)
{
    struct pop3_status_line st;
    status("+OK", &st);
    cr_assert_eq(st.status, POP3_ST_OK);
    cr_assert_str_eq(st.code, "");
    cr_assert_eq(st.text_len, 0);
    status("+OK hello", &st);
    cr_assert_eq(st.status, POP3_ST_OK);
    expect_text(&st, "hello");
    status("+OK ", &st);
    cr_assert_eq(st.status, POP3_ST_OK);
    cr_assert_eq(st.text_len, 0);
}

Test(pop3_status, err_with_extended_code)
{
    struct pop3_status_line st;
    status("-ERR [AUTH] Authentication failed.", &st);
    cr_assert_eq(st.status, POP3_ST_ERR);
    cr_assert_str_eq(st.code, "AUTH");
    expect_text(&st, "Authentication failed.");
    status("-ERR [SYS/PERM] x", &st);
    cr_assert_eq(st.status, POP3_ST_ERR);
    cr_assert_str_eq(st.code, "SYS/PERM");
    expect_text(&st, "x");
    status("-ERR [in-use] locked", &st);
    cr_assert_str_eq(st.code, "IN-USE");
    status("-ERR", &st);
    cr_assert_eq(st.status, POP3_ST_ERR);
    cr_assert_str_eq(st.code, "");
    cr_assert_eq(st.text_len, 0);
    status("-ERR no such message", &st);
    cr_assert_str_eq(st.code, "");
    expect_text(&st, "no such message");
}

Test(pop3_status, ok_with_code)
{
    struct pop3_status_line st;
    status("+OK [SYS/TEMP]", &st);
    cr_assert_eq(st.status, POP3_ST_OK);
    cr_assert_str_eq(st.code, "SYS/TEMP");
    cr_assert_eq(st.text_len, 0);
}

Test(pop3_status, unclosed_or_overlong_code_stays_text)
{
    struct pop3_status_line st;
    status("-ERR [AUTH failed", &st);
    cr_assert_eq(st.status, POP3_ST_ERR);
    cr_assert_str_eq(st.code, "");
    expect_text(&st, "[AUTH failed");
    char line[200];
    snprintf(line, sizeof line, "-ERR [%0100d] x", 0);
    status(line, &st);
    cr_assert_eq(st.status, POP3_ST_ERR);
    cr_assert_str_eq(st.code, "");
    cr_assert_eq(st.text_len, 104);
}

Test(pop3_status, continuation)
{
    struct pop3_status_line st;
    status("+ UGFz", &st);
    cr_assert_eq(st.status, POP3_ST_CONT);
    expect_text(&st, "UGFz");
    status("+", &st);
    cr_assert_eq(st.status, POP3_ST_CONT);
    cr_assert_eq(st.text_len, 0);
    status("+ [x]", &st);
    cr_assert_eq(st.status, POP3_ST_CONT);
    cr_assert_str_eq(st.code, "", "a challenge has no response code");
    expect_text(&st, "[x]");
}

Test(pop3_status, garbage)
{
    struct pop3_status_line st;
    const char *bad[] = { "OK", "+OKAY", "-ERROR x", "+OK-", "", "* OK IMAP4rev1 ready",
                          "220 smtp ready", "-", "ERR" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        status(bad[i], &st);
        cr_assert_eq(st.status, POP3_ST_GARBAGE, "\"%s\" accepted as %d", bad[i], st.status);
        expect_text(&st, bad[i]);
    }
}

Test(pop3_status, does_not_read_past_len)
{
    const char *src = "-ERR [AUTH";
    char *line = malloc(strlen(src));
    cr_assert_not_null(line);
    memcpy(line, src, strlen(src));
    struct pop3_status_line st;
    pop3_parse_status(line, strlen(src), &st);
    cr_assert_eq(st.status, POP3_ST_ERR);
    cr_assert_str_eq(st.code, "");
    free(line);
}

/* ---- pop3_apop_timestamp ------------------------------------------------ */

Test(pop3_apop, rfc1939_greeting)
{
    const char *g = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>";
    char ts[128];
    cr_assert(pop3_apop_timestamp(g, strlen(g), ts, sizeof ts));
    cr_assert_str_eq(ts, "<1896.697170952@dbc.mtview.ca.us>");
}

Test(pop3_apop, timestamp_in_the_middle)
{
    const char *g = "+OK <12.34@host> Dovecot ready.";
    char ts[128];
    cr_assert(pop3_apop_timestamp(g, strlen(g), ts, sizeof ts));
    cr_assert_str_eq(ts, "<12.34@host>");
}

static void expect_no_timestamp(const char *g)
{
    char ts[128] = "untouched";
    cr_assert_not(pop3_apop_timestamp(g, strlen(g), ts, sizeof ts), "\"%s\" gave %s", g, ts);
}

Test(pop3_apop, none)
{
    expect_no_timestamp("+OK POP3 server ready");
    expect_no_timestamp("");
}

Test(pop3_apop, no_at_sign)
{
    expect_no_timestamp("+OK POP3 server ready <1896.697170952>");
}

Test(pop3_apop, control_characters_inside)
{
    expect_no_timestamp("+OK ready <1896.69\x1b[2J@host>");
    expect_no_timestamp("+OK ready <1896 69@host>");
    expect_no_timestamp("+OK ready <1896\t69@host>");
    expect_no_timestamp("+OK ready <1896\x7f" "69@host>");
    expect_no_timestamp("+OK ready <1896\xc3\xa9@host>");
}

Test(pop3_apop, unterminated)
{
    expect_no_timestamp("+OK ready <1896.697170952@dbc.mtview.ca.us");
    expect_no_timestamp("+OK ready >1896@host<");
}

Test(pop3_apop, output_too_small)
{
    const char *g = "+OK <a@b>";
    char ts[6];
    cr_assert_not(pop3_apop_timestamp(g, strlen(g), ts, 5));
    cr_assert(pop3_apop_timestamp(g, strlen(g), ts, 6));
    cr_assert_str_eq(ts, "<a@b>");
}

Test(pop3_apop, does_not_read_past_len)
{
    const char *src = "+OK <a@b";
    char *line = malloc(strlen(src));
    cr_assert_not_null(line);
    memcpy(line, src, strlen(src));
    char ts[32];
    cr_assert_not(pop3_apop_timestamp(line, strlen(src), ts, sizeof ts));
    free(line);
}

/* pop3_data_run: the bulk path passes whole data lines on in one piece and
 * leaves the terminator, a partial line and an over-long line to the framer. */
Test(pop3_data_run, whole_lines_up_to_the_terminator)
{
    struct pop3_framer f;
    pop3_framer_init(&f, 16);
    const char *b = "one\r\n..stuffed\r\n.x\r\nlast\r\n.\r\n+OK next\r\n";
    cr_assert_eq(pop3_data_run(&f, (const uint8_t *)b, strlen(b)), 0, "not in multi-line mode");
    f.multiline = true;
    size_t run = pop3_data_run(&f, (const uint8_t *)b, strlen(b));
    cr_assert_eq(run, strlen("one\r\n..stuffed\r\n.x\r\nlast\r\n"));
    struct pop3_frame fr;
    pop3_frame_next(&f, (const uint8_t *)b + run, strlen(b) - run, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_END);
}

Test(pop3_data_run, stops_at_a_partial_or_too_long_line)
{
    struct pop3_framer f;
    pop3_framer_init(&f, 8);
    f.multiline = true;
    const char *partial = "abc\r\ndef";
    cr_assert_eq(pop3_data_run(&f, (const uint8_t *)partial, strlen(partial)), 5);
    const char *lf_only = "a\nb\n.\n";
    cr_assert_eq(pop3_data_run(&f, (const uint8_t *)lf_only, strlen(lf_only)), 4);
    const char *longline = "ok\r\n0123456789\r\nmore\r\n";
    cr_assert_eq(pop3_data_run(&f, (const uint8_t *)longline, strlen(longline)), 4,
                 "an over-long line must reach the framer, which refuses it");
    struct pop3_frame fr;
    pop3_frame_next(&f, (const uint8_t *)longline + 4, strlen(longline) - 4, &fr);
    cr_assert_eq(fr.type, POP3_FRAME_ERROR);
}

Test(pop3_data_run, line_length_bound_is_exact)
{
    struct pop3_framer f;
    pop3_framer_init(&f, 8);
    f.multiline = true;
    const char *crlf = "12345678\r\n12345678\n";            /* 8 bytes each: allowed */
    cr_assert_eq(pop3_data_run(&f, (const uint8_t *)crlf, strlen(crlf)), strlen(crlf));
    const char *lf9 = "ab\n123456789\nc\n";                 /* 9 bytes: one too many */
    cr_assert_eq(pop3_data_run(&f, (const uint8_t *)lf9, strlen(lf9)), 3);
    const char *crlf9 = "123456789\r\n";
    cr_assert_eq(pop3_data_run(&f, (const uint8_t *)crlf9, strlen(crlf9)), 0);
    /* The closing dot after many lines, and stuffed dots before it. */
    char big[4096] = "";
    for (int i = 0; i < 100; i++)
        strcat(big, i % 3 ? "line\r\n" : "..dot\r\n");
    size_t body = strlen(big);
    strcat(big, ".\r\nnext\r\n");
    cr_assert_eq(pop3_data_run(&f, (const uint8_t *)big, strlen(big)), body);
}
