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

/* ---- exchange-tls-legacy: the registry cmdlets and Restart-Computer ------- */

#define TLS12 "'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server'"

static void tls(void) { start("exchange-tls-legacy"); }

TestSuite(labreg, .init = tls, .fini = stop);

Test(labreg, starts_with_tls_1_0_only_and_reads_the_key_back)
{
    cr_expect_eq(lab->tls_boot, LABCERT_TLS10);
    cr_expect_eq(run("Get-ItemProperty -Path " TLS12), 0);
    cr_expect(strstr(out, "Enabled           : 0") && strstr(out, "DisabledByDefault : 1"), "%s", out);
    cr_expect(strstr(out, "PSChildName       : Server"), "%s", out);
    cr_expect_eq(run("Get-Item " TLS12), 0);
    cr_expect(strstr(out, "Hive: HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders"
                          "\\SCHANNEL\\Protocols\\TLS 1.2"), "%s", out);
    cr_expect_eq(run("Get-ItemProperty 'HKLM:\\SOFTWARE\\Nowhere'"), -1);
    cr_expect(strstr(out, "Cannot find path 'HKLM:\\SOFTWARE\\Nowhere' because it does not exist."), "%s", out);
}

Test(labreg, the_fix_counts_only_after_the_restart)
{
    cr_expect_eq(run("New-Item " TLS12 " -Force"), 0, "%s", out);
    cr_expect_eq(run("New-ItemProperty -Path " TLS12 " -Name Enabled -Value 1 -PropertyType DWord -Force"), 0, "%s", out);
    cr_expect(strstr(out, "Enabled      : 1"), "%s", out);
    cr_expect_eq(run("New-ItemProperty -Path " TLS12 " -Name DisabledByDefault -Value 0 -PropertyType DWord -Force"),
                 0, "%s", out);
    cr_expect_eq(labreg_schannel_versions(lab), LABCERT_TLS10 | LABCERT_TLS12);
    cr_expect_eq(lab->tls_boot, LABCERT_TLS10, "SChannel reads the registry at boot only");
    unsigned starts = lab->run[LS_IMAP4].starts;
    cr_expect_eq(run("Restart-Service MSExchangeIMAP4"), 0);
    cr_expect_eq(lab->tls_boot, LABCERT_TLS10, "a service restart is no reboot");
    cr_expect_eq(run("Restart-Computer -Force"), 0, "%s", out);
    cr_expect_eq(lab->tls_boot, LABCERT_TLS10 | LABCERT_TLS12);
    cr_expect_gt(lab->run[LS_IMAP4].starts, starts + 1, "every service restarts with the computer");
    cr_expect_gt(lab->run[LS_POP3BE].starts, 1);
}

Test(labreg, the_pipeline_form_and_new_item_force_wiping_the_key)
{
    /* PowerShell's New-Item -Force deletes an existing key: the second line wipes Enabled */
    cr_expect_eq(run("New-Item " TLS12 " -Force | New-ItemProperty -Name Enabled -Value 1 -PropertyType DWord -Force"),
                 0, "%s", out);
    cr_expect(strstr(out, "Enabled      : 1") && strstr(out, "PSPath"), "%s", out);
    cr_expect_eq(run("New-Item " TLS12 " -Force | New-ItemProperty -Name DisabledByDefault -Value 0 -PropertyType DWord -Force"),
                 0, "%s", out);
    cr_expect_eq(run("Get-ItemProperty " TLS12), 0);
    cr_expect(!strstr(out, "Enabled  ") && strstr(out, "DisabledByDefault : 0"), "%s", out);
    /* without an Enabled value TLS 1.2 is on by default (Windows Server 2012 R2) */
    cr_expect_eq(labreg_schannel_versions(lab), LABCERT_TLS10 | LABCERT_TLS12);
    /* New-Item without -Force on an existing key, New-ItemProperty on an existing value */
    cr_expect_eq(run("New-Item " TLS12), -1);
    cr_expect(strstr(out, "A key at this path already exists."), "%s", out);
    cr_expect_eq(run("New-ItemProperty " TLS12 " DisabledByDefault -Value 1 -PropertyType DWord"), -1);
    cr_expect(strstr(out, "The property already exists."), "%s", out);
}

