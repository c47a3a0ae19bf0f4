/* session_sasl.c — the client's side of each SASL mechanism, step by step,
 * shared by IMAP AUTHENTICATE and POP3 AUTH (both answer "+ base64"). */
#include "session_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sasl_mech_name(enum session_auth mech)
{
    switch (mech) {
    case AUTH_PLAIN: return "PLAIN";
    case AUTH_LOGIN_SASL: return "LOGIN";
    case AUTH_CRAM_MD5: return "CRAM-MD5";
    case AUTH_XOAUTH2: return "XOAUTH2";
    case AUTH_OAUTHBEARER: return "OAUTHBEARER";
    case AUTH_EXTERNAL: return "EXTERNAL";
    case AUTH_NTLM: return "NTLM";
    default: return "?";
    }
}

static int encode(struct session *s, struct op *op, int rc, uint8_t *raw, size_t n, char **b64,
                  const char *err)
{
    if (rc < 0) {
        session_op_end(s, op, false, "", FAIL_AUTH, "%s: %s", sasl_mech_name(op->mech), err);
        return -1;
    }
    size_t len;
    rc = n ? sasl_b64_encode(raw, n, b64, &len) : ((*b64 = strdup("=")) ? 0 : -1);
    sasl_free(raw, n);
    if (rc < 0)
        session_op_end(s, op, false, "", FAIL_AUTH, "out of memory");
    return rc;
}

/* The first client message; 1 when there is one, 0 when the server starts. */
int sasl_initial_response(struct session *s, struct op *op, char **b64)
{
    uint8_t *raw = NULL;
    size_t n = 0;
    char err[200] = "";
    int rc;
    const char *user = s->user ? s->user : "", *secret = s->secret ? s->secret : "";
    switch (op->mech) {
    case AUTH_PLAIN:
        rc = sasl_plain(NULL, user, secret, &raw, &n, err, sizeof err);
        break;
    case AUTH_XOAUTH2:
        rc = sasl_xoauth2(user, secret, &raw, &n, err, sizeof err);
        break;
    case AUTH_OAUTHBEARER:
        rc = sasl_oauthbearer(user, s->host, s->p.port, secret, &raw, &n, err, sizeof err);
        break;
    case AUTH_NTLM:
        rc = sasl_ntlm_negotiate(&raw, &n, err, sizeof err);
        break;
    case AUTH_EXTERNAL:
        rc = 0;   /* empty: the identity comes from the client certificate */
        break;
    default:
        return 0;
    }
    if (encode(s, op, rc, raw, n, b64, err) < 0)
        return -1;
    if (op->mech != AUTH_NTLM && op->mech != AUTH_EXTERNAL) {
        free(s->secret_b64);    /* a server that echoes the payload gets it scrubbed */
        s->secret_b64 = strdup(*b64);
    }
    return 1;
}

static int ntlm_challenge(struct session *s, struct op *op, const char *text, size_t len)
{
    uint8_t *raw = NULL;
    size_t n = 0;
    char err[200];
    if (sasl_b64_decode(text, len, &raw, &n, err, sizeof err) < 0 ||
        sasl_ntlm_parse_challenge(raw, n, &s->ntlm, err, sizeof err) < 0) {
        free(raw);
        session_notice(s, OP_LOGIN, "NTLM challenge unreadable: %s", err);
        return -1;
    }
    free(raw);
    session_emit(s, &(struct session_event){ .type = SEV_NTLM, .op = OP_LOGIN, .ntlm = &s->ntlm });
    return 0;
}

static int cram(struct session *s, struct op *op, const char *text, size_t len, char **b64)
{
    uint8_t *chal = NULL, *raw = NULL;
    size_t clen = 0, n = 0;
    char err[200] = "";
    int rc = sasl_b64_decode(text, len, &chal, &clen, err, sizeof err);
    if (rc == 0)
        rc = sasl_cram_md5(s->user ? s->user : "", s->secret ? s->secret : "", chal, clen, &raw,
                           &n, err, sizeof err);
    free(chal);
    return encode(s, op, rc, raw, n, b64, err);
}

static int login_step(struct session *s, int step, char **b64, const char **display)
{
    const char *v = step == 0 ? (s->user ? s->user : "") : (s->secret ? s->secret : "");
    size_t n;
    if (sasl_b64_encode(v, strlen(v), b64, &n) < 0)
        return -1;
    if (step == 0)          /* the user name's base64 is shown as sent */
        *display = s->p.redact_user ? SESSION_USER_MARK : NULL;
    else if (!s->secret_b64)
        s->secret_b64 = strdup(*b64);
    return 0;
}

static int cancel(char **b64, const char **display, struct op *op)
{
    op->sasl_cancelled = true;
    *display = "*";
    *b64 = strdup("*");
    return *b64 ? 0 : -1;
}

const char *sasl_payload_display(struct session *s, struct op *op)
{
    bool names_user = op->mech == AUTH_PLAIN || op->mech == AUTH_XOAUTH2 ||
                      op->mech == AUTH_OAUTHBEARER;
    const char *user = s->p.redact_user ? SESSION_USER_MARK : s->user;
    if (!names_user || !user || !*user)
        return "*****";
    snprintf(op->sasl_display, sizeof op->sasl_display, "***** (user %.120s)", user);
    return op->sasl_display;
}

/* The answer to one "+ challenge". Unknown extra rounds are cancelled. */
int sasl_next_response(struct session *s, struct op *op, const char *challenge, size_t clen,
                       char **b64, const char **display)
{
    int step = op->sasl_step++;
    *display = "*****";
    int rc = -1;
    switch (op->mech) {
    case AUTH_PLAIN: case AUTH_XOAUTH2: case AUTH_OAUTHBEARER: case AUTH_EXTERNAL:
        if (step == 0) {
            rc = sasl_initial_response(s, op, b64) < 0 ? -1 : 0;
            *display = op->mech == AUTH_EXTERNAL ? "=" : sasl_payload_display(s, op);
        } else if (op->mech == AUTH_XOAUTH2 || op->mech == AUTH_OAUTHBEARER) {
            /* The server's error details: the client must answer to get the final NO. */
            *b64 = strdup(op->mech == AUTH_XOAUTH2 ? "" : "AQ==");
            *display = op->mech == AUTH_XOAUTH2 ? "" : "AQ==";
            rc = *b64 ? 0 : -1;
        } else {
            rc = cancel(b64, display, op);
        }
        break;
    case AUTH_LOGIN_SASL:
        rc = step < 2 ? login_step(s, step, b64, display) : cancel(b64, display, op);
        if (rc == 0 && !*display)
            *display = *b64;
        break;
    case AUTH_CRAM_MD5:
        rc = step == 0 ? cram(s, op, challenge, clen, b64) : cancel(b64, display, op);
        break;
    case AUTH_NTLM:
        if (step == 0 && clen == 0) {
            rc = sasl_initial_response(s, op, b64) < 0 ? -1 : 0;
            *display = *b64;
        } else {
            ntlm_challenge(s, op, challenge, clen);
            rc = cancel(b64, display, op);
        }
        break;
    default:
        rc = cancel(b64, display, op);
    }
    if (rc < 0 && !op->sasl_cancelled)
        session_notice(s, OP_LOGIN, "could not compute the SASL answer");
    return rc;
}
