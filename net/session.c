/* session.c — transport, event queue, operations, security policy. The
 * protocol details live in session_imap.c, session_pop3.c, session_sasl.c. */
#include "session_int.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void on_connected(void *arg, const char *address);
static void on_readable(void *arg);
static void on_tls_done(void *arg);
static void on_conn_failed(void *arg, enum failure_class cls, const char *message);
static bool flush_events(struct session *s);

static const struct conn_events conn_callbacks = {
    .connected = on_connected, .readable = on_readable,
    .tls_done = on_tls_done, .failed = on_conn_failed,
};

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void wipe_free(char *p)
{
    if (p) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

struct session *session_new(struct loop *l, const struct session_params *p,
                            session_event_fn fn, void *arg)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = l;
    s->p = *p;
    s->fn = fn;
    s->arg = arg;
    snprintf(s->host, sizeof s->host, "%s", p->host);
    snprintf(s->servername, sizeof s->servername, "%s",
             p->tls.servername && *p->tls.servername ? p->tls.servername : p->host);
    s->cafile = dup_or_null(p->tls.cafile);
    s->capath = dup_or_null(p->tls.capath);
    s->cert = dup_or_null(p->tls.cert);
    s->key = dup_or_null(p->tls.key);
    s->p.host = s->host;
    s->p.tls = (struct tls_params){ .servername = s->servername, .cafile = s->cafile,
                                    .capath = s->capath, .cert = s->cert, .key = s->key,
                                    .min_version = p->tls.min_version,
                                    .max_version = p->tls.max_version, .legacy = p->tls.legacy,
                                    .no_sni = p->tls.no_sni };
    if (s->p.timeout_ms <= 0)
        s->p.timeout_ms = 15000;
    size_t max_line = p->max_line ? p->max_line
                    : p->proto == SESSION_IMAP ? IMAP_MAX_LINE_DEFAULT : POP3_MAX_LINE_DEFAULT;
    imap_framer_init(&s->imap, max_line);
    pop3_framer_init(&s->pop3, max_line);
    /* Reads of at least 256 KiB: a huge reply costs few system calls. */
    s->in_cap = max_line + 2 > SESSION_READ_MIN ? max_line + 2 : SESSION_READ_MIN;
    s->in = malloc(s->in_cap);
    s->greeting = strdup("");
    s->next_tag = 1;
    if (!s->in || !s->greeting) {
        session_free(s);
        return NULL;
    }
    return s;
}

static void release(struct session *s)
{
    loop_timer_cancel(s->loop, s->deadline_timer);
    loop_timer_cancel(s->loop, s->pending_timer);
    loop_timer_cancel(s->loop, s->flush_timer);
    loop_timer_cancel(s->loop, s->quit_timer);
    conn_free(s->conn);
    for (size_t i = 0; i < s->n_ops; i++)
        parts_free(&s->ops[i]);
    for (size_t i = 0; i < s->nq; i++) {
        free(s->q[i].data);
        free(s->q[i].status);
        free(s->q[i].message);
    }
    free(s->q);
    for (int i = 0; i < CAPS_PHASES; i++)
        capset_clear(&s->caps[i]);
    tls_info_clear(&s->tls);
    if (s->in)
        OPENSSL_cleanse(s->in, s->in_cap);
    free(s->in);
    free(s->greeting);
    free(s->cafile);
    free(s->capath);
    free(s->cert);
    free(s->key);
    wipe_free(s->user);
    wipe_free(s->secret);
    wipe_free(s->secret_b64);
    wipe_free(s->user_b64);
    free(s);
}

void session_free(struct session *s)
{
    if (!s)
        return;
    if (s->dispatching) {
        s->free_requested = true;   /* an observer is on the stack: free when it returns */
        return;
    }
    release(s);
}

/* ---- events ---------------------------------------------------------- */

static uint8_t *scrub(uint8_t *buf, size_t *len, const char *needle, const char *mark);
static uint8_t *scrub_all(struct session *s, uint8_t *buf, size_t *len);

/* Messages quote the server's text: known secrets become *****. */
static char *scrub_message(struct session *s, const char *msg)
{
    if (!msg)
        return NULL;
    size_t n = strlen(msg);
    uint8_t *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, msg, n);
    copy = scrub_all(s, copy, &n);
    copy[n] = 0;
    return (char *)copy;
}

static void flush_timer_cb(void *arg)
{
    struct session *s = arg;
    s->flush_timer = 0;
    flush_events(s);
}

static bool in_input(const struct session *s, const uint8_t *p)
{
    return p && p >= s->in && p < s->in + s->in_cap;
}

