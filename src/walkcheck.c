#include "walkcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certnames.h"
#include "sanitize.h"
#include "secret.h"

static void detail(struct walkcheck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail(struct walkcheck *c, const char *fmt, ...)
{
    char buf[sizeof c->detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *clean = sanitize_text(buf, strlen(buf), sizeof c->detail - 1);
    snprintf(c->detail, sizeof c->detail, "%s", clean ? clean : "");
    free(clean);
}

static void done(struct walkcheck *c, bool passed)
{
    c->finished = true;
    c->passed = passed;
}

static unsigned backend_port(const struct walkcheck *c)
{
    if (c->tg.backend_port)
        return c->tg.backend_port;
    return c->tg.o->url.proto == SESSION_POP3 ? 1995 : 1993;
}

/* ---- a session with the plan (connect, login) ---------------------------- */

static void on_run_event(void *arg, const struct session_event *ev)
{
    struct walkcheck_run *r = arg;
    transcript_append(&r->t, ev);
    plan_on_event(&r->plan, ev);
}

static bool needs_secret(enum session_auth a) { return a != AUTH_EXTERNAL && a != AUTH_NTLM; }

static int run_start(struct walkcheck *c, struct loop *l, enum plan_until until)
{
    const struct ms_options *o = c->tg.o;
    struct walkcheck_run *r = &c->run;
    transcript_init(&r->t, o->url.proto);
    c->have_run = true;
    struct session_params sp = options_session_params(o);
    r->s = session_new(l, &sp, on_run_event, r);
    if (!r->s)
        return -1;
    struct plan_options po = { .tls = o->tls, .until = until,
                               .auth = c->tg.auth_set ? c->tg.auth : o->auth,
                               .no_discover = true, .no_id = true, .user = o->user, .secret = c->tg.secret };
    plan_init(&r->plan, r->s, &r->t, o->url.proto, &po);
    return 0;
}

static bool run_advance(struct walkcheck_run *r)
{
    if (!session_busy(r->s) && !plan_done(&r->plan))
        plan_advance(&r->plan);
    return !session_busy(r->s) && plan_done(&r->plan);
}

/* The last line the server sent in answer to op, or NULL. */
static const char *reply_to(const struct transcript *t, enum session_op op)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->ev[i].kind == TR_RECEIVED && t->ev[i].op == op && t->ev[i].data)
            return (const char *)t->ev[i].data;
    return NULL;
}

static void judge_connect(struct walkcheck *c)
{
    struct walkcheck_run *r = &c->run;
    const char *g = session_greeting(r->s);
    if (!r->plan.failed && g[0]) {
        detail(c, "%s:%u answers: %s", c->tg.o->url.host, c->tg.o->url.port, g);
        done(c, true);
    } else {
        detail(c, "%s:%u: %s", c->tg.o->url.host, c->tg.o->url.port,
               r->plan.message[0] ? r->plan.message : "no greeting");
        done(c, false);
    }
}

static void judge_login(struct walkcheck *c)
{
    struct walkcheck_run *r = &c->run;
    const char *reply = reply_to(&r->t, OP_LOGIN);
    if (r->plan.login_ok) {
        detail(c, "login as %s succeeded%s%s", c->tg.o->user ? c->tg.o->user : "?",
               reply ? ": " : "", reply ? reply : "");
        done(c, true);
        return;
    }
    const char *why = reply ? reply : r->plan.message[0] ? r->plan.message
                    : "the login step did not run";
    detail(c, "login as %s failed: %s", c->tg.o->user ? c->tg.o->user : "?", why);
    done(c, false);
}

/* ---- one TLS handshake (starttls, backend, cert-name) ------------------- */

static int tr_start(struct walkcheck *c, struct loop *l, unsigned port, bool implicit)
{
    const struct ms_options *o = c->tg.o;
    struct tlsrun_target tg = {
        .proto = o->url.proto, .host = o->url.host, .port = port, .implicit = implicit,
        .family = o->family, .tls = options_session_params(o).tls, .insecure = true,
        .timeout_ms = o->timeout_ms };
    c->have_tr = true;
    return tlsrun_start(&c->tr, l, &tg);
}

static const char *cert_cn(const struct tls_info *tls)
{
    struct certnames f;
    certnames_facts(tls, NULL, NULL, &f);
    return f.subject_cn ? f.subject_cn : f.n_dns ? f.dns[0] : "(none)";
}

