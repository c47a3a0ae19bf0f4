/* sni — the certificate with and without SNI, side by side. */
#include "sni.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certcheck.h"
#include "options.h"
#include "sanitize.h"
#include "version.h"

const char *sni_name_for(const char *host, const char *servername, char *err, size_t errlen)
{
    const char *name = servername && *servername ? servername : host;
    if (!name || !*name || tls_is_ip_literal(name)) {
        snprintf(err, errlen, "--sni compares a handshake with SNI to one without; an IP address "
                 "is never sent as SNI (RFC 6066): give the name with --servername NAME");
        return NULL;
    }
    return name;
}

static const char *scheme_of(const struct sni_options *o)
{
    return o->proto == SESSION_IMAP ? (o->implicit ? "imaps" : "imap")
                                    : (o->implicit ? "pop3s" : "pop3");
}

struct sni_options sni_options_of(const struct ms_options *o)
{
    return (struct sni_options){
        .proto = o->url.proto, .host = o->url.host, .port = o->url.port,
        .implicit = o->tls == PLAN_TLS_IMPLICIT, .url = o->url_text, .family = o->family,
        .tls = options_session_params(o).tls, .insecure = o->insecure,
        .timeout_ms = o->timeout_ms, .expiry_warn_days = o->expiry_warn_days };
}

struct sni_check *sni_new(struct loop *l, const struct sni_options *o)
{
    struct sni_check *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->o = *o;
    snprintf(c->host, sizeof c->host, "%s", o->host);
    snprintf(c->servername, sizeof c->servername, "%s",
             o->tls.servername && *o->tls.servername ? o->tls.servername : o->host);
    snprintf(c->url, sizeof c->url, "%s", o->url ? o->url : "");
    c->o.host = c->host;
    c->o.url = c->url;
    c->o.tls.servername = c->servername;
    c->differs = c->default_covers = -1;
    for (int i = SNI_WITH; i <= SNI_WITHOUT; i++) {
        struct sni_side *sd = &c->side[i];
        sd->sent_sni = i == SNI_WITH;
        struct tlsrun_target tg = {
            .proto = o->proto, .host = c->host, .port = o->port, .implicit = o->implicit,
            .family = o->family, .tls = c->o.tls, .insecure = o->insecure,
            .timeout_ms = o->timeout_ms };
        tg.tls.no_sni = !sd->sent_sni;   /* the name is still the one verified */
        if (tlsrun_start(&sd->run, l, &tg) < 0) {
            sni_free(c);
            return NULL;
        }
    }
    return c;
}

static const struct cert_info *leaf_of(const struct sni_side *sd)
{
    const struct transcript *t = &sd->run.t;
    return sd->handshake && t->has_tls && t->tls.n_chain ? &t->tls.chain[0] : NULL;
}

static void leaf_name(struct sni_side *sd)
{
    const struct cert_info *leaf = leaf_of(sd);
    const char *n = !leaf ? "" : leaf->subject_cn ? leaf->subject_cn
                  : leaf->n_san ? leaf->san[0] : leaf->subject ? leaf->subject : "";
    n += !strncmp(n, "DNS:", 4) ? 4 : !strncmp(n, "IP:", 3) ? 3 : 0;
    char *clean = sanitize_text(n, strlen(n), sizeof sd->name - 8);
    snprintf(sd->name, sizeof sd->name, "%s", clean ? clean : "");
    free(clean);
}

static struct report_target target_of(const struct sni_check *c)
{
    return (struct report_target){
        .url = c->url, .scheme = scheme_of(&c->o), .host = c->host, .port = c->o.port,
        .auth = session_auth_name(AUTH_DEFAULT),
        .tls_requested = c->o.implicit ? "implicit" : "starttls",
        .expiry_warn_days = c->o.expiry_warn_days };
}

static const char *side_failure(const struct sni_side *sd)
{
    return sd->run.plan.message[0] ? sd->run.plan.message : "no TLS handshake took place";
}

