/* redact — what the exports do on top of the engine's redaction. The engine
 * already reports every sent credential as ***** and, with --redact-user
 * (session_params.redact_user), every user name as SESSION_USER_MARK; this
 * module covers what the front end itself holds (the URL's userinfo) and is
 * the second layer of each export: a scrub of any copy of the user name
 * (as text and in base64) that came by another way, e.g. in an operator's
 * note. It also words what was redacted, for each format's header. */
#ifndef MAILSCOPE_REDACT_H
#define MAILSCOPE_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "session.h"

struct redact {
    bool user;                  /* --redact-user */
    char name[256];             /* the user name to scrub ("" when none) */
    char name_b64[360];
};

/* on: --redact-user; user: the session's user name (may be NULL). */
void redact_init(struct redact *r, bool on, const char *user);
/* "passwords, SASL payloads" and, with --redact-user, ", user names". */
const char *redact_what(const struct redact *r);
/* The URL with any userinfo replaced by SESSION_USER_MARK when on (else
 * copied). Returns buf. */
const char *redact_url(const char *url, bool on, char *buf, size_t n);
/* data[0..len) with the user name scrubbed: a new NUL-terminated string
 * (caller frees; *out_len gets its length). NULL only when memory ran out. */
char *redact_scrub(const struct redact *r, const void *data, size_t len, size_t *out_len);
/* Scrub every string of a JSON document in place. */
void redact_scrub_json(const struct redact *r, json_t *doc);

#endif
