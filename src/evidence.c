#include "evidence.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "certcheck.h"
#include "certnames.h"
#include "fingerprint.h"
#include "sanitize.h"

void evidence_reply_code(const char *reply, char *out, size_t outlen)
{
    out[0] = 0;
    const char *p = reply;
    if (!strncmp(p, "-ERR ", 5))
        p += 5;
    else {
        const char *sp = strchr(p, ' ');        /* past the tag */
        if (!sp)
            return;
        p = sp + 1;
        size_t w = strcspn(p, " ");
        if (!((w == 2 && !strncasecmp(p, "NO", 2)) || (w == 3 && !strncasecmp(p, "BAD", 3)) ||
              (w == 2 && !strncasecmp(p, "OK", 2)) || (w == 3 && !strncasecmp(p, "BYE", 3))))
            return;
        p += w;
        while (*p == ' ')
            p++;
    }
    if (*p != '[')
        return;
    size_t n = 0;
    for (p++; n + 1 < outlen && (isalnum((unsigned char)*p) || *p == '-' || *p == '/'); p++)
        out[n++] = (char)toupper((unsigned char)*p);
    out[n] = 0;
}

/* The last failing step: its name, the reply that ended it, whether it ran
 * inside TLS. */
static void failing_step(struct evidence_store *st, const struct transcript *t)
{
    struct diag_evidence *e = &st->e;
    size_t end = t->n;
    for (size_t i = t->n; i-- > 0;)
        if (t->ev[i].kind == TR_OP_END && !t->ev[i].ok && t->ev[i].op != OP_ID) {
            end = i;
            break;
        }
    if (end == t->n)
        return;
    const struct tr_event *ev = &t->ev[end];
    snprintf(st->step, sizeof st->step, "%s", session_op_name(ev->op, t->proto));
    e->elapsed_ms = (long)(ev->elapsed_us / 1000);
    e->step = st->step;
    e->message = ev->message ? ev->message : "";
    e->secure = ev->secure;
    for (size_t i = end; i-- > 0;) {
        if (t->ev[i].kind == TR_OP_BEGIN && t->ev[i].op == ev->op)
            break;
        if (t->ev[i].kind == TR_RECEIVED && t->ev[i].op == ev->op && t->ev[i].data) {
            e->reply = (const char *)t->ev[i].data;
            e->secure = t->ev[i].secure;
            break;
        }
    }
    evidence_reply_code(e->reply, st->code, sizeof st->code);
    e->code = st->code;
}

/* Lines the server sent, and bytes refused at a TLS boundary (Exchange's
 * plain-text "* BYE Connection is closed. 14" where a handshake was due). */
static bool server_bytes(const struct tr_event *ev)
{
    return (ev->kind == TR_RECEIVED || ev->kind == TR_DISCARDED) && ev->data;
}

static void server_lines(struct diag_evidence *e, const struct transcript *t)
{
    size_t first = 0, count = 0;
    for (size_t i = t->n; i-- > 0 && count < DIAG_MAX_LINES;)
        if (server_bytes(&t->ev[i])) {
            first = i;
            count++;
        }
    for (size_t i = first; i < t->n && e->n_lines < count; i++)
        if (server_bytes(&t->ev[i])) {
            e->line_secure[e->n_lines] = t->ev[i].secure;
            e->lines[e->n_lines++] = (const char *)t->ev[i].data;
        }
}

static size_t caps_copy(const char **dst, const struct capset *c)
{
    size_t n = 0;
    for (size_t i = 0; c && i < c->n && n < DIAG_MAX_CAPS; i++)
        dst[n++] = c->item[i];
    return n;
}

static void cert_facts(struct evidence_store *st, const struct transcript *t,
                       const char *greeting, const struct report_target *tg)
{
    struct diag_evidence *e = &st->e;
    const char *src = certnames_server_name(greeting, t->has_ntlm ? &t->ntlm : NULL, st->fqdn,
                                            sizeof st->fqdn);
    if (!src)
        st->fqdn[0] = 0;
    e->server_fqdn = st->fqdn;
    if (src && t->has_ntlm && t->ntlm.netbios_computer[0])
        e->server_short = t->ntlm.netbios_computer;   /* Exchange's -Server takes this name */
    if (!t->has_tls)
        return;
    snprintf(st->tls_version, sizeof st->tls_version, "%s", t->tls.version);
    e->tls_version = st->tls_version;
    e->cert_seen = t->tls.n_chain > 0;
    struct certnames f;
    certnames_facts(&t->tls, src ? st->fqdn : NULL, src, &f);
    snprintf(st->cert_cn, sizeof st->cert_cn, "%s",
             f.subject_cn ? f.subject_cn : f.n_dns ? f.dns[0] : "");
    e->cert_cn = st->cert_cn;
    e->cert_covers_server = e->cert_seen ? f.server_name_match : -1;
    e->n_problems = certcheck_problems(&t->tls, time(NULL), tg->expiry_warn_days, st->problems);
    for (size_t i = 0; i < e->n_problems; i++)
        e->problems[i] = st->problems[i];
}

