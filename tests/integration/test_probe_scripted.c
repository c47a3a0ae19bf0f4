/* probe against scripted servers for what Dovecot cannot do: STARTTLS
 * response injection, refused or stripped STARTTLS, PREAUTH in clear text,
 * hostile bytes in the greeting. The server's log proves what was sent. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct scripted {
    pid_t pid;
    char log[256];
    char url[128];
};

static void start(struct scripted *sc, const char *scenario, const char *scheme)
{
    unsigned port = scripted_start(scenario, &sc->pid, sc->log);
    snprintf(sc->url, sizeof sc->url, "%s://alice@127.0.0.1:%u", scheme, port);
}

/* The scenario's expectations all held; returns the client's bytes. */
static char *finish(struct scripted *sc, size_t *len)
{
    cr_assert_eq(scripted_wait(sc->pid), 0, "the scripted server saw the client misbehave");
    char *log = slurp(sc->log, len);
    unlink(sc->log);
    return log;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

static void assert_no_credentials(const char *log, size_t len)
{
    cr_assert_not(contains(log, len, "LOGIN "), "LOGIN was sent");
    cr_assert_not(contains(log, len, "AUTHENTICATE"), "AUTHENTICATE was sent");
    cr_assert_not(contains(log, len, "PASS "), "PASS was sent");
    cr_assert_not(contains(log, len, "AUTH "), "AUTH was sent");
    cr_assert_not(contains(log, len, env("MS_TEST_PASSWORD")));
}

Test(scripted, imap_starttls_injection_aborts)
{
    struct scripted sc;
    start(&sc, "imap-starttls-injection.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--password-env", "PW", "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "protocol");
    cr_assert(strstr(str(j, "summary"), "possible response injection"), "%s", str(j, "summary"));
    cr_assert(strstr(str(j, "discarded_at_starttls"), "INJECTED"));
    cr_assert(json_is_null(json_object_get(j, "tls")), "no TLS session was started");
    cr_assert_not(contains(log, len, "== TLS =="));
    assert_no_credentials(log, len);
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, pop3_stls_injection_aborts)
{
    struct scripted sc;
    start(&sc, "pop3-stls-injection.scn", "pop3");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--password-env", "PW", "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "protocol");
    cr_assert(strstr(str(j, "discarded_at_starttls"), "SASL PLAIN"));
    assert_no_credentials(log, len);
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, refused_starttls_sends_no_credentials)
{
    struct scripted sc;
    start(&sc, "imap-starttls-refused.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=starttls", "--password-env", "PW",
                                        "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "tls-required");
    cr_assert(strstr(str(j, "summary"), "refused STARTTLS"), "%s", str(j, "summary"));
    assert_no_credentials(log, len);
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, stripped_starttls_is_critical_when_required)
{
    struct scripted sc;
    start(&sc, "imap-no-starttls.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=starttls", "--password-env", "PW",
                                        "--allow-plaintext-login", "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "tls-required");
    cr_assert_eq(len, 0, "nothing at all was sent");
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, preauth_in_clear_is_critical_when_tls_required)
{
    struct scripted sc;
    start(&sc, "imap-preauth.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=starttls", "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "tls-required");
    cr_assert(strstr(str(j, "summary"), "PREAUTH"));
    cr_assert_eq(len, 0, "nothing at all was sent");
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, capabilities_before_tls_do_not_survive_it)
{
    struct scripted sc;
    start(&sc, "imap-starttls-caps.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--cafile", cert_path("root.pem"), "--servername",
                                        "mail.test", "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 0);
    json_t *caps = json_object_get(j, "capabilities");
    cr_assert(json_array_has(json_object_get(caps, "before_tls"), "X-PRETLS-ONLY"));
    cr_assert_not(json_array_has(json_object_get(caps, "after_tls"), "X-PRETLS-ONLY"));
    cr_assert(json_array_has(json_object_get(caps, "after_tls"), "AUTH=PLAIN"));
    cr_assert(contains(log, len, "== TLS =="));
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, hostile_greeting_is_escaped_in_text_output)
{
    struct scripted sc;
    start(&sc, "imap-hostile-greeting.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=starttls", NULL });
    size_t len;
    free(finish(&sc, &len));
    assert_exit(&r, 2);
    for (size_t i = 0; i < r.out_len; i++) {
        unsigned char c = (unsigned char)r.out[i];
        cr_assert(c >= 0x20 || c == '\n', "a control byte 0x%02x reached the terminal", c);
        cr_assert(c != 0x7f && c != 0x9b);
    }
    cr_assert_not(contains(r.out, r.out_len, "\xe2\x80\xae"), "a bidi override reached the terminal");
    cr_assert(strstr(r.out, "\\x1b[31mEvil\\x1b]52;c;ZXZpbA==\\x07 <U+202E>gnp.exe \\x9b2J\\rTLS OK"),
              "%s", r.out);
    run_result_free(&r);
}

Test(scripted, refused_connection_is_critical_connect)
{
    struct scripted sc;
    start(&sc, "imap-no-starttls.scn", "imap");
    char url[160];
    snprintf(url, sizeof url, "%s", sc.url);
    /* Use up the one connection the server accepts, then the port is closed. */
    struct run_result r;
    run_mailscope(&r, (const char *[]){ url, "--tls=starttls", "--json", NULL });
    size_t len;
    free(finish(&sc, &len));
    run_result_free(&r);
    run_mailscope(&r, (const char *[]){ url, "--json", NULL });
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "connect");
    cr_assert(strstr(str(j, "summary"), "refused"), "%s", str(j, "summary"));
    json_decref(j);
    run_result_free(&r);
}

Test(usage, json_even_for_usage_errors)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ "imap://alice:secret@host", "--json", NULL });
    json_t *j = run_json(&r);
    assert_exit(&r, 3);
    cr_assert_str_eq(str(j, "result"), "Failure");
    cr_assert(strstr(str(j, "summary"), "--password-env"));
    json_decref(j);
    run_result_free(&r);
    run_mailscope(&r, (const char *[]){ "imaps://host", "--tls=starttls", NULL });
    assert_exit(&r, 3);
    cr_assert(strstr(r.err, "contradicts"), "%s", r.err);
    cr_assert_eq(r.out_len, 0);
    run_result_free(&r);
    run_mailscope(&r, (const char *[]){ "imap://host", "--password-env", "MS_UNSET_VARIABLE_X", NULL });
    assert_exit(&r, 3);
    cr_assert(strstr(r.err, "MS_UNSET_VARIABLE_X"));
    run_result_free(&r);
}