Test(labreg, wrong_values_fix_nothing)
{
    /* each a near miss of the fix (the other value right), then the reboot */
    static const char *const wrong[][2] = {
        { "New-ItemProperty -Path " TLS12 " -Name Enabled -Value 0 -PropertyType DWord -Force",
          "New-ItemProperty -Path " TLS12 " -Name DisabledByDefault -Value 0 -PropertyType DWord -Force" },
        { "New-ItemProperty -Path " TLS12 " -Name Enable -Value 1 -PropertyType DWord -Force",
          "New-ItemProperty -Path " TLS12 " -Name DisabledByDefault -Value 0 -PropertyType DWord -Force" },
        { "New-ItemProperty -Path " TLS12 " -Name Enabled -Value 1 -PropertyType DWord -Force",
          "New-ItemProperty -Path " TLS12 " -Name DisabledByDefault -Value 1 -PropertyType DWord -Force" },
        { "New-ItemProperty -Path " TLS12 " -Name Enabled -Value 1 -PropertyType DWord -Force",
          "New-ItemProperty -Path " TLS12 " -Name DisabledByDefualt -Value 0 -PropertyType DWord -Force" },
        { "New-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client' -Force",
          "New-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client' "
          "-Name Enabled -Value 1 -PropertyType DWord -Force" },
    };
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        labreg_setup(lab);
        for (int k = 0; k < 2; k++)
            cr_expect_eq(run(wrong[i][k]), 0, "%s: %s", wrong[i][k], out);
        cr_expect_eq(run("Restart-Computer"), 0, "%s", out);
        cr_expect_eq(lab->tls_boot, LABCERT_TLS10, "TLS 1.2 must still be off after: %s; %s", wrong[i][0],
                     wrong[i][1]);
    }
    /* values that do not parse change nothing either */
    cr_expect_eq(run("New-ItemProperty -Path " TLS12 " -Name Enabled -Value one -PropertyType DWord -Force"), -1);
    cr_expect(strstr(out, "Cannot convert value \"one\""), "%s", out);
    cr_expect_eq(run("New-ItemProperty -Path " TLS12 " -Name Enabled -Value 1 -PropertyType Dword32 -Force"), -1);
    cr_expect_eq(run("New-ItemProperty -Path " TLS12 " -Name Enabled -Value 1 -Type DWord -Bogus x"), -1);
    cr_expect(strstr(out, "A parameter cannot be found that matches parameter name 'Bogus'."), "%s", out);
    cr_expect_eq(run("New-ItemProperty -Path 'C:\\Temp' -Name Enabled -Value 1"), -1);
    cr_expect_eq(run("Restart-Computer -ComputerName EX02"), -1);
    cr_expect(strstr(out, "Failed to restart the computer EX02"), "%s", out);
    cr_expect_eq(labreg_schannel_versions(lab), LABCERT_TLS10);
}

Test(labreg, set_and_remove_itemproperty_and_a_missing_parent)
{
    cr_expect_eq(run("Set-ItemProperty -Path " TLS12 " -Name Enabled -Value 1"), 0, "%s", out);
    cr_expect_eq(run("Remove-ItemProperty -Path " TLS12 " -Name DisabledByDefault"), 0, "%s", out);
    cr_expect_eq(labreg_schannel_versions(lab), LABCERT_TLS10 | LABCERT_TLS12);
    cr_expect_eq(run("Remove-ItemProperty -Path " TLS12 " -Name DisabledByDefault"), -1);
    /* without -Force the parent must exist */
    cr_expect_eq(run("New-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.3\\Server'"), -1);
    cr_expect(strstr(out, "Cannot find path") && strstr(out, "TLS 1.3'"), "%s", out);
    cr_expect_eq(run("New-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.3\\Server' -Force"), 0);
    cr_expect_eq(run("help"), 0);
    cr_expect(strstr(out, "Restart-Computer") && strstr(out, "New-ItemProperty"), "%s", out);
}

/* ---- gmail-app-password: the Google Account stand-in ---------------------- */

