/* console.c — the console's life: options, terminal set-up and teardown,
 * the loop, the session and its plan, and what a typed line does. */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "chainsave.h"
#include "cmdtable.h"
#include "console_int.h"
#include "fingerprint.h"
#include "labface.h"
#include "lineclass.h"
#include "record.h"
#include "report.h"
#include "rlbridge.h"
#include "sasl.h"
#include "secret.h"
#include "sni.h"
#include "theme.h"
#include "walkcmd.h"

static struct console *the_console;   /* readline's callbacks carry no argument */
static int signal_fd = -1;

void console_usage(FILE *out)
{
    fputs("usage: mailscope [OPTIONS] [URL]      the interactive console\n"
          "  Steps through a session (F5 or /step), sends typed lines to the server,\n"
          "  shows replies, the certificate chain and capabilities side by side.\n"
          "  F1 lists every key and /command. Options as for probe:\n\n", out);
    options_usage(out);
}

void console_message(struct console *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
}

/* ---- the session ------------------------------------------------------ */

static void on_event(void *arg, const struct session_event *ev)
{
    struct console *c = arg;
    transcript_append(&c->t, ev);
    plan_on_event(&c->plan, ev);
}

static void end_session(struct console *c)
{
    if (!c->have_session)
        return;
    walkui_session_ends(c, "the session was closed (a new connection was opened)");
    session_free(c->s);
    c->s = NULL;
    tpane_detach(&c->tp);    /* the lines shown stay, as copies */
    transcript_free(&c->t);
    c->have_session = false;
    c->tp.consumed = 0;
}

static void connect_to(struct console *c, const char *url)
{
    char err[600];
    if (url && options_set_url(&c->o, url, err, sizeof err) < 0) {
        console_message(c, "%s", err);
        return;
    }
    if (!c->o.url_text) {
        console_message(c, "give a URL: /connect imap://host (imaps://, pop3://, pop3s://)");
        return;
    }
    if (c->have_session)
        tpane_info(&c->tp, ROLE_DIM, "=== new connection ===");
    end_session(c);
    transcript_init(&c->t, c->o.url.proto);
    char serr[300];
    if (c->o.spill_max && transcript_spill(&c->t, c->o.spill_max, serr, sizeof serr) < 0)
        console_message(c, "literals are previewed only (64 KiB each): %s", serr);
    labface_connected(c);
    struct session_params sp = options_session_params(&c->o);
    c->s = session_new(c->loop, &sp, on_event, c);
    if (!c->s) {
        console_message(c, "out of memory");
        transcript_free(&c->t);
        return;
    }
    c->have_session = true;
    struct plan_options po = { .tls = c->o.tls, .until = c->o.until, .auth = c->o.auth,
                               .no_discover = c->o.no_discover, .no_id = c->o.no_id,
                               .user = c->o.user, .secret = c->secret, .interactive = true };
    plan_init(&c->plan, c->s, &c->t, c->o.url.proto, &po);
    plan_advance(&c->plan);   /* connect and read the greeting at once */
}

static bool connected(struct console *c)
{
    if (c->have_session && session_state(c->s) != SST_CLOSED)
        return true;
    console_message(c, "not connected: /connect URL");
    return false;
}

static bool needs_secret(enum session_auth m) { return m != AUTH_EXTERNAL && m != AUTH_NTLM; }

/* Credentials about to go out in clear: ask first (the founding case is a
 * line-of-business app logging in with plain text on port 143). */
static bool confirm_plaintext(struct console *c, struct pending p)
{
    if (session_secure(c->s) || c->o.allow_plaintext)
        return false;
    c->pend = p;
    c->prompt = PROMPT_CONFIRM;
    c->plen = 0;
    console_message(c, "The connection is NOT encrypted. Send the credentials in clear text "
                    "to %s? Type yes or no", c->o.url.host);
    return true;
}

/* fresh: a typed /login or /auth asks again for a password that was typed
 * and used (it may be the one refused, or the operator has a new one); one
 * from --password-env, --password-file or the lab is used as given (/password
 * replaces it). */
