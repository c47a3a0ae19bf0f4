/* session_pop3.c — POP3 commands and responses for struct session. */
#include "session_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int command(struct session *s, struct op *op, const char *wire_text, const char *display)
{
    char wire[1100];
    int n = snprintf(wire, sizeof wire, "%s\r\n", wire_text);
    if (n < 0 || (size_t)n >= sizeof wire) {
        session_op_end(s, op, false, "", FAIL_PROTOCOL, "command too long");
        return 0;
    }
    part_add(op, wire, (size_t)n, display ? display : wire_text);
    OPENSSL_cleanse(wire, sizeof wire);
    return session_send_part(s, op);
}

static enum session_auth default_mech(struct session *s)
{
    const struct capset *caps = session_caps_now(s);
    if (!caps->known || capset_has(caps, "USER"))
        return AUTH_USER;
    return capset_has_sasl(caps, "PLAIN") ? AUTH_PLAIN : AUTH_USER;
}

static int start_apop(struct session *s, struct op *op, const char *user, const char *secret)
{
    if (!s->apop_ts[0]) {
        session_op_end(s, op, false, "", FAIL_AUTH, "the greeting carries no APOP timestamp, so "
                       "the server does not offer APOP");
        return 0;
    }
    char digest[33], wire[600], display[600];
    if (sasl_apop_digest(s->apop_ts, secret, digest) < 0) {
        session_op_end(s, op, false, "", FAIL_AUTH, "cannot compute the APOP digest (MD5)");
        return 0;
    }
    snprintf(wire, sizeof wire, "APOP %s %s", user, digest);
    snprintf(display, sizeof display, "APOP %s *****", session_user_shown(s, user));
    int rc = command(s, op, wire, display);
    OPENSSL_cleanse(wire, sizeof wire);
    OPENSSL_cleanse(digest, sizeof digest);
    return rc;
}

/* RFC 5034: the initial response rides on the AUTH line when it fits. */
static int start_auth(struct session *s, struct op *op)
{
    char *ir = NULL;
    int has_ir = sasl_initial_response(s, op, &ir);
    if (has_ir < 0)
        return 0;
    if (has_ir && strlen(ir) > 240) {
        sasl_free(ir, strlen(ir));
        has_ir = 0;
    }
    char wire[300], display[300];
    snprintf(wire, sizeof wire, "AUTH %s%s%s", sasl_mech_name(op->mech), has_ir ? " " : "",
             has_ir ? ir : "");
    bool public_ir = op->mech == AUTH_NTLM || op->mech == AUTH_EXTERNAL;
    snprintf(display, sizeof display, "AUTH %s%s%s", sasl_mech_name(op->mech), has_ir ? " " : "",
             has_ir ? (public_ir ? ir : sasl_payload_display(s, op)) : "");
    if (ir)
        sasl_free(ir, strlen(ir));
    op->sasl_step = has_ir ? 1 : 0;
    op->awaiting_cont = true;
    int rc = command(s, op, wire, display);
    OPENSSL_cleanse(wire, sizeof wire);
    return rc;
}

static void send_pass(struct session *s, struct op *op)
{
    char wire[600];
    snprintf(wire, sizeof wire, "PASS %s", s->secret ? s->secret : "");
    session_send_line(s, op, wire, "PASS *****");
    OPENSSL_cleanse(wire, sizeof wire);
}

/* USER and PASS in one round trip when the server allows pipelining
 * (RFC 2449); the op then waits for both replies. */
static int start_user_pass(struct session *s, struct op *op, const char *user)
{
    char wire[600], display[600];
    snprintf(wire, sizeof wire, "USER %s", user);
    snprintf(display, sizeof display, "USER %s", session_user_shown(s, user));
    int rc = command(s, op, wire, display);
    if (rc == 0 && capset_has(session_caps_now(s), "PIPELINING")) {
        send_pass(s, op);
        op->user_sent = true;
        op->replies_pending = 2;
    }
    return rc;
}

static int start_login(struct session *s, struct op *op, const char *user, const char *secret)
{
    if (op->mech == AUTH_DEFAULT)
        op->mech = default_mech(s);
    if (op->mech == AUTH_LOGIN) {
        session_op_end(s, op, false, "", FAIL_AUTH, "LOGIN is an IMAP command; POP3 uses "
                       "--auth=user, apop or a SASL mechanism");
        return 0;
    }
    if (op->mech != AUTH_NTLM && !session_credentials_allowed(s, op))
        return 0;
    switch (op->mech) {
    case AUTH_USER:
        return start_user_pass(s, op, user ? user : "");
    case AUTH_APOP:
        return start_apop(s, op, user ? user : "", secret ? secret : "");
    default:
        return start_auth(s, op);
    }
}

