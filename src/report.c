#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certcheck.h"
#include "certnames.h"
#include "evidence.h"
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

const char *report_user_shown(const struct report_target *tg)
{
    return tg->user && tg->redact_user ? SESSION_USER_MARK : tg->user;
}

/* ---- verdict ---------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3))) warn(struct report_verdict *v, const char *fmt, ...)
{
    if (v->n_warnings == (int)(sizeof v->warnings / sizeof v->warnings[0]))
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
        snprintf(what + n, sizeof what - (size_t)n, ", logged in as %s",
                 tg->user ? report_user_shown(tg) : "?");
    set_summary(v, "", what);
}

/* "; problems: expired, hostname-mismatch" (or "") for a summary line. */
static void problem_codes(const struct certcheck_result *cr, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < cr->n && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "; problems: ",
                                cr->p[i].code);
}

/* Problems that only warn become warnings; one that fails verification
 * although the session went on (verified here, refused by clients that
 * verify like mailscope) is critical: returns true then. */
static bool cert_warnings(const struct plan *p, const struct certcheck_result *cr,
                          const struct transcript *t, struct report_verdict *v)
{
    bool critical = false;
    for (size_t i = 0; i < cr->n; i++) {
        const struct certcheck_problem *pb = &cr->p[i];
        char *clean = sanitize_text(pb->detail, strlen(pb->detail), 280);
        if (pb->fails_verification)
            critical |= !p->cert_unverified;   /* else --insecure's warning covers it */
        else if (!strcmp(pb->code, "expires-soon") && pb->depth == 0)
            warn(v, "the server certificate expires in %ld days",
                 certinfo_days_left(&t->tls.chain[0], time(NULL)));
        else
            warn(v, "%s: %s", pb->code, clean ? clean : "");
        free(clean);
    }
    return critical;
}

void report_evaluate(const struct plan *p, const struct transcript *t, struct session *s,
                     const struct report_target *tg, struct report_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->fail = p->failed ? p->fail : FAIL_NONE;
    v->success = !p->failed;
    struct certcheck_result cr = { .n = 0 };
    if (t->has_tls)
        certcheck_run(&t->tls, time(NULL), tg->expiry_warn_days, &cr);
    char codes[300];
    problem_codes(&cr, codes, sizeof codes);
    if (p->failed) {
        v->exit_code = p->fail == FAIL_DNS ? EXIT_UNKNOWN : EXIT_CRITICAL;
        char msg[sizeof p->message + sizeof codes];
        snprintf(msg, sizeof msg, "%s%s", p->message[0] ? p->message : "failed",
                 p->fail == FAIL_CERT ? codes : "");
        set_summary(v, "", msg);
        return;
    }
    const struct tls_info *tls = session_tls(s);
    if (p->cert_unverified && tls)
        warn(v, "the certificate did not verify (%s); --insecure went on", tls->verify_error);
    if (session_plaintext_login_used(s))
        warn(v, "credentials were sent unencrypted (--allow-plaintext-login)");
    if (cert_warnings(p, &cr, t, v)) {
        v->exit_code = EXIT_CRITICAL;
        v->success = false;
        v->fail = FAIL_CERT;
        set_summary(v, "the certificate verified here but clients that verify like mailscope "
                    "refuse it", codes);
        return;
    }
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

static json_t *jstrings(char *const *list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, jstr_or_null(list[i]));
    return a;
}

static json_t *jkey_usage(const struct cert_info *ci)
{
    if (!ci->has_key_usage)
        return json_null();
    const char *names[CERTINFO_KU_COUNT];
    size_t n = certinfo_key_usage_names(ci->key_usage, names);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

/* The facts of one certificate beyond the original fields: names, key,
 * usages, where its issuer and revocation status can be fetched. */
static void jcert_more(json_t *o, const struct cert_info *ci)
{
    json_object_set_new(o, "subject_cn", jstr_or_null(ci->subject_cn));
    json_object_set_new(o, "issuer_cn", jstr_or_null(ci->issuer_cn));
    json_object_set_new(o, "key_type", json_string(ci->key_type));
    json_object_set_new(o, "key_bits", json_integer(ci->key_bits));
    json_object_set_new(o, "signature_hash", ci->sig_hash[0] ? json_string(ci->sig_hash)
                                                             : json_null());
    json_object_set_new(o, "key_usage", jkey_usage(ci));
    json_object_set_new(o, "extended_key_usage", ci->has_eku ? jstrings(ci->eku, ci->n_eku)
                                                             : json_null());
    json_object_set_new(o, "aia", json_pack("{s:o, s:o}",
        "ca_issuers", jstrings(ci->ca_issuers, ci->n_ca_issuers),
        "ocsp", jstrings(ci->ocsp, ci->n_ocsp)));
    json_object_set_new(o, "subject_key_id", ci->ski[0] ? json_string(ci->ski) : json_null());
    json_object_set_new(o, "authority_key_id", ci->aki[0] ? json_string(ci->aki) : json_null());
}

json_t *report_cert_json(const struct cert_info *ci, size_t depth, time_t now)
{
    json_t *san = json_array();
    for (size_t i = 0; i < ci->n_san; i++)
        json_array_append_new(san, jstr_or_null(ci->san[i]));
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:s, s:s, s:o, s:o, s:b, s:b}",
        "depth", (json_int_t)depth, "subject", jstr_or_null(ci->subject),
        "issuer", jstr_or_null(ci->issuer), "san", san, "serial", jstr_or_null(ci->serial),
        "not_before", jtime(ci->not_before), "not_after", jtime(ci->not_after),
        "days_left", (json_int_t)certinfo_days_left(ci, now), "sha256", ci->sha256,
        "sha1", ci->sha1, "key", jstr_or_null(ci->key), "signature", jstr_or_null(ci->signature),
        "self_signed", ci->self_signed, "ca", ci->is_ca);
    jcert_more(o, ci);
    return o;
}

