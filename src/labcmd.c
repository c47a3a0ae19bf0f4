/* labcmd — see labcmd.h. */
#include "labcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "labshell.h"
#include "loop.h"

void labcmd_usage(FILE *out)
{
    fputs("       mailscope lab [SCENARIO] [--list] [--address ADDR] [--port-shift N] [--dir DIR] [--no-shell]\n"
          "                     [--app-password LETTERS]\n"
          "                                        faithful scenario servers to rehearse a fix on, with a\n"
          "                                        simulated server shell on stdin ([PS] EX01>)\n", out);
}

void labcmd_help(FILE *out)
{
    fputs("usage: mailscope lab [SCENARIO] [OPTIONS]\n"
          "  Start built-in IMAP/POP3 servers on a loopback address that answer like the real\n"
          "  server of SCENARIO (default " LAB_DEFAULT_SCENARIO "), write an Exchange-format\n"
          "  protocol log, and read simulated shell commands from stdin (EOF or exit stops the lab).\n"
          "  --list              the scenarios, one a line\n"
          "  --address ADDR      loopback address to listen on (default " LAB_DEFAULT_ADDRESS ")\n"
          "  --port-shift N      add N to every port (default: +10000 only when ports below 1024\n"
          "                      are refused)\n"
          "  --dir DIR           protocol logs and the lab CA (default: a new directory in $TMPDIR)\n"
          "  --no-shell          no shell: serve until SIGINT/SIGTERM\n"
          "  --app-password P    gmail-app-password: the 16 letters the next app-password create\n"
          "                      yields (scripted rehearsals; default: random, as Google's)\n"
          "Ports: IMAP 143 (STARTTLS), IMAPS 993, POP3 110 (STLS), POP3S 995, and Exchange's backend\n"
          "1993 (IMAP) / 1995 (POP3). Scenarios:\n", out);
    size_t n;
    const struct lab_scenario *s = lab_scenarios(&n);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-30s %s\n", s[i].id, s[i].description);
    fputs("Shell ([PS] EX01>; a Set- counts once the services restart):\n"
          "  Get-ImapSettings [-Server EX01] [| Format-List X509CertificateName,LoginType]\n"
          "  Set-ImapSettings [-Server EX01] -X509CertificateName NAME | -LoginType PlainTextLogin|\n"
          "                   PlainTextAuthentication|SecureLogin     (Get-/Set-PopSettings alike)\n"
          "  Set-ImapSettings -ProtocolLogEnabled $true|$false   Get-User alice   Get-Service MSExchange*\n"
          "  Get-CASMailbox -Identity alice [| Format-List ImapEnabled,PopEnabled]\n"
          "  Set-CASMailbox -Identity alice -ImapEnabled $true|$false [-PopEnabled $true|$false]\n"
          "  Get-ExchangeCertificate [| Format-List]   Enable-ExchangeCertificate -Thumbprint T -Services IMAP,POP\n"
          "  Import-Certificate -FilePath FILE -CertStoreLocation Cert:\\LocalMachine\\CA\n"
          "  Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE   (POP3: MSExchangePOP3[BE])\n"
          "  help, exit    (Dovecot: doveconf -n, echo '...' >> /etc/dovecot/..., systemctl reload dovecot)\n"
          "  exchange-tls-legacy, the registry and a reboot:\n"
          "  New-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server' -Force\n"
          "  New-ItemProperty -Path 'HKLM:\\...\\TLS 1.2\\Server' -Name Enabled|DisabledByDefault -Value 1|0\n"
          "                   -PropertyType DWord -Force     (Set-/Get-/Remove-ItemProperty, Get-Item alike)\n"
          "  Restart-Computer [-Force]     SChannel reads its protocol switches at boot only\n"
          "Google Account stand-in ([Google Account] alice@gmail.com>, gmail-app-password):\n"
          "  https://myaccount.google.com/apppasswords   app-password create NAME | list | revoke NAME\n", out);
}

static volatile sig_atomic_t stop_signal;
static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    stop_signal = sig;
    if (sig_pipe[1] >= 0) {
        int e = errno;
        ssize_t r = write(sig_pipe[1], "x", 1);
        (void)r;
        errno = e;
    }
}

struct shell {
    struct loop *lp;
    struct lab *lab;
    char buf[LABSHELL_LINE_MAX + 2];
    size_t len;
    bool skipping;      /* an overlong line: drop the rest of it */
    bool done;
    bool at_prompt;     /* the prompt is the last thing printed */
};

static struct shell *the_shell;

static void print_line(void *arg, const char *line)
{
    FILE *f = arg;
    fprintf(f, "%s\n", line);
    fflush(f);
}

static void prompt(struct shell *sh)
{
    printf("%s ", lab_prompt(sh->lab));
    fflush(stdout);
    sh->at_prompt = true;
}

