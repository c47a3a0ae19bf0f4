/* evidence — the facts the diagnosis rules read, gathered from one probe
 * session: the failing step and the server's reply to it (with its
 * response code), every line the server sent (the last DIAG_MAX_LINES),
 * capabilities before and after TLS, the server family and version hint,
 * the certificate's problem codes and whether its names cover the name the
 * server gives itself, the account, the host, the TLS version.
 * The store owns the copies the evidence points at; it borrows nothing
 * after evidence_collect() returns except the transcript's line bytes and
 * the session's capabilities, which must outlive it.
 * evidence_diagnose() is the one call report.c and the console make. */
#ifndef MAILSCOPE_EVIDENCE_H
#define MAILSCOPE_EVIDENCE_H

#include "diag.h"
#include "report.h"

struct evidence_store {
    struct diag_evidence e;
    char fqdn[256], cert_cn[256], code[64], version[64], step[32], tls_version[16];
    const char *problems[DIAG_MAX_PROBLEMS];
};

/* The response code of a reply line: "TAG NO [CODE ...]" or "-ERR [CODE]";
 * "" when there is none. */
void evidence_reply_code(const char *reply, char *out, size_t outlen);

void evidence_collect(struct evidence_store *st, const struct transcript *t, struct session *s,
                      const struct report_target *tg, const struct report_verdict *v);

/* The same for a session in progress (the console): no verdict yet, so the
 * failure is the last step that failed, or the connection's loss. */
void evidence_collect_live(struct evidence_store *st, const struct transcript *t,
                           struct session *s, const struct report_target *tg);

/* Load the rules (built in and the user's), collect, run. warn gets any
 * user rule file refused. Returns 0, or -1 when the built-in rules failed
 * to load (the result is then empty). */
int evidence_diagnose(const struct transcript *t, struct session *s,
                      const struct report_target *tg, const struct report_verdict *v,
                      struct ruleset *rs, struct evidence_store *st, struct diag_result *r,
                      char *warn, size_t warnlen);

/* Set the probe report's "diagnoses" array and "diagnosis_note" (the
 * no-rule sentence when the run failed and no rule applies, a refused user
 * rule file, or null) on report. */
void evidence_report_json(json_t *report, const struct transcript *t, struct session *s,
                          const struct report_target *tg, const struct report_verdict *v);
/* The top diagnosis for the text report (nothing when the run succeeded and
 * no rule applies). */
void evidence_diagnoses_text(FILE *out, const struct transcript *t, struct session *s,
                             const struct report_target *tg, const struct report_verdict *v);

#endif