/* A queued event's bytes become its own (false when memory ran out). */
static bool own_data(struct qevent *qe)
{
    if (qe->data || !qe->ev.len)
        return true;
    qe->data = malloc(qe->ev.len);
    if (!qe->data) {
        qe->ev.len = 0;
        return false;
    }
    memcpy(qe->data, qe->ev.data, qe->ev.len);
    qe->cap = qe->ev.len;
    qe->ev.data = qe->data;
    return true;
}

/* Literal and bulk bytes are queued without a copy, pointing into the input
 * buffer: events are normally delivered before the next read, and a 1 GiB
 * literal then costs no second pass over memory. Whatever is still queued
 * gets its own copy before the buffer is moved or refilled. */
static void input_release(struct session *s)
{
    for (size_t i = 0; i < s->nq; i++)
        own_data(&s->q[i]);
}

/* Called before every read into the buffer: what was parsed goes. */
static void input_compact(struct session *s)
{
    input_release(s);
    memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
    s->in_len -= s->in_off;
    s->in_off = 0;
}

/* Bulk data lines (literal_total 0) queued back to back become one event:
 * a flood of small lines costs one allocation per read, not one per line. */
static bool coalesce_bulk(struct session *s, const struct session_event *ev)
{
    struct qevent *last = s->nq ? &s->q[s->nq - 1] : NULL;
    if (ev->type != SEV_LITERAL || ev->literal_total || !last ||
        last->ev.type != SEV_LITERAL || last->ev.literal_total || last->ev.op != ev->op)
        return false;
    if (!last->data && in_input(s, ev->data) && last->ev.data + last->ev.len == ev->data) {
        last->ev.len += ev->len;   /* the next bytes of the same buffer */
        return true;
    }
    if (!own_data(last))
        return true;   /* dropped from the count rather than queued unbounded */
    size_t need = last->ev.len + ev->len;
    if (need > last->cap) {
        size_t cap = last->cap ? last->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *d = realloc(last->data, cap);
        if (!d)
            return true;   /* dropped from the count rather than queued unbounded */
        last->data = d;
        last->cap = cap;
    }
    memcpy(last->data + last->ev.len, ev->data, ev->len);
    last->ev.data = last->data;
    last->ev.len = need;
    return true;
}

void session_emit(struct session *s, const struct session_event *ev)
{
    if (coalesce_bulk(s, ev))
        return;
    if (s->nq == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 16;
        struct qevent *q = realloc(s->q, cap * sizeof *q);
        if (!q)
            return;
        s->q = q;
        s->qcap = cap;
    }
    struct qevent *qe = &s->q[s->nq++];
    memset(qe, 0, sizeof *qe);
    qe->ev = *ev;
    qe->ev.at_us = loop_now_us();
    if (ev->type == SEV_LITERAL && in_input(s, ev->data)) {
        qe->ev.data = ev->data;   /* borrowed until delivered or input_release() */
    } else if (ev->data && ev->len) {
        qe->data = malloc(ev->len);
        if (qe->data)
            memcpy(qe->data, ev->data, ev->len);
        else
            qe->ev.len = 0;
        qe->cap = qe->data ? ev->len : 0;
        qe->ev.data = qe->data;
    } else {
        qe->ev.data = NULL;
    }
    qe->status = dup_or_null(ev->status);
    qe->message = scrub_message(s, ev->message);
    qe->ev.status = qe->status ? qe->status : "";
    qe->ev.message = qe->message;
    /* Delivered from the loop, never from inside the call that caused it. */
    if (!s->dispatching && !s->flush_timer)
        s->flush_timer = loop_timer(s->loop, 0, flush_timer_cb, s);
}

/* Deliver the queued events. False when an observer freed the session. */
static bool flush_events(struct session *s)
{
    if (s->dispatching)
        return true;
    loop_timer_cancel(s->loop, s->flush_timer);
    s->flush_timer = 0;
    s->dispatching = true;
    for (size_t i = 0; i < s->nq && !s->free_requested; i++) {
        struct session_event ev = s->q[i].ev;   /* the queue may move while fn runs */
        s->fn(s->arg, &ev);
    }
    for (size_t i = 0; i < s->nq; i++) {
        free(s->q[i].data);
        free(s->q[i].status);
        free(s->q[i].message);
    }
    s->nq = 0;
    s->dispatching = false;
    if (s->free_requested) {
        release(s);
        return false;
    }
    return true;
}

void session_notice(struct session *s, enum session_op op, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    session_emit(s, &(struct session_event){ .type = SEV_NOTICE, .op = op, .message = msg });
}

