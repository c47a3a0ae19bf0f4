#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sanitize.h"

void diag_evidence_init(struct diag_evidence *e)
{
    memset(e, 0, sizeof *e);
    e->failure = e->step = e->reply = e->message = e->code = e->greeting = "";
    e->family = "unknown";
    e->family_version = e->user = e->host = e->url = e->tls_version = "";
    e->server_fqdn = e->cert_cn = e->server_short = "";
    e->cert_covers_server = -1;
    e->elapsed_ms = -1;
    e->sni_cert_differs = e->sni_default_covers = -1;
    e->sni_name = e->sni_cert = e->default_cert = "";
}

static const char *nz(const char *s) { return s ? s : ""; }

static bool re_any(const regex_t *re, const char *const *v, size_t n, size_t *which)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] && regexec(re, v[i], 0, NULL, 0) == 0) {
            if (which)
                *which = i;
            return true;
        }
    return false;
}

/* Capabilities compare by their first word, so "has SASL" finds the POP3
 * line "SASL PLAIN LOGIN" and "has AUTH=PLAIN" the IMAP atom. */
static bool caps_have(const char *const *v, size_t n, const char *cap)
{
    size_t cl = strlen(cap);
    for (size_t i = 0; i < n; i++)
        if (v[i] && !strncasecmp(v[i], cap, cl) && (v[i][cl] == 0 || v[i][cl] == ' '))
            return true;
    return false;
}

static bool str_test(enum rule_op op, const struct rule_cond *c, const char *s)
{
    s = nz(s);
    switch (op) {
    case RO_IS: return strcasecmp(s, c->value) == 0;
    case RO_NOT: return strcasecmp(s, c->value) != 0;
    case RO_MATCHES: return c->has_re && regexec(&c->re, s, 0, NULL, 0) == 0;
    case RO_NOT_MATCHES: return c->has_re && regexec(&c->re, s, 0, NULL, 0) != 0;
    default: return false;
    }
}

static bool list_test(enum rule_op op, const char *const *v, size_t n, const char *x)
{
    bool has = caps_have(v, n, x);
    return op == RO_HAS ? has : !has;
}

static const char *tristate(int v) { return v > 0 ? "yes" : v == 0 ? "no" : "unknown"; }

bool diag_cond_holds(const struct rule_cond *c, const struct diag_evidence *e)
{
    switch (c->fact) {
    case RF_FAILURE: return str_test(c->op, c, e->failure);
    case RF_STEP: return str_test(c->op, c, e->step);
    case RF_REPLY: return str_test(c->op, c, e->reply);
    case RF_GREETING: return str_test(c->op, c, e->greeting);
    case RF_MESSAGE: return str_test(c->op, c, e->message);
    case RF_CODE: return str_test(c->op, c, e->code);
    case RF_FAMILY: return str_test(c->op, c, e->family);
    case RF_FAMILY_VERSION: return str_test(c->op, c, e->family_version);
    case RF_USER: return str_test(c->op, c, e->user);
    case RF_HOST: return str_test(c->op, c, e->host);
    case RF_TLS_VERSION: return str_test(c->op, c, e->tls_version);
    case RF_PORT: return (e->port == (unsigned)strtoul(c->value, NULL, 10)) == (c->op == RO_IS);
    case RF_ELAPSED_MS: {
        long limit = strtol(c->value, NULL, 10);
        return e->elapsed_ms >= 0 && (c->op == RO_OVER ? e->elapsed_ms > limit
                                                       : e->elapsed_ms < limit);
    }
    case RF_LINE: {
        bool any = c->has_re && re_any(&c->re, e->lines, e->n_lines, NULL);
        return c->op == RO_MATCHES ? any : !any;
    }
    case RF_LOG: {
        bool any = c->has_re && re_any(&c->re, e->log_lines, e->n_log_lines, NULL);
        return c->op == RO_MATCHES ? any : !any;
    }
    case RF_CAPS_BEFORE: return list_test(c->op, e->caps_before, e->n_caps_before, c->value);
    case RF_CAPS_AFTER: return list_test(c->op, e->caps_after, e->n_caps_after, c->value);
    case RF_CAPS: {
        bool has = caps_have(e->caps_before, e->n_caps_before, c->value) ||
                   caps_have(e->caps_after, e->n_caps_after, c->value);
        return c->op == RO_HAS ? has : !has;
    }
    case RF_CERT_PROBLEM: return list_test(c->op, e->problems, e->n_problems, c->value);
    case RF_CERT_COVERS_SERVER: {
        const char *v = e->cert_covers_server > 0 ? "yes"
                      : e->cert_covers_server == 0 ? "no" : "unknown";
        return strcmp(v, c->value) == 0;
    }
    case RF_CERT_SEEN: return e->cert_seen == !strcmp(c->value, "yes");
    case RF_SECURE: return e->secure == !strcmp(c->value, "yes");
    case RF_SNI_CERT_DIFFERS: return !strcmp(tristate(e->sni_cert_differs), c->value);
    case RF_SNI_DEFAULT_COVERS: return !strcmp(tristate(e->sni_default_covers), c->value);
    default: return false;
    }
}

