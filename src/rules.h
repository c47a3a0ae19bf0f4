/* rules — the diagnosis rules as data: the text format, its loader and the
 * rule set. The engine that weighs them against evidence is diag.c's job.
 *
 * File format (UTF-8 or ASCII text, one statement a line, at most
 * RULES_MAX_LINE bytes a line; blank lines and lines starting with '#' are
 * ignored; leading and trailing blanks are trimmed):
 *
 *   rule R-EXCH-013                   starts a rule (id: letters, digits, - _ .)
 *   title: Wrong password or unknown user
 *   protocols: imap pop3              any of imap, pop3 (default: both)
 *   families: exchange                fingerprint families, or "any" (default)
 *   severity: critical                critical, warning or info
 *   require failure is auth           must hold, or the rule does not apply
 *   for 3 user is administrator       adds 3 to the score when it holds
 *   against 4 family-version is Online  subtracts 4 when it holds
 *   decisive log matches ErrMsg=...   holds: the diagnosis is "certain"
 *   explanation: ...                  repeatable: the lines are joined by a space
 *   cause: ...                        repeatable, joined
 *   fix: Set-ImapSettings -Server {server} ...   repeatable: one step each
 *   verify: ...                       repeatable, joined
 *   source: knowledge R-EXCH-013; ... repeatable, joined
 *   end                               ends the rule
 *
 * A condition is FACT OP VALUE (VALUE is the rest of the line):
 *   failure        is|not   a failure class (auth, tls, cert, connect, timeout, ...)
 *   step           is|not   the step that failed (connect, tls, greeting, capability,
 *                           starttls, login, select, ...)
 *   reply          matches|not-matches  POSIX ERE, case-insensitive, against the
 *                           server's reply that ended the failing step
 *   line           matches|not-matches  ... against any line the server sent
 *   greeting       matches|not-matches
 *   code           is|not   the response code of that reply (AUTHENTICATIONFAILED, AUTH, ...)
 *   caps-before    has|lacks  a capability before TLS (IMAP atom or POP3 CAPA word)
 *   caps-after     has|lacks  a capability after TLS
 *   caps           has|lacks  either
 *   family         is|not   fingerprint family ("exchange", "dovecot", ...)
 *   family-version matches|not-matches  the version hint ("Online", "2003 ...")
 *   cert-problem   has|lacks  a tls.problems code (expired, hostname-mismatch, ...)
 *   cert-covers-server is   yes, no or unknown: the certificate's names cover the
 *                           name the server gives itself (NTLM, greeting)
 *   cert-seen      is       yes or no: a certificate was received
 *   secure         is       yes or no: the failing step ran inside TLS
 *   user           is|not|matches|not-matches  the account name
 *   host           is|not|matches|not-matches  the name connected to
 *   tls-version    is|not|matches|not-matches  the negotiated version ("TLSv1.2")
 *   message        matches|not-matches  mailscope's own words for the failure
 *   log            matches|not-matches  a line of a loaded server log (probe --server-log,
 *                           the console's /log: the failures' context fields, e.g.
 *                           R="a2 NO LOGIN failed.";ErrMsg=UserDisabled); logscan links a
 *                           log group to the rule whose decisive/for log condition holds
 *   port           is|not   the port connected to (993, 143, ...)
 *   elapsed-ms     over|under  how long the failing step took, in milliseconds
 *                           (never holds when no step failed)
 *   sni-cert-differs   is   yes, no or unknown: probe --sni saw another leaf certificate
 *                           without SNI than with it (unknown: no such comparison ran)
 *   sni-default-covers is   yes, no or unknown: the leaf sent without SNI covers the name
 *                           that was sent as SNI
 * "is"/"not" compare case-insensitively. Every regex is compiled at load time.
 *
 * Placeholders in fix, verify, explanation and cause lines, filled from the evidence:
 *   {host} {user} {server_fqdn} {server} (its first label) {cert_cn}
 *   {service} (IMAP4 or POP3) {proto} (Imap or Pop) {port} {url} (as given)
 *   {sni_name} {sni_cert} {default_cert} (probe --sni: the name sent as SNI, the leaf's
 *   name with SNI and without)
 * An unknown placeholder is a load error.
 *
 * Bounds: RULES_MAX_LINE per line, RULES_MAX_FIX fix steps, RULES_MAX_COND
 * conditions a rule, RULES_MAX_RULES rules a set, RULES_MAX_FILE bytes a file;
 * a regular expression at most RULES_MAX_REGEX bytes with at most
 * RULES_MAX_REPEATS repetitions, none repeated again, counts up to
 * RULES_MAX_REPEAT (glibc's regcomp would otherwise grow without bound).
 * The loader refuses the whole file on the first error, with
 * "file:line: what is wrong", and never reads past the buffer it is given. */
