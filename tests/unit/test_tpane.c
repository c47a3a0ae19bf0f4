/* tpane: the transcript pane keeps no copy of a sent or received line; it
 * renders it from the transcript on demand (issue 8). The rendered text is
 * what the pane showed when it kept a copy (time stamp, C:/S:, sanitised
 * bytes cut at 16 KiB), rows are counted from it, and a search finds what is
 * shown: in the bytes, in escapes, in the prefix, not past the cut. */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "tpane.h"
#include "wrap.h"

static struct transcript t;
static struct tpane tp;

static void setup(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    transcript_init(&t, SESSION_IMAP);
    tpane_init(&tp);
}

static void teardown(void)
{
    tpane_free(&tp);
    transcript_free(&t);
}

/* The line as the pane built it when it kept a copy of every line. */
static char *old_line(const struct tr_event *e)
{
    int64_t us = (int64_t)t.wall0.tv_sec * 1000000 + t.wall0.tv_nsec / 1000 + e->t_us;
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    localtime_r(&secs, &tm);
    char *clean = sanitize_text(e->data, e->len, 16384);
    size_t n = strlen(clean) + 64;
    char *line = malloc(n);
    snprintf(line, n, "%02d:%02d:%02d.%03d %s %s", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(us / 1000 % 1000), e->kind == TR_SENT ? "C:" : "S:", clean);
    free(clean);
    return line;
}

/* A wire event at ms milliseconds. */
static void wire(enum tr_kind kind, int64_t ms, const char *data, size_t len)
{
    struct tr_event *e = transcript_add(&t, kind, ms * 1000);
    cr_assert_not_null(e);
    e->op = OP_RAW;
    e->secure = kind == TR_RECEIVED;
    cr_assert_eq(transcript_set_data(&t, e, data, len), 0);
}

static void op_end(int64_t ms)
{
    struct tr_event *e = transcript_add(&t, TR_OP_END, ms * 1000);
    e->op = OP_RAW;
    e->ok = true;
}

static const char *text(size_t line)
{
    size_t len;
    const char *s = tv_text(&tp.tv, line, &len);
    cr_assert_eq(strlen(s), len, "line %zu: the length given is the text's", line);
    return s;
}

Test(tpane, lines_render_as_the_copies_did, .init = setup, .fini = teardown)
{
    char big[20000];
    memset(big, 'y', sizeof big);
    const char *ctl = "* OK hi\x1b[31m red\ttab \x01 \xff <U+202E>\\x";
    wire(TR_SENT, 5, "a001 LOGIN joe ****", 19);
    wire(TR_RECEIVED, 1007, ctl, strlen(ctl));
    wire(TR_RECEIVED, 2100, big, sizeof big);
    wire(TR_RECEIVED, 3000, "* 1 FETCH (BODY[] {3}", 21);
    wire(TR_RECEIVED, 3001, "", 0);
    cr_assert(tpane_sync(&tp, &t));
    cr_assert_eq(tp.tv.n, 5);
    for (size_t i = 0; i < 5; i++) {
        char *want = old_line(&t.ev[i]);
        cr_assert_str_eq(text(i), want, "line %zu", i);
        free(want);
        cr_assert_eq(tp.tv.lines[i].prefix_len, 15, "line %zu: HH:MM:SS.mmm C:", i);
    }
    cr_assert(strstr(text(1), "\\x1b[31m red\\ttab \\x01 \\xff"), "%s", text(1));
    cr_assert_eq(tp.tv.lines[0].role, ROLE_SENT);
    cr_assert_eq(tp.tv.lines[0].prefix_role, ROLE_CLEAR, "sent in clear text: marked");
    cr_assert_eq(tp.tv.lines[1].role, ROLE_OK);
    cr_assert_eq(tp.tv.lines[1].prefix_role, ROLE_DIM);
}

