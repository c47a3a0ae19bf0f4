#include "options.h"

#include "spill.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "redact.h"

void options_usage(FILE *out)
{
    fputs(
"  --tls=auto|starttls|implicit|none  auto: implicit for imaps/pop3s, else STARTTLS when\n"
"                                     offered; starttls: TLS required, never clear text\n"
"  --user NAME                        user name (or user@ in the URL)\n"
"  --password-env VAR                 read the password (or token) from $VAR\n"
"  --password-file FILE               read it from the first line of FILE\n"
"                                     (never on the command line)\n"
"  --auth=MECH                        login|plain|login-sasl|cram-md5|xoauth2|oauthbearer|\n"
"                                     external|ntlm|apop|user (default: PLAIN when offered,\n"
"                                     else LOGIN; POP3: USER/PASS). ntlm only reads the\n"
"                                     server's identity from its challenge, then cancels\n"
"  --cafile FILE  --capath DIR        trust anchors (default: the system store;\n"
"                                     SSL_CERT_FILE / SSL_CERT_DIR are honoured)\n"
"  --servername NAME                  SNI and the name verified (default: the URL's host)\n"
"  --insecure                         go on after failed verification (exit >= 1)\n"
"  --allow-plaintext-login            allow credentials over an unencrypted connection\n"
"  --until=STEP                       stop after connect|greeting|capability|starttls|\n"
"                                     auth|select\n"
"  --cert FILE  --key FILE            client certificate and key (and SASL EXTERNAL)\n"
"  --timeout SECS                     limit for each wait (default 15)\n"
"  --expiry-warn DAYS                 WARNING when the certificate expires within DAYS (30)\n"
"  --no-discover                      no NTLM round trip to learn an Exchange server's name\n"
"                                     (done before login when Exchange names itself nowhere)\n"
"  --no-id                            IMAP: no ID NIL to learn the server's name and version\n"
"                                     (sent only when the server offers ID and names no\n"
"                                     version, in the same write as a command the plan sends\n"
"                                     anyway: no extra round trip; NIL reveals nothing about\n"
"                                     the client)\n"
"  -4, -6                             IPv4 or IPv6 only\n"
"  --json                             one JSON object on stdout, on success and failure\n"
"  --output=text|json|nagios          nagios: one status line with performance data\n"
"  --record FILE                      also write the session to FILE, in the format of its\n"
"                                     extension: .txt (plain text for a ticket), .md\n"
"                                     (Markdown), .html (one self-contained page) or .json\n"
"                                     (everything); mode 0600; passwords and SASL payloads\n"
"                                     are always redacted\n"
"  --redact-user                      also hide user names (commands, SASL, the URL, the\n"
"                                     report, the diagnosis) in the transcript and exports\n"
"  --server-log FILE|DIR              an Exchange IMAP4/POP3 protocol log: its failures for\n"
"                                     this user become diagnosis evidence (ErrMsg=... is decisive)\n"
"  --spill-max SIZE                   console: keep at most SIZE bytes of literals and bulk\n"
"                                     replies in an unlinked temporary file (mode 0600, in\n"
"                                     $TMPDIR) for the literal viewer (default 256M; 0: none)\n"
"  -h, --help                         this text\n", out);
}

enum { O_TLS = 256, O_USER, O_PWENV, O_PWFILE, O_AUTH, O_CAFILE, O_CAPATH, O_SNI, O_INSECURE,
       O_PLAIN, O_UNTIL, O_CERT, O_KEY, O_TIMEOUT, O_JSON, O_OUTPUT, O_RECORD, O_EXPIRY,
       O_COMPARE, O_ALL, O_PORTS, O_TLS_VERSIONS, O_SAVE_CHAIN, O_NO_DISCOVER,
       O_REDACT_USER, O_SERVER_LOG, O_COMMAND, O_SPILL_MAX, O_SNI_CHECK, O_NO_ID };

