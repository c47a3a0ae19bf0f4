/* options — the command-line options that probe and the console share
 * (--tls, --cafile, --servername, --insecure, --allow-plaintext-login, -4/-6,
 * --timeout, --record ...), parsed once into struct ms_options, with the
 * help text for them and the session parameters they give. */
#ifndef MAILSCOPE_OPTIONS_H
#define MAILSCOPE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plan.h"
#include "report.h"
#include "session.h"
#include "url.h"

enum output_kind { OUT_TEXT, OUT_JSON, OUT_NAGIOS };

struct ms_options {
    const char *url_text;       /* NULL when none was given (console) */
    struct mail_url url;
    enum plan_tls tls;
    const char *tls_text;
    enum plan_until until;
    enum session_auth auth;
    const char *user;
    const char *password_env, *password_file;
    const char *cafile, *capath, *servername, *cert, *key;
    bool insecure, allow_plaintext;
    bool no_discover;           /* --no-discover: no NTLM round trip for Exchange's name */
    bool no_id;                 /* --no-id: no IMAP ID NIL along with another command */
    int timeout_ms;
    int family;
    enum output_kind output;
    const char *record;
    bool redact_user;           /* --redact-user: hide user names in the transcript and exports */
    int expiry_warn_days;
    /* probe only: the certificate inspector's runs (src/compare.c, src/tlsversions.c) */
    bool compare, compare_all, tls_versions;
    bool sni;                   /* --sni: the certificate with and without SNI (src/sni.c) */
    const char *ports;          /* --ports imap=N,imaps=N,pop3=N,pop3s=N (for --compare) */
    const char *save_chain;     /* --save-chain FILE.pem */
    const char *server_log;     /* --server-log FILE|DIR: an Exchange protocol log for the diagnosis */
    const char *command;        /* --command LINE: sent after login and select, before logout */
    uint64_t spill_max;         /* --spill-max: the console's literal store on disk (0: none) */
};

/* Parse argv (argv[0] is the command name). url: 1 required, 0 optional.
 * Returns 0, 1 for --help, or -1 with a message for the operator in err. */
int options_parse(int argc, char **argv, int url, struct ms_options *o, char *err, size_t errlen);
/* Check and apply a URL given later (the console's /connect). */
int options_set_url(struct ms_options *o, const char *url, char *err, size_t errlen);
/* The options' help lines, shared by probe --help and mailscope --help. */
void options_usage(FILE *out);
/* The session's parameters for these options. */
struct session_params options_session_params(const struct ms_options *o);
/* The report target for these options; with --redact-user the URL's
 * userinfo is hidden (written into urlbuf). */
struct report_target options_report_target(const struct ms_options *o, char *urlbuf, size_t n);
/* True when argv asks for JSON output (so even a usage error answers in JSON). */
bool options_want_json(int argc, char **argv);

#endif
