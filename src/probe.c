#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "options.h"
#include "plan.h"
#include "record.h"
#include "report.h"
#include "secret.h"
#include "transcript.h"
#include "url.h"

static int usage_error(bool json, const char *msg)
{
    if (json) {
        json_t *j = report_json_error(EXIT_UNKNOWN, FAIL_NONE, msg);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        fprintf(stderr, "mailscope probe: %s\n", msg);
    }
    return EXIT_UNKNOWN;
}

/* ---- running ---------------------------------------------------------- */

struct run {
    struct transcript t;
    struct plan plan;
    struct session *s;
};

static void on_event(void *arg, const struct session_event *ev)
{
    struct run *r = arg;
    transcript_append(&r->t, ev);
    plan_on_event(&r->plan, ev);
}

static void run_loop(struct loop *l, struct run *r)
{
    for (;;) {
        if (!session_busy(r->s) && !plan_done(&r->plan))
            plan_advance(&r->plan);
        if (!session_busy(r->s) && plan_done(&r->plan))
            break;
        if (loop_run_once(l, 1000) < 0 && errno != EINTR)
            break;
    }
}

static void output(const struct ms_options *o, struct run *r, const struct report_target *tg,
                   const struct report_verdict *v)
{
    json_t *j = report_json(&r->plan, &r->t, r->s, tg, v);
    char err[600];
    if (o->record && record_write(o->record, j, &r->plan, &r->t, r->s, tg, v, err, sizeof err) < 0)
        fprintf(stderr, "mailscope probe: --record: %s\n", err);
    if (o->output == OUT_JSON) {
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        fputc('\n', stdout);
    } else if (o->output == OUT_NAGIOS) {
        report_nagios(stdout, &r->t, r->s, tg, v);
    } else {
        report_text(stdout, &r->plan, &r->t, r->s, tg, v);
    }
    json_decref(j);
}

static int run_probe(const struct ms_options *o, const char *secret)
{
    struct loop *l = loop_new();
    struct run r;
    memset(&r, 0, sizeof r);
    transcript_init(&r.t, o->url.proto);
    struct session_params sp = options_session_params(o);
    r.s = l ? session_new(l, &sp, on_event, &r) : NULL;
    if (!r.s) {
        transcript_free(&r.t);
        loop_free(l);
        return usage_error(o->output == OUT_JSON, "out of memory");
    }
    struct plan_options po = { .tls = o->tls, .until = o->until, .auth = o->auth,
                               .user = o->user, .secret = secret };
    plan_init(&r.plan, r.s, &r.t, o->url.proto, &po);
    run_loop(l, &r);
    struct report_target tg = {
        .url = o->url_text, .scheme = o->url.scheme, .host = o->url.host, .port = o->url.port,
        .user = o->user, .auth = session_auth_name(o->auth), .tls_requested = o->tls_text,
        .expiry_warn_days = o->expiry_warn_days };
    struct report_verdict v;
    report_evaluate(&r.plan, &r.t, r.s, &tg, &v);
    output(o, &r, &tg, &v);
    session_free(r.s);
    transcript_free(&r.t);
    loop_free(l);
    return v.exit_code;
}

void probe_usage(FILE *out)
{
    fputs(
"usage: mailscope probe [OPTIONS] URL\n"
"  URL: imap://[user@]host[:port] | imaps:// | pop3:// | pop3s://  (ports 143/993/110/995)\n"
"Connects, reads the greeting, asks capabilities, upgrades with STARTTLS/STLS,\n"
"logs in, selects INBOX (POP3: STAT), logs out; reports every step, the TLS facts\n"
"and the certificate chain. Exit: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n"
"\n", out);
    options_usage(out);
}

int probe_main(int argc, char **argv)
{
    struct ms_options o;
    char err[512];
    bool json = options_want_json(argc, argv);
    int rc = options_parse(argc, argv, 1, &o, err, sizeof err);
    if (rc > 0) {
        probe_usage(stdout);
        return EXIT_OK;
    }
    if (rc < 0)
        return usage_error(json, err);
    char *secret = NULL;
    if (o.password_env || o.password_file) {
        secret = o.password_env ? secret_from_env(o.password_env, err, sizeof err)
                                : secret_from_file(o.password_file, err, sizeof err);
        if (!secret)
            return usage_error(json, err);
    }
    rc = run_probe(&o, secret);
    secret_free(secret);
    return rc;
}
