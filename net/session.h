/* session — one IMAP or POP3 client session: transport, TLS, protocol.
 * Contract:
 *  - Commands (session_connect, session_capability, ...) start an operation
 *    and return at once; 0 means started, -1 means not started because the
 *    session cannot take it now (the reason in session_error()). A command the
 *    security rules refuse is started and ends at once with the reason, so the
 *    refusal is in the transcript. Nothing is reported from inside these calls.
 *  - Progress is reported through one callback with struct session_event,
 *    always from the caller's loop. An observer may call any session_*()
 *    function from its callback, session_free() included.
 *  - Security rules are the engine's, not the caller's: nothing is pipelined
 *    after STARTTLS/STLS; bytes that arrive after its OK and before TLS abort
 *    the session as possible response injection; everything learned before
 *    TLS is dropped after it; credentials are never sent when LOGINDISABLED
 *    is advertised, inside an unverified TLS session unless insecure, or in
 *    clear unless allow_plaintext_login.
 *  - Sent lines are reported redacted (passwords, SASL payloads as *****);
 *    received lines are reported as received, with any known secret scrubbed.
 *    With redact_user the user name is redacted the same way: shown as
 *    SESSION_USER_MARK where a command carries it, scrubbed (as text and in
 *    base64) from received lines and messages. */
#ifndef MAILSCOPE_SESSION_H
#define MAILSCOPE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capset.h"
#include "failure.h"
#include "loop.h"
#include "sasl.h"
#include "tls.h"

enum session_proto { SESSION_IMAP, SESSION_POP3 };

enum session_op {
    OP_NONE, OP_CONNECT, OP_TLS, OP_GREETING, OP_CAPABILITY, OP_STARTTLS, OP_LOGIN,
    OP_SELECT, OP_NOOP, OP_ID, OP_LOGOUT, OP_RAW, OP_COUNT
};

enum session_auth {
    AUTH_DEFAULT, AUTH_LOGIN, AUTH_PLAIN, AUTH_LOGIN_SASL, AUTH_CRAM_MD5, AUTH_XOAUTH2,
    AUTH_OAUTHBEARER, AUTH_EXTERNAL, AUTH_NTLM, AUTH_APOP, AUTH_USER
};

enum session_state {
    SST_IDLE, SST_CONNECTING, SST_NOT_AUTHENTICATED, SST_AUTHENTICATED, SST_SELECTED,
    SST_LOGGING_OUT, SST_CLOSED
};

enum caps_phase { CAPS_BEFORE_TLS, CAPS_AFTER_TLS, CAPS_AFTER_LOGIN, CAPS_PHASES };

struct session_params {
    enum session_proto proto;
    const char *host;
    unsigned port;
    int family;                     /* AF_UNSPEC, AF_INET, AF_INET6 */
    bool implicit_tls;
    bool tls_required;              /* --tls=starttls/implicit: PREAUTH is fatal */
    struct tls_params tls;          /* servername defaults to host */
    bool insecure;
    bool allow_plaintext_login;
    int timeout_ms;                 /* each wait; default 15000 */
    size_t max_line;                /* 0: the protocol's default */
    bool redact_user;               /* --redact-user: the user name never reaches an event */
};

/* What a redacted user name reads as in events (and in the reports). */
#define SESSION_USER_MARK "<user>"


enum session_event_type {
    SEV_OP_BEGIN,      /* op started */
    SEV_SENT,          /* one line sent, redacted */
    SEV_RECEIVED,      /* one line received (CRLF stripped), raw bytes */
    SEV_LITERAL,       /* a chunk of an IMAP literal: len bytes of literal_total; or
                        * POP3 message data past its first 200 lines (literal_total 0:
                        * unknown); earlier POP3 data lines come as SEV_RECEIVED */
    SEV_OP_END,        /* op finished: ok, status, fail, message, elapsed_us */
    SEV_TLS,           /* TLS established (or failed): tls */
    SEV_DISCARDED,     /* bytes refused at the STARTTLS boundary */
    SEV_NOTICE,        /* something the operator must know: message */
    SEV_NTLM,          /* an NTLM challenge was decoded: ntlm */
    SEV_STATE,         /* the state changed: state */
    SEV_CLOSED,        /* the connection is gone: fail (FAIL_NONE when orderly), message */
};