/* Bytes the other side sent outside TLS: Exchange's "* BYE ... 14". */
static const char *clear_bytes(const struct transcript *t)
{
    for (size_t i = 0; i < t->n; i++)
        if ((t->ev[i].kind == TR_DISCARDED || t->ev[i].kind == TR_RECEIVED) && t->ev[i].data &&
            !t->ev[i].secure)
            return (const char *)t->ev[i].data;
    return NULL;
}

static void judge_starttls(struct walkcheck *c)
{
    const struct tls_info *tls = &c->tr.t.tls;
    unsigned port = c->tg.o->url.port;
    if (tlsrun_handshake_done(&c->tr)) {
        /* what a client needs: a handshake and, unless --insecure, a chain it trusts */
        bool ok = tls->verified || c->tg.o->insecure;
        detail(c, "port %u: %s %s, certificate %s: %s%s", port, tls->version, tls->cipher,
               cert_cn(tls), tls->verified ? "verified" : "NOT verified: ",
               tls->verified ? "" : tls->verify_error);
        done(c, ok);
    } else {
        detail(c, "port %u: no TLS: %s", port,
               c->tr.plan.message[0] ? c->tr.plan.message : "the handshake did not complete");
        done(c, false);
    }
}

static void judge_backend(struct walkcheck *c)
{
    const struct tls_info *tls = &c->tr.t.tls;
    unsigned port = backend_port(c);
    const char *g = session_greeting(c->tr.s);
    if (tlsrun_handshake_done(&c->tr) && g[0] && !c->tr.plan.failed) {
        detail(c, "backend port %u answers with %s, certificate %s; greeting: %s", port,
               tls->version, cert_cn(tls), g);
        done(c, true);
        return;
    }
    const char *clear = clear_bytes(&c->tr.t);
    detail(c, "backend port %u: %s%s%s%s", port,
           c->tr.plan.message[0] ? c->tr.plan.message : "no TLS greeting",
           clear ? "; it sent in clear text: \"" : "", clear ? clear : "", clear ? "\"" : "");
    done(c, false);
}

static void judge_cert_name(struct walkcheck *c)
{
    const struct tls_info *tls = tlsrun_handshake_done(&c->tr) ? &c->tr.t.tls : NULL;
    const char *from = "a new connection";
    if (!tls || !tls->n_chain) {
        tls = c->tg.fallback_tls && c->tg.fallback_tls->n_chain ? c->tg.fallback_tls : NULL;
        from = "the diagnosed session (no new handshake)";
    }
    const char *fqdn = c->tg.server_fqdn ? c->tg.server_fqdn : "";
    if (!fqdn[0]) {
        detail(c, "the server's own name is unknown (no NTLM challenge, no name in the greeting)");
        done(c, false);
        return;
    }
    if (!tls) {
        detail(c, "no certificate to compare with %s", fqdn);
        done(c, false);
        return;
    }
    struct certnames f;
    certnames_facts(tls, fqdn, "evidence", &f);
    char dns[600] = "";
    for (size_t i = 0, o = 0; i < f.n_dns && o + 2 < sizeof dns; i++)
        o += (size_t)snprintf(dns + o, sizeof dns - o, "%s%s", i ? ", " : "", f.dns[i]);
    bool ok = f.server_name_match == 1;
    detail(c, "the certificate from %s (CN %s%s%s) %s the server's own name %s", from,
           f.subject_cn ? f.subject_cn : "none", dns[0] ? "; DNS " : "", dns,
           ok ? "carries" : "does not carry", fqdn);
    done(c, ok);
}

/* ---- TLS versions --------------------------------------------------------- */

static int tv_start(struct walkcheck *c, struct loop *l)
{
    const struct ms_options *o = c->tg.o;
    c->tv = calloc(1, sizeof *c->tv);
    if (!c->tv)
        return -1;
    struct tlsrun_target tg = {
        .proto = o->url.proto, .host = o->url.host, .port = o->url.port,
        .implicit = o->tls == PLAN_TLS_IMPLICIT, .family = o->family,
        .tls = options_session_params(o).tls, .timeout_ms = o->timeout_ms };
    tlsversions_begin(&c->job, l, &tg, o->url_text ? o->url_text : "", c->tv);
    return 0;
}

