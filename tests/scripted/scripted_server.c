/* scripted_server — a one-connection TCP/TLS server driven by a scenario
 * file, so integration tests can impersonate IMAP/POP3 servers that misbehave
 * in ways a real server can't be made to (STARTTLS response injection,
 * refused STARTTLS, odd replies, hostile bytes). See README.md for the
 * scenario language.
 *
 * Exit status: 0 every step succeeded, 1 a step failed (expectation not met,
 * I/O error, timeout), 2 usage or set-up error (nothing was served).
 * Only loopback addresses may be bound: this is a test fixture, never a
 * service. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define EXIT_FAIL 1
#define EXIT_SETUP 2

#define LINE_MAX_BYTES (64 * 1024)            /* longest client line accepted */
#define BUF_CAP (LINE_MAX_BYTES + 16 * 1024)  /* room for a full line + slack */
#define CLOSE_LINGER_MS 500   /* how long a graceful close waits for the client's FIN */
#define DRAIN_MS 1000
#define SHOW_MAX 512          /* bytes of client data quoted in a failure message */

enum op {
    OP_SEND, OP_SENDRAW, OP_EXPECT, OP_EXPECT_EOF, OP_EXPECT_TLS,
    OP_TLS, OP_SLEEP, OP_CLOSE, OP_RESET, OP_DRAIN, OP_END, OP_DRIP, OP_SENDREP, OP_SENDBULK,
};

enum arg_kind { ARG_NONE, ARG_TEXT, ARG_HEX, ARG_REGEX, ARG_MS, ARG_NUM_TEXT, ARG_BULK };

struct keyword {
    const char *name;
    enum op op;
    enum arg_kind arg;
};

static const struct keyword keywords[] = {
    {"send", OP_SEND, ARG_TEXT},
    {"sendraw", OP_SENDRAW, ARG_HEX},
    {"expect", OP_EXPECT, ARG_REGEX},
    {"expect_eof", OP_EXPECT_EOF, ARG_NONE},
    {"expect_tls", OP_EXPECT_TLS, ARG_NONE},
    {"tls", OP_TLS, ARG_NONE},
    {"sleep", OP_SLEEP, ARG_MS},
    {"close", OP_CLOSE, ARG_NONE},
    {"reset", OP_RESET, ARG_NONE},
    {"drain", OP_DRAIN, ARG_NONE},
    {"end", OP_END, ARG_NONE},
    {"drip", OP_DRIP, ARG_NUM_TEXT},
    {"sendrep", OP_SENDREP, ARG_NUM_TEXT},
    {"sendbulk", OP_SENDBULK, ARG_BULK},
};

struct step {
    enum op op;
    int lineno;
    char *text;              /* send: source text (escapes expanded at run time,
                                because $TAG is only known then); expect: regex */
    unsigned char *raw;      /* sendraw: decoded bytes */
    size_t rawlen;
    regex_t re;              /* expect */
    bool re_ok;
    long ms;                 /* sleep; drip: pause after each byte */
    long count;              /* sendrep: how many copies; sendbulk: bytes */
    bool pop3;               /* sendbulk: a POP3 RETR body, else an IMAP FETCH literal */
};

struct scenario {
    const char *path;
    struct step *steps;
    size_t n, cap;
};

struct opts {
    const char *cert, *key, *bind, *log, *scenario;
    double timeout;
    bool verbose;
    int seclevel;       /* --seclevel: OpenSSL security level, -1 keeps the default */
    int tls_max;        /* --tls-max: highest protocol version, 0 for no limit */
};

/* Results of one I/O attempt. IO_AGAIN is internal to the TLS retry loops. */
enum io { IO_OK, IO_EOF, IO_RESET, IO_TIMEOUT, IO_ERR, IO_TOOLONG, IO_AGAIN };

struct conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int logfd;
    bool verbose;
    const char *path;        /* scenario file, for messages */
    char *tag;               /* first word of the last line expect received */
    bool said_goodbye;       /* that line was a LOGOUT (IMAP) or QUIT (POP3) */
    int io_errno;            /* errno behind the last IO_ERR, 0 if none */
    size_t len;              /* bytes buffered in buf, not yet consumed */
    unsigned char buf[BUF_CAP];
};

static int64_t g_deadline_ms;  /* CLOCK_MONOTONIC; the whole run must end by then */

/* ---------- small helpers ---------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("scripted_server: out of memory\n", stderr);
        exit(EXIT_SETUP);
    }
    return p;
}

/* Print bytes C-escaped and quoted, so control bytes and binary junk from a
 * hostile or broken client stay readable in a test log. */
static void print_escaped(FILE *f, const unsigned char *p, size_t n)
{
    size_t shown = n < SHOW_MAX ? n : SHOW_MAX;
    fputc('"', f);
    for (size_t i = 0; i < shown; i++) {
        unsigned char ch = p[i];
        if (ch == '\r') fputs("\\r", f);
        else if (ch == '\n') fputs("\\n", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch == '\\' || ch == '"') fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f) fprintf(f, "\\x%02x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
    if (shown < n)
        fprintf(f, " ... (%zu more bytes)", n - shown);
}

/* "scenario.scn:12: message" on stderr; always returns EXIT_FAIL. */
__attribute__((format(printf, 3, 4)))
static int fail(const struct conn *c, const struct step *s, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", c->path, s ? s->lineno : 0);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_FAIL;
}

static void show_received(const char *label, const unsigned char *p, size_t n)
{
    fprintf(stderr, "  %s (%zu bytes): ", label, n);
    print_escaped(stderr, p, n);
    fputc('\n', stderr);
}

static void trace(const struct conn *c, const char *dir, const void *p, size_t n)
{
    if (!c->verbose)
        return;
    fprintf(stderr, "%s ", dir);
    print_escaped(stderr, p, n);
    fputc('\n', stderr);
}

/* The OpenSSL error queue on stderr, one reason per line. */
static void print_ssl_errors(void)
{
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        fprintf(stderr, "  openssl: %s\n", buf);
    }
}

