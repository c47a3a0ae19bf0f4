/* plan — the step plan of a troubleshooting session, shared by probe and
 * the console: connect, capability, STARTTLS, capability, login, select
 * (STAT), logout. It decides each next step from what the session knows
 * (capabilities, TLS, state), skips what is not needed (capabilities from
 * the greeting cost no round trip) and stops at the first failure, logging
 * out politely when the connection is still up.
 * IMAP: when the server offers ID and the greeting and capabilities do not
 * already name its family and version, "ID NIL" goes out once, in the same
 * write as the first step after TLS that waits for an answer anyway (the
 * capability request after STARTTLS, discovery, login, select, the command):
 * it costs no round trip, and its answer (a refusal too) never fails the
 * plan nor changes what the next step sees. Never before TLS when TLS is to
 * come; no_id turns it off; a run with no such step sends none.
 * Use: plan_on_event() for every session event; when the session is not
 * busy and the loop turn is over, plan_advance() starts the next step
 * (the console calls plan_settle() first, to show which one). */
#ifndef MAILSCOPE_PLAN_H
#define MAILSCOPE_PLAN_H

#include <stdbool.h>

#include "session.h"
#include "transcript.h"

enum plan_tls { PLAN_TLS_AUTO, PLAN_TLS_STARTTLS, PLAN_TLS_IMPLICIT, PLAN_TLS_NONE };
enum plan_until { PLAN_UNTIL_ALL, PLAN_UNTIL_CONNECT, PLAN_UNTIL_GREETING, PLAN_UNTIL_CAPABILITY,
                  PLAN_UNTIL_STARTTLS, PLAN_UNTIL_AUTH, PLAN_UNTIL_SELECT };
enum plan_step { STEP_CONNECT, STEP_CAPABILITY, STEP_STARTTLS, STEP_CAPABILITY_TLS, STEP_DISCOVER,
                 STEP_LOGIN, STEP_SELECT, STEP_COMMAND, STEP_LOGOUT, STEP_DONE };

struct plan_options {
    enum plan_tls tls;
    enum plan_until until;
    enum session_auth auth;
    const char *user;           /* NULL: no login step (unless EXTERNAL or NTLM) */
    const char *secret;         /* NULL: no login step (unless EXTERNAL or NTLM) */
    const char *mailbox;        /* IMAP: EXAMINE this; default INBOX */
    bool interactive;           /* credentials are asked when the login step comes */
    bool no_discover;           /* no NTLM round trip to learn an Exchange server's name */
    bool no_id;                 /* IMAP: never send ID NIL along with a step */
    const char *command;        /* probe --command: one line sent as typed after select
                                 * (IMAP gets a tag), e.g. "FETCH 1 BODY[]" or "RETR 1" */
};

struct plan {
    struct session *s;
    struct transcript *t;       /* notes of skipped steps go here */
    struct plan_options o;
    enum session_proto proto;
    enum plan_step next;
    bool closing;               /* the plan closed the session: later endings are its own */
    bool started_tls;           /* STARTTLS was done: capabilities must be asked again */
    bool failed;
    enum failure_class fail;
    char message[1024];
    bool cert_unverified;       /* TLS verification failed and --insecure went on */
    bool login_ok;
    bool discovering;           /* the NTLM discovery round trip is in flight */
    bool ntlm_probed;           /* NTLM challenge decoded, login cancelled on purpose */
    bool id_sent;               /* the plan's ID NIL went out (once a session) */
    bool id_pending;            /* ... and its answer is still to come */
};

void plan_init(struct plan *p, struct session *s, struct transcript *t, enum session_proto proto,
               const struct plan_options *o);
void plan_on_event(struct plan *p, const struct session_event *ev);
/* Pass over the steps that need no round trip now (capabilities known,
 * STARTTLS not offered in auto mode...), noting why; call it when the
 * session is not busy. plan_next() then names the step that will run. */
void plan_settle(struct plan *p);
/* Start the next step; returns true when one was started, false when done. */
bool plan_advance(struct plan *p);
bool plan_done(const struct plan *p);
/* The step the next plan_advance() considers (the console's step bar). */
enum plan_step plan_next(const struct plan *p);
/* Pass over the next step without running it. */
void plan_skip(struct plan *p);
/* What that step will send, for the operator to see first: "STARTTLS",
 * "LOGIN alice *****", "EXAMINE INBOX" (with " + ID NIL" when an ID rides
 * along); "" when nothing is left. */
void plan_preview(const struct plan *p, char *buf, size_t cap);
const char *plan_step_name(enum plan_step st, enum session_proto proto);
int plan_until_parse(const char *s, enum plan_until *out);
int plan_tls_parse(const char *s, enum plan_tls *out);

#endif
