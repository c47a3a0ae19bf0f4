#include "recording.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"

void recording_init(struct recording *r)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
}

static void diag_free(struct recording_diag *d)
{
    char **strs[] = { &d->id, &d->severity, &d->title, &d->confidence, &d->explanation,
                      &d->cause, &d->verify, &d->source };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        free(*strs[i]);
    for (size_t i = 0; i < d->n_fix; i++)
        free(d->fix[i]);
    for (size_t i = 0; i < d->n_for; i++)
        free(d->ev_for[i]);
    for (size_t i = 0; i < d->n_against; i++)
        free(d->ev_against[i]);
    free(d->fix);
    free(d->ev_for);
    free(d->ev_against);
}

void recording_free(struct recording *r)
{
    transcript_free(&r->t);
    for (int p = 0; p < CAPS_PHASES; p++)
        capset_clear(&r->caps[p]);
    char **strs[] = { &r->tool, &r->host, &r->address, &r->user, &r->tls_mode, &r->result,
                      &r->status, &r->summary, &r->greeting, &r->server_family, &r->server_name,
                      &r->failure_class, &r->diagnosis_note };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        free(*strs[i]);
    for (size_t i = 0; i < r->n_diag; i++)
        diag_free(&r->diag[i]);
    free(r->diag);
    recording_init(r);
}

double recording_duration(const struct recording *r)
{
    int64_t last = 0;
    for (size_t i = 0; i < r->t.n; i++)
        if (r->t.ev[i].t_us > last)
            last = r->t.ev[i].t_us;
    return (double)last / 1e6;
}

static void put(FILE *out, const char *label, const char *s)
{
    char *clean = sanitize_text(s ? s : "-", strlen(s ? s : "-"), 300);
    fprintf(out, "%-10s%s\n", label, clean ? clean : "");
    free(clean);
}

void recording_summary(FILE *out, const struct recording *r, const char *name)
{
    char line[1200], when[40] = "unknown";
    struct tm tm;
    time_t secs = r->t.wall0.tv_sec;
    if (secs && gmtime_r(&secs, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(line, sizeof line, "%s (mailscope.transcript/%d)", name, r->version);
    put(out, "file", line);
    snprintf(line, sizeof line, "%zu over %.3f s, started %s", r->t.n, recording_duration(r), when);
    put(out, "events", line);
    snprintf(line, sizeof line, "%s %s:%u%s%s", r->t.proto == SESSION_POP3 ? "pop3" : "imap",
             r->host ? r->host : "?", r->port, r->address ? ", connected to " : "",
             r->address ? r->address : "");
    put(out, "target", line);
    if (r->t.has_tls)
        snprintf(line, sizeof line, "%s %s, certificate %s, %zu certificate(s) as sent",
                 r->tls_mode ? r->tls_mode : "", r->t.tls.version,
                 r->t.tls.verified ? "verified" : "NOT verified", r->t.tls.n_chain);
    else
        snprintf(line, sizeof line, "none recorded");
    put(out, "tls", line);
    snprintf(line, sizeof line, "%s %s (exit %d)%s%s", r->result ? r->result : "?",
             r->status ? r->status : "?", r->exit_code, r->summary ? ": " : "",
             r->summary ? r->summary : "");
    put(out, "result", line);
    if (r->n_diag)
        snprintf(line, sizeof line, "%s: %s (%s)", r->diag[0].id ? r->diag[0].id : "?",
                 r->diag[0].title ? r->diag[0].title : "", r->diag[0].confidence ? r->diag[0].confidence : "?");
    else
        snprintf(line, sizeof line, "%s", r->diagnosis_note ? r->diagnosis_note : "none");
    put(out, "diagnosis", line);
}