int pop3_start(struct session *s, struct op *op, const char *arg, const char *secret)
{
    switch (op->kind) {
    case OP_LOGIN:
        return start_login(s, op, arg, secret);
    case OP_CAPABILITY:
        op->multiline = true;
        return command(s, op, "CAPA", NULL);
    case OP_STARTTLS:
        return command(s, op, "STLS", NULL);
    case OP_SELECT:
        return command(s, op, "STAT", NULL);
    case OP_LOGOUT:
        session_set_state(s, SST_LOGGING_OUT);
        return command(s, op, "QUIT", NULL);
    case OP_ID:
        session_op_end(s, op, false, "", FAIL_PROTOCOL, "ID is an IMAP command (RFC 2971)");
        return 0;
    default:
        return command(s, op, "NOOP", NULL);
    }
}

/* ---- responses ------------------------------------------------------- */

/* "-ERR [CODE] text": the whole answer, for the operator. */
static void describe(const struct pop3_status_line *st, char *out, size_t cap)
{
    char text[600];
    session_text(text, sizeof text, st->text, st->text_len);
    snprintf(out, cap, "%s%s%s%s%s", st->status == POP3_ST_OK ? "+OK " : "-ERR ",
             st->code[0] ? "[" : "", st->code, st->code[0] ? "] " : "", text);
}

static void login_reply(struct session *s, struct op *op, const struct pop3_status_line *st)
{
    char answer[1024];
    describe(st, answer, sizeof answer);
    if (op->replies_pending == 2) {
        op->replies_pending = 1;
        if (st->status == POP3_ST_OK)
            return;   /* USER accepted; PASS's answer decides */
        op->user_sent = false;  /* the USER refusal is the reason; PASS's reply is swallowed */
        session_op_end(s, op, false, "-ERR", FAIL_AUTH, "login refused: USER %s", answer);
        s->swallow_replies++;
        return;
    }
    if (st->status == POP3_ST_OK && op->mech == AUTH_USER && !op->user_sent && !op->raw) {
        op->user_sent = true;
        send_pass(s, op);
        return;
    }
    if (st->status == POP3_ST_OK) {
        session_set_state(s, SST_AUTHENTICATED);
        session_op_end(s, op, true, "+OK", FAIL_NONE, NULL);
    } else if (op->sasl_cancelled && op->mech == AUTH_NTLM && s->ntlm.dns_computer[0]) {
        session_op_end(s, op, false, "-ERR", FAIL_NONE, "NTLM challenge decoded: server %s "
                       "(%s\\%s); login cancelled on purpose (mailscope probes NTLM only for the "
                       "server's identity)", s->ntlm.dns_computer, s->ntlm.netbios_domain,
                       s->ntlm.netbios_computer);
    } else {
        session_op_end(s, op, false, "-ERR", FAIL_AUTH, "login refused: %s", answer);
    }
}

static void continuation(struct session *s, struct op *op, const struct pop3_status_line *st)
{
    if (op->kind == OP_STARTTLS) {
        session_fatal(s, FAIL_TLS_REQUIRED, "the server answered STLS with a continuation "
                      "request instead of +OK: TLS was not started, nothing more is sent");
        return;
    }
    if (op->kind == OP_LOGIN && !op->raw &&
        (op->sasl_cancelled || op->sasl_step >= SESSION_SASL_ROUNDS)) {
        session_fatal(s, FAIL_PROTOCOL, "the server keeps asking (%d continuation requests): "
                      "an endless SASL exchange, the connection was closed", op->sasl_step + 1);
        return;
    }
    if (op->raw)
        op->cont_requested = true;   /* the operator answers by typing */
    if (op->kind != OP_LOGIN || op->raw || op->mech == AUTH_USER || op->mech == AUTH_APOP)
        return;
    char *b64 = NULL;
    const char *display = NULL;
    if (sasl_next_response(s, op, st->text, st->text_len, &b64, &display) < 0)
        return;
    session_send_line(s, op, b64, display);
    sasl_free(b64, strlen(b64));
}

