/* export_html.c — the .html transcript: one self-contained page (inline
 * CSS, no script, no external asset, a Content-Security-Policy that allows
 * nothing else) with the header, the coloured timeline, a timing waterfall
 * drawn with CSS widths, the certificate chain, the diagnosis, walkthrough
 * steps and notes. Every string is sanitised and scrubbed (export.h), then
 * HTML-escaped here. */
#include "export_html.h"

#include <stdlib.h>
#include <string.h>

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em;color:#1d2430;"
    "background:#fff}\n"
    "h1{font-size:1.4em;margin:0 0 .6em}h2{font-size:1.15em;margin:1.6em 0 .5em;"
    "border-bottom:1px solid #d0d7de;padding-bottom:.2em}h3{font-size:1em;margin:1em 0 .3em}\n"
    "table{border-collapse:collapse;margin:.3em 0}th,td{border:1px solid #d0d7de;"
    "padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f3f5f7}\n"
    ".hdr th{width:9em}.status-OK{color:#116329;font-weight:bold}"
    ".status-WARNING{color:#9a6700;font-weight:bold}"
    ".status-CRITICAL,.status-UNKNOWN{color:#b3261e;font-weight:bold}\n"
    ".tl{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;background:#0d1117;"
    "color:#c9d1d9;padding:.6em;border-radius:6px;overflow-x:auto}\n"
    ".tl div{white-space:pre-wrap;overflow-wrap:anywhere}.tl .t{color:#8b949e}"
    ".c{color:#79c0ff}.s{color:#e6edf3}.clear{border-left:3px solid #d29922;padding-left:3px}\n"
    ".tls-ok{color:#3fb950;font-weight:bold}.tls-bad,.disc,.fail{color:#ff7b72;font-weight:bold}"
    ".notice{color:#d29922}.step{color:#8b949e}.note,.walk{color:#d2a8ff}.ntlm{color:#56d4dd}\n"
    ".wf td.bar{width:60%}.wf .track{position:relative;height:1em;background:#f3f5f7}"
    ".wf .b{position:absolute;top:0;height:1em;background:#2f81f7;min-width:2px}"
    ".wf .b.bad{background:#cf222e}\n"
    ".mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;"
    "overflow-wrap:anywhere}.small{color:#57606a;font-size:.9em}\n";

struct hw {
    FILE *f;
    const struct export_ctx *x;
};

static void row(FILE *f, const char *label, const char *value, const char *cls)
{
    fputs("<tr><th>", f);
    esc(f, label);
    fputs("</th><td", f);
    if (cls)
        fprintf(f, " class=\"%s\"", cls);
    fputs(">", f);
    esc(f, value);
    fputs("</td></tr>\n", f);
}

static void write_header(struct hw *w, struct export_header *h)
{
    FILE *f = w->f;
    char started[240], status_cls[40], red[200], tls[300];
    snprintf(started, sizeof started, "%s (UTC %s)", h->local[0] ? h->local : "?", h->utc);
    snprintf(status_cls, sizeof status_cls, "status-%s", h->status);
    snprintf(red, sizeof red, "%s (shown as *****%s)", h->redacted,
             w->x->red.user ? "; user names as " SESSION_USER_MARK : "");
    snprintf(tls, sizeof tls, "requested %s; used: %s", h->tls_requested, h->tls_used);
    fputs("<h1>mailscope transcript: ", f);
    esc(f, h->url);
    fputs("</h1>\n<table class=\"hdr\">\n", f);
    row(f, "Result", h->status, status_cls);
    row(f, "Summary", h->summary, NULL);
    row(f, "Tool", h->tool, NULL);
    row(f, "Started", started, NULL);
    row(f, "Target", h->url, "mono");
    row(f, "Address", h->address[0] ? h->address : "(not resolved)", "mono");
    row(f, "Protocol", h->protocol, NULL);
    row(f, "TLS", tls, NULL);
    row(f, "Redacted", red, NULL);
    fputs("</table>\n", f);
}

static const char *role_class(enum export_role r)
{
    switch (r) {
    case EXR_CLIENT: return "c";
    case EXR_SERVER: case EXR_LITERAL: return "s";
    case EXR_TLS_OK: return "tls-ok";
    case EXR_TLS_BAD: return "tls-bad";
    case EXR_DISCARDED: return "disc";
    case EXR_NOTICE: return "notice";
    case EXR_NTLM: return "ntlm";
    case EXR_STEP_FAIL: return "fail";
    case EXR_NOTE: return "note";
    case EXR_WALK: return "walk";
    default: return "step";
    }
}

static void timeline_line(void *arg, const struct export_line *l)
{
    struct hw *w = arg;
    bool wire = l->role == EXR_CLIENT || l->role == EXR_SERVER;
    fprintf(w->f, "<div class=\"%s%s\"><span class=\"t\">+%.3fs</span> ", role_class(l->role),
            wire && !l->secure ? " clear" : "", (double)l->t_us / 1e6);
    esc(w->f, l->who);
    fputc(' ', w->f);
    esc(w->f, l->text);
    fputs("</div>\n", w->f);
}

