#include "cmdtable.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct cmd_info cmdtable[CMD_COUNT] = {
    { CMD_CONNECT, "/connect", "URL", "connect to imap://, imaps://, pop3:// or pop3s://host[:port]" },
    { CMD_STEP, "/step", "", "run the next step of the plan (F5)" },
    { CMD_SKIP, "/skip", "", "skip the next step of the plan (or the walkthrough's action)" },
    { CMD_CAPABILITY, "/capability", "", "ask for the capabilities (IMAP CAPABILITY, POP3 CAPA)" },
    { CMD_STARTTLS, "/starttls", "", "upgrade to TLS (STARTTLS / STLS)" },
    { CMD_LOGIN, "/login", "[USER]", "log in (IMAP LOGIN, POP3 USER/PASS); asks for the password" },
    { CMD_AUTH, "/auth", "MECH [USER]", "log in with a mechanism: plain login-sasl cram-md5 xoauth2 "
                                        "oauthbearer external ntlm apop user" },
    { CMD_PASSWORD, "/password", "", "enter a new password (or token) for the next login: not "
                                     "shown, not kept in history" },
    { CMD_CHAIN, "/chain", "[save FILE.pem]", "show the certificate chain (or save it as PEM)" },
    { CMD_WALKTHROUGH, "/walkthrough", "[ID|stop]", "start the guided walkthrough for the "
                                                    "diagnosis (or playbook ID); show it" },
    { CMD_SAVE, "/save", "FILE", "save the transcript (.txt .md .html .json), credentials redacted" },
    { CMD_HELP, "/help", "", "list the keys and commands (F1)" },
    { CMD_QUIT, "/quit", "", "leave mailscope" },
    { CMD_DISCONNECT, "/disconnect", "", "log out and close the connection" },
    { CMD_CLEAR, "/clear", "", "clear the transcript pane (the recording keeps everything)" },
    { CMD_RAW, "/raw", "on|off", "show bytes exactly (hex for binary) or as readable text" },
    { CMD_B64, "/b64", "TEXT", "show TEXT in base64 (for SASL by hand)" },
    { CMD_UNB64, "/unb64", "TEXT", "decode base64 TEXT (a server challenge)" },
    { CMD_NOTE, "/note", "TEXT", "add an operator note to the transcript" },
    { CMD_COMPARE, "/compare", "[all]", "which certificate each port presents: STARTTLS and "
                                         "implicit TLS side by side (all: IMAP and POP3)" },
    { CMD_PS, "/ps", "COMMAND", "run COMMAND in the lab's simulated server shell (mailscope --lab), "
                                 "e.g. /ps Get-ImapSettings" },
    { CMD_LOG, "/log", "FILE|DIR", "load an Exchange IMAP4/POP3 protocol log: its failures for "
                                   "this user become diagnosis evidence" },
    { CMD_GOTO, "/goto", "SECONDS|#N|end", "replay: show the recording up to a time (1.5, +1.5s), "
                                          "an event (#12), the start or the end" },
    { CMD_DONE, "/done", "[NOTE]", "walkthrough: the action is done (key d)" },
    { CMD_FAILED, "/failed", "[NOTE]", "walkthrough: the action failed (key f)" },
    { CMD_ANSWER, "/answer", "WORD [NOTE]", "walkthrough: answer the question (yes, no...; "
                                            "keys y n)" },
    { CMD_SNI, "/sni", "", "the certificate with and without SNI, side by side (a server that "
                           "chooses it by SNI gives clients without SNI its default one)" },
};

const struct cmd_info *cmdtable_parse(const char *line, const char **args)
{
    if (line[0] != '/')
        return NULL;
    size_t n = strcspn(line, " \t");
    for (size_t i = 0; i < CMD_COUNT; i++) {
        if (strlen(cmdtable[i].name) == n && strncasecmp(line, cmdtable[i].name, n) == 0) {
            const char *a = line + n;
            while (*a == ' ' || *a == '\t')
                a++;
            *args = a;
            return &cmdtable[i];
        }
    }
    return NULL;
}

static const char *const imap_commands[] = {
    "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "AUTHENTICATE", "LOGIN", "SELECT", "EXAMINE",
    "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "STATUS", "APPEND",
    "CHECK", "CLOSE", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "UID", "ID", "IDLE",
    "NAMESPACE", "ENABLE", "UNSELECT", "MOVE", "GETQUOTAROOT", "GETQUOTA", NULL };
static const char *const pop3_commands[] = {
    "USER", "PASS", "APOP", "AUTH", "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "QUIT", "TOP",
    "UIDL", "CAPA", "STLS", NULL };

static bool known_imap_command(const char *w, size_t n)
{
    for (size_t i = 0; imap_commands[i]; i++)
        if (strlen(imap_commands[i]) == n && strncasecmp(w, imap_commands[i], n) == 0)
            return true;
    return false;
}

bool cmdtable_imap_needs_tag(const char *line)
{
    while (*line == ' ')
        line++;
    size_t n = strcspn(line, " ");
    if (known_imap_command(line, n))
        return true;
    const char *second = line + n;
    while (*second == ' ')
        second++;
    /* "tag COMMAND ...": a first word that is no command, followed by more. */
    return *second == 0;
}

static int add(char ***list, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcasecmp((*list)[i], s) == 0)
            return 0;
    char **l = realloc(*list, (*n + 2) * sizeof *l);
    if (!l)
        return -1;
    *list = l;
    if (!(l[*n] = strdup(s)))
        return -1;
    l[++*n] = NULL;
    return 0;
}

/* An advertised capability that names a command ("IDLE", "ID", "MOVE"). */
static void add_caps(char ***list, size_t *n, const char *word, const struct capset *caps)
{
    for (size_t i = 0; caps && i < caps->n; i++) {
        const char *c = caps->item[i];
        if (strchr(c, '=') || strchr(c, ' '))
            continue;
        if (strncasecmp(c, word, strlen(word)) == 0 && known_imap_command(c, strlen(c)))
            add(list, n, c);
    }
}

char **cmdtable_complete(const char *word, bool imap, const struct capset *caps)
{
    char **list = NULL;
    size_t n = 0, wl = strlen(word);
    if (word[0] == '/') {
        for (size_t i = 0; i < CMD_COUNT; i++)
            if (strncasecmp(cmdtable[i].name, word, wl) == 0)
                add(&list, &n, cmdtable[i].name);
        return list;
    }
    const char *const *base = imap ? imap_commands : pop3_commands;
    for (size_t i = 0; base[i]; i++)
        if (strncasecmp(base[i], word, wl) == 0 && (!imap || !caps || !caps->known ||
            strcasecmp(base[i], "IDLE") != 0 || capset_has(caps, "IDLE")))
            add(&list, &n, base[i]);
    if (imap)
        add_caps(&list, &n, word, caps);
    return list;
}

void cmdtable_free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}