void evidence_collect(struct evidence_store *st, const struct transcript *t, struct session *s,
                      const struct report_target *tg, const struct report_verdict *v)
{
    memset(st, 0, sizeof *st);
    struct diag_evidence *e = &st->e;
    diag_evidence_init(e);
    e->pop3 = t->proto == SESSION_POP3;
    e->failed = !v->success;
    e->failure = v->fail ? failure_class_name(v->fail) : "";
    e->user = tg->user ? tg->user : "";
    e->redact_user = tg->redact_user;
    e->host = tg->host ? tg->host : "";
    e->port = tg->port;
    e->url = tg->url ? tg->url : "";
    e->greeting = session_greeting(s);
    failing_step(st, t);
    if (!e->message[0] && e->failed)
        e->message = v->summary;        /* a plan failure has no failing step */
    server_lines(e, t);
    const struct capset *before = session_caps(s, CAPS_BEFORE_TLS);
    const struct capset *after = session_caps(s, CAPS_AFTER_TLS);
    e->n_caps_before = caps_copy(e->caps_before, before->known ? before : NULL);
    e->n_caps_after = caps_copy(e->caps_after, after->known ? after : NULL);
    struct server_identity id;
    fingerprint_identify(e->greeting, before->known ? before : session_current_caps(s), &id);
    fingerprint_refine(&id, e->lines, e->n_lines);
    e->family = id.family;
    snprintf(st->version, sizeof st->version, "%s", id.version);
    e->family_version = st->version;
    cert_facts(st, t, e->greeting, tg);
    e->log_lines = tg->log_lines;
    e->n_log_lines = tg->n_log_lines;
    /* Nothing named the server: the backend a log's Proxy= names will do. */
    if (!st->fqdn[0] && tg->log_server && tg->log_server[0]) {
        snprintf(st->fqdn, sizeof st->fqdn, "%s", tg->log_server);
        e->server_fqdn = st->fqdn;
    }
}

void evidence_collect_live(struct evidence_store *st, const struct transcript *t,
                           struct session *s, const struct report_target *tg)
{
    struct report_verdict v = { .success = true };
    unsigned later_ok = 0;      /* steps that succeeded after: their failures are history */
    for (size_t i = t->n; i-- > 0;) {
        const struct tr_event *ev = &t->ev[i];
        if (ev->op == OP_ID)
            continue;   /* ID only ever sharpens the fingerprint: no failure of the session */
        unsigned bit = 1u << (ev->op < 31 ? ev->op : 31);
        if (ev->kind == TR_OP_END && ev->ok)
            later_ok |= bit;
        if ((ev->kind == TR_OP_END && !ev->ok && ev->fail && !(later_ok & bit)) ||
            (ev->kind == TR_CLOSED && ev->fail)) {
            v.success = false;
            v.fail = ev->fail;
            snprintf(v.summary, sizeof v.summary, "%s", ev->message ? ev->message : "");
            break;
        }
    }
    evidence_collect(st, t, s, tg, &v);
}

int evidence_diagnose(const struct transcript *t, struct session *s,
                      const struct report_target *tg, const struct report_verdict *v,
                      struct ruleset *rs, struct evidence_store *st, struct diag_result *r,
                      char *warn, size_t warnlen)
{
    ruleset_init(rs);
    evidence_collect(st, t, s, tg, v);
    if (rules_load_default(rs, warn, warnlen)) {
        memset(r, 0, sizeof *r);
        return -1;
    }
    diag_run(rs, &st->e, r);
    return 0;
}

void evidence_report_json(json_t *report, const struct transcript *t, struct session *s,
                          const struct report_target *tg, const struct report_verdict *v)
{
    struct ruleset rs;
    struct evidence_store st;
    struct diag_result r;
    char warn[1024];
    evidence_diagnose(t, s, tg, v, &rs, &st, &r, warn, sizeof warn);
    json_t *a = diag_json(&r, &st.e);
    json_object_set_new(report, "diagnoses", a ? a : json_array());
    /* The whole session known, the family and version are sharper than the
     * greeting's alone (an ID reply, a sign-off). */
    json_object_set_new(report, "server_family", json_string(st.e.family));
    json_object_set_new(report, "server_version", st.e.family_version[0]
                        ? json_string(st.e.family_version) : json_null());
    char *clean = warn[0] ? sanitize_text(warn, strlen(warn), 0) : NULL;
    json_object_set_new(report, "diagnosis_note", r.no_rule ? json_string(DIAG_NO_RULE)
                                                   : clean ? json_string(clean) : json_null());
    free(clean);
    diag_result_free(&r);
    ruleset_free(&rs);
}

void evidence_diagnoses_text(FILE *out, const struct transcript *t, struct session *s,
                             const struct report_target *tg, const struct report_verdict *v)
{
    struct ruleset rs;
    struct evidence_store st;
    struct diag_result r;
    char warn[1024];
    evidence_diagnose(t, s, tg, v, &rs, &st, &r, warn, sizeof warn);
    if (warn[0]) {
        char *clean = sanitize_text(warn, strlen(warn), 0);
        fprintf(out, "rules: %s\n", clean ? clean : "");
        free(clean);
    }
    diag_text(out, &r, &st.e);
    diag_result_free(&r);
    ruleset_free(&rs);
}