/* A lab event: on its own line, and the prompt again after it on a terminal. */
static void print_event(void *arg, const char *line)
{
    struct shell *sh = the_shell;
    (void)arg;
    if (sh && sh->at_prompt)
        fputc('\n', stdout);
    print_line(stdout, line);
    if (sh && sh->at_prompt) {
        sh->at_prompt = false;
        if (isatty(STDOUT_FILENO))
            prompt(sh);
    }
}

static void run_line(struct shell *sh, char *line)
{
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[n - 1] = '\0';
    sh->at_prompt = false;
    if (!isatty(STDIN_FILENO)) {
        printf("%s\n", line);     /* echo piped input, so the output reads like a session */
        fflush(stdout);
    }
    if (lab_shell_exec(sh->lab, line, print_line, stdout) == 1) {
        sh->done = true;
        return;
    }
    prompt(sh);
}

static void on_stdin(void *arg, int fd, short revents)
{
    (void)revents;
    struct shell *sh = arg;
    ssize_t r = read(fd, sh->buf + sh->len, LABSHELL_LINE_MAX + 1 - sh->len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        if (sh->len && !sh->skipping) {
            sh->buf[sh->len] = '\0';
            run_line(sh, sh->buf);
        }
        sh->done = true;
        return;
    }
    sh->len += (size_t)r;
    char *nl;
    while (!sh->done && (nl = memchr(sh->buf, '\n', sh->len))) {
        *nl = '\0';
        if (sh->skipping)
            sh->skipping = false;
        else
            run_line(sh, sh->buf);
        size_t used = (size_t)(nl - sh->buf) + 1;
        memmove(sh->buf, nl + 1, sh->len - used);
        sh->len -= used;
    }
    if (sh->len > LABSHELL_LINE_MAX) {
        printf("\nlab: that line is longer than %d characters; it was not run\n", LABSHELL_LINE_MAX);
        sh->len = 0;
        sh->skipping = true;
        prompt(sh);
    }
}

static void on_sigpipe_fd(void *arg, int fd, short revents)
{
    (void)revents;
    char b[16];
    ssize_t r = read(fd, b, sizeof b);
    (void)r;
    ((struct shell *)arg)->done = true;
}

void labcmd_banner(const struct lab *lab, FILE *out, bool shell)
{
    char url[160];
    size_t n;
    const struct lab_scenario *s = lab_scenarios(&n);
    const char *desc = "";
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s[i].id, lab_scenario_id(lab)))
            desc = s[i].description;
    fprintf(out, "mailscope lab: %s\n  %s\n", lab_scenario_id(lab), desc);
    if (lab_port_shift(lab) && lab_port_shift_forced(lab))
        fprintf(out, "  Every port is shifted by %d (--port-shift).\n", lab_port_shift(lab));
    else if (lab_port_shift(lab))
        fprintf(out, "  Ports below 1024 need root here: every port is shifted by %d.\n", lab_port_shift(lab));
    fprintf(out, "Listening on %s (server %s):\n", lab_address(lab), lab_server_fqdn(lab));
    static const char *const what[LAB_NPORTS] = { "IMAP, STARTTLS", "IMAPS, implicit TLS", "POP3, STLS",
        "POP3S, implicit TLS", "IMAP backend (MSExchangeIMAP4BE), TLS", "POP3 backend (MSExchangePOP3BE), TLS" };
    for (int i = 0; i < LAB_NPORTS; i++)
        if (lab_port(lab, (enum lab_port)i))
            fprintf(out, "  %5u  %s\n", lab_port(lab, (enum lab_port)i), what[i]);
    enum lab_port im = lab_port(lab, LAB_IMAP) ? LAB_IMAP : LAB_IMAPS;
    enum lab_port po = lab_port(lab, LAB_POP3) ? LAB_POP3 : LAB_POP3S;
    fprintf(out, "Try:\n  mailscope %s --cafile %s\n", lab_url(lab, im, url, sizeof url), lab_ca_file(lab));
    fprintf(out, "  PW=%s mailscope probe %s --cafile %s --password-env PW\n", lab_password(lab),
            lab_url(lab, im, url, sizeof url), lab_ca_file(lab));
    fprintf(out, "  PW=%s mailscope probe %s --cafile %s --password-env PW\n", lab_password(lab),
            lab_url(lab, po, url, sizeof url), lab_ca_file(lab));
    if (!strcmp(lab_scenario_id(lab), "gmail-app-password"))
        fprintf(out, "Lab account: %s, account password %s. Lab CA (trust it with --cafile): %s\n",
                lab_user(lab), lab_password(lab), lab_ca_file(lab));
    else
        fprintf(out, "Lab account: %s (also %s@contoso.com), password %s; \"administrator\" is refused as\n"
                     "  Exchange refuses it. Lab CA (trust it with --cafile): %s\n",
                lab_user(lab), lab_user(lab), lab_password(lab), lab_ca_file(lab));
    if (!strcmp(lab_scenario_id(lab), "gmail-app-password"))
        fprintf(out, "  2-Step Verification is on: Google refuses that password over IMAP/POP; create an\n"
                     "  app password in the shell (app-password create NAME). XOAUTH2 token: lab-oauth-token\n");
    if (!strcmp(lab_scenario_id(lab), "exchange-tls-legacy"))
        fprintf(out, "  SChannel offers TLS 1.0 only: modern clients fail the handshake (mailscope probe\n"
                     "  --tls-versions tells which versions the server accepts)\n");
    if (!strcmp(lab_scenario_id(lab), "exchange-online-basic-off"))
        fprintf(out, "  XOAUTH2 token accepted: lab-oauth-token (--auth=xoauth2 --password-env TOKEN)\n");
    if (lab_has_protocol_log(lab))
        fprintf(out, "Protocol log (Exchange format): %s/Imap4/ and %s/Pop3/\n", lab_dir(lab), lab_dir(lab));
    if (shell) {
        lab_shell_help(lab, print_line, out);
        fprintf(out, "Shell: help lists these again; exit (or end of input) stops the lab.\n");
    }
    else
        fprintf(out, "No shell (--no-shell): Ctrl-C (SIGINT) or SIGTERM stops the lab.\n");
    fflush(out);
}

