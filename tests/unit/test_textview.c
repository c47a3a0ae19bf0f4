/* textview: lines packed in blocks, and the block-wide search that replaced
 * the per-line one (issue 8): order, wrapping both ways, case, block
 * boundaries, no match across lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textview.h"

#define N 50000   /* about 2.5 MiB of text: several 1 MiB blocks */

static struct textview tv;

static void tv_free_all(void) { tv_free(&tv); }

static void fill(void)
{
    tv_init(&tv);
    char buf[100];
    for (size_t i = 0; i < N; i++) {
        if (i == 10 || i == 30000 || i == N - 1)
            snprintf(buf, sizeof buf, "S: line %zu has the MiXeD Needle in it", i);
        else
            snprintf(buf, sizeof buf, "S: line %zu is ordinary text, nothing to find here", i);
        tv_add(&tv, ROLE_NORMAL, buf);
    }
}

Test(textview, search_forward_visits_every_hit_in_order_and_wraps, .init = fill, .fini = tv_free_all)
{
    size_t want[] = { 10, 30000, N - 1, 10 };
    for (size_t k = 0; k < 4; k++) {
        cr_assert(tv_search(&tv, "mixed NEEDLE", true, 20));
        cr_assert_eq(tv.match_line, want[k], "hit %zu: line %zu", k, tv.match_line);
    }
}

Test(textview, search_backward_wraps_to_the_last_hit, .init = fill, .fini = tv_free_all)
{
    cr_assert(tv_search(&tv, "needle", true, 20));
    cr_assert_eq(tv.match_line, 10);
    cr_assert(tv_search(&tv, "needle", false, 20));
    cr_assert_eq(tv.match_line, N - 1);
    cr_assert(tv_search(&tv, "needle", false, 20));
    cr_assert_eq(tv.match_line, 30000);
}

Test(textview, no_hit_and_no_match_across_lines, .init = fill, .fini = tv_free_all)
{
    cr_assert_not(tv_search(&tv, "not in any line", true, 20));
    cr_assert_eq(tv.match_line, SIZE_MAX);
    /* "here" ends one line and "S:" starts the next: joined, they are no hit. */
    cr_assert_not(tv_search(&tv, "hereS:", true, 20));
    cr_assert_not(tv_search(&tv, "here\nS:", true, 20));
}

Test(textview, a_line_longer_than_a_block_is_kept_and_found, .init = fill, .fini = tv_free_all)
{
    size_t big = 3u << 20;
    char *s = malloc(big + 20);
    cr_assert_not_null(s);
    memset(s, 'x', big);
    strcpy(s + big, "TailMark");
    tv_add(&tv, ROLE_NORMAL, s);
    tv_add(&tv, ROLE_NORMAL, "after the big line");
    free(s);
    size_t len;
    cr_assert_eq(strlen(tv_text(&tv, N, &len)), big + 8);
    cr_assert_eq(len, big + 8);
    cr_assert_str_eq(tv_text(&tv, N + 1, &len), "after the big line");
    cr_assert(tv_search(&tv, "tailmark", true, 20));
    cr_assert_eq(tv.match_line, N);
    cr_assert(tv_search(&tv, "AFTER THE", true, 20));
    cr_assert_eq(tv.match_line, N + 1);
}
