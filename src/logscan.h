/* logscan — what went wrong in Exchange IMAP4/POP3 protocol logs: reads
 * files and directories (recursively, the *.log files, as in Exchange's
 * Logging\Imap4 and Logging\Pop3 folders), keeps the failures (exlog.h:
 * ErrMsg=, [Error=... Proxy=...], NO / BAD / -ERR / BYE replies), groups them
 * by (error, user, client address) with counts, first and last seen, the
 * protocols, servers (sIp) and proxy targets, a few sample lines, and links
 * each group to the diagnosis rule that explains it: first by the rules'
 * "log" conditions (a decisive one wins, then the heaviest "for"), else by
 * running the rules on the failing reply alone.
 * Output: a table (sanitised, 100 columns) or JSON (mailscope.logscan/1).
 * Exit status: 0 no failure, 1 failures found, 2 usage or read error.
 * Also the loader that feeds a log's failure lines into a live diagnosis
 * (probe --server-log, the console's /log). Memory is bounded: at most
 * LOGSCAN_MAX_GROUPS groups (further failures are counted as dropped). */
#ifndef MAILSCOPE_LOGSCAN_H
#define MAILSCOPE_LOGSCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "exlog.h"
#include "rules.h"

#define LOGSCAN_MAX_GROUPS 50000
#define LOGSCAN_SAMPLE_MAX 1000      /* bytes of a sample line kept */
#define LOGSCAN_SAMPLES 3            /* sample lines kept a group */
#define LOGSCAN_MAX_SET 4            /* distinct servers / proxy targets kept a group */
#define LOGSCAN_MAX_DEPTH 16         /* directory levels */
#define LOGSCAN_EVIDENCE_MAX 64      /* log lines fed to a live diagnosis */

struct logscan_sample {
    char *file;
    uint64_t line;
    char *text;                      /* the raw line, unsanitised */
};

struct logscan_group {
    char *error, *user, *client;     /* the key (client: the address without the port) */
    const char *source;              /* "ErrMsg", "Error", "reply" */
    char *reply, *command, *context; /* of the first occurrence (context: its failure
                                      * keys, exlog_failure_context) */
    unsigned protos;                 /* 1 << enum exlog_proto */
    char *servers[LOGSCAN_MAX_SET], *proxies[LOGSCAN_MAX_SET];
    size_t n_servers, n_proxies;
    uint64_t count;
    char first[40], last[40];        /* dateTime as logged */
    struct logscan_sample sample[LOGSCAN_SAMPLES];
    size_t n_samples;
    const struct rule *rule;         /* NULL: no rule explains it */
    const char *basis;               /* "decisive-log", "log", "reply" */
    const char *confidence;          /* "certain", "likely", "possible" */
};

struct logscan_file {
    char *path;
    char *error;                     /* NULL, or why it could not be read */
    enum exlog_proto proto;
    uint64_t lines, records, malformed, failures, bytes;
    struct exlog_bad bad[EXLOG_MAX_BAD];
    size_t n_bad;
};

struct logscan {
    struct logscan_group *g;
    size_t n, cap;
    uint32_t *slot;                  /* hash index: group number + 1, 0 empty */
    size_t n_slot;
    struct logscan_file *f;
    size_t n_files, cap_files;
    uint64_t lines, records, malformed, failures, dropped, bytes;
    bool read_error;
    struct ruleset rules;
    char rules_note[512];
};

void logscan_init(struct logscan *ls);
void logscan_free(struct logscan *ls);
/* A file, or a directory's *.log files (recursively, in name order). A
 * file that cannot be read is recorded with its error (read_error set). */
void logscan_add_path(struct logscan *ls, const char *path);
/* Sort the groups by count and link each to its rule. */
void logscan_finish(struct logscan *ls);
int logscan_exit_code(const struct logscan *ls);
json_t *logscan_json(const struct logscan *ls);
/* width: the table's width (100 for the CLI). */
void logscan_table(FILE *out, const struct logscan *ls, int width);
/* A group's linked rule with its placeholders filled from the group (user,
 * server from the proxy target); NULL when unlinked. Caller frees. */
char *logscan_fill(const struct logscan_group *g, const char *text);

/* The command line: mailscope logscan [--json] [--tui] PATH...  */
struct logscan_args {
    bool json, tui, help;
    char **paths;
    int n_paths;
};
int logscan_parse_args(int argc, char **argv, struct logscan_args *a, char *err, size_t errlen);
void logscan_usage(FILE *out);
/* mailscope logscan without --tui (argv[0] is "logscan"). */
int logscan_main(int argc, char **argv);

/* For a live diagnosis: the failure lines (each failure in the context's
 * syntax, exlog_failure_context) of the log at path (a file or a directory), only
 * those of user when user is not empty (compared without case, also as
 * the part before '@' or after '\'), of the session's protocol when the log
 * names one, at most LOGSCAN_EVIDENCE_MAX (the latest). */
struct logscan_evidence {
    char **lines;
    size_t n;
    uint64_t failures;               /* failure lines seen in all */
    char server[256];                /* a Proxy= target's host (the backend), "" */
    char path[512];
};
int logscan_evidence_load(struct logscan_evidence *le, const char *path, const char *user,
                          bool pop3, char *err, size_t errlen);
void logscan_evidence_free(struct logscan_evidence *le);

#endif
