/* tlsrun — one short run that looks at a server's TLS and nothing else:
 * connect, greeting, STARTTLS/STLS when the port is not implicit TLS, the
 * handshake, log out. No credentials are ever sent. It reuses the step plan
 * and the transcript, so its facts (t.tls) and its verdict (report_evaluate)
 * are the probe's own. Several runs can share one loop (--compare); the
 * console can drive them from its loop with tlsrun_advance(). */
#ifndef MAILSCOPE_TLSRUN_H
#define MAILSCOPE_TLSRUN_H

#include <stdbool.h>

#include "loop.h"
#include "plan.h"
#include "session.h"
#include "transcript.h"

struct tlsrun_target {
    enum session_proto proto;
    const char *host;
    unsigned port;
    bool implicit;              /* implicit TLS; otherwise STARTTLS/STLS, required */
    int family;                 /* AF_UNSPEC, AF_INET, AF_INET6 */
    struct tls_params tls;      /* servername, trust anchors, versions */
    bool insecure;              /* go on to the greeting/logout after a failed verification */
    int timeout_ms;
};

struct tlsrun {
    struct transcript t;
    struct plan plan;
    struct session *s;
    bool started, finished;
};

/* Start; 0, or -1 (out of memory) with *r unusable for anything but free. */
int tlsrun_start(struct tlsrun *r, struct loop *l, const struct tlsrun_target *tg);
/* Call when the loop turn is over: starts the next step when the session is
 * idle. Returns true once the run has finished. */
bool tlsrun_advance(struct tlsrun *r);
/* Drive n runs on l until all have finished. */
void tlsrun_wait(struct loop *l, struct tlsrun *runs, size_t n);
/* The handshake completed (whatever verification said). */
bool tlsrun_handshake_done(const struct tlsrun *r);
void tlsrun_free(struct tlsrun *r);

#endif
