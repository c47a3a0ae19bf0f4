/* delayproxy — a loopback TCP proxy that delays every chunk by D ms each way,
 * so a benchmark can count a client's round trips as wall time / (2·D).
 *
 *   delayproxy [--bind ADDR] DELAY_MS TARGET_ADDR TARGET_PORT
 *
 * Listens on ADDR (default 127.0.0.1), port 0, prints "PORT <n>" and serves
 * until killed. Each accepted connection is paired with a new connection to
 * the target, opened D ms later (the SYN's way there; the greeting then takes
 * D back, so connect + greeting cost one round trip, as on a real link).
 * Every chunk read from either side is stamped and written to the other side
 * D ms after it arrived, in order; an end of stream is forwarded the same way
 * (shutdown(SHUT_WR)), so half-closes pass through. Many connections at once;
 * one poll() loop; only numeric loopback addresses. A bench tool, not a
 * product: errors end the pair, not the proxy. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define CHUNK 65536

struct chunk {
    struct chunk *next;
    int64_t due_us;
    size_t len, off;        /* len 0: end of stream */
    uint8_t data[];
};

/* One direction: bytes read from `from` go to `to` after the delay. */
struct dir {
    int from, to;
    struct chunk *head, *tail;
    size_t queued;
    bool eof_read, eof_sent;
};

struct pair {
    bool used;
    int client, server;     /* server -1 until its connect is due */
    int64_t connect_due_us;
    struct dir up, down;    /* client->server, server->client */
};

static struct pair pairs[MAX_PAIRS];
static int64_t delay_us;
static struct sockaddr_in target;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void dir_free(struct dir *d)
{
    while (d->head) {
        struct chunk *c = d->head;
        d->head = c->next;
        free(c);
    }
    d->tail = NULL;
    d->queued = 0;
}

static void pair_close(struct pair *p)
{
    if (p->client >= 0)
        close(p->client);
    if (p->server >= 0)
        close(p->server);
    dir_free(&p->up);
    dir_free(&p->down);
    memset(p, 0, sizeof *p);
    p->client = p->server = -1;
}

static void enqueue(struct dir *d, const uint8_t *buf, size_t n)
{
    struct chunk *c = malloc(sizeof *c + n);
    if (!c) {
        perror("delayproxy: malloc");
        exit(1);
    }
    c->next = NULL;
    c->due_us = now_us() + delay_us;
    c->len = n;
    c->off = 0;
    memcpy(c->data, buf, n);
    if (d->tail)
        d->tail->next = c;
    else
        d->head = c;
    d->tail = c;
    d->queued += n;
}

/* Read what `from` has; -1 when the pair must end. */
static int dir_read(struct dir *d)
{
    uint8_t buf[CHUNK];
    ssize_t n = read(d->from, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0) {
        /* A reset: what is still queued goes out first, then the other side is reset too. */
        if (getenv("DELAYPROXY_DEBUG"))
            fprintf(stderr, "delayproxy: read: %s\n", strerror(errno));
        d->eof_read = true;
        enqueue(d, buf, 0);
        return 0;
    }
    if (n == 0) {
        d->eof_read = true;
        enqueue(d, buf, 0);
        return 0;
    }
    enqueue(d, buf, (size_t)n);
    return 0;
}

/* Write the chunks that are due; -1 when the pair must end. */
static int dir_write(struct dir *d, int64_t now)
{
    while (d->head && d->head->due_us <= now && d->to >= 0) {
        struct chunk *c = d->head;
        if (c->len == 0) {
            shutdown(d->to, SHUT_WR);
            d->eof_sent = true;
        } else {
            ssize_t n = write(d->to, c->data + c->off, c->len - c->off);
            if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -1;
            c->off += (size_t)n;
            d->queued -= (size_t)n;
            if (c->off < c->len)
                return 0;
        }
        d->head = c->next;
        if (!d->head)
            d->tail = NULL;
        free(c);
    }
    return 0;
}

static bool dir_blocked(const struct dir *d, int64_t now)
{
    return d->head && d->head->due_us <= now && d->head->len;
}

static void accept_one(int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_PAIRS; i++) {
        struct pair *p = &pairs[i];
        if (p->used)
            continue;
        memset(p, 0, sizeof *p);
        p->used = true;
        p->client = fd;
        p->server = -1;
        p->connect_due_us = now_us() + delay_us;
        set_nonblock(fd);
        return;
    }
    close(fd);   /* full */
}

