/* ipane — the inspector pane: tabs Chain, TLS, Capabilities, Diagnosis,
 * Walkthrough, each drawn from the transcript and the session as they are
 * now. Capabilities show what appeared (+) and vanished (-) across TLS and
 * login. In a replay (ip->rec set) the same tabs show the recording: its
 * capabilities, the diagnoses it recorded, its walkthrough steps, the chain
 * judged at the time it was recorded. */
#ifndef MAILSCOPE_IPANE_H
#define MAILSCOPE_IPANE_H

#include <curses.h>

#include "logscan.h"
#include "options.h"
#include "rules.h"
#include "session.h"
#include "textview.h"
#include "transcript.h"
#include "walk.h"
#include "recording.h"

enum ipane_tab { TAB_CHAIN, TAB_TLS, TAB_CAPS, TAB_DIAGNOSIS, TAB_WALKTHROUGH, TAB_COUNT };

struct ipane {
    enum ipane_tab tab;
    int soon_days;          /* expires-soon threshold (--expiry-warn) */
    struct textview tv;
    const struct ms_options *o;     /* the console's: host and user for the fix steps */
    struct ruleset rules;           /* the diagnosis rules, loaded on first use */
    bool rules_loaded;
    /* what the content was built from: rebuilt only when one changes */
    size_t built_events;
    enum ipane_tab built_tab;
    const struct session *built_session;
    bool built;
    char rules_warn[512];
    /* the Walkthrough tab: set by the console before each paint */
    const struct walk *walk;        /* NULL: none started */
    bool walk_checking;             /* its current check is running */
    unsigned built_walk_gen;
    bool built_walk_checking;
    const struct walk *built_walk;
    struct logscan_evidence log;    /* /log or --server-log; n == 0 when none */
    bool have_log;
    /* replay: the recording's capabilities, diagnoses and clock stand in for
     * the session's (NULL when live) */
    const struct recording *rec;
};

void ipane_init(struct ipane *ip);
void ipane_free(struct ipane *ip);
/* Rebuild the current tab's content when the tab, the session or the
 * transcript changed since the last time (s may be NULL before any session). */
void ipane_refresh(struct ipane *ip, const struct transcript *t, const struct session *s);
/* The tab bar on row 0 of w, the content below. */
void ipane_draw(struct ipane *ip, WINDOW *w, bool focused);
const char *ipane_tab_name(enum ipane_tab tab);

#endif
