#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certcheck.h"
#include "fingerprint.h"
#include "sanitize.h"
#include "version.h"

/* ---- steps: the OP_BEGIN..OP_END ranges of the transcript ------------ */

struct step_view {
    size_t begin, end;          /* indices of OP_BEGIN and OP_END (end == n when open) */
    enum session_op op;
};

static size_t find_end(const struct transcript *t, size_t from, enum session_op op)
{
    for (size_t j = from + 1; j < t->n; j++)
        if (t->ev[j].kind == TR_OP_END && t->ev[j].op == op)
            return j;
    return t->n;
}

static size_t collect_steps(const struct transcript *t, struct step_view **out)
{
    size_t n = 0;
    *out = calloc(t->n ? t->n : 1, sizeof **out);
    for (size_t i = 0; *out && i < t->n; i++)
        if (t->ev[i].kind == TR_OP_BEGIN)
            (*out)[n++] = (struct step_view){ i, find_end(t, i, t->ev[i].op), t->ev[i].op };
    return n;
}

static bool belongs(const struct tr_event *e, enum session_op op)
{
    return (e->kind == TR_SENT || e->kind == TR_RECEIVED || e->kind == TR_LITERAL) &&
           (e->op == op || e->op == OP_NONE);
}

static const struct tr_event *step_end(const struct transcript *t, const struct step_view *sv)
{
    return sv->end < t->n ? &t->ev[sv->end] : NULL;
}

/* ---- verdict ---------------------------------------------------------- */

static const struct cert_info *leaf_of(const struct transcript *t)
{
    return t->has_tls && t->tls.n_chain ? &t->tls.chain[0] : NULL;
}

static void __attribute__((format(printf, 2, 3))) warn(struct report_verdict *v, const char *fmt, ...)
{
    if (v->n_warnings == 4)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->warnings[v->n_warnings++], sizeof v->warnings[0], fmt, ap);
    va_end(ap);
}

static void set_summary(struct report_verdict *v, const char *prefix, const char *msg)
{
    char *clean = sanitize_text(msg, strlen(msg), 900);
    snprintf(v->summary, sizeof v->summary, "%s%s", prefix, clean ? clean : "");
    free(clean);
}

static void success_summary(const struct plan *p, struct session *s,
                            const struct report_target *tg, struct report_verdict *v)
{
    const struct tls_info *tls = session_tls(s);
    char what[600];
    int n = snprintf(what, sizeof what, "%s:%u", tg->host, tg->port);
    if (tls)
        n += snprintf(what + n, sizeof what - (size_t)n, " %s %s, certificate %s",
                      p->started_tls ? "STARTTLS" : "TLS", tls->version,
                      tls->verified ? "verified" : "NOT verified");
    else
        n += snprintf(what + n, sizeof what - (size_t)n, " without TLS");
    if (p->ntlm_probed)
        snprintf(what + n, sizeof what - (size_t)n, "; %s", p->message[0] ? p->message : "NTLM probed");
    else if (p->login_ok)
        snprintf(what + n, sizeof what - (size_t)n, ", logged in as %s", tg->user ? tg->user : "?");
    set_summary(v, "", what);
}

void report_evaluate(const struct plan *p, const struct transcript *t, struct session *s,
                     const struct report_target *tg, struct report_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->fail = p->failed ? p->fail : FAIL_NONE;
    v->success = !p->failed;
    if (p->failed) {
        v->exit_code = p->fail == FAIL_DNS ? EXIT_UNKNOWN : EXIT_CRITICAL;
        set_summary(v, "", p->message[0] ? p->message : "failed");
        return;
    }
    const struct tls_info *tls = session_tls(s);
    if (p->cert_unverified && tls)
        warn(v, "the certificate did not verify (%s); --insecure went on", tls->verify_error);
    if (session_plaintext_login_used(s))
        warn(v, "credentials were sent unencrypted (--allow-plaintext-login)");
    const struct cert_info *leaf = leaf_of(t);
    long days = leaf ? certinfo_days_left(leaf, time(NULL)) : 0;
    if (leaf && days >= 0 && days <= tg->expiry_warn_days)
        warn(v, "the server certificate expires in %ld days", days);
    v->exit_code = v->n_warnings ? EXIT_WARNING : EXIT_OK;
    success_summary(p, s, tg, v);
}