Test(scripted, exchange_ntlm_challenge_names_the_server)
{
    struct scripted sc;
    start(&sc, "exchange-ntlm.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=none", "--auth=ntlm", "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 0);
    cr_assert_str_eq(str(j, "server_family"), "exchange");
    json_t *ntlm = json_object_get(j, "ntlm");
    cr_assert_str_eq(str(ntlm, "dns_computer"), "EX01.contoso.local");
    cr_assert_str_eq(str(ntlm, "netbios_computer"), "EX01");
    cr_assert_str_eq(str(ntlm, "netbios_domain"), "CONTOSO");
    cr_assert_str_eq(str(ntlm, "os_version"), "10.0.17763");
    cr_assert_str_eq(str(j, "server_name_hint"), "EX01.contoso.local");
    cr_assert_str_eq(str(j, "server_name_source"), "ntlm");
    cr_assert(strstr(str(j, "summary"), "EX01.contoso.local"), "%s", str(j, "summary"));
    cr_assert_not(contains(log, len, env("MS_TEST_PASSWORD")));
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, xoauth2_error_details_then_no)
{
    struct scripted sc;
    start(&sc, "gmail-xoauth2.scn", "imaps");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--auth=xoauth2", "--password-env", "PW",
                                        "--cafile", cert_path("root.pem"), "--servername",
                                        "mail.test", "--json", NULL });
    size_t len;
    free(finish(&sc, &len));
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "auth");
    cr_assert_str_eq(str(j, "server_family"), "gmail");
    cr_assert(strstr(str(j, "summary"), "Invalid credentials"), "%s", str(j, "summary"));
    const char *sent = str(step_named(j, "login"), "sent");
    cr_assert(!strncmp(sent, "a002 AUTHENTICATE XOAUTH2 ***** (user ", 38), "%s", sent);
    cr_assert_not(contains(r.out, r.out_len, env("MS_TEST_PASSWORD")));
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, silent_server_times_out)
{
    struct scripted sc;
    start(&sc, "silent.scn", "imap");
    struct run_result r;
    time_t t0 = time(NULL);
    run_mailscope(&r, (const char *[]){ sc.url, "--timeout", "1", "--json", NULL });
    time_t took = time(NULL) - t0;
    size_t len;
    free(finish(&sc, &len));
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "timeout");
    cr_assert(strstr(str(j, "summary"), "greeting"), "%s", str(j, "summary"));
    cr_assert(took <= 3 + (time_t)time_slack(), "gave up after %ld s with --timeout 1", (long)took);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, ipv6_only_address)
{
    struct scripted sc;
    unsigned port = scripted_start_at("ipv6-greeting.scn", "::1", &sc.pid, sc.log);
    char url[80];
    snprintf(url, sizeof url, "imap://[::1]:%u", port);
    struct run_result r;
    run_mailscope(&r, (const char *[]){ url, "-6", "--until=greeting", "--json", NULL });
    size_t len;
    free(finish(&sc, &len));
    json_t *j = run_json(&r);
    assert_exit(&r, 0);
    char want[64];
    snprintf(want, sizeof want, "[::1]:%u", port);
    cr_assert_str_eq(str(j, "address"), want);
    json_decref(j);
    run_result_free(&r);
}