static const char *source_name(enum tls_source src)
{
    return src == TLS_SRC_SERVER ? "sent-by-server" : "trust-store";
}

static const char *server_name_of(const struct transcript *t, struct session *s, char *buf,
                                  size_t n)
{
    return certnames_server_name(session_greeting(s), t->has_ntlm ? &t->ntlm : NULL, buf, n);
}

static json_t *jnames(const struct transcript *t, struct session *s)
{
    char server[256];
    const char *source = server_name_of(t, s, server, sizeof server);
    struct certnames f;
    certnames_facts(t->has_tls ? &t->tls : NULL, source ? server : NULL, source, &f);
    json_t *dns = json_array(), *ip = json_array();
    for (size_t i = 0; i < f.n_dns; i++)
        json_array_append_new(dns, jstr_or_null(f.dns[i]));
    for (size_t i = 0; i < f.n_ip; i++)
        json_array_append_new(ip, jstr_or_null(f.ip[i]));
    return json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o}",
        "subject_cn", jstr_or_null(f.subject_cn), "dns", dns, "ip", ip,
        "checked_name", jstr_or_null(f.checked_name), "checked_name_match", f.checked_match,
        "matched_by", jstr_or_null(hostmatch_by_name(f.checked_by)),
        "matched_identifier", jstr_or_null(f.checked_matched),
        "server_name", f.server_name[0] ? jstr_or_null(f.server_name) : json_null(),
        "server_name_source", jstr_or_null(f.server_name_source),
        "server_name_match", f.server_name_match < 0 ? json_null()
                                                     : json_boolean(f.server_name_match),
        "server_name_matched_identifier", jstr_or_null(f.server_matched));
}

/* severity: what the problem does to the verdict of this run (a failure to
 * verify is only a WARNING once --insecure went on). */
static json_t *jproblem_details(const struct certcheck_result *cr, const struct tls_info *tls,
                                bool insecure_went_on)
{
    json_t *a = json_array();
    for (size_t i = 0; i < cr->n; i++) {
        const struct certcheck_problem *p = &cr->p[i];
        const struct cert_info *c = p->depth < 0 ? NULL
            : (size_t)p->depth < tls->n_path ? &tls->path[p->depth]
            : (size_t)p->depth < tls->n_chain ? &tls->chain[p->depth] : NULL;
        json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:b, s:o, s:o, s:o}",
            "code", p->code, "depth", p->depth < 0 ? json_null() : json_integer(p->depth),
            "subject", c ? jstr_or_null(c->subject) : json_null(),
            "fails_verification", p->fails_verification, "severity",
            json_string(p->fails_verification && !insecure_went_on ? "CRITICAL" : "WARNING"),
            "detail", jstr_or_null(p->detail), "impact", jstr_or_null(p->impact)));
    }
    return a;
}

static json_t *jtls(const struct plan *p, const struct transcript *t, struct session *s,
                    const struct report_target *tg)
{
    if (!t->has_tls)
        return json_null();
    const struct tls_info *tls = &t->tls;
    struct certcheck_result cr;
    certcheck_run(tls, time(NULL), tg->expiry_warn_days, &cr);
    json_t *problems = json_array();
    for (size_t i = 0; i < cr.n; i++)
        json_array_append_new(problems, json_string(cr.p[i].code));
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:b, s:I, s:o}",
        "version", tls->version[0] ? json_string(tls->version) : json_null(),
        "cipher", tls->cipher[0] ? json_string(tls->cipher) : json_null(),
        "group", tls->group[0] ? json_string(tls->group) : json_null(),
        "sni", tls->sni[0] ? jstr_or_null(tls->sni) : json_null(),
        "verified", tls->verified, "verify_error", tls->verified ? json_null()
                                                                 : jstr_or_null(tls->verify_error),
        "hostname_match", tls->hostname_match, "verified_chain_length", (json_int_t)tls->n_verified,
        "problems", problems);
    json_object_set_new(o, "problem_details", jproblem_details(&cr, tls, p->cert_unverified));
    json_object_set_new(o, "names", jnames(t, s));
    json_object_set_new(o, "alert", tls->alert[0] ? json_string(tls->alert) : json_null());
    return o;
}