static bool ask_password(struct console *c, struct pending p, bool fresh)
{
    if (!needs_secret(p.mech) || (c->secret && !(fresh && c->secret_spent)))
        return false;
    c->pend = p;
    c->prompt = PROMPT_PASSWORD;
    c->plen = 0;
    console_message(c, "password for %s (not shown, not kept in history)",
                    p.user[0] ? p.user : "the login");
    return true;
}

/* /password: whatever the kept password came from (typed, --password-env,
 * the lab), the next login uses the one typed now (an app password, a
 * token). */
static void new_password(struct console *c)
{
    c->pend = (struct pending){ .kind = PEND_NONE };
    c->prompt = PROMPT_PASSWORD;
    c->plen = 0;
    console_message(c, "new password for the next login (not shown, not kept in history)");
}

static void login(struct console *c, enum session_auth mech, const char *user, bool fresh)
{
    struct pending p = { .kind = PEND_LOGIN, .mech = mech };
    snprintf(p.user, sizeof p.user, "%s", user && *user ? user : c->o.user ? c->o.user : "");
    if (!p.user[0] && needs_secret(mech)) {
        console_message(c, "who? /login USER (or --user, or user@ in the URL)");
        return;
    }
    if (ask_password(c, p, fresh) || confirm_plaintext(c, p))
        return;
    if (!session_secure(c->s))
        session_allow_plaintext(c->s, true);   /* confirmed, or --allow-plaintext-login */
    if (session_login(c->s, mech, p.user, c->secret) == 0)
        c->secret_spent = c->secret_typed;
}

void console_step(struct console *c)
{
    if (!c->have_session) {
        connect_to(c, NULL);
        return;
    }
    if (session_busy(c->s)) {
        c->steps_queued++;   /* F5 pressed ahead: the step runs when the reply is in */
        console_message(c, "%d step(s) queued behind the one in flight (Ctrl-C cancels)",
                        c->steps_queued);
        return;
    }
    plan_settle(&c->plan);
    if (plan_next(&c->plan) == STEP_LOGIN && session_state(c->s) == SST_NOT_AUTHENTICATED) {
        struct pending p = { .kind = PEND_STEP, .mech = c->o.auth };
        snprintf(p.user, sizeof p.user, "%s", c->o.user ? c->o.user : "");
        if (ask_password(c, p, false) || confirm_plaintext(c, p))
            return;
        if (!session_secure(c->s))
            session_allow_plaintext(c->s, true);
        c->secret_spent = c->secret_typed;
    }
    c->plan.o.secret = c->secret;
    if (!plan_advance(&c->plan))
        console_message(c, "the plan is done: type commands, or /connect again");
}

/* ---- prompts ---------------------------------------------------------- */

static void send_raw(struct console *c, const char *line);

void console_prompt_done(struct console *c, bool accepted)
{
    enum prompt was = c->prompt;
    c->prompt = PROMPT_NONE;
    c->pbuf[c->plen] = 0;
    struct pending p = c->pend;
    c->pend = (struct pending){ .kind = PEND_NONE };
    if (was == PROMPT_SEARCH) {
        snprintf(c->search, sizeof c->search, "%.255s", c->pbuf);
        c->message[0] = 0;
        if (accepted && !tv_search(&c->tp.tv, c->search, true, getmaxy(c->wtrans)))
            console_message(c, "not found: %s", c->search);
    } else if (was == PROMPT_PASSWORD && accepted) {
        secret_free(c->secret);
        c->secret = strdup(c->pbuf);
        c->secret_typed = true;
        c->secret_spent = false;
        c->plan.o.secret = c->secret;   /* the plan must not keep the old one */
        c->message[0] = 0;
        if (p.kind == PEND_NONE)
            console_message(c, "the next login uses the password just typed");
        else if (p.kind == PEND_STEP)
            console_step(c);
        else if (p.kind == PEND_LOGIN)
            login(c, p.mech, p.user, false);
    } else if (was == PROMPT_CONFIRM && accepted && !strcasecmp(c->pbuf, "yes")) {
        c->o.allow_plaintext = true;
        session_allow_plaintext(c->s, true);
        c->message[0] = 0;
        if (p.kind == PEND_STEP)
            console_step(c);
        else if (p.kind == PEND_LOGIN)
            login(c, p.mech, p.user, false);
        else if (p.kind == PEND_RAW)
            send_raw(c, p.line);
    } else {
        console_message(c, "cancelled");
        if (p.kind == PEND_STEP && c->wk.pending_id[0])
            plan_skip(&c->plan);   /* mailscope walkthrough: do not ask again and again */
    }
    if (p.line) {
        explicit_bzero(p.line, strlen(p.line));
        free(p.line);
    }
    explicit_bzero(c->pbuf, sizeof c->pbuf);
    c->plen = 0;
}

