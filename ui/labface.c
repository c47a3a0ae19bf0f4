/* labface — see labface.h. */
#include "labface.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "lab.h"

int labface_take_args(int *argc, char **argv, bool *want, const char **scenario,
                      const char **address, char *err, size_t errlen)
{
    *want = false;
    *address = NULL;
    *scenario = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--lab-address")) {
            if (i + 1 >= *argc) {
                snprintf(err, errlen, "--lab-address needs a loopback address");
                return -1;
            }
            *address = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--lab")) {
            argv[out++] = argv[i];
            continue;
        }
        if (*want) {
            snprintf(err, errlen, "--lab given twice");
            return -1;
        }
        *want = true;
        /* the next word is the scenario unless it is an option or a URL */
        if (i + 1 < *argc && argv[i + 1][0] != '-' && !strstr(argv[i + 1], "://"))
            *scenario = argv[++i];
    }
    argv[out] = NULL;
    *argc = out;
    if (*address && !*want) {
        snprintf(err, errlen, "--lab-address goes with --lab");
        return -1;
    }
    return 0;
}

static void note(struct console *c, const char *text);

static void on_lab_event(void *arg, const char *line)
{
    struct console *c = arg;
    if (c->lab_in_ps)
        note(c, line);
    else
        tpane_info(&c->tp, ROLE_DIM, line);
    c->redraw = true;
}

int labface_start(struct console *c, const char *scenario, const char *address, char *err,
                  size_t errlen)
{
    if (c->o.url_text) {
        snprintf(err, errlen, "--lab aims the console at the lab itself: give no URL");
        return -1;
    }
    struct lab_config cfg = { .scenario = scenario, .address = address, .port_shift = -1,
                              .on_event = on_lab_event,
                              .event_arg = c };
    c->lab = lab_start(c->loop, &cfg, err, errlen);
    if (!c->lab)
        return -1;
    /* Gmail has no plain-text port: its IMAPS */
    lab_url(c->lab, lab_port(c->lab, LAB_IMAP) ? LAB_IMAP : LAB_IMAPS, c->lab_url, sizeof c->lab_url);
    /* The clear-text scenarios show their fault only without TLS: unless the
     * operator chose a TLS mode, the console starts the way that client does. */
    const char *id = lab_scenario_id(c->lab);
    bool cleartext = !strcmp(id, "exchange-securelogin") || !strcmp(id, "dovecot-cleartext-disallowed");
    if (cleartext && c->o.tls == PLAN_TLS_AUTO) {
        c->o.tls = PLAN_TLS_NONE;
        c->o.allow_plaintext = true;
        tpane_info(&c->tp, ROLE_DIM, "lab: this scenario is about a client that logs in without TLS: "
                   "--tls=none here (start with --tls=starttls to see the preferred fix)");
    }
    if (options_set_url(&c->o, c->lab_url, err, errlen) < 0) {
        labface_stop(c);
        return -1;
    }
    char line[1200];
    snprintf(line, sizeof line, "lab: %s on %s; /ps help lists the server shell's commands",
             lab_scenario_id(c->lab), lab_address(c->lab));
    tpane_info(&c->tp, ROLE_DIM, line);
    if (lab_has_protocol_log(c->lab)) {
        snprintf(line, sizeof line, "lab: the server's protocol log: /log %s/Imap4 (POP3: %s/Pop3)",
                 lab_dir(c->lab), lab_dir(c->lab));
        tpane_info(&c->tp, ROLE_DIM, line);
    }
    if (!c->o.cafile)
        c->o.cafile = lab_ca_file(c->lab);
    if (!c->secret)
        c->secret = strdup(lab_password(c->lab));
    return 0;
}

/* The shell lines of the current connection, replayed into the next one's
 * transcript: the fix typed between a failure and its re-test stays in the
 * story the re-test's transcript tells. */
#define CARRY_MAX 200
static char *carry[CARRY_MAX];
static size_t ncarry;

static void carry_add(const char *text)
{
    if (ncarry < CARRY_MAX) {
        char *d = strdup(text);
        if (d)
            carry[ncarry++] = d;
    }
}

static void carry_clear(void)
{
    for (size_t i = 0; i < ncarry; i++)
        free(carry[i]);
    ncarry = 0;
}

static void note(struct console *c, const char *text)
{
    if (c->have_session)
        transcript_note(&c->t, TR_NOTE, OP_NONE, text);
    else
        tpane_info(&c->tp, ROLE_NOTE, text);
    carry_add(text);
}

void labface_connected(struct console *c)
{
    if (!c->lab || !ncarry)
        return;
    transcript_note(&c->t, TR_NOTE, OP_NONE, "lab: the shell commands run before this connection:");
    for (size_t i = 0; i < ncarry; i++)
        transcript_note(&c->t, TR_NOTE, OP_NONE, carry[i]);
    carry_clear();
}

/* One line of the shell's output, indented under the command; the blank
 * lines PowerShell frames its lists with are left out of the transcript. */
static void ps_line(void *arg, const char *line)
{
    struct console *c = arg;
    char buf[1100];
    if (!*line)
        return;
    if (lab_shell_line_is_secret(c->lab, line)) {
        /* a credential: on the status line only, never in the transcript */
        note(c, "      ***** (the app password: on the status line, not kept in the transcript)");
        console_message(c, "the new app password (shown once, not kept): %s", line + strspn(line, " "));
        return;
    }
    snprintf(buf, sizeof buf, "  %s", line);
    note(c, buf);
}

void labface_ps(struct console *c, const char *args)
{
    if (!c->lab) {
        console_message(c, "/ps runs in the lab's simulated server shell: start with mailscope --lab");
        return;
    }
    if (!*args) {
        console_message(c, "/ps COMMAND, e.g. /ps Get-ImapSettings | Format-List X509CertificateName,LoginType"
                        " (/ps help lists them)");
        return;
    }
    char head[1100];
    snprintf(head, sizeof head, "%s %s", lab_prompt(c->lab), args);
    note(c, head);
    c->lab_in_ps = true;
    int rc = lab_shell_exec(c->lab, args, ps_line, c);
    c->lab_in_ps = false;
    if (rc == 1)
        console_message(c, "the lab's shell stays open in the console; /quit leaves mailscope");
    c->redraw = true;
}

void labface_stop(struct console *c)
{
    lab_stop(c->lab);
    c->lab = NULL;
    carry_clear();
}
