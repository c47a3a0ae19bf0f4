/* bench_textview — the console's transcript pane at scale, without a
 * terminal: N lines (default 1 000 000) recorded in a transcript and shown
 * by the transcript pane (tpane_sync: its textview renders each line from
 * the transcript on demand), then the keys' work timed (PgDn, End, search '/' for a line
 * near the end, for text that is not there, for text that could begin in a
 * line's time-stamp prefix, for a time stamp), each = the textview call +
 * tv_draw + doupdate() on an 80x24 ncurses screen written to /dev/null; and
 * the memory per line (RSS growth / N) of the transcript and of the view.
 *   bench_textview [N] -> a Markdown table on stdout
 * Targets (issue 8): every key < 16 ms, search < 100 ms, < 200 bytes/line. */
#include <curses.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "textview.h"
#include "tpane.h"
#include "transcript.h"

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static void line_text(char *buf, size_t cap, size_t i, size_t needle_at)
{
    if (i == needle_at)
        snprintf(buf, cap, "S: * %zu FETCH (FLAGS (\\Seen) UID %zu) needle-XYZZY", i, i + 100);
    else
        snprintf(buf, cap, "S: * %zu FETCH (FLAGS (\\Seen \\Answered) UID %zu RFC822.SIZE %zu)",
                 i, i + 100, 1000 + i % 5000);
}

/* Keys are timed in CPU time: on a shared machine the wall clock mostly
 * measures the other processes. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double key(struct textview *tv, WINDOW *w, int what, const char *pat)
{
    int h = getmaxy(w);
    double t0 = cpu_ms();
    switch (what) {
    case 0: tv_scroll(tv, h, h); break;                 /* PgDn */
    case 1: tv_end(tv, h); break;                       /* End */
    case 2: tv_home(tv); break;                         /* Home */
    case 3: tv->match_line = SIZE_MAX; tv_home(tv);     /* '/' from the top */
            tv_search(tv, pat, true, h); break;
    }
    tv_draw(tv, w);
    doupdate();
    return cpu_ms() - t0;
}

static double median_key(struct textview *tv, WINDOW *w, int what, const char *pat, int reps)
{
    double v[64];
    if (reps > 64)
        reps = 64;
    for (int r = 0; r < reps; r++) {
        if (what == 0)
            tv_home(tv);
        v[r] = key(tv, w, what, pat);
    }
    for (int a = 0; a < reps; a++)
        for (int b = a + 1; b < reps; b++)
            if (v[b] < v[a]) {
                double t = v[a];
                v[a] = v[b];
                v[b] = t;
            }
    return v[reps / 2];
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t needle_at = n > 10 ? n - 10 : 0;
    char buf[200];

    long r0 = rss_bytes();
    struct transcript t;
    transcript_init(&t, SESSION_IMAP);
    for (size_t i = 0; i < n; i++) {
        line_text(buf, sizeof buf, i, needle_at);
        struct session_event ev = { .type = SEV_RECEIVED, .op = OP_RAW, .at_us = loop_now_us(),
                                    .data = (const uint8_t *)buf, .len = strlen(buf),
                                    .secure = true };
        transcript_append(&t, &ev);
    }
    long r1 = rss_bytes();

    setenv("LINES", "24", 1);
    setenv("COLUMNS", "80", 1);
    if (!getenv("TERM"))
        setenv("TERM", "xterm-256color", 1);
    FILE *out = fopen("/dev/null", "w");
    SCREEN *scr = newterm(NULL, out, stdin);
    if (!scr) {
        fprintf(stderr, "bench_textview: newterm failed\n");
        return 1;
    }
    set_term(scr);
    WINDOW *w = newwin(22, 80, 1, 0);

    static struct tpane tp;
    tpane_init(&tp);
    struct textview *tv = &tp.tv;
    long r2 = rss_bytes();
    double t0 = cpu_ms();
    tpane_sync(&tp, &t);
    tv_draw(tv, w);   /* the first draw lays out the rows */
    doupdate();
    double add_ms = cpu_ms() - t0;
    long r3 = rss_bytes();

    double pgdn = median_key(tv, w, 0, NULL, 21);
    double end = median_key(tv, w, 1, NULL, 21);
    double home = median_key(tv, w, 2, NULL, 21);
    double found = median_key(tv, w, 3, "needle-xyzzy", 11);
    bool hit = tv->match_line == needle_at;
    double missing = median_key(tv, w, 3, "no-such-text", 11);
    double stamp = median_key(tv, w, 3, "S: * none", 5);   /* could begin in a line prefix: no hit */
    double clock = median_key(tv, w, 3, "99:99:99", 5);    /* a time stamp: each one is written */

    delwin(w);
    endwin();
    delscreen(scr);
    fclose(out);

    double tr_per = (double)(r1 - r0) / (double)n, tv_per = (double)(r3 - r2) / (double)n;
    printf("\n## Console at scale: textview micro-benchmark (%zu lines, 80x24; CPU time)\n\n", n);
    printf("| measure | value | target |\n| --- | --- | --- |\n");
    printf("| PgDn (scroll + draw + doupdate), median | %.3f ms | < 16 ms |\n", pgdn);
    printf("| End, median | %.3f ms | < 16 ms |\n", end);
    printf("| Home, median | %.3f ms | < 16 ms |\n", home);
    printf("| search `/` from the top, hit %zu lines down%s | %.1f ms | < 100 ms |\n", needle_at,
           hit ? "" : " (NOT FOUND: bug)", found);
    printf("| search `/` for text that is not there (every line) | %.1f ms | < 100 ms |\n", missing);
    printf("| search `/` for text that could begin in a line's time stamp prefix, not there (`S: * none`) | %.1f ms | < 100 ms |\n",
           stamp);
    printf("| search `/` for a time stamp that is not there (`99:99:99`) | %.1f ms | < 100 ms |\n", clock);
    printf("| adding %zu lines to the view (and laying out rows) | %.0f ms | - |\n", n, add_ms);
    printf("| memory per line: transcript event | %.0f bytes | - |\n", tr_per);
    printf("| memory per line: textview | %.0f bytes | - |\n", tv_per);
    printf("| memory per line: both | %.0f bytes | < 200 bytes |\n", tr_per + tv_per);
    tpane_free(&tp);
    transcript_free(&t);
    return hit ? 0 : 1;
}
