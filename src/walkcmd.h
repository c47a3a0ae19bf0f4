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

#include <stdbool.h>

#include "session.h"

/* The walkthrough's own options, besides probe's. */
struct walkcmd_opts {
    bool batch;                     /* --batch */
    unsigned backend_port;          /* --backend-port N; 0: 1993/1995 */
    bool retest_auth_set;           /* --retest-auth MECH: the login check and the re-test */
    enum session_auth retest_auth;  /* use MECH (e.g. xoauth2 after the switch to OAuth) */
    const char *retest_password_env;    /* --retest-password-env VAR: and this secret */
};

/* The console's entry: argv holds the console's options and URL (argv[0]
 * the command name); id the playbook ("auto": by the diagnosis). Returns the
 * exit status. */
typedef int (*walkcmd_console_fn)(int argc, char **argv, const char *id,
                                  const struct walkcmd_opts *wo);

/* argv[0] is "walkthrough". console may be NULL (batch only). */
int walkcmd_main(int argc, char **argv, walkcmd_console_fn console, FILE *out, FILE *err);
void walkcmd_usage(FILE *out);
/* Split the walkthrough's own options (--batch, --backend-port N,
 * --retest-auth MECH, --retest-password-env VAR) out of argv in place;
 * returns the new argc, or -1 with a message. */
int walkcmd_own_options(int argc, char **argv, struct walkcmd_opts *wo, char *err, size_t errlen);

#endif
