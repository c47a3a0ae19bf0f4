/* tlsversions — one handshake per TLS version. */
#include "tlsversions.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "sanitize.h"
#include "version.h"

static const int versions[TLSVERSIONS_N] = { TLS_VERSION_1_0, TLS_VERSION_1_1, TLS_VERSION_1_2,
                                             TLS_VERSION_1_3 };

const char *tlsver_outcome_name(enum tlsver_outcome o)
{
    static const char *const names[] = { "accepted", "refused", "not-tested", "error" };
    return (unsigned)o < sizeof names / sizeof *names ? names[o] : "error";
}

static void set_detail(struct tlsver_result *res, const char *prefix, const char *msg)
{
    char *clean = sanitize_text(msg, strlen(msg), 300);
    snprintf(res->detail, sizeof res->detail, "%s%s", prefix, clean ? clean : "");
    free(clean);
}

/* Did the run get as far as sending a ClientHello? */
static bool tls_began(const struct tlsrun *r)
{
    for (size_t i = 0; i < r->t.n; i++)
        if (r->t.ev[i].kind == TR_OP_BEGIN && r->t.ev[i].op == OP_TLS)
            return true;
    return false;
}

/* OpenSSL's words when it is this side that cannot offer the version. */
static bool local_refusal(const char *msg)
{
    return strstr(msg, "no protocols available") || strstr(msg, "no ciphers available")
        || strstr(msg, "no suitable signature algorithm");
}

static void judge(struct tlsver_result *res, const struct tlsrun *r)
{
    const struct tls_info *t = r->t.has_tls ? &r->t.tls : NULL;
    const char *msg = r->plan.message[0] ? r->plan.message : "no TLS handshake took place";
    if (tlsrun_handshake_done(r)) {
        res->outcome = TLSVER_ACCEPTED;
        snprintf(res->cipher, sizeof res->cipher, "%s", t->cipher);
        snprintf(res->detail, sizeof res->detail, "the server chose %s %s", t->version, t->cipher);
    } else if (!tls_began(r)) {
        res->outcome = TLSVER_ERROR;
        set_detail(res, "no handshake: ", msg);
    } else if (t && t->alert[0]) {
        res->outcome = TLSVER_REFUSED;
        snprintf(res->alert, sizeof res->alert, "%s", t->alert);
        snprintf(res->detail, sizeof res->detail, "the server answered with the alert \"%s\" (%d)",
                 t->alert, t->alert_code);
    } else if (r->plan.fail == FAIL_TLS && local_refusal(msg)) {
        res->outcome = TLSVER_NOT_TESTED;
        set_detail(res, "this OpenSSL would not offer it: ", msg);
    } else {
        res->outcome = TLSVER_REFUSED;
        set_detail(res, "", msg);
    }
}

static void judge_all(struct tlsversions *v)
{
    char acc[120] = "", ref[120] = "", skip[120] = "";
    bool any = false, legacy = false;
    const char *error = NULL;
    for (size_t i = 0; i < TLSVERSIONS_N; i++) {
        const struct tlsver_result *r = &v->res[i];
        char *list = r->outcome == TLSVER_ACCEPTED ? acc : r->outcome == TLSVER_REFUSED ? ref
                   : r->outcome == TLSVER_NOT_TESTED ? skip : NULL;
        if (list)
            snprintf(list + strlen(list), 120 - strlen(list), "%s%s", *list ? ", " : "",
                     tls_version_name(r->version));
        any |= r->outcome == TLSVER_ACCEPTED;
        legacy |= r->outcome == TLSVER_ACCEPTED && r->version < TLS_VERSION_1_2;
        if (r->outcome == TLSVER_ERROR && !error)
            error = r->detail;
    }
    int n = 0;
    if (!any && error) {
        v->exit_code = EXIT_CRITICAL;
        n = snprintf(v->summary, sizeof v->summary, "could not test: %s", error);
    } else {
        v->exit_code = !any ? EXIT_CRITICAL : legacy ? EXIT_WARNING : EXIT_OK;
        n = snprintf(v->summary, sizeof v->summary, "%s%s%s%s%s", any ? "accepts " : "accepts no "
                     "version offered", acc, *ref ? "; refuses " : "", ref,
                     legacy ? " (TLS 1.0 and 1.1 are deprecated, RFC 8996)" : "");
    }
    if (*skip && n > 0 && (size_t)n < sizeof v->summary)
        snprintf(v->summary + n, sizeof v->summary - (size_t)n, "; not tested here: %s (the local "
                 "OpenSSL cannot offer it)", skip);
}

void tlsversions_begin(struct tlsversions_job *j, struct loop *l,
                       const struct tlsrun_target *target, const char *url,
                       struct tlsversions *out)
{
    memset(j, 0, sizeof *j);
    j->l = l;
    j->out = out;
    memset(out, 0, sizeof *out);
    out->target = *target;
    snprintf(out->host, sizeof out->host, "%s", target->host);
    snprintf(out->url, sizeof out->url, "%s", url);
    out->target.host = out->host;
}

/* Judge what can be judged without a connection, or start the next run.
 * false when a run was started (or failed to start and was judged). */
