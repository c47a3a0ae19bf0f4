#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum conn_phase { PH_IDLE, PH_RESOLVING, PH_CONNECTING, PH_OPEN, PH_HANDSHAKE, PH_CLOSED };

struct conn {
    struct loop *loop;
    struct conn_events ev;
    void *arg;
    enum conn_phase phase;
    int fd;
    /* resolution */
    struct gaicb gai;
    struct gaicb *gai_list[1];
    struct addrinfo hints;
    char host[256], service[8];
    uint64_t dns_timer;
    int dns_poll_ms;
    struct addrinfo *ai_next;   /* next address to try */
    char last_connect_error[256];
    char address[INET6_ADDRSTRLEN + 8];
    /* output queue */
    unsigned char *out;
    size_t out_len, out_cap;
    /* TLS */
    SSL_CTX *ctx;
    SSL *ssl;
    struct tls_info *info;
    char servername[256];
    bool want_write;            /* TLS needs the socket writable to make progress */
    char error[256];
};

static void on_fd(void *arg, int fd, short revents);

static void update_watch(struct conn *c)
{
    if (c->fd < 0)
        return;
    short events = POLLIN;
    if (c->phase == PH_CONNECTING || c->out_len || c->want_write)
        events |= POLLOUT;
    if (c->phase == PH_CONNECTING)
        events = POLLOUT;
    loop_watch(c->loop, c->fd, events, on_fd, c);
}

static void fail(struct conn *c, enum failure_class cls, const char *msg)
{
    c->phase = PH_CLOSED;
    if (c->fd >= 0) {
        loop_unwatch(c->loop, c->fd);
        close(c->fd);
        c->fd = -1;
    }
    c->ev.failed(c->arg, cls, msg);
}

struct conn *conn_new(struct loop *l, const struct conn_events *ev, void *arg)
{
    /* OpenSSL writes with write(): a peer that hung up must not kill us. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = l;
    c->ev = *ev;
    c->arg = arg;
    c->fd = -1;
    return c;
}

static void cancel_resolution(struct conn *c)
{
    if (c->phase != PH_RESOLVING)
        return;
    loop_timer_cancel(c->loop, c->dns_timer);
    /* glibc's resolver thread still owns c->gai until it is done or cancelled. */
    if (gai_cancel(&c->gai) == EAI_NOTCANCELED) {
        const struct gaicb *list[1] = { &c->gai };
        while (gai_error(&c->gai) == EAI_INPROGRESS)
            gai_suspend(list, 1, NULL);
    }
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    cancel_resolution(c);
    if (c->gai.ar_result)
        freeaddrinfo(c->gai.ar_result);
    if (c->fd >= 0) {
        loop_unwatch(c->loop, c->fd);
        close(c->fd);
    }
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->out)
        OPENSSL_cleanse(c->out, c->out_cap);   /* may hold credentials */
    free(c->out);
    free(c);
}

static void format_address(const struct sockaddr *sa, char *buf, size_t n)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
        snprintf(buf, n, "%s:%u", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        snprintf(buf, n, "[%s]:%u", ip, port);
    } else {
        snprintf(buf, n, "?");
    }
}

/* Try the remaining addresses in order until one connect() is under way. */
static void try_next_address(struct conn *c)
{
    while (c->ai_next) {
        struct addrinfo *ai = c->ai_next;
        c->ai_next = ai->ai_next;
        format_address(ai->ai_addr, c->address, sizeof c->address);
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            snprintf(c->last_connect_error, sizeof c->last_connect_error, "%s: %s",
                     c->address, strerror(errno));
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            c->fd = fd;
            c->phase = PH_CONNECTING;
            update_watch(c);
            return;
        }
        snprintf(c->last_connect_error, sizeof c->last_connect_error, "%s: %s", c->address,
                 strerror(errno));
        close(fd);
    }
    char msg[600];
    snprintf(msg, sizeof msg, "cannot connect to %s port %s (%s)", c->host, c->service,
             c->last_connect_error);
    fail(c, FAIL_CONNECT, msg);
}

static void dns_poll(void *arg)
{
    struct conn *c = arg;
    c->dns_timer = 0;
    int rc = gai_error(&c->gai);
    if (rc == EAI_INPROGRESS) {
        if (c->dns_poll_ms < 50)
            c->dns_poll_ms *= 2;
        c->dns_timer = loop_timer(c->loop, c->dns_poll_ms, dns_poll, c);
        return;
    }
    if (rc != 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "cannot resolve %s: %s", c->host, gai_strerror(rc));
        c->phase = PH_CLOSED;
        c->ev.failed(c->arg, FAIL_DNS, msg);
        return;
    }
    c->ai_next = c->gai.ar_result;
    try_next_address(c);
}

