/* walkcheck — the automatic checks of a walkthrough (playbook.h: connect,
 * starttls, cert-name, login, backend, tls-versions, sni; a retest is a login).
 * Each runs on the caller's loop through the existing engine paths: a full
 * session with the step plan (connect, login: as probe does), a tlsrun
 * (starttls, backend, cert-name), the TLS-version runs (tlsversions.h), the
 * two handshakes with and without SNI (sni.h).
 * Start one, then call walkcheck_advance() after every loop turn until it
 * returns true (the console), or walkcheck_wait() (batch). The result is a
 * pass or a fail with a sanitised detail for the operator and the ticket.
 * The options and fallback TLS facts are borrowed for the check's life
 * (the secret is copied). No credential is sent by any check but login. */
#ifndef MAILSCOPE_WALKCHECK_H
#define MAILSCOPE_WALKCHECK_H

#include <stdbool.h>

#include "loop.h"
#include "options.h"
#include "plan.h"
#include "playbook.h"
#include "sni.h"
#include "tlsrun.h"
#include "tlsversions.h"
#include "transcript.h"

struct walkcheck_target {
    const struct ms_options *o;     /* URL, TLS mode, trust, user, timeouts */
    const char *secret;             /* for login (NULL: the login check fails, saying why) */
    bool auth_set;                  /* login: use auth, not the options' mechanism */
    enum session_auth auth;
    unsigned backend_port;          /* 0: 1993 for IMAP, 1995 for POP3 */
    const char *server_fqdn;        /* cert-name: the server's own name ("" unknown) */
    const struct tls_info *fallback_tls;  /* cert-name: the diagnosed session's facts, used
                                           * when a new connection gets no certificate */
};

struct walkcheck_run {              /* a session with the step plan, as probe runs it */
    struct transcript t;
    struct plan plan;
    struct session *s;
};

struct walkcheck {
    enum pb_check kind;             /* PBC_LOGIN for a retest */
    struct walkcheck_target tg;
    bool finished, passed;
    char detail[1200];
    struct walkcheck_run run;       /* connect, login */
    bool have_run;
    struct tlsrun tr;               /* starttls, backend, cert-name */
    bool have_tr;
    struct tlsversions *tv;         /* tls-versions */
    struct tlsversions_job job;
    struct sni_check *sni;          /* sni */
    char *secret;                   /* the check's own copy of tg.secret (the console may
                                     * replace its password while the check runs) */
};

/* Start kind (PBC_LOGIN for a retest). Always gives a walkcheck that
 * walkcheck_advance() finishes (a start failure is a failed check). */
void walkcheck_start(struct walkcheck *c, struct loop *l, enum pb_check kind,
                     const struct walkcheck_target *tg);
bool walkcheck_advance(struct walkcheck *c);
void walkcheck_wait(struct loop *l, struct walkcheck *c);
void walkcheck_free(struct walkcheck *c);

#endif