/* ---------- text escapes ---------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Decode one backslash escape at src (just past the '\'). Returns the number
 * of source bytes used, or 0 when the escape is invalid. */
static size_t decode_escape(const char *src, unsigned char *out)
{
    switch (src[0]) {
    case 'r': *out = '\r'; return 1;
    case 'n': *out = '\n'; return 1;
    case 't': *out = '\t'; return 1;
    case '\\': *out = '\\'; return 1;
    case '$': *out = '$'; return 1;   /* "\$TAG" sends a literal "$TAG" */
    case 'x': {
        int hi = hexval((unsigned char)src[1]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)src[2]);
        if (lo < 0)
            return 0;
        *out = (unsigned char)(hi << 4 | lo);
        return 3;
    }
    default: return 0;
    }
}

/* Expand escapes and $TAG in one pass, so a tag that happens to contain a
 * backslash is sent verbatim rather than decoded. Returns a malloc'd buffer
 * (length in *outlen) or NULL with the bad offset in *bad. */
static unsigned char *expand_text(const char *src, const char *tag, size_t *outlen, size_t *bad)
{
    size_t srclen = strlen(src), taglen = strlen(tag);
    unsigned char *out = xmalloc(srclen + (srclen / 4 + 1) * taglen + 1);
    size_t o = 0;
    for (size_t i = 0; i < srclen;) {
        if (strncmp(src + i, "$TAG", 4) == 0) {
            memcpy(out + o, tag, taglen);
            o += taglen;
            i += 4;
        } else if (src[i] == '\\') {
            size_t used = decode_escape(src + i + 1, out + o);
            if (used == 0) {
                free(out);
                *bad = i;
                return NULL;
            }
            o++;
            i += 1 + used;
        } else {
            out[o++] = (unsigned char)src[i++];
        }
    }
    *outlen = o;
    return out;
}

/* Hex digits, optionally separated by whitespace, to bytes. */
static unsigned char *decode_hex(const char *src, size_t *outlen)
{
    unsigned char *out = xmalloc(strlen(src) / 2 + 1);
    size_t o = 0;
    int hi = -1;
    for (const char *p = src; *p; p++) {
        if (*p == ' ' || *p == '\t')
            continue;
        int v = hexval((unsigned char)*p);
        if (v < 0) {
            free(out);
            return NULL;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[o++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0 || o == 0) {
        free(out);
        return NULL;
    }
    *outlen = o;
    return out;
}

/* ---------- scenario parsing ---------- */

/* What earlier steps imply about later ones; lets mistakes in a scenario
 * surface as exit 2 before a client ever connects. */
struct parse_state {
    bool seen_expect, in_tls, ended, have_cert;
};

__attribute__((format(printf, 3, 4)))
static int parse_error(const char *path, int lineno, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", path, lineno);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_SETUP;
}

static const struct keyword *find_keyword(const char *word, size_t n)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i].name) == n && strncmp(keywords[i].name, word, n) == 0)
            return &keywords[i];
    return NULL;
}

static int parse_text(const char *path, struct step *s, const char *arg, struct parse_state *st)
{
    size_t len, bad;
    if (strstr(arg, "$TAG") && !st->seen_expect)
        return parse_error(path, s->lineno, "send: $TAG used before any expect");
    unsigned char *probe = expand_text(arg, "", &len, &bad);
    if (!probe)
        return parse_error(path, s->lineno, "bad escape at \"%.8s\"", arg + bad);
    free(probe);
    s->text = strdup(arg);
    return 0;
}

static int parse_regex(const char *path, struct step *s, const char *arg)
{
    int rc = regcomp(&s->re, arg, REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &s->re, msg, sizeof msg);
        return parse_error(path, s->lineno, "bad regex: %s", msg);
    }
    s->re_ok = true;
    s->text = strdup(arg);
    return 0;
}

/* SENDREP_MAX_BYTES bounds what one sendrep may write, so a typo in a
 * scenario cannot fill the disk of a --log or take minutes. */
#define SENDREP_MAX_BYTES (256L * 1024 * 1024)
#define DRIP_MAX_MS 10000
#define SENDBULK_MAX_BYTES (16L * 1024 * 1024 * 1024)
#define BULK_LINE 64             /* sendbulk writes lines of this many bytes, CRLF included */

/* "N TEXT": drip's pause in ms or sendrep's count, then text as for send. */
static int parse_num_text(const char *path, struct step *s, const char *arg,
                          struct parse_state *st)
{
    char *end;
    errno = 0;
    long n = strtol(arg, &end, 10);
    long max = s->op == OP_DRIP ? DRIP_MAX_MS : SENDREP_MAX_BYTES;
    if (errno || end == arg || *end != ' ' || end[1] == '\0' || n < (s->op == OP_DRIP ? 0 : 1)
        || n > max)
        return parse_error(path, s->lineno, "expected \"%s TEXT\" (N up to %ld)",
                           s->op == OP_DRIP ? "MS" : "COUNT", max);
    int rc = parse_text(path, s, end + 1, st);
    size_t len, bad;
    unsigned char *probe = rc ? NULL : expand_text(s->text, "", &len, &bad);
    if (probe && s->op == OP_SENDREP && (len == 0 || n > SENDREP_MAX_BYTES / (long)len))
        rc = parse_error(path, s->lineno, "sendrep: more than %ld bytes", SENDREP_MAX_BYTES);
    free(probe);
    if (s->op == OP_DRIP)
        s->ms = n;
    else
        s->count = n;
    return rc;
}