/* ---- typed lines ------------------------------------------------------ */

static void send_raw(struct console *c, const char *line)
{
    bool secret = false;
    bool cont = session_wants_continuation(c->s, &secret);
    bool imap = c->o.url.proto == SESSION_IMAP;
    bool tag = imap && !cont && cmdtable_imap_needs_tag(line);
    bool creds = !cont && lineclass_has_credentials(c->o.url.proto, line, imap && !tag);
    if (creds && !session_secure(c->s) && !c->o.allow_plaintext) {
        struct pending p = { .kind = PEND_RAW, .line = strdup(line) };
        if (p.line && confirm_plaintext(c, p))
            return;
        free(p.line);
    }
    if (!creds && !secret)
        rlb_remember(line);   /* history never holds a credential */
    if (session_raw(c->s, line, tag) < 0)
        console_message(c, "%s", session_error(c->s));
}

static void chain_save(struct console *c, const char *path)
{
    size_t n = 0;
    char err[600];
    if ((!c->have_session && !c->rec) || !c->t.has_tls || !c->t.tls.n_chain)
        console_message(c, "no certificate chain yet");
    else if (chainsave_write(path, &c->t.tls, &n, err, sizeof err) < 0)
        console_message(c, "%s", err);
    else
        console_message(c, "saved %zu certificate(s) to %s", n, path);
}

/* Both TLS ports at once on the console's loop; the result is shown in the
 * transcript pane when every endpoint has answered. */
static void compare_start(struct console *c, const char *args)
{
    if (!c->o.url_text) {
        console_message(c, "/connect first: /compare uses that host");
        return;
    }
    if (c->cmp) {
        console_message(c, "a comparison is already under way");
        return;
    }
    struct compare_options co = {
        .proto = c->o.url.proto, .all = !strcmp(args, "all"), .host = c->o.url.host,
        .family = c->o.family, .tls = options_session_params(&c->o).tls,
        .insecure = c->o.insecure, .timeout_ms = c->o.timeout_ms,
        .expiry_warn_days = c->o.expiry_warn_days };
    char err[300];
    if (c->o.ports && compare_ports_parse(c->o.ports, &co.ports, err, sizeof err) < 0) {
        console_message(c, "%s", err);
        return;
    }
    c->cmp = compare_new(c->loop, &co);
    console_message(c, c->cmp ? "comparing the certificates on every TLS port..." : "out of memory");
}

/* The text of a finished check into the transcript pane, line by line. */
static void show_text(struct console *c, char *text)
{
    for (char *line = text, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        tpane_info(&c->tp, ROLE_NOTE, line);
        if (!nl)
            break;
    }
}

static void compare_finish(struct console *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        compare_text(f, c->cmp);
        fclose(f);
    }
    show_text(c, text);
    free(text);
    compare_free(c->cmp);
    c->cmp = NULL;
    c->message[0] = 0;
}

/* Two handshakes on the session's port, with SNI and without, on the
 * console's loop; the result is shown when both have answered. */
static void sni_start(struct console *c)
{
    char err[300];
    if (!c->o.url_text) {
        console_message(c, "/connect first: /sni uses that host and port");
        return;
    }
    if (c->sni) {
        console_message(c, "an SNI check is already under way");
        return;
    }
    if (c->o.tls == PLAN_TLS_NONE || !sni_name_for(c->o.url.host, c->o.servername, err, sizeof err)) {
        console_message(c, "%s", c->o.tls == PLAN_TLS_NONE ? "/sni needs TLS (not --tls=none)" : err);
        return;
    }
    struct sni_options so = sni_options_of(&c->o);
    c->sni = sni_new(c->loop, &so);
    console_message(c, c->sni ? "comparing the certificate with and without SNI..." : "out of memory");
}