/* ---- evidence wording --------------------------------------------------- */

static char *fmt(const char *f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return sanitize_text(buf, strlen(buf), 600);
}

static const char *first_match(const struct rule_cond *c, const char *const *v, size_t n,
                               size_t *which)
{
    return c->has_re && re_any(&c->re, v, n, which) ? v[*which] : NULL;
}

/* One line for the operator saying what was seen (the condition held). */
static char *describe(const struct rule_cond *c, const struct diag_evidence *e)
{
    bool neg = c->op == RO_NOT || c->op == RO_NOT_MATCHES || c->op == RO_LACKS;
    const char *v = c->value;
    switch (c->fact) {
    case RF_FAILURE: return fmt("the failure class is %s", e->failure[0] ? e->failure : "none");
    case RF_STEP: return fmt("the step that failed is %s", e->step[0] ? e->step : "none");
    case RF_REPLY: return fmt("the server replied \"%s\"", e->reply);
    case RF_LINE: {
        size_t i = 0;
        const char *l = neg ? NULL : first_match(c, e->lines, e->n_lines, &i);
        /* Clear text can be forged on the way: say so (a pre-TLS ALERT). */
        return l ? fmt("the server said \"%s\"%s", l,
                       e->line_secure[i] ? "" : " (in clear text, before any TLS)")
                 : fmt("the server never said /%s/", v);
    }
    case RF_GREETING: return fmt("the greeting is \"%s\"", e->greeting);
    case RF_MESSAGE: return fmt("mailscope: %s", e->message);
    case RF_CODE: return e->code[0] ? fmt("the reply carries the response code [%s]", e->code)
                                    : fmt("the reply carries no response code");
    case RF_CAPS_BEFORE: return fmt("the capabilities before TLS %s %s", neg ? "lack" : "have", v);
    case RF_CAPS_AFTER: return fmt("the capabilities after TLS %s %s", neg ? "lack" : "have", v);
    case RF_CAPS: return fmt("the capabilities %s %s", neg ? "lack" : "have", v);
    case RF_FAMILY: return fmt("the server family is %s", e->family);
    case RF_FAMILY_VERSION:
        return fmt("the version hint is \"%s\"", e->family_version[0] ? e->family_version : "none");
    case RF_CERT_PROBLEM:
        return neg ? fmt("the certificate shows no %s problem", v)
                   : fmt("the certificate problem %s", v);
    case RF_CERT_COVERS_SERVER:
        if (e->cert_covers_server > 0)
            return fmt("the certificate's names cover the server's own name %s", e->server_fqdn);
        if (e->cert_covers_server == 0)
            return fmt("the certificate (CN %s) does not name the server's own name %s: "
                       "a public name looks bound in its place",
                       e->cert_cn[0] ? e->cert_cn : "none", e->server_fqdn);
        return fmt("whether the certificate names the server's own name is unknown");
    case RF_CERT_SEEN: return fmt(e->cert_seen ? "a certificate was received"
                                               : "no certificate was received");
    case RF_SECURE: return fmt(e->secure ? "the step ran inside TLS"
                                         : "the step ran in clear text, without TLS");
    case RF_USER: return fmt("the account is \"%s\"", e->redact_user ? "<user>" : e->user);
    case RF_HOST: return fmt("the host is %s", e->host);
    case RF_TLS_VERSION:
        return fmt("the TLS version is %s", e->tls_version[0] ? e->tls_version : "none");
    case RF_LOG: {
        size_t i = 0;
        const char *l = neg ? NULL : first_match(c, e->log_lines, e->n_log_lines, &i);
        return l ? fmt("the server log says \"%.300s\"", l)
                 : fmt("the server log never matches /%s/", v);
    }
    case RF_PORT: return fmt("the port is %u", e->port);
    case RF_ELAPSED_MS: return fmt("the %s step took %ld ms", e->step[0] ? e->step : "failing",
                                   e->elapsed_ms);
    case RF_SNI_CERT_DIFFERS:
        if (e->sni_cert_differs > 0)
            return fmt("with SNI %s the server presents \"%s\"; without SNI it presents \"%s\"",
                       e->sni_name, e->sni_cert, e->default_cert);
        return fmt(e->sni_cert_differs == 0 ? "the same certificate comes with and without SNI"
                                            : "no handshake without SNI was compared");
    case RF_SNI_DEFAULT_COVERS:
        if (e->sni_default_covers < 0)
            return fmt("whether the certificate sent without SNI covers the name is unknown");
        return fmt("the certificate sent without SNI (\"%s\") %s %s", e->default_cert,
                   e->sni_default_covers ? "covers" : "does not cover", e->sni_name);
    default: return fmt("?");
    }
}

