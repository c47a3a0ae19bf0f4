/* lab — see lab.h. Sockets, TLS and the services' state; the dialogues are in
 * labproto.c, the shell in labshell.c, the scenarios in labscen.c. */
#include "lab_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "sanitize.h"

static const struct lab_scenario scenarios[] = {
    { "exchange-cert-plaintextlogin",
      "Exchange 2013 after a public certificate was bound to IMAP/POP: NO LOGIN failed. (ProxyNotAuthenticated)" },
    { "exchange-securelogin",
      "Exchange 2013 with LoginType SecureLogin: LOGINDISABLED and LOGIN refused before STARTTLS" },
    { "exchange-imap-disabled",
      "Exchange 2013, IMAP and POP disabled for the mailbox: NO LOGIN failed. (UserDisabled)" },
    { "exchange-online-basic-off",
      "Exchange Online, basic authentication retired: the password is refused, XOAUTH2 works" },
    { "expired-certificate",
      "Exchange 2013 serving an expired certificate; a renewed one waits to be enabled" },
    { "missing-intermediate",
      "Exchange 2013 sending its certificate without the intermediate CA" },
    { "dovecot-cleartext-disallowed",
      "Dovecot 2.3 refusing a plain-text login before STARTTLS ([PRIVACYREQUIRED])" },
    { "exchange-tls-legacy",
      "Exchange 2013 whose SChannel has TLS 1.2 (and 1.1) switched off: a modern client's handshake fails" },
    { "gmail-app-password",
      "Gmail with 2-Step Verification: the account password is refused, an app password works" },
};

static const unsigned base_ports[LAB_NPORTS] = { 143, 993, 110, 995, 1993, 1995 };

const struct lab_scenario *lab_scenarios(size_t *n)
{
    *n = sizeof scenarios / sizeof *scenarios;
    return scenarios;
}

bool lab_address_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!addr)
        return false;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

void lab_event(struct lab *lab, const char *fmt, ...)
{
    if (!lab->on_event)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *clean = sanitize_text(buf, strlen(buf), 400);
    lab->on_event(lab->event_arg, clean ? clean : "lab: (out of memory)");
    free(clean);
}

enum lab_proto lab_port_proto(enum lab_port p)
{
    return p == LAB_POP3 || p == LAB_POP3S || p == LAB_POP3_BE ? LP_POP : LP_IMAP;
}

bool lab_port_is_be(enum lab_port p)
{
    return p == LAB_IMAP_BE || p == LAB_POP3_BE;
}

enum lab_svc lab_port_svc(enum lab_port p)
{
    switch (p) {
    case LAB_IMAP: case LAB_IMAPS: return LS_IMAP4;
    case LAB_IMAP_BE: return LS_IMAP4BE;
    case LAB_POP3: case LAB_POP3S: return LS_POP3;
    default: return LS_POP3BE;
    }
}

const char *lab_service_name(enum lab_svc s)
{
    static const char *const names[LS_NSVC] = { "MSExchangeIMAP4", "MSExchangeIMAP4BE",
                                               "MSExchangePOP3", "MSExchangePOP3BE" };
    return s < LS_NSVC ? names[s] : "?";
}

/* The certificate X509CertificateName selects for proto: a name match, those
 * enabled for the service first (lab simplification of Exchange's certificate
 * cache, so Enable-ExchangeCertificate decides between a certificate and its
 * renewal), then the one that expires last. */
static int select_cert(const struct lab *lab, const char *name, unsigned svcbit)
{
    int best = -1;
    for (int i = 0; i < lab->ncerts; i++) {
        const struct lab_cert *c = &lab->certs[i];
        if (!labcert_has_name(&c->c, name))
            continue;
        if (best < 0)
            best = i;
        else {
            const struct lab_cert *b = &lab->certs[best];
            bool ce = (c->services & svcbit) != 0, be = (b->services & svcbit) != 0;
            if (ce > be || (ce == be && c->c.not_after > b->c.not_after))
                best = i;
        }
    }
    return best;
}

void lab_restart(struct lab *lab, enum lab_svc s)
{
    struct lab_run *r = &lab->run[s];
    enum lab_proto p = (s == LS_IMAP4 || s == LS_IMAP4BE) ? LP_IMAP : LP_POP;
    r->set = lab->ad[p];
    r->mbx_enabled = lab->mbx_enabled_ad[p];
    r->chain_ok = lab->inter_installed_ad;
    r->cert = select_cert(lab, r->set.x509, p == LP_IMAP ? LAB_SVC_IMAP : LAB_SVC_POP);
    SSL_CTX_free(r->ctx);
    r->ctx = NULL;
    if (r->cert >= 0) {
        char err[256];
        r->ctx = labcert_ctx(lab->pki, &lab->certs[r->cert].c, r->chain_ok,
                             lab->schannel ? LABCERT_TLS_SET | lab->tls_boot : 0, err, sizeof err);
        if (!r->ctx) {
            lab_event(lab, "lab: %s", err);
            r->cert = -1;
        }
    }
    r->starts++;
}

