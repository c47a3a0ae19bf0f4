/* record — write a session to a file for a ticket: the format follows the
 * extension (.json: schema mailscope.transcript/2, written by trjson.h;
 * .txt and .md: export_text.h; .html: export_html.h). This module
 * only dispatches. Created with mode 0600, never through a symbolic link.
 * Credentials were redacted before they were recorded (and user names with
 * --redact-user: report_target.redact_user), so every format is safe to
 * attach. */
#ifndef MAILSCOPE_RECORD_H
#define MAILSCOPE_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "plan.h"
#include "report.h"
#include "transcript.h"

/* Create (or truncate) path for writing with mode, never through a
 * symbolic link. NULL with a message in err. */
FILE *record_create(const char *path, unsigned mode, char *err, size_t errlen);

/* report: the probe report object (borrowed). Returns 0, or -1 with a
 * message in err. */
int record_write(const char *path, json_t *report, const struct plan *p,
                 const struct transcript *t, struct session *s, const struct report_target *tg,
                 const struct report_verdict *v, char *err, size_t errlen);

#endif
