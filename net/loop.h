/* loop — the one poll() loop: file descriptors, timers, deferred calls.
 * Contract: single-threaded. Callbacks run only from loop_run_once(), never
 * from a loop_*() call. Each turn: poll -> fd callbacks -> due timers ->
 * deferred calls. A callback may add or remove any watch or timer, its own
 * included. The caller (probe, console) owns the loop and may watch its own
 * descriptors (the keyboard) on it. */
#ifndef MAILSCOPE_LOOP_H
#define MAILSCOPE_LOOP_H

#include <stdint.h>

struct loop;
typedef void (*loop_fd_fn)(void *arg, int fd, short revents);
typedef void (*loop_timer_fn)(void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (POLLIN/POLLOUT); replaces an earlier watch of fd.
 * events == 0 keeps the watch but asks for nothing. Returns 0 or -1 (full). */
int loop_watch(struct loop *l, int fd, short events, loop_fd_fn fn, void *arg);
void loop_unwatch(struct loop *l, int fd);

/* Call fn(arg) once after ms milliseconds (0: on the next turn).
 * Returns a timer id > 0, or 0 when the table is full. */
uint64_t loop_timer(struct loop *l, int64_t ms, loop_timer_fn fn, void *arg);
void loop_timer_cancel(struct loop *l, uint64_t id);

/* Wait up to max_wait_ms (-1: until something happens) and run what is due.
 * Returns the number of callbacks run, or -1 when poll() failed (errno). */
int loop_run_once(struct loop *l, int max_wait_ms);

/* True while anything is watched or scheduled. */
int loop_busy(const struct loop *l);

/* Milliseconds on the monotonic clock. */
int64_t loop_now_ms(void);
/* Microseconds on the monotonic clock. */
int64_t loop_now_us(void);

#endif
