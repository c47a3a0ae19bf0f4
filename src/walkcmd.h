/* walkcmd — `mailscope walkthrough`: --list the playbooks, --check playbook
 * files, or run one playbook against a URL. Interactive on a terminal (the
 * console, through the function the program's main() passes in: src/ never
 * draws), line-oriented with --batch or when stdin is not a terminal: each
 * step is printed (sanitised) and the operator's answers are read from
 * stdin, one a line ("done [NOTE]", "failed [NOTE]", "skip", an answer word
 * such as "yes"; "note TEXT" adds a note; "quit" stops).
 * Exit status: 0 the final re-test passed, 1 the playbook ended without a
 * passing re-test, 2 stopped (end of input, quit), 3 usage, an unknown
 * playbook or a playbook file refused. */
#ifndef MAILSCOPE_WALKCMD_H
#define MAILSCOPE_WALKCMD_H

#include <stdio.h>

/* The console's entry: argv holds the console's options and URL (argv[0]
 * the command name); id the playbook ("auto": by the diagnosis);
 * backend_port 0 for the default. Returns the exit status. */
typedef int (*walkcmd_console_fn)(int argc, char **argv, const char *id, unsigned backend_port);

/* argv[0] is "walkthrough". console may be NULL (batch only). */
int walkcmd_main(int argc, char **argv, walkcmd_console_fn console, FILE *out, FILE *err);
void walkcmd_usage(FILE *out);
/* Split the walkthrough's own options (--batch, --backend-port N) out of
 * argv in place; returns the new argc, or -1 with a message. */
int walkcmd_own_options(int argc, char **argv, int *batch, unsigned *backend_port, char *err,
                        size_t errlen);

#endif