Test(labgoogle, app_passwords_are_made_listed_and_revoked, .init = NULL, .fini = NULL)
{
    stop();
    start("gmail-app-password");
    cr_expect_str_eq(lab_prompt(lab), "[Google Account] alice@gmail.com>");
    cr_expect_eq(lab_port(lab, LAB_IMAP), 0, "Gmail: no plain-text port");
    cr_expect_neq(lab_port(lab, LAB_IMAPS), 0);
    cr_expect_eq(run("https://myaccount.google.com/apppasswords"), 0);
    cr_expect(strstr(out, "You don't have any app passwords."), "%s", out);
    cr_expect_eq(run("https://example.com/"), -1);
    cr_expect_eq(run("app-password create"), -1);
    cr_expect_eq(run("app-password create Thunderbird"), 0, "%s", out);
    /* the password: 16 letters in four groups, under the line naming it */
    const char *p = strstr(out, "Your app password for Thunderbird\n");
    cr_assert_not_null(p, "%s", out);
    p = strchr(p, '\n') + 1;
    char pw[32];
    cr_assert_eq(sscanf(p, " %4[a-z] %4[a-z] %4[a-z] %4[a-z]", pw, pw + 4, pw + 8, pw + 12), 4, "%s", out);
    cr_expect(labgoogle_app_password_ok(lab, pw));
    char spaced[24];
    snprintf(spaced, sizeof spaced, "%.4s %.4s %.4s %.4s", pw, pw + 4, pw + 8, pw + 12);
    cr_expect(labgoogle_app_password_ok(lab, spaced), "Google takes it with its spaces too");
    cr_expect(!labgoogle_app_password_ok(lab, lab_password(lab)));
    cr_expect(!labgoogle_app_password_ok(lab, "abcdefghijklmnop") || !strcmp(pw, "abcdefghijklmnop"));
    cr_expect_eq(run("app-password create thunderbird"), -1, "names are unique");
    cr_expect_eq(run("app-password list"), 0);
    cr_expect(strstr(out, "Thunderbird"), "%s", out);
    cr_expect_eq(run("app-password revoke Thunderbird"), 0);
    cr_expect(!labgoogle_app_password_ok(lab, pw), "a revoked app password is refused");
    cr_expect_eq(run("Get-ImapSettings"), -1, "no Exchange here");
    cr_expect_eq(run("help"), 0);
    cr_expect(strstr(out, "app-password create NAME"), "%s", out);
    stop();
}

Test(labgoogle, scripted_app_password, .init = NULL, .fini = NULL)
{
    cr_expect(lab_app_password_valid("abcd efgh ijkl mnop"));
    cr_expect(!lab_app_password_valid("abcd efgh ijkl mno"));
    cr_expect(!lab_app_password_valid("abcd efgh ijkl mn0p"));
    char err[256];
    lp = loop_new();
    snprintf(dir, sizeof dir, "/tmp/mailscope-labshell-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    for (int i = 0; i < 20 && !lab; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "127.77.1.%d", 100 + (int)((getpid() + i * 7) % 150));
        struct lab_config cfg = { .scenario = "gmail-app-password", .address = addr, .port_shift = 30000,
                                  .dir = dir, .app_password = "qrst uvwx yzab cdef" };
        lab = lab_start(lp, &cfg, err, sizeof err);
    }
    cr_assert_not_null(lab, "%s", err);
    cr_expect(!labgoogle_app_password_ok(lab, "qrstuvwxyzabcdef"), "not before it is created");
    cr_expect_eq(run("app-password create lab"), 0);
    cr_expect(strstr(out, "    qrst uvwx yzab cdef\n"), "%s", out);
    cr_expect(labgoogle_app_password_ok(lab, "qrstuvwxyzabcdef"));
    stop();
}

/* PowerShell binds positions around what was named: -Path by name, then Name
 * and Value by position. A -Name that cannot fit is refused, never dropped
 * (New-Item -Force on the parent would wipe it). */
Test(labreg, named_then_positional_and_an_overlong_name)
{
    cr_expect_eq(run("New-Item " TLS12 " -Force"), 0, "%s", out);
    cr_expect_eq(run("New-ItemProperty -Path " TLS12 " Enabled -Value 1 -PropertyType DWord"), 0, "%s", out);
    cr_expect_eq(run("Set-ItemProperty -Path " TLS12 " Enabled 0"), 0, "%s", out);
    cr_expect_eq(run("Get-ItemProperty " TLS12), 0);
    cr_expect(strstr(out, "Enabled      : 0") || strstr(out, "Enabled           : 0"), "%s", out);
    char line[600], name[300];
    memset(name, 'k', sizeof name - 1);
    name[sizeof name - 1] = 0;
    snprintf(line, sizeof line, "New-Item -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders"
             "\\SCHANNEL\\Protocols' -Name %s -Force", name);
    cr_expect_eq(run(line), -1, "%s", out);
    cr_expect_eq(run("Get-ItemProperty " TLS12), 0, "the parent's subkeys are still there: %s", out);
}
