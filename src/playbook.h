/* playbook — the guided walkthroughs as data: the text format, its loader
 * and the playbook set. Running one is walk.c's job.
 *
 * File format (UTF-8 or ASCII text, one statement a line, at most
 * PB_MAX_LINE bytes a line; blank lines and lines starting with '#' are
 * ignored; leading and trailing blanks are trimmed). A file holds one or
 * more playbooks; a playbook runs from its "playbook" line to the next one:
 *
 *   playbook exchange-proxy-cert     starts a playbook (id: letters, digits, - _ .)
 *   title: Exchange IMAP/POP login fails after a certificate was bound
 *   follows: R-EXCH-001 R-EXCH-013   diagnosis rule ids it follows (repeatable):
 *                                    /walkthrough without an ID picks the
 *                                    playbook that follows the top hypothesis
 *   protocols: imap pop3             any of imap, pop3 (default: both)
 *   families: exchange               server families it is for, as the diagnosis
 *                                    fingerprints them, or any (default)
 *   intro: ...                       repeatable, joined: shown before the first step
 *   source: knowledge R-EXCH-001 ... repeatable, joined
 *
 *   step ID KIND [CHECK]             starts a step; KIND is one of
 *       check CHECK   an automatic check the program performs; CHECK is
 *                     connect       a new connection gets a greeting
 *                     starttls      a new connection completes the TLS handshake
 *                                   (STARTTLS/STLS on a plain port) and the
 *                                   chain verifies (with --insecure: the
 *                                   handshake alone)
 *                     cert-name     the certificate's names cover the server's
 *                                   own name (NTLM, greeting) from the diagnosis
 *                     login         a new session logs in with the operator's
 *                                   credentials
 *                     backend       the Exchange backend port (1993 IMAP, 1995
 *                                   POP3) on the same host answers implicit TLS
 *                     tls-versions  TLS 1.2 or 1.3 is accepted (each version
 *                                   tried on its own)
 *                     sni           a client without SNI gets the same
 *                                   certificate as one with it, or one that
 *                                   covers the name as well (probe --sni)
 *       action        the operator does something on the server and says
 *                     done, failed or skipped (with an optional note)
 *       question      the operator picks one of the answers
 *       retest        logs in again, as the failing step did: passes when the
 *                     login succeeds; by default the playbook then ends
 *   text: ...                  repeatable, joined: what the step is about
 *   command: ...               action: one command each, shown ready to copy
 *   note: ...                  repeatable, one line each (caveats, trade-offs)
 *   pass: STEP   fail: STEP    check, retest: the step that follows each result
 *   done: STEP   failed: STEP   skipped: STEP     action: the same per answer
 *   answer WORD: STEP          question: one answer (a word) and where it leads
 *
 * STEP is a step id of the same playbook or "end" (the walkthrough stops;
 * it is resolved only when it stops right after a passing retest). A missing
 * pass/fail/done/failed/skipped goes to the next step in the file ("end"
 * after the last one); a retest's missing pass/fail is "end".
 *
 * Placeholders in text, command and note lines are the rules' (rules.h),
 * filled from the diagnosis evidence by diag_fill(): {host} {user}
 * {server_fqdn} {server} (the short name: NTLM NetBIOS name, else the first
 * label) {cert_cn} {service} (IMAP4, POP3) {proto} (Imap, Pop) {port} {url}
 * {backend_port} (1993, 1995). An unknown placeholder is a load error.
 *
 * The loader refuses the whole file on the first error, with
 * "file:line: what is wrong"; a next step that names no step of the playbook
 * is an error at the line that names it. Bounds: PB_MAX_* below. */
#ifndef MAILSCOPE_PLAYBOOK_H
#define MAILSCOPE_PLAYBOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "datafiles.h"

#define PB_MAX_LINE 2048
#define PB_MAX_STEPS 48
#define PB_MAX_COMMANDS 12
#define PB_MAX_NOTES 8
#define PB_MAX_ANSWERS 8
#define PB_MAX_FOLLOWS 16
#define PB_MAX_PLAYBOOKS 256
#define PB_MAX_FILE (512 * 1024)
#define PB_MAX_TEXT 4096
#define PB_END (-1)             /* next step: the walkthrough stops */

enum pb_kind { PB_CHECK, PB_ACTION, PB_QUESTION, PB_RETEST };
enum pb_check { PBC_NONE, PBC_CONNECT, PBC_STARTTLS, PBC_CERT_NAME, PBC_LOGIN, PBC_BACKEND,
                PBC_TLS_VERSIONS, PBC_SNI };

/* Where each result leads (indices into the playbook's steps, or PB_END). */
enum pb_result { PBR_PASS, PBR_FAIL, PBR_DONE, PBR_FAILED, PBR_SKIPPED, PBR_COUNT };

struct pb_answer {
    char *word;
    int next;
};

struct pb_step {
    char *id;
    enum pb_kind kind;
    enum pb_check check;
    char *text;
    char *commands[PB_MAX_COMMANDS];
    size_t n_commands;
    char *notes[PB_MAX_NOTES];
    size_t n_notes;
    int next[PBR_COUNT];
    struct pb_answer answers[PB_MAX_ANSWERS];
    size_t n_answers;
    int line;
};

struct playbook {
    char *id, *title, *intro, *source;
    char *follows[PB_MAX_FOLLOWS];
    size_t n_follows;
    unsigned protocols;         /* bit 0 imap, bit 1 pop3 */
    char *families;             /* space-separated; "any" */
    struct pb_step steps[PB_MAX_STEPS];
    size_t n_steps;
    char origin[160];           /* "builtin:exchange.playbook:3" or the user's file */
};

struct playbook_set {
    struct playbook **p;
    size_t n, cap;
};

void playbook_set_init(struct playbook_set *s);
void playbook_set_free(struct playbook_set *s);

/* Parse text[0..len) named name (for messages) and add its playbooks to s.
 * All or nothing: on error nothing is added, err gets "name:line: what" and
 * -1 is returned. A playbook id already in s is an error too. */
int playbook_parse(struct playbook_set *s, const char *name, const char *text, size_t len,
                   char *err, size_t errlen);
int playbook_load_file(struct playbook_set *s, const char *path, char *err, size_t errlen);
/* The playbooks compiled into the binary. 0, or -1 with err (a build bug). */
int playbook_load_builtin(struct playbook_set *s, char *err, size_t errlen);
/* Every *.playbook in dir in name order; a bad file is skipped, its message
 * appended to warn. A missing dir is fine. */
void playbook_load_dir(struct playbook_set *s, const char *dir, char *warn, size_t warnlen);
/* Built-in plus ~/.config/mailscope/playbooks.d (or $XDG_CONFIG_HOME). */
int playbook_load_default(struct playbook_set *s, char *warn, size_t warnlen);

const struct playbook *playbook_find(const struct playbook_set *s, const char *id);
/* The first playbook that follows rule_id for protocol pop3 (or IMAP) and
 * server family (NULL: any), or NULL. */
const struct playbook *playbook_for_rule(const struct playbook_set *s, const char *rule_id,
                                         bool pop3, const char *family);
/* Is the playbook for this family? */
bool playbook_fits_family(const struct playbook *pb, const char *family);
/* The step's index by id, or -1. */
int playbook_step_index(const struct playbook *pb, const char *id);

const char *pb_kind_name(enum pb_kind k);
const char *pb_check_name(enum pb_check c);

/* The built-in files, generated at build time from src/playbooks/ *.playbook. */
extern const struct datafiles_builtin playbook_builtin_files[];
extern const size_t playbook_builtin_count;

#endif
