/* probe against a real Dovecot (started by scripts/test): IMAP and POP3 in
 * plain, STARTTLS and implicit TLS; good and bad passwords; LOGINDISABLED;
 * the generated root -> intermediate -> leaf chain trusted through --cafile. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static const char *url(const char *scheme, const char *port_var)
{
    static char bufs[4][256];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, 256, "%s://%s@%s:%s", scheme, env("MS_TEST_USER"), env("MS_DOVECOT_HOST"),
             env(port_var));
    return b;
}

#define TRUST "--cafile", cert_path("root.pem"), "--servername", "mail.test"

/* The password must not be anywhere in what the user sees, in clear or base64. */
static void assert_no_password(const char *text, size_t len)
{
    const char *pw = env("MS_TEST_PASSWORD");
    cr_assert_not(contains(text, len, pw), "the password appears in the output");
    unsigned char b64[256], plain[256];
    int n = snprintf((char *)plain, sizeof plain, "%c%s%c%s", 0, env("MS_TEST_USER"), 0, pw);
    EVP_EncodeBlock(b64, plain, n);
    cr_assert_not(contains(text, len, (char *)b64), "the PLAIN payload appears in the output");
    EVP_EncodeBlock(b64, (const unsigned char *)pw, (int)strlen(pw));
    cr_assert_not(contains(text, len, (char *)b64), "the base64 password appears in the output");
}