struct session_event {
    enum session_event_type type;
    enum session_op op;
    int64_t at_us;                  /* monotonic time of the event */
    const uint8_t *data;            /* SENT/RECEIVED/LITERAL/DISCARDED bytes */
    size_t len;
    bool secure;                    /* the bytes travelled inside TLS */
    bool ok;                        /* OP_END */
    const char *status;             /* OP_END: "OK", "NO", "BAD", "+OK", "-ERR", "" */
    enum failure_class fail;        /* OP_END, CLOSED */
    const char *message;            /* OP_END, NOTICE, CLOSED: for the operator */
    int64_t elapsed_us;             /* OP_END */
    uint64_t literal_total;         /* LITERAL: the announced size (0 for POP3 data) */
    enum session_state state;       /* STATE */
    const struct tls_info *tls;     /* TLS */
    const struct ntlm_challenge_info *ntlm;  /* NTLM */
};

typedef void (*session_event_fn)(void *arg, const struct session_event *ev);

struct session;

struct session *session_new(struct loop *l, const struct session_params *p,
                            session_event_fn fn, void *arg);
/* Close at once and free. Safe from inside the callback. */
void session_free(struct session *s);

int session_connect(struct session *s);
int session_capability(struct session *s);
int session_starttls(struct session *s);
/* Log in with mech (AUTH_DEFAULT picks by protocol and capabilities).
 * user/secret are copied; the copy is wiped on session_free. */
int session_login(struct session *s, enum session_auth mech, const char *user, const char *secret);
/* IMAP: EXAMINE mailbox (read-only). POP3: STAT. */
int session_select(struct session *s, const char *mailbox);
int session_noop(struct session *s);
/* IMAP "ID NIL" (RFC 2971), tagged i001, i002... so that it may ride along
 * with another command without shifting that one's tag: the server's answer
 * names its software and version; NIL tells nothing about the client. */
int session_id(struct session *s);
int session_logout(struct session *s);
/* LOGOUT (POP3: QUIT) when nothing more will be asked: sent, then the
 * connection is closed without waiting for the answer (one round trip less).
 * A reply that has already arrived is still reported; otherwise the op ends
 * ok with a message saying the answer was not awaited. */
int session_quit(struct session *s);
/* Close from our side now, without a LOGOUT (reported as an orderly close). */
void session_close(struct session *s);
/* Send one line typed by the operator (no CRLF). IMAP lines without a tag get
 * one when add_tag. The engine still recognises STARTTLS, LOGIN, PASS... */
int session_raw(struct session *s, const char *line, bool add_tag);
/* Allow credentials in clear from now on (the console asked the operator). */
void session_allow_plaintext(struct session *s, bool allow);

enum session_state session_state(const struct session *s);
bool session_secure(const struct session *s);
/* A line typed now answers the server's continuation request ("+ ...") for
 * a typed command: it gets no tag. *secret says whether it is a credential. */
bool session_wants_continuation(const struct session *s, bool *secret);
/* An op is in flight or an event is still to be delivered. */
bool session_busy(const struct session *s);
const struct capset *session_caps(const struct session *s, enum caps_phase phase);
const struct capset *session_current_caps(const struct session *s);
/* The TLS facts once a handshake got far enough to have any; else NULL. */
const struct tls_info *session_tls(const struct session *s);
const char *session_greeting(const struct session *s);       /* raw first line, "" before it */
const char *session_address(const struct session *s);
const char *session_error(const struct session *s);
bool session_plaintext_login_used(const struct session *s);
const char *session_op_name(enum session_op op, enum session_proto proto);
const char *session_auth_name(enum session_auth a);
/* Parse "login", "plain", ..., "user"; returns -1 when unknown. */
int session_auth_parse(const char *name, enum session_auth *out);

#endif
