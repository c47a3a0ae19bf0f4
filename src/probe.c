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

#include "chainsave.h"
#include "compare.h"
#include "options.h"
#include "plan.h"
#include "logscan.h"
#include "record.h"
#include "report.h"
#include "sanitize.h"
#include "secret.h"
#include "sni.h"
#include "tlsversions.h"
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
    const struct logscan_evidence *le;    /* --server-log, or NULL */
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
    /* The JSON report (and its diagnosis) only when something will use it. */
    json_t *j = o->record || o->output == OUT_JSON ? report_json(&r->plan, &r->t, r->s, tg, v)
                                                  : NULL;
    if (j && r->le) {
        char *path = sanitize_text(r->le->path, strlen(r->le->path), 0);
        json_object_set_new(j, "server_log", json_pack("{s:s, s:I, s:I, s:s?}", "path",
            path ? path : "", "failures", (json_int_t)r->le->failures,
            "lines_used", (json_int_t)r->le->n, "backend", r->le->server[0] ? r->le->server : NULL));
        free(path);
    }
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

/* ---- the certificate inspector's runs ------------------------------------ */

/* --compare and --tls-versions are runs of their own: one at a time, and
 * without the options that only make sense for a single session. Fills the
 * compare ports (the URL's own port counts for its scheme unless --ports
 * names it). 0, or -1 with a message. */
static int check_modes(const struct ms_options *o, struct compare_ports *ports, char *err,
                       size_t errlen)
{
    const char *mode = o->compare ? "--compare" : o->tls_versions ? "--tls-versions"
                     : o->sni ? "--sni" : NULL;
    if ((o->compare_all || o->ports) && !o->compare) {
        snprintf(err, errlen, "%s works with --compare only", o->compare_all ? "--all" : "--ports");
        return -1;
    }
    if (o->compare + o->tls_versions + o->sni > 1) {
        snprintf(err, errlen, "give one of --compare, --tls-versions and --sni");
        return -1;
    }
    if (mode && o->command) {
        snprintf(err, errlen, "--command does not work with %s (no login session)", mode);
        return -1;
    }
    if (mode && (o->record || o->save_chain)) {
        snprintf(err, errlen, "%s does not work with %s (it makes several connections)",
                 o->record ? "--record" : "--save-chain", mode);
        return -1;
    }
    if (o->compare && strcmp(o->tls_text, "auto") != 0) {
        snprintf(err, errlen, "--compare tries both the STARTTLS and the implicit-TLS port; "
                 "--tls=%s does not apply", o->tls_text);
        return -1;
    }
    if ((o->tls_versions || o->sni) && o->tls == PLAN_TLS_NONE) {
        snprintf(err, errlen, "%s needs TLS; --tls=none contradicts it", mode);
        return -1;
    }
    if (o->sni && !sni_name_for(o->url.host, o->servername, err, errlen))
        return -1;
    memset(ports, 0, sizeof *ports);
    if (o->ports && compare_ports_parse(o->ports, ports, err, errlen) < 0)
        return -1;
    bool imap = o->url.proto == SESSION_IMAP, tls = o->url.implicit_tls;
    unsigned *own = imap ? (tls ? &ports->imaps : &ports->imap) : (tls ? &ports->pop3s : &ports->pop3);
    if (!*own)
        *own = o->url.port;
    return 0;
}

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    json_decref(j);
}