static int parse_arg(const char *path, struct step *s, enum arg_kind kind, const char *arg,
                     struct parse_state *st)
{
    char *end;
    switch (kind) {
    case ARG_NONE: return 0;
    case ARG_TEXT: return parse_text(path, s, arg, st);
    case ARG_REGEX: return parse_regex(path, s, arg);
    case ARG_HEX:
        s->raw = decode_hex(arg, &s->rawlen);
        return s->raw ? 0 : parse_error(path, s->lineno, "bad hex: \"%s\"", arg);
    case ARG_MS:
        errno = 0;
        s->ms = strtol(arg, &end, 10);
        if (errno || end == arg || *end || s->ms < 0 || s->ms > 600000)
            return parse_error(path, s->lineno, "bad milliseconds: \"%s\"", arg);
        return 0;
    case ARG_NUM_TEXT: return parse_num_text(path, s, arg, st);
    case ARG_BULK:
        s->pop3 = strncmp(arg, "pop3 ", 5) == 0;
        if (!s->pop3 && strncmp(arg, "imap ", 5) != 0)
            return parse_error(path, s->lineno, "expected \"sendbulk imap|pop3 SIZE\"");
        errno = 0;
        s->count = strtol(arg + 5, &end, 10);
        if (errno || end == arg + 5 || *end || s->count < 1 || s->count > SENDBULK_MAX_BYTES)
            return parse_error(path, s->lineno, "sendbulk: SIZE from 1 to %ld", SENDBULK_MAX_BYTES);
        return 0;
    }
    return 0;
}

/* Ordering rules: a scenario is a straight line, so these can be checked
 * statically. */
static int check_order(const char *path, const struct step *s, struct parse_state *st)
{
    if (st->ended)
        return parse_error(path, s->lineno, "step after close/reset/drain/end");
    if ((s->op == OP_TLS || s->op == OP_EXPECT_TLS) && st->in_tls)
        return parse_error(path, s->lineno, "TLS is already active");
    if (s->op == OP_TLS && !st->have_cert)
        return parse_error(path, s->lineno, "tls needs --cert and --key");
    st->in_tls |= s->op == OP_TLS;
    st->seen_expect |= s->op == OP_EXPECT;
    st->ended = s->op == OP_CLOSE || s->op == OP_RESET || s->op == OP_DRAIN || s->op == OP_END;
    return 0;
}

/* Split "keyword[ SP argument]". The argument is everything after the single
 * separator, verbatim: trailing spaces may be meant (use \x20 to be safe). */
static int parse_line(const char *path, int lineno, char *line, struct step *s,
                      struct parse_state *st)
{
    size_t wlen = strcspn(line, " \t");
    const struct keyword *kw = find_keyword(line, wlen);
    if (!kw)
        return parse_error(path, lineno, "unknown step \"%.*s\"", (int)wlen, line);
    const char *arg = line[wlen] ? line + wlen + 1 : "";
    s->op = kw->op;
    s->lineno = lineno;
    if (kw->arg == ARG_NONE && arg[strspn(arg, " \t")] != '\0')
        return parse_error(path, lineno, "%s takes no argument", kw->name);
    if (kw->arg != ARG_NONE && *arg == '\0')
        return parse_error(path, lineno, "%s needs an argument", kw->name);
    int rc = check_order(path, s, st);
    return rc ? rc : parse_arg(path, s, kw->arg, arg, st);
}

static struct step *new_step(struct scenario *sc)
{
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 32;
        struct step *p = realloc(sc->steps, sc->cap * sizeof *p);
        if (!p) {
            fputs("scripted_server: out of memory\n", stderr);
            exit(EXIT_SETUP);
        }
        sc->steps = p;
    }
    struct step *s = &sc->steps[sc->n++];
    memset(s, 0, sizeof *s);
    return s;
}

/* Strip the line ending (LF or CRLF, so scenarios edited on Windows work) and
 * leading indentation. Returns NULL for blank and comment lines. */
static char *clean_line(char *line)
{
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') line[--n] = '\0';
    if (n && line[n - 1] == '\r') line[--n] = '\0';
    line += strspn(line, " \t");
    return (*line == '\0' || *line == '#') ? NULL : line;
}

static int parse_scenario(struct scenario *sc, bool have_cert)
{
    FILE *f = fopen(sc->path, "r");
    if (!f) {
        fprintf(stderr, "scripted_server: %s: %s\n", sc->path, strerror(errno));
        return EXIT_SETUP;
    }
    struct parse_state st = {.have_cert = have_cert};
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0, lineno = 0;
    while (rc == 0 && getline(&buf, &cap, f) >= 0) {
        char *line = clean_line(buf);
        lineno++;
        if (line)
            rc = parse_line(sc->path, lineno, line, new_step(sc), &st);
    }
    free(buf);
    fclose(f);
    return rc;
}