static void judge(struct sni_check *c)
{
    struct sni_side *w = &c->side[SNI_WITH], *wo = &c->side[SNI_WITHOUT];
    const struct cert_info *a = leaf_of(w), *b = leaf_of(wo);
    char raw[1400];
    c->exit_code = c->verdict.exit_code;
    if (!a || !b) {
        const struct sni_side *bad = !a ? w : wo;
        c->exit_code = EXIT_CRITICAL;
        snprintf(raw, sizeof raw, "could not compare: the handshake %s SNI gave no certificate: "
                 "%.600s", bad->sent_sni ? "with" : "without", side_failure(bad));
    } else {
        c->differs = strcmp(a->sha256, b->sha256) != 0;
        c->default_covers = wo->run.t.tls.hostname_match;
        if (!c->differs)
            snprintf(raw, sizeof raw, "the same certificate \"%s\" with and without SNI "
                     "(SHA-256 %.23s...)", w->name, a->sha256);
        else
            snprintf(raw, sizeof raw, "the certificate depends on SNI: with SNI %s the server "
                     "presents \"%s\"; a client without SNI gets \"%s\", which %s %s",
                     c->servername, w->name, wo->name,
                     c->default_covers ? "also covers" : "does not cover", c->servername);
        if (c->differs && !c->default_covers && c->exit_code == EXIT_OK)
            c->exit_code = EXIT_WARNING;
        if (c->verdict.exit_code != EXIT_OK) {
            size_t n = strlen(raw);
            snprintf(raw + n, sizeof raw - n, "; with SNI: %.500s", c->verdict.summary);
        }
    }
    char *clean = sanitize_text(raw, strlen(raw), sizeof c->summary - 8);
    snprintf(c->summary, sizeof c->summary, "%s", clean ? clean : "");
    free(clean);
}

bool sni_advance(struct sni_check *c)
{
    if (c->finished)
        return true;
    bool all = tlsrun_advance(&c->side[SNI_WITH].run);
    all &= tlsrun_advance(&c->side[SNI_WITHOUT].run);
    if (!all)
        return false;
    for (int i = SNI_WITH; i <= SNI_WITHOUT; i++) {
        c->side[i].handshake = tlsrun_handshake_done(&c->side[i].run);
        leaf_name(&c->side[i]);
    }
    struct sni_side *w = &c->side[SNI_WITH];
    struct report_target tg = target_of(c);
    report_evaluate(&w->run.plan, &w->run.t, w->run.s, &tg, &c->verdict);
    judge(c);
    c->finished = true;
    return true;
}

void sni_wait(struct loop *l, struct sni_check *c)
{
    while (!sni_advance(c))
        if (loop_run_once(l, 1000) < 0 && errno != EINTR)
            break;
}

void sni_free(struct sni_check *c)
{
    if (!c)
        return;
    tlsrun_free(&c->side[SNI_WITH].run);
    tlsrun_free(&c->side[SNI_WITHOUT].run);
    free(c);
}

void sni_diagnose(const struct sni_check *c, struct ruleset *rs, struct evidence_store *st,
                  struct diag_result *r, char *warn, size_t warnlen)
{
    const struct sni_side *w = &c->side[SNI_WITH];
    struct report_target tg = target_of(c);
    evidence_diagnose(&w->run.t, w->run.s, &tg, &c->verdict, rs, st, r, warn, warnlen);
    /* The comparison's facts join the SNI side's evidence; run again. */
    diag_result_free(r);
    st->e.sni_cert_differs = c->differs;
    st->e.sni_default_covers = c->default_covers;
    st->e.sni_name = c->servername;
    st->e.sni_cert = w->name;
    st->e.default_cert = c->side[SNI_WITHOUT].name;
    diag_run(rs, &st->e, r);
}

/* ---- JSON ---------------------------------------------------------------- */

