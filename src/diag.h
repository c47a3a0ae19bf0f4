/* diag — the diagnosis engine: weighs the rules (rules.h) against the
 * evidence of one session and ranks the hypotheses.
 * Contract:
 *  - Evidence is plain data (struct diag_evidence), so a unit test, a
 *    recorded transcript and a live probe give the same answer; filling it
 *    from a session is evidence.c's job.
 *  - A rule applies when its protocol and family fit and every 'require'
 *    holds. Its score is the number of requires plus the weights of the
 *    'for' conditions that hold minus the 'against' ones that hold; a rule
 *    whose score is not positive is dropped. Hypotheses are ranked by score
 *    (then severity, then file order).
 *  - Confidence: "certain" only when a 'decisive' condition holds (a fact
 *    such as ErrMsg=ProxyNotAuthenticated in a loaded server log); "likely"
 *    when the score reaches DIAG_LIKELY_SCORE and no other hypothesis ties
 *    it; "possible" otherwise. A guess is never shown as certain.
 *  - When the session failed and no rule applies, the result says so
 *    ("no known rule explains this reply") and holds no diagnosis. */
#ifndef MAILSCOPE_DIAG_H
#define MAILSCOPE_DIAG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rules.h"

#define DIAG_MAX_LINES 64          /* server lines kept as evidence */
#define DIAG_MAX_CAPS 64
#define DIAG_MAX_PROBLEMS 12
#define DIAG_MAX_RESULTS 16
#define DIAG_MAX_EVIDENCE 12       /* for / against items a hypothesis shows */
#define DIAG_LIKELY_SCORE 5

#define DIAG_NO_RULE "no known rule explains this reply"

struct diag_evidence {
    bool pop3;                       /* else IMAP */
    bool failed;                     /* the session failed */
    const char *failure;             /* failure class name, "" when none */
    const char *step;                /* the step that failed ("login"), "" */
    const char *reply;               /* the server's line that ended it, "" */
    const char *message;             /* mailscope's words for the failure, "" */
    const char *code;                /* the reply's response code, "" */
    const char *greeting;            /* "" */
    const char *lines[DIAG_MAX_LINES];   /* everything the server sent (bounded) */
    bool line_secure[DIAG_MAX_LINES];    /* it came inside TLS (else: clear text, forgeable) */
    size_t n_lines;
    const char *caps_before[DIAG_MAX_CAPS], *caps_after[DIAG_MAX_CAPS];
    size_t n_caps_before, n_caps_after;
    const char *family;              /* "exchange", "unknown" */
    const char *family_version;      /* "Online", "" */
    const char *problems[DIAG_MAX_PROBLEMS];   /* certcheck codes */
    size_t n_problems;
    bool cert_seen;
    int cert_covers_server;          /* 1 yes, 0 no, -1 unknown */
    bool secure;                     /* the failing step ran inside TLS */
    const char *user, *host, *url, *tls_version;
    bool redact_user;                /* rules test user; text shows "<user>" */
    const char *server_fqdn;         /* "" when unknown */
    const char *cert_cn;             /* "" when unknown */
    unsigned port;
    unsigned backend_port;           /* {backend_port}; 0: Exchange's 1993 / 1995 */
    long elapsed_ms;                 /* the failing step's duration; -1 unknown */
    const char *const *log_lines;    /* lines of a server log the operator loaded (borrowed) */
    size_t n_log_lines;
    const char *server_short;        /* the NTLM NetBIOS computer name, "" when unknown */
    /* probe --sni: one handshake with SNI and one without (src/sni.c) */
    int sni_cert_differs;            /* 1 yes, 0 no, -1 unknown (no such comparison) */
    int sni_default_covers;          /* the certificate sent without SNI covers sni_name: 1, 0, -1 */
    const char *sni_name;            /* the name sent as SNI, "" */
    const char *sni_cert, *default_cert;   /* the leaves' names (CN or first SAN), "" */
};

struct diag_hypothesis {
    const struct rule *rule;
    int score;
    bool decisive;
    const char *confidence;          /* "certain", "likely", "possible" */
    char *evidence_for[DIAG_MAX_EVIDENCE], *evidence_against[DIAG_MAX_EVIDENCE];
    size_t n_for, n_against;
};

struct diag_result {
    struct diag_hypothesis h[DIAG_MAX_RESULTS];
    size_t n;
    bool no_rule;                    /* failed, and nothing explains it */
};

void diag_evidence_init(struct diag_evidence *e);
/* Does condition c hold on e? */
bool diag_cond_holds(const struct rule_cond *c, const struct diag_evidence *e);
void diag_run(const struct ruleset *rs, const struct diag_evidence *e, struct diag_result *out);
void diag_result_free(struct diag_result *r);
/* s with its placeholders filled from e (caller frees; NULL on no memory).
 * An unknown value reads "<server FQDN>", "<certificate name>", ...
 * {server} is the NetBIOS name when known, else the FQDN's first label;
 * {backend_port} is Exchange's backend port (1993 IMAP, 1995 POP3);
 * {sni_name}, {sni_cert} and {default_cert} come from probe --sni. */
char *diag_fill(const char *s, const struct diag_evidence *e);
/* Is name[0..n) a placeholder diag_fill() knows? */
bool diag_placeholder_known(const char *name, size_t n);
/* The "diagnoses" array of the probe report. */
json_t *diag_json(const struct diag_result *r, const struct diag_evidence *e);
/* For the text report: the top hypothesis (or the no-rule sentence) in a few
 * lines, every server-controlled string sanitised. */
void diag_text(FILE *out, const struct diag_result *r, const struct diag_evidence *e);

#endif