int conn_connect(struct conn *c, const char *host, unsigned port, int family, char *err,
                 size_t errlen)
{
    if (c->phase != PH_IDLE) {
        snprintf(err, errlen, "already connected");
        return -1;
    }
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->service, sizeof c->service, "%u", port);
    c->hints = (struct addrinfo){ .ai_family = family, .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV };
    if (tls_is_ip_literal(host))
        c->hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    c->gai = (struct gaicb){ .ar_name = c->host, .ar_service = c->service,
                             .ar_request = &c->hints };
    c->gai_list[0] = &c->gai;
    int rc = getaddrinfo_a(GAI_NOWAIT, c->gai_list, 1, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start resolving %s: %s", host, gai_strerror(rc));
        return -1;
    }
    c->phase = PH_RESOLVING;
    c->dns_poll_ms = 1;
    c->dns_timer = loop_timer(c->loop, 0, dns_poll, c);
    return 0;
}

static void finish_connect(struct conn *c)
{
    int soerr = 0;
    socklen_t len = sizeof soerr;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr) {
        snprintf(c->last_connect_error, sizeof c->last_connect_error, "%s: %s", c->address,
                 strerror(soerr));
        loop_unwatch(c->loop, c->fd);
        close(c->fd);
        c->fd = -1;
        try_next_address(c);
        return;
    }
    c->phase = PH_OPEN;
    update_watch(c);
    c->ev.connected(c->arg, c->address);
}

static void describe_ssl_error(int sslerr, int saved_errno, char *buf, size_t n)
{
    char detail[160];
    tls_error_string(detail, sizeof detail);
    if (sslerr == SSL_ERROR_SYSCALL && !detail[0])
        snprintf(buf, n, "%s", saved_errno ? strerror(saved_errno)
                                            : "the server closed the connection");
    else if (sslerr == SSL_ERROR_ZERO_RETURN)
        snprintf(buf, n, "the server closed the TLS session");
    else
        snprintf(buf, n, "%s", detail[0] ? detail : "TLS error");
}

static void continue_handshake(struct conn *c)
{
    ERR_clear_error();
    int ret = SSL_connect(c->ssl);
    if (ret == 1) {
        c->phase = PH_OPEN;
        c->want_write = false;
        tls_info_collect(c->info, c->ssl, c->servername);
        update_watch(c);
        c->ev.tls_done(c->arg);
        return;
    }
    int saved = errno;
    int e = SSL_get_error(c->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want_write = e == SSL_ERROR_WANT_WRITE;
        update_watch(c);
        return;
    }
    char why[200], msg[400];
    describe_ssl_error(e, saved, why, sizeof why);
    tls_info_collect(c->info, c->ssl, c->servername);   /* whatever the server showed */
    if (tls_reply_was_plaintext(c->info)) {
        /* TLS read only a record header's worth: the rest of the line waits
         * in the socket, and it is what the operator needs to see. */
        struct tls_info *i = c->info;
        ssize_t n = recv(c->fd, i->first_bytes + i->n_first, sizeof i->first_bytes - i->n_first,
                         MSG_DONTWAIT);
        if (n > 0)
            i->n_first += (size_t)n;
        snprintf(msg, sizeof msg, "TLS handshake failed: the server answered in plain text, not "
                 "TLS (a plain-text port, or a service with no usable certificate)");
    } else
        snprintf(msg, sizeof msg, "TLS handshake failed: %s", why);
    fail(c, FAIL_TLS, msg);
}

static int flush_plain(struct conn *c)
{
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            snprintf(c->error, sizeof c->error, "send failed: %s", strerror(errno));
            return -1;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    return 0;
}