static json_t *probe_json(struct run_result *r, const char *const *args)
{
    run_mailscope(r, args);
    assert_no_password(r->out, r->out_len);
    assert_no_password(r->err, r->err_len);
    return run_json(r);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

static void assert_login_ok(json_t *j, int exit_code)
{
    cr_assert_eq(json_integer_value(json_object_get(j, "exit_code")), exit_code,
                 "exit_code %lld: %s", json_integer_value(json_object_get(j, "exit_code")),
                 str(j, "summary"));
    cr_assert_str_eq(str(j, "result"), "Success");
    cr_assert(json_is_null(json_object_get(j, "failure_class")));
    json_t *login = step_named(j, "login");
    cr_assert_not_null(login);
    cr_assert(json_is_true(json_object_get(login, "ok")));
    cr_assert_str_eq(str(j, "server_family"), "dovecot");
}

static void assert_chain_verified(json_t *j)
{
    json_t *tls = json_object_get(j, "tls");
    cr_assert(json_is_true(json_object_get(tls, "verified")));
    cr_assert(json_is_true(json_object_get(tls, "hostname_match")));
    cr_assert_str_eq(str(tls, "sni"), "mail.test");
    cr_assert_str_eq(str(tls, "version"), "TLSv1.3");
    json_t *chain = json_object_get(j, "chain");
    cr_assert_eq(json_array_size(chain), 2, "the server sends leaf + intermediate");
    cr_assert(strstr(str(json_array_get(chain, 0), "subject"), "CN=mail.test"));
    cr_assert(strstr(str(json_array_get(chain, 1), "subject"), "mailscope Test Intermediate"));
    cr_assert(strstr(str(json_array_get(chain, 0), "issuer"), "mailscope Test Intermediate"));
    cr_assert_eq(strlen(str(json_array_get(chain, 0), "sha256")), 95);
    cr_assert_eq(json_array_size(json_object_get(tls, "problems")), 0);
}

Test(dovecot, imap_starttls_login)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imap", "MS_OPEN_IMAP_PORT"), "--password-env",
                                                 "PW", TRUST, "--json", NULL });
    cr_assert_eq(r.exit_code, 0, "%s", r.out);
    assert_login_ok(j, 0);
    assert_chain_verified(j);
    cr_assert_str_eq(str(j, "tls_mode"), "starttls");
    char *names = step_names(j);
    /* The greeting's capabilities spare a CAPABILITY round trip before TLS. */
    /* ID NIL rides with the capability request after TLS (test_probe_id). */
    cr_assert_str_eq(names, "connect,greeting,starttls,tls,id,capability,login,select,logout");
    free(names);
    json_t *caps = json_object_get(j, "capabilities");
    cr_assert(json_array_has(json_object_get(caps, "before_tls"), "STARTTLS"));
    cr_assert(json_array_size(json_object_get(caps, "after_tls")) > 0);
    cr_assert_not(json_array_has(json_object_get(caps, "after_tls"), "STARTTLS"));
    cr_assert(json_array_size(json_object_get(caps, "after_login")) > 0);
    json_t *login = step_named(j, "login");
    cr_assert(strstr(str(login, "sent"), "*****"));
    /* The plan is done after LOGOUT: it is sent, its answer not waited for
     * (but recorded when it is already there: on loopback it may be). */
    json_t *logout = step_named(j, "logout");
    cr_assert(strstr(str(logout, "sent"), "LOGOUT"), "%s", str(logout, "sent"));
    cr_assert(strstr(str(logout, "message"), "not awaited") ||
              json_array_size(json_object_get(logout, "received")) > 0,
              "neither 'not awaited' nor the answer: %s", str(logout, "message"));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, imaps_implicit_tls)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imaps", "MS_OPEN_IMAPS_PORT"), "--password-env",
                                                 "PW", TRUST, "--json", NULL });
    assert_login_ok(j, 0);
    assert_chain_verified(j);
    cr_assert_str_eq(str(j, "tls_mode"), "implicit");
    char *names = step_names(j);
    cr_assert_str_eq(names, "connect,tls,greeting,id,login,select,logout");
    free(names);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(j, "capabilities"), "before_tls")), 0);
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, pop3_stls_login)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("pop3", "MS_OPEN_POP3_PORT"), "--password-env",
                                                 "PW", TRUST, "--json", NULL });
    assert_login_ok(j, 0);
    assert_chain_verified(j);
    char *names = step_names(j);
    cr_assert_str_eq(names, "connect,greeting,capability,starttls,tls,capability,login,stat,logout");
    free(names);
    json_t *caps = json_object_get(j, "capabilities");
    cr_assert(json_array_has(json_object_get(caps, "before_tls"), "STLS"));
    cr_assert_not(json_array_has(json_object_get(caps, "after_tls"), "STLS"));
    json_t *login = step_named(j, "login");
    cr_assert(strstr(str(login, "sent"), "PASS *****"), "%s", str(login, "sent"));
    json_t *stat = json_array_get(json_object_get(step_named(j, "stat"), "received"), 0);
    cr_assert(strncmp(json_string_value(stat), "+OK 2 ", 6) == 0, "two test messages: %s",
              json_string_value(stat));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, pop3s_implicit_tls)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("pop3s", "MS_OPEN_POP3S_PORT"), "--password-env",
                                                 "PW", TRUST, "--json", NULL });
    assert_login_ok(j, 0);
    assert_chain_verified(j);
    cr_assert_str_eq(str(j, "tls_mode"), "implicit");
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, wrong_password_is_critical_auth)
{
    struct run_result r;
    setenv("WRONG", "not-the-password", 1);
    json_t *j = probe_json(&r, (const char *[]){ url("imaps", "MS_OPEN_IMAPS_PORT"),
                                                 "--password-env", "WRONG", TRUST, "--json", NULL });
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "result"), "Failure");
    cr_assert_str_eq(str(j, "failure_class"), "auth");
    cr_assert(strstr(str(j, "summary"), "AUTHENTICATIONFAILED"), "%s", str(j, "summary"));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, pop3_wrong_password_is_critical_auth)
{
    struct run_result r;
    setenv("WRONG", "not-the-password", 1);
    json_t *j = probe_json(&r, (const char *[]){ url("pop3s", "MS_OPEN_POP3S_PORT"),
                                                 "--password-env", "WRONG", TRUST, "--json", NULL });
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "auth");
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, plaintext_login_refused_without_permission)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imap", "MS_OPEN_IMAP_PORT"), "--tls=none",
                                                 "--password-env", "PW", "--json", NULL });
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "tls-required");
    json_t *login = step_named(j, "login");
    cr_assert(json_is_null(json_object_get(login, "sent")), "nothing was sent for login");
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, plaintext_login_allowed_is_a_warning)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imap", "MS_OPEN_IMAP_PORT"), "--tls=none",
                                                 "--auth=login", "--allow-plaintext-login",
                                                 "--password-env", "PW", "--json", NULL });
    assert_login_ok(j, 1);
    cr_assert_str_eq(str(j, "tls_mode"), "none");
    cr_assert(strstr(json_string_value(json_array_get(json_object_get(j, "warnings"), 0)),
                     "unencrypted"));
    cr_assert(strstr(str(step_named(j, "login"), "sent"), " LOGIN alice *****"));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, logindisabled_stops_login_before_tls)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imap", "MS_STRICT_IMAP_PORT"), "--tls=none",
                                                 "--auth=login", "--allow-plaintext-login",
                                                 "--password-env", "PW", "--json", NULL });
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "tls-required");
    cr_assert(json_array_has(json_object_get(json_object_get(j, "capabilities"), "before_tls"),
                             "LOGINDISABLED"));
    cr_assert(strstr(str(j, "summary"), "LOGINDISABLED"));
    cr_assert(json_is_null(json_object_get(step_named(j, "login"), "sent")));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, strict_server_logs_in_after_starttls)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imap", "MS_STRICT_IMAP_PORT"), "--tls=starttls",
                                                 "--password-env", "PW", TRUST, "--json", NULL });
    assert_login_ok(j, 0);
    json_t *caps = json_object_get(j, "capabilities");
    cr_assert(json_array_has(json_object_get(caps, "before_tls"), "LOGINDISABLED"));
    cr_assert_not(json_array_has(json_object_get(caps, "after_tls"), "LOGINDISABLED"));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, cram_md5_in_clear_when_allowed)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imap", "MS_STRICT_IMAP_PORT"), "--tls=none",
                                                 "--auth=cram-md5", "--allow-plaintext-login",
                                                 "--password-env", "PW", "--json", NULL });
    assert_login_ok(j, 1);
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, login_sasl_mechanism)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imaps", "MS_OPEN_IMAPS_PORT"), "--auth=login-sasl",
                                                 "--password-env", "PW", TRUST, "--json", NULL });
    assert_login_ok(j, 0);
    cr_assert(strstr(str(step_named(j, "login"), "sent"), "AUTHENTICATE LOGIN"));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, pop3_sasl_plain)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("pop3s", "MS_OPEN_POP3S_PORT"), "--auth=plain",
                                                 "--password-env", "PW", TRUST, "--json", NULL });
    assert_login_ok(j, 0);
    /* PLAIN's payload shows only whom it authenticates. */
    char want[128];
    snprintf(want, sizeof want, "AUTH PLAIN ***** (user %s)", env("MS_TEST_USER"));
    cr_assert_str_eq(str(step_named(j, "login"), "sent"), want);
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, untrusted_chain_is_critical_and_still_shown)
{
    struct run_result r;
    setenv("SSL_CERT_FILE", "/dev/null", 1);   /* no system CA may vouch for the test root */
    json_t *j = probe_json(&r, (const char *[]){ url("imaps", "MS_OPEN_IMAPS_PORT"), "--password-env",
                                                 "PW", "--servername", "mail.test", "--json", NULL });
    unsetenv("SSL_CERT_FILE");
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "cert");
    json_t *tls = json_object_get(j, "tls");
    cr_assert(json_is_false(json_object_get(tls, "verified")));
    cr_assert(json_string_value(json_object_get(tls, "verify_error")));
    cr_assert(json_array_has(json_object_get(tls, "problems"), "untrusted-root"),
              "problems should name the unknown root");
    cr_assert_eq(json_array_size(json_object_get(j, "chain")), 2, "the chain is shown anyway");
    cr_assert_null(step_named(j, "login"), "no credentials inside an unverified session");
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, insecure_goes_on_with_a_warning)
{
    struct run_result r;
    setenv("SSL_CERT_FILE", "/dev/null", 1);
    json_t *j = probe_json(&r, (const char *[]){ url("imaps", "MS_OPEN_IMAPS_PORT"), "--password-env",
                                                 "PW", "--servername", "mail.test", "--insecure",
                                                 "--json", NULL });
    unsetenv("SSL_CERT_FILE");
    assert_login_ok(j, 1);
    cr_assert(json_is_false(json_object_get(json_object_get(j, "tls"), "verified")));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, wrong_name_is_hostname_mismatch)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imaps", "MS_OPEN_IMAPS_PORT"), "--password-env",
                                                 "PW", "--cafile", cert_path("root.pem"),
                                                 "--servername", "other.example", "--json", NULL });
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "cert");
    json_t *tls = json_object_get(j, "tls");
    cr_assert(json_is_false(json_object_get(tls, "hostname_match")));
    cr_assert(json_array_has(json_object_get(tls, "problems"), "hostname-mismatch"));
    cr_assert_str_eq(str(tls, "sni"), "other.example");
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, until_greeting_logs_out_without_login)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imap", "MS_OPEN_IMAP_PORT"), "--password-env",
                                                 "PW", TRUST, "--until=greeting", "--json", NULL });
    assert_exit(&r, 0);
    char *names = step_names(j);
    cr_assert_str_eq(names, "connect,greeting,logout");
    free(names);
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, until_connect_closes_at_once)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("imaps", "MS_OPEN_IMAPS_PORT"), TRUST,
                                                 "--until=connect", "--json", NULL });
    assert_exit(&r, 0);
    cr_assert_str_eq(str(json_array_get(json_object_get(j, "steps"), 0), "name"), "connect");
    cr_assert(json_is_true(json_object_get(json_array_get(json_object_get(j, "steps"), 0), "ok")));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, nagios_line_with_perfdata)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ url("imap", "MS_OPEN_IMAP_PORT"), "--password-env", "PW",
                                        TRUST, "--output=nagios", NULL });
    assert_exit(&r, 0);
    cr_assert(strncmp(r.out, "IMAP OK - ", 10) == 0, "%s", r.out);
    cr_assert(strstr(r.out, " | connect="), "%s", r.out);
    cr_assert(strstr(r.out, "login="), "%s", r.out);
    cr_assert(strchr(r.out, '\n') == r.out + r.out_len - 1, "exactly one line");
    assert_no_password(r.out, r.out_len);
    run_result_free(&r);
}