static void sni_finish(struct console *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        sni_text(f, c->sni);
        fclose(f);
    }
    show_text(c, text);
    free(text);
    sni_free(c->sni);
    c->sni = NULL;
    c->message[0] = 0;
}

/* The current session to a file, in the format of its extension. */
static int write_session(struct console *c, const char *path, char *err, size_t errlen)
{
    char url[600];
    struct report_target tg = options_report_target(&c->o, url, sizeof url);
    if (c->ip.have_log) {
        tg.log_lines = (const char *const *)c->ip.log.lines;
        tg.n_log_lines = c->ip.log.n;
        tg.log_server = c->ip.log.server;
    }
    struct report_verdict v;
    report_evaluate(&c->plan, &c->t, c->s, &tg, &v);
    json_t *j = report_json(&c->plan, &c->t, c->s, &tg, &v);
    int rc = record_write(path, j, &c->plan, &c->t, c->s, &tg, &v, err, errlen);
    json_decref(j);
    return rc;
}

static void save(struct console *c, const char *path)
{
    if (!c->have_session || !*path) {
        console_message(c, !*path ? "/save FILE.txt (or .md, .html, .json)" : "nothing to save yet");
        return;
    }
    char err[600];
    if (write_session(c, path, err, sizeof err) < 0)
        console_message(c, "%s", err);
    else
        console_message(c, "saved the session to %s (credentials redacted)", path);
}

static void b64(struct console *c, const char *text, bool decode)
{
    char out[800];
    if (decode) {
        char line[700];
        snprintf(line, sizeof line, "+ %s", text);
        if (!lineclass_challenge_text(line, strlen(line), out, sizeof out)) {
            console_message(c, "not base64: %s", text);
            return;
        }
    } else {
        char *enc = NULL;
        size_t n;
        if (sasl_b64_encode(text, strlen(text), &enc, &n) < 0)
            return;
        snprintf(out, sizeof out, "%s", enc);
        free(enc);
    }
    char info[900];
    snprintf(info, sizeof info, "%s %s", decode ? "decoded:" : "base64:", out);
    tpane_info(&c->tp, ROLE_NOTE, info);
}

static void auth_command(struct console *c, const char *args)
{
    char mech[32] = "", user[256] = "";
    sscanf(args, "%31s %255s", mech, user);
    enum session_auth m;
    if (!mech[0] || session_auth_parse(mech, &m) < 0) {
        console_message(c, "/auth MECH [USER]: plain login-sasl cram-md5 xoauth2 oauthbearer "
                        "external ntlm apop user login");
        return;
    }
    login(c, m, user, true);
}

static void tab_command(struct console *c, enum ipane_tab tab)
{
    c->ip.tab = tab;
    c->focus = FOCUS_INSPECTOR;
}

/* /log FILE|DIR (and --server-log): the log's failures of this session's
 * user become evidence in the Diagnosis tab. */
static int load_log(struct console *c, const char *path, char *err, size_t errlen)
{
    struct logscan_evidence le;
    const char *user = c->o.user ? c->o.user : c->o.url.user;
    if (logscan_evidence_load(&le, path, user, c->o.url.proto == SESSION_POP3, err, errlen) < 0)
        return -1;
    if (c->ip.have_log)
        logscan_evidence_free(&c->ip.log);
    c->ip.log = le;
    c->ip.have_log = true;
    c->ip.built = false;
    return 0;
}

static void log_command(struct console *c, const char *path)
{
    char err[600];
    if (!*path) {
        console_message(c, "/log FILE|DIR: an Exchange IMAP4/POP3 protocol log");
        return;
    }
    if (load_log(c, path, err, sizeof err) < 0) {
        console_message(c, "/log: %s", err);
        return;
    }
    const char *user = c->o.user ? c->o.user : c->o.url.user;
    console_message(c, "%llu failure line%s%s%s in %s (%zu used as diagnosis evidence)",
                    (unsigned long long)c->ip.log.failures, c->ip.log.failures == 1 ? "" : "s",
                    user && *user ? " of " : "", user && *user ? user : "", path, c->ip.log.n);
    tab_command(c, TAB_DIAGNOSIS);
}

