/* peer.c — the scripted server thread; see peer.h. */
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- certificate ------------------------------------------------------ */

static struct peer_cert cert;
static bool cert_ok;
static pthread_once_t cert_once = PTHREAD_ONCE_INIT;

static void cert_cleanup(void)
{
    unlink(cert.cert_path);
    unlink(cert.key_path);
    rmdir(cert.dir);
}

static bool add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return false;
    bool ok = X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static bool write_pem(const char *path, EVP_PKEY *key, X509 *x)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1
                  : PEM_write_X509(f, x) == 1;
    return fclose(f) == 0 && ok;
}

static void cert_make(void)
{
    snprintf(cert.dir, sizeof cert.dir, "/tmp/ms-peer-XXXXXX");
    if (!mkdtemp(cert.dir))
        return;
    snprintf(cert.cert_path, sizeof cert.cert_path, "%s/cert.pem", cert.dir);
    snprintf(cert.key_path, sizeof cert.key_path, "%s/key.pem", cert.dir);
    atexit(cert_cleanup);

    /* P-256: as good for these tests as RSA, and generated in an instant
     * (each test process makes its own; RSA takes seconds under valgrind). */
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    bool ok = key && x;
    if (ok) {
        uint64_t serial = 0;
        RAND_bytes((unsigned char *)&serial, sizeof serial);
        X509_set_version(x, 2);
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_NAME *name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mail.test",
                                   -1, -1, 0);
        X509_set_issuer_name(x, name);
        X509_set_pubkey(x, key);
        ok = add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, NID_subject_alt_name, "DNS:mail.test") &&
             add_ext(x, NID_ext_key_usage, "serverAuth") &&
             add_ext(x, NID_subject_key_identifier, "hash") &&
             X509_sign(x, key, EVP_sha256()) > 0 &&
             write_pem(cert.cert_path, NULL, x) && write_pem(cert.key_path, key, NULL);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    cert_ok = ok;
}

const struct peer_cert *peer_cert_get(void)
{
    pthread_once(&cert_once, cert_make);
    return cert_ok ? &cert : NULL;
}

/* ---- helpers ---------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Printable form of bytes for error messages. */
static void show(const void *data, size_t n, char *out, size_t cap)
{
    const uint8_t *b = data;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f)
            out[o++] = (char)b[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", b[i]);
    }
    if (n && o + 5 >= cap && cap > 4)
        memcpy(out + cap - 4, "...", 3), o = cap - 1;
    out[o < cap ? o : cap - 1] = 0;
}

void peer_fail(struct peer *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    int n = snprintf(p->error, sizeof p->error, "peer step %zu: ", p->steps_done + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error + n, sizeof p->error - (size_t)n, fmt, ap);
    va_end(ap);
}

static int wait_ms(struct peer *p, int ms)
{
    int64_t left = p->deadline_ms - now_ms();
    return (int)(left < ms ? (left > 0 ? left : 0) : ms);
}

/* 1 when there is something to read, 0 on timeout. */
static int wait_readable(struct peer *p, int ms)
{
    if (p->ssl && SSL_pending(p->ssl) > 0)
        return 1;
    struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
    int rc;
    do
        rc = poll(&pfd, 1, wait_ms(p, ms));
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}

static void keep(struct peer *p, const void *data, size_t n)
{
    uint8_t *g = realloc(p->got, p->got_len + n + 1);
    if (!g)
        return;
    memcpy(g + p->got_len, data, n);
    p->got = g;
    p->got_len += n;
    p->got[p->got_len] = 0;
}

