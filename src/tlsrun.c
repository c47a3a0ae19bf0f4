/* tlsrun — connect, (STARTTLS,) handshake, log out. */
#include "tlsrun.h"

#include <errno.h>
#include <string.h>

static void on_event(void *arg, const struct session_event *ev)
{
    struct tlsrun *r = arg;
    transcript_append(&r->t, ev);
    plan_on_event(&r->plan, ev);
}

int tlsrun_start(struct tlsrun *r, struct loop *l, const struct tlsrun_target *tg)
{
    memset(r, 0, sizeof *r);
    transcript_init(&r->t, tg->proto);
    struct session_params sp = {
        .proto = tg->proto, .host = tg->host, .port = tg->port, .family = tg->family,
        .implicit_tls = tg->implicit, .tls_required = true, .tls = tg->tls,
        .insecure = tg->insecure, .timeout_ms = tg->timeout_ms };
    r->s = session_new(l, &sp, on_event, r);
    if (!r->s)
        return -1;
    /* No user, no secret: the plan skips login. Implicit TLS is done once the
     * greeting arrives; STARTTLS once the handshake after it is. */
    struct plan_options po = {
        .tls = tg->implicit ? PLAN_TLS_IMPLICIT : PLAN_TLS_STARTTLS,
        .until = tg->implicit ? PLAN_UNTIL_GREETING : PLAN_UNTIL_STARTTLS };
    plan_init(&r->plan, r->s, &r->t, tg->proto, &po);
    r->started = true;
    return 0;
}

bool tlsrun_advance(struct tlsrun *r)
{
    if (r->finished || !r->started)
        return true;
    if (!session_busy(r->s) && !plan_done(&r->plan))
        plan_advance(&r->plan);
    r->finished = !session_busy(r->s) && plan_done(&r->plan);
    return r->finished;
}

void tlsrun_wait(struct loop *l, struct tlsrun *runs, size_t n)
{
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            all &= tlsrun_advance(&runs[i]);
        if (all)
            return;
        if (loop_run_once(l, 1000) < 0 && errno != EINTR)
            return;
    }
}

bool tlsrun_handshake_done(const struct tlsrun *r)
{
    /* A cipher exists only once a handshake completed. */
    return r->t.has_tls && r->t.tls.cipher[0];
}

void tlsrun_free(struct tlsrun *r)
{
    if (r->s)
        session_free(r->s);
    transcript_free(&r->t);   /* fine on a transcript that never got an event */
    memset(r, 0, sizeof *r);
}
