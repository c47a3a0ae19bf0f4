/* The spill store (src/spill.c) and its use by the transcript and the
 * console's literal viewer: a large literal is kept whole on disk, bounded,
 * in a file nobody else can open, and paged back byte for byte. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spill.h"
#include "tpane.h"
#include "transcript.h"

static uint8_t byte_at(uint64_t i) { return (uint8_t)('a' + (i * 7 + i / 64) % 26); }

Test(spill, a_private_unlinked_file_bounded_by_max)
{
    char dir[] = "/tmp/ms-spill-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("TMPDIR", dir, 1);
    struct spill sp;
    char err[300];
    cr_assert_eq(spill_open(&sp, 1000, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(fstat(sp.fd, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(st.st_nlink, 0, "the spill file has a name in the file system");
    uint8_t buf[700];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = byte_at(i);
    cr_assert_eq(spill_append(&sp, buf, sizeof buf), sizeof buf);
    cr_assert_eq(spill_append(&sp, buf, sizeof buf), 300, "the bound was not kept");
    cr_assert_eq(sp.size, 1000);
    cr_assert_eq(sp.dropped, 400);
    uint8_t back[100];
    cr_assert_eq(spill_read(&sp, 650, back, sizeof back), 100);
    for (size_t i = 0; i < 100; i++)
        cr_assert_eq(back[i], byte_at((650 + i) % 700), "byte %zu", i);
    cr_assert_eq(spill_read(&sp, 1000, back, sizeof back), 0);
    spill_close(&sp);
    cr_assert_eq(rmdir(dir), 0, "something was left in TMPDIR");
    unsetenv("TMPDIR");
}

Test(spill, sizes_parse)
{
    uint64_t v;
    cr_assert_eq(spill_parse_size("256M", &v), 0);
    cr_assert_eq(v, 256ull << 20);
    cr_assert_eq(spill_parse_size("0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(spill_parse_size("2g", &v), 0);
    cr_assert_eq(v, 2ull << 30);
    cr_assert_eq(spill_parse_size("-1", &v), -1);
    cr_assert_eq(spill_parse_size("12X", &v), -1);
    cr_assert_eq(spill_parse_size("2000G", &v), -1);
}

/* A literal of 3.5 MiB arrives in chunks: the transcript keeps 64 KiB of
 * preview, the spill keeps it all, and the viewer pages it back exactly. */
Test(spill, transcript_keeps_a_summary_and_the_viewer_pages_the_whole_literal)
{
    struct transcript t;
    transcript_init(&t, SESSION_IMAP);
    char err[300];
    cr_assert_eq(transcript_spill(&t, 64u << 20, err, sizeof err), 0, "%s", err);
    const uint64_t total = 3584u * 1024;
    const size_t chunk = 100000;
    uint8_t *buf = malloc(chunk);
    for (uint64_t off = 0; off < total; off += chunk) {
        size_t n = total - off < chunk ? (size_t)(total - off) : chunk;
        for (size_t i = 0; i < n; i++) {
            uint64_t k = off + i;
            buf[i] = k % 64 == 63 ? '\n' : byte_at(k);
        }
        struct session_event ev = { .type = SEV_LITERAL, .op = OP_RAW, .data = buf, .len = n,
                                    .literal_total = total };
        cr_assert_eq(transcript_append(&t, &ev), 0);
    }
    free(buf);
    cr_assert_eq(t.n, 1);
    const struct tr_event *e = &t.ev[0];
    cr_assert_eq(e->literal_seen, total);
    cr_assert_eq(e->len, TRANSCRIPT_LITERAL_PREVIEW, "the preview is not bounded");
    uint64_t off, len;
    cr_assert(transcript_spilled(&t, e, &off, &len));
    cr_assert_eq(off, 0);
    cr_assert_eq(len, total);

    struct textview tv;
    tv_init(&tv);
    uint64_t page = tpane_literal_page(&t, 1, 3, &tv);
    cr_assert_eq(page, 3);
    size_t tlen;
    cr_assert(strstr(tv_text(&tv, 0, &tlen), "page 4 of 4"), "%s", tv_text(&tv, 0, &tlen));
    /* Page 4 starts at byte 3 MiB, a multiple of 64: its first line is whole. */
    const char *first = tv_text(&tv, 1, &tlen);
    cr_assert_eq(strlen(first), 63);
    for (size_t i = 0; i < 63; i++)
        cr_assert_eq((uint8_t)first[i], byte_at(3u * 1024 * 1024 + i));
    cr_assert_eq(tv.n, 1 + 512 * 1024 / 64, "lines of the last half MiB");
    cr_assert_eq(tpane_literal_page(&t, 1, 99, &tv), 3, "past the end is the last page");
    tv_free(&tv);
    transcript_free(&t);
}

/* The bound cuts the spill: the viewer says the rest was only counted. */
Test(spill, the_bound_is_reported_in_the_viewer)
{
    struct transcript t;
    transcript_init(&t, SESSION_POP3);
    char err[300];
    cr_assert_eq(transcript_spill(&t, 1000, err, sizeof err), 0, "%s", err);
    char line[] = "0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    for (int i = 0; i < 100; i++) {
        struct session_event ev = { .type = SEV_LITERAL, .op = OP_RAW,
                                    .data = (const uint8_t *)line, .len = strlen(line) };
        transcript_append(&t, &ev);
    }
    cr_assert_eq(t.ev[0].literal_seen, 100 * strlen(line));
    uint64_t off, len;
    cr_assert(transcript_spilled(&t, &t.ev[0], &off, &len));
    cr_assert_eq(len, 1000);
    struct textview tv;
    tv_init(&tv);
    tpane_literal_page(&t, 1, 0, &tv);
    size_t tlen;
    cr_assert(strstr(tv_text(&tv, 0, &tlen), "--spill-max"), "%s", tv_text(&tv, 0, &tlen));
    tv_free(&tv);
    transcript_free(&t);
}