static const char *status_word(int code)
{
    static const char *const w[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
    return code >= 0 && code <= 3 ? w[code] : "UNKNOWN";
}

/* Never NULL: server text may be cut inside a UTF-8 sequence. */
static json_t *jtext(const char *s)
{
    if (!s)
        return json_null();
    char *clean = sanitize_text(s, strlen(s), 0);
    json_t *j = json_string(clean ? clean : "");
    free(clean);
    return j ? j : json_string("");
}

static json_t *jtristate(int v) { return v < 0 ? json_null() : json_boolean(v); }

static json_t *jside(const struct sni_check *c, const struct sni_side *sd)
{
    const struct transcript *t = &sd->run.t;
    const struct tls_info *tls = t->has_tls ? &t->tls : NULL;
    const struct cert_info *leaf = leaf_of(sd);
    json_t *cert = leaf ? report_cert_json(leaf, 0, time(NULL)) : json_null();
    if (leaf)
        json_object_set_new(cert, "name", jtext(sd->name));
    json_t *o = json_pack("{s:o, s:b, s:o, s:o, s:o, s:o, s:I}",
        "sni", sd->sent_sni ? jtext(c->servername) : json_null(), "handshake", sd->handshake,
        "address", jtext(session_address(sd->run.s)),
        "tls", tls && sd->handshake ? json_pack("{s:s, s:s, s:b, s:o}", "version", tls->version,
            "cipher", tls->cipher, "verified", tls->verified,
            "verify_error", tls->verified ? json_null() : jtext(tls->verify_error)) : json_null(),
        "certificate", cert,
        "covers_name", leaf ? json_boolean(tls->hostname_match) : json_null(),
        "chain_length", (json_int_t)(tls && sd->handshake ? tls->n_chain : 0));
    json_object_set_new(o, "detail", sd->handshake ? json_null() : jtext(side_failure(sd)));
    return o;
}

json_t *sni_json(const struct sni_check *c)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:o, s:s, s:i, s:s, s:o}",
        "schema", "mailscope.sni/1", "tool", "mailscope " MAILSCOPE_VERSION,
        "protocol", c->o.proto == SESSION_IMAP ? "imap" : "pop3", "host", jtext(c->host),
        "port", (json_int_t)c->o.port, "tls_mode", c->o.implicit ? "implicit" : "starttls",
        "servername", jtext(c->servername),
        "result", c->exit_code <= EXIT_WARNING ? "Success" : "Failure",
        "exit_code", c->exit_code, "status", status_word(c->exit_code),
        "summary", jtext(c->summary));
    json_object_set_new(j, "same_certificate", c->differs < 0 ? json_null()
                                                              : json_boolean(!c->differs));
    json_object_set_new(j, "default_covers_name", jtristate(c->default_covers));
    json_object_set_new(j, "with_sni", jside(c, &c->side[SNI_WITH]));
    json_object_set_new(j, "without_sni", jside(c, &c->side[SNI_WITHOUT]));
    struct ruleset rs;
    struct evidence_store st;
    struct diag_result r;
    char warn[1024] = "";
    sni_diagnose(c, &rs, &st, &r, warn, sizeof warn);
    json_t *a = diag_json(&r, &st.e);
    json_object_set_new(j, "diagnoses", a ? a : json_array());
    json_object_set_new(j, "diagnosis_note", r.no_rule ? json_string(DIAG_NO_RULE)
                                                       : warn[0] ? jtext(warn) : json_null());
    diag_result_free(&r);
    ruleset_free(&rs);
    return j;
}

/* ---- text: two columns ----------------------------------------------------- */

enum { LABEL_W = 14, COL_W = 40 };