static bool next_version(struct tlsversions_job *j)
{
    struct tlsversions *out = j->out;
    struct tlsver_result *res = &out->res[j->i];
    int v = res->version = versions[j->i];
    bool legacy = v < TLS_VERSION_1_2;   /* OpenSSL 3 offers 1.0/1.1 at level 0 only */
    char why[300];
    if (!tls_version_offerable(v, legacy, why, sizeof why)) {
        res->outcome = TLSVER_NOT_TESTED;
        snprintf(res->detail, sizeof res->detail, "%s", why);
        return true;
    }
    if (j->stop) {   /* after a failure that is not about TLS, don't retry */
        res->outcome = TLSVER_ERROR;
        snprintf(res->detail, sizeof res->detail, "not tried: %.380s", j->stop);
        return true;
    }
    struct tlsrun_target tg = out->target;
    tg.tls.min_version = tg.tls.max_version = v;
    tg.tls.legacy = legacy;
    tg.insecure = true;   /* the question is the version, not the certificate */
    if (tlsrun_start(&j->r, j->l, &tg) == 0) {
        j->running = true;
        return false;
    }
    tlsrun_free(&j->r);
    res->outcome = TLSVER_ERROR;
    snprintf(res->detail, sizeof res->detail, "out of memory");
    j->stop = res->detail;
    return true;
}

bool tlsversions_advance(struct tlsversions_job *j)
{
    while (!j->finished) {
        if (j->running) {
            if (!tlsrun_advance(&j->r))
                return false;
            struct tlsver_result *res = &j->out->res[j->i];
            judge(res, &j->r);
            tlsrun_free(&j->r);
            j->running = false;
            if (res->outcome == TLSVER_ERROR)
                j->stop = res->detail;
            j->i++;
        } else if (j->i >= TLSVERSIONS_N) {
            judge_all(j->out);
            j->finished = true;
        } else if (next_version(j)) {
            j->i++;
        }
    }
    return true;
}

void tlsversions_job_free(struct tlsversions_job *j)
{
    if (j->running)
        tlsrun_free(&j->r);
    j->running = false;
}

void tlsversions_run(struct loop *l, const struct tlsrun_target *target, const char *url,
                     struct tlsversions *out)
{
    struct tlsversions_job j;
    tlsversions_begin(&j, l, target, url, out);
    while (!tlsversions_advance(&j))
        if (loop_run_once(l, 1000) < 0 && errno != EINTR)
            break;
    tlsversions_job_free(&j);
    if (!j.finished)
        judge_all(out);
}

static const char *status_word(int code)
{
    static const char *const w[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
    return code >= 0 && code <= 3 ? w[code] : "UNKNOWN";
}

/* A JSON string that is never NULL: a detail cut at a byte limit may end
 * inside a UTF-8 sequence, which jansson refuses. */
static json_t *jtext(const char *s)
{
    char *clean = sanitize_text(s, strlen(s), 0);
    json_t *j = json_string(clean ? clean : "");
    free(clean);
    return j ? j : json_string("");
}

json_t *tlsversions_json(const struct tlsversions *v)
{
    json_t *list = json_array(), *accepted = json_array();
    for (size_t i = 0; i < TLSVERSIONS_N; i++) {
        const struct tlsver_result *r = &v->res[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:o, s:o, s:o}",
            "version", tls_version_name(r->version), "result", tlsver_outcome_name(r->outcome),
            "cipher", r->cipher[0] ? json_string(r->cipher) : json_null(),
            "alert", r->alert[0] ? json_string(r->alert) : json_null(), "detail", jtext(r->detail)));
        if (r->outcome == TLSVER_ACCEPTED)
            json_array_append_new(accepted, json_string(tls_version_name(r->version)));
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:s, s:i, s:s, s:o, s:o, s:o}",
        "schema", "mailscope.tls-versions/1", "tool", "mailscope " MAILSCOPE_VERSION,
        "protocol", v->target.proto == SESSION_IMAP ? "imap" : "pop3", "host", jtext(v->host),
        "port", (json_int_t)v->target.port, "tls_mode", v->target.implicit ? "implicit" : "starttls",
        "result", v->exit_code <= EXIT_WARNING ? "Success" : "Failure", "exit_code", v->exit_code,
        "status", status_word(v->exit_code), "summary", jtext(v->summary), "versions", list,
        "accepted", accepted);
}

void tlsversions_text(FILE *out, const struct tlsversions *v)
{
    char *url = sanitize_text(v->url, strlen(v->url), 300);
    fprintf(out, "mailscope probe --tls-versions %s (%s)\n\n", url ? url : "",
            v->target.implicit ? "implicit TLS" : "STARTTLS");
    free(url);
    for (size_t i = 0; i < TLSVERSIONS_N; i++)
        fprintf(out, "  %-8s %-11s %s\n", tls_version_name(v->res[i].version),
                tlsver_outcome_name(v->res[i].outcome), v->res[i].detail);
    fprintf(out, "\n%s %s: %s\n", v->target.proto == SESSION_IMAP ? "IMAP" : "POP3",
            status_word(v->exit_code), v->summary);
}
