/* labcmd — `mailscope lab`: start the lab on its own, print the banner, then
 * run the simulated shell on stdin (a terminal or a pipe) until EOF, "exit",
 * SIGINT or SIGTERM; --no-shell serves until a signal. */
#ifndef MAILSCOPE_LABCMD_H
#define MAILSCOPE_LABCMD_H

#include <stdbool.h>
#include <stdio.h>

int labcmd_main(int argc, char **argv);
void labcmd_usage(FILE *out);
/* `mailscope lab --help`: options, scenarios, shell commands. */
void labcmd_help(FILE *out);
/* The banner: what listens where, URLs, account, log, shell commands. */
struct lab;
void labcmd_banner(const struct lab *lab, FILE *out, bool shell);

#endif
