/* session_imap.c — IMAP commands and responses for struct session. */
#include "session_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void next_tag(struct session *s, char *tag, size_t n)
{
    snprintf(tag, n, "a%03u", s->next_tag++);
}

/* "tag text" as one complete command line. */
static void simple_command(struct session *s, struct op *op, const char *text)
{
    char wire[1100], display[1100];
    next_tag(s, op->tag, sizeof op->tag);
    snprintf(display, sizeof display, "%s %s", op->tag, text);
    int n = snprintf(wire, sizeof wire, "%s\r\n", display);
    part_add(op, wire, (size_t)n, display);
}

struct cmd {
    char wire[2400], display[1400];
    size_t w, d;
};

static void cmd_put(struct cmd *c, const char *wire, const char *display)
{
    c->w += (size_t)snprintf(c->wire + c->w, sizeof c->wire - c->w, "%s", wire);
    c->d += (size_t)snprintf(c->display + c->d, sizeof c->display - c->d, "%s", display);
}

/* LOGIN user pass: each argument an atom, quoted string or literal; the
 * password shows as ***** whatever its form on the wire. */
static int build_login(struct session *s, struct op *op, const char *user, const char *pass)
{
    const struct capset *caps = session_caps_now(s);
    bool nonsync = capset_has(caps, "LITERAL+") || capset_has(caps, "IMAP4rev2");
    const char *args[2] = { user, pass };
    struct cmd c = { .w = 0 };
    char head[80];
    next_tag(s, op->tag, sizeof op->tag);
    snprintf(head, sizeof head, "%s LOGIN", op->tag);
    cmd_put(&c, head, head);
    for (int i = 0; i < 2; i++) {
        char a[1100];
        bool literal;
        if (strlen(args[i]) > 1000 || imap_astring(args[i], nonsync, a, sizeof a, &literal) < 0)
            return -1;
        cmd_put(&c, " ", " ");
        cmd_put(&c, a, i ? (literal ? a : "*****") : literal ? a : session_user_shown(s, a));
        if (!literal)
            continue;
        cmd_put(&c, "\r\n", "");
        if (!nonsync) {   /* the literal's bytes wait for the server's "+" */
            part_add(op, c.wire, c.w, c.display);
            c.w = c.d = 0;
        }
        cmd_put(&c, args[i], i ? "*****" : session_user_shown(s, args[i]));
    }
    cmd_put(&c, "\r\n", "");
    part_add(op, c.wire, c.w, c.display);
    OPENSSL_cleanse(&c, sizeof c);
    return 0;
}

static bool is_sasl(enum session_auth m)
{
    return m != AUTH_LOGIN && m != AUTH_APOP && m != AUTH_USER && m != AUTH_DEFAULT;
}

static enum session_auth default_mech(struct session *s)
{
    const struct capset *caps = session_caps_now(s);
    if (capset_has_sasl(caps, "PLAIN"))
        return AUTH_PLAIN;
    return AUTH_LOGIN;
}

static int start_authenticate(struct session *s, struct op *op)
{
    char *ir = NULL;
    int has_ir = 0;
    if (capset_has(session_caps_now(s), "SASL-IR")) {
        has_ir = sasl_initial_response(s, op, &ir);
        if (has_ir < 0)
            return 0;   /* the op has been ended with the reason */
    }
    next_tag(s, op->tag, sizeof op->tag);
    char display[400];
    bool public_ir = op->mech == AUTH_NTLM || op->mech == AUTH_EXTERNAL;
    snprintf(display, sizeof display, "%s AUTHENTICATE %s%s%s", op->tag, sasl_mech_name(op->mech),
             has_ir ? " " : "", has_ir ? (public_ir ? ir : sasl_payload_display(s, op)) : "");
    size_t n = strlen(display) + (ir ? strlen(ir) : 0) + 8;
    char *wire = malloc(n);
    if (!wire)
        return -1;
    int w = snprintf(wire, n, "%s AUTHENTICATE %s%s%s\r\n", op->tag, sasl_mech_name(op->mech),
                     has_ir ? " " : "", has_ir ? ir : "");
    part_add(op, wire, (size_t)w, display);
    OPENSSL_cleanse(wire, n);
    free(wire);
    if (ir)
        sasl_free(ir, strlen(ir));
    op->sasl_step = has_ir ? 1 : 0;
    op->awaiting_cont = true;
    return session_send_part(s, op);
}

