/* probe --json's "diagnoses" against scripted servers that answer the way
 * Exchange does, and `mailscope rules --list/--check` as a user runs them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

static json_t *diagnosis(json_t *report, const char *id)
{
    json_t *a = json_object_get(report, "diagnoses"), *d;
    size_t i;
    json_array_foreach(a, i, d)
        if (!strcmp(str(d, "id"), id))
            return d;
    return NULL;
}

static bool fix_has(json_t *d, const char *needle)
{
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(d, "fix"), i, f)
        if (strstr(json_string_value(f), needle))
            return true;
    return false;
}

/* No "{placeholder}" is left unfilled anywhere in the diagnoses. */
static void assert_filled(json_t *report)
{
    char *text = json_dumps(json_object_get(report, "diagnoses"), 0);
    static const char *const names[] = { "{host}", "{user}", "{server_fqdn}", "{server}",
                                         "{cert_cn}", "{service}", "{proto}", "{port}", "{url}" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        cr_expect_null(strstr(text, names[i]), "%s left in %s", names[i], text);
    free(text);
}

static json_t *probe_at(const char *scheme, const char *scenario, const char *cert,
                        const char *const *extra, struct run_result *r)
{
    pid_t pid;
    char log[256], url[128];
    unsigned port = cert ? scripted_start_cert(scenario, cert, "leaf.key", &pid, log)
                         : scripted_start(scenario, &pid, log);
    snprintf(url, sizeof url, "%s://alice@127.0.0.1:%u", scheme, port);
    const char *args[16] = { url, "--password-env", "PW", "--json" };
    size_t n = 4;
    for (size_t i = 0; extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    run_mailscope(r, args);
    cr_assert_eq(scripted_wait(pid), 0, "the scripted server saw the client misbehave");
    unlink(log);
    return run_json(r);
}

static json_t *probe(const char *scenario, const char *cert, const char *const *extra,
                     struct run_result *r)
{
    return probe_at("imap", scenario, cert, extra, r);
}

Test(diag, exchange_login_failed_in_clear_ranks_its_causes)
{
    struct run_result r;
    /* --no-discover: this scenario answers LOGIN only (discovery has its own test). */
    json_t *j = probe("diag-exchange-login-failed.scn", NULL,
                      (const char *[]){ "--tls=none", "--auth=login", "--allow-plaintext-login",
                                        "--no-discover", NULL },
                      &r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "auth");
    json_t *a = json_object_get(j, "diagnoses");
    cr_assert_geq(json_array_size(a), 3);
    cr_expect_str_eq(str(json_array_get(a, 0), "id"), "R-EXCH-013");
    json_t *pw = diagnosis(j, "R-EXCH-013"), *off = diagnosis(j, "R-EXCH-004"),
           *proxy = diagnosis(j, "R-EXCH-001");
    cr_assert(pw && off && proxy);
    cr_expect_null(diagnosis(j, "R-EXCH-014"), "alice is not the administrator");
    cr_expect_null(diagnosis(j, "R-EXCH-018"), "on-premises is not Exchange Online");
    size_t i;
    json_t *d;
    json_array_foreach(a, i, d) {
        cr_expect_str_neq(str(d, "confidence"), "certain");
        cr_expect(json_is_array(json_object_get(json_object_get(d, "evidence"), "for")));
        cr_expect(json_is_array(json_object_get(json_object_get(d, "evidence"), "against")));
        cr_expect_str_neq(str(d, "source"), "(null)");
    }
    cr_expect(fix_has(off, "Set-CASMailbox -Identity alice -ImapEnabled $true"));
    cr_expect(fix_has(proxy, "-X509CertificateName <server FQDN>"),
              "no server name is known: the placeholder says what to put");
    cr_expect(json_is_null(json_object_get(j, "diagnosis_note")));
    assert_filled(j);
    json_decref(j);
    run_result_free(&r);
}

Test(diag, bound_public_certificate_points_at_x509certificatename)
{
    struct run_result r;
    json_t *j = probe("diag-exchange-cert-bound.scn", "chain.pem",
                      (const char *[]){ "--tls=starttls", "--auth=login", "--cafile",
                                        cert_path("root.pem"), "--servername", "mail.test", NULL },
                      &r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "server_name_hint"), "EX01.contoso.local");
    json_t *top = json_array_get(json_object_get(j, "diagnoses"), 0);
    cr_assert(top);
    cr_expect_str_eq(str(top, "id"), "R-EXCH-001");
    cr_expect_str_eq(str(top, "confidence"), "likely");
    cr_expect(fix_has(top, "Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local"));
    cr_expect(fix_has(top, "Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE"));
    cr_expect(strstr(str(top, "cause"), "(mail.test)"), "%s", str(top, "cause"));
    char *ev = json_dumps(json_object_get(top, "evidence"), 0);
    cr_expect(strstr(ev, "EX01.contoso.local"), "%s", ev);
    free(ev);
    assert_filled(j);
    json_decref(j);
    run_result_free(&r);
}

Test(diag, unknown_refusal_says_no_known_rule)
{
    struct run_result r;
    json_t *j = probe("diag-unknown-failure.scn", NULL,
                      (const char *[]){ "--tls=none", "--auth=login", "--allow-plaintext-login", NULL },
                      &r);
    assert_exit(&r, 2);
    cr_expect_eq(json_array_size(json_object_get(j, "diagnoses")), 0);
    cr_expect_str_eq(str(j, "diagnosis_note"), "no known rule explains this reply");
    json_decref(j);
    run_result_free(&r);
}

Test(diag, text_report_shows_the_top_diagnosis)
{
    pid_t pid;
    char log[256], url[128];
    unsigned port = scripted_start("diag-exchange-login-failed.scn", &pid, log);
    snprintf(url, sizeof url, "imap://alice@127.0.0.1:%u", port);
    struct run_result r;
    run_mailscope(&r, (const char *[]){ url, "--password-env", "PW", "--tls=none", "--auth=login",
                                        "--allow-plaintext-login", "--no-discover", NULL });
    cr_assert_eq(scripted_wait(pid), 0);
    unlink(log);
    assert_exit(&r, 2);
    cr_expect(strstr(r.out, "Diagnosis (possible): Exchange refused the credentials"), "%s", r.out);
    cr_expect(strstr(r.out, "[R-EXCH-013]"), "%s", r.out);
    run_result_free(&r);
}

/* run_mailscope() runs "mailscope probe ...": the rules subcommand is run
 * here through the shell (stderr into stdout), with a bounded output. */
static int rules_cmd(const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' rules %s 2>&1", env("MS_BIN"), args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(rules_cmd, list_and_check)
{
    static char out[65536];
    cr_expect_eq(rules_cmd("--list", out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "R-EXCH-001"), "%s", out);
    cr_expect(strstr(out, "R-DOV-001"));
    cr_expect_eq(rules_cmd("--bogus", out, sizeof out), 2, "%s", out);

    char good[] = "/tmp/ms-diag-good-XXXXXX", bad[] = "/tmp/ms-diag-bad-XXXXXX";
    int fg = mkstemp(good), fb = mkstemp(bad);
    cr_assert(fg >= 0 && fb >= 0);
    const char *g = "# mine\nrule MY-1\ntitle: Mine\nrequire failure is auth\n"
                    "explanation: e\nfix: call {user}\nsource: me\nend\n";
    const char *b = "rule MY-2\ntitle: Mine\nrequire reply matches ([\nend\n";
    cr_assert_eq(write(fg, g, strlen(g)), (ssize_t)strlen(g));
    cr_assert_eq(write(fb, b, strlen(b)), (ssize_t)strlen(b));
    close(fg);
    close(fb);
    char args[256];
    snprintf(args, sizeof args, "--check %s", good);
    cr_expect_eq(rules_cmd(args, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "1 rules, OK"), "%s", out);
    snprintf(args, sizeof args, "--check %s", bad);
    cr_expect_eq(rules_cmd(args, out, sizeof out), 1, "%s", out);
    char want[128];
    snprintf(want, sizeof want, "%s:3: bad regular expression", bad);
    cr_expect(strstr(out, want), "%s", out);
    unlink(good);
    unlink(bad);
}

Test(diag, exchange_plaintext_bye_on_ssl_port_means_no_certificate)
{
    pid_t pid;
    char log[256], url[128];
    unsigned port = scripted_start("exchange-bye-on-ssl-port.scn", &pid, log);
    snprintf(url, sizeof url, "imaps://alice@127.0.0.1:%u", port);
    struct run_result r;
    run_mailscope(&r, (const char *[]){ url, "--json", NULL });
    cr_assert_eq(scripted_wait(pid), 0);
    unlink(log);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    json_t *top = json_array_get(json_object_get(j, "diagnoses"), 0);
    cr_assert(top, "no diagnosis");
    cr_expect_str_eq(str(top, "id"), "R-EXCH-002");
    assert_filled(j);
    json_decref(j);
    run_result_free(&r);
}

Test(diag, gmail_xoauth2_error_challenge)
{
    struct run_result r;
    json_t *j = probe_at("imaps", "gmail-xoauth2.scn", NULL,
                         (const char *[]){ "--auth=xoauth2", "--cafile", cert_path("root.pem"),
                                           "--servername", "mail.test", NULL }, &r);
    assert_exit(&r, 2);
    cr_expect(diagnosis(j, "R-XOAUTH2-001"), "no XOAUTH2 diagnosis");
    cr_expect(diagnosis(j, "R-GMAIL-003"), "no Gmail invalid-credentials diagnosis");
    cr_expect(diagnosis(j, "R-5530-AUTHENTICATIONFAILED"));
    cr_expect_null(diagnosis(j, "R-DOV-002"), "Gmail is not Dovecot");
    assert_filled(j);
    json_decref(j);
    run_result_free(&r);
}