static void write_timeline(struct hw *w)
{
    fputs("<h2>Timeline</h2>\n<p class=\"small\">Seconds since the start. C: client (blue), "
          "S: server; a yellow bar marks lines that travelled in clear text, before TLS.</p>\n"
          "<div class=\"tl\">\n", w->f);
    export_walk(w->x, timeline_line, w);
    fputs("</div>\n", w->f);
}

static void write_waterfall(struct hw *w)
{
    struct export_timing *tm;
    size_t n = export_timings(w->x, &tm);
    if (!n) {
        free(tm);
        return;
    }
    int64_t total = 1;
    for (size_t i = 0; i < n; i++)
        if (tm[i].start_us + tm[i].dur_us > total)
            total = tm[i].start_us + tm[i].dur_us;
    fputs("<h2>Timings</h2>\n<table class=\"wf\">\n<tr><th>Operation</th><th>Start (s)</th>"
          "<th>Elapsed (ms)</th><th class=\"bar\">Waterfall</th></tr>\n", w->f);
    for (size_t i = 0; i < n; i++) {
        double left = 100.0 * (double)tm[i].start_us / (double)total;
        double width = 100.0 * (double)tm[i].dur_us / (double)total;
        if (left > 100)
            left = 100;
        if (width > 100 - left)
            width = 100 - left;
        fputs("<tr><td class=\"mono\">", w->f);
        esc(w->f, tm[i].label);
        fprintf(w->f, "</td><td>%.3f</td><td>", (double)tm[i].start_us / 1e6);
        if (tm[i].done)
            fprintf(w->f, "%.1f%s", (double)tm[i].dur_us / 1000.0,
                    tm[i].ok ? "" : tm[i].stopped ? " stopped" : " FAILED");
        else
            fputs("not finished", w->f);
        fprintf(w->f, "</td><td class=\"bar\"><div class=\"track\"><div class=\"b%s\" "
                "style=\"left:%.2f%%;width:%.2f%%\"></div></div></td></tr>\n",
                tm[i].done && !tm[i].ok && !tm[i].stopped ? " bad" : "", left, width);
    }
    fputs("</table>\n", w->f);
    free(tm);
}

static void td(FILE *f, const char *s, const char *cls)
{
    fputs(cls ? "<td class=\"" : "<td>", f);
    if (cls) {
        fputs(cls, f);
        fputs("\">", f);
    }
    esc(f, s);
    fputs("</td>", f);
}

static void write_chain(struct hw *w)
{
    const struct transcript *t = w->x->t;
    if (!t->has_tls || !t->tls.n_chain)
        return;
    FILE *f = w->f;
    fputs("<h2>Certificate chain</h2>\n<p class=\"small\">As sent by the server, leaf first.</p>\n"
          "<table>\n<tr><th>#</th><th>Subject</th><th>Issuer</th><th>Names</th><th>Valid</th>"
          "<th>Days left</th><th>Key</th><th>Flags</th><th>SHA-256</th></tr>\n", f);
    for (size_t i = 0; i < t->tls.n_chain; i++) {
        struct export_cert c;
        export_cert(w->x, i, &c);
        char depth[24], valid[48], days[32], flags[80];
        snprintf(depth, sizeof depth, "%zu", i);
        snprintf(valid, sizeof valid, "%s .. %s", c.not_before, c.not_after);
        snprintf(days, sizeof days, "%ld", c.days_left);
        snprintf(flags, sizeof flags, "%s%s%s", c.self_signed ? "self-signed " : "",
                 c.ca ? "CA " : "", c.in_path ? "" : "not in the verified path");
        fputs("<tr>", f);
        td(f, depth, NULL);
        td(f, c.subject, "mono");
        td(f, c.issuer, "mono");
        td(f, c.names, "mono");
        td(f, valid, NULL);
        td(f, days, c.days_left < 0 ? "fail" : NULL);
        td(f, c.key, NULL);
        td(f, flags, NULL);
        td(f, c.sha256, "mono");
        fputs("</tr>\n", f);
        export_cert_free(&c);
    }
    fputs("</table>\n<p>", f);
    char *err = export_clean(w->x, t->tls.verify_error, strlen(t->tls.verify_error), 300);
    fprintf(f, "Verification: <span class=\"%s\">%s</span> ", t->tls.verified ? "status-OK"
            : "status-CRITICAL", t->tls.verified ? "verified" : "NOT verified:");
    if (!t->tls.verified)
        esc(f, err);
    free(err);
    fputs("</p>\n", f);
}

static void para(FILE *f, const char *label, char *text)
{
    if (text && *text) {
        fputs("<p><b>", f);
        esc(f, label);
        fputs("</b> ", f);
        esc(f, text);
        fputs("</p>\n", f);
    }
    free(text);
}