/* ---- ranking ------------------------------------------------------------ */

static bool word_in(const char *list, const char *w)
{
    size_t wl = strlen(w);
    for (const char *p = list; p && *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n && ((n == 3 && !strncmp(p, "any", 3)) || (n == wl && !strncasecmp(p, w, n))))
            return true;
        p += n;
    }
    return false;
}

/* Two conditions on one fact may say the same thing: show it once. */
static void add_item(char **arr, size_t *n, char *s)
{
    for (size_t i = 0; s && i < *n; i++)
        if (!strcmp(arr[i], s)) {
            free(s);
            return;
        }
    if (s && *n < DIAG_MAX_EVIDENCE)
        arr[(*n)++] = s;
    else
        free(s);
}

static void hypothesis_free(struct diag_hypothesis *h)
{
    for (size_t i = 0; i < h->n_for; i++)
        free(h->evidence_for[i]);
    for (size_t i = 0; i < h->n_against; i++)
        free(h->evidence_against[i]);
    memset(h, 0, sizeof *h);
}

/* 0 when rule r applies to e (h filled), -1 when it does not. */
static int weigh(const struct rule *r, const struct diag_evidence *e, struct diag_hypothesis *h)
{
    memset(h, 0, sizeof *h);
    if (!(r->protocols & (e->pop3 ? 2u : 1u)) || !word_in(r->families, e->family))
        return -1;
    for (size_t i = 0; i < r->n_cond; i++)
        if (r->cond[i].kind == RK_REQUIRE && !diag_cond_holds(&r->cond[i], e))
            return -1;
    h->rule = r;
    for (size_t i = 0; i < r->n_cond; i++) {
        const struct rule_cond *c = &r->cond[i];
        if (!diag_cond_holds(c, e))
            continue;
        if (c->kind == RK_AGAINST) {
            h->score -= c->weight;
            add_item(h->evidence_against, &h->n_against, describe(c, e));
            continue;
        }
        h->score += c->kind == RK_DECISIVE ? 0 : c->weight;
        h->decisive |= c->kind == RK_DECISIVE;
        add_item(h->evidence_for, &h->n_for, describe(c, e));
    }
    if (h->score <= 0 && !h->decisive) {
        hypothesis_free(h);
        return -1;
    }
    return 0;
}