static const struct option long_opts[] = {
    { "tls", required_argument, 0, O_TLS }, { "user", required_argument, 0, O_USER },
    { "password-env", required_argument, 0, O_PWENV },
    { "password-file", required_argument, 0, O_PWFILE }, { "auth", required_argument, 0, O_AUTH },
    { "cafile", required_argument, 0, O_CAFILE }, { "capath", required_argument, 0, O_CAPATH },
    { "servername", required_argument, 0, O_SNI }, { "insecure", no_argument, 0, O_INSECURE },
    { "allow-plaintext-login", no_argument, 0, O_PLAIN },
    { "until", required_argument, 0, O_UNTIL }, { "cert", required_argument, 0, O_CERT },
    { "key", required_argument, 0, O_KEY }, { "timeout", required_argument, 0, O_TIMEOUT },
    { "json", no_argument, 0, O_JSON }, { "output", required_argument, 0, O_OUTPUT },
    { "record", required_argument, 0, O_RECORD }, { "expiry-warn", required_argument, 0, O_EXPIRY },
    { "compare", no_argument, 0, O_COMPARE }, { "all", no_argument, 0, O_ALL },
    { "ports", required_argument, 0, O_PORTS }, { "tls-versions", no_argument, 0, O_TLS_VERSIONS },
    { "save-chain", required_argument, 0, O_SAVE_CHAIN },
    { "no-discover", no_argument, 0, O_NO_DISCOVER },
    { "sni", no_argument, 0, O_SNI_CHECK }, { "no-id", no_argument, 0, O_NO_ID },
    { "server-log", required_argument, 0, O_SERVER_LOG },
    { "redact-user", no_argument, 0, O_REDACT_USER },
    { "command", required_argument, 0, O_COMMAND },
    { "spill-max", required_argument, 0, O_SPILL_MAX },
    { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };

static int parse_positive(const char *s, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* One option; 0, or -1 with a message. */
static int apply_opt(struct ms_options *o, int c, const char *arg, char *err, size_t errlen)
{
    int secs;
    switch (c) {
    case O_TLS: o->tls_text = arg;
        if (plan_tls_parse(arg, &o->tls) == 0) return 0;
        snprintf(err, errlen, "--tls takes auto, starttls, implicit or none"); return -1;
    case O_UNTIL:
        if (plan_until_parse(arg, &o->until) == 0) return 0;
        snprintf(err, errlen, "--until takes connect, greeting, capability, starttls, auth or select");
        return -1;
    case O_AUTH:
        if (session_auth_parse(arg, &o->auth) == 0) return 0;
        snprintf(err, errlen, "--auth takes login, plain, login-sasl, cram-md5, xoauth2, "
                 "oauthbearer, external, ntlm, apop or user"); return -1;
    case O_TIMEOUT:
        if (parse_positive(arg, 3600, &secs) == 0 && secs > 0) { o->timeout_ms = secs * 1000; return 0; }
        snprintf(err, errlen, "--timeout takes whole seconds from 1 to 3600"); return -1;
    case O_EXPIRY:
        if (parse_positive(arg, 3650, &o->expiry_warn_days) == 0) return 0;
        snprintf(err, errlen, "--expiry-warn takes days from 0 to 3650"); return -1;
    case O_OUTPUT:
        if (!strcmp(arg, "text")) o->output = OUT_TEXT;
        else if (!strcmp(arg, "json")) o->output = OUT_JSON;
        else if (!strcmp(arg, "nagios")) o->output = OUT_NAGIOS;
        else { snprintf(err, errlen, "--output takes text, json or nagios"); return -1; }
        return 0;
    case O_USER: o->user = arg; return 0;
    case O_PWENV: o->password_env = arg; return 0;
    case O_PWFILE: o->password_file = arg; return 0;
    case O_CAFILE: o->cafile = arg; return 0;
    case O_CAPATH: o->capath = arg; return 0;
    case O_SNI: o->servername = arg; return 0;
    case O_CERT: o->cert = arg; return 0;
    case O_KEY: o->key = arg; return 0;
    case O_INSECURE: o->insecure = true; return 0;
    case O_PLAIN: o->allow_plaintext = true; return 0;
    case O_NO_DISCOVER: o->no_discover = true; return 0;
    case O_SNI_CHECK: o->sni = true; return 0;
    case O_NO_ID: o->no_id = true; return 0;
    case O_JSON: o->output = OUT_JSON; return 0;
    case O_RECORD: o->record = arg; return 0;
    case O_REDACT_USER: o->redact_user = true; return 0;
    case O_COMPARE: o->compare = true; return 0;
    case O_ALL: o->compare_all = true; return 0;
    case O_PORTS: o->ports = arg; return 0;
    case O_TLS_VERSIONS: o->tls_versions = true; return 0;
    case O_SAVE_CHAIN: o->save_chain = arg; return 0;
    case O_SERVER_LOG: o->server_log = arg; return 0;
    case O_SPILL_MAX:
        if (spill_parse_size(arg, &o->spill_max) == 0) return 0;
        snprintf(err, errlen, "--spill-max takes a size: 0, 65536, 256M, 1G (at most 1T)");
        return -1;
    case O_COMMAND:
        if (!*arg || strpbrk(arg, "\r\n")) {
            snprintf(err, errlen, "--command takes one non-empty line");
            return -1;
        }
        o->command = arg;
        return 0;
    case '4': o->family = AF_INET; return 0;
    case '6': o->family = AF_INET6; return 0;
    default: snprintf(err, errlen, "unknown option (see mailscope probe --help)"); return -1;
    }
}

static int check_combination(struct ms_options *o, char *err, size_t errlen)
{
    if (o->url_text && url_parse(o->url_text, &o->url, err, errlen) < 0)
        return -1;
    if (o->url.implicit_tls && (o->tls == PLAN_TLS_STARTTLS || o->tls == PLAN_TLS_NONE)) {
        snprintf(err, errlen, "%s:// is implicit TLS; --tls=%s contradicts it", o->url.scheme,
                 o->tls_text);
        return -1;
    }
    if (o->url.implicit_tls)
        o->tls = PLAN_TLS_IMPLICIT;
    if (o->password_env && o->password_file) {
        snprintf(err, errlen, "give either --password-env or --password-file, not both");
        return -1;
    }
    if (o->key && !o->cert) {
        snprintf(err, errlen, "--key needs --cert");
        return -1;
    }
    if (!o->user && o->url.user[0])
        o->user = o->url.user;
    if (o->record && !strrchr(o->record, '.')) {
        snprintf(err, errlen, "--record FILE needs an extension: .txt, .md, .html or .json");
        return -1;
    }
    return 0;
}

int options_parse(int argc, char **argv, int url, struct ms_options *o, char *err, size_t errlen)
{
    *o = (struct ms_options){ .tls_text = "auto", .timeout_ms = 15000, .family = AF_UNSPEC,
                              .expiry_warn_days = 30, .spill_max = SPILL_MAX_DEFAULT };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "46h", long_opts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == '?' || c == ':') {
            snprintf(err, errlen, "unknown option or missing value: %s (see mailscope probe --help)",
                     argv[optind - 1]);
            return -1;
        }
        if (apply_opt(o, c, optarg, err, errlen) < 0)
            return -1;
    }
    if (optind < argc - 1 || (url == 1 && optind >= argc)) {
        snprintf(err, errlen, optind >= argc ? "a URL is needed, e.g. imap://mail.example.com"
                                             : "give exactly one URL");
        return -1;
    }
    o->url_text = optind < argc ? argv[optind] : NULL;
    return check_combination(o, err, errlen);
}


