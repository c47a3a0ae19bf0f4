/* cmdtable — the console's slash-commands as data: names, arguments and help
 * (the F1 overlay, /help, the man page and completion all read this table),
 * plus the small decisions about a typed line that need no terminal:
 * is it a slash-command, does an IMAP line already carry a tag, and what
 * completes a word. */
#ifndef MAILSCOPE_CMDTABLE_H
#define MAILSCOPE_CMDTABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "capset.h"

enum cmd_id {
    CMD_CONNECT, CMD_STEP, CMD_SKIP, CMD_CAPABILITY, CMD_STARTTLS, CMD_LOGIN, CMD_AUTH, CMD_PASSWORD,
    CMD_CHAIN, CMD_WALKTHROUGH, CMD_SAVE, CMD_HELP, CMD_QUIT, CMD_DISCONNECT, CMD_CLEAR,
    CMD_RAW, CMD_B64, CMD_UNB64, CMD_NOTE, CMD_COMPARE, CMD_PS, CMD_LOG, CMD_GOTO, CMD_DONE,
    CMD_FAILED, CMD_ANSWER, CMD_SNI, CMD_COUNT
};

struct cmd_info {
    enum cmd_id id;
    const char *name;       /* "/connect" */
    const char *args;       /* "URL", "[USER]", "" */
    const char *help;       /* one line */
};

extern const struct cmd_info cmdtable[CMD_COUNT];

/* The command a line starting with '/' names; NULL when there is none.
 * *args points at its argument text (spaces skipped). */
const struct cmd_info *cmdtable_parse(const char *line, const char **args);

/* True when an IMAP line typed by the operator has no tag of its own and
 * mailscope should add one ("NOOP" yes; "x1 NOOP" no). */
bool cmdtable_imap_needs_tag(const char *line);

/* Completions of word at the start of a line: slash-commands when it starts
 * with '/', else the protocol's commands and those the server advertised
 * (caps may be NULL). Returns a NULL-terminated malloc'd array of malloc'd
 * strings (caller frees), or NULL when nothing matches. */
char **cmdtable_complete(const char *word, bool imap, const struct capset *caps);
void cmdtable_free_list(char **list);

#endif