/* ---- connections ------------------------------------------------------- */

static void conn_io(void *arg, int fd, short revents);

static void conn_watch(struct labconn *c, bool want_write)
{
    short ev = c->outlen < LAB_OUT_MAX ? POLLIN : 0;
    if (want_write || c->outlen)
        ev |= POLLOUT;
    loop_watch(c->lab->lp, c->fd, ev, conn_io, c);
}

static void conn_free(struct labconn *c)
{
    struct lab *lab = c->lab;
    labproto_closed(c);
    loop_unwatch(lab->lp, c->fd);
    if (c->ssl) {
        if (c->tls)
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    /* Unread input would make the kernel answer the close with RST, and a
     * client could lose our last line (BYE) with it: drop what has arrived. */
    char junk[4096];
    for (int i = 0; i < 16 && recv(c->fd, junk, sizeof junk, MSG_DONTWAIT) > 0; i++)
        ;
    close(c->fd);
    for (struct labconn **pp = &lab->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    lab->nconns--;
    free(c->out);
    free(c);
}

void labconn_send_raw(struct labconn *c, const char *p, size_t n)
{
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->outlen + n)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o) {
            c->close_after_flush = true;
            return;
        }
        c->out = o;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
    c->sent_total += n;
}

void labconn_send(struct labconn *c, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    labconn_send_raw(c, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int start_tls(struct labconn *c)
{
    struct lab_run *r = &c->lab->run[lab_port_svc(c->port)];
    if (!r->ctx)
        return -1;
    c->ssl = SSL_new(r->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
        return -1;
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    c->handshaking = true;
    c->inlen = 0;     /* nothing sent in clear text before the handshake counts */
    return 0;
}

/* Write what is pending. Returns -1 when the connection is gone. */
static int flush_out(struct labconn *c, bool *want_write)
{
    *want_write = false;
    while (c->outlen) {
        ssize_t n;
        if (c->ssl && c->tls) {
            int w = SSL_write(c->ssl, c->out, (int)(c->outlen > 65536 ? 65536 : c->outlen));
            if (w <= 0) {
                int e = SSL_get_error(c->ssl, w);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    *want_write = e == SSL_ERROR_WANT_WRITE;
                    return 0;
                }
                ERR_clear_error();
                return -1;
            }
            n = w;
        } else {
            n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                    *want_write = true;
                    return 0;
                }
                return -1;
            }
        }
        memmove(c->out, c->out + n, c->outlen - (size_t)n);
        c->outlen -= (size_t)n;
    }
    return 0;
}

static void process_lines(struct labconn *c)
{
    while (!c->close_after_flush && !c->tls_after_flush) {
        char *nl = memchr(c->in, '\n', c->inlen);
        if (!nl) {
            if (c->inlen >= LAB_LINE_MAX) {
                labproto_line(c, NULL, 0);       /* too long: the server's own answer */
                c->inlen = 0;
                c->close_after_flush = true;
            }
            return;
        }
        size_t n = (size_t)(nl - c->in);
        size_t used = n + 1;
        if (n && c->in[n - 1] == '\r')
            n--;
        char line[LAB_LINE_MAX + 1];
        memcpy(line, c->in, n);
        line[n] = '\0';
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
        c->rq = used;
        labproto_line(c, line, n);
        OPENSSL_cleanse(line, n);     /* it may have held a password */
    }
    if (c->tls_after_flush)
        c->inlen = 0;   /* pipelined clear text after STARTTLS is never executed */
}

static int read_in(struct labconn *c)
{
    for (;;) {
        size_t room = LAB_LINE_MAX - c->inlen;
        if (!room)
            return 0;
        ssize_t n;
        if (c->ssl && c->tls) {
            int r = SSL_read(c->ssl, c->in + c->inlen, (int)room);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    return 0;
                ERR_clear_error();
                return -1;
            }
            n = r;
        } else {
            n = recv(c->fd, c->in + c->inlen, room, 0);
            if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
            if (n == 0)
                return -1;
        }
        c->inlen += (size_t)n;
        if (!(c->ssl && c->tls))
            return 0;       /* TLS: read until OpenSSL wants more from the socket */
    }
}