/* ---- JSON ------------------------------------------------------------- */

/* Exact bytes when they are UTF-8 (jansson escapes controls); else the
 * sanitised text, so a JSON string is never invalid. */
static json_t *jbytes(const void *data, size_t len)
{
    if (sanitize_is_utf8(data, len))
        return json_stringn(data, len);
    char *clean = sanitize_text(data, len, 0);
    json_t *j = json_string(clean ? clean : "");
    free(clean);
    return j;
}

static json_t *jstr_or_null(const char *s) { return s ? jbytes(s, strlen(s)) : json_null(); }

static json_t *jtime(time_t t)
{
    char buf[32];
    struct tm tm;
    if (!t || !gmtime_r(&t, &tm))
        return json_null();
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static json_t *jcaps(const struct capset *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->n; i++)
        json_array_append_new(a, jbytes(c->item[i], strlen(c->item[i])));
    return a;
}

static json_t *jcert(const struct cert_info *ci, size_t depth, time_t now)
{
    json_t *san = json_array();
    for (size_t i = 0; i < ci->n_san; i++)
        json_array_append_new(san, jstr_or_null(ci->san[i]));
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:s, s:s, s:o, s:o, s:b, s:b}",
        "depth", (json_int_t)depth, "subject", jstr_or_null(ci->subject),
        "issuer", jstr_or_null(ci->issuer), "san", san, "serial", jstr_or_null(ci->serial),
        "not_before", jtime(ci->not_before), "not_after", jtime(ci->not_after),
        "days_left", (json_int_t)certinfo_days_left(ci, now), "sha256", ci->sha256,
        "sha1", ci->sha1, "key", jstr_or_null(ci->key), "signature", jstr_or_null(ci->signature),
        "self_signed", ci->self_signed, "ca", ci->is_ca);
}

static json_t *jtls(const struct transcript *t)
{
    if (!t->has_tls)
        return json_null();
    const struct tls_info *tls = &t->tls;
    const char *codes[CERTCHECK_MAX];
    size_t n = certcheck_problems(tls, time(NULL), 30, codes);
    json_t *problems = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(problems, json_string(codes[i]));
    return json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:b, s:I, s:o}",
        "version", tls->version[0] ? json_string(tls->version) : json_null(),
        "cipher", tls->cipher[0] ? json_string(tls->cipher) : json_null(),
        "group", tls->group[0] ? json_string(tls->group) : json_null(),
        "sni", tls->sni[0] ? jstr_or_null(tls->sni) : json_null(),
        "verified", tls->verified, "verify_error", tls->verified ? json_null()
                                                                 : jstr_or_null(tls->verify_error),
        "hostname_match", tls->hostname_match, "verified_chain_length", (json_int_t)tls->n_verified,
        "problems", problems);
}

static json_t *jchain(const struct transcript *t)
{
    json_t *a = json_array();
    time_t now = time(NULL);
    for (size_t i = 0; t->has_tls && i < t->tls.n_chain; i++)
        json_array_append_new(a, jcert(&t->tls.chain[i], i, now));
    return a;
}

