/* lab — built-in scenario servers to rehearse fixes on: IMAP and POP3 (plain
 * with STARTTLS/STLS and implicit TLS, plus Exchange's backend ports 1993/1995)
 * on a loopback address, answering word for word like the real servers of the
 * chosen scenario, with a simulated management shell whose commands change
 * their behaviour, and an Exchange-format protocol log.
 * Contract: everything runs inside the caller's loop (net/loop.h): no threads,
 * non-blocking sockets and TLS. The lab binds loopback addresses only. Every
 * string that came from a client is sanitised before it reaches an event or
 * shell line. lab_stop() closes every socket and frees everything. */
#ifndef MAILSCOPE_LAB_H
#define MAILSCOPE_LAB_H

#include <stdbool.h>
#include <stddef.h>

#include "lablog.h"
#include "loop.h"

struct lab;

struct lab_scenario {
    const char *id;
    const char *description;     /* one line */
};
/* The scenarios, the founding one first; *n gets their number. */
const struct lab_scenario *lab_scenarios(size_t *n);
#define LAB_DEFAULT_SCENARIO "exchange-cert-plaintextlogin"
#define LAB_DEFAULT_ADDRESS "127.77.0.1"

/* One line of output (no line break), already sanitised. */
typedef void (*lab_out_fn)(void *arg, const char *line);

struct lab_config {
    const char *scenario;   /* NULL: LAB_DEFAULT_SCENARIO */
    const char *address;    /* NULL: LAB_DEFAULT_ADDRESS; loopback only */
    int port_shift;         /* < 0: none, or +10000 when a low port is refused (EACCES) */
    const char *dir;        /* protocol logs and the lab CA; NULL: a new one under $TMPDIR */
    lab_out_fn on_event;    /* connections, logins, restarts (may be NULL) */
    void *event_arg;
    const char *app_password;   /* gmail-app-password: the 16 letters the next app password
                                 * gets (scripted rehearsals); NULL: random, as Google's */
};
/* Is s 16 letters a-z, optionally in Google's groups of four ("abcd efgh ijkl mnop")? */
bool lab_app_password_valid(const char *s);

enum lab_port { LAB_IMAP, LAB_IMAPS, LAB_POP3, LAB_POP3S, LAB_IMAP_BE, LAB_POP3_BE, LAB_NPORTS };

struct lab *lab_start(struct loop *lp, const struct lab_config *cfg, char *err, size_t errlen);
void lab_stop(struct lab *lab);

/* Run one shell line; output lines go to out. Returns 0, 1 when the line
 * asked to leave the shell ("exit"), -1 when it failed (the error text was
 * written to out, as the shell prints it). */
int lab_shell_exec(struct lab *lab, const char *line, lab_out_fn out, void *arg);
/* "[PS] EX01>" (Exchange), "root@mail:~#" (Dovecot) ... */
const char *lab_prompt(const struct lab *lab);
/* Is this shell output line a credential (the app password the Google
 * Account stand-in shows once)? The console keeps such a line out of its
 * transcript. */
bool lab_shell_line_is_secret(const struct lab *lab, const char *line);
/* The shell's help text, line by line. */
void lab_shell_help(const struct lab *lab, lab_out_fn out, void *arg);

const char *lab_scenario_id(const struct lab *lab);
const char *lab_address(const struct lab *lab);
/* The port actually listening (shift applied), 0 when the scenario has none. */
unsigned lab_port(const struct lab *lab, enum lab_port which);
int lab_port_shift(const struct lab *lab);
/* Was the shift asked for (port_shift >= 0), rather than the EACCES fallback? */
bool lab_port_shift_forced(const struct lab *lab);
const char *lab_dir(const struct lab *lab);
const char *lab_ca_file(const struct lab *lab);
const char *lab_log_path(const struct lab *lab, enum lablog_file f);
/* Does this scenario write a protocol log (on-premises Exchange only)? */
bool lab_has_protocol_log(const struct lab *lab);
const char *lab_user(const struct lab *lab);
const char *lab_password(const struct lab *lab);
/* "imap://alice@127.77.0.1" (the port only when shifted), into out. */
const char *lab_url(const struct lab *lab, enum lab_port which, char *out, size_t outlen);
/* The server's own name ("EX01.contoso.local"), for the banner. */
const char *lab_server_fqdn(const struct lab *lab);

/* Is addr a numeric loopback address (127.0.0.0/8, ::1)? */
bool lab_address_is_loopback(const char *addr);

#endif