static void free_scenario(struct scenario *sc)
{
    for (size_t i = 0; i < sc->n; i++) {
        free(sc->steps[i].text);
        free(sc->steps[i].raw);
        if (sc->steps[i].re_ok)
            regfree(&sc->steps[i].re);
    }
    free(sc->steps);
}

/* ---------- low-level I/O with the deadline ---------- */

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 error.
 * POLLERR/POLLHUP count as ready: the following read/write reports them. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0) return 1;
        if (r == 0) return 0;
        if (errno != EINTR) return -1;
    }
}

static enum io wait_io(int fd, short events, int64_t deadline)
{
    int w = wait_fd(fd, events, deadline);
    return w > 0 ? IO_AGAIN : w == 0 ? IO_TIMEOUT : IO_ERR;
}

static void write_all_fd(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            perror("scripted_server: writing the log");
            return;
        }
        c += w;
        n -= (size_t)w;
    }
}

static void log_bytes(const struct conn *c, const void *p, size_t n)
{
    if (c->logfd >= 0)
        write_all_fd(c->logfd, p, n);
}

/* After a failed SSL call: wait for what it wants (IO_AGAIN), or classify. */
static enum io tls_wait(struct conn *c, int ret, int64_t deadline)
{
    int err = SSL_get_error(c->ssl, ret);
    switch (err) {
    case SSL_ERROR_WANT_READ: return wait_io(c->fd, POLLIN, deadline);
    case SSL_ERROR_WANT_WRITE: return wait_io(c->fd, POLLOUT, deadline);
    case SSL_ERROR_ZERO_RETURN: return IO_EOF;
    case SSL_ERROR_SYSCALL:
        if (errno == ECONNRESET || errno == EPIPE)
            return IO_RESET;
        if (errno == 0 && ERR_peek_error() == 0)
            return IO_EOF;   /* TCP FIN in the middle of the handshake */
        c->io_errno = errno;
        return IO_ERR;
    default:   /* details stay in the OpenSSL error queue for fail_io */
        c->io_errno = 0;
        return IO_ERR;
    }
}

static enum io tls_read(struct conn *c, void *p, size_t n, size_t *got, int64_t deadline)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_read(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
        if (r > 0) {
            *got = (size_t)r;
            return IO_OK;
        }
        enum io st = tls_wait(c, r, deadline);
        if (st != IO_AGAIN)
            return st;
    }
}

static enum io plain_read(struct conn *c, void *p, size_t n, size_t *got, int64_t deadline)
{
    for (;;) {
        ssize_t r = read(c->fd, p, n);
        if (r > 0) {
            *got = (size_t)r;
            return IO_OK;
        }
        if (r == 0)
            return IO_EOF;
        if (errno == ECONNRESET)
            return IO_RESET;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            c->io_errno = errno;
            return IO_ERR;
        }
        enum io st = wait_io(c->fd, POLLIN, deadline);
        if (st != IO_AGAIN)
            return st;
    }
}

/* Append whatever the client sends next to c->buf (and to the log). */
static enum io conn_fill(struct conn *c, int64_t deadline)
{
    size_t got = 0, room = sizeof c->buf - c->len;
    enum io st = c->ssl ? tls_read(c, c->buf + c->len, room, &got, deadline)
                        : plain_read(c, c->buf + c->len, room, &got, deadline);
    if (st == IO_OK) {
        log_bytes(c, c->buf + c->len, got);
        c->len += got;
    }
    return st;
}

static enum io tls_write(struct conn *c, const void *p, size_t n)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        /* Retried with the same arguments, as OpenSSL requires. */
        int r = SSL_write(c->ssl, p, (int)n);
        if (r > 0)
            return IO_OK;
        enum io st = tls_wait(c, r, g_deadline_ms);
        if (st != IO_AGAIN)
            return st;
    }
}

static enum io plain_write(struct conn *c, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(c->fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == ECONNRESET || errno == EPIPE))
            return IO_RESET;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            c->io_errno = errno;
            return IO_ERR;
        }
        enum io st = wait_io(c->fd, POLLOUT, g_deadline_ms);
        if (st != IO_AGAIN)
            return st;
    }
    return IO_OK;
}

static enum io conn_write(struct conn *c, const unsigned char *p, size_t n)
{
    if (n == 0)
        return IO_OK;
    if (n > INT_MAX)
        return IO_ERR;
    trace(c, "S:", p, n);
    return c->ssl ? tls_write(c, p, n) : plain_write(c, p, n);
}

/* Take one line out of the buffer, reading more as needed. The line is
 * returned NUL-terminated without its CRLF/LF; bytes after it stay buffered
 * for the next expect. */
static enum io read_line(struct conn *c, char **line, size_t *linelen)
{
    for (;;) {
        unsigned char *lf = memchr(c->buf, '\n', c->len);
        if (lf) {
            size_t used = (size_t)(lf - c->buf) + 1, n = used - 1;
            if (n && c->buf[n - 1] == '\r')
                n--;
            if (n > LINE_MAX_BYTES)
                return IO_TOOLONG;
            *line = xmalloc(n + 1);
            memcpy(*line, c->buf, n);
            (*line)[n] = '\0';
            *linelen = n;
            c->len -= used;
            memmove(c->buf, c->buf + used, c->len);
            return IO_OK;
        }
        if (c->len > LINE_MAX_BYTES + 1)   /* +1: the CR of a maximal line */
            return IO_TOOLONG;
        enum io st = conn_fill(c, g_deadline_ms);
        if (st != IO_OK)
            return st;
    }
}

