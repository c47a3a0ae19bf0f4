/* test_session_race — hostile timing at the STARTTLS boundary that a probe
 * run cannot produce on purpose, because it depends on when the loop runs:
 * here the test holds the loop still while the server's bytes arrive.
 *
 * The case (net-imap CVE-2026-42246, invariant I2 "a tagged response for a
 * command that has not been completely sent is a violation"): the server
 * sends "a001 OK Begin TLS" before the client has sent "a001 STARTTLS". The
 * bytes wait in the socket, unread, when STARTTLS is queued; the next loop
 * turn writes STARTTLS and then reads the OK. The OK was not an answer to
 * STARTTLS (it was on the wire first), so TLS must not start on it: the
 * engine may refuse STARTTLS while unread data waits, abort as injection,
 * or ignore the early OK and wait for a real answer — but it must not send
 * a ClientHello. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"
#include "session.h"

struct seen {
    enum session_event_type type;
    enum session_op op;
    bool ok;
    enum failure_class fail;
};

static struct {
    struct loop *loop;
    struct session *s;
    struct peer *peer;
    struct seen ev[256];
    size_t n;
} T;

/* What the client sent after the early OK, read by the peer thread. */
static uint8_t collected[8192];
static size_t ncollected;

static void on_event(void *arg, const struct session_event *ev)
{
    (void)arg;
    if (T.n < sizeof T.ev / sizeof *T.ev)
        T.ev[T.n++] = (struct seen){ ev->type, ev->op, ev->ok, ev->fail };
}

static void cleanup(void)
{
    if (T.s)
        session_free(T.s);
    if (T.loop)
        loop_free(T.loop);
    if (T.peer) {
        peer_finish(T.peer);
        peer_free(T.peer);
    }
    memset(&T, 0, sizeof T);
}

TestSuite(session_race, .timeout = 20 * MS_SLOW_FACTOR, .fini = cleanup);

static const struct seen *find(enum session_event_type type, enum session_op op)
{
    for (size_t i = 0; i < T.n; i++)
        if (T.ev[i].type == type && T.ev[i].op == op)
            return &T.ev[i];
    return NULL;
}

static void run_loop_ms(int ms)
{
    int64_t end = loop_now_ms() + ms;
    while (loop_now_ms() < end)
        loop_run_once(T.loop, 10);
}

/* Peer step: keep everything the client sends for 1.5 s (or until it
 * closes); a ClientHello would be among it. */
static int collect(struct peer *p, const void *arg)
{
    (void)arg;
    int64_t end = loop_now_ms() + 1500;
    while (ncollected < sizeof collected && loop_now_ms() < end) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        ssize_t r = recv(p->fd, collected + ncollected, sizeof collected - ncollected, 0);
        if (r <= 0)
            break;
        ncollected += (size_t)r;
    }
    return 0;
}

Test(session_race, tagged_ok_on_the_wire_before_starttls_was_sent_starts_no_tls)
{
    static const struct peer_step script[] = {
        P_SEND("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] mail.test IMAP ready\r\n"),
        P_SLEEP(300),
        P_SEND("a001 OK Begin TLS negotiation now.\r\n"),
        P_CALL(collect, NULL),
        P_END };
    T.peer = peer_start(script);
    cr_assert_not_null(T.peer);
    T.loop = loop_new();
    struct session_params p = { .proto = SESSION_IMAP, .host = "127.0.0.1", .port = T.peer->port,
                                .family = AF_INET, .timeout_ms = 3000,
                                .tls = { .servername = "mail.test" } };
    T.s = session_new(T.loop, &p, on_event, NULL);
    cr_assert_eq(session_connect(T.s), 0);
    int64_t end = loop_now_ms() + 2000;
    while (!find(SEV_OP_END, OP_GREETING) && loop_now_ms() < end)
        loop_run_once(T.loop, 10);
    cr_assert(find(SEV_OP_END, OP_GREETING) && find(SEV_OP_END, OP_GREETING)->ok);

    usleep(700 * 1000);   /* the loop stands still: the early OK arrives unread */
    int rc = session_starttls(T.s);
    run_loop_ms(1000);

    const struct seen *st = find(SEV_OP_END, OP_STARTTLS);
    cr_assert(rc < 0 || !st || !st->ok, "STARTTLS succeeded on an OK that was on the wire "
              "before STARTTLS was sent");
    cr_assert_null(find(SEV_OP_BEGIN, OP_TLS), "a TLS handshake began on the early OK");
    peer_finish(T.peer);
    cr_assert_null(memchr(collected, 0x16, ncollected),
                   "the client sent a ClientHello after an OK that preceded its STARTTLS");
}
