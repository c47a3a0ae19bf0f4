/* export_text.c — the .txt and .md transcripts: one walk over the same
 * sections (header, timeline, timings, chain, diagnosis, walkthrough,
 * notes), two dialects. Plain text keeps every line within EXPORT_TEXT_WIDTH
 * columns except quoted server lines; Markdown escapes every string outside
 * code and puts the wire text in a fence longer than any backtick run in it,
 * so no server line can end the fence. */
#include "export_text.h"

#include <stdlib.h>
#include <string.h>

#include "wrap.h"

struct tw {
    FILE *f;
    bool md;
    const struct export_ctx *x;
};

/* ---- writing helpers ------------------------------------------------------ */

/* Markdown: a backslash before every character that means something inside
 * a line (emphasis, code, links, tables, HTML); every line we write starts
 * with our own text, so the line-start markers (#, -, 1.) cannot occur. */
static void md_put(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\`*_[]<>|~", *s))
            fputc('\\', f);
        fputc(*s, f);
    }
}

/* Plain text: text after prefix, cut into rows of EXPORT_TEXT_WIDTH columns;
 * continuation rows are indented by indent spaces. */
static void txt_wrapped(FILE *f, const char *prefix, int indent, const char *text)
{
    int pw = wrap_columns(prefix, strlen(prefix));
    int width = EXPORT_TEXT_WIDTH - (pw > indent ? pw : indent);
    if (width < 20)
        width = 20;
    size_t len = strlen(text);
    size_t n = wrap_rows(text, len, width, NULL, 0);
    struct wrap_row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        return;
    wrap_rows(text, len, width, rows, n);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fprintf(f, "%*s", indent, "");
        else
            fputs(prefix, f);
        size_t off = rows[i].off, rl = rows[i].len;
        while (i && rl && text[off] == ' ')
            off++, rl--;
        while (rl && text[off + rl - 1] == ' ')
            rl--;
        fprintf(f, "%.*s\n", (int)rl, text + off);
    }
    free(rows);
}

/* A line of prose: wrapped text, or a Markdown paragraph line. */
static void prose(struct tw *w, const char *prefix, int indent, const char *text)
{
    if (w->md) {
        fputs(prefix, w->f);
        md_put(w->f, text);
        fputs("\n", w->f);
    } else {
        txt_wrapped(w->f, prefix, indent, text);
    }
}

static void heading(struct tw *w, const char *title)
{
    if (w->md) {
        fprintf(w->f, "\n## %s\n\n", title);
        return;
    }
    size_t n = strlen(title);
    fprintf(w->f, "\n%s\n", title);
    for (size_t i = 0; i < n; i++)
        fputc('-', w->f);
    fputc('\n', w->f);
}

/* One Markdown table cell: escaped, never empty. */
static void cell(struct tw *w, const char *s)
{
    fputs(" ", w->f);
    if (*s)
        md_put(w->f, s);
    else
        fputs("\\-", w->f);
    fputs(" |", w->f);
}

/* ---- header --------------------------------------------------------------- */

static void header_row(struct tw *w, const char *label, const char *value)
{
    if (w->md) {
        fputs("|", w->f);
        cell(w, label);
        cell(w, value);
        fputs("\n", w->f);
        return;
    }
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%-11s ", label);
    txt_wrapped(w->f, prefix, 12, value);
}

static void write_header(struct tw *w)
{
    struct export_header h;
    export_header(w->x, &h);
    char started[240], protocol[200], result[1500];
    snprintf(started, sizeof started, "%s (UTC %s)", h.local[0] ? h.local : "?", h.utc);
    snprintf(protocol, sizeof protocol, "%s; TLS requested: %s; used: %s", h.protocol,
             h.tls_requested, h.tls_used);
    snprintf(result, sizeof result, "%s: %s", h.status, h.summary);
    if (w->md) {
        fputs("# mailscope transcript: ", w->f);
        md_put(w->f, h.url);
        fputs("\n\n| Field | Value |\n|---|---|\n", w->f);
    } else {
        fprintf(w->f, "mailscope transcript\n====================\n");
    }
    header_row(w, "Tool", h.tool);
    header_row(w, "Started", started);
    header_row(w, "Target", h.url);
    header_row(w, "Address", h.address[0] ? h.address : "(not resolved)");
    header_row(w, "Protocol", protocol);
    header_row(w, "Result", result);
    char red[200];
    snprintf(red, sizeof red, "%s (shown as *****%s)", h.redacted,
             w->x->red.user ? "; user names as " SESSION_USER_MARK : "");
    header_row(w, "Redacted", red);
}

/* ---- timeline ------------------------------------------------------------- */

static void timeline_line(void *arg, const struct export_line *l)
{
    struct tw *w = arg;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "+%.3fs %s ", (double)l->t_us / 1e6, l->who);
    if (w->md || l->server) {           /* quoted server bytes keep their line */
        fprintf(w->f, "%s%s\n", prefix, l->text);
        return;
    }
    txt_wrapped(w->f, prefix, (int)strlen(prefix), l->text);
}

static void write_timeline(struct tw *w)
{
    heading(w, "Timeline");
    prose(w, "", 0, "Seconds since the start. C: client, S: server, TLS: handshake, "
          "!!: notice, --: step or state, NOTE: the operator's note, WALK: walkthrough step.");
    char fence[64] = "";
    if (w->md) {
        size_t n = export_longest_run(w->x, '`') + 1;
        if (n < 3)
            n = 3;
        if (n >= sizeof fence)
            n = sizeof fence - 1;
        memset(fence, '`', n);
        fence[n] = 0;
        fprintf(w->f, "\n%stext\n", fence);
    } else {
        fputc('\n', w->f);
    }
    export_walk(w->x, timeline_line, w);
    if (w->md)
        fprintf(w->f, "%s\n", fence);
}

