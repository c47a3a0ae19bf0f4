/* session_int — the session's insides, shared by session.c (transport,
 * events, policy), session_imap.c, session_pop3.c and session_sasl.c.
 * Not for use outside net/. */
#ifndef MAILSCOPE_SESSION_INT_H
#define MAILSCOPE_SESSION_INT_H

#include "conn.h"
#include "imap.h"
#include "pop3.h"
#include "session.h"

#define SESSION_MAX_OPS 16
#define SESSION_MAX_PARTS 6
#define SESSION_DATA_LINES_SHOWN 200   /* data lines of one reply reported one by one */
#define SESSION_SASL_ROUNDS 16
#define SESSION_READ_MIN (256u * 1024)  /* the input buffer's least size */        /* continuation requests one AUTHENTICATE may get */

/* One piece of a command: sent at once, or after a continuation request
 * when the piece before it ended in a synchronising literal. */
struct part {
    uint8_t *wire;
    size_t len;
    char *display;          /* what the transcript shows for it, CRLF excluded */
};

struct op {
    enum session_op kind;
    unsigned id;
    char tag[64];           /* IMAP tag; "" for POP3 and the greeting */
    int64_t started_us;
    struct part parts[SESSION_MAX_PARTS];
    size_t n_parts, next_part;
    bool awaiting_cont;     /* the server may send "+ ..." for this op */
    bool cont_requested;    /* raw: the server sent "+" and waits for a typed line */
    bool secret_cont;       /* lines typed for it as continuation are secret */
    bool multiline;         /* POP3: +OK opens multi-line data */
    bool raw;               /* typed by the operator */
    enum session_auth mech;
    int sasl_step;
    bool sasl_cancelled;
    bool user_sent;         /* POP3 USER/PASS: USER acknowledged */
    int replies_pending;    /* POP3 pipelined USER+PASS: replies still to come */
    unsigned data_lines;    /* POP3 multi-line data lines / IMAP untagged data lines seen */
    bool bulk;              /* bulk data is flowing: time the reply by its silence */
    char sasl_display[200]; /* what the transcript shows of a SASL payload */
};

struct qevent {
    struct session_event ev;
    uint8_t *data;          /* NULL while ev.data borrows from the input buffer */
    size_t cap;             /* bytes allocated for data */
    char *status, *message;
};

struct session {
    struct loop *loop;
    struct session_params p;
    char host[256], servername[256];
    char *cafile, *capath, *cert, *key;
    session_event_fn fn;
    void *arg;
    struct conn *conn;
    enum session_state state;
    bool closed;
    /* input */
    uint8_t *in;
    size_t in_len, in_off, in_cap;
    struct imap_framer imap;
    struct pop3_framer pop3;
    int64_t last_activity_us;
    uint64_t deadline_timer, pending_timer;
    uint64_t literal_total;     /* size of the literal being streamed */
    /* operations in flight, oldest first */
    struct op ops[SESSION_MAX_OPS];
    size_t n_ops;
    unsigned next_op_id, next_tag;
    unsigned id_tags;           /* ID commands sent: their tags are i001, i002, ... */
    /* what the server told us */
    struct capset caps[CAPS_PHASES];
    char *greeting;
    char apop_ts[256];
    bool bye_seen;
    int swallow_replies;        /* POP3 replies owed to a finished op */
    struct tls_info tls;
    bool tls_started;
    struct ntlm_challenge_info ntlm;
    /* credentials, wiped on free */
    char *user, *secret, *secret_b64;
    char *user_b64;             /* only with redact_user: scrubbed like the secret */
    bool plaintext_login_used;
    /* event queue */
    struct qevent *q;
    size_t nq, qcap;
    bool dispatching, free_requested;
    uint64_t flush_timer;
    uint64_t quit_timer;        /* session_quit: close once LOGOUT is handed to the kernel */
    char address[80];          /* "127.0.0.1:143" once connected */
    char error[1024];
};

/* session.c */
void session_emit(struct session *s, const struct session_event *ev);
void session_notice(struct session *s, enum session_op op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct op *session_op_begin(struct session *s, enum session_op kind);
void session_op_end(struct session *s, struct op *op, bool ok, const char *status,
                    enum failure_class fail, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
struct op *session_oldest_op(struct session *s);
void session_fatal(struct session *s, enum failure_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void session_close_orderly(struct session *s);
void session_set_state(struct session *s, enum session_state st);
int session_send_part(struct session *s, struct op *op);
bool session_credentials_allowed(struct session *s, struct op *op);
void session_remember_secret(struct session *s, const char *user, const char *secret);
/* user as a command's display shows it: itself, or SESSION_USER_MARK with redact_user. */
const char *session_user_shown(const struct session *s, const char *user);
void session_starttls_accepted(struct session *s, struct op *op);
void session_greeting_done(struct session *s, const uint8_t *line, size_t len);
struct capset *session_caps_now(struct session *s);
void session_received(struct session *s, enum session_op op, const uint8_t *data, size_t len);
/* Server text for a message: NUL (which would end it) becomes "<NUL>". */
void session_text(char *dst, size_t cap, const char *src, size_t len);
int session_send_line(struct session *s, struct op *op, const char *line, const char *display);
int session_ready_for_command(struct session *s);
int session_starttls_check(struct session *s);
int session_refuse(struct session *s, const char *why);

/* building commands */
void part_add(struct op *op, const void *wire, size_t len, const char *display);
void parts_free(struct op *op);

/* session_imap.c / session_pop3.c */
void imap_handle_input(struct session *s);
int imap_start(struct session *s, struct op *op, const char *user, const char *secret);
int imap_raw(struct session *s, const char *line, bool add_tag);
void pop3_handle_input(struct session *s);
int pop3_start(struct session *s, struct op *op, const char *user, const char *secret);
int pop3_raw(struct session *s, const char *line);

/* session_sasl.c: the client's answer to the server's continuation for op,
 * base64 (or "*" to cancel); display says how to show it. Returns 0, or -1
 * with the op failed. initial_response: the first message (NULL when the
 * mechanism starts with the server). */
int sasl_initial_response(struct session *s, struct op *op, char **b64);
/* What the transcript shows for a secret SASL payload of op's mechanism:
 * "*****", with the identity it carries for PLAIN, XOAUTH2 and OAUTHBEARER
 * ("***** (user alice)"; "<user>" under --redact-user). Kept in op. */
const char *sasl_payload_display(struct session *s, struct op *op);
int sasl_next_response(struct session *s, struct op *op, const char *challenge, size_t clen,
                       char **b64, const char **display);
const char *sasl_mech_name(enum session_auth mech);

#endif