static int start_login(struct session *s, struct op *op, const char *user, const char *secret)
{
    if (op->mech == AUTH_DEFAULT)
        op->mech = default_mech(s);
    if (op->mech == AUTH_APOP || op->mech == AUTH_USER) {
        session_op_end(s, op, false, "", FAIL_AUTH, "%s is a POP3 mechanism",
                       session_auth_name(op->mech));
        return 0;
    }
    if (op->mech == AUTH_LOGIN && capset_has(session_caps_now(s), "LOGINDISABLED")) {
        session_op_end(s, op, false, "", s->tls_started ? FAIL_AUTH : FAIL_TLS_REQUIRED,
                       "the server advertises LOGINDISABLED, so LOGIN must not be sent "
                       "(RFC 3501 6.2.3)%s", s->tls_started ? "" : ": STARTTLS first");
        return 0;
    }
    /* NTLM is only probed for the server's identity and cancelled: no secret goes out. */
    if (op->mech != AUTH_NTLM && !session_credentials_allowed(s, op))
        return 0;
    if (is_sasl(op->mech))
        return start_authenticate(s, op);
    if (build_login(s, op, user ? user : "", secret ? secret : "") < 0) {
        session_op_end(s, op, false, "", FAIL_AUTH, "the user name or password is too long");
        return 0;
    }
    op->awaiting_cont = op->n_parts > 1;
    return session_send_part(s, op);
}

int imap_start(struct session *s, struct op *op, const char *arg, const char *secret)
{
    char text[1100];
    bool literal;
    switch (op->kind) {
    case OP_LOGIN:
        return start_login(s, op, arg, secret);
    case OP_SELECT:
        if (imap_astring(arg, false, text + 8, sizeof text - 8, &literal) < 0 || literal) {
            session_op_end(s, op, false, "", FAIL_PROTOCOL, "unusable mailbox name");
            return 0;
        }
        memcpy(text, "EXAMINE ", 8);
        simple_command(s, op, text);
        break;
    case OP_LOGOUT:
        session_set_state(s, SST_LOGGING_OUT);
        simple_command(s, op, "LOGOUT");
        break;
    case OP_ID:
        /* NIL: the client tells nothing about itself (RFC 2971 3.1). Tags of
         * their own, so the plan's other commands keep theirs whether an ID
         * rides along or not. */
        snprintf(op->tag, sizeof op->tag, "i%03u", ++s->id_tags);
        snprintf(text, sizeof text, "%s ID NIL", op->tag);
        char wire[80];
        part_add(op, wire, (size_t)snprintf(wire, sizeof wire, "%s\r\n", text), text);
        break;
    default:
        simple_command(s, op, op->kind == OP_CAPABILITY ? "CAPABILITY"
                              : op->kind == OP_STARTTLS ? "STARTTLS" : "NOOP");
    }
    return session_send_part(s, op);
}

/* ---- responses ------------------------------------------------------- */

static struct op *op_by_tag(struct session *s, const char *tag)
{
    for (size_t i = 0; i < s->n_ops; i++)
        if (s->ops[i].tag[0] && strcmp(s->ops[i].tag, tag) == 0)
            return &s->ops[i];
    return NULL;
}

/* "NO [CODE args] text": the whole answer, for the operator, in the
 * server's own case ("[Error=ProxyNotAuthenticated ...]" is Exchange's). */
static void describe(const struct imap_response *r, char *out, size_t cap)
{
    char text[600], arg[300], code[64];
    session_text(text, sizeof text, r->text, r->text_len);
    session_text(arg, sizeof arg, r->code_arg ? r->code_arg : "", r->code_arg_len);
    session_text(code, sizeof code, r->code_raw ? r->code_raw : "", r->code_raw_len);
    if (r->code[0])
        snprintf(out, cap, "%s [%s%s%s] %s", imap_status_name(r->status), code,
                 arg[0] ? " " : "", arg, text);
    else
        snprintf(out, cap, "%s %s", imap_status_name(r->status), text);
}

static void set_caps(struct capset *c, const char *list, size_t len)
{
    capset_clear(c);
    capset_add_atoms(c, list, len);
}

