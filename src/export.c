#include "export.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "version.h"

void export_ctx_init(struct export_ctx *x, const struct plan *p, const struct transcript *t,
                     struct session *s, const struct report_target *tg,
                     const struct report_verdict *v)
{
    *x = (struct export_ctx){ .p = p, .t = t, .s = s, .tg = tg, .v = v };
    redact_init(&x->red, tg->redact_user, tg->user);
}

char *export_clean(const struct export_ctx *x, const void *data, size_t len, size_t max)
{
    size_t n;
    char *scrubbed = redact_scrub(&x->red, data ? data : "", data ? len : 0, &n);
    char *clean = scrubbed ? sanitize_text(scrubbed, n, max) : NULL;
    free(scrubbed);
    return clean ? clean : strdup("");
}

char *export_scrub(const struct export_ctx *x, const char *text)
{
    size_t n;
    char *s = redact_scrub(&x->red, text ? text : "", text ? strlen(text) : 0, &n);
    return s ? s : strdup("");
}

/* ---- header --------------------------------------------------------------- */

static void start_times(const struct timespec *w, struct export_header *h)
{
    struct tm lt, ut;
    time_t sec = w->tv_sec;
    char base[48];
    int ms = (int)(w->tv_nsec / 1000000);
    if (localtime_r(&sec, &lt) && strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &lt)) {
        char zone[40];
        strftime(zone, sizeof zone, "%z %Z", &lt);
        snprintf(h->local, sizeof h->local, "%s.%03d %s", base, ms, zone);
    }
    if (gmtime_r(&sec, &ut) && strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &ut))
        snprintf(h->utc, sizeof h->utc, "%s.%03dZ", base, ms);
}

static const char *status_word(int code)
{
    static const char *const w[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
    return code >= 0 && code <= 3 ? w[code] : "UNKNOWN";
}

void export_header(const struct export_ctx *x, struct export_header *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->tool, sizeof h->tool, "mailscope %s", MAILSCOPE_VERSION);
    start_times(&x->t->wall0, h);
    char *url = export_clean(x, x->tg->url, x->tg->url ? strlen(x->tg->url) : 0, 600);
    snprintf(h->url, sizeof h->url, "%s", url);
    free(url);
    const char *addr = x->s ? session_address(x->s) : "";
    snprintf(h->address, sizeof h->address, "%s", addr ? addr : "");
    h->protocol = x->t->proto == SESSION_IMAP ? "IMAP" : "POP3";
    h->tls_requested = x->tg->tls_requested ? x->tg->tls_requested : "auto";
    const struct tls_info *tls = x->t->has_tls ? &x->t->tls : NULL;
    if (tls && tls->version[0])
        snprintf(h->tls_used, sizeof h->tls_used, "%s, %s %s%s%s", x->p && x->p->started_tls
                 ? "STARTTLS" : "implicit TLS", tls->version, tls->cipher,
                 tls->group[0] ? " " : "", tls->group);
    else
        snprintf(h->tls_used, sizeof h->tls_used, "%s", tls ? "handshake did not complete"
                                                             : "none (clear text)");
    h->redacted = redact_what(&x->red);
    h->status = status_word(x->v->exit_code);
    char *sum = export_scrub(x, x->v->summary);
    snprintf(h->summary, sizeof h->summary, "%s", sum);
    free(sum);
}

/* ---- the timeline --------------------------------------------------------- */

const char *export_state_name(enum session_state st)
{
    static const char *const n[] = { "idle", "connecting", "not authenticated",
                                     "authenticated", "selected", "logging out", "closed" };
    return (unsigned)st < sizeof n / sizeof *n ? n[st] : "?";
}