/* > 0 bytes, 0 end of stream (or reset), -1 error, -2 nothing within ms. */
static ssize_t read_some(struct peer *p, void *buf, size_t n, int ms)
{
    if (!wait_readable(p, ms))
        return -2;
    ssize_t r;
    if (p->ssl) {
        ERR_clear_error();
        int k = SSL_read(p->ssl, buf, (int)n);
        if (k > 0) {
            r = k;
        } else {
            int e = SSL_get_error(p->ssl, k);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return -2;
            r = e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? 0 : -1;
        }
    } else {
        r = recv(p->fd, buf, n, 0);
        if (r < 0 && (errno == ECONNRESET || errno == EPIPE))
            r = 0;
        else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            r = -2;
    }
    if (r > 0)
        keep(p, buf, (size_t)r);
    return r;
}

int peer_write(struct peer *p, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    while (n) {
        ssize_t w;
        if (p->ssl) {
            int k = SSL_write(p->ssl, b, (int)(n > 65536 ? 65536 : n));
            w = k > 0 ? k : -1;
        } else {
            w = send(p->fd, b, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
        }
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int peer_read_line(struct peer *p, char *line, size_t cap, size_t *len)
{
    for (;;) {
        uint8_t *lf = memchr(p->buf, '\n', p->blen);
        if (lf) {
            size_t n = (size_t)(lf - p->buf), used = n + 1;
            if (n && p->buf[n - 1] == '\r')
                n--;
            size_t k = n < cap - 1 ? n : cap - 1;
            memcpy(line, p->buf, k);
            line[k] = 0;
            if (len)
                *len = n;
            memmove(p->buf, p->buf + used, p->blen - used);
            p->blen -= used;
            return 0;
        }
        if (p->blen == sizeof p->buf) {
            peer_fail(p, "the client sent a line longer than %zu bytes", sizeof p->buf);
            return -1;
        }
        ssize_t r = read_some(p, p->buf + p->blen, sizeof p->buf - p->blen, PEER_WAIT_MS);
        if (r > 0) {
            p->blen += (size_t)r;
            continue;
        }
        char so_far[200];
        show(p->buf, p->blen, so_far, sizeof so_far);
        peer_fail(p, "%s while a line was expected (partial: \"%s\")",
                  r == -2 ? "timed out" : r == 0 ? "the client closed" : "read error", so_far);
        return -1;
    }
}

bool peer_got_contains(const struct peer *p, const char *needle)
{
    return p->got && memmem(p->got, p->got_len, needle, strlen(needle)) != NULL;
}

/* ---- steps ------------------------------------------------------------ */

/* Does line match pattern? "? " at the start of pattern matches any tag. */
static bool match(struct peer *p, const char *line, const char *pattern, bool exact)
{
    if (strncmp(pattern, "? ", 2) == 0) {
        size_t t = strcspn(line, " ");
        if (!t || !line[t])
            return false;
        snprintf(p->tag, sizeof p->tag, "%.*s", (int)t, line);
        line += t;
        pattern += 1;
    }
    return exact ? strcmp(line, pattern) == 0 : strncmp(line, pattern, strlen(pattern)) == 0;
}

static int expect(struct peer *p, const char *pattern, bool exact)
{
    char line[8192];
    size_t n;
    if (peer_read_line(p, line, sizeof line, &n) < 0)
        return -1;
    if (strlen(line) != n || !match(p, line, pattern, exact)) {
        char shown[400];
        show(line, n < sizeof line ? n : sizeof line - 1, shown, sizeof shown);
        peer_fail(p, "expected %s \"%s\", the client sent \"%s\"", exact ? "the line" : "a line like",
                  pattern, shown);
        return -1;
    }
    return 0;
}

/* text with $T replaced by the remembered tag. */
static char *substitute(struct peer *p, const char *text, size_t *len)
{
    size_t cap = strlen(text) * 2 + sizeof p->tag + 1, o = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *s = text; *s;) {
        if (s[0] == '$' && s[1] == 'T') {
            size_t tl = strlen(p->tag);
            if (o + tl + 1 >= cap) {
                cap = cap * 2 + tl;
                char *bigger = realloc(out, cap);
                if (!bigger) {
                    free(out);
                    return NULL;
                }
                out = bigger;
            }
            memcpy(out + o, p->tag, tl);
            o += tl;
            s += 2;
        } else {
            if (o + 2 >= cap) {
                cap *= 2;
                char *bigger = realloc(out, cap);
                if (!bigger) {
                    free(out);
                    return NULL;
                }
                out = bigger;
            }
            out[o++] = *s++;
        }
    }
    out[o] = 0;
    *len = o;
    return out;
}

static int send_text(struct peer *p, const char *text, bool slow)
{
    size_t n;
    char *s = substitute(p, text, &n);
    if (!s) {
        peer_fail(p, "out of memory");
        return -1;
    }
    int rc = 0;
    if (slow) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = peer_write(p, s + i, 1);
            usleep(1000);
        }
    } else {
        rc = peer_write(p, s, n);
    }
    if (rc < 0)
        peer_fail(p, "could not send \"%.60s\": %s", s, strerror(errno));
    free(s);
    return rc;
}