void session_set_state(struct session *s, enum session_state st)
{
    if (s->state == st)
        return;
    s->state = st;
    session_emit(s, &(struct session_event){ .type = SEV_STATE, .state = st });
}

/* ---- operations ------------------------------------------------------ */

static void deadline_cb(void *arg);
static void arm_deadline_at(struct session *s, int64_t base_us);

static void arm_deadline_at(struct session *s, int64_t base_us)
{
    if (s->deadline_timer || s->closed)
        return;
    int64_t left = s->p.timeout_ms - (loop_now_us() - base_us) / 1000;
    s->deadline_timer = loop_timer(s->loop, left > 0 ? left : 0, deadline_cb, s);
}

static void arm_deadline(struct session *s) { arm_deadline_at(s, s->last_activity_us); }

static void deadline_cb(void *arg)
{
    struct session *s = arg;
    s->deadline_timer = 0;
    if (!s->n_ops || s->closed)
        return;
    struct op *op = &s->ops[0];
    /* Each reply has --timeout to come whole (a greeting dripped byte by byte
     * or an endless flood of lines is cut); only bulk data that keeps flowing
     * (literals, message bodies) is timed by its silence. */
    int64_t base = op->bulk ? s->last_activity_us : op->started_us;
    if ((loop_now_us() - base) / 1000 < s->p.timeout_ms) {
        arm_deadline_at(s, base);
        return;
    }
    session_fatal(s, FAIL_TIMEOUT, "no answer to %s within %.1f s",
                  session_op_name(op->kind, s->p.proto), s->p.timeout_ms / 1000.0);
    flush_events(s);
}