static int handshake(struct labconn *c, bool *want_write)
{
    *want_write = false;
    int r = SSL_accept(c->ssl);
    if (r == 1) {
        c->handshaking = false;
        c->tls = true;
        lab_event(c->lab, "lab: %s TLS %s with %s", c->cip, SSL_get_version(c->ssl),
                  SSL_get_current_cipher(c->ssl) ? SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)) : "?");
        if (!c->greeted)
            labproto_greet(c);
        return 0;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want_write = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    unsigned long ee = ERR_get_error();
    char buf[256] = "";
    if (ee)
        ERR_error_string_n(ee, buf, sizeof buf);
    ERR_clear_error();
    lab_event(c->lab, "lab: %s TLS handshake failed%s%s", c->cip, buf[0] ? ": " : "", buf);
    return -1;
}

static void conn_io(void *arg, int fd, short revents)
{
    (void)fd;
    struct labconn *c = arg;
    bool want_write = false;
    if (c->handshaking) {
        if (handshake(c, &want_write) < 0) {
            conn_free(c);
            return;
        }
        if (c->handshaking) {
            conn_watch(c, want_write);
            return;
        }
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        c->last_ms = loop_now_ms();
        if (read_in(c) < 0 && !c->outlen) {
            conn_free(c);
            return;
        }
        process_lines(c);
    }
    if (flush_out(c, &want_write) < 0) {
        conn_free(c);
        return;
    }
    if (!c->outlen && c->close_after_flush) {
        conn_free(c);
        return;
    }
    if (!c->outlen && c->tls_after_flush) {
        c->tls_after_flush = false;
        if (start_tls(c) < 0) {
            conn_free(c);
            return;
        }
        if (handshake(c, &want_write) < 0) {
            conn_free(c);
            return;
        }
    }
    /* A TLS record may hold more than one line: keep going while data waits. */
    if (c->tls && c->ssl && SSL_pending(c->ssl) && !c->close_after_flush) {
        conn_io(c, c->fd, POLLIN);
        return;
    }
    conn_watch(c, want_write);
}

/* Every few seconds: close the connections idle past Exchange's timeouts,
 * with the server's own words. */
static void idle_check(void *arg)
{
    struct lab *lab = arg;
    int64_t now = loop_now_ms();
    for (struct labconn *c = lab->conns, *next; c; c = next) {
        next = c->next;
        int64_t limit = c->state ? LAB_IDLE_AUTH_MS : LAB_IDLE_PREAUTH_MS;
        if (now - c->last_ms < limit || c->close_after_flush)
            continue;
        if (c->handshaking || !c->greeted) {
            conn_free(c);
            continue;
        }
        const char *bye = labproto_idle_line(c);
        labconn_send(c, "%s\r\n", bye);
        lab_event(lab, "lab: %s idle for %lld s: \"%s\"", c->cip, (long long)((now - c->last_ms) / 1000), bye);
        c->close_after_flush = true;
        conn_io(c, c->fd, 0);
    }
    lab->idle_timer = loop_timer(lab->lp, 5000, idle_check, lab);
}

void lab_reboot(struct lab *lab)
{
    int dropped = lab->nconns;
    while (lab->conns)
        conn_free(lab->conns);
    if (lab->schannel)
        lab->tls_boot = labreg_schannel_versions(lab);
    for (int s = 0; s < LS_NSVC; s++)
        lab_restart(lab, (enum lab_svc)s);
    lab->boots++;
    char v[64];
    if (lab->schannel)
        lab_event(lab, "lab: EX01 restarted (%d connection%s dropped); SChannel now offers %s to IMAP and "
                  "POP clients", dropped, dropped == 1 ? "" : "s", labreg_versions_text(lab->tls_boot, v, sizeof v));
    else
        lab_event(lab, "lab: EX01 restarted (%d connection%s dropped); the services started again",
                  dropped, dropped == 1 ? "" : "s");
}

static void endpoint(int fd, bool local, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int r = local ? getsockname(fd, (struct sockaddr *)&ss, &sl)
                  : getpeername(fd, (struct sockaddr *)&ss, &sl);
    char host[64] = "?";
    unsigned port = 0;
    if (r == 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
        port = ntohs(s->sin_port);
    } else if (r == 0 && ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
        port = ntohs(s->sin6_port);
    }
    snprintf(out, outlen, "%s:%u", host, port);
}

