/* tpane — the transcript pane: turns transcript events into coloured,
 * sanitised lines (C:/S: with time, TLS banners, discarded bytes, timings,
 * notices) in a textview. Lines sent or received in clear text carry a
 * marked prefix. It reads the transcript; it keeps no second record. */
#ifndef MAILSCOPE_TPANE_H
#define MAILSCOPE_TPANE_H

#include <stdbool.h>

#include "textview.h"
#include "transcript.h"

struct tpane {
    struct textview tv;
    size_t consumed;        /* transcript events already shown */
    bool raw;               /* /raw on: hex next to lines that are not plain text */
};

void tpane_init(struct tpane *tp);
void tpane_free(struct tpane *tp);
/* Show the events added since the last call. Returns true when it added lines. */
bool tpane_sync(struct tpane *tp, const struct transcript *t);
/* Forget the shown lines (the transcript keeps them); later events still show. */
void tpane_clear(struct tpane *tp, const struct transcript *t);
/* Rebuild from the start (after /raw on|off). */
void tpane_rebuild(struct tpane *tp);
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