static void codes(struct session *s, const struct imap_response *r)
{
    if (strcmp(r->code, "CAPABILITY") == 0)
        set_caps(session_caps_now(s), r->code_arg, r->code_arg_len);
    else if (strcmp(r->code, "ALERT") == 0) {
        char text[600];
        session_text(text, sizeof text, r->text, r->text_len);
        /* RFC 3501 says show it; before TLS anyone on the path may have written it. */
        session_notice(s, OP_NONE, "the server sends an ALERT: %s%s", text,
                       session_secure(s) ? "" : " (received in clear text, before TLS: not "
                                                "authenticated, may be forged)");
    }
}

static void greeting(struct session *s, struct op *op, const struct imap_response *r,
                     const uint8_t *line, size_t len)
{
    session_greeting_done(s, line, len);
    if (r->kind != IMAP_UNTAGGED || (r->status != IMAP_ST_OK && r->status != IMAP_ST_PREAUTH
                                     && r->status != IMAP_ST_BYE)) {
        session_fatal(s, FAIL_PROTOCOL, "this is not an IMAP greeting");
        return;
    }
    if (r->status == IMAP_ST_BYE) {
        char answer[1024];
        describe(r, answer, sizeof answer);
        session_fatal(s, FAIL_CLOSED, "the server refused the session at once: * %s", answer);
        return;
    }
    codes(s, r);
    if (r->status == IMAP_ST_PREAUTH) {
        if (s->p.tls_required && !s->tls_started) {
            session_fatal(s, FAIL_TLS_REQUIRED, "the server greeted with PREAUTH in clear text: "
                          "STARTTLS is impossible in the authenticated state (a man in the "
                          "middle can do this); nothing was sent");
            return;
        }
        session_set_state(s, SST_AUTHENTICATED);
        session_notice(s, OP_GREETING, "PREAUTH: the server says this connection is already "
                       "authenticated");
    }
    session_op_end(s, op, true, imap_status_name(r->status), FAIL_NONE, NULL);
}

static void untagged(struct session *s, const struct imap_response *r)
{
    if (strcmp(r->keyword, "CAPABILITY") == 0)
        set_caps(session_caps_now(s), r->text, r->text_len);
    if (r->status != IMAP_ST_NONE)
        codes(s, r);
    if (r->status == IMAP_ST_BYE) {
        s->bye_seen = true;
        struct op *op = session_oldest_op(s);
        char text[600];
        session_text(text, sizeof text, r->text, r->text_len);
        if (!op || op->kind != OP_LOGOUT)
            session_notice(s, OP_NONE, "the server says BYE: %s", text);
    }
}

static void ntlm_done(struct session *s, struct op *op, const struct imap_response *r)
{
    if (s->ntlm.dns_computer[0] || s->ntlm.netbios_computer[0])
        session_op_end(s, op, false, imap_status_name(r->status), FAIL_NONE,
                       "NTLM challenge decoded: server %s (%s\\%s); login cancelled on purpose "
                       "(mailscope probes NTLM only for the server's identity)",
                       s->ntlm.dns_computer, s->ntlm.netbios_domain, s->ntlm.netbios_computer);
    else
        session_op_end(s, op, false, imap_status_name(r->status), FAIL_AUTH,
                       "NTLM: the server sent no usable challenge");
}

static void tagged(struct session *s, struct op *op, const struct imap_response *r)
{
    bool ok = r->status == IMAP_ST_OK;
    const char *st = imap_status_name(r->status);
    char answer[1024];
    describe(r, answer, sizeof answer);
    if (op->kind == OP_LOGIN && ok)
        session_set_state(s, SST_AUTHENTICATED);
    if (op->kind == OP_LOGIN && ok)
        capset_clear(&s->caps[CAPS_AFTER_LOGIN]);
    codes(s, r);
    switch (op->kind) {
    case OP_STARTTLS:
        if (ok)
            session_starttls_accepted(s, op);
        else
            session_op_end(s, op, false, st, FAIL_TLS_REQUIRED, "the server refused STARTTLS: "
                           "%s", answer);
        return;
    case OP_LOGIN:
        if (op->sasl_cancelled && op->mech == AUTH_NTLM)
            ntlm_done(s, op, r);
        else
            session_op_end(s, op, ok, st, FAIL_AUTH, ok ? NULL : "login refused: %s", answer);
        return;
    case OP_SELECT:
        if (ok)
            session_set_state(s, SST_SELECTED);
        break;
    case OP_LOGOUT:
        session_op_end(s, op, ok, st, FAIL_PROTOCOL, NULL);
        session_close_orderly(s);
        return;
    default:
        break;
    }
    session_op_end(s, op, ok, st, FAIL_PROTOCOL, ok ? NULL : "%s", answer);
}