static void connect_due(struct pair *p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&target, sizeof target) < 0) {
        if (fd >= 0)
            close(fd);
        pair_close(p);
        return;
    }
    set_nonblock(fd);
    p->server = fd;
    p->up = (struct dir){ .from = p->client, .to = fd, .head = p->up.head, .tail = p->up.tail,
                          .queued = p->up.queued, .eof_read = p->up.eof_read };
    p->down = (struct dir){ .from = fd, .to = p->client };
}

static bool pair_finished(const struct pair *p)
{
    return p->up.eof_sent && p->down.eof_sent;
}

static void run(int lfd)
{
    struct pollfd pfd[1 + 2 * MAX_PAIRS];
    int owner[1 + 2 * MAX_PAIRS];
    for (;;) {
        int64_t now = now_us(), next_due = INT64_MAX;
        size_t n = 0;
        pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        for (int i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (!p->used)
                continue;
            if (p->server < 0) {
                if (p->connect_due_us < next_due)
                    next_due = p->connect_due_us;
                /* read the client's early bytes (none expected): keep them queued */
                pfd[n] = (struct pollfd){ .fd = p->up.eof_read ? -1 : p->client, .events = POLLIN };
                p->up.from = p->client;
                owner[n++] = i;
                continue;
            }
            struct dir *ds[2] = { &p->up, &p->down };
            for (int k = 0; k < 2; k++) {
                struct dir *d = ds[k];
                if (d->head && d->head->due_us < next_due && !dir_blocked(d, now))
                    next_due = d->head->due_us;
            }
            /* fd client: read for up, write for down; fd server: the reverse. */
            short ce = (p->up.eof_read || p->up.queued > 64u << 20 ? 0 : POLLIN) |
                       (dir_blocked(&p->down, now) ? POLLOUT : 0);
            short se = (p->down.eof_read || p->down.queued > 64u << 20 ? 0 : POLLIN) |
                       (dir_blocked(&p->up, now) ? POLLOUT : 0);
            /* A closed side with nothing to write is left out: POLLHUP would spin. */
            pfd[n] = (struct pollfd){ .fd = ce ? p->client : -1, .events = ce };
            owner[n++] = i;
            pfd[n] = (struct pollfd){ .fd = se ? p->server : -1, .events = se };
            owner[n++] = i;
        }
        int timeout = -1;
        if (next_due != INT64_MAX) {
            int64_t ms = (next_due - now + 999) / 1000;
            timeout = ms < 0 ? 0 : (int)ms;
        }
        if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
            perror("delayproxy: poll");
            exit(1);
        }
        if (pfd[0].revents & POLLIN)
            accept_one(lfd);
        for (size_t j = 1; j < n; j++) {
            struct pair *p = &pairs[owner[j]];
            if (!p->used || !(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct dir *d = pfd[j].fd == p->client ? &p->up : &p->down;
            if (!d->eof_read && pfd[j].revents & (POLLIN | POLLHUP | POLLERR) && dir_read(d) < 0)
                pair_close(p);
        }
        now = now_us();
        for (int i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (!p->used)
                continue;
            if (p->server < 0) {
                if (p->connect_due_us <= now)
                    connect_due(p);
                continue;
            }
            if (dir_write(&p->up, now) < 0 || dir_write(&p->down, now) < 0 || pair_finished(p))
                pair_close(p);
        }
    }
}

int main(int argc, char **argv)
{
    const char *bind_addr = "127.0.0.1";
    if (argc > 2 && strcmp(argv[1], "--bind") == 0) {
        bind_addr = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: delayproxy [--bind ADDR] DELAY_MS TARGET_ADDR TARGET_PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    delay_us = strtoll(argv[1], NULL, 10) * 1000;
    struct sockaddr_in la = { .sin_family = AF_INET };
    target = (struct sockaddr_in){ .sin_family = AF_INET,
                                   .sin_port = htons((uint16_t)atoi(argv[3])) };
    if (delay_us < 0 || inet_pton(AF_INET, bind_addr, &la.sin_addr) != 1 ||
        inet_pton(AF_INET, argv[2], &target.sin_addr) != 1 ||
        (ntohl(la.sin_addr.s_addr) >> 24) != 127 || (ntohl(target.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "delayproxy: need a delay >= 0 and numeric 127.x.y.z addresses\n");
        return 2;
    }
    for (int i = 0; i < MAX_PAIRS; i++)
        pairs[i].client = pairs[i].server = -1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t sl = sizeof la;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof la) < 0 || listen(lfd, 64) < 0 ||
        getsockname(lfd, (struct sockaddr *)&la, &sl) < 0) {
        perror("delayproxy: listen");
        return 2;
    }
    printf("PORT %u\n", ntohs(la.sin_port));
    fflush(stdout);
    run(lfd);
    return 0;
}
