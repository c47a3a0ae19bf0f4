/* export_text — the .txt and .md transcripts for a ticket (see export.h for
 * what the writers share): header (tool, start in local time and UTC,
 * target, address, protocol, TLS, result, what was redacted), the timeline
 * "+0.000s C: a001 CAPABILITY", the timings, the certificate chain, the
 * diagnosis, walkthrough steps and the operator's notes. */
#ifndef MAILSCOPE_EXPORT_TEXT_H
#define MAILSCOPE_EXPORT_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "export.h"

/* Plain text stays within this many columns, except quoted server lines. */
#define EXPORT_TEXT_WIDTH 100

/* markdown: the .md dialect, else plain text. 0, or -1 on a write error. */
int export_text_write(FILE *f, bool markdown, const struct export_ctx *x);

#endif