static void list(const struct export_ctx *x, FILE *f, const char *cls, char *const *items,
                 size_t n)
{
    if (!n)
        return;
    fprintf(f, "<ul class=\"%s\">\n", cls);
    for (size_t i = 0; i < n; i++) {
        char *item = export_scrub(x, items[i]);     /* sanitised by the engine already */
        fputs("<li>", f);
        esc(f, item);
        fputs("</li>\n", f);
        free(item);
    }
    fputs("</ul>\n", f);
}

static void hypothesis(struct hw *w, const struct export_diag *d, size_t k)
{
    FILE *f = w->f;
    const struct diag_hypothesis *h = &d->r.h[k];
    const struct rule *ru = h->rule;
    char *title = export_clean(w->x, ru->title, strlen(ru->title), 300);   /* a user's rule file */
    char *id = export_clean(w->x, ru->id, strlen(ru->id), 100);
    fprintf(f, "<h3>%zu. ", k + 1);
    esc(f, title);
    fputs(" <span class=\"small\">(", f);
    esc(f, h->confidence);
    fputs(", ", f);
    esc(f, id);
    fputs(")</span></h3>\n", f);
    free(title);
    free(id);
    para(f, "Explanation:", export_diag_fill(w->x, d, ru->explanation));
    para(f, "Cause:", export_diag_fill(w->x, d, ru->cause));
    if (h->n_for)
        fputs("<p><b>Evidence for:</b></p>\n", f);
    list(w->x, f, "for", h->evidence_for, h->n_for);
    if (h->n_against)
        fputs("<p><b>Evidence against:</b></p>\n", f);
    list(w->x, f, "against", h->evidence_against, h->n_against);
    if (ru->n_fix)
        fputs("<p><b>Fix:</b></p>\n<ol>\n", f);
    for (size_t i = 0; i < ru->n_fix; i++) {
        char *fx = export_diag_fill(w->x, d, ru->fix[i]);
        fputs("<li>", f);
        esc(f, fx);
        fputs("</li>\n", f);
        free(fx);
    }
    if (ru->n_fix)
        fputs("</ol>\n", f);
    para(f, "Verify:", export_diag_fill(w->x, d, ru->verify));
    para(f, "Source:", ru->source ? export_clean(w->x, ru->source, strlen(ru->source), 0) : NULL);
}

static void write_diagnosis(struct hw *w)
{
    if (!w->x->s)
        return;
    struct export_diag d;
    export_diag_run(w->x, &d);
    fputs("<h2>Diagnosis</h2>\n", w->f);
    if (d.warn[0]) {
        char *clean = export_clean(w->x, d.warn, strlen(d.warn), 600);
        para(w->f, "Rules:", clean);
    }
    if (d.r.no_rule)
        fputs("<p>No known rule explains this reply.</p>\n", w->f);
    else if (!d.r.n)
        fputs("<p>Nothing to diagnose: no rule applies to this session.</p>\n", w->f);
    for (size_t k = 0; k < d.r.n; k++)
        hypothesis(w, &d, k);
    export_diag_free(&d);
}

static void write_walk_and_notes(struct hw *w)
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
                fputs(pass ? "<h2>Operator notes</h2>\n<table>\n<tr><th>Time (s)</th><th>Note</th>"
                             "</tr>\n"
                           : "<h2>Walkthrough steps</h2>\n<table>\n<tr><th>Time (s)</th>"
                             "<th>Step</th><th>Outcome</th><th>Text</th></tr>\n", w->f);
            any = true;
            char *msg = export_clean(w->x, e->message, e->message ? strlen(e->message) : 0, 2000);
            char *ref = export_clean(w->x, e->ref, e->ref ? strlen(e->ref) : 0, 200);
            char *out = export_clean(w->x, e->status, e->status ? strlen(e->status) : 0, 60);
            fprintf(w->f, "<tr><td>%.3f</td>", (double)e->t_us / 1e6);
            if (!pass) {
                td(w->f, ref, "mono");
                td(w->f, out, NULL);
            }
            td(w->f, msg, NULL);
            fputs("</tr>\n", w->f);
            free(msg);
            free(ref);
            free(out);
        }
        if (any)
            fputs("</table>\n", w->f);
    }
}

int export_html_write(FILE *f, const struct export_ctx *x)
{
    struct hw w = { .f = f, .x = x };
    struct export_header h;
    export_header(x, &h);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'\">\n"
          "<meta name=\"referrer\" content=\"no-referrer\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
          "mailscope transcript: ", f);
    esc(f, h.url);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
    write_header(&w, &h);
    write_timeline(&w);
    write_waterfall(&w);
    write_chain(&w);
    write_diagnosis(&w);
    write_walk_and_notes(&w);
    fputs("<p class=\"small\">Written by ", f);
    esc(f, h.tool);
    fputs(". Credentials were redacted before they were recorded.</p>\n</body>\n</html>\n", f);
    return ferror(f) ? -1 : 0;
}