/* ---------- steps ---------- */

static const char *io_text(enum io st)
{
    switch (st) {
    case IO_EOF: return "the client closed the connection";
    case IO_RESET: return "the connection was reset";
    case IO_TIMEOUT: return "timed out (--timeout)";
    case IO_TOOLONG: return "line longer than 64 KiB";
    default: return "failed";
    }
}

/* A step failed on I/O: say why, and show any bytes the client did send. */
static int fail_io(struct conn *c, const struct step *s, const char *what, enum io st)
{
    fail(c, s, "%s: %s", what, io_text(st));
    if (st == IO_ERR && c->io_errno)
        fprintf(stderr, "  system: %s\n", strerror(c->io_errno));
    print_ssl_errors();
    if (c->len)
        show_received("received", c->buf, c->len);
    return EXIT_FAIL;
}

static void set_tag(struct conn *c, const char *line, size_t n)
{
    size_t wlen = strcspn(line, " ");
    free(c->tag);
    c->tag = strndup(line, wlen < n ? wlen : n);
}

static int hung_up(struct conn *c, const struct step *s, enum io st, size_t bytes);

static int step_send(struct conn *c, const struct step *s)
{
    size_t n, bad;
    unsigned char *out = expand_text(s->text, c->tag ? c->tag : "", &n, &bad);
    if (!out)   /* validated while parsing; cannot happen */
        return fail(c, s, "bad escape");
    enum io st = conn_write(c, out, n);
    free(out);
    /* The answer to a LOGOUT/QUIT finding the client gone is fine: it did not wait. */
    if (st != IO_OK && c->said_goodbye && hung_up(c, s, st, 0))
        return 0;
    return st == IO_OK ? 0 : fail_io(c, s, "send", st);
}

static int step_sendraw(struct conn *c, const struct step *s)
{
    enum io st = conn_write(c, s->raw, s->rawlen);
    return st == IO_OK ? 0 : fail_io(c, s, "sendraw", st);
}

/* "tag LOGOUT" or "QUIT": after it a client may close without waiting. */
static bool is_goodbye(const char *line, size_t n)
{
    const char *sp = memchr(line, ' ', n);
    if (n == 4 && strncasecmp(line, "QUIT", 4) == 0)
        return true;
    return sp && (size_t)(line + n - (sp + 1)) == 6 && strncasecmp(sp + 1, "LOGOUT", 6) == 0;
}

static int step_expect(struct conn *c, const struct step *s)
{
    char *line;
    size_t n;
    enum io st = read_line(c, &line, &n);
    if (st != IO_OK)
        return fail_io(c, s, "expect", st);
    trace(c, "C:", line, n);
    int flags = 0;
    regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)n};
#ifdef REG_STARTEND
    flags = REG_STARTEND;   /* match the whole line even if it holds NUL bytes */
#endif
    int rc = regexec(&s->re, line, 1, &m, flags);
    if (rc != 0) {
        fail(c, s, "expect /%s/ did not match", s->text);
        show_received("received line", (unsigned char *)line, n);
    } else {
        set_tag(c, line, n);
        c->said_goodbye = is_goodbye(line, n);
    }
    free(line);
    return rc == 0 ? 0 : EXIT_FAIL;
}

static int step_expect_eof(struct conn *c, const struct step *s)
{
    if (c->len) {   /* bytes already buffered are bytes the client sent */
        fail(c, s, "expect_eof: the client sent data instead of closing");
        show_received("received", c->buf, c->len);
        return EXIT_FAIL;
    }
    enum io st = conn_fill(c, g_deadline_ms);
    if (st == IO_EOF)
        return 0;
    if (st == IO_RESET) {   /* a client closing with unread data sends RST */
        fprintf(stderr, "%s:%d: note: the client closed with RST\n", c->path, s->lineno);
        return 0;
    }
    if (st == IO_OK) {
        fail(c, s, "expect_eof: the client sent data instead of closing");
        show_received("received", c->buf, c->len);
        return EXIT_FAIL;
    }
    return fail_io(c, s, "expect_eof", st);
}

/* Peek at the next byte without consuming it, so the TLS handshake that
 * follows still sees the whole ClientHello. */
static enum io peek_byte(struct conn *c, unsigned char *b)
{
    if (c->len) {
        *b = c->buf[0];
        return IO_OK;
    }
    for (;;) {
        ssize_t r = recv(c->fd, b, 1, MSG_PEEK);
        if (r == 1) return IO_OK;
        if (r == 0) return IO_EOF;
        if (errno == ECONNRESET) return IO_RESET;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            c->io_errno = errno;
            return IO_ERR;
        }
        enum io st = wait_io(c->fd, POLLIN, g_deadline_ms);
        if (st != IO_AGAIN)
            return st;
    }
}

static int step_expect_tls(struct conn *c, const struct step *s)
{
    unsigned char b;
    enum io st = peek_byte(c, &b);
    if (st != IO_OK)
        return fail_io(c, s, "expect_tls", st);
    if (b == 0x16)
        return 0;
    /* Consume what is there so it is shown and logged: the test has failed
     * anyway, and the log should hold everything the client sent. */
    if (c->len == 0)
        conn_fill(c, g_deadline_ms);
    fail(c, s, "expect_tls: the client did not start a TLS handshake (first byte 0x%02x)", b);
    show_received("received", c->buf, c->len);
    return EXIT_FAIL;
}