static void greeting(struct session *s, struct op *op, const struct pop3_status_line *st,
                     const uint8_t *line, size_t len)
{
    session_greeting_done(s, line, len);
    if (st->status != POP3_ST_OK) {
        if (st->status == POP3_ST_ERR)
            session_fatal(s, FAIL_CLOSED, "the server refused the session: %.*s", (int)len,
                          (const char *)line);
        else
            session_fatal(s, FAIL_PROTOCOL, "this is not a POP3 greeting");
        return;
    }
    if (!pop3_apop_timestamp((const char *)line, len, s->apop_ts, sizeof s->apop_ts))
        s->apop_ts[0] = 0;
    session_op_end(s, op, true, "+OK", FAIL_NONE, NULL);
}

static void status_line(struct session *s, struct op *op, const uint8_t *line, size_t len)
{
    struct pop3_status_line st;
    pop3_parse_status((const char *)line, len, &st);
    if (op->kind == OP_GREETING) {
        greeting(s, op, &st, line, len);
        return;
    }
    if (st.status == POP3_ST_CONT) {
        continuation(s, op, &st);
        return;
    }
    bool ok = st.status == POP3_ST_OK;
    char text[700];
    session_text(text, sizeof text, (const char *)line, len);
    const char *word = ok ? "+OK" : st.status == POP3_ST_ERR ? "-ERR" : "";
    if (st.status == POP3_ST_GARBAGE) {
        session_fatal(s, FAIL_PROTOCOL, "the server sent a line that is not a POP3 reply");
        return;
    }
    switch (op->kind) {
    case OP_STARTTLS:
        if (ok)
            session_starttls_accepted(s, op);
        else
            session_op_end(s, op, false, word, FAIL_TLS_REQUIRED, "the server refused STLS: "
                           "%s", text);
        return;
    case OP_LOGIN:
        login_reply(s, op, &st);
        return;
    case OP_LOGOUT:
        session_op_end(s, op, ok, word, FAIL_PROTOCOL, NULL);
        session_close_orderly(s);
        return;
    case OP_CAPABILITY:
        if (ok)
            capset_clear(session_caps_now(s));
        break;
    default:
        break;
    }
    if (ok && op->multiline) {
        s->pop3.multiline = true;   /* the op ends at the "." line */
        return;
    }
    session_op_end(s, op, ok, word, FAIL_PROTOCOL, ok ? NULL : "%s", text);
}

/* The wire line as it came (a stuffed dot included). After the first
 * SESSION_DATA_LINES_SHOWN lines of a message (RETR, TOP) the rest is reported
 * as bulk data, counted and previewed like an IMAP literal, so a huge
 * message costs no memory per line. */
static void report_line(struct session *s, struct op *op, const struct pop3_frame *f)
{
    const uint8_t *raw = s->in + s->in_off - f->consumed;
    size_t len = f->consumed - 1;
    if (len && raw[len - 1] == '\r')
        len--;
    bool bulk = op && f->type == POP3_FRAME_DATA && op->kind != OP_CAPABILITY &&
                op->data_lines++ >= SESSION_DATA_LINES_SHOWN;
    if (!bulk) {
        session_received(s, op ? op->kind : OP_NONE, raw, len);
        return;
    }
    op->bulk = true;
    session_emit(s, &(struct session_event){ .type = SEV_LITERAL, .op = op->kind,
                 .data = raw, .len = f->consumed, .secure = session_secure(s) });
}

void pop3_handle_input(struct session *s)
{
    while (!s->closed && s->in_off < s->in_len) {
        struct op *bulk = session_oldest_op(s);
        if (bulk && bulk->bulk && bulk->kind != OP_CAPABILITY) {
            /* Past the lines shown one by one: whole lines go on as one piece. */
            size_t run = pop3_data_run(&s->pop3, s->in + s->in_off, s->in_len - s->in_off);
            if (run) {
                session_emit(s, &(struct session_event){ .type = SEV_LITERAL, .op = bulk->kind,
                             .data = s->in + s->in_off, .len = run,
                             .secure = session_secure(s) });
                s->in_off += run;
                continue;
            }
        }
        struct pop3_frame f;
        pop3_frame_next(&s->pop3, s->in + s->in_off, s->in_len - s->in_off, &f);
        if (f.type == POP3_FRAME_NEED_MORE)
            break;
        if (f.type == POP3_FRAME_ERROR) {
            session_fatal(s, FAIL_PROTOCOL, "%s", f.error);
            return;
        }
        s->in_off += f.consumed;
        struct op *op = session_oldest_op(s);
        report_line(s, op, &f);
        if (s->swallow_replies && f.type == POP3_FRAME_LINE) {
            s->swallow_replies--;   /* the answer to a PASS whose USER was refused */
            continue;
        }
        if (!op) {
            session_notice(s, OP_NONE, "the server sent a reply nobody asked for");
            continue;
        }
        if (f.type == POP3_FRAME_DATA && op->kind == OP_CAPABILITY)
            capset_add_line(session_caps_now(s), (const char *)f.data, f.len);
        else if (f.type == POP3_FRAME_END)
            session_op_end(s, op, true, "+OK", FAIL_NONE, NULL);
        else if (f.type == POP3_FRAME_LINE)
            status_line(s, op, f.data, f.len);
    }
}