static json_t *jchain(const struct transcript *t)
{
    json_t *a = json_array();
    time_t now = time(NULL);
    for (size_t i = 0; t->has_tls && i < t->tls.n_chain; i++) {
        json_t *c = report_cert_json(&t->tls.chain[i], i, now);
        json_object_set_new(c, "source", json_string("sent-by-server"));
        json_object_set_new(c, "in_path", json_boolean(t->tls.chain_in_path[i]));
        json_array_append_new(a, c);
    }
    return a;
}

/* The path verification built, leaf first, each with where it came from. */
static json_t *jtrust_path(const struct transcript *t)
{
    json_t *a = json_array();
    time_t now = time(NULL);
    const struct tls_info *tls = &t->tls;
    for (size_t i = 0; t->has_tls && i < tls->n_path; i++) {
        json_t *c = report_cert_json(&tls->path[i], i, now);
        json_object_set_new(c, "source", json_string(source_name(tls->path_source[i])));
        json_object_set_new(c, "sent_by_server", json_boolean(tls->path_sent[i]));
        json_object_set_new(c, "trust_anchor",
                            json_boolean(tls->verified && i + 1 == tls->n_path));
        json_array_append_new(a, c);
    }
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

/* Bytes refused at a TLS boundary: op OP_STARTTLS after the OK, OP_TLS
 * instead of the handshake. */
static json_t *jdiscarded(const struct transcript *t, enum session_op op)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == TR_DISCARDED && t->ev[i].op == op)
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
        "user", jstr_or_null(report_user_shown(tg)), "auth", jstr_or_null(tg->auth),
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
    char name[256];
    const char *name_source = server_name_of(t, s, name, sizeof name);
    json_object_set_new(j, "server_name_hint", name_source ? jstr_or_null(name) : json_null());
    json_object_set_new(j, "server_name_source",
                        name_source ? json_string(name_source) : json_null());
    json_object_set_new(j, "capabilities", caps);
    json_object_set_new(j, "tls", jtls(p, t, s, tg));
    json_object_set_new(j, "chain", jchain(t));
    json_object_set_new(j, "trust_path", jtrust_path(t));
    json_object_set_new(j, "ntlm", jntlm(t));
    json_object_set_new(j, "steps", jsteps(t));
    json_object_set_new(j, "notices", jnotices(t));
    json_object_set_new(j, "discarded_at_starttls", jdiscarded(t, OP_STARTTLS));
    json_object_set_new(j, "plaintext_instead_of_tls", jdiscarded(t, OP_TLS));
    evidence_report_json(j, t, s, tg, v);   /* "diagnoses", "diagnosis_note" */
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
            !end ? "..." : end->ok ? "ok" : end->fail ? "FAIL" : "stop", end ? (double)end->elapsed_us / 1000.0 : 0.0);
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

static void put_str(FILE *out, const char *s, size_t max)
{
    put_clean(out, s ? s : "", s ? strlen(s) : 0, max);
}

static void text_list(FILE *out, const char *label, char *const *list, size_t n)
{
    if (!n)
        return;
    fprintf(out, "    %-8s ", label);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", out);
        put_str(out, list[i], 300);
    }
    fputc('\n', out);
}

static void text_usage(FILE *out, const struct cert_info *c)
{
    const char *names[CERTINFO_KU_COUNT];
    size_t n = c->has_key_usage ? certinfo_key_usage_names(c->key_usage, names) : 0;
    if (!c->has_key_usage && !c->has_eku)
        return;
    fputs("    usage:   ", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? ", " : "", names[i]);
    if (c->has_eku) {
        fputs(n ? "; extended: " : "extended: ", out);
        for (size_t i = 0; i < c->n_eku; i++) {
            fputs(i ? ", " : "", out);
            put_str(out, c->eku[i], 100);
        }
    }
    fputc('\n', out);
}