static void judge_versions(struct walkcheck *c)
{
    bool modern = false;
    for (size_t i = 0; i < TLSVERSIONS_N; i++)
        modern |= c->tv->res[i].outcome == TLSVER_ACCEPTED &&
                  c->tv->res[i].version >= TLS_VERSION_1_2;
    detail(c, "%s", c->tv->summary);
    done(c, modern);
}

/* ---- the certificate with and without SNI ------------------------------------ */

static int sni_start(struct walkcheck *c, struct loop *l)
{
    const struct ms_options *o = c->tg.o;
    char err[300];
    if (o->tls == PLAN_TLS_NONE || !sni_name_for(o->url.host, o->servername, err, sizeof err)) {
        detail(c, "%s", o->tls == PLAN_TLS_NONE ? "the sni check needs TLS (not --tls=none)" : err);
        done(c, false);
        return 0;
    }
    struct sni_options so = sni_options_of(o);
    c->sni = sni_new(l, &so);
    return c->sni ? 0 : -1;
}

/* Passes when a client without SNI is as well off as one with it. */
static void judge_sni(struct walkcheck *c)
{
    detail(c, "%s", c->sni->summary);
    done(c, c->sni->differs == 0 || (c->sni->differs > 0 && c->sni->default_covers > 0));
}

/* ---- the interface ------------------------------------------------------- */

void walkcheck_start(struct walkcheck *c, struct loop *l, enum pb_check kind,
                     const struct walkcheck_target *tg)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->tg = *tg;
    c->secret = tg->secret ? strdup(tg->secret) : NULL;
    c->tg.secret = c->secret;
    const struct ms_options *o = tg->o;
    int rc = 0;
    switch (kind) {
    case PBC_CONNECT: rc = run_start(c, l, PLAN_UNTIL_GREETING); break;
    case PBC_LOGIN:
        if (needs_secret(tg->auth_set ? tg->auth : o->auth) && (!o->user || !tg->secret)) {
            detail(c, "no %s to log in with: give --user (or user@ in the URL) and "
                   "--password-env or --password-file%s", !o->user ? "user name" : "password",
                   " (in the console, /login once asks for it)");
            done(c, false);
            return;
        }
        rc = run_start(c, l, PLAN_UNTIL_AUTH);
        break;
    case PBC_STARTTLS: case PBC_CERT_NAME:
        rc = tr_start(c, l, o->url.port, o->tls == PLAN_TLS_IMPLICIT);
        break;
    case PBC_BACKEND: rc = tr_start(c, l, backend_port(c), true); break;
    case PBC_TLS_VERSIONS: rc = tv_start(c, l); break;
    case PBC_SNI: rc = sni_start(c, l); break;
    default:
        detail(c, "unknown check");
        done(c, false);
        return;
    }
    if (rc < 0) {
        detail(c, "out of memory");
        done(c, false);
    }
}

bool walkcheck_advance(struct walkcheck *c)
{
    if (c->finished)
        return true;
    switch (c->kind) {
    case PBC_CONNECT:
        if (run_advance(&c->run))
            judge_connect(c);
        break;
    case PBC_LOGIN:
        if (run_advance(&c->run))
            judge_login(c);
        break;
    case PBC_STARTTLS: case PBC_CERT_NAME: case PBC_BACKEND:
        if (tlsrun_advance(&c->tr))
            c->kind == PBC_STARTTLS ? judge_starttls(c)
            : c->kind == PBC_BACKEND ? judge_backend(c) : judge_cert_name(c);
        break;
    case PBC_TLS_VERSIONS:
        if (tlsversions_advance(&c->job))
            judge_versions(c);
        break;
    case PBC_SNI:
        if (sni_advance(c->sni))
            judge_sni(c);
        break;
    default:
        done(c, false);
    }
    return c->finished;
}

void walkcheck_wait(struct loop *l, struct walkcheck *c)
{
    while (!walkcheck_advance(c))
        if (loop_run_once(l, 1000) < 0 && errno != EINTR) {
            detail(c, "the event loop failed");
            done(c, false);
        }
}

void walkcheck_free(struct walkcheck *c)
{
    if (c->have_run) {
        if (c->run.s)
            session_free(c->run.s);
        transcript_free(&c->run.t);
    }
    if (c->have_tr)
        tlsrun_free(&c->tr);
    if (c->tv) {
        tlsversions_job_free(&c->job);
        free(c->tv);
    }
    sni_free(c->sni);
    secret_free(c->secret);
    memset(c, 0, sizeof *c);
}