static void log_marker(const struct conn *c)
{
    static const char marker[] = "== TLS ==\n";
    log_bytes(c, marker, sizeof marker - 1);
}

static void trace_tls(const struct conn *c)
{
    if (c->verbose)
        fprintf(stderr, "-- TLS established: %s %s\n", SSL_get_version(c->ssl),
                SSL_get_cipher_name(c->ssl));
}

static int step_tls(struct conn *c, const struct step *s)
{
    /* Plaintext the client sent after its STARTTLS line but before our
     * answer is exactly what a STARTTLS-safe client must not do. */
    if (c->len) {
        fail(c, s, "tls: unconsumed plaintext from the client before TLS started");
        show_received("buffered", c->buf, c->len);
        return EXIT_FAIL;
    }
    log_marker(c);
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        print_ssl_errors();
        return fail(c, s, "tls: cannot create the SSL object");
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_accept(c->ssl);
        if (r == 1)
            break;
        enum io st = tls_wait(c, r, g_deadline_ms);
        if (st != IO_AGAIN)
            return fail_io(c, s, "tls handshake", st);
    }
    trace_tls(c);
    return 0;
}

static int pause_ms(struct conn *c, const struct step *s, long ms);

/* A client that hangs up while a drip or sendrep is being written ends the
 * step early but successfully: giving up on a slow or flooding server is
 * what a client should do, and the following step (expect_eof) checks that
 * it did; any other step that follows fails on the closed connection. */
static int hung_up(struct conn *c, const struct step *s, enum io st, size_t bytes)
{
    if (st != IO_RESET && !(st == IO_ERR && c->io_errno == EPIPE))
        return 0;
    fprintf(stderr, "%s:%d: note: the client hung up after %zu bytes\n", c->path, s->lineno,
            bytes);
    return 1;
}

/* One write per byte with a pause after each: a slow server (or a slowloris
 * one). */
static int step_drip(struct conn *c, const struct step *s)
{
    size_t n, bad;
    unsigned char *out = expand_text(s->text, c->tag ? c->tag : "", &n, &bad);
    if (!out)
        return fail(c, s, "bad escape");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        enum io st = conn_write(c, out + i, 1);
        if (st != IO_OK) {
            rc = hung_up(c, s, st, i) ? 0 : fail_io(c, s, "drip", st);
            break;
        }
        if (i + 1 < n)
            rc = pause_ms(c, s, s->ms);
    }
    free(out);
    return rc;
}

/* COUNT copies of the text, written in large chunks (a flood). */
static int step_sendrep(struct conn *c, const struct step *s)
{
    size_t n, bad;
    unsigned char *one = expand_text(s->text, c->tag ? c->tag : "", &n, &bad);
    if (!one)
        return fail(c, s, "bad escape");
    size_t per = n >= 65536 ? 1 : 65536 / n, bytes = 0;
    unsigned char *chunk = xmalloc(per * n);
    for (size_t i = 0; i < per; i++)
        memcpy(chunk + i * n, one, n);
    bool verbose = c->verbose;
    c->verbose = false;   /* a trace of megabytes helps nobody */
    enum io st = IO_OK;
    for (long left = s->count; left > 0 && st == IO_OK;) {
        size_t k = (size_t)left < per ? (size_t)left : per;
        st = conn_write(c, chunk, k * n);
        left -= (long)k;
        bytes += st == IO_OK ? k * n : 0;
    }
    c->verbose = verbose;
    free(chunk);
    free(one);
    return st == IO_OK || hung_up(c, s, st, bytes) ? 0 : fail_io(c, s, "sendrep", st);
}

/* 64 KiB of text lines; every 16th starts with a stuffed dot (POP3) or a
 * plain one (IMAP), so the client's dot handling is on the hot path too. */
static void bulk_pattern(unsigned char *buf, size_t cap, bool pop3)
{
    for (size_t i = 0; i * BULK_LINE < cap; i++) {
        char line[BULK_LINE + 1];
        snprintf(line, sizeof line, "%s bulk line %06zu: the quick brown fox jumps over the lazy dog",
                 i % 16 == 0 ? (pop3 ? ".." : ". ") : "  ", i);
        memset(line + strlen(line), ' ', BULK_LINE - strlen(line));
        memcpy(line + BULK_LINE - 2, "\r\n", 2);
        memcpy(buf + i * BULK_LINE, line, BULK_LINE);
    }
}

/* A huge reply, fast: an IMAP literal "* 1 FETCH (BODY[] {N}" + N bytes + ")"
 * or a POP3 "+OK" + N bytes of dot-stuffed lines (N rounded up to whole
 * 64-byte lines) + ".". Written in 64 KiB chunks, no trace. */
static int step_sendbulk(struct conn *c, const struct step *s)
{
    enum { CHUNK = 65536 };
    unsigned char *chunk = xmalloc(CHUNK);
    bulk_pattern(chunk, CHUNK, s->pop3);
    uint64_t total = (uint64_t)s->count;
    if (s->pop3)
        total = (total + BULK_LINE - 1) / BULK_LINE * BULK_LINE;
    char head[80];
    int hn = s->pop3 ? snprintf(head, sizeof head, "+OK %llu octets\r\n", (unsigned long long)total)
                     : snprintf(head, sizeof head, "* 1 FETCH (BODY[] {%llu}\r\n",
                                (unsigned long long)total);
    bool verbose = c->verbose;
    c->verbose = false;
    uint64_t bytes = 0;
    enum io st = conn_write(c, (unsigned char *)head, (size_t)hn);
    while (st == IO_OK && bytes < total) {
        size_t k = total - bytes < CHUNK ? (size_t)(total - bytes) : CHUNK;
        st = conn_write(c, chunk, k);
        bytes += st == IO_OK ? k : 0;
    }
    if (st == IO_OK)
        st = conn_write(c, (const unsigned char *)(s->pop3 ? ".\r\n" : ")\r\n"), 3);
    c->verbose = verbose;
    free(chunk);
    return st == IO_OK || hung_up(c, s, st, (size_t)bytes) ? 0 : fail_io(c, s, "sendbulk", st);
}

