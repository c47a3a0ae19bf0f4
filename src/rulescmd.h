/* rulescmd — `mailscope rules`: list the rules in force (built in and the
 * user's ~/.config/mailscope/rules.d) or check a rule file before it is
 * installed. Prints to out/err; returns the process exit status
 * (0 fine, 1 a file was refused, 2 usage). */
#ifndef MAILSCOPE_RULESCMD_H
#define MAILSCOPE_RULESCMD_H

#include <stdio.h>

void rulescmd_usage(FILE *out);
int rulescmd_main(int argc, char **argv, FILE *out, FILE *err);

#endif
