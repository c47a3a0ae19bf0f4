/* console — the interactive face: `mailscope [OPTIONS] [URL]` opens a
 * full-screen console over the same engine, plan and transcript as probe.
 * One poll() loop serves the keyboard, signals, sockets and timers; the
 * screen is painted once per loop turn. Returns the exit status. */
#ifndef MAILSCOPE_CONSOLE_H
#define MAILSCOPE_CONSOLE_H

#include <stdio.h>

int console_main(int argc, char **argv);
void console_usage(FILE *out);
/* `mailscope walkthrough ID URL` on a terminal (walkcmd.h's console entry). */
struct walkcmd_opts;
int console_walkthrough(int argc, char **argv, const char *id, const struct walkcmd_opts *wo);

#endif