/* A name that cannot resolve, without sending a query anywhere: an IPv6
 * literal asked for over IPv4 only. */
Test(usage, unresolvable_name_is_unknown_dns)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ "imap://[::1]:143", "-4", "--json", NULL });
    json_t *j = run_json(&r);
    assert_exit(&r, 3);
    cr_assert_str_eq(str(j, "failure_class"), "dns");
    cr_assert(strstr(str(j, "summary"), "cannot resolve ::1"), "%s", str(j, "summary"));
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, failed_capability_is_tls_required_when_starttls_required)
{
    struct scripted sc;
    start(&sc, "imap-capability-bad.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=starttls", "--password-env", "PW",
                                        "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "tls-required");
    assert_no_credentials(log, len);
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, tls_alert_is_a_clear_tls_failure)
{
    struct scripted sc;
    start(&sc, "tls-alert.scn", "imaps");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--json", NULL });
    size_t len;
    free(finish(&sc, &len));
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "tls");
    cr_assert(strstr(str(j, "summary"), "handshake failure"), "%s", str(j, "summary"));
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, plaintext_answer_on_a_tls_port_is_shown)
{
    struct scripted sc;
    start(&sc, "exchange-bye-on-ssl-port.scn", "imaps");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--json", NULL });
    size_t len;
    free(finish(&sc, &len));
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "tls");
    cr_assert(strstr(str(j, "summary"), "plain text"), "%s", str(j, "summary"));
    cr_assert_str_eq(str(j, "plaintext_instead_of_tls"), "* BYE Connection is closed. 14\r\n");
    cr_assert(json_is_null(json_object_get(j, "discarded_at_starttls")));
    json_decref(j);
    run_result_free(&r);
}