#ifndef MAILSCOPE_RULES_H
#define MAILSCOPE_RULES_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "datafiles.h"

#define RULES_MAX_LINE 2048
#define RULES_MAX_FIX 12
#define RULES_MAX_COND 24
#define RULES_MAX_RULES 512
#define RULES_MAX_FILE (1024 * 1024)
#define RULES_MAX_TEXT 4096          /* a joined field (explanation, cause, ...) */
#define RULES_MAX_REGEX 512          /* bytes of one regular expression */
#define RULES_MAX_REPEAT 32          /* the largest count in {n,m} */
#define RULES_MAX_REPEATS 32         /* repetition operators in one expression */

enum rule_fact {
    RF_FAILURE, RF_STEP, RF_REPLY, RF_LINE, RF_GREETING, RF_CODE, RF_CAPS_BEFORE,
    RF_CAPS_AFTER, RF_CAPS, RF_FAMILY, RF_FAMILY_VERSION, RF_CERT_PROBLEM,
    RF_CERT_COVERS_SERVER, RF_CERT_SEEN, RF_SECURE, RF_USER, RF_HOST, RF_TLS_VERSION,
    RF_MESSAGE, RF_LOG, RF_PORT, RF_ELAPSED_MS, RF_SNI_CERT_DIFFERS, RF_SNI_DEFAULT_COVERS,
    RF_COUNT
};

enum rule_op { RO_IS, RO_NOT, RO_MATCHES, RO_NOT_MATCHES, RO_HAS, RO_LACKS, RO_OVER, RO_UNDER };

enum rule_kind { RK_REQUIRE, RK_FOR, RK_AGAINST, RK_DECISIVE };

struct rule_cond {
    enum rule_kind kind;
    int weight;                 /* FOR/AGAINST: 1..100; REQUIRE counts 1 */
    enum rule_fact fact;
    enum rule_op op;
    char *value;
    regex_t re;                 /* MATCHES/NOT_MATCHES */
    bool has_re;
};

enum rule_severity { RS_INFO, RS_WARNING, RS_CRITICAL };

struct rule {
    char *id, *title, *explanation, *cause, *verify, *source;
    char *fix[RULES_MAX_FIX];
    size_t n_fix;
    unsigned protocols;         /* bit 0 imap, bit 1 pop3 */
    char *families;             /* space-separated, "any" */
    enum rule_severity severity;
    struct rule_cond cond[RULES_MAX_COND];
    size_t n_cond;
    char origin[160];           /* "builtin:exchange.rules:12" or the user file */
};

struct ruleset {
    struct rule *r;
    size_t n, cap;
};

void ruleset_init(struct ruleset *rs);
void ruleset_free(struct ruleset *rs);

/* Parse text[0..len) named name (for messages) and add its rules to rs.
 * All or nothing: on error nothing is added, err gets "name:line: what"
 * and -1 is returned. A rule id already in rs is an error too. */
int rules_parse(struct ruleset *rs, const char *name, const char *text, size_t len,
                char *err, size_t errlen);
/* Read and parse one file (bounded by RULES_MAX_FILE). */
int rules_load_file(struct ruleset *rs, const char *path, char *err, size_t errlen);
/* The rules compiled into the binary. Returns 0, -1 with err (a build bug). */
int rules_load_builtin(struct ruleset *rs, char *err, size_t errlen);
/* Every *.rules in dir, in name order; a bad file is skipped, its message
 * appended to warn (lines separated by '\n'). A missing dir is fine. */
void rules_load_dir(struct ruleset *rs, const char *dir, char *warn, size_t warnlen);
/* Built-in rules plus ~/.config/mailscope/rules.d (or $XDG_CONFIG_HOME). */
int rules_load_default(struct ruleset *rs, char *warn, size_t warnlen);

const char *rule_fact_name(enum rule_fact f);
const char *rule_op_name(enum rule_op o);
const char *rule_severity_name(enum rule_severity s);

/* The built-in files, generated at build time from src/rules/ *.rules. */
extern const struct datafiles_builtin rules_builtin_files[];
extern const size_t rules_builtin_count;

#endif