struct op *session_op_begin(struct session *s, enum session_op kind)
{
    if (s->n_ops == SESSION_MAX_OPS) {
        snprintf(s->error, sizeof s->error, "too many commands in flight");
        return NULL;
    }
    struct op *op = &s->ops[s->n_ops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->id = ++s->next_op_id;
    op->started_us = loop_now_us();
    if (s->n_ops == 1)
        s->last_activity_us = op->started_us;   /* the wait starts now */
    session_emit(s, &(struct session_event){ .type = SEV_OP_BEGIN, .op = kind });
    arm_deadline(s);
    return op;
}

struct op *session_oldest_op(struct session *s) { return s->n_ops ? &s->ops[0] : NULL; }

void session_op_end(struct session *s, struct op *op, bool ok, const char *status,
                    enum failure_class fail, const char *fmt, ...)
{
    char msg[1024] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    session_emit(s, &(struct session_event){
        .type = SEV_OP_END, .op = op->kind, .ok = ok, .status = status,
        .fail = ok ? FAIL_NONE : fail, .message = msg[0] ? msg : NULL,
        .elapsed_us = loop_now_us() - op->started_us });
    parts_free(op);
    size_t i = (size_t)(op - s->ops);
    memmove(&s->ops[i], &s->ops[i + 1], (s->n_ops - i - 1) * sizeof *op);
    s->n_ops--;
}

static void end_all_ops(struct session *s, enum failure_class cls, const char *msg)
{
    while (s->n_ops)
        session_op_end(s, &s->ops[0], false, "", cls, "%s", msg);
}

static void shut(struct session *s, enum failure_class cls, const char *msg)
{
    s->closed = true;
    loop_timer_cancel(s->loop, s->deadline_timer);
    loop_timer_cancel(s->loop, s->pending_timer);
    loop_timer_cancel(s->loop, s->quit_timer);
    s->deadline_timer = s->pending_timer = s->quit_timer = 0;
    conn_free(s->conn);
    s->conn = NULL;
    session_set_state(s, SST_CLOSED);
    session_emit(s, &(struct session_event){ .type = SEV_CLOSED, .fail = cls, .message = msg });
}

void session_fatal(struct session *s, enum failure_class cls, const char *fmt, ...)
{
    if (s->closed)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(s->error, sizeof s->error, "%s", msg);
    end_all_ops(s, cls, msg);
    shut(s, cls, msg);
}

void session_close_orderly(struct session *s)
{
    if (s->closed)
        return;
    end_all_ops(s, FAIL_CLOSED, "the connection was closed");
    shut(s, FAIL_NONE, "connection closed");
}

/* ---- sending --------------------------------------------------------- */

void part_add(struct op *op, const void *wire, size_t len, const char *display)
{
    if (op->n_parts == SESSION_MAX_PARTS)
        return;
    struct part *p = &op->parts[op->n_parts];
    p->wire = malloc(len ? len : 1);
    p->display = strdup(display);
    if (!p->wire || !p->display) {
        free(p->wire);
        free(p->display);
        return;
    }
    memcpy(p->wire, wire, len);
    p->len = len;
    op->n_parts++;
}

void parts_free(struct op *op)
{
    for (size_t i = 0; i < op->n_parts; i++) {
        OPENSSL_cleanse(op->parts[i].wire, op->parts[i].len);   /* may hold a password */
        free(op->parts[i].wire);
        free(op->parts[i].display);
    }
    op->n_parts = op->next_part = 0;
}

/* Queue the op's next part; the transcript gets its redacted display. */
int session_send_part(struct session *s, struct op *op)
{
    if (op->next_part >= op->n_parts || !s->conn)
        return -1;
    struct part *p = &op->parts[op->next_part++];
    if (conn_write(s->conn, p->wire, p->len) < 0) {
        session_fatal(s, FAIL_CLOSED, "out of memory while sending");
        return -1;
    }
    session_emit(s, &(struct session_event){ .type = SEV_SENT, .op = op->kind,
                 .data = (const uint8_t *)p->display, .len = strlen(p->display),
                 .secure = conn_is_tls(s->conn) });
    return 0;
}

/* ---- policy ---------------------------------------------------------- */

bool session_credentials_allowed(struct session *s, struct op *op)
{
    if (!s->conn || !conn_is_tls(s->conn)) {
        if (!s->p.allow_plaintext_login) {
            session_op_end(s, op, false, "", FAIL_TLS_REQUIRED,
                           "refused to send credentials over an unencrypted connection "
                           "(use STARTTLS, implicit TLS, or --allow-plaintext-login)");
            return false;
        }
        s->plaintext_login_used = true;
        session_notice(s, op->kind, "credentials are being sent UNENCRYPTED "
                       "(allowed by --allow-plaintext-login)");
        return true;
    }
    if (!s->tls.verified && !s->p.insecure) {
        session_op_end(s, op, false, "", FAIL_CERT,
                       "refused to send credentials: the server's certificate did not verify (%s)",
                       s->tls.verify_error);
        return false;
    }
    if (!s->tls.verified)
        session_notice(s, op->kind, "credentials are being sent inside a TLS session whose "
                       "certificate did not verify (allowed by --insecure)");
    return true;
}

void session_remember_secret(struct session *s, const char *user, const char *secret)
{
    wipe_free(s->user);
    wipe_free(s->secret);
    wipe_free(s->secret_b64);
    wipe_free(s->user_b64);
    s->user = dup_or_null(user);
    s->secret = dup_or_null(secret);
    s->secret_b64 = s->user_b64 = NULL;
    size_t n;
    if (secret && *secret)
        sasl_b64_encode(secret, strlen(secret), &s->secret_b64, &n);
    if (s->p.redact_user && user && *user)
        sasl_b64_encode(user, strlen(user), &s->user_b64, &n);
}

const char *session_user_shown(const struct session *s, const char *user)
{
    return s->p.redact_user ? SESSION_USER_MARK : user;
}

struct capset *session_caps_now(struct session *s)
{
    if (s->state == SST_AUTHENTICATED || s->state == SST_SELECTED)
        return &s->caps[CAPS_AFTER_LOGIN];
    return &s->caps[s->tls_started ? CAPS_AFTER_TLS : CAPS_BEFORE_TLS];
}

/* ---- transport callbacks --------------------------------------------- */

static void on_connected(void *arg, const char *address)
{
    struct session *s = arg;
    s->last_activity_us = loop_now_us();
    snprintf(s->address, sizeof s->address, "%s", address);
    struct op *op = session_oldest_op(s);
    if (op && op->kind == OP_CONNECT)
        session_op_end(s, op, true, "", FAIL_NONE, "connected to %s", address);
    if (s->p.implicit_tls) {
        char err[300];
        s->tls_started = true;
        session_op_begin(s, OP_TLS);
        if (conn_start_tls(s->conn, &s->p.tls, &s->tls, err, sizeof err) < 0)
            session_fatal(s, FAIL_TLS, "%s", err);
    } else {
        session_set_state(s, SST_NOT_AUTHENTICATED);
        session_op_begin(s, OP_GREETING);
    }
    flush_events(s);
}

static void on_tls_done(void *arg)
{
    struct session *s = arg;
    s->last_activity_us = loop_now_us();
    session_emit(s, &(struct session_event){ .type = SEV_TLS, .tls = &s->tls, .secure = true });
    struct op *op = session_oldest_op(s);
    const char *what = s->tls.verified ? "certificate verified" : s->tls.verify_error;
    if (!s->tls.verified && !s->p.insecure) {
        session_fatal(s, FAIL_CERT, "certificate verification failed: %s; nothing more is sent "
                      "(--insecure goes on regardless)", s->tls.verify_error);
    } else {
        if (op && op->kind == OP_TLS)
            session_op_end(s, op, s->tls.verified, "", FAIL_CERT, "%s, %s, %s%s", s->tls.version,
                           s->tls.cipher, what, s->tls.verified ? "" : " (going on: --insecure)");
        if (s->p.implicit_tls) {
            session_set_state(s, SST_NOT_AUTHENTICATED);
            session_op_begin(s, OP_GREETING);
        }
    }
    flush_events(s);
}

static void on_conn_failed(void *arg, enum failure_class cls, const char *message)
{
    struct session *s = arg;
    bool plain = cls == FAIL_TLS && s->tls_started && tls_reply_was_plaintext(&s->tls);
    if (cls == FAIL_TLS && s->tls_started)
        session_emit(s, &(struct session_event){ .type = SEV_TLS, .tls = &s->tls });
    if (plain && !s->p.implicit_tls) {
        /* After a STARTTLS OK, plain text where the ServerHello was due is the
         * same attack as bytes glued to the OK, only in a later segment. */
        session_emit(s, &(struct session_event){ .type = SEV_DISCARDED, .op = OP_STARTTLS,
                     .data = s->tls.first_bytes, .len = s->tls.n_first });
        session_fatal(s, FAIL_PROTOCOL, "the server sent plain text after its STARTTLS OK where "
                      "the TLS handshake was due: possible response injection. It was not read "
                      "as part of any TLS session; the connection was closed");
    } else {
        if (plain)   /* show what came instead of TLS, escaped */
            session_emit(s, &(struct session_event){ .type = SEV_DISCARDED, .op = OP_TLS,
                         .data = s->tls.first_bytes, .len = s->tls.n_first });
        session_fatal(s, cls, "%s", message);
    }
    flush_events(s);
}

static void process_input(struct session *s)
{
    if (s->p.proto == SESSION_IMAP)
        imap_handle_input(s);
    else
        pop3_handle_input(s);
}

static void server_closed(struct session *s)
{
    const char *why = conn_error(s->conn);
    struct op *op = session_oldest_op(s);
    if (op && op->kind == OP_LOGOUT) {
        session_op_end(s, op, true, "", FAIL_NONE, "the server closed the connection");
        session_close_orderly(s);
    } else if (op) {
        session_fatal(s, FAIL_CLOSED, "the server closed the connection%s%s%s",
                      why[0] ? " (" : "", why, why[0] ? ")" : "");
    } else {
        session_fatal(s, FAIL_CLOSED, "the server closed the connection");
    }
}

static void read_again(void *arg);

static void on_readable(void *arg)
{
    struct session *s = arg;
    /* Bounded per turn so a fast stream cannot starve the keyboard; events go
     * out after every read so a flood of small lines never piles up. */
    for (int turn = 0; turn < 16 && !s->closed; turn++) {
        input_compact(s);
        ssize_t n = conn_read(s->conn, s->in + s->in_len, s->in_cap - s->in_len);
        if (n == 0)
            break;
        if (n < 0) {
            if (s->in_len - s->in_off)
                process_input(s);
            if (!s->closed)
                server_closed(s);
            break;
        }
        s->in_len += (size_t)n;
        s->last_activity_us = loop_now_us();
        process_input(s);
        if (!flush_events(s))
            return;
    }
    /* TLS may hold decrypted bytes that poll() cannot see. */
    if (!s->closed && s->conn && conn_has_pending(s->conn) && !s->pending_timer)
        s->pending_timer = loop_timer(s->loop, 0, read_again, s);
    flush_events(s);
}

static void read_again(void *arg)
{
    struct session *s = arg;
    s->pending_timer = 0;
    on_readable(s);
}

/* ---- STARTTLS boundary ----------------------------------------------- */

void session_starttls_accepted(struct session *s, struct op *op)
{
    uint8_t extra[4096];
    size_t n = s->in_len - s->in_off;
    if (n > sizeof extra)
        n = sizeof extra;
    memcpy(extra, s->in + s->in_off, n);
    size_t total = s->in_len - s->in_off;
    if (!total) {
        n = conn_take_plain(s->conn, extra, sizeof extra);
        total = n;
    }
    if (total || conn_unsent(s->conn)) {
        session_emit(s, &(struct session_event){ .type = SEV_DISCARDED, .op = op->kind,
                     .data = extra, .len = n });
        char msg[400];
        snprintf(msg, sizeof msg, "the server sent %zu bytes after its %s, before TLS "
                 "began: possible response injection. They were not read as part of any TLS "
                 "session; the connection was closed", total,
                 s->p.proto == SESSION_IMAP ? "STARTTLS OK" : "STLS +OK");
        session_op_end(s, op, false, "", FAIL_PROTOCOL, "%s", msg);
        session_fatal(s, FAIL_PROTOCOL, "%s", msg);
        return;
    }
    s->in_len = s->in_off = 0;
    session_op_end(s, op, true, s->p.proto == SESSION_IMAP ? "OK" : "+OK", FAIL_NONE, NULL);
    s->tls_started = true;
    capset_clear(&s->caps[CAPS_AFTER_TLS]);
    session_notice(s, OP_STARTTLS, "everything learned before TLS (capabilities included) is "
                   "discarded; capabilities must be asked again inside TLS");
    char err[300];
    session_op_begin(s, OP_TLS);
    if (conn_start_tls(s->conn, &s->p.tls, &s->tls, err, sizeof err) < 0)
        session_fatal(s, FAIL_TLS, "%s", err);
}

void session_greeting_done(struct session *s, const uint8_t *line, size_t len)
{
    free(s->greeting);
    s->greeting = malloc(len + 1);
    if (s->greeting) {
        memcpy(s->greeting, line, len);
        s->greeting[len] = 0;
    }
}

/* ---- commands -------------------------------------------------------- */

int session_refuse(struct session *s, const char *why)
{
    snprintf(s->error, sizeof s->error, "%s", why);
    return -1;
}

static bool tls_boundary_in_flight(const struct session *s)
{
    for (size_t i = 0; i < s->n_ops; i++)
        if (s->ops[i].kind == OP_STARTTLS || s->ops[i].kind == OP_TLS)
            return true;
    return false;
}

int session_ready_for_command(struct session *s)
{
    if (s->closed || !s->conn)
        return session_refuse(s, "not connected");
    if (s->state == SST_CONNECTING || s->state == SST_IDLE)
        return session_refuse(s, "the connection is not ready yet");
    for (size_t i = 0; i < s->n_ops; i++)
        if (s->ops[i].kind == OP_GREETING)
            return session_refuse(s, "wait for the greeting");
    return tls_boundary_in_flight(s)
        ? session_refuse(s, "nothing may be sent until STARTTLS and TLS are done") : 0;
}

/* STARTTLS only alone, before TLS, with nothing from the server unread: an
 * answer that came before the question must not start TLS. */
int session_starttls_check(struct session *s)
{
    if (s->tls_started)
        return session_refuse(s, "TLS is already active");
    if (s->n_ops)
        return session_refuse(s, "STARTTLS must be the only command in flight");
    if (s->in_len - s->in_off)
        return session_refuse(s, "unprocessed server data is waiting; STARTTLS would mix it "
                              "with TLS");
    if (conn_pending_plain(s->conn))
        return session_refuse(s, "the server has sent data that is not read yet: an answer "
                              "before the question cannot be STARTTLS's (read it first)");
    return 0;
}

int session_connect(struct session *s)
{
    if (s->conn || s->closed)
        return session_refuse(s, "this session has already connected once");
    s->conn = conn_new(s->loop, &conn_callbacks, s);
    if (!s->conn)
        return session_refuse(s, "out of memory");
    session_set_state(s, SST_CONNECTING);
    session_op_begin(s, OP_CONNECT);
    char err[400];
    if (conn_connect(s->conn, s->host, s->p.port, s->p.family, err, sizeof err) < 0)
        session_fatal(s, FAIL_CONNECT, "%s", err);
    return 0;
}

static int start(struct session *s, enum session_op kind, const char *user, const char *secret)
{
    if (session_ready_for_command(s) < 0)
        return -1;
    if (kind == OP_STARTTLS && session_starttls_check(s) < 0)
        return -1;
    struct op *op = session_op_begin(s, kind);
    if (!op)
        return -1;
    return s->p.proto == SESSION_IMAP ? imap_start(s, op, user, secret)
                                      : pop3_start(s, op, user, secret);
}

int session_capability(struct session *s) { return start(s, OP_CAPABILITY, NULL, NULL); }
int session_starttls(struct session *s) { return start(s, OP_STARTTLS, NULL, NULL); }
int session_noop(struct session *s) { return start(s, OP_NOOP, NULL, NULL); }
int session_id(struct session *s) { return start(s, OP_ID, NULL, NULL); }
int session_logout(struct session *s) { return start(s, OP_LOGOUT, NULL, NULL); }
int session_select(struct session *s, const char *mailbox)
{
    return start(s, OP_SELECT, mailbox ? mailbox : "INBOX", NULL);
}

int session_login(struct session *s, enum session_auth mech, const char *user, const char *secret)
{
    if (session_ready_for_command(s) < 0)
        return -1;
    struct op *op = session_op_begin(s, OP_LOGIN);
    if (!op)
        return -1;
    op->mech = mech;
    /* A line break would end the command and start another (USER, PASS, LOGIN). */
    if ((user && strpbrk(user, "\r\n")) || (secret && strpbrk(secret, "\r\n"))) {
        session_op_end(s, op, false, "", FAIL_AUTH,
                       "the user name or password contains a line break: not sent");
        return 0;
    }
    session_remember_secret(s, user, secret);
    return s->p.proto == SESSION_IMAP ? imap_start(s, op, user, secret)
                                      : pop3_start(s, op, user, secret);
}

int session_raw(struct session *s, const char *line, bool add_tag)
{
    if (s->closed || !s->conn)
        return session_refuse(s, "not connected");
    if (strpbrk(line, "\r\n"))
        return session_refuse(s, "one line at a time: CR and LF are not allowed inside a line");
    if (tls_boundary_in_flight(s))
        return session_refuse(s, "nothing may be sent until STARTTLS and TLS are done");
    /* The server asked "+ ..." for a typed command: this line is its answer. */
    for (size_t i = 0; i < s->n_ops; i++) {
        struct op *op = &s->ops[i];
        if (op->raw && op->awaiting_cont && op->cont_requested) {
            op->cont_requested = false;
            return session_send_line(s, op, line, op->secret_cont ? "*****" : line);
        }
    }
    return s->p.proto == SESSION_IMAP ? imap_raw(s, line, add_tag) : pop3_raw(s, line);
}

/* Whatever the server has already sent is reported before the close; the
 * LOGOUT's own answer is normally still a round trip away. */
static void quit_drain(struct session *s)
{
    for (int turn = 0; turn < 16 && !s->closed; turn++) {
        input_compact(s);
        if (s->in_len == s->in_cap)
            break;
        ssize_t n = conn_read(s->conn, s->in + s->in_len, s->in_cap - s->in_len);
        if (n <= 0)
            break;
        s->in_len += (size_t)n;
        process_input(s);
    }
}

static void quit_cb(void *arg)
{
    struct session *s = arg;
    s->quit_timer = 0;
    struct op *op = session_oldest_op(s);
    if (s->closed || !op || op->kind != OP_LOGOUT)
        return;
    ssize_t left = conn_flush_now(s->conn);
    if (left > 0 && (loop_now_us() - op->started_us) / 1000 < s->p.timeout_ms) {
        s->quit_timer = loop_timer(s->loop, 1, quit_cb, s);   /* the socket is full: soon */
        return;
    }
    quit_drain(s);
    op = session_oldest_op(s);
    if (!s->closed && op && op->kind == OP_LOGOUT) {
        session_op_end(s, op, left == 0, "", FAIL_CLOSED, left == 0
                       ? "sent; the answer was not awaited (nothing more to ask): mailscope "
                         "closed the connection, saving a round trip"
                       : "could not be sent: %s", conn_error(s->conn));
        shut(s, FAIL_NONE, s->p.proto == SESSION_IMAP
             ? "closed by mailscope after its LOGOUT (answer not awaited)"
             : "closed by mailscope after its QUIT (answer not awaited)");
    }
    flush_events(s);
}

int session_quit(struct session *s)
{
    if (start(s, OP_LOGOUT, NULL, NULL) < 0)
        return -1;
    /* From the loop, after the command has been queued and reported. */
    if (!s->closed && !s->quit_timer)
        s->quit_timer = loop_timer(s->loop, 0, quit_cb, s);
    return 0;
}

void session_close(struct session *s)
{
    if (!s->conn || s->closed)
        return;
    while (s->n_ops)
        session_op_end(s, &s->ops[0], false, "", FAIL_NONE,
                       "not waited for: mailscope closed the connection");
    shut(s, FAIL_NONE, "closed by mailscope");
}

void session_allow_plaintext(struct session *s, bool allow) { s->p.allow_plaintext_login = allow; }

/* ---- queries --------------------------------------------------------- */

enum session_state session_state(const struct session *s) { return s->state; }
bool session_secure(const struct session *s) { return s->conn && conn_is_tls(s->conn); }
bool session_wants_continuation(const struct session *s, bool *secret)
{
    for (size_t i = 0; i < s->n_ops; i++)
        if (s->ops[i].raw && s->ops[i].awaiting_cont && s->ops[i].cont_requested) {
            *secret = s->ops[i].secret_cont;
            return true;
        }
    return false;
}

bool session_busy(const struct session *s) { return s->n_ops > 0 || s->nq > 0; }
const struct capset *session_caps(const struct session *s, enum caps_phase ph) { return &s->caps[ph]; }
const struct capset *session_current_caps(const struct session *s)
{
    return session_caps_now((struct session *)s);
}
const struct tls_info *session_tls(const struct session *s)
{
    return s->tls.version[0] || s->tls.n_chain ? &s->tls : NULL;
}
const char *session_greeting(const struct session *s) { return s->greeting ? s->greeting : ""; }
const char *session_address(const struct session *s) { return s->address; }
const char *session_error(const struct session *s) { return s->error; }
bool session_plaintext_login_used(const struct session *s) { return s->plaintext_login_used; }

const char *session_op_name(enum session_op op, enum session_proto proto)
{
    static const char *const names[OP_COUNT] = {
        "none", "connect", "tls", "greeting", "capability", "starttls", "login",
        "select", "noop", "id", "logout", "raw" };
    if (op == OP_SELECT && proto == SESSION_POP3)
        return "stat";
    return (unsigned)op < OP_COUNT ? names[op] : "?";
}

static const char *const auth_names[] = { "default", "login", "plain", "login-sasl", "cram-md5",
                                          "xoauth2", "oauthbearer", "external", "ntlm", "apop",
                                          "user" };

const char *session_auth_name(enum session_auth a)
{
    return (unsigned)a < sizeof auth_names / sizeof *auth_names ? auth_names[a] : "?";
}

int session_auth_parse(const char *name, enum session_auth *out)
{
    for (size_t i = 1; i < sizeof auth_names / sizeof *auth_names; i++)
        if (strcasecmp(name, auth_names[i]) == 0) {
            *out = (enum session_auth)i;
            return 0;
        }
    return -1;
}

/* ---- received lines -------------------------------------------------- */

/* Replace every occurrence of needle in buf[0..*len) by mark. */
static uint8_t *scrub(uint8_t *buf, size_t *len, const char *needle, const char *mark)
{
    size_t nl = needle ? strlen(needle) : 0, ml = strlen(mark);
    if (nl < 3 || *len < nl)
        return buf;   /* too short to tell a secret from ordinary text */
    uint8_t *out = malloc(*len / nl * ml + *len + 1);
    if (!out)
        return buf;
    size_t o = 0;
    for (size_t i = 0; i < *len;) {
        if (i + nl <= *len && memcmp(buf + i, needle, nl) == 0) {
            memcpy(out + o, mark, ml);
            o += ml;
            i += nl;
        } else {
            out[o++] = buf[i++];
        }
    }
    OPENSSL_cleanse(buf, *len);
    free(buf);
    *len = o;
    return out;
}

/* The secret, and with redact_user the user name, as text and in base64. */
static uint8_t *scrub_all(struct session *s, uint8_t *buf, size_t *len)
{
    buf = scrub(buf, len, s->secret, "*****");
    buf = scrub(buf, len, s->secret_b64, "*****");
    if (s->p.redact_user) {
        buf = scrub(buf, len, s->user, SESSION_USER_MARK);
        buf = scrub(buf, len, s->user_b64, SESSION_USER_MARK);
    }
    return buf;
}

/* Report a received line, with any secret the server echoes scrubbed. */
void session_received(struct session *s, enum session_op op, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    size_t n = len;
    copy = scrub_all(s, copy, &n);
    session_emit(s, &(struct session_event){ .type = SEV_RECEIVED, .op = op, .data = copy,
                 .len = n, .secure = s->conn && conn_is_tls(s->conn) });
    OPENSSL_cleanse(copy, n);
    free(copy);
}

/* Send one line that is not part of a prepared command (a SASL answer, a
 * line typed during a continuation); display is what the transcript shows. */
int session_send_line(struct session *s, struct op *op, const char *line, const char *display)
{
    size_t n = strlen(line);
    char *wire = malloc(n + 3);
    if (!wire)
        return -1;
    memcpy(wire, line, n);
    memcpy(wire + n, "\r\n", 3);
    int rc = conn_write(s->conn, wire, n + 2);
    OPENSSL_cleanse(wire, n + 2);
    free(wire);
    session_emit(s, &(struct session_event){ .type = SEV_SENT, .op = op ? op->kind : OP_RAW,
                 .data = (const uint8_t *)display, .len = strlen(display),
                 .secure = conn_is_tls(s->conn) });
    return rc;
}

void session_text(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 6 < cap; i++) {
        if (src[i]) {
            dst[o++] = src[i];
        } else {
            memcpy(dst + o, "<NUL>", 5);
            o += 5;
        }
    }
    if (cap)
        dst[o < cap ? o : cap - 1] = 0;
}