/* ---- lines typed by the operator ------------------------------------- */

static bool multiline_command(const char *cmd, size_t n, const char *args)
{
    bool noarg = !*args;
    if (n == 4 && strncasecmp(cmd, "CAPA", 4) == 0)
        return true;
    if (n == 4 && (strncasecmp(cmd, "RETR", 4) == 0 || strncasecmp(cmd, "AUTH", 4) == 0))
        return strncasecmp(cmd, "RETR", 4) == 0 || noarg;
    if (n == 3 && strncasecmp(cmd, "TOP", 3) == 0)
        return true;
    return noarg && ((n == 4 && strncasecmp(cmd, "LIST", 4) == 0) ||
                     (n == 4 && strncasecmp(cmd, "UIDL", 4) == 0));
}

static enum session_op raw_kind(const char *cmd, size_t n, const char *args)
{
    if (n == 4 && strncasecmp(cmd, "STLS", 4) == 0)
        return OP_STARTTLS;
    if ((n == 4 && strncasecmp(cmd, "PASS", 4) == 0) || (n == 4 && strncasecmp(cmd, "APOP", 4) == 0)
        || (n == 4 && strncasecmp(cmd, "AUTH", 4) == 0 && *args))
        return OP_LOGIN;
    if (n == 4 && strncasecmp(cmd, "QUIT", 4) == 0)
        return OP_LOGOUT;
    if (n == 4 && strncasecmp(cmd, "CAPA", 4) == 0)
        return OP_CAPABILITY;
    return OP_RAW;
}

static void raw_display(const struct session *s, const char *line, size_t cmdlen,
                        const char *args, enum session_op kind, char *out, size_t cap)
{
    bool user_first = (cmdlen == 4 && strncasecmp(line, "USER", 4) == 0) ||
                      (cmdlen == 4 && strncasecmp(line, "APOP", 4) == 0);
    if (s->p.redact_user && user_first && *args) {
        size_t first = strcspn(args, " ");
        snprintf(out, cap, "%.*s%s%s", (int)(args - line), line, SESSION_USER_MARK,
                 args[first] ? " *****" : "");
        return;
    }
    if (kind != OP_LOGIN) {
        snprintf(out, cap, "%s", line);
        return;
    }
    if (strncasecmp(line, "PASS", 4) == 0) {
        snprintf(out, cap, "PASS *****");
        return;
    }
    /* APOP user digest / AUTH MECH [initial-response]: keep the first argument. */
    size_t first = strcspn(args, " ");
    snprintf(out, cap, "%.*s%s", (int)(args - line + first), line, args[first] ? " *****" : "");
    (void)cmdlen;
}

int pop3_raw(struct session *s, const char *line)
{
    size_t cmdlen = strcspn(line, " ");
    const char *args = line + cmdlen;
    while (*args == ' ')
        args++;
    enum session_op kind = raw_kind(line, cmdlen, args);
    if (kind == OP_STARTTLS && session_starttls_check(s) < 0)
        return -1;
    if (kind != OP_RAW && session_ready_for_command(s) < 0)
        return -1;
    struct op *op = session_op_begin(s, kind);
    if (!op)
        return -1;
    op->raw = true;
    op->multiline = multiline_command(line, cmdlen, args);
    op->awaiting_cont = op->secret_cont = kind == OP_LOGIN && strncasecmp(line, "AUTH", 4) == 0;
    if (kind == OP_LOGIN && !session_credentials_allowed(s, op))
        return 0;
    if (kind == OP_LOGOUT)
        session_set_state(s, SST_LOGGING_OUT);
    char display[1200];
    raw_display(s, line, cmdlen, args, kind, display, sizeof display);
    return session_send_line(s, op, line, display);
}