static char *fmt_dup(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_dup(const char *f, ...)
{
    char buf[2400];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return strdup(buf);
}

static char *tls_text(const struct export_ctx *x, const struct tr_event *e, enum export_role *role)
{
    const struct tls_info *tls = x->t->has_tls ? &x->t->tls : NULL;
    *role = EXR_TLS_BAD;
    if (!tls || !tls->version[0] || !tls->cipher[0])
        return fmt_dup("TLS handshake did not complete%s%s", tls && tls->alert[0]
                       ? ": the server sent the alert " : "", tls ? tls->alert : "");
    char *err = export_clean(x, tls->verify_error, strlen(tls->verify_error), 300);
    char *r;
    if (e->ok) {
        *role = EXR_TLS_OK;
        r = fmt_dup("%s established, %s%s%s, certificate verified", tls->version, tls->cipher,
                    tls->group[0] ? ", " : "", tls->group);
    } else {
        r = fmt_dup("%s established, %s%s%s, certificate NOT verified: %s", tls->version,
                    tls->cipher, tls->group[0] ? ", " : "", tls->group, err);
    }
    free(err);
    return r;
}

static char *ntlm_text(const struct export_ctx *x)
{
    const struct ntlm_challenge_info *n = &x->t->ntlm;
    char raw[1400];
    snprintf(raw, sizeof raw, "NTLM challenge: server %s (%s\\%s), DNS domain %s%s%s",
             n->dns_computer, n->netbios_domain, n->netbios_computer, n->dns_domain,
             n->os_version[0] ? ", Windows " : "", n->os_version);
    return export_clean(x, raw, strlen(raw), 0);
}

static char *step_text(const struct export_ctx *x, const struct tr_event *e)
{
    const char *name = session_op_name(e->op, x->t->proto);
    char *msg = export_clean(x, e->message, e->message ? strlen(e->message) : 0, 1000);
    char *r;
    if (e->ok)
        r = fmt_dup("%s: %s in %.1f ms%s%s", name, e->status && *e->status ? e->status : "done",
                    e->elapsed_us / 1000.0, *msg ? ": " : "", msg);
    else if (!e->fail)
        r = fmt_dup("%s: stopped after %.1f ms%s%s", name, e->elapsed_us / 1000.0,
                    *msg ? ": " : "", msg);
    else
        r = fmt_dup("%s FAILED%s%s%s after %.1f ms%s%s", name, e->fail ? " (" : "",
                    e->fail ? failure_class_name(e->fail) : "", e->fail ? ")" : "",
                    e->elapsed_us / 1000.0, *msg ? ": " : "", msg);
    free(msg);
    return r;
}

static char *message_text(const struct export_ctx *x, const char *prefix, const char *m)
{
    char *clean = export_clean(x, m, m ? strlen(m) : 0, 2000);
    char *r = fmt_dup("%s%s", prefix, clean);
    free(clean);
    return r;
}

static char *literal_text(const struct tr_event *e)
{
    char seen[40], total[40];
    transcript_count_text(e->literal_seen, seen, sizeof seen);
    transcript_count_text(e->literal_total, total, sizeof total);
    if (e->literal_total && e->literal_total != e->literal_seen)
        return fmt_dup("{literal: %s of %s bytes}", seen, total);
    return fmt_dup("{literal: %s bytes}", seen);
}

/* The text and role of one event; NULL when it has no line. */
static char *event_line(const struct export_ctx *x, const struct tr_event *e,
                        struct export_line *l)
{
    *l = (struct export_line){ .t_us = e->t_us, .secure = e->secure };
    switch (e->kind) {
    case TR_SENT:
        l->role = EXR_CLIENT, l->who = "C:";
        return export_clean(x, e->data, e->len, 0);
    case TR_RECEIVED:
        l->role = EXR_SERVER, l->who = "S:", l->server = true;
        return export_clean(x, e->data, e->len, 0);
    case TR_LITERAL:
        l->role = EXR_LITERAL, l->who = "S:";
        return literal_text(e);
    case TR_TLS:
        l->who = "TLS";
        return tls_text(x, e, &l->role);
    case TR_DISCARDED: {
        l->role = EXR_DISCARDED, l->who = "!!", l->server = true;
        char *clean = export_clean(x, e->data, e->len, 0);
        char *r = fmt_dup(e->op == OP_TLS
            ? "the server answered in PLAIN TEXT where TLS was due (%zu bytes, never trusted): %s"
            : "%zu bytes DISCARDED at STARTTLS (plain text, possible response injection, "
              "never part of TLS): %s", e->len, clean);
        free(clean);
        return r;
    }
    case TR_NOTICE:
        l->role = EXR_NOTICE, l->who = "!!";
        return message_text(x, "", e->message);
    case TR_NTLM:
        l->role = EXR_NTLM, l->who = "NTLM";
        return ntlm_text(x);
    case TR_STATE:
        l->role = EXR_STATE, l->who = "--";
        return fmt_dup("state: %s", export_state_name(e->state));
    case TR_OP_END:
        /* Not ok yet no failure: mailscope ended it on purpose (the NTLM
         * discovery, a reply not awaited), which is nothing to alarm a reader. */
        l->role = e->ok ? EXR_STEP_OK : e->fail ? EXR_STEP_FAIL : EXR_STEP_STOPPED;
        l->who = "--";
        return step_text(x, e);
    case TR_CLOSED:
        l->role = EXR_CLOSED, l->who = "--";
        return message_text(x, e->fail ? "connection closed (failure): " : "connection closed: ",
                            e->message ? e->message : "orderly");
    case TR_NOTE:
        l->role = EXR_NOTE, l->who = "NOTE";
        return message_text(x, "", e->message);
    case TR_WALK: {
        l->role = EXR_WALK, l->who = "WALK";
        char *ref = export_clean(x, e->ref, e->ref ? strlen(e->ref) : 0, 200);
        char *out = export_clean(x, e->status, e->status ? strlen(e->status) : 0, 60);
        char *msg = export_clean(x, e->message, e->message ? strlen(e->message) : 0, 2000);
        char *r = fmt_dup("%s [%s] %s", ref, out, msg);
        free(ref);
        free(out);
        free(msg);
        return r;
    }
    default:
        return NULL;
    }
}

void export_walk(const struct export_ctx *x, export_line_fn fn, void *arg)
{
    for (size_t i = 0; i < x->t->n; i++) {
        struct export_line l;
        char *text = event_line(x, &x->t->ev[i], &l);
        if (!text)
            continue;
        l.text = text;
        fn(arg, &l);
        free(text);
    }
}

struct run_arg {
    char c;
    size_t longest;
};

static void longest_run(void *arg, const struct export_line *l)
{
    struct run_arg *r = arg;
    size_t run = 0;
    for (const char *p = l->text; *p; p++) {
        run = *p == r->c ? run + 1 : 0;
        if (run > r->longest)
            r->longest = run;
    }
}

size_t export_longest_run(const struct export_ctx *x, char c)
{
    struct run_arg r = { c, 0 };
    export_walk(x, longest_run, &r);
    return r.longest;
}

/* ---- timings -------------------------------------------------------------- */

/* The operation's first sent line, to name a command ("a001 CAPABILITY"). */
static void timing_label(const struct export_ctx *x, size_t begin, struct export_timing *tm)
{
    const struct tr_event *b = &x->t->ev[begin];
    const char *name = session_op_name(b->op, x->t->proto);
    if (b->op == OP_CONNECT) {
        const char *addr = x->s ? session_address(x->s) : "";
        snprintf(tm->label, sizeof tm->label, "connect%s%s", addr && *addr ? " " : "",
                 addr ? addr : "");
        return;
    }
    if (b->op == OP_TLS) {
        snprintf(tm->label, sizeof tm->label, "TLS handshake");
        return;
    }
    for (size_t j = begin + 1; j < x->t->n; j++) {
        const struct tr_event *e = &x->t->ev[j];
        if (e->kind == TR_OP_END && e->op == b->op)
            break;
        if (e->kind == TR_SENT && (e->op == b->op || e->op == OP_RAW)) {
            char *clean = export_clean(x, e->data, e->len, 80);
            snprintf(tm->label, sizeof tm->label, "%s: %s", name, clean);
            free(clean);
            return;
        }
    }
    snprintf(tm->label, sizeof tm->label, "%s", name);
}

size_t export_timings(const struct export_ctx *x, struct export_timing **out)
{
    const struct transcript *t = x->t;
    size_t n = 0;
    *out = calloc(t->n ? t->n : 1, sizeof **out);
    for (size_t i = 0; *out && i < t->n; i++) {
        if (t->ev[i].kind != TR_OP_BEGIN)
            continue;
        struct export_timing *tm = &(*out)[n++];
        tm->start_us = t->ev[i].t_us;
        timing_label(x, i, tm);
        for (size_t j = i + 1; j < t->n; j++)
            if (t->ev[j].kind == TR_OP_END && t->ev[j].op == t->ev[i].op) {
                tm->done = true;
                tm->ok = t->ev[j].ok;
                tm->stopped = !t->ev[j].ok && !t->ev[j].fail;
                tm->dur_us = t->ev[j].elapsed_us > 0 ? t->ev[j].elapsed_us
                                                     : t->ev[j].t_us - tm->start_us;
                break;
            }
    }
    return n;
}

/* ---- the chain ------------------------------------------------------------ */

static void day_of(time_t t, char *buf, size_t n)
{
    struct tm tm;
    if (!t || !gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d", &tm))
        snprintf(buf, n, "?");
}

static char *names_of(const struct export_ctx *x, const struct cert_info *ci)
{
    size_t len = 0;
    for (size_t i = 0; i < ci->n_san; i++)
        len += (ci->san[i] ? strlen(ci->san[i]) : 0) + 2;
    char *all = malloc(len + 1);
    if (!all)
        return strdup("");
    size_t o = 0;
    for (size_t i = 0; i < ci->n_san; i++) {
        o += (size_t)sprintf(all + o, "%s%s", i ? ", " : "", ci->san[i] ? ci->san[i] : "");
    }
    all[o] = 0;
    char *clean = export_clean(x, all, o, 1500);
    free(all);
    return clean;
}

void export_cert(const struct export_ctx *x, size_t i, struct export_cert *c)
{
    const struct tls_info *tls = &x->t->tls;
    const struct cert_info *ci = &tls->chain[i];
    memset(c, 0, sizeof *c);
    c->subject = export_clean(x, ci->subject, ci->subject ? strlen(ci->subject) : 0, 600);
    c->issuer = export_clean(x, ci->issuer, ci->issuer ? strlen(ci->issuer) : 0, 600);
    c->names = names_of(x, ci);
    day_of(ci->not_before, c->not_before, sizeof c->not_before);
    day_of(ci->not_after, c->not_after, sizeof c->not_after);
    c->days_left = certinfo_days_left(ci, time(NULL));
    snprintf(c->key, sizeof c->key, "%s", ci->key ? ci->key : "?");
    snprintf(c->signature, sizeof c->signature, "%s", ci->signature ? ci->signature : "?");
    c->sha256 = ci->sha256;
    c->self_signed = ci->self_signed;
    c->ca = ci->is_ca;
    c->in_path = tls->chain_in_path[i];
}

void export_cert_free(struct export_cert *c)
{
    free(c->subject);
    free(c->issuer);
    free(c->names);
}

/* ---- diagnosis ------------------------------------------------------------ */

void export_diag_run(const struct export_ctx *x, struct export_diag *d)
{
    memset(d, 0, sizeof *d);
    evidence_diagnose(x->t, x->s, x->tg, x->v, &d->rs, &d->st, &d->r, d->warn, sizeof d->warn);
}

void export_diag_free(struct export_diag *d)
{
    diag_result_free(&d->r);
    ruleset_free(&d->rs);
}

char *export_diag_fill(const struct export_ctx *x, const struct export_diag *d, const char *s)
{
    if (!s)
        return NULL;
    char *filled = diag_fill(s, &d->st.e);      /* sanitised */
    char *r = export_scrub(x, filled ? filled : "");
    free(filled);
    return r;
}