static json_t *jstep(const struct transcript *t, const struct step_view *sv)
{
    json_t *received = json_array(), *sent = json_null();
    char *joined = NULL;
    size_t jlen = 0;
    for (size_t i = sv->begin + 1; i < sv->end; i++) {
        const struct tr_event *e = &t->ev[i];
        if (!belongs(e, sv->op))
            continue;
        if (e->kind == TR_RECEIVED)
            json_array_append_new(received, jbytes(e->data, e->len));
        else if (e->kind == TR_LITERAL)
            json_array_append_new(received, json_sprintf("{%llu bytes}",
                                  (unsigned long long)e->literal_seen));
        else if (e->kind == TR_SENT && (joined = realloc(joined, jlen + e->len + 2))) {
            if (jlen)
                joined[jlen++] = '\n';
            memcpy(joined + jlen, e->data, e->len);
            jlen += e->len;
        }
    }
    if (joined)
        sent = jbytes(joined, jlen);
    free(joined);
    const struct tr_event *end = step_end(t, sv);
    return json_pack("{s:s, s:o, s:o, s:b, s:o, s:o, s:o}",
        "name", session_op_name(sv->op, t->proto), "sent", sent, "received", received,
        "ok", end && end->ok,
        "elapsed_ms", end ? json_real((double)end->elapsed_us / 1000.0) : json_null(),
        "status", end && end->status && *end->status ? json_string(end->status) : json_null(),
        "message", end ? jstr_or_null(end->message) : json_string("did not finish"));
}

static json_t *jsteps(const struct transcript *t)
{
    struct step_view *sv;
    size_t n = collect_steps(t, &sv);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, jstep(t, &sv[i]));
    free(sv);
    return a;
}

static json_t *jnotices(const struct transcript *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == TR_NOTICE && t->ev[i].message)
            json_array_append_new(a, jstr_or_null(t->ev[i].message));
    return a;
}

static json_t *jntlm(const struct transcript *t)
{
    if (!t->has_ntlm)
        return json_null();
    const struct ntlm_challenge_info *n = &t->ntlm;
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "target_name", jstr_or_null(n->target_name), "netbios_computer", jstr_or_null(n->netbios_computer),
        "netbios_domain", jstr_or_null(n->netbios_domain), "dns_computer", jstr_or_null(n->dns_computer),
        "dns_domain", jstr_or_null(n->dns_domain), "dns_tree", jstr_or_null(n->dns_tree),
        "os_version", n->os_version[0] ? json_string(n->os_version) : json_null());
}

static json_t *jdiscarded(const struct transcript *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == TR_DISCARDED)
            return jbytes(t->ev[i].data, t->ev[i].len);
    return json_null();
}

static const char *tls_mode_used(const struct plan *p, struct session *s)
{
    if (!session_tls(s))
        return "none";
    return p->started_tls ? "starttls" : "implicit";
}

static const char *status_word(int code)
{
    static const char *const w[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
    return code >= 0 && code <= 3 ? w[code] : "UNKNOWN";
}

json_t *report_json(const struct plan *p, const struct transcript *t, struct session *s,
                    const struct report_target *tg, const struct report_verdict *v)
{
    json_t *warnings = json_array();
    for (int i = 0; i < v->n_warnings; i++)
        json_array_append_new(warnings, jstr_or_null(v->warnings[i]));
    const char *greeting = session_greeting(s);
    json_t *caps = json_pack("{s:o, s:o, s:o}",
        "before_tls", jcaps(session_caps(s, CAPS_BEFORE_TLS)),
        "after_tls", jcaps(session_caps(s, CAPS_AFTER_TLS)),
        "after_login", jcaps(session_caps(s, CAPS_AFTER_LOGIN)));
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:o, s:s, s:s}",
        "schema", "mailscope.probe/1", "tool", "mailscope " MAILSCOPE_VERSION,
        "protocol", t->proto == SESSION_IMAP ? "imap" : "pop3", "host", jstr_or_null(tg->host),
        "port", (json_int_t)tg->port, "address", jstr_or_null(session_address(s)),
        "user", jstr_or_null(tg->user), "auth", jstr_or_null(tg->auth),
        "tls_mode", tls_mode_used(p, s), "tls_requested", tg->tls_requested);
    json_object_set_new(j, "result", json_string(v->success ? "Success" : "Failure"));
    json_object_set_new(j, "exit_code", json_integer(v->exit_code));
    json_object_set_new(j, "status", json_string(status_word(v->exit_code)));
    json_object_set_new(j, "summary", json_string(v->summary));
    json_object_set_new(j, "failure_class",
                        v->fail ? json_string(failure_class_name(v->fail)) : json_null());
    json_object_set_new(j, "warnings", warnings);
    json_object_set_new(j, "greeting", *greeting ? jbytes(greeting, strlen(greeting)) : json_null());
    json_object_set_new(j, "server_family",
        json_string(fingerprint_family(greeting, session_caps(s, CAPS_BEFORE_TLS)->known
                        ? session_caps(s, CAPS_BEFORE_TLS) : session_current_caps(s))));
    json_object_set_new(j, "server_name_hint", json_null());
    json_object_set_new(j, "capabilities", caps);
    json_object_set_new(j, "tls", jtls(t));
    json_object_set_new(j, "chain", jchain(t));
    json_object_set_new(j, "ntlm", jntlm(t));
    json_object_set_new(j, "steps", jsteps(t));
    json_object_set_new(j, "notices", jnotices(t));
    json_object_set_new(j, "discarded_at_starttls", jdiscarded(t));
    json_object_set_new(j, "diagnoses", json_array());
    return j;
}

