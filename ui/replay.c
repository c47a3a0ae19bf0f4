/* replay.c — `mailscope replay [--check] FILE.json`: the console opened
 * read-only on a recording (loaded by src/trjson.c; no JSON is parsed
 * here). The transcript pane shows the recording up to a position that the
 * operator moves event by event, command by command or to a time; the
 * inspector shows the chain, TLS, capabilities and diagnoses as recorded.
 * No connection is ever made: every command that would reach a server is
 * refused with a message. */
#include "replay.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "console_int.h"
#include "rlbridge.h"
#include "sanitize.h"
#include "trjson.h"

void replay_usage(FILE *out)
{
    fputs("       mailscope replay FILE.json       the console, read-only, on a recording\n"
          "       mailscope replay --check FILE.json  validate it, print a summary\n", out);
}

static void replay_help(FILE *out)
{
    fputs("usage: mailscope replay [--check] FILE.json\n"
          "  Opens the console read-only on a transcript recorded with --record FILE.json\n"
          "  or /save FILE.json: the same panes as they were; no connection is made.\n"
          "  ] [  next / previous event (F5: next)   } {  next / previous command\n"
          "  > <  the end / the start   /goto SECONDS|+Ns|#N|end|start\n"
          "  Search (/ n N), tabs and scrolling work as in the live console.\n"
          "  --check: no screen; validate the file and print events, duration, target,\n"
          "  TLS, result and diagnosis (exit 0), or why it is refused (exit 1).\n", out);
}

int replay_main(int argc, char **argv)
{
    bool check = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check"))
            check = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            replay_help(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "mailscope replay: unknown option (see mailscope replay --help)\n");
            return 2;
        } else if (!path)
            path = argv[i];
        else {
            fprintf(stderr, "mailscope replay: give one file\n");
            return 2;
        }
    }
    if (!path) {
        replay_help(stderr);
        return 2;
    }
    static struct recording rec;
    char err[700];
    char *name = sanitize_text(path, strlen(path), 200);
    if (trjson_load_file(path, &rec, err, sizeof err) < 0) {
        fprintf(stderr, "mailscope replay: %s: %s\n", name ? name : "", err);
        free(name);
        return 1;
    }
    int rc = 0;
    if (check)
        recording_summary(stdout, &rec, name ? name : "");
    else
        rc = console_replay(&rec, name ? name : "");
    recording_free(&rec);
    free(name);
    return rc;
}

/* ---- the console's side ------------------------------------------------ */

void replay_seek(struct console *c, size_t pos)
{
    if (pos > c->rec->t.n)
        pos = c->rec->t.n;
    if (pos < c->rec_pos)
        tpane_truncate(&c->tp, pos);   /* going back: later lines go */
    c->rec_pos = pos;
    c->t = c->rec->t;            /* a borrowed view, never freed through c->t */
    c->t.n = pos;
}

/* The first event of the next (dir > 0) or of this or an earlier (dir < 0)
 * command: stepping by command shows a whole command at a time. */
static size_t command_boundary(const struct console *c, int dir)
{
    const struct transcript *t = &c->rec->t;
    if (dir > 0) {
        for (size_t j = c->rec_pos + 1; j < t->n; j++)
            if (t->ev[j].kind == TR_OP_BEGIN)
                return j;
        return t->n;
    }
    for (size_t j = c->rec_pos ? c->rec_pos - 1 : 0; j-- > 0;)
        if (t->ev[j].kind == TR_OP_BEGIN)
            return j;
    return 0;
}

bool replay_key(struct console *c, int key)
{
    if (key == KEY_F(5)) {
        replay_seek(c, c->rec_pos + 1);
        return true;
    }
    if (key == KEY_F(6)) {
        console_message(c, "replay is read-only: nothing is sent");
        return true;
    }
    if (c->focus == FOCUS_CMD && !rlb_line_empty())
        return false;   /* a command being typed: the key is part of it */
    switch (key) {
    case ']': replay_seek(c, c->rec_pos + 1); return true;
    case '[': replay_seek(c, c->rec_pos ? c->rec_pos - 1 : 0); return true;
    case '}': replay_seek(c, command_boundary(c, 1)); return true;
    case '{': replay_seek(c, command_boundary(c, -1)); return true;
    case '>': replay_seek(c, c->rec->t.n); return true;
    case '<': replay_seek(c, 0); return true;
    default: return false;
    }
}