static int step_sleep(struct conn *c, const struct step *s)
{
    return pause_ms(c, s, s->ms);
}

static int pause_ms(struct conn *c, const struct step *s, long ms)
{
    int64_t until = now_ms() + ms;
    if (until > g_deadline_ms)
        return fail(c, s, "sleep %ld: would exceed --timeout", ms);
    for (int64_t left; (left = until - now_ms()) > 0;) {
        struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
        nanosleep(&ts, NULL);   /* EINTR: the loop recomputes what is left */
    }
    return 0;
}

/* Read and discard (but log) until the client closes or deadline passes. */
static enum io discard_until(struct conn *c, int64_t deadline)
{
    enum io st;
    do {
        c->len = 0;
        st = conn_fill(c, deadline);
    } while (st == IO_OK);
    c->len = 0;
    return st;
}

/* close_notify once; the client's own close_notify is read by discard_until. */
static void tls_shutdown(struct conn *c)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        if (SSL_shutdown(c->ssl) >= 0)
            break;
        if (tls_wait(c, -1, min64(g_deadline_ms, now_ms() + CLOSE_LINGER_MS)) != IO_AGAIN)
            break;   /* the client may be gone already; closing anyway */
    }
    ERR_clear_error();
}

/* Graceful close: close_notify, FIN, then wait briefly for the client's FIN.
 * Closing a socket with unread input makes the kernel send RST, which can
 * destroy our last response in the client's receive queue; draining first
 * avoids that. */
static void close_gracefully(struct conn *c, int linger_ms)
{
    if (c->fd < 0)
        return;
    if (c->ssl)
        tls_shutdown(c);
    shutdown(c->fd, SHUT_WR);
    if (linger_ms > 0)
        discard_until(c, min64(g_deadline_ms, now_ms() + linger_ms));
    close(c->fd);
    c->fd = -1;
}

static int step_reset(struct conn *c)
{
    /* SO_LINGER {1, 0}: close() sends RST instead of FIN. No close_notify. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
        perror("scripted_server: SO_LINGER");
    close(c->fd);
    c->fd = -1;
    return 0;
}

static int step_drain(struct conn *c)
{
    discard_until(c, min64(g_deadline_ms, now_ms() + DRAIN_MS));
    close_gracefully(c, 0);
    return 0;
}

static int run_step(struct conn *c, const struct step *s)
{
    switch (s->op) {
    case OP_SEND: return step_send(c, s);
    case OP_SENDRAW: return step_sendraw(c, s);
    case OP_EXPECT: return step_expect(c, s);
    case OP_EXPECT_EOF: return step_expect_eof(c, s);
    case OP_EXPECT_TLS: return step_expect_tls(c, s);
    case OP_TLS: return step_tls(c, s);
    case OP_SLEEP: return step_sleep(c, s);
    case OP_DRIP: return step_drip(c, s);
    case OP_SENDREP: return step_sendrep(c, s);
    case OP_SENDBULK: return step_sendbulk(c, s);
    case OP_RESET: return step_reset(c);
    case OP_DRAIN: return step_drain(c);
    case OP_CLOSE:
    case OP_END: close_gracefully(c, CLOSE_LINGER_MS); return 0;
    }
    return 0;
}

static int run_scenario(struct conn *c, const struct scenario *sc)
{
    for (size_t i = 0; i < sc->n; i++) {
        int rc = run_step(c, &sc->steps[i]);
        if (rc != 0)
            return rc;
    }
    close_gracefully(c, CLOSE_LINGER_MS);   /* no-op after close/reset/drain/end */
    return 0;
}

/* ---------- set-up ---------- */

static void usage(void)
{
    fputs("usage: scripted_server [--cert FILE --key FILE] [--bind ADDR] "
          "[--timeout SECS] [--log FILE] [--verbose] [--seclevel N] "
          "[--tls-max 1.0|1.1|1.2|1.3] SCENARIO_FILE\n", stderr);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"cert", required_argument, NULL, 'c'}, {"key", required_argument, NULL, 'k'},
        {"bind", required_argument, NULL, 'b'}, {"timeout", required_argument, NULL, 't'},
        {"log", required_argument, NULL, 'l'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'}, {"seclevel", required_argument, NULL, 's'},
        {"tls-max", required_argument, NULL, 'm'}, {NULL, 0, NULL, 0},
    };
    char *end;
    int ch;
    while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->cert = optarg; break;
        case 'k': o->key = optarg; break;
        case 'b': o->bind = optarg; break;
        case 'l': o->log = optarg; break;
        case 'v': o->verbose = true; break;
        case 's':
            o->seclevel = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end || o->seclevel < 0 || o->seclevel > 5) {
                fprintf(stderr, "scripted_server: bad --seclevel \"%s\"\n", optarg);
                return EXIT_SETUP;
            }
            break;
        case 'm':
            o->tls_max = !strcmp(optarg, "1.0") ? TLS1_VERSION : !strcmp(optarg, "1.1") ? TLS1_1_VERSION
                       : !strcmp(optarg, "1.2") ? TLS1_2_VERSION : !strcmp(optarg, "1.3") ? TLS1_3_VERSION : -1;
            if (o->tls_max < 0) {
                fprintf(stderr, "scripted_server: bad --tls-max \"%s\"\n", optarg);
                return EXIT_SETUP;
            }
            break;
        case 't':
            o->timeout = strtod(optarg, &end);
            if (end == optarg || *end || !(o->timeout > 0 && o->timeout <= 3600)) {
                fprintf(stderr, "scripted_server: bad --timeout \"%s\"\n", optarg);
                return EXIT_SETUP;
            }
            break;
        default: usage(); return EXIT_SETUP;
        }
    }
    if (optind != argc - 1 || !o->cert != !o->key) {
        usage();
        return EXIT_SETUP;
    }
    o->scenario = argv[optind];
    return 0;
}