static int silence(struct peer *p, int ms)
{
    char shown[300];
    if (p->blen) {
        show(p->buf, p->blen, shown, sizeof shown);
        peer_fail(p, "expected silence, but the client had already sent \"%s\"", shown);
        return -1;
    }
    uint8_t b[4096];
    ssize_t r = read_some(p, b, sizeof b, ms);
    if (r == -2)
        return 0;
    if (r > 0) {
        show(b, (size_t)r, shown, sizeof shown);
        peer_fail(p, "expected silence for %d ms, the client sent \"%s\"", ms, shown);
    } else {
        peer_fail(p, "expected silence for %d ms, the client closed the connection", ms);
    }
    return -1;
}

static int expect_eof(struct peer *p)
{
    char shown[300];
    if (p->blen) {
        show(p->buf, p->blen, shown, sizeof shown);
        peer_fail(p, "expected the client to close, it sent \"%s\"", shown);
        return -1;
    }
    uint8_t b[4096];
    ssize_t r = read_some(p, b, sizeof b, PEER_WAIT_MS);
    if (r == 0)
        return 0;
    if (r > 0) {
        show(b, (size_t)r, shown, sizeof shown);
        peer_fail(p, "expected the client to close, it sent \"%s\"", shown);
    } else {
        peer_fail(p, "expected the client to close: %s",
                  r == -2 ? "it kept the connection open" : "read error");
    }
    return -1;
}

static int tls_accept(struct peer *p)
{
    char shown[300];
    if (p->blen) {
        show(p->buf, p->blen, shown, sizeof shown);
        peer_fail(p, "the client sent \"%s\" where a TLS ClientHello was due", shown);
        return -1;
    }
    uint8_t first = 0;
    if (!wait_readable(p, PEER_WAIT_MS) || recv(p->fd, &first, 1, MSG_PEEK) != 1) {
        peer_fail(p, "no ClientHello arrived");
        return -1;
    }
    if (first != 0x16) {
        uint8_t b[200];
        ssize_t n = recv(p->fd, b, sizeof b, MSG_PEEK);
        show(b, n > 0 ? (size_t)n : 0, shown, sizeof shown);
        peer_fail(p, "the first byte after the STARTTLS OK is 0x%02x, not a TLS handshake "
                  "record (\"%s\")", first, shown);
        return -1;
    }
    p->saw_client_hello = true;
    const struct peer_cert *c = peer_cert_get();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!c || !ctx || SSL_CTX_use_certificate_file(ctx, c->cert_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, c->key_path, SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(ctx);
        peer_fail(p, "cannot set up the server's TLS context");
        return -1;
    }
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);   /* a client close is EOF */
    p->ctx = ctx;
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, p->fd) != 1) {
        SSL_free(ssl);
        peer_fail(p, "cannot create the server's TLS object");
        return -1;
    }
    ERR_clear_error();
    int rc = SSL_accept(ssl);
    if (rc != 1) {
        char e[200];
        int why = SSL_get_error(ssl, rc);
        ERR_error_string_n(ERR_peek_last_error(), e, sizeof e);
        SSL_free(ssl);
        peer_fail(p, "server TLS handshake failed (%d): %s", why, e);
        return -1;
    }
    p->ssl = ssl;
    p->tls_ok = true;
    return 0;
}