static void command(struct console *c, const struct cmd_info *cmd, const char *args)
{
    switch (cmd->id) {
    case CMD_CONNECT: connect_to(c, *args ? args : NULL); break;
    case CMD_STEP: console_step(c); break;
    case CMD_SKIP:
        if (walkui_waiting(c))
            walkui_command(c, cmd->id, args);   /* the walkthrough's action, not the plan's step */
        else if (c->have_session)
            plan_skip(&c->plan);
        break;
    case CMD_CAPABILITY:
        if (connected(c) && session_capability(c->s) < 0)
            console_message(c, "%s", session_error(c->s));
        break;
    case CMD_STARTTLS:
        if (connected(c) && session_starttls(c->s) < 0)
            console_message(c, "%s", session_error(c->s));
        break;
    case CMD_LOGIN:
        if (connected(c))
            login(c, c->o.url.proto == SESSION_IMAP ? AUTH_LOGIN : AUTH_USER, args, true);
        break;
    case CMD_PASSWORD:
        new_password(c);
        break;
    case CMD_AUTH:
        if (connected(c))
            auth_command(c, args);
        break;
    case CMD_CHAIN:
        if (!strncmp(args, "save", 4) && (args[4] == ' ' || !args[4]))
            chain_save(c, args[4] ? args + 5 : "chain.pem");
        else
            tab_command(c, TAB_CHAIN);
        break;
    case CMD_WALKTHROUGH: case CMD_DONE: case CMD_FAILED: case CMD_ANSWER:
        walkui_command(c, cmd->id, args);
        break;
    case CMD_SAVE: save(c, args); break;
    case CMD_HELP: c->help = true; break;
    case CMD_QUIT: c->quit = true; break;
    case CMD_DISCONNECT:
        if (connected(c) && session_logout(c->s) < 0)
            session_close(c->s);
        break;
    case CMD_CLEAR:
        tpane_clear(&c->tp, &c->t);
        break;
    case CMD_RAW:
        c->tp.raw = !strcasecmp(args, "on");
        tpane_rebuild(&c->tp);
        console_message(c, "raw display %s", c->tp.raw ? "on" : "off");
        break;
    case CMD_B64: b64(c, args, false); break;
    case CMD_UNB64: b64(c, args, true); break;
    case CMD_COMPARE: compare_start(c, args); break;
    case CMD_SNI: sni_start(c); break;
    case CMD_PS: labface_ps(c, args); break;
    case CMD_LOG: log_command(c, args); break;
    case CMD_GOTO: replay_goto(c, args); break;
    case CMD_NOTE:
        if (c->have_session && *args)
            transcript_note(&c->t, TR_NOTE, OP_NONE, args);
        break;
    default: break;
    }
}

void console_line(struct console *c, char *line)
{
    if (!line) {
        c->quit = true;   /* Ctrl-D on an empty line */
        return;
    }
    c->message[0] = 0;
    c->ctrl_c = 0;
    const char *args;
    const struct cmd_info *cmd = cmdtable_parse(line, &args);
    bool for_server = !cmd && *line && (line[0] != '/' || line[1] == '/');
    if (c->rec && (cmd || for_server) && replay_refuses(c, cmd)) {
        /* a replay sends nothing anywhere */
    } else if (cmd) {
        rlb_remember(line);
        command(c, cmd, args);
    } else if (line[0] == '/' && line[1] != '/') {
        console_message(c, "unknown command %.60s (F1 lists them; start a line with // to "
                        "send a slash to the server)", line);
    } else if (*line && connected(c)) {
        send_raw(c, line[0] == '/' ? line + 1 : line);
    }
    explicit_bzero(line, strlen(line));
    free(line);
}

void console_cancel(struct console *c)
{
    c->steps_queued = 0;
    if (c->have_session && session_busy(c->s)) {
        session_close(c->s);
        console_message(c, "cancelled: the connection was closed (/connect to start again)");
        return;
    }
    if (++c->ctrl_c >= 2)
        c->quit = true;
    else
        console_message(c, "press Ctrl-C again, or type /quit, to leave");
}