static int by_score(const void *a, const void *b)
{
    const struct diag_hypothesis *x = a, *y = b;
    if (x->decisive != y->decisive)
        return x->decisive ? -1 : 1;
    if (x->score != y->score)
        return y->score - x->score;
    if (x->rule->severity != y->rule->severity)
        return (int)y->rule->severity - (int)x->rule->severity;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

void diag_run(const struct ruleset *rs, const struct diag_evidence *e, struct diag_result *out)
{
    memset(out, 0, sizeof *out);
    struct diag_hypothesis h;
    for (size_t i = 0; i < rs->n; i++) {
        if (weigh(&rs->r[i], e, &h))
            continue;
        if (out->n < DIAG_MAX_RESULTS) {
            out->h[out->n++] = h;
            continue;
        }
        /* full: keep the better one in the last slot, sorted below */
        qsort(out->h, out->n, sizeof *out->h, by_score);
        if (by_score(&h, &out->h[out->n - 1]) < 0) {
            hypothesis_free(&out->h[out->n - 1]);
            out->h[out->n - 1] = h;
        } else
            hypothesis_free(&h);
    }
    qsort(out->h, out->n, sizeof *out->h, by_score);
    for (size_t i = 0; i < out->n; i++) {
        struct diag_hypothesis *x = &out->h[i];
        bool tied = (i > 0 && out->h[i - 1].score == x->score) ||
                    (i + 1 < out->n && out->h[i + 1].score == x->score);
        x->confidence = x->decisive ? "certain"
                      : i == 0 && x->score >= DIAG_LIKELY_SCORE && !tied ? "likely" : "possible";
    }
    out->no_rule = e->failed && out->n == 0;
}

void diag_result_free(struct diag_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        hypothesis_free(&r->h[i]);
    r->n = 0;
}

/* ---- placeholders --------------------------------------------------------- */

static const char *fill_value(const char *name, size_t n, const struct diag_evidence *e,
                              char *tmp, size_t tmplen)
{
#define IS(s) (n == sizeof(s) - 1 && !strncmp(name, s, n))
    if (IS("host")) return e->host[0] ? e->host : "<host>";
    if (IS("user")) return e->user[0] && !e->redact_user ? e->user : "<user>";
    if (IS("server_fqdn")) return e->server_fqdn[0] ? e->server_fqdn : "<server FQDN>";
    if (IS("server")) {
        if (e->server_short && e->server_short[0])
            return e->server_short;
        if (!e->server_fqdn[0])
            return "<server>";
        snprintf(tmp, tmplen, "%.*s", (int)strcspn(e->server_fqdn, "."), e->server_fqdn);
        return tmp;
    }
    if (IS("cert_cn")) return e->cert_cn[0] ? e->cert_cn : "<certificate name>";
    if (IS("service")) return e->pop3 ? "POP3" : "IMAP4";
    if (IS("proto")) return e->pop3 ? "Pop" : "Imap";
    if (IS("url")) return e->url[0] ? e->url : "<URL>";
    if (IS("port")) {
        snprintf(tmp, tmplen, "%u", e->port);
        return tmp;
    }
    if (IS("backend_port")) {
        snprintf(tmp, tmplen, "%u", e->backend_port ? e->backend_port : e->pop3 ? 1995u : 1993u);
        return tmp;
    }
    if (IS("sni_name")) return e->sni_name[0] ? e->sni_name : "<server name>";
    if (IS("sni_cert")) return e->sni_cert[0] ? e->sni_cert : "<certificate with SNI>";
    if (IS("default_cert")) return e->default_cert[0] ? e->default_cert
                                                      : "<certificate without SNI>";
#undef IS
    return NULL;
}

bool diag_placeholder_known(const char *name, size_t n)
{
    struct diag_evidence e;
    char tmp[64];
    diag_evidence_init(&e);
    return fill_value(name, n, &e, tmp, sizeof tmp) != NULL;
}

char *diag_fill(const char *s, const struct diag_evidence *e)
{
    char out[RULES_MAX_LINE * 2];
    size_t o = 0;
    for (const char *p = s; *p && o + 1 < sizeof out;) {
        const char *c = *p == '{' ? strchr(p, '}') : NULL;
        char tmp[256];
        const char *v = c ? fill_value(p + 1, (size_t)(c - p - 1), e, tmp, sizeof tmp) : NULL;
        if (!v) {
            out[o++] = *p++;
            continue;
        }
        size_t vl = strlen(v);
        if (o + vl >= sizeof out)
            break;
        memcpy(out + o, v, vl);
        o += vl;
        p = c + 1;
    }
    out[o] = 0;
    return sanitize_text(out, o, 0);
}

/* ---- output -------------------------------------------------------------- */

static json_t *jstrs(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *jtext(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *diag_json(const struct diag_result *r, const struct diag_evidence *e)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const struct diag_hypothesis *h = &r->h[i];
        const struct rule *ru = h->rule;
        json_t *fix = json_array();
        for (size_t k = 0; k < ru->n_fix; k++) {
            char *f = diag_fill(ru->fix[k], e);
            json_array_append_new(fix, f ? json_string(f) : json_null());
            free(f);
        }
        char *verify = ru->verify ? diag_fill(ru->verify, e) : NULL;
        char *expl = ru->explanation ? diag_fill(ru->explanation, e) : NULL;
        char *cause = ru->cause ? diag_fill(ru->cause, e) : NULL;
        char *origin = sanitize_text(ru->origin, strlen(ru->origin), 0);   /* a user's path */
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:o, s:s}",
            "id", ru->id, "severity", rule_severity_name(ru->severity), "title", ru->title,
            "explanation", jtext(expl), "cause", jtext(cause), "fix", fix,
            "verify", jtext(verify),
            "evidence", json_pack("{s:o, s:o}", "for", jstrs(h->evidence_for, h->n_for),
                                  "against", jstrs(h->evidence_against, h->n_against)),
            "confidence", h->confidence, "score", h->score, "source", jtext(ru->source),
            "origin", origin ? origin : "");
        free(verify);
        free(expl);
        free(cause);
        free(origin);
        if (o)
            json_array_append_new(a, o);
    }
    return a;
}

void diag_text(FILE *out, const struct diag_result *r, const struct diag_evidence *e)
{
    if (r->no_rule) {
        fprintf(out, "Diagnosis: %s.\n", DIAG_NO_RULE);
        return;
    }
    if (!r->n)
        return;
    const struct diag_hypothesis *h = &r->h[0];
    fprintf(out, "Diagnosis (%s): %s [%s]\n", h->confidence, h->rule->title, h->rule->id);
    for (size_t i = 0; i < h->n_for; i++)
        fprintf(out, "  + %s\n", h->evidence_for[i]);
    for (size_t i = 0; i < h->n_against; i++)
        fprintf(out, "  - %s\n", h->evidence_against[i]);
    for (size_t i = 0; i < h->rule->n_fix; i++) {
        char *f = diag_fill(h->rule->fix[i], e);
        fprintf(out, "  fix %zu: %s\n", i + 1, f ? f : "");
        free(f);
    }
    if (r->n > 1)
        fprintf(out, "  (%zu other hypotheses; see --json or the Diagnosis tab)\n", r->n - 1);
}