bool replay_refuses(struct console *c, const struct cmd_info *cmd)
{
    if (cmd) {
        switch (cmd->id) {
        case CMD_CHAIN: case CMD_WALKTHROUGH: case CMD_HELP: case CMD_QUIT: case CMD_CLEAR:
        case CMD_RAW: case CMD_B64: case CMD_UNB64: case CMD_GOTO:
            return false;
        default: break;
        }
    }
    console_message(c, "replay is read-only: %s refused, nothing is sent",
                    cmd ? cmd->name : "a line for the server");
    return true;
}

/* "1.5", "+1.5s", "#12", "end", "start": the position it names, or -1. */
static long long goto_target(const struct console *c, const char *args)
{
    const struct transcript *t = &c->rec->t;
    if (!strcasecmp(args, "end") || !strcmp(args, "$"))
        return (long long)t->n;
    if (!strcasecmp(args, "start"))
        return 0;
    char *end;
    errno = 0;
    if (args[0] == '#') {
        long long n = strtoll(args + 1, &end, 10);
        return errno || end == args + 1 || *end || n < 0 ? -1 : n;
    }
    double secs = strtod(args[0] == '+' ? args + 1 : args, &end);
    if (end == args || errno || !isfinite(secs) || secs < 0 || (*end && strcmp(end, "s")))
        return -1;
    /* every event up to that time: the first one after it is hidden */
    int64_t us = secs > 1e12 ? INT64_MAX : (int64_t)llround(secs * 1e6);
    size_t i = 0;
    while (i < t->n && t->ev[i].t_us <= us)
        i++;
    return (long long)i;
}

void replay_goto(struct console *c, const char *args)
{
    if (!c->rec) {
        console_message(c, "/goto moves through a recording: mailscope replay FILE.json");
        return;
    }
    long long pos = *args ? goto_target(c, args) : -1;
    if (pos < 0) {
        console_message(c, "/goto SECONDS (1.5 or +1.5s from the start), #N (an event), "
                        "start or end");
        return;
    }
    replay_seek(c, (size_t)pos);
}

static double position_s(const struct console *c)
{
    return c->rec_pos ? (double)c->rec->t.ev[c->rec_pos - 1].t_us / 1e6 : 0.0;
}

void replay_status(struct console *c, WINDOW *w)
{
    const struct recording *r = c->rec;
    wattrset(w, theme_attr(ROLE_ACTIVE));
    waddstr(w, " REPLAY ");
    wattrset(w, theme_attr(ROLE_STATUS));
    waddstr(w, c->rec_name);
    char *host = sanitize_text(r->host ? r->host : "?", strlen(r->host ? r->host : "?"), 80);
    wprintw(w, " | %s:%u %s | ", host ? host : "", r->port,
            r->t.proto == SESSION_POP3 ? "POP3" : "IMAP");
    free(host);
    const struct tls_info *tls = r->t.has_tls ? &r->t.tls : NULL;
    wattrset(w, tls && tls->verified ? theme_attr(ROLE_STATUS) : theme_attr(ROLE_BANNER_BAD));
    char *version = tls ? sanitize_text(tls->version, strlen(tls->version), 20) : NULL;
    wprintw(w, "%s", tls ? (tls->verified ? (version ? version : "TLS") : "TLS UNVERIFIED")
                         : "PLAINTEXT");
    free(version);
    wattrset(w, theme_attr(ROLE_STATUS));
    wprintw(w, " | event %zu/%zu +%.3fs", c->rec_pos, r->t.n, position_s(c));
}

void replay_step_bar(struct console *c, WINDOW *w)
{
    wattrset(w, theme_attr(ROLE_ACTIVE));
    waddstr(w, " REPLAY (read-only) ");
    wattrset(w, theme_attr(ROLE_STATUS));
    waddstr(w, "  ] [ next/previous event  } { command  > < end/start  /goto SECONDS"
               "  F1 help");
}
