/* conn — one client transport: name resolution, TCP connect, plain or TLS
 * bytes, non-blocking on the caller's loop.
 * Contract: conn reports through the callbacks in struct conn_events, always
 * from the loop, never from inside a conn_*() call. It keeps no protocol
 * knowledge; the caller reads with conn_read() when told the connection is
 * readable, and queues output with conn_write(). Deadlines are the caller's.
 * OpenSSL writes with write(): the first conn_new() ignores SIGPIPE unless
 * the program already handles it, so a peer that hangs up is an error value,
 * not the end of the process. */
#ifndef MAILSCOPE_CONN_H
#define MAILSCOPE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "failure.h"
#include "loop.h"
#include "tls.h"

struct conn;

struct conn_events {
    void (*connected)(void *arg, const char *address);   /* "127.0.0.1:143" */
    void (*readable)(void *arg);
    void (*tls_done)(void *arg);                          /* handshake finished */
    void (*failed)(void *arg, enum failure_class cls, const char *message);
};

struct conn *conn_new(struct loop *l, const struct conn_events *ev, void *arg);
/* Closes (without waiting for anything) and frees. */
void conn_free(struct conn *c);

/* Resolve host and connect to its addresses in turn. family: AF_UNSPEC,
 * AF_INET or AF_INET6. Returns 0, or -1 with a message when it cannot start. */
int conn_connect(struct conn *c, const char *host, unsigned port, int family,
                 char *err, size_t errlen);

/* Read up to n bytes. Returns > 0, 0 when nothing is available now, or -1 on
 * end of stream or error (conn_error() says which, and failed() is not called). */
ssize_t conn_read(struct conn *c, void *buf, size_t n);
/* Queue bytes; they are sent as the socket allows. Returns 0 or -1 (no memory). */
int conn_write(struct conn *c, const void *buf, size_t n);
/* Bytes queued and not yet handed to the kernel or to TLS. */
size_t conn_unsent(const struct conn *c);
/* Hand the queued bytes to the kernel (or TLS) now instead of on the loop's
 * next turn, for a caller about to close. Returns the bytes still queued (the
 * socket is full), or -1 on error (conn_error() says why; failed() is not
 * called). */
ssize_t conn_flush_now(struct conn *c);

/* Read whatever plain bytes are waiting right now without blocking (used at
 * the STARTTLS boundary to catch injected data). Returns the count (0 = none). */
size_t conn_take_plain(struct conn *c, void *buf, size_t n);
/* Plain bytes wait unread in the socket (peeked, not consumed). */
bool conn_pending_plain(const struct conn *c);
/* Start a client TLS handshake. info is filled as the handshake goes and
 * must outlive the connection. Returns 0, or -1 with a message. */
int conn_start_tls(struct conn *c, const struct tls_params *p, struct tls_info *info,
                   char *err, size_t errlen);

bool conn_is_tls(const struct conn *c);
bool conn_is_open(const struct conn *c);
/* The last read error, "" when the peer closed cleanly. */
const char *conn_error(const struct conn *c);
/* More decrypted bytes are waiting inside TLS that poll() cannot see. */
bool conn_has_pending(const struct conn *c);
/* "127.0.0.1:143" once connected. */
const char *conn_address(const struct conn *c);

#endif