static void cell(FILE *out, const char *s)
{
    char *clean = sanitize_text(s, strlen(s), 200);
    const char *v = clean ? clean : "";
    size_t n = strlen(v), cut = n < COL_W - 1 ? n : COL_W - 4;
    while (cut < n && cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
        cut--;
    fprintf(out, "%.*s%s%*s", (int)cut, v, cut < n ? "..." : "",
            (int)(COL_W - cut - (cut < n ? 3 : 0)), "");
    free(clean);
}

typedef void (*cell_fn)(const struct sni_side *sd, char *b, size_t n);

static void row(FILE *out, const struct sni_check *c, const char *label, cell_fn fn)
{
    char buf[600];
    fprintf(out, "%-*s", LABEL_W, label);
    for (int i = SNI_WITH; i <= SNI_WITHOUT; i++) {
        buf[0] = 0;
        fn(&c->side[i], buf, sizeof buf);
        cell(out, buf);
    }
    fputc('\n', out);
}

static void c_tls(const struct sni_side *sd, char *b, size_t n)
{
    snprintf(b, n, "%s", sd->handshake ? sd->run.t.tls.version : "no handshake");
}

static void c_cn(const struct sni_side *sd, char *b, size_t n)
{
    const struct cert_info *l = leaf_of(sd);
    snprintf(b, n, "%s", l && l->subject_cn ? l->subject_cn : "-");
}

static void c_names(const struct sni_side *sd, char *b, size_t n)
{
    const struct cert_info *l = leaf_of(sd);
    size_t len = 0;
    for (size_t i = 0; l && i < l->n_san && len < n; i++) {
        const char *s = l->san[i];
        s += !strncmp(s, "DNS:", 4) ? 4 : !strncmp(s, "IP:", 3) ? 3 : 0;
        len += (size_t)snprintf(b + len, n - len, "%s%s", i ? ", " : "", s);
    }
    if (!len)
        snprintf(b, n, "-");
}

static void c_issuer(const struct sni_side *sd, char *b, size_t n)
{
    const struct cert_info *l = leaf_of(sd);
    snprintf(b, n, "%s", l && l->issuer_cn ? l->issuer_cn : "-");
}

static void c_expires(const struct sni_side *sd, char *b, size_t n)
{
    const struct cert_info *l = leaf_of(sd);
    struct tm tm;
    char day[16] = "-";
    if (l && l->not_after && gmtime_r(&l->not_after, &tm))
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(b, n, "%s", day);
}

static void c_sha256(const struct sni_side *sd, char *b, size_t n)
{
    const struct cert_info *l = leaf_of(sd);
    snprintf(b, n, "%s", l ? l->sha256 : "-");
}

static void c_covers(const struct sni_side *sd, char *b, size_t n)
{
    snprintf(b, n, "%s", !leaf_of(sd) ? "-" : sd->run.t.tls.hostname_match ? "yes" : "NO");
}

static void c_chain(const struct sni_side *sd, char *b, size_t n)
{
    const struct tls_info *t = &sd->run.t.tls;
    if (leaf_of(sd))
        snprintf(b, n, "%zu sent, %s", t->n_chain, t->verified ? "verified" : "NOT verified");
    else
        snprintf(b, n, "-");
}

static void put_clean(FILE *out, const char *s)
{
    char *clean = sanitize_text(s ? s : "", s ? strlen(s) : 0, 600);
    fputs(clean ? clean : "", out);
    free(clean);
}

void sni_text(FILE *out, const struct sni_check *c)
{
    fputs("mailscope probe --sni ", out);
    put_clean(out, c->url[0] ? c->url : c->host);
    fprintf(out, " (%s)\n\n", c->o.implicit ? "implicit TLS" : "STARTTLS");
    char head[300];
    fprintf(out, "%-*s", LABEL_W, "");
    snprintf(head, sizeof head, "with SNI %s", c->servername);
    cell(out, head);
    cell(out, "without SNI");
    fputc('\n', out);
    row(out, c, "TLS", c_tls);
    row(out, c, "subject CN", c_cn);
    row(out, c, "names", c_names);
    row(out, c, "issuer CN", c_issuer);
    row(out, c, "expires", c_expires);
    row(out, c, "sha256", c_sha256);
    row(out, c, "covers name", c_covers);
    row(out, c, "chain", c_chain);
    for (int i = SNI_WITH; i <= SNI_WITHOUT; i++)
        if (leaf_of(&c->side[i]))
            fprintf(out, "%s SNI, SHA-256 %s\n", i == SNI_WITH ? "\nwith   " : "without",
                    leaf_of(&c->side[i])->sha256);
    for (int i = SNI_WITH; i <= SNI_WITHOUT; i++)
        if (!c->side[i].handshake) {
            fprintf(out, "\n%s SNI: ", i == SNI_WITH ? "with" : "without");
            put_clean(out, side_failure(&c->side[i]));
            fputc('\n', out);
        }
    fprintf(out, "\n%s %s: %s\n", c->o.proto == SESSION_IMAP ? "IMAP" : "POP3",
            status_word(c->exit_code), c->summary);
    struct ruleset rs;
    struct evidence_store st;
    struct diag_result r;
    char warn[1024] = "";
    sni_diagnose(c, &rs, &st, &r, warn, sizeof warn);
    if (r.n || r.no_rule)
        fputc('\n', out);
    diag_text(out, &r, &st.e);
    diag_result_free(&r);
    ruleset_free(&rs);
}
