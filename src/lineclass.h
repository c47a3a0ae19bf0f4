/* lineclass — what kind of server line this is, for colouring and for the
 * console's status: OK / NO / BAD / BYE / PREAUTH / continuation / data,
 * and whether a line typed by the operator carries a credential. */
#ifndef MAILSCOPE_LINECLASS_H
#define MAILSCOPE_LINECLASS_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

enum line_status { LS_DATA, LS_OK, LS_NO, LS_BAD, LS_BYE, LS_PREAUTH, LS_CONT };

enum line_status lineclass_status(enum session_proto proto, const void *line, size_t len);
/* LOGIN, AUTHENTICATE (IMAP, after an optional tag); PASS, APOP, AUTH (POP3). */
bool lineclass_has_credentials(enum session_proto proto, const char *line, bool tagged);

/* A continuation line ("+ base64") decoded for the operator ("Username:"),
 * sanitised into out; false when it is no base64 continuation. */
bool lineclass_challenge_text(const void *line, size_t len, char *out, size_t cap);

#endif
