/* The lab's simulated shell in-process: its parser, its PowerShell-like
 * errors, its bounds, and that a Set- only counts once the service restarts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "lab_int.h"
#include "labshell.h"
#include "loop.h"

static struct loop *lp;
static struct lab *lab;
static char out[65536];
static char dir[64];

static void collect(void *arg, const char *line)
{
    (void)arg;
    size_t n = strlen(out);
    snprintf(out + n, sizeof out - n, "%s\n", line);
}

static int run(const char *line)
{
    out[0] = '\0';
    return lab_shell_exec(lab, line, collect, NULL);
}

static void start(const char *scenario)
{
    char err[256];
    lp = loop_new();
    cr_assert_not_null(lp);
    snprintf(dir, sizeof dir, "/tmp/mailscope-labshell-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    /* criterion runs tests in parallel processes: each takes an address of its own */
    char addr[32];
    for (int i = 0; i < 20 && !lab; i++) {
        snprintf(addr, sizeof addr, "127.77.1.%d", 100 + (int)((getpid() + i * 7) % 150));
        struct lab_config cfg = { .scenario = scenario, .address = addr, .port_shift = 30000,
                                  .dir = dir };
        lab = lab_start(lp, &cfg, err, sizeof err);
    }
    cr_assert_not_null(lab, "%s", err);
}

static void stop(void)
{
    if (!lab)
        return;
    lab_stop(lab);
    loop_free(lp);
    lab = NULL;
    lp = NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect(system(cmd) == 0);
}

static void exch(void) { start("exchange-cert-plaintextlogin"); }

TestSuite(labshell, .init = exch, .fini = stop);

Test(labshell, split_words_quotes_and_errors)
{
    char buf[128] = "Set-ImapSettings  -X509CertificateName 'mail x' \"a b\"c";
    char *w[8];
    cr_assert_eq(labshell_split(buf, w, 8), 4);
    cr_expect_str_eq(w[0], "Set-ImapSettings");
    cr_expect_str_eq(w[2], "mail x");
    cr_expect_str_eq(w[3], "a bc");
    char bad[] = "Get-ImapSettings 'open";
    cr_expect_eq(labshell_split(bad, w, 8), -1);
    char many[] = "a b c d e f g h i";
    cr_expect_eq(labshell_split(many, w, 8), -2);
}

Test(labshell, unknown_cmdlet_is_not_recognized)
{
    cr_expect_eq(run("Get-Frobnicator -Server EX01"), -1);
    cr_expect(strstr(out, "The term 'Get-Frobnicator' is not recognized as the name of a cmdlet"), "%s", out);
    cr_expect(strstr(out, "CommandNotFoundException"));
    /* a pipeline into an unknown cmdlet too */
    cr_expect_eq(run("Get-ImapSettings | Where-Whatever"), -1);
    cr_expect(strstr(out, "'Where-Whatever' is not recognized"), "%s", out);
}

Test(labshell, bad_parameter_and_bad_values)
{
    cr_expect_eq(run("Set-ImapSettings -X509CertName EX01.contoso.local"), -1);
    cr_expect(strstr(out, "A parameter cannot be found that matches parameter name 'X509CertName'."), "%s", out);
    cr_expect_eq(run("Set-ImapSettings -LoginType Sometimes"), -1);
    cr_expect(strstr(out, "PlainTextLogin, PlainTextAuthentication, SecureLogin"), "%s", out);
    cr_expect_eq(run("Set-ImapSettings -X509CertificateName"), -1);
    cr_expect(strstr(out, "Missing an argument for parameter 'X509CertificateName'"), "%s", out);
    cr_expect_eq(run("Set-CASMailbox -Identity bob -ImapEnabled $true"), -1);
    cr_expect(strstr(out, "couldn't be found"), "%s", out);
    cr_expect_eq(run("Set-CASMailbox -Identity alice -ImapEnabled maybe"), -1);
    cr_expect_eq(run("Restart-Service MSExchangeFoo"), -1);
    cr_expect(strstr(out, "Cannot find any service with service name 'MSExchangeFoo'."), "%s", out);
    /* nothing changed */
    cr_expect_str_eq(lab->ad[LP_IMAP].x509, "mail.contoso.com");
    cr_expect_eq(lab->ad[LP_IMAP].login, LT_PLAINTEXTLOGIN);
}