/* ---- timings -------------------------------------------------------------- */

static void write_timings(struct tw *w)
{
    struct export_timing *tm;
    size_t n = export_timings(w->x, &tm);
    if (!n) {
        free(tm);
        return;
    }
    heading(w, "Timings");
    if (w->md)
        fputs("| Operation | Start (s) | Elapsed (ms) | Result |\n|---|--:|--:|---|\n", w->f);
    for (size_t i = 0; i < n; i++) {
        char start[32], dur[32];
        snprintf(start, sizeof start, "%.3f", (double)tm[i].start_us / 1e6);
        snprintf(dur, sizeof dur, tm[i].done ? "%.1f" : "-", (double)tm[i].dur_us / 1000.0);
        const char *res = !tm[i].done ? "not finished" : tm[i].ok ? "ok"
                        : tm[i].stopped ? "stopped" : "FAILED";
        if (w->md) {
            fputs("|", w->f);
            cell(w, tm[i].label);
            cell(w, start);
            cell(w, dur);
            cell(w, res);
            fputc('\n', w->f);
        } else {
            char prefix[128];
            snprintf(prefix, sizeof prefix, "  +%-8s %9s ms  %-12s ", start, dur, res);
            txt_wrapped(w->f, prefix, 37, tm[i].label);
        }
    }
    free(tm);
}

/* ---- the chain ------------------------------------------------------------ */

static void cert_txt(struct tw *w, size_t i, const struct export_cert *c)
{
    char prefix[32], line[512];
    snprintf(prefix, sizeof prefix, "  %zu subject: ", i);
    txt_wrapped(w->f, prefix, 13, c->subject);
    txt_wrapped(w->f, "    issuer:  ", 13, c->issuer);
    if (*c->names)
        txt_wrapped(w->f, "    names:   ", 13, c->names);
    snprintf(line, sizeof line, "%s .. %s (%ld days left); key %s; %s%s%s%s", c->not_before,
             c->not_after, c->days_left, c->key, c->signature, c->self_signed ? "; self-signed" : "",
             c->ca ? "; CA" : "", c->in_path ? "" : "; not used in the verified path");
    txt_wrapped(w->f, "    valid:   ", 13, line);
    txt_wrapped(w->f, "    sha256:  ", 13, c->sha256);
}

static void cert_md(struct tw *w, size_t i, const struct export_cert *c)
{
    char depth[24], days[32], flags[80];
    snprintf(depth, sizeof depth, "%zu", i);
    snprintf(days, sizeof days, "%ld", c->days_left);
    snprintf(flags, sizeof flags, "%s%s%s", c->self_signed ? "self-signed " : "", c->ca ? "CA " : "",
             c->in_path ? "" : "not in path");
    fputs("|", w->f);
    cell(w, depth);
    cell(w, c->subject);
    cell(w, c->issuer);
    cell(w, c->names);
    cell(w, c->not_after);
    cell(w, days);
    cell(w, c->key);
    cell(w, flags);
    cell(w, c->sha256);
    fputc('\n', w->f);
}

static void write_chain(struct tw *w)
{
    const struct transcript *t = w->x->t;
    if (!t->has_tls || !t->tls.n_chain)
        return;
    heading(w, "Certificate chain (as sent by the server, leaf first)");
    if (w->md)
        fputs("| # | Subject | Issuer | Names | Valid until | Days left | Key | Flags | SHA-256 |\n"
              "|--:|---|---|---|---|--:|---|---|---|\n", w->f);
    for (size_t i = 0; i < t->tls.n_chain; i++) {
        struct export_cert c;
        export_cert(w->x, i, &c);
        if (w->md)
            cert_md(w, i, &c);
        else
            cert_txt(w, i, &c);
        export_cert_free(&c);
    }
    if (w->md)
        fputc('\n', w->f);
    char verdict[600];
    char *err = export_clean(w->x, t->tls.verify_error, strlen(t->tls.verify_error), 300);
    snprintf(verdict, sizeof verdict, "Verification: %s%s", t->tls.verified ? "verified" :
             "NOT verified: ", t->tls.verified ? "" : err);
    free(err);
    prose(w, w->md ? "" : "  ", 2, verdict);
}

/* ---- diagnosis ------------------------------------------------------------ */