json_t *report_json_error(int exit_code, enum failure_class fail, const char *message)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:o, s:[]}", "schema", "mailscope.probe/1",
        "tool", "mailscope " MAILSCOPE_VERSION, "result", "Failure", "exit_code", exit_code,
        "status", status_word(exit_code),
        "failure_class", fail ? json_string(failure_class_name(fail)) : json_null(),
        "summary", jstr_or_null(message), "message", jstr_or_null(message), "steps");
}

json_t *report_events_json(const struct transcript *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->n; i++) {
        const struct tr_event *e = &t->ev[i];
        json_t *o = json_pack("{s:f, s:s, s:s, s:b}", "t", (double)e->t_us / 1e6,
                              "kind", transcript_kind_name(e->kind),
                              "op", session_op_name(e->op, t->proto), "secure", e->secure);
        if (e->data)
            json_object_set_new(o, "text", jbytes(e->data, e->len));
        if (e->kind == TR_OP_END) {
            json_object_set_new(o, "ok", json_boolean(e->ok));
            json_object_set_new(o, "elapsed_ms", json_real((double)e->elapsed_us / 1000.0));
        }
        if (e->fail)
            json_object_set_new(o, "failure_class", json_string(failure_class_name(e->fail)));
        if (e->message)
            json_object_set_new(o, "message", jstr_or_null(e->message));
        if (e->kind == TR_LITERAL)
            json_object_set_new(o, "bytes", json_integer((json_int_t)e->literal_seen));
        json_array_append_new(a, o);
    }
    return a;
}

/* ---- text ------------------------------------------------------------- */

static void put_clean(FILE *out, const void *data, size_t len, size_t max)
{
    char *clean = sanitize_text(data, len, max);
    fputs(clean ? clean : "", out);
    free(clean);
}

static void text_line(FILE *out, const struct tr_event *e)
{
    const char *trust = e->secure ? "tls  " : "clear";
    if (e->kind == TR_LITERAL) {
        fprintf(out, "    [%s] S: {literal: %llu bytes}\n", trust, (unsigned long long)e->literal_seen);
        return;
    }
    fprintf(out, "    [%s] %s ", trust, e->kind == TR_SENT ? "C:" : "S:");
    put_clean(out, e->data, e->len, 2000);
    fputc('\n', out);
}

static void text_step(FILE *out, const struct transcript *t, const struct step_view *sv)
{
    const struct tr_event *end = step_end(t, sv);
    fprintf(out, "  %-11s %-4s %8.1f ms", session_op_name(sv->op, t->proto),
            !end ? "..." : end->ok ? "ok" : "FAIL", end ? (double)end->elapsed_us / 1000.0 : 0.0);
    if (end && end->message) {
        fputs("  ", out);
        put_clean(out, end->message, strlen(end->message), 600);
    }
    fputc('\n', out);
    for (size_t i = sv->begin + 1; i < sv->end && i < t->n; i++) {
        const struct tr_event *e = &t->ev[i];
        if (belongs(e, sv->op))
            text_line(out, e);
        else if (e->kind == TR_NOTICE || e->kind == TR_DISCARDED) {
            fputs(e->kind == TR_NOTICE ? "    note: " : "    DISCARDED (plain text, never shown as TLS): ", out);
            if (e->kind == TR_NOTICE)
                put_clean(out, e->message, strlen(e->message), 600);
            else
                put_clean(out, e->data, e->len, 600);
            fputc('\n', out);
        }
    }
}

