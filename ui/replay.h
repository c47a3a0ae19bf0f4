/* replay — `mailscope replay [--check] FILE.json`: the console opened
 * read-only on a recorded .json transcript, stepping through its timeline;
 * --check validates the file and prints a summary for scripts, without a
 * screen. Returns the exit status (0, 1: the file was refused, 2: usage). */
#ifndef MAILSCOPE_REPLAY_H
#define MAILSCOPE_REPLAY_H

#include <stdio.h>

int replay_main(int argc, char **argv);
void replay_usage(FILE *out);

#endif