Test(labshell, overlong_line_runs_nothing)
{
    char *line = malloc(LABSHELL_LINE_MAX + 100);
    strcpy(line, "Set-ImapSettings -X509CertificateName ");
    size_t n = strlen(line);
    memset(line + n, 'a', LABSHELL_LINE_MAX + 50 - n);
    line[LABSHELL_LINE_MAX + 50] = '\0';
    cr_expect_eq(run(line), -1);
    cr_expect(strstr(out, "longer than"), "%s", out);
    cr_expect_str_eq(lab->ad[LP_IMAP].x509, "mail.contoso.com");
    free(line);
}

Test(labshell, set_takes_effect_only_after_restart)
{
    cr_expect_eq(run("set-imapsettings -SERVER ex01 -x509certificatename EX01.contoso.local"), 0);
    cr_expect(strstr(out, "WARNING: Changes to IMAP4 settings will only take effect after all Microsoft "
                          "Exchange IMAP4 services are restarted on server EX01."), "%s", out);
    cr_expect_eq(run("Get-ImapSettings | Format-List X509CertificateName"), 0);
    cr_expect(strstr(out, "X509CertificateName : EX01.contoso.local"), "%s", out);
    /* stored, but the running services still use the old name */
    cr_expect_str_eq(lab->run[LS_IMAP4].set.x509, "mail.contoso.com");
    cr_expect_str_eq(lab->run[LS_IMAP4BE].set.x509, "mail.contoso.com");
    cr_expect_eq(run("Restart-Service MSExchangeIMAP4"), 0);
    cr_expect_str_eq(lab->run[LS_IMAP4].set.x509, "EX01.contoso.local");
    cr_expect_str_eq(lab->run[LS_IMAP4BE].set.x509, "mail.contoso.com");
    cr_expect_eq(run("Restart-Service MSExchangeIMAP4BE; Restart-Service MSExchangePOP3BE"), 0);
    cr_expect_str_eq(lab->run[LS_IMAP4BE].set.x509, "EX01.contoso.local");
    cr_expect(lab->certs[lab->run[LS_IMAP4BE].cert].be_usable);
    /* POP has its own settings */
    cr_expect_str_eq(lab->run[LS_POP3BE].set.x509, "mail.contoso.com");
}

Test(labshell, several_statements_go_on_after_an_error)
{
    cr_expect_eq(run("Bogus-Thing; Set-PopSettings -LoginType SecureLogin"), -1);
    cr_expect(strstr(out, "not recognized") && strstr(out, "POP3 settings"), "%s", out);
    cr_expect_eq(lab->ad[LP_POP].login, LT_SECURELOGIN);
}

Test(labshell, enable_certificate_rewrites_x509certificatename)
{
    /* the founding cause: Enable-ExchangeCertificate sets the name to the certificate's first one */
    char line[200];
    int own = labcert_has_name(&lab->certs[0].c, "EX01.contoso.local") ? 0 : 1;
    cr_expect_eq(run("Set-ImapSettings -X509CertificateName EX01.contoso.local"), 0);
    snprintf(line, sizeof line, "Enable-ExchangeCertificate -Thumbprint %s -Services IMAP,POP",
             lab->certs[1 - own].c.thumbprint);
    cr_expect_eq(run(line), 0, "%s", out);
    cr_expect_str_eq(lab->ad[LP_IMAP].x509, "mail.contoso.com");
    cr_expect_eq(run("Get-ExchangeCertificate"), 0);
    cr_expect(strstr(out, lab->certs[0].c.thumbprint) && strstr(out, lab->certs[1].c.thumbprint), "%s", out);
    cr_expect(strstr(out, "NotAfter"), "%s", out);
    cr_expect_eq(run("Enable-ExchangeCertificate -Thumbprint 00 -Services IMAP"), -1);
}