static void on_accept(void *arg, int lfd, short revents)
{
    (void)revents;
    struct lab *lab = arg;
    enum lab_port which = LAB_IMAP;
    for (int i = 0; i < LAB_NPORTS; i++)
        if (lab->lfd[i] == lfd)
            which = (enum lab_port)i;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (lab->nconns >= LAB_MAX_CONNS) {
        close(fd);
        return;
    }
    struct labconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->lab = lab;
    c->fd = fd;
    c->port = which;
    c->session = ++lab->next_session;
    c->t0_ms = c->last_ms = loop_now_ms();
    endpoint(fd, true, c->sip, sizeof c->sip);
    endpoint(fd, false, c->cip, sizeof c->cip);
    c->next = lab->conns;
    lab->conns = c;
    lab->nconns++;
    static const char *const pnames[LAB_NPORTS] = { "IMAP", "IMAPS", "POP3", "POP3S",
                                                   "IMAP backend", "POP3 backend" };
    lab_event(lab, "lab: connection from %s to %s port %u", c->cip, pnames[which], lab->port[which]);
    bool implicit = which == LAB_IMAPS || which == LAB_POP3S || lab_port_is_be(which);
    if (implicit) {
        const char *refuse = labproto_no_cert_line(c);
        if (refuse) {
            labconn_send(c, "%s\r\n", refuse);
            c->close_after_flush = true;
            lab_event(lab, "lab: %s no usable certificate on this SSL port: \"%s\"", c->cip, refuse);
        } else if (start_tls(c) < 0) {
            conn_free(c);
            return;
        }
    } else {
        labproto_greet(c);
    }
    conn_io(c, fd, 0);
}

static int listen_on(struct lab *lab, enum lab_port which, int shift, int *eacces)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    unsigned port = base_ports[which] + (unsigned)shift;
    if (strchr(lab->address, ':')) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, lab->address, &s->sin6_addr);
        sl = sizeof *s;
    } else {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        s->sin_family = AF_INET;
        s->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, lab->address, &s->sin_addr);
        sl = sizeof *s;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0) {
        *eacces = errno == EACCES;
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    lab->lfd[which] = fd;
    lab->port[which] = port;
    return 0;
}

static void close_listeners(struct lab *lab)
{
    for (int i = 0; i < LAB_NPORTS; i++) {
        if (lab->lfd[i] >= 0) {
            loop_unwatch(lab->lp, lab->lfd[i]);
            close(lab->lfd[i]);
        }
        lab->lfd[i] = -1;
        lab->port[i] = 0;
    }
}

static bool scenario_has_port(const struct lab *lab, enum lab_port p)
{
    if (lab->family == LF_GMAIL)    /* Google: implicit TLS only (993, 995) */
        return p == LAB_IMAPS || p == LAB_POP3S;
    return lab->family == LF_EXCH2013 || !lab_port_is_be(p);
}

static int open_listeners(struct lab *lab, int shift_req, char *err, size_t errlen)
{
    int shift = shift_req < 0 ? 0 : shift_req;
    for (int attempt = 0; attempt < 2; attempt++) {
        int eacces = 0, failed = -1, e = 0;
        for (int i = 0; i < LAB_NPORTS; i++) {
            if (!scenario_has_port(lab, (enum lab_port)i))
                continue;
            if (listen_on(lab, (enum lab_port)i, shift, &eacces) < 0) {
                failed = i;
                e = errno;
                break;
            }
        }
        if (failed < 0) {
            lab->shift = shift;
            lab->shift_forced = shift_req >= 0;
            return 0;
        }
        close_listeners(lab);
        if (eacces && shift_req < 0 && attempt == 0) {
            shift = 10000;
            continue;
        }
        snprintf(err, errlen, "lab: cannot listen on %s port %u: %s%s", lab->address,
                 base_ports[failed] + (unsigned)shift, strerror(e),
                 e == EADDRINUSE ? " (another lab running? try --address 127.77.0.2 or --port-shift N)" : "");
        return -1;
    }
    return -1;
}

static int make_dir(struct lab *lab, const char *dir, char *err, size_t errlen)
{
    if (dir) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "lab: cannot create %s: %s", dir, strerror(errno));
            return -1;
        }
        snprintf(lab->dir, sizeof lab->dir, "%s", dir);
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(lab->dir, sizeof lab->dir, "%s/mailscope-lab-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(lab->dir)) {
        snprintf(err, errlen, "lab: cannot create a directory under %s: %s",
                 tmp && *tmp ? tmp : "/tmp", strerror(errno));
        return -1;
    }
    return 0;
}