/* The one-line form of --compare and --tls-versions for monitoring. */
static void print_nagios(const struct ms_options *o, int code, const char *summary)
{
    static const char *const w[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
    char line[1000];
    snprintf(line, sizeof line, "%s", summary);
    for (char *c = line; *c; c++)
        if (*c == '|')
            *c = '/';   /* '|' starts the performance data */
    printf("%s %s - %s\n", o->compare_all ? "IMAP/POP3" : o->url.proto == SESSION_IMAP ? "IMAP"
           : "POP3", w[code & 3], line);
}

static int run_compare(const struct ms_options *o, const struct compare_ports *ports)
{
    struct loop *l = loop_new();
    struct compare_options co = {
        .proto = o->url.proto, .all = o->compare_all, .host = o->url.host, .ports = *ports,
        .family = o->family, .tls = options_session_params(o).tls, .insecure = o->insecure,
        .timeout_ms = o->timeout_ms, .expiry_warn_days = o->expiry_warn_days };
    struct compare *c = l ? compare_new(l, &co) : NULL;
    if (!c) {
        loop_free(l);
        return usage_error(o->output == OUT_JSON, "out of memory");
    }
    compare_wait(l, c);
    if (o->output == OUT_JSON)
        print_json(compare_json(c));
    else if (o->output == OUT_NAGIOS)
        print_nagios(o, c->exit_code, c->summary);
    else
        compare_text(stdout, c);
    int rc = c->exit_code;
    compare_free(c);
    loop_free(l);
    return rc;
}

static int run_tls_versions(const struct ms_options *o)
{
    struct loop *l = loop_new();
    struct tlsversions *v = calloc(1, sizeof *v);
    if (!l || !v) {
        free(v);
        loop_free(l);
        return usage_error(o->output == OUT_JSON, "out of memory");
    }
    struct tlsrun_target tg = {
        .proto = o->url.proto, .host = o->url.host, .port = o->url.port,
        .implicit = o->tls == PLAN_TLS_IMPLICIT, .family = o->family, .tls = options_session_params(o).tls,
        .timeout_ms = o->timeout_ms };
    tlsversions_run(l, &tg, o->url_text, v);
    if (o->output == OUT_JSON)
        print_json(tlsversions_json(v));
    else if (o->output == OUT_NAGIOS)
        print_nagios(o, v->exit_code, v->summary);
    else
        tlsversions_text(stdout, v);
    int rc = v->exit_code;
    free(v);
    loop_free(l);
    return rc;
}

static int run_sni(const struct ms_options *o)
{
    struct loop *l = loop_new();
    struct sni_options so = sni_options_of(o);
    struct sni_check *c = l ? sni_new(l, &so) : NULL;
    if (!c) {
        loop_free(l);
        return usage_error(o->output == OUT_JSON, "out of memory");
    }
    sni_wait(l, c);
    if (o->output == OUT_JSON)
        print_json(sni_json(c));
    else if (o->output == OUT_NAGIOS)
        print_nagios(o, c->exit_code, c->summary);
    else
        sni_text(stdout, c);
    int rc = c->exit_code;
    sni_free(c);
    loop_free(l);
    return rc;
}

static void save_chain(const char *path, const struct transcript *t)
{
    char err[600];
    size_t n;
    if (chainsave_write(path, t->has_tls ? &t->tls : NULL, &n, err, sizeof err) < 0)
        fprintf(stderr, "mailscope probe: --save-chain: %s\n", err);
}

/* ---- the probe ------------------------------------------------------------ */

/* The server may have logged this very session's failure (the lab does at
 * once; a log copied after the fact has it too): read the log again after
 * the session, keeping the first reading when the second fails. */
static void reread_log(const struct ms_options *o, struct logscan_evidence *le)
{
    struct logscan_evidence again;
    char err[256];
    if (logscan_evidence_load(&again, o->server_log, o->user, o->url.proto == SESSION_POP3, err,
                              sizeof err) < 0)
        return;
    logscan_evidence_free(le);
    *le = again;
}

static int run_probe(const struct ms_options *o, const char *secret,
                     struct logscan_evidence *le)
{
    struct loop *l = loop_new();
    struct run r;
    memset(&r, 0, sizeof r);
    r.le = le;
    transcript_init(&r.t, o->url.proto);
    struct session_params sp = options_session_params(o);
    r.s = l ? session_new(l, &sp, on_event, &r) : NULL;
    if (!r.s) {
        transcript_free(&r.t);
        loop_free(l);
        return usage_error(o->output == OUT_JSON, "out of memory");
    }
    struct plan_options po = { .tls = o->tls, .until = o->until, .auth = o->auth,
                               .no_discover = o->no_discover, .no_id = o->no_id,
                               .command = o->command,
                               .user = o->user, .secret = secret };
    plan_init(&r.plan, r.s, &r.t, o->url.proto, &po);
    run_loop(l, &r);
    char url[600];
    struct report_target tg = options_report_target(o, url, sizeof url);
    if (le)
        reread_log(o, le);
    if (le) {
        tg.log_lines = (const char *const *)le->lines;
        tg.n_log_lines = le->n;
        tg.log_server = le->server;
    }
    struct report_verdict v;
    report_evaluate(&r.plan, &r.t, r.s, &tg, &v);
    if (o->save_chain)
        save_chain(o->save_chain, &r.t);
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
    fputs(
"\n"
"The certificate inspector (probe only):\n"
"  --command LINE                     one more command after login and select, sent as typed\n"
"                                     (IMAP adds a tag): 'FETCH 1 BODY[]', 'RETR 1'. A literal\n"
"                                     or message body is streamed and counted, never held whole\n"
"  --save-chain FILE                  write the chain the server sent to FILE (PEM, leaf first)\n"
"  --compare                          connect to the STARTTLS and the implicit-TLS port of the\n"
"                                     URL's protocol (143+993 or 110+995) at once and show side\n"
"                                     by side whether they present the same certificate\n"
"                                     (no login: no credential is sent)\n"
"  --all                              with --compare: IMAP and POP3, all four ports\n"
"  --ports SCHEME=PORT[,...]          with --compare: other ports, e.g. imap=21143,imaps=21993,\n"
"                                     pop3=21110,pop3s=21995 (the URL's own port counts for\n"
"                                     its scheme)\n"
"  --tls-versions                     one handshake each with exactly TLS 1.0, 1.1, 1.2 and 1.3\n"
"                                     on the URL's port (after STARTTLS on a plain port): which\n"
"                                     does the server accept? A version the local OpenSSL cannot\n"
"                                     offer is reported as not tested, never as refused (no\n"
"                                     login: no credential is sent)\n"
"  --sni                              two handshakes on the URL's port (after STARTTLS on a\n"
"                                     plain port), one sending the host (or --servername) as\n"
"                                     SNI and one sending no SNI: the certificate each gets,\n"
"                                     side by side, and whether it covers the name; servers\n"
"                                     that choose the certificate by SNI give clients without\n"
"                                     it their default one (R-CERT-008; no login: no\n"
"                                     credential is sent)\n", out);
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
    struct compare_ports ports;
    if (rc < 0 || check_modes(&o, &ports, err, sizeof err) < 0)
        return usage_error(json, err);
    if (o.compare)
        return run_compare(&o, &ports);
    if (o.tls_versions)
        return run_tls_versions(&o);
    if (o.sni)
        return run_sni(&o);
    char *secret = NULL;
    if (o.password_env || o.password_file) {
        secret = o.password_env ? secret_from_env(o.password_env, err, sizeof err)
                                : secret_from_file(o.password_file, err, sizeof err);
        if (!secret)
            return usage_error(json, err);
    }
    /* The log is read before connecting: a typo fails at once. */
    struct logscan_evidence le;
    if (o.server_log && logscan_evidence_load(&le, o.server_log, o.user, o.url.proto == SESSION_POP3,
                                              err, sizeof err) < 0) {
        secret_free(secret);
        char msg[600];
        snprintf(msg, sizeof msg, "--server-log: %s", err);
        return usage_error(json, msg);
    }
    rc = run_probe(&o, secret, o.server_log ? &le : NULL);
    if (o.server_log)
        logscan_evidence_free(&le);
    secret_free(secret);
    return rc;
}