/* Returns 0 to go on, 1 when done (--list, --help), 2 on a usage error. */
static int parse_args(int argc, char **argv, struct lab_config *cfg, bool *no_shell)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--list")) {
            size_t n;
            const struct lab_scenario *s = lab_scenarios(&n);
            for (size_t k = 0; k < n; k++)
                printf("%-30s %s\n", s[k].id, s[k].description);
            return 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            labcmd_help(stdout);
            return 1;
        } else if (!strcmp(a, "--no-shell")) {
            *no_shell = true;
        } else if ((!strcmp(a, "--address") || !strcmp(a, "--dir") || !strcmp(a, "--port-shift") ||
                    !strcmp(a, "--app-password")) && !v) {
            fprintf(stderr, "mailscope lab: %s needs a value\n", a);
            return 2;
        } else if (!strcmp(a, "--address")) {
            cfg->address = argv[++i];
        } else if (!strcmp(a, "--dir")) {
            cfg->dir = argv[++i];
        } else if (!strcmp(a, "--app-password")) {
            cfg->app_password = argv[++i];
            if (!lab_app_password_valid(cfg->app_password)) {
                fprintf(stderr, "mailscope lab: --app-password takes 16 letters a-z (spaces allowed), "
                                "as Google shows them\n");
                return 2;
            }
        } else if (!strcmp(a, "--port-shift")) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 0 || n > 60000) {
                fprintf(stderr, "mailscope lab: --port-shift takes a number from 0 to 60000\n");
                return 2;
            }
            cfg->port_shift = (int)n;
        } else if (a[0] == '-' || cfg->scenario) {
            fprintf(stderr, "mailscope lab: unexpected argument \"%.60s\" (mailscope lab --help)\n", a);
            return 2;
        } else {
            cfg->scenario = a;
        }
    }
    if (cfg->address && !lab_address_is_loopback(cfg->address)) {
        fprintf(stderr, "mailscope lab: %.80s is not a loopback address: the lab listens on 127.0.0.0/8 or ::1 only\n",
                cfg->address);
        return 2;
    }
    return 0;
}

static void watch_signals(struct loop *lp, struct shell *sh)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    loop_watch(lp, sig_pipe[0], POLLIN, on_sigpipe_fd, sh);
}

static void unwatch_signals(struct loop *lp)
{
    if (sig_pipe[0] < 0)
        return;
    loop_unwatch(lp, sig_pipe[0]);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
}

static void stdin_nonblocking(bool on)
{
    int fl = fcntl(STDIN_FILENO, F_GETFL);
    if (fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

int labcmd_main(int argc, char **argv)
{
    struct lab_config cfg = { .port_shift = -1, .on_event = print_event };
    bool no_shell = false;
    int rc = parse_args(argc, argv, &cfg, &no_shell);
    if (rc)
        return rc == 1 ? 0 : 2;
    struct loop *lp = loop_new();
    if (!lp) {
        fprintf(stderr, "mailscope lab: out of memory\n");
        return 1;
    }
    char err[512];
    struct lab *lab = lab_start(lp, &cfg, err, sizeof err);
    if (!lab) {
        fprintf(stderr, "mailscope %s\n", err);
        loop_free(lp);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct shell sh = { .lp = lp, .lab = lab };
    the_shell = &sh;
    watch_signals(lp, &sh);
    labcmd_banner(lab, stdout, !no_shell);
    if (!no_shell) {
        stdin_nonblocking(true);
        loop_watch(lp, STDIN_FILENO, POLLIN, on_stdin, &sh);
        prompt(&sh);
    }
    while (!sh.done)
        if (loop_run_once(lp, 1000) < 0 && errno != EINTR)
            break;
    if (!no_shell) {
        loop_unwatch(lp, STDIN_FILENO);
        stdin_nonblocking(false);
    }
    printf("\nmailscope lab: stopped%s\n", stop_signal ? " (signal)" : "");
    unwatch_signals(lp);
    lab_stop(lab);
    the_shell = NULL;
    loop_free(lp);
    return 0;
}
