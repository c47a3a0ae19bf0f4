/* tpane — the transcript pane: turns transcript events into coloured,
 * sanitised lines (C:/S: with time, TLS banners, discarded bytes, timings,
 * notices) in a textview. Lines sent or received in clear text carry a
 * marked prefix. It reads the transcript; it keeps no second record: a sent
 * or received line is a key (the event's index) that the pane renders when
 * the view draws or searches it (the view is its tv_source). */
#ifndef MAILSCOPE_TPANE_H
#define MAILSCOPE_TPANE_H

#include <stdbool.h>

#include "textview.h"
#include "transcript.h"

struct tpane {
    struct textview tv;
    size_t consumed;        /* transcript events already shown */
    bool raw;               /* /raw on: hex next to lines that are not plain text */
    const struct transcript *t; /* the one the keyed lines render from (tpane_sync's) */
    /* Keyed lines whose shown text is not their bytes (escapes, cut): a
     * search renders these; rising event indices. */
    uint32_t *odd;
    size_t n_odd, cap_odd;
    /* Every TPANE_MARK_EVERY events shown: how many lines and odd keys the
     * view had then, so that going back (replay) re-shows a few events. */
    struct tpane_mark { size_t consumed, lines, n_odd; } *marks;
    size_t n_marks, cap_marks;
    int64_t stamp_sec;      /* the second stamp_hms shows */
    char stamp_hms[16];
};

/* tp must stay where it is from here on: its view's source points at it. */
void tpane_init(struct tpane *tp);
void tpane_free(struct tpane *tp);
/* Show the events added since the last call. Returns true when it added lines. */
bool tpane_sync(struct tpane *tp, const struct transcript *t);
/* Forget the shown lines (the transcript keeps them); later events still show. */
void tpane_clear(struct tpane *tp, const struct transcript *t);
/* Rebuild from the start (after /raw on|off). */
void tpane_rebuild(struct tpane *tp);
/* Show only the events before pos from now on (a replay going back): the
 * lines of later events go, the few since the last mark are shown again by
 * the next tpane_sync. */
void tpane_truncate(struct tpane *tp, size_t pos);
/* The transcript is about to go (a new connection): the lines shown so far
 * become the view's own copies. */
void tpane_detach(struct tpane *tp);
/* Fill out with the kept bytes of the literal that line ref (a textview
 * reference set by the pane) stands for, one line per line. */
void tpane_literal_view(const struct transcript *t, uint32_t ref, struct textview *out);
/* The same for page `page` (TPANE_PAGE_BYTES each) of a literal kept whole in
 * the transcript's spill store; clamped to the last page. Returns the page
 * shown; without a spill store there is one page, the preview. */
#define TPANE_PAGE_BYTES (1u << 20)
uint64_t tpane_literal_page(const struct transcript *t, uint32_t ref, uint64_t page,
                            struct textview *out);
/* One line of the operator's own (help output, /b64 results). */
void tpane_info(struct tpane *tp, enum role role, const char *text);

#endif
