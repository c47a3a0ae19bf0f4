/* probe asks IMAP ID NIL for the server's name and version, at no extra
 * round trip: only when the server offers ID and its version is not known
 * yet, only after TLS, and always in the same write as a command the plan
 * sends anyway (the scripted servers below read the ID and the next command
 * before answering either: a client that waited in between would stall them).
 * A refusal changes nothing; --no-id turns it off. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

/* Run probe against a scripted scenario; its expectations must all hold. */
static json_t *scripted_probe(const char *scenario, const char *scheme, const char *const *extra,
                              struct run_result *r, char **log, size_t *len)
{
    pid_t pid;
    char logpath[256], url[128];
    unsigned port = scripted_start(scenario, &pid, logpath);
    snprintf(url, sizeof url, "%s://alice@127.0.0.1:%u", scheme, port);
    const char *args[24] = { url, "--password-env", "PW", "--json" };
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    run_mailscope(r, args);
    cr_assert_eq(scripted_wait(pid), 0, "the scripted server saw the client misbehave: %s",
                 r->err);
    *log = slurp(logpath, len);
    unlink(logpath);
    return run_json(r);
}

Test(id, exchange_version_from_id_without_a_round_trip)
{
    struct run_result r;
    char *log;
    size_t len;
    json_t *j = scripted_probe("id-exchange-pipelined.scn", "imap",
                               (const char *[]){ "--tls=none", "--auth=login",
                                                 "--allow-plaintext-login", NULL }, &r, &log, &len);
    assert_exit(&r, 1);   /* WARNING: the password went in clear text, as asked */
    cr_assert(json_is_true(json_object_get(step_named(j, "login"), "ok")), "%s", r.out);
    cr_assert_str_eq(str(j, "server_family"), "exchange");
    cr_assert_str_eq(str(j, "server_version"), "2016 (ID 15.1)");
    /* The ID went first, the LOGIN right after it, nothing in between. */
    cr_assert(contains(log, len, "i001 ID NIL\r\na002 LOGIN alice "), "%.*s", (int)len, log);
    json_t *id = step_named(j, "id");
    cr_assert_not_null(id);
    cr_assert_str_eq(str(id, "sent"), "i001 ID NIL");
    cr_assert(json_is_true(json_object_get(id, "ok")));
    char *names = step_names(j);
    cr_assert_str_eq(names, "connect,greeting,capability,id,login,select,logout");
    free(names);
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(id, refused_id_changes_nothing)
{
    struct run_result r;
    char *log;
    size_t len;
    json_t *j = scripted_probe("id-bad.scn", "imaps",
                               (const char *[]){ "--cafile", cert_path("root.pem"),
                                                 "--servername", "mail.test", NULL },
                               &r, &log, &len);
    assert_exit(&r, 0);
    cr_assert_str_eq(str(j, "status"), "OK");
    json_t *id = step_named(j, "id");
    cr_assert_not_null(id);
    cr_assert(json_is_false(json_object_get(id, "ok")));
    cr_assert_str_eq(str(id, "status"), "BAD");
    cr_assert(json_is_true(json_object_get(step_named(j, "select"), "ok")));
    cr_assert_eq(json_array_size(json_object_get(j, "diagnoses")), 0, "%s", r.out);
    cr_assert(json_is_null(json_object_get(j, "diagnosis_note")), "%s", r.out);
    cr_assert(json_is_null(json_object_get(j, "server_version")));
    cr_assert(contains(log, len, "i001 ID NIL\r\na001 AUTHENTICATE PLAIN "));
    free(log);
    json_decref(j);
    run_result_free(&r);
}

Test(id, not_sent_when_the_greeting_names_the_version)
{
    struct run_result r;
    char *log;
    size_t len;
    json_t *j = scripted_probe("id-version-known.scn", "imap",
                               (const char *[]){ "--tls=none", "--auth=login", "--no-discover",
                                                 "--allow-plaintext-login", NULL }, &r, &log, &len);
    assert_exit(&r, 1);
    cr_assert_str_eq(str(j, "server_version"), "2003 6.5.7638.1");
    cr_assert_null(step_named(j, "id"));
    cr_assert_not(contains(log, len, " ID "));
    free(log);
    json_decref(j);
    run_result_free(&r);
}

static const char *dovecot_url(const char *scheme, const char *port_var)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s://alice@%s:%s", scheme, env("MS_DOVECOT_HOST"), env(port_var));
    return buf;
}

/* The real Dovecot offers ID before TLS: the ID rides with the capability
 * request after STARTTLS, and its answer names Dovecot. */
Test(id, dovecot_answers_with_the_capability_request)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ dovecot_url("imap", "MS_OPEN_IMAP_PORT"), "--password-env",
                                        "PW", "--cafile", cert_path("root.pem"), "--servername",
                                        "mail.test", "--json", NULL });
    json_t *j = run_json(&r);
    assert_exit(&r, 0);
    cr_assert_str_eq(str(j, "server_family"), "dovecot");
    json_t *id = step_named(j, "id");
    cr_assert_not_null(id, "%s", r.out);
    cr_assert(json_array_has(json_object_get(id, "received"), "* ID (\"name\" \"Dovecot\")"),
              "%s", r.out);
    char *names = step_names(j);
    cr_assert_str_eq(names, "connect,greeting,starttls,tls,id,capability,login,select,logout");
    free(names);
    /* (The order above says it: inside TLS, never before it.) */
    cr_assert_str_eq(str(id, "sent"), "i001 ID NIL");
    json_decref(j);
    run_result_free(&r);
}

Test(id, no_id_and_no_step_to_ride_with)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ dovecot_url("imap", "MS_OPEN_IMAP_PORT"), "--password-env",
                                        "PW", "--cafile", cert_path("root.pem"), "--servername",
                                        "mail.test", "--no-id", "--json", NULL });
    json_t *j = run_json(&r);
    assert_exit(&r, 0);
    char *names = step_names(j);
    cr_assert_str_eq(names, "connect,greeting,starttls,tls,capability,login,select,logout");
    free(names);
    json_decref(j);
    run_result_free(&r);
    /* Implicit TLS, no password: nothing after the greeting waits for an
     * answer, so no ID goes out (it would cost a round trip of its own). */
    run_mailscope(&r, (const char *[]){ dovecot_url("imaps", "MS_OPEN_IMAPS_PORT"), "--cafile",
                                        cert_path("root.pem"), "--servername", "mail.test",
                                        "--json", NULL });
    j = run_json(&r);
    assert_exit(&r, 0);
    names = step_names(j);
    cr_assert_str_eq(names, "connect,tls,greeting,logout");
    free(names);
    json_decref(j);
    run_result_free(&r);
}
