/* report — what a probe run amounts to, from the plan, the transcript and
 * the session: the monitoring-plugin verdict (0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN), the JSON report, the text report and the one-line Nagios
 * status. Every server-controlled string is sanitised for text output and
 * escaped exactly (jansson) for JSON. */
#ifndef MAILSCOPE_REPORT_H
#define MAILSCOPE_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "plan.h"
#include "transcript.h"

struct report_target {
    const char *url;
    const char *scheme;
    const char *host;
    unsigned port;
    const char *user;
    const char *auth;           /* the mechanism asked for */
    const char *tls_requested;  /* auto, starttls, implicit, none */
    int expiry_warn_days;       /* expires-soon threshold */
    /* A server log the operator loaded (--server-log, /log): its failure
     * lines (borrowed) and a backend name from its Proxy= values. */
    const char *const *log_lines;
    size_t n_log_lines;
    const char *log_server;
    bool redact_user;           /* --redact-user: user shown as SESSION_USER_MARK in every
                                 * report (the diagnosis still tests the real name) */
};

/* The user as a report shows it (NULL when none). */
const char *report_user_shown(const struct report_target *tg);

enum { EXIT_OK = 0, EXIT_WARNING = 1, EXIT_CRITICAL = 2, EXIT_UNKNOWN = 3 };

struct report_verdict {
    int exit_code;
    bool success;
    enum failure_class fail;
    char summary[1200];         /* one line for the operator, sanitised */
    char warnings[8][320];      /* certificate problems that only warn come here too */
    int n_warnings;
};

void report_evaluate(const struct plan *p, const struct transcript *t, struct session *s,
                     const struct report_target *tg, struct report_verdict *v);
/* The probe report object (caller decrefs). */
json_t *report_json(const struct plan *p, const struct transcript *t, struct session *s,
                    const struct report_target *tg, const struct report_verdict *v);
/* One certificate's facts as in the report's "chain" (for compare, ...). */
json_t *report_cert_json(const struct cert_info *ci, size_t depth, time_t now);
/* A usage or set-up failure before any session, in the same shape. */
json_t *report_json_error(int exit_code, enum failure_class fail, const char *message);
void report_text(FILE *out, const struct plan *p, const struct transcript *t, struct session *s,
                 const struct report_target *tg, const struct report_verdict *v);
void report_nagios(FILE *out, const struct transcript *t, struct session *s,
                   const struct report_target *tg, const struct report_verdict *v);

#endif