static const char *day_of(time_t t, char *buf, size_t n)
{
    struct tm tm;
    if (!t || !gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d", &tm))
        snprintf(buf, n, "?");
    return buf;
}

static void text_cert(FILE *out, const struct cert_info *c, size_t i, const char *source,
                      time_t now)
{
    char nb[32], na[32];
    fprintf(out, "  %zu subject: ", i);
    put_str(out, c->subject, 400);
    fprintf(out, "  [%s]\n    issuer:  ", source);
    put_str(out, c->issuer, 400);
    fputc('\n', out);
    text_list(out, "names:", c->san, c->n_san);
    fprintf(out, "    valid:   %s .. %s\n", day_of(c->not_before, nb, sizeof nb),
            day_of(c->not_after, na, sizeof na));
    fprintf(out, "    expires: %ld days left; key %s; %s%s%s\n", certinfo_days_left(c, now),
            c->key ? c->key : "?", c->signature ? c->signature : "?",
            c->self_signed ? "; self-signed" : "", c->is_ca ? "; CA" : "");
    text_usage(out, c);
    text_list(out, "issuers:", c->ca_issuers, c->n_ca_issuers);
    text_list(out, "ocsp:", c->ocsp, c->n_ocsp);
    fprintf(out, "    serial:  %s\n    sha256:  %s\n    sha1:    %s\n", c->serial ? c->serial : "?",
            c->sha256, c->sha1);
}

static void text_problems(FILE *out, const struct tls_info *tls, int soon_days)
{
    struct certcheck_result cr;
    certcheck_run(tls, time(NULL), soon_days, &cr);
    fprintf(out, "Problems:%s\n", cr.n ? "" : " none");
    for (size_t i = 0; i < cr.n; i++) {
        fprintf(out, "  %s %s: ", cr.p[i].fails_verification ? "CRITICAL" : "WARNING ",
                cr.p[i].code);
        put_str(out, cr.p[i].detail, 600);
        fprintf(out, "\n      breaks: %s\n", cr.p[i].impact ? cr.p[i].impact : "?");
    }
}

static void text_names(FILE *out, const struct transcript *t, struct session *s)
{
    char server[256];
    const char *source = server_name_of(t, s, server, sizeof server);
    struct certnames f;
    certnames_facts(&t->tls, source ? server : NULL, source, &f);
    fputs("Names: ", out);
    put_str(out, f.checked_name, 260);
    fprintf(out, " %s", f.checked_match ? "matches" : "is NOT on the certificate");
    if (f.checked_matched) {
        fputs(" (", out);
        put_str(out, f.checked_matched, 260);
        fputc(')', out);
    }
    if (f.server_name[0]) {
        fprintf(out, "; the server calls itself (%s) ", f.server_name_source);
        put_str(out, f.server_name, 260);
        fputs(f.server_name_match ? ", which the certificate carries"
                                  : ", which the certificate does NOT carry", out);
    }
    fputc('\n', out);
}

static void text_chain(FILE *out, const struct transcript *t, struct session *s,
                       const struct report_target *tg)
{
    const struct tls_info *tls = &t->tls;
    fprintf(out, "\nTLS: %s %s%s%s, SNI %s, certificate %s", tls->version, tls->cipher,
            tls->group[0] ? " " : "", tls->group, tls->sni[0] ? tls->sni : "(none: address)",
            tls->verified ? "verified" : "NOT verified: ");
    if (!tls->verified)
        put_clean(out, tls->verify_error, strlen(tls->verify_error), 200);
    if (tls->alert[0])
        fprintf(out, "\nThe server sent the alert: %s", tls->alert);
    fprintf(out, "\nChain as sent by the server (%zu):\n", tls->n_chain);
    time_t now = time(NULL);
    for (size_t i = 0; i < tls->n_chain; i++)
        text_cert(out, &tls->chain[i], i, tls->chain_in_path[i] ? "sent by server"
                                                                : "sent by server, not used", now);
    if (tls->n_path)
        fprintf(out, "Path as verified (%zu, leaf first):\n", tls->n_path);
    for (size_t i = 0; i < tls->n_path; i++) {
        fprintf(out, "  %zu ", i);
        put_str(out, tls->path[i].subject, 400);
        fprintf(out, "  [%s%s]\n", tls->path_source[i] == TLS_SRC_SERVER ? "sent by server"
                                                                          : "trust store",
                tls->verified && i + 1 == tls->n_path ? ", trust anchor" : "");
    }
    if (tls->n_chain) {
        text_names(out, t, s);
        text_problems(out, tls, tg->expiry_warn_days);
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
        text_chain(out, t, s, tg);
    for (int i = 0; i < v->n_warnings; i++)
        fprintf(out, "WARNING: %s\n", v->warnings[i]);
    fprintf(out, "\n%s %s: %s\n", t->proto == SESSION_IMAP ? "IMAP" : "POP3",
            status_word(v->exit_code), v->summary);
    evidence_diagnoses_text(out, t, s, tg, v);
    (void)p;
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