static void continuation(struct session *s, const struct imap_response *r)
{
    struct op *oldest = session_oldest_op(s);
    if (oldest && oldest->kind == OP_STARTTLS) {
        /* "+" is no answer to STARTTLS: the server is not starting TLS. */
        session_fatal(s, FAIL_TLS_REQUIRED, "the server answered STARTTLS with a continuation "
                      "request instead of OK: TLS was not started, nothing more is sent");
        return;
    }
    struct op *op = NULL;
    for (size_t i = 0; i < s->n_ops && !op; i++)
        if (s->ops[i].awaiting_cont)
            op = &s->ops[i];
    if (!op) {
        session_notice(s, OP_NONE, "the server sent a continuation request nobody asked for");
        return;
    }
    if (op->next_part < op->n_parts) {
        session_send_part(s, op);
        op->awaiting_cont = op->next_part < op->n_parts;
        return;
    }
    if (op->raw)
        op->cont_requested = true;
    if (op->kind != OP_LOGIN || op->raw)
        return;   /* the operator answers by typing */
    if (op->sasl_cancelled || op->sasl_step >= SESSION_SASL_ROUNDS) {
        session_fatal(s, FAIL_PROTOCOL, "the server keeps asking (%d continuation requests%s): "
                      "an endless SASL exchange, the connection was closed", op->sasl_step + 1,
                      op->sasl_cancelled ? ", after the client cancelled" : "");
        return;
    }
    char *b64 = NULL;
    const char *display = NULL;
    if (sasl_next_response(s, op, r->text, r->text_len, &b64, &display) < 0)
        return;
    session_send_line(s, op, b64, display);
    sasl_free(b64, strlen(b64));
}

/* Untagged data past the first lines of one reply is counted as bulk, so a
 * flood costs no memory per line (it is still parsed). */
static void report_response(struct session *s, struct op *op, const struct imap_response *r,
                            const uint8_t *line, size_t len)
{
    bool data = r->kind == IMAP_UNTAGGED && r->status == IMAP_ST_NONE &&
                strcmp(r->keyword, "CAPABILITY") != 0;
    if (op && data && op->data_lines++ >= SESSION_DATA_LINES_SHOWN) {
        op->bulk = true;
        session_emit(s, &(struct session_event){ .type = SEV_LITERAL, .op = op->kind,
                     .data = line, .len = len, .secure = session_secure(s) });
        return;
    }
    session_received(s, op ? op->kind : OP_NONE, line, len);
}

static void response(struct session *s, const uint8_t *line, size_t len)
{
    struct imap_response r;
    imap_parse_response((const char *)line, len, &r);
    struct op *oldest = session_oldest_op(s);
    if (oldest && oldest->kind == OP_GREETING) {   /* whatever comes first is the greeting */
        session_received(s, OP_GREETING, line, len);
        greeting(s, oldest, &r, line, len);
        return;
    }
    struct op *op = r.kind == IMAP_TAGGED ? op_by_tag(s, r.tag) : oldest;
    report_response(s, op, &r, line, len);
    switch (r.kind) {
    case IMAP_UNTAGGED:
        untagged(s, &r);
        break;
    case IMAP_CONTINUATION:
        continuation(s, &r);
        break;
    case IMAP_TAGGED:
        if (op)
            tagged(s, op, &r);
        else
            session_notice(s, OP_NONE, "the server answered tag %s, which was never sent", r.tag);
        break;
    case IMAP_GARBAGE:
        session_notice(s, OP_NONE, "the server sent a line that is not an IMAP response");
        break;
    }
}

void imap_handle_input(struct session *s)
{
    while (!s->closed && s->in_off < s->in_len) {
        struct imap_frame f;
        imap_frame_next(&s->imap, s->in + s->in_off, s->in_len - s->in_off, &f);
        if (f.type == IMAP_FRAME_NEED_MORE)
            break;
        if (f.type == IMAP_FRAME_ERROR) {
            session_fatal(s, FAIL_PROTOCOL, "%s", f.error);
            return;
        }
        s->in_off += f.consumed;
        struct op *op = session_oldest_op(s);
        if (f.type == IMAP_FRAME_LITERAL) {
            if (op)
                op->bulk = true;
            session_emit(s, &(struct session_event){ .type = SEV_LITERAL,
                         .op = op ? op->kind : OP_NONE, .data = f.data, .len = f.len,
                         .literal_total = s->literal_total, .secure = session_secure(s) });
            continue;
        }
        if (f.literal_size)
            s->literal_total = f.literal_size;
        if (f.starts_response)
            response(s, f.data, f.len);
        else
            session_received(s, op ? op->kind : OP_NONE, f.data, f.len);
    }
}

