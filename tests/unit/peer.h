/* peer — an in-process scripted mail server for tier-2 tests of net/session.
 * Contract: peer_start() listens on 127.0.0.1 port 0 (the port is read back
 * with getsockname) and runs a thread that accepts one connection and plays
 * the script, step by step, then closes. Every blocking wait is bounded
 * (PEER_WAIT_MS per step, PEER_LIFETIME_MS overall), so the thread always
 * ends on its own. peer_finish() joins it; the first failed step is in
 * peer->error. Everything the client sent is kept in peer->got (raw bytes,
 * TLS ones decrypted) for assertions.
 *
 * Lines the script expects: "? " at the start of a pattern matches any tag
 * and remembers it; "$T" in text the script sends is replaced by that tag. */
#ifndef MAILSCOPE_TEST_PEER_H
#define MAILSCOPE_TEST_PEER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_WAIT_MS 4000
#define PEER_LIFETIME_MS 12000

struct peer;
typedef int (*peer_fn)(struct peer *p, const void *arg);   /* 0 or -1 (p->error set) */

enum peer_step_kind {
    PS_SEND,        /* text, one write ($T substituted) */
    PS_SEND_SLOW,   /* text, one byte per write with a short pause */
    PS_SEND_BYTES,  /* data/len verbatim, one write */
    PS_EXPECT,      /* read one line; it must start with text */
    PS_EXPECT_LINE, /* read one line; it must be exactly text (CRLF excluded) */
    PS_SILENCE,     /* nothing at all may arrive for ms */
    PS_EOF,         /* the client closes without sending anything more */
    PS_TLS,         /* the next bytes must be a ClientHello (0x16); do the server handshake */
    PS_CLOSE,       /* close now (the script ends) */
    PS_RESET,       /* close with an RST (SO_LINGER 0) */
    PS_SLEEP,       /* pause ms */
    PS_CALL,        /* fn(peer, arg) */
};

struct peer_step {
    enum peer_step_kind kind;
    const char *text;
    const void *data;
    size_t len;
    int ms;
    peer_fn fn;
    const void *arg;
};

#define P_SEND(s)        { .kind = PS_SEND, .text = (s) }
#define P_SEND_SLOW(s)   { .kind = PS_SEND_SLOW, .text = (s) }
#define P_SEND_BYTES(d, n) { .kind = PS_SEND_BYTES, .data = (d), .len = (n) }
#define P_EXPECT(s)      { .kind = PS_EXPECT, .text = (s) }
#define P_EXPECT_LINE(s) { .kind = PS_EXPECT_LINE, .text = (s) }
#define P_SILENCE(m)     { .kind = PS_SILENCE, .ms = (m) }
#define P_EOF()          { .kind = PS_EOF }
#define P_TLS()          { .kind = PS_TLS }
#define P_CLOSE()        { .kind = PS_CLOSE }
#define P_RESET()        { .kind = PS_RESET }
#define P_SLEEP(m)       { .kind = PS_SLEEP, .ms = (m) }
#define P_CALL(f, a)     { .kind = PS_CALL, .fn = (f), .arg = (a) }
#define P_END            { .kind = PS_CLOSE, .text = "end" }

/* Server certificate for TLS steps: self-signed RSA-2048 for CN and SAN
 * "mail.test", made with the OpenSSL API; the PEM files live in a temporary
 * directory removed at exit. cert_path doubles as the client's cafile. */
struct peer_cert {
    char dir[64], cert_path[96], key_path[96];
};
/* Made once per process; NULL on failure. */
const struct peer_cert *peer_cert_get(void);

struct peer {
    /* set by peer_start */
    unsigned port;
    const struct peer_step *script;
    /* results, read after peer_finish */
    bool failed;
    char error[1024];
    size_t steps_done;
    bool saw_client_hello;
    bool tls_ok;
    uint8_t *got;            /* every byte the client sent, in order (decrypted) */
    size_t got_len;
    /* internal */
    int lfd, fd;
    void *ctx, *ssl;         /* SSL_CTX *, SSL * */
    uint8_t buf[1 << 16];
    size_t blen;
    char tag[64];
    int64_t deadline_ms;
    pthread_t thread;
    bool running;
};

/* Listen and start the script (which must end with P_END or a close step and
 * outlive the peer). Returns NULL on failure. */
struct peer *peer_start(const struct peer_step *script);
/* Join (bounded) and return true when every step passed. The peer stays
 * readable until peer_free. */
bool peer_finish(struct peer *p);
void peer_free(struct peer *p);

/* For PS_CALL functions. */
int peer_write(struct peer *p, const void *buf, size_t n);
/* Read one line (CRLF stripped, NUL-terminated, at most cap-1 bytes kept). */
int peer_read_line(struct peer *p, char *line, size_t cap, size_t *len);
void peer_fail(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Did the client send this byte string at any time? */
bool peer_got_contains(const struct peer *p, const char *needle);

#endif