Test(scripted, imap_starttls_injection_in_a_later_segment)
{
    struct scripted sc;
    start(&sc, "imap-starttls-late-injection.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--password-env", "PW", "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "protocol");
    cr_assert(strstr(str(j, "summary"), "possible response injection"), "%s", str(j, "summary"));
    cr_assert(strstr(str(j, "discarded_at_starttls"), "INJECTED"));
    assert_no_credentials(log, len);
    free(log);
    json_decref(j);
    run_result_free(&r);
}

static json_t *diagnosis(json_t *report, const char *id)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(report, "diagnoses"), i, d)
        if (!strcmp(str(d, "id"), id))
            return d;
    return NULL;
}

/* The founding case's first half: on-premises Exchange names itself nowhere,
 * so mailscope asks its NTLM challenge (no password) before logging in, and
 * the diagnosis can name EX01.contoso.local in the fix. */
Test(scripted, exchange_name_discovered_before_login)
{
    struct scripted sc;
    start(&sc, "exchange-discover-login.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=none", "--auth=login",
                                        "--allow-plaintext-login", "--password-env", "PW",
                                        "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_str_eq(str(j, "failure_class"), "auth");
    cr_assert_str_eq(str(j, "server_name_hint"), "EX01.contoso.local");
    cr_assert_str_eq(str(j, "server_name_source"), "ntlm");
    json_t *d = diagnosis(j, "R-EXCH-001");
    cr_assert_not_null(d, "ProxyNotAuthenticated is among the hypotheses");
    char *fix = json_dumps(json_object_get(d, "fix"), 0);
    cr_assert(strstr(fix, "EX01.contoso.local"), "the fix names the server: %s", fix);
    free(fix);
    cr_assert(contains(log, len, "AUTHENTICATE NTLM\r\n"), "the discovery round trip");
    free(log);
    json_decref(j);
    run_result_free(&r);
}

/* The discovery's cancelled login is mailscope's own doing: the ticket's
 * timings call it stopped, and only the real login FAILED. */
Test(scripted, ntlm_discovery_is_stopped_not_failed_in_the_record)
{
    struct scripted sc;
    start(&sc, "exchange-discover-login.scn", "imap");
    char rec[300];
    snprintf(rec, sizeof rec, "%s.txt", sc.log);
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=none", "--auth=login",
                                        "--allow-plaintext-login", "--password-env", "PW",
                                        "--record", rec, NULL });
    size_t len, tlen;
    free(finish(&sc, &len));
    assert_exit(&r, 2);
    cr_assert(strstr(r.out, "stop") && strstr(r.out, "FAIL"), "probe's steps: %s", r.out);
    char *txt = slurp(rec, &tlen);
    unlink(rec);
    cr_assert(contains(txt, tlen, "login: stopped after"), "the discovery in the timeline:\n%s", txt);
    const char *timings = strstr(txt, "Timings");
    cr_assert_not_null(timings);
    cr_assert(strstr(timings, "stopped") && strstr(timings, "FAILED"), "timings:\n%s", timings);
    cr_assert(strstr(strstr(timings, "stopped"), "FAILED"), "the discovery first, then the failed login");
    free(txt);
    run_result_free(&r);
}

Test(scripted, no_discover_skips_the_ntlm_round_trip)
{
    struct scripted sc;
    start(&sc, "exchange-no-discover.scn", "imap");
    struct run_result r;
    run_mailscope(&r, (const char *[]){ sc.url, "--tls=none", "--auth=login", "--no-discover",
                                        "--allow-plaintext-login", "--password-env", "PW",
                                        "--json", NULL });
    size_t len;
    char *log = finish(&sc, &len);
    json_t *j = run_json(&r);
    assert_exit(&r, 2);
    cr_assert_not(contains(log, len, "NTLM"));
    cr_assert(json_is_null(json_object_get(j, "server_name_hint")));
    free(log);
    json_decref(j);
    run_result_free(&r);
}