char **console_complete(const char *word, bool first_word)
{
    struct console *c = the_console;
    if (!first_word && word[0] != '/')
        return NULL;
    bool imap = !c->have_session || c->o.url.proto == SESSION_IMAP;
    return cmdtable_complete(word, imap, c->have_session ? session_current_caps(c->s) : NULL);
}

static void on_rl_line(char *line) { console_line(the_console, line); }

/* ---- terminal and loop ------------------------------------------------ */

static void on_signal_cb(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(signal_fd, &b, 1) < 0) {
        /* the pipe is full: a signal is already waiting */
    }
    errno = saved;
}

static void on_signal(void *arg, int fd, short revents)
{
    struct console *c = arg;
    unsigned char sigs[16];
    ssize_t n = read(fd, sigs, sizeof sigs);
    for (ssize_t i = 0; i < n; i++) {
        if (sigs[i] == SIGWINCH) {
            struct winsize ws;
            if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
                resizeterm(ws.ws_row, ws.ws_col);
            console_layout(c);
        } else if (sigs[i] == SIGINT) {
            console_cancel(c);
        } else {
            c->quit = true;
        }
    }
}

static void on_stdin(void *arg, int fd, short revents)
{
    struct console *c = arg;
    /* ncurses may hold bytes of a half-read key that poll() will not report again. */
    int key;
    while ((key = wgetch(c->wcmd)) != ERR)
        keys_handle(c, key);
}

