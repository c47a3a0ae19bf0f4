/* probe — the headless face: `mailscope probe [OPTIONS] URL` runs the step
 * plan once against a server and prints a text report, JSON (--json) or one
 * monitoring-plugin line (--output=nagios). Returns the exit status:
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
#ifndef MAILSCOPE_PROBE_H
#define MAILSCOPE_PROBE_H

#include <stdio.h>

int probe_main(int argc, char **argv);
void probe_usage(FILE *out);

#endif