static int flush_tls(struct conn *c)
{
    while (c->out_len) {
        ERR_clear_error();
        int n = SSL_write(c->ssl, c->out, (int)(c->out_len > 65536 ? 65536 : c->out_len));
        if (n <= 0) {
            int saved = errno, e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                return 0;
            describe_ssl_error(e, saved, c->error, sizeof c->error);
            return -1;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    return 0;
}

/* -1 when the connection failed: c may have been freed by the callback. */
static int flush(struct conn *c)
{
    if (c->phase != PH_OPEN)
        return 0;
    if ((c->ssl ? flush_tls(c) : flush_plain(c)) < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "connection lost while sending: %s", c->error);
        fail(c, FAIL_CLOSED, msg);
        return -1;
    }
    update_watch(c);
    return 0;
}

static void on_fd(void *arg, int fd, short revents)
{
    struct conn *c = arg;
    switch (c->phase) {
    case PH_CONNECTING:
        finish_connect(c);
        return;
    case PH_HANDSHAKE:
        continue_handshake(c);
        return;
    case PH_OPEN:
        if (revents & POLLOUT) {
            c->want_write = false;
            if (flush(c) < 0)
                return;
        }
        if (revents & (POLLIN | POLLHUP | POLLERR))
            c->ev.readable(c->arg);
        return;
    default:
        loop_unwatch(c->loop, fd);
    }
}

static ssize_t read_tls(struct conn *c, void *buf, size_t n)
{
    ERR_clear_error();
    int r = SSL_read(c->ssl, buf, (int)(n > 1 << 30 ? 1 << 30 : n));
    if (r > 0)
        return r;
    int saved = errno, e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return 0;
    if (e == SSL_ERROR_WANT_WRITE) {
        c->want_write = true;
        update_watch(c);
        return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        c->error[0] = 0;
    else
        describe_ssl_error(e, saved, c->error, sizeof c->error);
    return -1;
}

ssize_t conn_read(struct conn *c, void *buf, size_t n)
{
    if (c->phase == PH_HANDSHAKE || !n)
        return 0;   /* nothing to read until the handshake is done */
    if (c->phase != PH_OPEN)
        return -1;
    if (c->ssl)
        return read_tls(c, buf, n);
    ssize_t r = recv(c->fd, buf, n, 0);
    if (r > 0)
        return r;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (r == 0)
        c->error[0] = 0;
    else
        snprintf(c->error, sizeof c->error, "%s", strerror(errno));
    return -1;
}

int conn_write(struct conn *c, const void *buf, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        unsigned char *p = malloc(cap);
        if (!p)
            return -1;
        if (c->out) {
            memcpy(p, c->out, c->out_len);
            OPENSSL_cleanse(c->out, c->out_cap);
            free(c->out);
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, buf, n);
    c->out_len += n;
    update_watch(c);   /* sent from the loop when writable, never from here */
    return 0;
}

size_t conn_unsent(const struct conn *c) { return c->out_len; }

ssize_t conn_flush_now(struct conn *c)
{
    if (c->phase != PH_OPEN)
        return -1;
    if ((c->ssl ? flush_tls(c) : flush_plain(c)) < 0)
        return -1;
    update_watch(c);
    return (ssize_t)c->out_len;
}

size_t conn_take_plain(struct conn *c, void *buf, size_t n)
{
    if (c->ssl || c->fd < 0)
        return 0;
    ssize_t r = recv(c->fd, buf, n, MSG_DONTWAIT);
    return r > 0 ? (size_t)r : 0;
}

bool conn_pending_plain(const struct conn *c)
{
    char b;
    return !c->ssl && c->fd >= 0 && recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

int conn_start_tls(struct conn *c, const struct tls_params *p, struct tls_info *info, char *err,
                   size_t errlen)
{
    if (c->phase != PH_OPEN || c->ssl) {
        snprintf(err, errlen, c->ssl ? "TLS is already active" : "not connected");
        return -1;
    }
    c->ctx = tls_ctx_new(p, err, errlen);
    if (!c->ctx)
        return -1;
    c->ssl = tls_client_new(c->ctx, c->fd, p, info, err, errlen);
    if (!c->ssl)
        return -1;
    c->info = info;
    snprintf(c->servername, sizeof c->servername, "%s", p->servername);
    c->phase = PH_HANDSHAKE;
    c->want_write = true;    /* the ClientHello goes out when the loop sees the socket writable */
    update_watch(c);
    return 0;
}

bool conn_is_tls(const struct conn *c) { return c->ssl && c->phase == PH_OPEN; }
bool conn_is_open(const struct conn *c) { return c->phase == PH_OPEN || c->phase == PH_HANDSHAKE; }
const char *conn_error(const struct conn *c) { return c->error; }
bool conn_has_pending(const struct conn *c) { return c->ssl && SSL_has_pending(c->ssl); }
const char *conn_address(const struct conn *c) { return c->address; }