/* ---- lines typed by the operator ------------------------------------- */

/* Length of the first IMAP argument of s: a quoted string, literal header or atom. */
static size_t first_arg_len(const char *s)
{
    if (*s == '"') {
        size_t i = 1;
        while (s[i] && s[i] != '"')
            i += s[i] == '\\' && s[i + 1] ? 2 : 1;
        return s[i] ? i + 1 : i;
    }
    return strcspn(s, " ");
}

static enum session_op raw_kind(const char *cmd, size_t n)
{
    static const struct { const char *name; enum session_op op; } table[] = {
        { "STARTTLS", OP_STARTTLS }, { "LOGIN", OP_LOGIN }, { "AUTHENTICATE", OP_LOGIN },
        { "LOGOUT", OP_LOGOUT }, { "CAPABILITY", OP_CAPABILITY }, { "SELECT", OP_SELECT },
        { "EXAMINE", OP_SELECT }, { "NOOP", OP_NOOP }, { "ID", OP_ID } };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strlen(table[i].name) == n && strncasecmp(cmd, table[i].name, n) == 0)
            return table[i].op;
    return OP_RAW;
}

/* The transcript's form of a typed line: credentials replaced by *****. */
static void raw_display(const struct session *s, const char *line, const char *cmd,
                        size_t cmdlen, char *out, size_t cap)
{
    const char *args = cmd + cmdlen;
    while (*args == ' ')
        args++;
    if (cmdlen == 5 && strncasecmp(cmd, "LOGIN", 5) == 0 && *args) {
        int ulen = (int)first_arg_len(args);
        snprintf(out, cap, "%.*s%.*s *****", (int)(args - line), line,
                 s->p.redact_user ? (int)strlen(SESSION_USER_MARK) : ulen,
                 s->p.redact_user ? SESSION_USER_MARK : args);
        return;
    }
    if (cmdlen == 12 && strncasecmp(cmd, "AUTHENTICATE", 12) == 0 && *args) {
        size_t mech = strcspn(args, " ");
        snprintf(out, cap, "%.*s%s", (int)(args - line + mech), line, args[mech] ? " *****" : "");
        return;
    }
    snprintf(out, cap, "%s", line);
}

int imap_raw(struct session *s, const char *line, bool add_tag)
{
    char tag[64];
    const char *cmd = line;
    if (add_tag) {
        next_tag(s, tag, sizeof tag);
    } else {
        size_t t = strcspn(line, " ");
        if (!t || t >= sizeof tag)
            return session_refuse(s, "an IMAP command needs a tag (or let mailscope add one)");
        snprintf(tag, sizeof tag, "%.*s", (int)t, line);
        cmd = line + t;
        while (*cmd == ' ')
            cmd++;
    }
    size_t cmdlen = strcspn(cmd, " ");
    enum session_op kind = raw_kind(cmd, cmdlen);
    if (kind == OP_STARTTLS && session_starttls_check(s) < 0)
        return -1;
    if (kind != OP_RAW && session_ready_for_command(s) < 0)
        return -1;
    struct op *op = session_op_begin(s, kind);
    if (!op)
        return -1;
    op->raw = op->awaiting_cont = true;
    op->secret_cont = kind == OP_LOGIN;
    snprintf(op->tag, sizeof op->tag, "%s", tag);
    if (kind == OP_LOGIN && !session_credentials_allowed(s, op))
        return 0;
    if (kind == OP_LOGOUT)
        session_set_state(s, SST_LOGGING_OUT);
    char *wire = NULL, display[1200];
    size_t n = strlen(line) + strlen(tag) + 2;
    if (!(wire = malloc(n)))
        return -1;
    snprintf(wire, n, "%s%s%s", add_tag ? tag : "", add_tag ? " " : "", line);
    raw_display(s, wire, wire + (cmd - line) + (add_tag ? strlen(tag) + 1 : 0), cmdlen, display,
                sizeof display);
    int rc = session_send_line(s, op, wire, display);
    OPENSSL_cleanse(wire, n);
    free(wire);
    return rc;
}