struct lab *lab_start(struct loop *lp, const struct lab_config *cfg, char *err, size_t errlen)
{
    const char *id = cfg->scenario ? cfg->scenario : LAB_DEFAULT_SCENARIO;
    const struct lab_scenario *sc = NULL;
    for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
        if (!strcmp(scenarios[i].id, id))
            sc = &scenarios[i];
    if (!sc) {
        snprintf(err, errlen, "lab: unknown scenario \"%.60s\" (mailscope lab --list names them)", id);
        return NULL;
    }
    const char *addr = cfg->address ? cfg->address : LAB_DEFAULT_ADDRESS;
    if (!lab_address_is_loopback(addr)) {
        snprintf(err, errlen, "lab: %.80s is not a loopback address: the lab listens on 127.0.0.0/8 or ::1 only",
                 addr);
        return NULL;
    }
    struct lab *lab = calloc(1, sizeof *lab);
    if (!lab) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int i = 0; i < LAB_NPORTS; i++)
        lab->lfd[i] = -1;
    lab->lp = lp;
    lab->sc = sc;
    lab->on_event = cfg->on_event;
    lab->event_arg = cfg->event_arg;
    snprintf(lab->address, sizeof lab->address, "%s", addr);
    lab->next_session = 0x10;
    for (size_t i = 0, n = 0; cfg->app_password && cfg->app_password[i] && n + 1 < sizeof lab->app_next; i++)
        if (cfg->app_password[i] != ' ')   /* Google shows it in groups of four */
            lab->app_next[n++] = cfg->app_password[i];
    if (make_dir(lab, cfg->dir, err, errlen) < 0 ||
        !(lab->pki = labpki_new(addr, err, errlen)) ||
        labscen_setup(lab, err, errlen) < 0)
        goto bad;
    snprintf(lab->ca_path, sizeof lab->ca_path, "%s/lab-ca.pem", lab->dir);
    if (labpki_write_ca(lab->pki, lab->ca_path, err, errlen) < 0 ||
        !(lab->log = lablog_open(lab->dir, err, errlen)))
        goto bad;
    if (lab->schannel)
        lab->tls_boot = labreg_schannel_versions(lab);
    for (int s = 0; s < LS_NSVC; s++)
        lab_restart(lab, (enum lab_svc)s);
    if (open_listeners(lab, cfg->port_shift, err, errlen) < 0)
        goto bad;
    for (int i = 0; i < LAB_NPORTS; i++)
        if (lab->lfd[i] >= 0 && loop_watch(lp, lab->lfd[i], POLLIN, on_accept, lab) < 0) {
            snprintf(err, errlen, "lab: the loop is full");
            goto bad;
        }
    lab->idle_timer = loop_timer(lp, 5000, idle_check, lab);
    return lab;
bad:
    lab_stop(lab);
    return NULL;
}

void lab_stop(struct lab *lab)
{
    if (!lab)
        return;
    if (lab->idle_timer)
        loop_timer_cancel(lab->lp, lab->idle_timer);
    while (lab->conns)
        conn_free(lab->conns);
    close_listeners(lab);
    for (int s = 0; s < LS_NSVC; s++)
        SSL_CTX_free(lab->run[s].ctx);
    for (int i = 0; i < lab->ncerts; i++)
        labcert_clear(&lab->certs[i].c);
    labpki_free(lab->pki);
    lablog_close(lab->log);
    free(lab);
}

const char *lab_scenario_id(const struct lab *lab) { return lab->sc->id; }
const char *lab_address(const struct lab *lab) { return lab->address; }
unsigned lab_port(const struct lab *lab, enum lab_port w) { return w < LAB_NPORTS ? lab->port[w] : 0; }
int lab_port_shift(const struct lab *lab) { return lab->shift; }
bool lab_port_shift_forced(const struct lab *lab) { return lab->shift_forced; }
const char *lab_dir(const struct lab *lab) { return lab->dir; }
const char *lab_ca_file(const struct lab *lab) { return lab->ca_path; }
const char *lab_log_path(const struct lab *lab, enum lablog_file f) { return lablog_path(lab->log, f); }
bool lab_has_protocol_log(const struct lab *lab) { return lab->family == LF_EXCH2013; }

const char *lab_url(const struct lab *lab, enum lab_port w, char *out, size_t outlen)
{
    static const char *const schemes[LAB_NPORTS] = { "imap", "imaps", "pop3", "pop3s", "imaps", "pop3s" };
    bool v6 = strchr(lab->address, ':') != NULL;
    char host[80];
    snprintf(host, sizeof host, v6 ? "[%s]" : "%s", lab->address);
    if (lab->port[w] == base_ports[w] && !lab_port_is_be(w))
        snprintf(out, outlen, "%s://%s@%s", schemes[w], lab_user(lab), host);
    else
        snprintf(out, outlen, "%s://%s@%s:%u", schemes[w], lab_user(lab), host, lab->port[w]);
    return out;
}
