#include "lineclass.h"

#include <string.h>
#include <strings.h>

#include "imap.h"
#include "pop3.h"
#include "sanitize.h"
#include "sasl.h"

#include <stdlib.h>
#include <stdio.h>

enum line_status lineclass_status(enum session_proto proto, const void *line, size_t len)
{
    if (proto == SESSION_POP3) {
        struct pop3_status_line st;
        pop3_parse_status(line, len, &st);
        return st.status == POP3_ST_OK ? LS_OK : st.status == POP3_ST_ERR ? LS_BAD
             : st.status == POP3_ST_CONT ? LS_CONT : LS_DATA;
    }
    struct imap_response r;
    imap_parse_response(line, len, &r);
    if (r.kind == IMAP_CONTINUATION)
        return LS_CONT;
    switch (r.status) {
    case IMAP_ST_OK: return LS_OK;
    case IMAP_ST_NO: return LS_NO;
    case IMAP_ST_BAD: return LS_BAD;
    case IMAP_ST_BYE: return LS_BYE;
    case IMAP_ST_PREAUTH: return LS_PREAUTH;
    default: return LS_DATA;
    }
}

static bool word_is(const char *w, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

bool lineclass_has_credentials(enum session_proto proto, const char *line, bool tagged)
{
    while (*line == ' ')
        line++;
    if (proto == SESSION_IMAP && tagged) {
        line += strcspn(line, " ");
        while (*line == ' ')
            line++;
    }
    size_t n = strcspn(line, " ");
    if (proto == SESSION_IMAP)
        return word_is(line, n, "LOGIN") || word_is(line, n, "AUTHENTICATE");
    return word_is(line, n, "PASS") || word_is(line, n, "APOP") ||
           (word_is(line, n, "AUTH") && line[n] == ' ');
}

bool lineclass_challenge_text(const void *line, size_t len, char *out, size_t cap)
{
    const char *l = line;
    if (len < 3 || l[0] != '+' || l[1] != ' ')
        return false;
    uint8_t *raw = NULL;
    size_t n = 0;
    if (sasl_b64_decode(l + 2, len - 2, &raw, &n, NULL, 0) < 0)
        return false;
    char *clean = sanitize_text(raw, n, cap > 40 ? cap - 40 : 0);
    free(raw);
    if (!clean)
        return false;
    snprintf(out, cap, "%s", clean);
    free(clean);
    return true;
}
