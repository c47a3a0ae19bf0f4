/* labface — the lab inside the console (`mailscope --lab [SCENARIO]`): the
 * lab's servers run in the console's own loop, the target is the lab's IMAP
 * URL (lab CA trusted, lab account and password preset), lab events appear as
 * dim lines, and /ps runs a simulated shell command whose line, output and
 * the events it causes (service restarts) go into the transcript as notes. */
#ifndef MAILSCOPE_LABFACE_H
#define MAILSCOPE_LABFACE_H

#include <stdbool.h>
#include <stddef.h>

struct console;

/* Remove "--lab [SCENARIO]" and "--lab-address ADDR" from argv (in place,
 * *argc updated). *want tells whether --lab was there. Returns 0, or -1 with
 * a message. */
int labface_take_args(int *argc, char **argv, bool *want, const char **scenario,
                      const char **address, char *err, size_t errlen);
/* Start the lab on c->loop and aim the console at it (before the terminal
 * starts); address NULL: the lab's default. */
int labface_start(struct console *c, const char *scenario, const char *address, char *err,
                  size_t errlen);
/* A new connection's transcript has just begun: the /ps lines typed since
 * the previous one go into it first, so its story includes the fix. */
void labface_connected(struct console *c);
/* /ps COMMAND */
void labface_ps(struct console *c, const char *args);
void labface_stop(struct console *c);

#endif