static void close_conn(struct peer *p, bool reset)
{
    if (p->fd < 0)
        return;
    if (reset) {
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    SSL_free(p->ssl);
    p->ssl = NULL;
    close(p->fd);
    p->fd = -1;
}

static int run_step(struct peer *p, const struct peer_step *st)
{
    switch (st->kind) {
    case PS_SEND: return send_text(p, st->text, false);
    case PS_SEND_SLOW: return send_text(p, st->text, true);
    case PS_SEND_BYTES:
        if (peer_write(p, st->data, st->len) < 0) {
            peer_fail(p, "could not send %zu bytes", st->len);
            return -1;
        }
        return 0;
    case PS_EXPECT: return expect(p, st->text, false);
    case PS_EXPECT_LINE: return expect(p, st->text, true);
    case PS_SILENCE: return silence(p, st->ms);
    case PS_EOF: return expect_eof(p);
    case PS_TLS: return tls_accept(p);
    case PS_SLEEP:
        usleep((useconds_t)wait_ms(p, st->ms) * 1000);
        return 0;
    case PS_CALL: return st->fn(p, st->arg);
    case PS_CLOSE:
    case PS_RESET:
        close_conn(p, st->kind == PS_RESET);
        return 1;
    }
    return -1;
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    /* A client that hangs up makes our writes fail with EPIPE; SIGPIPE is
     * sent to the writing thread, so blocking it here keeps it from killing
     * the test while the session's own thread keeps the default action. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    struct pollfd pfd = { .fd = p->lfd, .events = POLLIN };
    if (poll(&pfd, 1, wait_ms(p, PEER_WAIT_MS)) != 1) {
        peer_fail(p, "no client connected");
        return NULL;
    }
    p->fd = accept(p->lfd, NULL, NULL);
    close(p->lfd);
    p->lfd = -1;
    if (p->fd < 0) {
        peer_fail(p, "accept: %s", strerror(errno));
        return NULL;
    }
    struct timeval tv = { .tv_sec = PEER_WAIT_MS / 1000, .tv_usec = PEER_WAIT_MS % 1000 * 1000 };
    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    for (const struct peer_step *st = p->script; !p->failed; st++) {
        int rc = run_step(p, st);
        if (rc < 0) {
            peer_fail(p, "step failed");
            break;
        }
        p->steps_done++;
        if (rc > 0)
            break;
    }
    close_conn(p, false);
    return NULL;
}

struct peer *peer_start(const struct peer_step *script)
{
    struct peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->script = script;
    p->fd = -1;
    p->deadline_ms = now_ms() + PEER_LIFETIME_MS;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sin;
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        listen(p->lfd, 1) < 0 || getsockname(p->lfd, (struct sockaddr *)&sin, &sl) < 0) {
        if (p->lfd >= 0)
            close(p->lfd);
        free(p);
        return NULL;
    }
    p->port = ntohs(sin.sin_port);
    if (pthread_create(&p->thread, NULL, peer_main, p) != 0) {
        close(p->lfd);
        free(p);
        return NULL;
    }
    p->running = true;
    return p;
}

bool peer_finish(struct peer *p)
{
    if (p->running) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += PEER_LIFETIME_MS / 1000 + 2;
        if (pthread_timedjoin_np(p->thread, NULL, &ts) != 0) {
            snprintf(p->error, sizeof p->error, "the peer thread did not end in time");
            p->failed = true;
            return false;   /* still running: leaked on purpose */
        }
        p->running = false;
    }
    return !p->failed;
}

void peer_free(struct peer *p)
{
    if (!p || p->running)
        return;
    if (p->lfd >= 0)
        close(p->lfd);
    SSL_CTX_free(p->ctx);
    free(p->got);
    free(p);
}
