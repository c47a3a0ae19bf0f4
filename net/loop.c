#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOOP_MAX_FDS 64
#define LOOP_MAX_TIMERS 128

struct watch {
    int fd;               /* -1: free slot */
    short events;
    loop_fd_fn fn;
    void *arg;
};

struct timer {
    uint64_t id;          /* 0: free slot */
    int64_t due_ms;
    loop_timer_fn fn;
    void *arg;
};

struct loop {
    struct watch watches[LOOP_MAX_FDS];
    struct timer timers[LOOP_MAX_TIMERS];
    uint64_t next_id;
};

int64_t loop_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t loop_now_ms(void) { return loop_now_us() / 1000; }

struct loop *loop_new(void)
{
    struct loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    for (int i = 0; i < LOOP_MAX_FDS; i++)
        l->watches[i].fd = -1;
    l->next_id = 1;
    return l;
}

void loop_free(struct loop *l) { free(l); }

static struct watch *find_watch(struct loop *l, int fd)
{
    for (int i = 0; i < LOOP_MAX_FDS; i++)
        if (l->watches[i].fd == fd)
            return &l->watches[i];
    return NULL;
}

int loop_watch(struct loop *l, int fd, short events, loop_fd_fn fn, void *arg)
{
    struct watch *w = find_watch(l, fd);
    if (!w)
        w = find_watch(l, -1);
    if (!w)
        return -1;
    *w = (struct watch){ .fd = fd, .events = events, .fn = fn, .arg = arg };
    return 0;
}

void loop_unwatch(struct loop *l, int fd)
{
    struct watch *w = find_watch(l, fd);
    if (w)
        w->fd = -1;
}

uint64_t loop_timer(struct loop *l, int64_t ms, loop_timer_fn fn, void *arg)
{
    for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
        struct timer *t = &l->timers[i];
        if (t->id)
            continue;
        *t = (struct timer){ .id = l->next_id++, .due_ms = loop_now_ms() + (ms > 0 ? ms : 0),
                             .fn = fn, .arg = arg };
        return t->id;
    }
    return 0;
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
    if (!id)
        return;
    for (int i = 0; i < LOOP_MAX_TIMERS; i++)
        if (l->timers[i].id == id)
            l->timers[i].id = 0;
}

int loop_busy(const struct loop *l)
{
    for (int i = 0; i < LOOP_MAX_FDS; i++)
        if (l->watches[i].fd >= 0 && l->watches[i].events)
            return 1;
    for (int i = 0; i < LOOP_MAX_TIMERS; i++)
        if (l->timers[i].id)
            return 1;
    return 0;
}

static int next_timeout(const struct loop *l, int max_wait_ms)
{
    int64_t now = loop_now_ms(), wait = max_wait_ms;
    for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
        if (!l->timers[i].id)
            continue;
        int64_t d = l->timers[i].due_ms - now;
        if (d < 0)
            d = 0;
        if (wait < 0 || d < wait)
            wait = d;
    }
    return (int)wait;
}

/* Timers due now run once each; timers they add wait for the next turn. */
static int run_timers(struct loop *l)
{
    int64_t now = loop_now_ms();
    uint64_t limit = l->next_id;
    int ran = 0;
    for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
        struct timer t = l->timers[i];
        if (!t.id || t.id >= limit || t.due_ms > now)
            continue;
        l->timers[i].id = 0;
        t.fn(t.arg);
        ran++;
    }
    return ran;
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
    struct pollfd pfd[LOOP_MAX_FDS];
    int n = 0;
    for (int i = 0; i < LOOP_MAX_FDS; i++) {
        if (l->watches[i].fd < 0 || !l->watches[i].events)
            continue;
        pfd[n++] = (struct pollfd){ .fd = l->watches[i].fd, .events = l->watches[i].events };
    }
    int rc = poll(pfd, (nfds_t)n, next_timeout(l, max_wait_ms));
    if (rc < 0 && errno != EINTR)
        return -1;
    int ran = 0;
    for (int i = 0; rc > 0 && i < n; i++) {
        if (!pfd[i].revents)
            continue;
        /* Re-check: an earlier callback may have removed or replaced this watch. */
        struct watch *w = find_watch(l, pfd[i].fd);
        if (!w || !(w->events & pfd[i].events || pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)))
            continue;
        w->fn(w->arg, pfd[i].fd, pfd[i].revents);
        ran++;
    }
    return ran + run_timers(l);
}