static void labelled(struct tw *w, const char *label, char *text)
{
    if (!text || !*text) {
        free(text);
        return;
    }
    char prefix[48];
    if (w->md)
        snprintf(prefix, sizeof prefix, "**%s** ", label);
    else
        snprintf(prefix, sizeof prefix, "  %-12s ", label);
    if (w->md) {
        fputs(prefix, w->f);
        md_put(w->f, text);
        fputs("\n\n", w->f);
    } else {
        txt_wrapped(w->f, prefix, 15, text);
    }
    free(text);
}

static void hypothesis(struct tw *w, const struct export_diag *d, size_t k)
{
    const struct diag_hypothesis *h = &d->r.h[k];
    const struct rule *ru = h->rule;
    char title[600];
    char *name = export_clean(w->x, ru->title, strlen(ru->title), 300);   /* a user's rule file */
    char *id = export_clean(w->x, ru->id, strlen(ru->id), 100);
    snprintf(title, sizeof title, "%zu. %s (%s) [%s]", k + 1, name, h->confidence, id);
    free(name);
    free(id);
    if (w->md) {
        fputs("### ", w->f);
        md_put(w->f, title);
        fputs("\n\n", w->f);
    } else {
        txt_wrapped(w->f, "", 3, title);
    }
    labelled(w, "Explanation:", export_diag_fill(w->x, d, ru->explanation));
    labelled(w, "Cause:", export_diag_fill(w->x, d, ru->cause));
    for (size_t i = 0; i < h->n_for + h->n_against; i++) {
        bool pro = i < h->n_for;
        char *ev = export_scrub(w->x, pro ? h->evidence_for[i] : h->evidence_against[i - h->n_for]);
        prose(w, w->md ? (pro ? "- for: " : "- against: ") : (pro ? "  + " : "  - "), 4, ev);
        free(ev);
    }
    if (w->md && h->n_for + h->n_against)
        fputc('\n', w->f);
    for (size_t i = 0; i < ru->n_fix; i++) {
        char *f = export_diag_fill(w->x, d, ru->fix[i]);
        char prefix[32];
        snprintf(prefix, sizeof prefix, w->md ? "%zu. " : "  fix %zu: ", i + 1);
        prose(w, prefix, 9, f);
        free(f);
    }
    if (w->md && ru->n_fix)
        fputc('\n', w->f);
    labelled(w, "Verify:", export_diag_fill(w->x, d, ru->verify));
    labelled(w, "Source:", ru->source ? export_clean(w->x, ru->source, strlen(ru->source), 0)
                                      : NULL);
    if (!w->md)
        fputc('\n', w->f);
}

static void write_diagnosis(struct tw *w)
{
    if (!w->x->s)
        return;
    struct export_diag d;
    export_diag_run(w->x, &d);
    heading(w, "Diagnosis");
    if (d.warn[0]) {
        char *clean = export_clean(w->x, d.warn, strlen(d.warn), 600);
        prose(w, "rules: ", 7, clean);
        free(clean);
    }
    if (d.r.no_rule)
        prose(w, "", 0, "No known rule explains this reply.");
    else if (!d.r.n)
        prose(w, "", 0, "Nothing to diagnose: no rule applies to this session.");
    if (w->md)
        fputc('\n', w->f);
    for (size_t k = 0; k < d.r.n; k++)
        hypothesis(w, &d, k);
    export_diag_free(&d);
}

/* ---- walkthrough and notes ------------------------------------------------ */

static void write_walk_and_notes(struct tw *w)
{
    const struct transcript *t = w->x->t;
    for (int pass = 0; pass < 2; pass++) {
        enum tr_kind kind = pass ? TR_NOTE : TR_WALK;
        bool any = false;
        for (size_t i = 0; i < t->n; i++) {
            const struct tr_event *e = &t->ev[i];
            if (e->kind != kind)
                continue;
            if (!any)
                heading(w, pass ? "Operator notes" : "Walkthrough steps");
            any = true;
            char *msg = export_clean(w->x, e->message, e->message ? strlen(e->message) : 0, 2000);
            char *ref = export_clean(w->x, e->ref, e->ref ? strlen(e->ref) : 0, 200);
            char *out = export_clean(w->x, e->status, e->status ? strlen(e->status) : 0, 60);
            char prefix[300], line[2600];
            snprintf(prefix, sizeof prefix, "%s+%.3fs ", w->md ? "- " : "  ", (double)e->t_us / 1e6);
            if (pass)
                snprintf(line, sizeof line, "%s", msg);
            else
                snprintf(line, sizeof line, "%s [%s]: %s", ref, out, msg);
            prose(w, prefix, 4, line);
            free(msg);
            free(ref);
            free(out);
        }
    }
}

int export_text_write(FILE *f, bool markdown, const struct export_ctx *x)
{
    struct tw w = { .f = f, .md = markdown, .x = x };
    write_header(&w);
    write_timeline(&w);
    write_timings(&w);
    write_chain(&w);
    write_diagnosis(&w);
    write_walk_and_notes(&w);
    return ferror(f) ? -1 : 0;
}