Test(dovecot, text_report_marks_clear_and_tls_lines)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ url("imap", "MS_OPEN_IMAP_PORT"), "--password-env", "PW",
                                        TRUST, NULL });
    cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "[clear] S: * OK [CAPABILITY"), "%s", r.out);
    cr_assert(strstr(r.out, "[tls  ] C: a002 CAPABILITY"), "%s", r.out);
    cr_assert(strstr(r.out, "Chain as sent by the server (2)"));
    cr_assert(strstr(r.out, "IMAP OK: "));
    assert_no_password(r.out, r.out_len);
    run_result_free(&r);
}

Test(dovecot, record_json_transcript_without_password)
{
    struct run_result r;
    char path[128];
    snprintf(path, sizeof path, "/tmp/ms-record-%d.json", (int)getpid());
    unlink(path);
    json_t *j = probe_json(&r, (const char *[]){ url("pop3", "MS_OPEN_POP3_PORT"), "--password-env",
                                                 "PW", TRUST, "--record", path, "--json", NULL });
    assert_login_ok(j, 0);
    struct stat st;
    cr_assert(stat(path, &st) == 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "a transcript is private");
    size_t len;
    char *text = slurp(path, &len);
    assert_no_password(text, len);
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc);
    cr_assert_str_eq(str(doc, "schema"), "mailscope.transcript/2");
    cr_assert(json_array_size(json_object_get(doc, "events")) > 10);
    cr_assert(contains(text, len, "PASS *****"));
    json_decref(doc);
    free(text);
    unlink(path);
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, pop3_plaintext_allowed_is_a_warning)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("pop3", "MS_OPEN_POP3_PORT"), "--tls=none",
                                                 "--allow-plaintext-login", "--password-env", "PW",
                                                 "--json", NULL });
    assert_login_ok(j, 1);
    cr_assert_str_eq(str(j, "tls_mode"), "none");
    cr_assert(json_is_null(json_object_get(j, "tls")));
    json_decref(j);
    run_result_free(&r);
}

Test(dovecot, pop3_strict_server_refuses_plaintext_password)
{
    struct run_result r;
    json_t *j = probe_json(&r, (const char *[]){ url("pop3", "MS_STRICT_POP3_PORT"), "--tls=none",
                                                 "--allow-plaintext-login", "--password-env", "PW",
                                                 "--json", NULL });
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "auth");
    cr_assert(strstr(str(j, "summary"), "[AUTH]"), "%s", str(j, "summary"));
    json_decref(j);
    run_result_free(&r);
}