static void text_chain(FILE *out, const struct transcript *t)
{
    const struct tls_info *tls = &t->tls;
    fprintf(out, "\nTLS: %s %s%s%s, SNI %s, certificate %s", tls->version, tls->cipher,
            tls->group[0] ? " " : "", tls->group, tls->sni[0] ? tls->sni : "(none: address)",
            tls->verified ? "verified" : "NOT verified: ");
    if (!tls->verified)
        put_clean(out, tls->verify_error, strlen(tls->verify_error), 200);
    fprintf(out, "\nChain as sent by the server (%zu):\n", tls->n_chain);
    time_t now = time(NULL);
    for (size_t i = 0; i < tls->n_chain; i++) {
        const struct cert_info *c = &tls->chain[i];
        fprintf(out, "  %zu subject: ", i);
        put_clean(out, c->subject, c->subject ? strlen(c->subject) : 0, 400);
        fputs("\n    issuer:  ", out);
        put_clean(out, c->issuer, c->issuer ? strlen(c->issuer) : 0, 400);
        fprintf(out, "\n    expires: %ld days left; key %s; %s%s\n    sha256:  %s\n",
                certinfo_days_left(c, now), c->key ? c->key : "?", c->signature ? c->signature : "?",
                c->self_signed ? "; self-signed" : "", c->sha256);
    }
}

void report_text(FILE *out, const struct plan *p, const struct transcript *t, struct session *s,
                 const struct report_target *tg, const struct report_verdict *v)
{
    fprintf(out, "mailscope probe %s (%s, TLS %s)\n", tg->url,
            t->proto == SESSION_IMAP ? "IMAP" : "POP3", tg->tls_requested);
    struct step_view *sv;
    size_t n = collect_steps(t, &sv);
    for (size_t i = 0; i < n; i++)
        text_step(out, t, &sv[i]);
    free(sv);
    if (t->has_tls)
        text_chain(out, t);
    for (int i = 0; i < v->n_warnings; i++)
        fprintf(out, "WARNING: %s\n", v->warnings[i]);
    fprintf(out, "\n%s %s: %s\n", t->proto == SESSION_IMAP ? "IMAP" : "POP3",
            status_word(v->exit_code), v->summary);
    (void)p;
    (void)s;
}

static long step_ms(const struct transcript *t, enum session_op op)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == TR_OP_END && t->ev[i].op == op && t->ev[i].ok)
            return (long)(t->ev[i].elapsed_us / 1000);
    return -1;
}

void report_nagios(FILE *out, const struct transcript *t, struct session *s,
                   const struct report_target *tg, const struct report_verdict *v)
{
    char line[1300];
    snprintf(line, sizeof line, "%s", v->summary);
    for (char *c = line; *c; c++)
        if (*c == '|')
            *c = '/';   /* '|' starts the performance data */
    fprintf(out, "%s %s - %s", t->proto == SESSION_IMAP ? "IMAP" : "POP3",
            status_word(v->exit_code), line);
    for (int i = 0; i < v->n_warnings; i++)
        fprintf(out, "; %s", v->warnings[i]);
    fputs(" |", out);
    static const struct { const char *label; enum session_op op; } perf[] = {
        { "connect", OP_CONNECT }, { "tls", OP_TLS }, { "login", OP_LOGIN } };
    for (size_t i = 0; i < 3; i++) {
        long ms = step_ms(t, perf[i].op);
        if (ms >= 0)
            fprintf(out, " %s=%ldms;;;0", perf[i].label, ms);
    }
    fputc('\n', out);
    (void)s;
    (void)tg;
}