static int install_signals(struct console *c)
{
    if (pipe2(c->sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    signal_fd = c->sig_pipe[1];
    struct sigaction sa = { .sa_handler = on_signal_cb };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static char *history_path(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home)
        return NULL;
    size_t n = strlen(home) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.mailscope_history", home);
    return p;
}

static void start_terminal(struct console *c)
{
    initscr();
    raw();        /* Ctrl-C arrives as a key: it cancels, it does not kill */
    noecho();
    nonl();
    set_escdelay(25);
    theme_init();
    curs_set(1);
    console_layout(c);
    char *hist = history_path();
    rlb_init("> ", on_rl_line, console_complete, hist);
    free(hist);
}

static void stop_terminal(void)
{
    static bool stopped;
    if (stopped)
        return;
    stopped = true;
    rlb_shutdown();
    endwin();
}

static int read_secret(struct console *c)
{
    char err[600];
    if (!c->o.password_env && !c->o.password_file)
        return 0;
    c->secret = c->o.password_env ? secret_from_env(c->o.password_env, err, sizeof err)
                                  : secret_from_file(c->o.password_file, err, sizeof err);
    if (!c->secret) {
        fprintf(stderr, "mailscope: %s\n", err);
        return -1;
    }
    return 0;
}

static void run(struct console *c)
{
    loop_watch(c->loop, STDIN_FILENO, POLLIN, on_stdin, c);
    loop_watch(c->loop, c->sig_pipe[0], POLLIN, on_signal, c);
    if (c->o.url_text)
        connect_to(c, NULL);
    while (!c->quit) {
        paint(c);
        bool waiting = (c->have_session && session_busy(c->s)) || c->wk.checking ||
                       c->wk.pending_id[0];
        loop_run_once(c->loop, waiting ? 200 : 1000);   /* the spinner turns while waiting */
        if (c->cmp && compare_advance(c->cmp))
            compare_finish(c);
        if (c->sni && sni_advance(c->sni))
            sni_finish(c);
        walkui_tick(c);
        if (c->steps_queued && c->have_session && !session_busy(c->s) &&
            c->prompt == PROMPT_NONE) {
            c->steps_queued--;
            console_step(c);
        }
    }
}

static void finish(struct console *c)
{
    char err[600] = "";
    if (c->have_session)
        walkui_session_ends(c, "the operator left the console");
    if (c->o.record && c->have_session && write_session(c, c->o.record, err, sizeof err) < 0)
        fprintf(stderr, "mailscope: --record: %s\n", err);
    end_session(c);
    labface_stop(c);
    walkui_free(c);
    compare_free(c->cmp);
    sni_free(c->sni);
    tpane_free(&c->tp);
    ipane_free(&c->ip);
    tv_free(&c->viewer);
    secret_free(c->secret);
    loop_free(c->loop);
}

/* The terminal, the loop and the panes around an options-ready console. */
static int console_open(struct console *c, bool lab, const char *scenario, const char *lab_addr)
{
    setlocale(LC_ALL, "");
    the_console = c;
    c->loop = loop_new();
    tpane_init(&c->tp);
    struct ipane keep = c->ip;   /* what a replay set before */
    ipane_init(&c->ip);
    c->ip.rec = keep.rec;
    c->ip.soon_days = c->o.expiry_warn_days;
    c->ip.o = &c->o;
    tv_init(&c->viewer);
    char err[600];
    if (c->o.server_log && load_log(c, c->o.server_log, err, sizeof err) < 0) {
        fprintf(stderr, "mailscope: --server-log: %s\n", err);
        return 3;
    }
    if (!c->loop || install_signals(c) < 0) {
        fprintf(stderr, "mailscope: cannot set up the event loop\n");
        return 3;
    }
    if (lab && labface_start(c, scenario, lab_addr, err, sizeof err) < 0) {
        fprintf(stderr, "mailscope: %s\n", err);
        return 3;
    }
    start_terminal(c);
    run(c);
    stop_terminal();
    finish(c);
    return 0;
}

static struct console live;   /* the live console (a replay has its own) */

/* mailscope walkthrough ID URL on a terminal: the console, which runs the
 * plan to its end and then starts playbook ID. */
int console_walkthrough(int argc, char **argv, const char *id, const struct walkcmd_opts *wo)
{
    char err[300];
    snprintf(live.wk.pending_id, sizeof live.wk.pending_id, "%s", id);
    live.wk.backend_port = wo->backend_port;
    live.wk.retest_auth_set = wo->retest_auth_set;
    live.wk.retest_auth = wo->retest_auth;
    if (wo->retest_password_env &&
        !(live.wk.retest_secret = secret_from_env(wo->retest_password_env, err, sizeof err))) {
        fprintf(stderr, "mailscope: %s\n", err);
        return 3;
    }
    return console_main(argc, argv);
}

int console_main(int argc, char **argv)
{
    struct console *c = &live;
    char err[600];
    bool lab = false;
    const char *scenario = NULL, *lab_addr = NULL;
    if (labface_take_args(&argc, argv, &lab, &scenario, &lab_addr, err, sizeof err) < 0) {
        fprintf(stderr, "mailscope: %s\n", err);
        return 3;
    }
    int rc = options_parse(argc, argv, 0, &c->o, err, sizeof err);
    if (rc > 0) {
        console_usage(stdout);
        return 0;
    }
    if (rc == 0 && (c->o.compare || c->o.tls_versions || c->o.sni || c->o.save_chain ||
                    c->o.output != OUT_TEXT || c->o.command)) {
        snprintf(err, sizeof err, "--compare, --tls-versions, --sni, --save-chain, --command, --json "
                 "and --output are probe options (mailscope probe ...); in the console use "
                 "/compare, /sni and /chain save, and type commands");
        rc = -1;
    }
    if (rc < 0 || read_secret(c) < 0) {
        if (rc < 0)
            fprintf(stderr, "mailscope: %s\n", err);
        return 3;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "mailscope: the console needs a terminal; for scripts use "
                "'mailscope probe'\n");
        return 3;
    }
    return console_open(c, lab, scenario, lab_addr);
}

int console_replay(struct recording *rec, const char *name)
{
    static struct console con;
    struct console *c = &con;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "mailscope replay: the console needs a terminal; for scripts use "
                "'mailscope replay --check'\n");
        return 2;
    }
    c->o = (struct ms_options){ .expiry_warn_days = 30 };
    c->rec = rec;
    c->rec_name = name;
    c->ip.rec = rec;
    replay_seek(c, rec->t.n);      /* the whole session first; step back from the end */
    return console_open(c, false, NULL, NULL);
}
