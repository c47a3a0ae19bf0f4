/* export_html — the .html transcript: one self-contained page (inline CSS,
 * no script, no external asset, a strict Content-Security-Policy) with the
 * header, the coloured timeline, a timing waterfall (connect, greeting, TLS
 * handshake, each command) as CSS bars, the certificate chain, the
 * diagnosis, walkthrough steps and notes; every string HTML-escaped after
 * the sanitiser (export.h). */
#ifndef MAILSCOPE_EXPORT_HTML_H
#define MAILSCOPE_EXPORT_HTML_H

#include <stdio.h>

#include "export.h"

/* 0, or -1 on a write error. */
int export_html_write(FILE *f, const struct export_ctx *x);

#endif
