/* `mailscope lab` as a user runs it: each scenario started as a child with a
 * stdin pipe for its simulated shell, `mailscope probe --json` pointed at it,
 * the diagnosis asserted, the fix typed into the shell, the re-probe passing,
 * and the Exchange-format protocol log telling the same story. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct labproc {
    pid_t pid;
    int in;                 /* the shell's stdin */
    char dir[128], out[192], addr[32];
    unsigned imap, imaps, pop3, pop3s, imap_be, pop3_be;
};

static char *lab_output(struct labproc *l)
{
    size_t n;
    char *s = slurp(l->out, &n);
    return s ? s : strdup("");
}

/* Wait until the lab's stdout holds needle (up to 15 s, longer under valgrind). */
static bool wait_output(struct labproc *l, const char *needle)
{
    for (int i = 0; i < 150 * MS_SLOW_FACTOR; i++) {
        char *s = lab_output(l);
        bool found = strstr(s, needle) != NULL;
        free(s);
        if (found)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

static unsigned banner_port(const char *out, const char *what)
{
    const char *p = strstr(out, what);
    if (!p)
        return 0;
    while (p > out && p[-1] != '\n')
        p--;
    return (unsigned)strtoul(p, NULL, 10);
}

static void lab_start_args2(struct labproc *l, const char *scenario, int n, const char *extra,
                            const char *extra2)
{
    memset(l, 0, sizeof *l);
    snprintf(l->addr, sizeof l->addr, "%s.1.%d", lab_net(), n);
    snprintf(l->dir, sizeof l->dir, "/tmp/mailscope-test-lab-XXXXXX");
    cr_assert_not_null(mkdtemp(l->dir));
    snprintf(l->out, sizeof l->out, "%s/stdout", l->dir);
    int p[2];
    cr_assert(pipe(p) == 0);
    l->pid = fork();
    cr_assert(l->pid >= 0);
    if (l->pid == 0) {
        int fd = open(l->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(p[0], 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(p[1]);
        execl(env("MS_BIN"), "mailscope", "lab", scenario, "--address", l->addr, "--dir", l->dir,
              extra, extra2, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    l->in = p[1];
    cr_assert(wait_output(l, "Listening on "), "the lab did not start");
    cr_assert(wait_output(l, "stops the lab."), "the lab did not finish its banner");
    char *out = lab_output(l);
    l->imap = banner_port(out, "  IMAP, STARTTLS");
    l->imaps = banner_port(out, "  IMAPS, implicit TLS");
    l->pop3 = banner_port(out, "  POP3, STLS");
    l->pop3s = banner_port(out, "  POP3S, implicit TLS");
    l->imap_be = banner_port(out, "  IMAP backend");
    l->pop3_be = banner_port(out, "  POP3 backend");
    cr_assert((l->imap || l->imaps) && (l->pop3 || l->pop3s), "no ports in the banner:\n%s", out);
    free(out);
}

static void lab_start_args(struct labproc *l, const char *scenario, int n, const char *extra)
{
    lab_start_args2(l, scenario, n, extra, NULL);
}

static void lab_start_at(struct labproc *l, const char *scenario, int n)
{
    lab_start_args(l, scenario, n, NULL);
}

/* Type a shell line and wait until its output mentions expect. */
static void shell(struct labproc *l, const char *line, const char *expect)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    cr_assert(write(l->in, buf, (size_t)n) == n);
    if (expect) {
        bool ok = wait_output(l, expect);
        char *out = lab_output(l);
        cr_assert(ok, "after \"%s\" the lab never printed \"%s\":\n%s", line, expect, out);
        free(out);
    }
}

static int lab_end(struct labproc *l)
{
    close(l->in);      /* EOF on stdin stops the lab */
    int st = 0;
    for (int i = 0; i < 100 * MS_SLOW_FACTOR; i++) {
        if (waitpid(l->pid, &st, WNOHANG) == l->pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        usleep(100 * 1000);
    }
    kill(l->pid, SIGKILL);
    waitpid(l->pid, &st, 0);
    cr_assert_fail("the lab did not stop at the end of its input");
    return -1;
}

static char *log_text(struct labproc *l, const char *sub, const char *prefix)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cat %s/%s/%s2*.LOG 2>/dev/null", l->dir, sub, prefix);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    pclose(f);
    if (!buf)
        buf = strdup("");
    else
        buf[len] = '\0';
    return buf;
}

static void cleanup(struct labproc *l)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", l->dir);
    cr_expect(system(cmd) == 0);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

static const char *first_diag(json_t *j)
{
    return str(json_array_get(json_object_get(j, "diagnoses"), 0), "id");
}

/* Connect in clear text, read the greeting, send line, return the reply line
 * that starts with prefix (IMAP: the tag); line NULL: return the first line. */
static void raw_reply_from(struct labproc *l, unsigned port, const char *line, const char *prefix,
                           char *out, size_t outlen, const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (from) {
        struct sockaddr_in me = { .sin_family = AF_INET };
        inet_pton(AF_INET, from, &me.sin_addr);
        cr_assert(bind(fd, (struct sockaddr *)&me, sizeof me) == 0);
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, l->addr, &sa.sin_addr);
    cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    struct timeval tv = { 5 * MS_SLOW_FACTOR, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[8192];
    size_t n = 0;
    bool sent = false;
    out[0] = '\0';
    for (;;) {
        ssize_t got = read(fd, buf + n, sizeof buf - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
        buf[n] = '\0';
        if (!line && strstr(buf, "\r\n")) {
            snprintf(out, outlen, "%.*s", (int)(strstr(buf, "\r\n") - buf), buf);
            break;
        }
        if (!sent && strstr(buf, "\r\n")) {
            dprintf(fd, "%s\r\n", line);
            sent = true;
            n = 0;
            continue;
        }
        char *p = strstr(buf, prefix);
        char *e = p ? strstr(p, "\r\n") : NULL;
        if (e && (p == buf || p[-1] == '\n')) {
            snprintf(out, outlen, "%.*s", (int)(e - p), p);
            break;
        }
        if (n >= sizeof buf - 1)
            break;
    }
    close(fd);
}

static void raw_reply(struct labproc *l, unsigned port, const char *line, const char *prefix,
                      char *out, size_t outlen)
{
    raw_reply_from(l, port, line, prefix, out, outlen, NULL);
}

/* probe URL against the lab, trusting its CA; extra options after. */
static json_t *probe(struct labproc *l, const char *scheme, unsigned port, const char *user,
                     const char *const *extra, struct run_result *r)
{
    char url[160], ca[200];
    snprintf(url, sizeof url, "%s://%s@%s:%u", scheme, user ? user : "alice", l->addr, port);
    snprintf(ca, sizeof ca, "%s/lab-ca.pem", l->dir);
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", 10 * MS_SLOW_FACTOR);
    const char *args[20] = { url, "--cafile", ca, "--password-env", "PW", "--json", "--timeout", timeout };
    size_t n = 8;
    for (size_t i = 0; extra && extra[i] && n < 19; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    run_mailscope_env(r, args, (const char *const[]){ "PW=LabPassw0rd", NULL });
    return run_json(r);
}

static json_t *step_last(json_t *j, const char *name)
{
    json_t *a = json_object_get(j, "steps"), *s, *found = NULL;
    size_t i;
    json_array_foreach(a, i, s)
        if (!strcmp(str(s, "name"), name))
            found = s;
    return found;
}

static void assert_login(json_t *j, bool ok, const char *status)
{
    json_t *s = step_last(j, "login");
    cr_assert_not_null(s, "no login step in %s", json_dumps(j, 0));
    cr_assert_eq(json_is_true(json_object_get(s, "ok")), ok, "login ok=%d expected %d: %s",
                 json_is_true(json_object_get(s, "ok")), ok, json_dumps(s, 0));
    if (status)
        cr_assert_str_eq(str(s, "status"), status);
}

Test(lab, founding_scenario_imap_fix_end_to_end)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-cert-plaintextlogin", 10);
    json_t *j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    cr_expect_neq(r.exit_code, 0);
    assert_login(j, false, "NO");
    cr_expect_str_eq(first_diag(j), "R-EXCH-001");
    cr_expect_str_eq(str(j, "server_family"), "exchange");
    cr_expect_str_eq(str(j, "server_name_hint"), "EX01.contoso.local");
    json_decref(j);
    run_result_free(&r);
    char *log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strstr(log, "login,alice *****,\"R=\"\"a") != NULL, "%s", log);
    cr_expect(strstr(log, " NO LOGIN failed.\"\";Msg=Proxy:EX01.contoso.local:1993:SSL;ErrMsg=ProxyNotAuthenticated\"")
              != NULL, "%s", log);
    cr_expect(strstr(log, "ProxySuccess") == NULL);
    cr_expect(strstr(log, "LabPassw0rd") == NULL, "the password reached the log");
    cr_expect(strncmp(log, "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: IMAP4 Log\r\n#Date: ", 85) == 0,
              "%s", log);
    cr_expect(strstr(log, "#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,parameters,context\r\n"));
    free(log);

    shell(&l, "Get-ImapSettings -Server EX01 | Format-List X509CertificateName,LoginType",
          "X509CertificateName : mail.contoso.com");
    shell(&l, "Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local",
          "WARNING: Changes to IMAP4 settings will only take effect after all Microsoft Exchange IMAP4 services are restarted on server EX01.");
    shell(&l, "Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE", "MSExchangeIMAP4BE restarted");
    j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    assert_exit(&r, 0);
    assert_login(j, true, "OK");
    cr_expect(json_is_true(json_object_get(step_last(j, "select"), "ok")));
    json_decref(j);
    run_result_free(&r);
    log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strstr(log, " OK LOGIN completed.\"\";Msg=ProxySuccess\"") != NULL, "%s", log);
    free(log);
    log = log_text(&l, "Imap4", "IMAP4BE");
    cr_expect(strstr(log, "#Log-type: IMAP4 Log") && strstr(log, "authenticate,PLAIN"), "%s", log);
    free(log);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

Test(lab, founding_scenario_pop3_and_restart_semantics)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-cert-plaintextlogin", 11);
    json_t *j = probe(&l, "pop3", l.pop3, NULL, NULL, &r);
    assert_login(j, false, "-ERR");
    cr_expect_str_eq(first_diag(j), "R-EXCH-001");
    cr_expect_str_eq(str(j, "server_name_hint"), "EX01.contoso.local");
    json_decref(j);
    run_result_free(&r);
    /* the IMAP fix does not touch POP, and a Set- alone changes nothing */
    shell(&l, "Set-ImapSettings -X509CertificateName EX01.contoso.local", "WARNING: Changes to IMAP4");
    shell(&l, "set-popsettings -server ex01 -x509certificatename EX01.contoso.local", "WARNING: Changes to POP3");
    j = probe(&l, "pop3", l.pop3, NULL, NULL, &r);
    assert_login(j, false, "-ERR");
    json_decref(j);
    run_result_free(&r);
    /* the frontend alone is not enough: the backend still runs the old name */
    shell(&l, "Restart-Service MSExchangePOP3", "MSExchangePOP3 restarted");
    j = probe(&l, "pop3", l.pop3, NULL, NULL, &r);
    assert_login(j, false, "-ERR");
    json_decref(j);
    run_result_free(&r);
    shell(&l, "Restart-Service MSExchangePOP3BE", "MSExchangePOP3BE restarted");
    j = probe(&l, "pop3", l.pop3, NULL, NULL, &r);
    assert_exit(&r, 0);
    assert_login(j, true, "+OK");
    json_decref(j);
    run_result_free(&r);
    char *log = log_text(&l, "Pop3", "POP3");
    cr_expect(strstr(log, "pass,*****,\"R=\"\"-ERR Logon failure: unknown user name or bad password.\"\";"
                          "Msg=Proxy:EX01.contoso.local:1995:SSL;ErrMsg=ProxyNotAuthenticated\""), "%s", log);
    cr_expect(strstr(log, "\"R=\"\"+OK User successfully logged on.\"\";Msg=ProxySuccess\""), "%s", log);
    free(log);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

/* What answers on the backend port: a plain-text BYE while the bound name is
 * one the backend can't serve, TLS and a working IMAP server after the fix. */
Test(lab, backend_port_before_and_after_the_fix)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-cert-plaintextlogin", 12);
    cr_assert(l.imap_be && l.pop3_be);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)l.imap_be) };
    inet_pton(AF_INET, l.addr, &sa.sin_addr);
    cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    char buf[256];
    ssize_t n = 0, got;
    while (n < (ssize_t)sizeof buf - 1 && (got = read(fd, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
        n += got;
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    cr_expect_str_eq(buf, "* BYE Connection is closed. 14\r\n");
    shell(&l, "Set-ImapSettings -X509CertificateName EX01.contoso.local; Restart-Service MSExchangeIMAP4BE",
          "MSExchangeIMAP4BE restarted");
    json_t *j = probe(&l, "imaps", l.imap_be, NULL, NULL, &r);
    assert_exit(&r, 0);
    assert_login(j, true, "OK");
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

Test(lab, administrator_is_refused_as_a_well_known_account)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-securelogin", 13);
    json_t *j = probe(&l, "imap", l.imap, "administrator", (const char *[]){ "--auth=login", NULL }, &r);
    assert_login(j, false, "NO");
    json_decref(j);
    run_result_free(&r);
    char *log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strstr(log, "administrator,") && strstr(log, "ErrMsg=LogonFailed:WellKnownAccount"), "%s", log);
    free(log);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

Test(lab, securelogin_refuses_clear_text_until_loginType_changes)
{
    struct labproc l;
    struct run_result r;
    char reply[512];
    lab_start_at(&l, "exchange-securelogin", 14);
    const char *clear[] = { "--tls=none", "--allow-plaintext-login", "--auth=login", NULL };
    /* mailscope itself won't send LOGIN under LOGINDISABLED (RFC 3501) ... */
    json_t *j = probe(&l, "imap", l.imap, NULL, clear, &r);
    assert_login(j, false, NULL);
    cr_expect_str_eq(first_diag(j), "R-LOGINDISABLED");
    char *dump = json_dumps(j, 0);
    cr_expect(strstr(dump, "LOGINDISABLED STARTTLS"), "%s", dump);
    free(dump);
    json_decref(j);
    run_result_free(&r);
    /* ... a client that does gets Exchange's answer */
    raw_reply(&l, l.imap, "a1 LOGIN alice LabPassw0rd", "a1 ", reply, sizeof reply);
    cr_expect_str_eq(reply, "a1 BAD Command received in Invalid state.");
    raw_reply(&l, l.pop3, "USER alice", "-", reply, sizeof reply);
    cr_expect_str_eq(reply, "-ERR Command is not valid in this state.");
    /* with STARTTLS (the preferred fix) it works as is */
    j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    assert_exit(&r, 0);
    json_decref(j);
    run_result_free(&r);
    shell(&l, "Set-ImapSettings -LoginType PlainTextLogin", "WARNING: Changes to IMAP4");
    shell(&l, "Restart-Service MSExchangeIMAP4,MSExchangeIMAP4BE", "MSExchangeIMAP4BE restarted");
    j = probe(&l, "imap", l.imap, NULL, clear, &r);
    assert_login(j, true, "OK");
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

Test(lab, imap_disabled_for_the_mailbox)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-imap-disabled", 15);
    json_t *j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    assert_login(j, false, "NO");
    cr_expect_str_neq(first_diag(j), "R-EXCH-001");
    json_decref(j);
    run_result_free(&r);
    char *log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strstr(log, "NO LOGIN failed.\"\";ErrMsg=UserDisabled\""), "%s", log);
    free(log);
    shell(&l, "Get-CASMailbox -Identity alice | Format-List ImapEnabled,PopEnabled", "ImapEnabled : False");
    shell(&l, "Set-CASMailbox -Identity alice -ImapEnabled $true", "ImapEnabled True");
    shell(&l, "Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE", "MSExchangeIMAP4BE restarted");
    j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    assert_exit(&r, 0);
    json_decref(j);
    run_result_free(&r);
    /* POP stays disabled */
    j = probe(&l, "pop3", l.pop3, NULL, NULL, &r);
    assert_login(j, false, "-ERR");
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

Test(lab, exchange_online_refuses_the_password_and_takes_xoauth2)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-online-basic-off", 16);
    cr_expect_eq(l.imap_be, 0, "Exchange Online has no reachable backend port");
    json_t *j = probe(&l, "imaps", l.imaps, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    assert_login(j, false, "NO");
    cr_expect_str_eq(first_diag(j), "R-EXCH-018");
    cr_expect_str_eq(str(j, "server_name_hint"), "AM6PR04CA0042.eurprd04.prod.outlook.com");
    json_decref(j);
    run_result_free(&r);
    char url[160], ca[200];
    snprintf(url, sizeof url, "imaps://alice@contoso.com@%s:%u", l.addr, l.imaps);
    snprintf(url, sizeof url, "imaps://alice@%s:%u", l.addr, l.imaps);
    snprintf(ca, sizeof ca, "%s/lab-ca.pem", l.dir);
    run_mailscope_env(&r, (const char *[]){ url, "--cafile", ca, "--auth=xoauth2", "--password-env", "TOKEN",
                                            "--json", NULL },
                      (const char *const[]){ "TOKEN=lab-oauth-token", NULL });
    assert_exit(&r, 0);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

static void thumbprint_valid(struct labproc *l, char *out)
{
    /* the renewed certificate is the one whose Status is Valid */
    shell(l, "Get-ExchangeCertificate | Format-List Thumbprint,Status", "Status     : Valid");
    char *s = lab_output(l);
    char *v = strstr(s, "Status     : Valid");
    cr_assert_not_null(v);
    char *t = v;
    while (t > s && strncmp(t, "Thumbprint : ", 13))
        t--;
    cr_assert(sscanf(t, "Thumbprint : %40s", out) == 1);
    free(s);
}

Test(lab, expired_certificate_then_enable_the_renewed_one)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "expired-certificate", 17);
    json_t *j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    cr_expect_neq(r.exit_code, 0);
    cr_expect_str_eq(first_diag(j), "R-CERT-002");
    json_decref(j);
    run_result_free(&r);
    char thumb[41], line[200];
    thumbprint_valid(&l, thumb);
    snprintf(line, sizeof line, "Enable-ExchangeCertificate -Thumbprint %s -Services IMAP,POP", thumb);
    shell(&l, line, "X509CertificateName is now EX01");
    shell(&l, "Get-ImapSettings | fl X509CertificateName", "X509CertificateName : EX01");
    shell(&l, "Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE", "MSExchangeIMAP4BE restarted");
    j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    assert_exit(&r, 0);
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

Test(lab, missing_intermediate_until_it_is_imported)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "missing-intermediate", 18);
    json_t *j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    cr_expect_neq(r.exit_code, 0);
    cr_expect_str_eq(first_diag(j), "R-CERT-001");
    json_decref(j);
    run_result_free(&r);
    shell(&l, "Import-Certificate -FilePath C:\\certs\\issuing-ca.cer -CertStoreLocation Cert:\\LocalMachine\\CA",
          "intermediate CA imported");
    shell(&l, "Restart-Service MSExchangeIMAP4", "MSExchangeIMAP4 restarted");
    j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    assert_exit(&r, 0);
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

Test(lab, dovecot_cleartext_disallowed)
{
    struct labproc l;
    struct run_result r;
    char reply[512];
    lab_start_at(&l, "dovecot-cleartext-disallowed", 19);
    const char *clear[] = { "--tls=none", "--allow-plaintext-login", "--auth=login", NULL };
    json_t *j = probe(&l, "pop3", l.pop3, NULL, (const char *[]){ "--tls=none", "--allow-plaintext-login",
                                                                  "--auth=user", NULL }, &r);
    assert_login(j, false, "-ERR");
    cr_expect_str_eq(first_diag(j), "R-DOV-001");
    json_decref(j);
    run_result_free(&r);
    raw_reply(&l, l.imap, "a1 LOGIN alice LabPassw0rd", "a1 ", reply, sizeof reply);
    cr_expect_str_eq(reply, "a1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
    raw_reply(&l, l.imap, "a1 LOGIN alice LabPassw0rd", "* BAD", reply, sizeof reply);
    cr_expect_str_eq(reply, "* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client "
                            "did it anyway. If anyone was listening, the password was exposed.");
    /* from the server's own address the connection counts as secured: the fault hides */
    raw_reply_from(&l, l.imap, "a1 LOGIN alice LabPassw0rd", "a1 ", reply, sizeof reply, l.addr);
    cr_expect_str_eq(reply, "a1 OK [CAPABILITY " "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
                            "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE "
                            "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH "
                            "ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY "
                            "LITERAL+ NOTIFY SPECIAL-USE] Logged in");
    shell(&l, "doveconf -n disable_plaintext_auth", "disable_plaintext_auth = yes");
    shell(&l, "doveconf -n auth_allow_cleartext", "Unknown setting: auth_allow_cleartext");
    shell(&l, "echo 'disable_plaintext_auth = no' >> /etc/dovecot/conf.d/10-auth.conf", NULL);
    shell(&l, "systemctl reload dovecot", "dovecot reloaded");
    j = probe(&l, "imap", l.imap, NULL, clear, &r);
    assert_login(j, true, "OK");
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

static int run_lab_cmd(const char *const *args, char *out, size_t outlen)
{
    char cmd[512] = "";
    size_t used = (size_t)snprintf(cmd, sizeof cmd, "'%s' lab", env("MS_BIN"));
    for (int i = 0; args[i]; i++)
        used += (size_t)snprintf(cmd + used, sizeof cmd - used, " '%s'", args[i]);
    snprintf(cmd + used, sizeof cmd - used, " </dev/null 2>&1");
    FILE *f = popen(cmd, "r");
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(lab, refuses_a_non_loopback_address)
{
    char out[2048];
    cr_expect_eq(run_lab_cmd((const char *[]){ "--address", "10.0.0.1", NULL }, out, sizeof out), 2);
    cr_expect(strstr(out, "10.0.0.1 is not a loopback address"), "%s", out);
    cr_expect_eq(run_lab_cmd((const char *[]){ "--address", "mail.example.org", NULL }, out, sizeof out), 2);
    cr_expect_eq(run_lab_cmd((const char *[]){ "no-such-scenario", "--address", "127.77.1.20", NULL }, out, sizeof out), 1);
    cr_expect(strstr(out, "unknown scenario"), "%s", out);
}

Test(lab, list_names_every_scenario)
{
    char out[4096];
    cr_expect_eq(run_lab_cmd((const char *[]){ "--list", NULL }, out, sizeof out), 0);
    static const char *const ids[] = { "exchange-cert-plaintextlogin", "exchange-securelogin",
        "exchange-imap-disabled", "exchange-online-basic-off", "expired-certificate",
        "missing-intermediate", "dovecot-cleartext-disallowed", "exchange-tls-legacy", "gmail-app-password" };
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        cr_expect(strstr(out, ids[i]), "%s missing from:\n%s", ids[i], out);
    cr_expect(strncmp(out, "exchange-cert-plaintextlogin", 28) == 0, "the founding scenario comes first");
}

Test(lab, no_shell_serves_until_sigterm)
{
    struct labproc l;
    struct run_result r;
    lab_start_args(&l, "exchange-cert-plaintextlogin", 21, "--no-shell");
    /* stdin at EOF does not stop it */
    close(l.in);
    usleep(300 * 1000);
    json_t *j = probe(&l, "pop3s", l.pop3s, NULL, NULL, &r);
    assert_login(j, false, "-ERR");
    json_decref(j);
    run_result_free(&r);
    cr_assert(kill(l.pid, SIGTERM) == 0);
    int st = 0;
    cr_assert_eq(waitpid(l.pid, &st, 0), l.pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    cr_expect(wait_output(&l, "mailscope lab: stopped (signal)"));
    cleanup(&l);
}

/* A hostile client: an overlong line gets Exchange's answer and the close,
 * control bytes in a user name never reach the lab's output raw, and the
 * lab keeps serving. */
Test(lab, hostile_client_is_answered_and_sanitised)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-cert-plaintextlogin", 22);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)l.imap) };
    inet_pton(AF_INET, l.addr, &sa.sin_addr);
    cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    struct timeval tv = { 5 * MS_SLOW_FACTOR, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char *big = malloc(20000);
    memset(big, 'A', 20000);
    cr_assert(write(fd, big, 20000) == 20000);
    free(big);
    char buf[4096];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof buf - 1 && (got = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = '\0';
    close(fd);
    cr_expect(strstr(buf, "* BAD Command Error. 10\r\n* BYE Connection closed.\r\n"), "%s", buf);
    char reply[512];
    raw_reply(&l, l.imap, "a1 LOGIN \"ev\x1b[2Jil\" x", "a1 ", reply, sizeof reply);
    cr_expect_str_eq(reply, "a1 NO LOGIN failed.");
    cr_assert(wait_output(&l, "login as \"ev\\x1b[2Jil\": refused"));
    char *out = lab_output(&l);
    cr_expect(strchr(out, '\x1b') == NULL, "a raw ESC reached the lab's output");
    free(out);
    char *log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strchr(log, '\x1b') == NULL, "a raw ESC reached the protocol log");
    cr_expect(strstr(log, "ErrMsg=LogonFailed:LogonDenied"), "%s", log);
    free(log);
    json_t *j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    assert_login(j, false, "NO");
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

/* A name no certificate carries (a typo): after the restart 993 answers with
 * the plain-text BYE, STARTTLS is no longer offered and is refused. */
Test(lab, x509certificatename_without_a_certificate)
{
    struct labproc l;
    struct run_result r;
    char reply[512];
    lab_start_at(&l, "exchange-securelogin", 23);
    shell(&l, "Set-ImapSettings -X509CertificateName EX01.contoso.lcoal", "WARNING: Changes to IMAP4");
    shell(&l, "Restart-Service MSExchangeIMAP4", "no certificate matches");
    raw_reply(&l, l.imaps, NULL, NULL, reply, sizeof reply);     /* what 993 says first */
    cr_expect_str_eq(reply, "* BYE Connection is closed. 14");
    raw_reply(&l, l.imap, "a1 STARTTLS", "a1 ", reply, sizeof reply);
    cr_expect_str_eq(reply, "a1 BAD Command received in Invalid state.");
    raw_reply(&l, l.imap, "a1 CAPABILITY", "* CAPABILITY", reply, sizeof reply);
    cr_expect_str_eq(reply, "* CAPABILITY IMAP4 IMAP4rev1 LOGINDISABLED UIDPLUS MOVE ID UNSELECT CHILDREN IDLE "
                            "NAMESPACE LITERAL+");
    json_t *j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    cr_expect_neq(r.exit_code, 0);
    char *dump = json_dumps(json_object_get(j, "diagnoses"), 0);
    cr_expect(strstr(dump, "R-EXCH-002"), "%s", dump);
    free(dump);
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

/* The health-probe accounts get the reason on the wire (GetAuthError), as in
 * the field reports of the founding case; alice only gets the generic reply. */
Test(lab, health_mailbox_sees_the_proxy_error)
{
    struct labproc l;
    char reply[512];
    lab_start_at(&l, "exchange-cert-plaintextlogin", 24);
    raw_reply(&l, l.imap, "a1 LOGIN HealthMailbox0c7d3a@contoso.com LabPassw0rd", "a1 ", reply, sizeof reply);
    cr_expect_str_eq(reply, "a1 NO [Error=ProxyNotAuthenticated Proxy=EX01.contoso.local:1993:SSL] LOGIN failed.");
    raw_reply(&l, l.imap, "a1 LOGIN alice LabPassw0rd", "a1 ", reply, sizeof reply);
    cr_expect_str_eq(reply, "a1 NO LOGIN failed.");
    raw_reply(&l, l.imap, "a1 LOGIN alice wrong", "a1 ", reply, sizeof reply);
    cr_expect_str_eq(reply, "a1 NO LOGIN failed.");
    char *log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strstr(log, "\"R=\"\"a1 NO [Error=ProxyNotAuthenticated Proxy=EX01.contoso.local:1993:SSL] LOGIN failed.\"\";"
                          "Msg=Proxy:EX01.contoso.local:1993:SSL;ErrMsg=ProxyNotAuthenticated\""), "%s", log);
    cr_expect(strstr(log, "login,alice *****,\"R=\"\"a1 NO LOGIN failed.\"\";ErrMsg=LogonFailed:LogonDenied\""), "%s", log);
    free(log);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

/* Without root the low ports are refused: every port moves up by 10000 and
 * the banner says so (run as nobody when the tests run as root). */
Test(lab, shifts_ports_when_low_ports_are_refused)
{
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0 || MS_SLOW_FACTOR > 1)
        cr_skip_test("needs root and setpriv to run the lab as an unprivileged user (not under valgrind)");
    char dir[] = "/tmp/mailscope-test-lab-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert(chmod(dir, 0777) == 0);
    char cmd[600], out[4096];
    snprintf(cmd, sizeof cmd, "setpriv --reuid=65534 --regid=65534 --clear-groups '%s' lab --address "
             "%s.1.25 --dir %s/lab </dev/null 2>&1", env("MS_BIN"), lab_net(), dir);
    FILE *f = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    cr_expect_eq(pclose(f), 0);
    cr_expect(strstr(out, "Ports below 1024 need root here: every port is shifted by 10000."), "%s", out);
    cr_expect(strstr(out, "  10143  IMAP, STARTTLS") && strstr(out, "  11993  IMAP backend"), "%s", out);
    char want[64];
    snprintf(want, sizeof want, "imap://alice@%s.1.25:10143", lab_net());
    cr_expect(strstr(out, want), "%s", out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect(system(cmd) == 0);
}

static const char *confidence_of(json_t *j, const char *id)
{
    json_t *d;
    size_t i;
    json_array_foreach(json_object_get(j, "diagnoses"), i, d)
        if (!strcmp(str(d, "id"), id))
            return str(d, "confidence");
    return "(absent)";
}

/* The lab's protocol log read back by probe --server-log (src/exlog.c, the
 * reader written from the same knowledge section): what the log says makes
 * the diagnosis certain, as the real server's log would. */
Test(lab, its_protocol_log_makes_the_diagnosis_certain)
{
    struct labproc l;
    struct run_result r;
    char logdir[200];
    lab_start_at(&l, "exchange-imap-disabled", 26);
    snprintf(logdir, sizeof logdir, "%s/Imap4", l.dir);
    json_t *j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    cr_expect_str_neq(first_diag(j), "R-EXCH-004", "the client side alone can't tell");
    json_decref(j);
    run_result_free(&r);
    j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", "--server-log", logdir, NULL }, &r);
    cr_expect_str_eq(first_diag(j), "R-EXCH-004");
    cr_expect_str_eq(confidence_of(j, "R-EXCH-004"), "certain");
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);

    lab_start_at(&l, "exchange-cert-plaintextlogin", 27);
    snprintf(logdir, sizeof logdir, "%s/Imap4", l.dir);
    j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    json_decref(j);
    run_result_free(&r);
    j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", "--server-log", logdir, NULL }, &r);
    cr_expect_str_eq(first_diag(j), "R-EXCH-001");
    cr_expect_str_eq(confidence_of(j, "R-EXCH-001"), "certain");
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

static bool has_diag(json_t *j, const char *id)
{
    json_t *a = json_object_get(j, "diagnoses"), *d;
    size_t i;
    json_array_foreach(a, i, d)
        if (!strcmp(str(d, "id"), id))
            return true;
    return false;
}

static const char *tls_version_of(json_t *j)
{
    return str(json_object_get(j, "tls"), "version");
}

#define TLS12_KEY "'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server'"

Test(lab, tls_legacy_exchange_until_tls_1_2_is_on_and_the_computer_restarts)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-tls-legacy", 28);
    /* implicit TLS: the handshake fails, nothing else is known */
    json_t *j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    cr_expect_str_eq(str(j, "failure_class"), "tls");
    cr_expect_str_eq(first_diag(j), "R-CERT-006", "the generic rule leads while the family is unknown");
    cr_expect_str_eq(tls_version_of(j), "TLSv1", "the server chose TLS 1.0");
    json_decref(j);
    run_result_free(&r);
    /* after STARTTLS on 143 the greeting names Exchange: the Exchange rule comes first */
    j = probe(&l, "imap", l.imap, NULL, NULL, &r);
    cr_expect_str_eq(str(j, "server_family"), "exchange");
    cr_expect_str_eq(first_diag(j), "R-EXCH-020");
    cr_expect(has_diag(j, "R-CERT-006"));
    json_decref(j);
    run_result_free(&r);
    /* what --tls-versions sees: TLS 1.0 only */
    j = probe(&l, "pop3s", l.pop3s, NULL, (const char *[]){ "--tls-versions", NULL }, &r);
    char *acc = json_dumps(json_object_get(j, "accepted"), JSON_COMPACT);
    cr_expect_str_eq(acc, "[\"TLSv1\"]");
    free(acc);
    json_decref(j);
    run_result_free(&r);
    /* the registry values alone do nothing until the reboot */
    shell(&l, "New-Item " TLS12_KEY " -Force", "created (empty)");
    shell(&l, "New-ItemProperty -Path " TLS12_KEY " -Name Enabled -Value 1 -PropertyType DWord -Force",
          "Enabled = 1 (DWORD)");
    shell(&l, "New-ItemProperty -Path " TLS12_KEY " -Name DisabledByDefault -Value 0 -PropertyType DWord -Force",
          "DisabledByDefault = 0 (DWORD)");
    j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    cr_expect_str_eq(str(j, "failure_class"), "tls", "SChannel reads the switches at boot");
    json_decref(j);
    run_result_free(&r);
    shell(&l, "Restart-Computer", "SChannel now offers TLS 1.0, TLS 1.2 to IMAP and POP clients");
    j = probe(&l, "imaps", l.imaps, NULL, NULL, &r);
    assert_exit(&r, 0);
    cr_expect_str_eq(tls_version_of(j), "TLSv1.2");
    json_decref(j);
    run_result_free(&r);
    j = probe(&l, "pop3", l.pop3, NULL, NULL, &r);
    assert_exit(&r, 0);
    cr_expect_str_eq(tls_version_of(j), "TLSv1.2");
    json_decref(j);
    run_result_free(&r);
    j = probe(&l, "imaps", l.imaps, NULL, (const char *[]){ "--tls-versions", NULL }, &r);
    acc = json_dumps(json_object_get(j, "accepted"), JSON_COMPACT);
    cr_expect_str_eq(acc, "[\"TLSv1\",\"TLSv1.2\"]");
    free(acc);
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

Test(lab, gmail_wants_an_app_password_and_takes_it_once_created)
{
    struct labproc l;
    struct run_result r;
    lab_start_args2(&l, "gmail-app-password", 29, "--app-password", "wxyz abcd efgh ijkl");
    cr_expect_eq(l.imap, 0, "Gmail has no plain-text IMAP port");
    cr_expect_eq(l.pop3, 0);
    char *banner = lab_output(&l);
    cr_expect(strstr(banner, "[Google Account] alice@gmail.com>"), "%s", banner);
    free(banner);
    json_t *j = probe(&l, "imaps", l.imaps, "alice@gmail.com", NULL, &r);
    assert_login(j, false, "NO");
    cr_expect_str_eq(str(j, "server_family"), "gmail");
    cr_expect_str_eq(first_diag(j), "R-GMAIL-001");
    cr_expect(strstr(str(j, "greeting"), "* OK Gimap ready for requests from "), "%s", str(j, "greeting"));
    json_decref(j);
    run_result_free(&r);
    j = probe(&l, "pop3s", l.pop3s, "alice@gmail.com", NULL, &r);
    assert_login(j, false, NULL);
    cr_expect_str_eq(first_diag(j), "R-GMAIL-001");
    json_decref(j);
    run_result_free(&r);
    char url[160], ca[200];
    snprintf(ca, sizeof ca, "%s/lab-ca.pem", l.dir);
    snprintf(url, sizeof url, "imaps://alice@gmail.com@%s:%u", l.addr, l.imaps);
    const char *const app_env[] = { "APW=wxyzabcdefghijkl", NULL };
    /* not before it exists: Google's "Invalid credentials" */
    run_mailscope_env(&r, (const char *[]){ url, "--cafile", ca, "--password-env", "APW", "--json", NULL }, app_env);
    j = run_json(&r);
    cr_expect_str_eq(first_diag(j), "R-GMAIL-003");
    json_decref(j);
    run_result_free(&r);
    shell(&l, "https://myaccount.google.com/apppasswords", "You don't have any app passwords.");
    shell(&l, "app-password create mailscope", "    wxyz abcd efgh ijkl");
    run_mailscope_env(&r, (const char *[]){ url, "--cafile", ca, "--password-env", "APW", "--json", NULL }, app_env);
    assert_exit(&r, 0);
    run_result_free(&r);
    snprintf(url, sizeof url, "pop3s://alice@gmail.com@%s:%u", l.addr, l.pop3s);
    run_mailscope_env(&r, (const char *[]){ url, "--cafile", ca, "--password-env", "APW", "--json", NULL }, app_env);
    assert_exit(&r, 0);
    run_result_free(&r);
    /* XOAUTH2: the lab's token works; a wrong one gets Google's 401 challenge first */
    snprintf(url, sizeof url, "imaps://alice@gmail.com@%s:%u", l.addr, l.imaps);
    run_mailscope_env(&r, (const char *[]){ url, "--cafile", ca, "--auth=xoauth2", "--password-env", "T", "--json",
                                            NULL }, (const char *const[]){ "T=lab-oauth-token", NULL });
    assert_exit(&r, 0);
    run_result_free(&r);
    run_mailscope_env(&r, (const char *[]){ url, "--cafile", ca, "--auth=xoauth2", "--password-env", "T", "--json",
                                            NULL }, (const char *const[]){ "T=expired", NULL });
    j = run_json(&r);
    cr_expect(has_diag(j, "R-XOAUTH2-001"), "no R-XOAUTH2-001 after Google's 401 challenge");
    json_decref(j);
    run_result_free(&r);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}

/* The founding playbook's log step, as it words it: the protocol log is
 * written only while ProtocolLogEnabled is on, from the services' restart. */
Test(lab, protocol_log_follows_protocollogenabled)
{
    struct labproc l;
    struct run_result r;
    lab_start_at(&l, "exchange-cert-plaintextlogin", 30);
    shell(&l, "Set-ImapSettings -Server EX01 -ProtocolLogEnabled $false", "ProtocolLogEnabled False");
    shell(&l, "Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE", "MSExchangeIMAP4BE restarted");
    json_t *j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    assert_login(j, false, "NO");
    json_decref(j);
    run_result_free(&r);
    char *log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strstr(log, "login,alice") == NULL, "logged while off:\n%s", log);
    free(log);
    /* exchange-proxy-cert/log, filled in */
    shell(&l, "Set-ImapSettings -Server EX01 -ProtocolLogEnabled $true", "ProtocolLogEnabled True");
    j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    json_decref(j);
    run_result_free(&r);
    log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strstr(log, "login,alice") == NULL, "the setting counts only after the restart:\n%s", log);
    free(log);
    shell(&l, "Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE", NULL);
    /* the same restart event as before: wait for a line only the shell's next command prints */
    shell(&l, "Get-ImapSettings | Format-List ProtocolLogEnabled", "ProtocolLogEnabled : True");
    j = probe(&l, "imap", l.imap, NULL, (const char *[]){ "--auth=login", NULL }, &r);
    json_decref(j);
    run_result_free(&r);
    log = log_text(&l, "Imap4", "IMAP4");
    cr_expect(strstr(log, "ErrMsg=ProxyNotAuthenticated") != NULL, "%s", log);
    free(log);
    cr_expect_eq(lab_end(&l), 0);
    cleanup(&l);
}