/* Numeric loopback address only ("::1", "[::1]", "127.0.0.2"): a test fixture
 * that speaks hostile protocol must never be reachable from the network. */
static int make_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof host) {
        memcpy(host, s + 1, n - 2);
        host[n - 2] = '\0';
    } else {
        snprintf(host, sizeof host, "%s", s);
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        *len = sizeof *v4;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127 ? 0 : -1;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        *len = sizeof *v6;
        return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ? 0 : -1;
    }
    return -1;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Listen on ADDR port 0 and announce the port; returns the fd or -1. */
static int open_listener(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (make_addr(addr, &ss, &len) != 0) {
        fprintf(stderr, "scripted_server: --bind %s: not a numeric loopback address\n", addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1) != 0) {
        fprintf(stderr, "scripted_server: listen on %s: %s\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    printf("PORT %d\n", bound_port(fd));
    fflush(stdout);
    return fd;
}

/* Wait for the one client; the listener is closed so no second one gets in. */
static int accept_one(int lfd)
{
    int fd = -1;
    if (wait_fd(lfd, POLLIN, g_deadline_ms) <= 0)
        fputs("scripted_server: no client connected before --timeout\n", stderr);
    else if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
        perror("scripted_server: accept");
    close(lfd);
    if (fd >= 0) {
        /* Each send must leave as its own segment(s) where possible, so tests
         * control segmenting; Nagle would merge consecutive small writes. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static SSL_CTX *make_ctx(const struct opts *o)
{
    const char *cert = o->cert, *key = o->key;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        goto err;
    /* Before loading: the level decides whether an RSA-1024 or SHA-1 signed
     * certificate may be served at all, and (at 0) TLS 1.0/1.1. */
    if (o->seclevel >= 0)
        SSL_CTX_set_security_level(ctx, o->seclevel);
    if (o->seclevel == 0)
        SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    if (o->tls_max && SSL_CTX_set_max_proto_version(ctx, o->tls_max) != 1)
        goto err;
    /* A client that just drops the TCP connection is treated as EOF, not an
     * error: expect_eof/drain care that it closed, not how politely. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto err;
    return ctx;
err:
    fprintf(stderr, "scripted_server: cannot load --cert %s / --key %s\n", cert, key);
    print_ssl_errors();
    SSL_CTX_free(ctx);
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "scripted_server: hard timeout, giving up\n";
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing left to do */
    }
    _exit(EXIT_FAIL);
}

/* poll() timeouts give precise failure messages; alarm() is the backstop for
 * anything that blocks without one, so a test run can never hang. */
static void arm_deadline(double timeout)
{
    g_deadline_ms = now_ms() + (int64_t)(timeout * 1000);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)timeout + 3);   /* +3: rounds up, and lets poll() fire first */
}

static int open_log(const char *path)
{
    if (!path)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        fprintf(stderr, "scripted_server: --log %s: %s\n", path, strerror(errno));
    return fd;
}

/* Everything that can fail before a client is served; EXIT_SETUP on error. */
static int setup(struct opts *o, struct scenario *sc, struct conn *c)
{
    sc->path = o->scenario;
    c->path = o->scenario;
    c->verbose = o->verbose;
    int rc = parse_scenario(sc, o->cert != NULL);
    if (rc)
        return rc;
    if (o->cert && !(c->ctx = make_ctx(o)))
        return EXIT_SETUP;
    if (o->log && (c->logfd = open_log(o->log)) < 0)
        return EXIT_SETUP;
    return 0;
}

static int serve(const struct opts *o, const struct scenario *sc, struct conn *c)
{
    int lfd = open_listener(o->bind);
    if (lfd < 0)
        return EXIT_SETUP;
    c->fd = accept_one(lfd);
    if (c->fd < 0)
        return EXIT_FAIL;
    int rc = run_scenario(c, sc);
    if (c->fd >= 0) {   /* a failed step: just drop the connection */
        close(c->fd);
        c->fd = -1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o = {.bind = "127.0.0.1", .timeout = 10, .seclevel = -1};
    struct scenario sc = {0};
    int rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc;
    arm_deadline(o.timeout);
    /* Writes to a vanished client must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return EXIT_SETUP;
    c->fd = c->logfd = -1;
    rc = setup(&o, &sc, c);
    if (rc == 0)
        rc = serve(&o, &sc, c);
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->logfd >= 0)
        close(c->logfd);
    free(c->tag);
    free(c);
    free_scenario(&sc);
    return rc;
}