Test(tpane, rows_are_counted_from_the_rendered_text, .init = setup, .fini = teardown)
{
    char longl[300];
    for (size_t i = 0; i < sizeof longl; i++)
        longl[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
    wire(TR_RECEIVED, 1, "* OK short", 10);
    wire(TR_RECEIVED, 2, longl, sizeof longl);
    op_end(3);
    wire(TR_SENT, 4, "a002 NOOP", 9);
    tp.tv.width = 40;
    tpane_sync(&tp, &t);
    cr_assert_eq(tp.tv.n, 4);
    size_t row = 0;
    for (size_t i = 0; i < tp.tv.n; i++) {
        cr_assert_eq(tp.tv.lines[i].row, row, "line %zu starts at row %zu", i, row);
        size_t len;
        const char *s = tv_text(&tp.tv, i, &len);
        row += wrap_rows(s, len, 40, NULL, 0);
    }
    cr_assert_eq(tp.tv.n_rows, row);
    cr_assert_gt(tp.tv.lines[2].row - tp.tv.lines[1].row, 7, "the long line wraps");
}

/* 3000 lines a millisecond apart, an operation's end after every tenth. */
static void many(void)
{
    setup();
    char buf[200];
    for (int i = 0; i < 3000; i++) {
        if (i == 2500)
            snprintf(buf, sizeof buf, "* %d FETCH (UID %d) the NeEdLe", i, i);
        else if (i == 2700)
            snprintf(buf, sizeof buf, "* %d FETCH \x1b[1mbold", i);
        else
            snprintf(buf, sizeof buf, "* %d FETCH (FLAGS (\\Seen) UID %d)", i, i);
        wire(i % 50 == 0 ? TR_SENT : TR_RECEIVED, 1000 + i, buf, strlen(buf));
        if (i % 10 == 9)
            op_end(1000 + i);
    }
    tp.tv.width = 80;
    tpane_sync(&tp, &t);
}

static size_t line_of_event(size_t ev)
{
    for (size_t i = 0; i < tp.tv.n; i++)
        if (!(tp.tv.lines[i].flags & TV_OWN) && tp.tv.lines[i].key == ev)
            return i;
    cr_assert_fail("event %zu is not shown", ev);
    return 0;
}

static size_t event_of(size_t k)   /* the event index of wire line k */
{
    return k + k / 10;
}

Test(tpane, search_finds_what_is_shown, .init = many, .fini = teardown)
{
    cr_assert(tv_search(&tp.tv, "the needle", true, 20));
    cr_assert_eq(tp.tv.match_line, line_of_event(event_of(2500)));
    /* The escape shown for ESC, which is not in the bytes. */
    cr_assert(tv_search(&tp.tv, "\\x1b[1mBOLD", true, 20));
    cr_assert_eq(tp.tv.match_line, line_of_event(event_of(2700)));
    /* A hit that begins in the prefix: "C:" and the time stamp. */
    cr_assert(tv_search(&tp.tv, "c: * 2750 fetch", true, 20));
    cr_assert_eq(tp.tv.match_line, line_of_event(event_of(2750)));
    char stamp[13];
    memcpy(stamp, text(line_of_event(event_of(1234))), 12);
    stamp[12] = 0;
    tp.tv.match_line = SIZE_MAX;
    tv_home(&tp.tv);
    cr_assert(tv_search(&tp.tv, stamp, true, 20), "%s", stamp);
    cr_assert_eq(tp.tv.match_line, line_of_event(event_of(1234)), "%s", stamp);
    /* The operations' own lines are searched among the keyed ones. */
    cr_assert(tv_search(&tp.tv, "-- raw", true, 20));
    cr_assert(tp.tv.lines[tp.tv.match_line].flags & TV_OWN);
    cr_assert_not(tv_search(&tp.tv, "not shown anywhere", true, 20));
}

Test(tpane, search_backward_and_forward_visit_hits_in_order, .init = many, .fini = teardown)
{
    /* "C: * 1" begins in the prefix of the sent lines (every 50th) 100, 150, 1000, ... */
    size_t want[] = { 100, 150, 1000, 1050, 1100 };
    tp.tv.match_line = SIZE_MAX;
    tv_home(&tp.tv);
    for (size_t k = 0; k < 5; k++) {
        cr_assert(tv_search(&tp.tv, "c: * 1", true, 20));
        cr_assert_eq(tp.tv.match_line, line_of_event(event_of(want[k])), "hit %zu", k);
    }
    for (size_t k = 4; k-- > 0;) {
        cr_assert(tv_search(&tp.tv, "C: * 1", false, 20));
        cr_assert_eq(tp.tv.match_line, line_of_event(event_of(want[k])), "back to hit %zu", k);
    }
    cr_assert(tv_search(&tp.tv, "needle", false, 20));
    cr_assert_eq(tp.tv.match_line, line_of_event(event_of(2500)), "backward wraps to the end");
    cr_assert(tv_search(&tp.tv, "fetch (flags", false, 20));
    cr_assert_eq(tp.tv.match_line, line_of_event(event_of(2499)));
    cr_assert(tv_search(&tp.tv, "fetch (flags", true, 20));
    cr_assert_eq(tp.tv.match_line, line_of_event(event_of(2501)));
}

Test(tpane, a_hit_past_the_shown_part_is_no_hit, .init = setup, .fini = teardown)
{
    char big[20010];
    memset(big, 'y', sizeof big);
    memcpy(big + 20000, "TAILMARK10", 10);
    wire(TR_RECEIVED, 1, big, sizeof big);
    wire(TR_RECEIVED, 2, "* OK tailmark here", 18);
    tpane_sync(&tp, &t);
    cr_assert(tv_search(&tp.tv, "tailmark", true, 20));
    cr_assert_eq(tp.tv.match_line, 1);
    cr_assert(tv_search(&tp.tv, "tailmark", true, 20));
    cr_assert_eq(tp.tv.match_line, 1, "the cut line is never the hit");
}

Test(tpane, detached_lines_outlive_the_transcript, .init = setup, .fini = teardown)
{
    wire(TR_SENT, 1, "a001 CAPABILITY", 15);
    op_end(2);
    wire(TR_RECEIVED, 3, "* OK bye", 8);
    tpane_sync(&tp, &t);
    char *want = old_line(&t.ev[2]);
    tpane_detach(&tp);
    transcript_free(&t);
    transcript_init(&t, SESSION_IMAP);
    wire(TR_RECEIVED, 1, "* OK new", 8);
    tp.consumed = 0;
    tpane_sync(&tp, &t);
    cr_assert_eq(tp.tv.n, 4);
    cr_assert_str_eq(text(2), want);
    free(want);
    cr_assert(strstr(text(3), "S: * OK new"), "%s", text(3));
    cr_assert(tv_search(&tp.tv, "capability", true, 20));
    cr_assert_eq(tp.tv.match_line, 0);
}

Test(tpane, clear_and_raw_rebuild, .init = setup, .fini = teardown)
{
    wire(TR_RECEIVED, 1, "* OK one", 8);
    wire(TR_RECEIVED, 2, "* OK \x01two", 9);
    tpane_sync(&tp, &t);
    cr_assert_eq(tp.tv.n, 2);
    tp.raw = true;
    tpane_rebuild(&tp);
    tpane_sync(&tp, &t);
    cr_assert_eq(tp.tv.n, 3, "a hex line after the line that is not plain text");
    cr_assert(strstr(text(2), "hex: 2a 20 4f 4b 20 01"), "%s", text(2));
    tpane_clear(&tp, &t);
    cr_assert_eq(tp.tv.n, 0);
    cr_assert_not(tv_search(&tp.tv, "two", true, 20));
    wire(TR_RECEIVED, 3, "* OK three", 10);
    tpane_sync(&tp, &t);
    cr_assert_eq(tp.tv.n, 1);
    cr_assert(strstr(text(0), "S: * OK three"));
    cr_assert(tv_search(&tp.tv, "three", true, 20));
    cr_assert_not(tv_search(&tp.tv, "two", true, 20), "cleared lines are not searched");
}

Test(tpane, a_literal_line_carries_its_reference, .init = setup, .fini = teardown)
{
    wire(TR_RECEIVED, 1, "* 1 FETCH (BODY[] {5}", 21);
    struct tr_event *e = transcript_add(&t, TR_LITERAL, 2000);
    e->op = OP_RAW;
    cr_assert_eq(transcript_set_data(&t, e, "hello", 5), 0);
    e->literal_seen = e->literal_total = 5;
    wire(TR_RECEIVED, 3, ")", 1);
    tp.tv.width = 80;
    tpane_sync(&tp, &t);
    cr_assert_eq(tp.tv.n, 3);
    cr_assert(strstr(text(1), "{5 bytes}"), "%s", text(1));
    cr_assert_eq(tv_ref_in_view(&tp.tv, 20), 2, "the literal is event 1");
}

/* A replay stepping back: the pane cut back to pos shows exactly what a
 * pane that only ever saw the first pos events shows, and forward again. */
static void assert_same_as_fresh(size_t pos)
{
    struct transcript view = t;   /* borrowed, as replay does: never freed */
    view.n = pos;
    tpane_truncate(&tp, pos);
    tpane_sync(&tp, &view);
    struct tpane fresh;
    tpane_init(&fresh);
    fresh.tv.width = tp.tv.width;
    tpane_sync(&fresh, &view);
    cr_assert_eq(tp.tv.n, fresh.tv.n, "at %zu: %zu lines, fresh %zu", pos, tp.tv.n, fresh.tv.n);
    cr_assert_eq(tp.tv.n_rows, fresh.tv.n_rows, "at %zu", pos);
    cr_assert_eq(tp.n_odd, fresh.n_odd, "at %zu", pos);
    for (size_t i = 0; i < fresh.tv.n; i++) {
        size_t la, lb;
        char *a = strdup(tv_text(&tp.tv, i, &la));
        const char *b = tv_text(&fresh.tv, i, &lb);
        cr_assert_str_eq(a, b, "at %zu, line %zu", pos, i);
        cr_assert_eq(tp.tv.lines[i].role, fresh.tv.lines[i].role);
        cr_assert_eq(tp.tv.lines[i].row, fresh.tv.lines[i].row);
        free(a);
    }
    tpane_free(&fresh);
}

Test(tpane, going_back_cuts_the_pane_to_what_a_fresh_one_shows, .init = many, .fini = teardown)
{
    size_t all = t.n;
    static const size_t at[] = { 3299, 3000, 2971, 2560, 2559, 2000, 257, 256, 255, 1, 0 };
    for (size_t i = 0; i < sizeof at / sizeof *at; i++)
        assert_same_as_fresh(at[i]);
    assert_same_as_fresh(all);   /* forward again: every event back */
    assert_same_as_fresh(1500);
    cr_assert(tv_search(&tp.tv, "* 1300 FETCH", false, 20), "search after going back");
    cr_assert_not(tv_search(&tp.tv, "* 1400 FETCH", true, 20), "event 1540 (line 1400) is past 1500");
    cr_assert_not(tv_search(&tp.tv, "the needle", true, 20), "event 2500 is no longer shown");
    assert_same_as_fresh(all);
    cr_assert(tv_search(&tp.tv, "bold", true, 20), "the escaped line is found again");
}

/* After a detach the view's texts are no longer numbered in line order:
 * cutting it back must still leave every kept line its own text. */
Test(tpane, cutting_back_after_a_detach_keeps_the_kept_lines, .init = setup, .fini = teardown)
{
    char buf[64];
    for (int i = 0; i < 40; i++) {
        snprintf(buf, sizeof buf, "* %d EXISTS", i);
        wire(TR_RECEIVED, i, buf, strlen(buf));
        if (i % 4 == 3)
            op_end(i);
    }
    tp.tv.width = 80;
    tpane_sync(&tp, &t);
    size_t n = tp.tv.n;
    char **before = calloc(n, sizeof *before);
    for (size_t i = 0; i < n; i++)
        before[i] = strdup(text(i));
    tpane_detach(&tp);
    tv_add(&tp.tv, ROLE_NOTE, "added after the detach");
    tv_truncate(&tp.tv, n / 2);
    cr_assert_eq(tp.tv.n, n / 2);
    for (size_t i = 0; i < n / 2; i++)
        cr_assert_str_eq(text(i), before[i], "line %zu", i);
    for (size_t i = 0; i < n; i++)
        free(before[i]);
    free(before);
}