Test(labshell, user_service_and_protocol_log_settings)
{
    cr_expect_eq(run("Get-User alice | Format-List UserPrincipalName,SamAccountName,AccountDisabled"), 0);
    cr_expect(strstr(out, "UserPrincipalName : alice@contoso.com") && strstr(out, "AccountDisabled   : False"),
              "%s", out);
    cr_expect_eq(run("Get-Service MSExchangeIMAP4*"), 0);
    cr_expect(strstr(out, "MSExchangeIMAP4BE") && strstr(out, "Running") && !strstr(out, "POP3"), "%s", out);
    cr_expect_eq(run("Set-ImapSettings -Server EX01 -ProtocolLogEnabled $false"), 0);
    cr_expect(lab->run[LS_IMAP4].set.log_enabled, "only after the restart");
    cr_expect_eq(run("Restart-Service MSExchangeIMAP4"), 0);
    cr_expect(!lab->run[LS_IMAP4].set.log_enabled);
    cr_expect_eq(run("Get-ImapSettings | fl ProtocolLogEnabled"), 0);
    cr_expect(strstr(out, "ProtocolLogEnabled : False"), "%s", out);
    cr_expect_eq(run("Set-ImapSettings -ProtocolLogEnabled perhaps"), -1);
}

Test(labshell, help_exit_and_prompt)
{
    cr_expect_str_eq(lab_prompt(lab), "[PS] EX01>");
    cr_expect_eq(run("help"), 0);
    cr_expect(strstr(out, "Set-ImapSettings") && strstr(out, "Restart-Service"), "%s", out);
    cr_expect_eq(run("exit"), 1);
    cr_expect_eq(run("   "), 0);
}

Test(labshell, output_is_sanitised)
{
    cr_expect_eq(run("Get-\x1b[31mThing"), -1);
    cr_expect(strchr(out, '\x1b') == NULL, "%s", out);
}

Test(labshell_dovecot, root_shell, .init = NULL, .fini = NULL)
{
    stop();
    start("dovecot-cleartext-disallowed");
    cr_expect_str_eq(lab_prompt(lab), "root@mail:~#");
    cr_expect_eq(run("doveconf -n disable_plaintext_auth"), 0);
    cr_expect_str_eq(out, "disable_plaintext_auth = yes\n");
    cr_expect_eq(run("doveconf -n auth_allow_cleartext"), -1);
    cr_expect_eq(run("echo 'disable_plaintext_auth = no' >> /etc/dovecot/conf.d/10-auth.conf"), 0);
    cr_expect(lab->dov_disable_plain_run, "applied before the reload");
    cr_expect_eq(run("systemctl reload dovecot"), 0);
    cr_expect(!lab->dov_disable_plain_run);
    cr_expect_eq(run("Get-ImapSettings"), -1);
    cr_expect(strstr(out, "command not found"), "%s", out);
    /* 2.4's setting in a 2.3 configuration: the reload refuses it until the line goes */
    cr_expect_eq(run("echo 'disable_plaintext_auth = yes' >> /etc/dovecot/conf.d/10-auth.conf"), 0);
    cr_expect_eq(run("echo 'auth_allow_cleartext = yes' >> /etc/dovecot/conf.d/10-auth.conf"), 0);
    cr_expect_eq(run("doveadm reload"), -1);
    cr_expect(strstr(out, "Unknown setting: auth_allow_cleartext"), "%s", out);
    cr_expect(!lab->dov_disable_plain_run, "a failed reload changes nothing");
    cr_expect_eq(run("sed -i '/auth_allow_cleartext/d' /etc/dovecot/conf.d/10-auth.conf"), 0);
    cr_expect_eq(run("doveadm reload"), 0);
    cr_expect(lab->dov_disable_plain_run);
    stop();
}

Test(lab_address, only_loopback)
{
    cr_expect(lab_address_is_loopback("127.77.0.1"));
    cr_expect(lab_address_is_loopback("::1"));
    cr_expect(!lab_address_is_loopback("10.0.0.1"));
    cr_expect(!lab_address_is_loopback("0.0.0.0"));
    cr_expect(!lab_address_is_loopback("localhost"));
    char err[200];
    struct loop *l = loop_new();
    struct lab_config cfg = { .address = "10.0.0.1" };
    cr_expect_null(lab_start(l, &cfg, err, sizeof err));
    cr_expect(strstr(err, "not a loopback address"), "%s", err);
    loop_free(l);
}
