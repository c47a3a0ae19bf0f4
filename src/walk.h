/* walk — runs one playbook (playbook.h): a state machine over its steps.
 * Headless: it never touches the network itself. When the current step is
 * a check or a retest the face runs it (walkcheck.h, synchronously in batch,
 * from its loop in the console) and hands the result to walk_check_result();
 * an action or a question waits for walk_answer(). Each transition goes to
 * the next step the playbook names for that result.
 * Every step shown, every answer, note and outcome is recorded in the
 * transcript as a TR_WALK event: ref "playbook/step" (the playbook's id
 * alone for its start and end), outcome "shown" (the step's filled text),
 * "command" and "note" (each of its commands and notes, filled), "passed",
 * "failed", "done", "skipped", "answer" (the check's detail, or the answer
 * and the operator's note), "started" when it begins and at the end
 * "resolved", "unresolved" or "stopped".
 * The walk copies the names it fills placeholders with (host, user, server
 * FQDN...) so it outlives the evidence it was started from. */
#ifndef MAILSCOPE_WALK_H
#define MAILSCOPE_WALK_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "playbook.h"
#include "transcript.h"

#define WALK_MAX_HISTORY 128        /* steps taken; a loop past it stops the walk */

enum walk_status { WALK_RUNNING, WALK_RESOLVED, WALK_UNRESOLVED, WALK_STOPPED };

/* The names placeholders are filled with, copied from the evidence. */
struct walk_names {
    bool pop3;
    unsigned port;
    unsigned backend_port;          /* --backend-port; 0: 1993 / 1995 */
    char host[256], user[256], url[512], server_fqdn[256], server_short[64], cert_cn[256];
};

struct walk_entry {
    int step;                   /* index in the playbook */
    char outcome[16];           /* "passed", "done", "answer" ... */
    char *text;                 /* the check's detail, or the answer and note (sanitised) */
};

struct walk {
    const struct playbook *pb;  /* borrowed: must outlive the walk */
    struct transcript *t;       /* borrowed: where the steps are recorded (may be NULL) */
    struct walk_names names;
    struct diag_evidence e;     /* points into names: what diag_fill() reads */
    int cur;                    /* the current step, PB_END when the walk is over */
    enum walk_status status;
    bool last_retest_passed;
    struct walk_entry hist[WALK_MAX_HISTORY];
    size_t n_hist;
    unsigned gen;               /* changes with every transition (the console repaints) */
};

void walk_names_from(struct walk_names *n, const struct diag_evidence *e);

/* Start pb at its first step (recorded as shown). */
void walk_start(struct walk *w, const struct playbook *pb, const struct walk_names *names,
                struct transcript *t);
void walk_free(struct walk *w);

/* The current step, or NULL when the walk is over. */
const struct pb_step *walk_current(const struct walk *w);
bool walk_over(const struct walk *w);
/* The current step is one the program performs (check or retest). */
bool walk_wants_check(const struct walk *w);

/* The operator's answer to the current action or question: for an action
 * "done", "failed" or "skip"/"skipped"; for a question one of its answer
 * words (case does not matter). note may be NULL or "". 0, or -1 with a
 * message for the operator (nothing changes). */
int walk_answer(struct walk *w, const char *word, const char *note, char *err, size_t errlen);
/* The result of the current check or retest; detail says what was seen. */
void walk_check_result(struct walk *w, bool passed, const char *detail);
/* The operator leaves the walk (recorded as stopped, with why). */
void walk_stop(struct walk *w, const char *why);

/* s with the walk's placeholders filled and sanitised (caller frees). */
char *walk_fill(const struct walk *w, const char *s);
/* The answers the current step accepts, e.g. "done, failed, skip" or "yes, no". */
void walk_expected(const struct walk *w, char *buf, size_t cap);
const char *walk_status_name(enum walk_status s);

/* The playbook to run: id, or (id NULL, "" or "auto") the one that follows
 * the best-ranked hypothesis of r that a playbook for e's protocol and
 * server family follows (*rule gets that rule's id). NULL with a message for the operator in err. */
const struct playbook *walk_pick(const struct playbook_set *set, const char *id,
                                 const struct diag_result *r, const struct diag_evidence *e,
                                 const char **rule, char *err, size_t errlen);

#endif