int options_set_url(struct ms_options *o, const char *url, char *err, size_t errlen)
{
    const char *old = o->url_text;
    o->url_text = url;
    if (check_combination(o, err, errlen) < 0) {
        o->url_text = old;
        return -1;
    }
    return 0;
}

bool options_want_json(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "--output=json"))
            return true;
    return false;
}

struct session_params options_session_params(const struct ms_options *o)
{
    return (struct session_params){
        .proto = o->url.proto, .host = o->url.host, .port = o->url.port, .family = o->family,
        .implicit_tls = o->tls == PLAN_TLS_IMPLICIT,
        .tls_required = o->tls == PLAN_TLS_STARTTLS || o->tls == PLAN_TLS_IMPLICIT,
        .tls = { .servername = o->servername, .cafile = o->cafile, .capath = o->capath,
                 .cert = o->cert, .key = o->key },
        .insecure = o->insecure, .allow_plaintext_login = o->allow_plaintext,
        .timeout_ms = o->timeout_ms, .redact_user = o->redact_user };
}

struct report_target options_report_target(const struct ms_options *o, char *urlbuf, size_t n)
{
    return (struct report_target){
        .url = redact_url(o->url_text, o->redact_user, urlbuf, n), .scheme = o->url.scheme,
        .host = o->url.host, .port = o->url.port, .user = o->user,
        .auth = session_auth_name(o->auth), .tls_requested = o->tls_text,
        .expiry_warn_days = o->expiry_warn_days, .redact_user = o->redact_user };
}

