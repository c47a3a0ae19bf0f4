/* Recordings from real sessions replayed: probe --record FILE.json against
 * Dovecot (STARTTLS and login) and a scripted Exchange that refuses the
 * login, then `mailscope replay --check FILE.json` must load the file and
 * summarise what the probe saw; a hostile file is refused by name. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TRUST "--cafile", cert_path("root.pem"), "--servername", "mail.test"

/* `mailscope replay --check path`: its exit status, stdout in out, stderr in err. */
static int replay_check(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
    char cmd[1024], errpath[64];
    snprintf(errpath, sizeof errpath, "/tmp/ms-replay-err-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "'%s' replay --check '%s' 2>'%s'", env("MS_BIN"), path, errpath);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    size_t elen = 0;
    char *e = slurp(errpath, &elen);
    snprintf(err, errcap, "%s", e ? e : "");
    free(e);
    unlink(errpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void assert_no_password(const char *text, size_t len)
{
    const char *pw = env("MS_TEST_PASSWORD");
    cr_assert_not(contains(text, len, pw), "the password is in the recording");
    unsigned char b64[256];
    EVP_EncodeBlock(b64, (const unsigned char *)pw, (int)strlen(pw));
    cr_assert_not(contains(text, len, (char *)b64), "the base64 password is in the recording");
}

/* The recording's event count, read independently of the loader. */
static size_t events_in(const char *path)
{
    json_t *doc = json_load_file(path, 0, NULL);
    cr_assert_not_null(doc, "%s is not JSON", path);
    size_t n = json_array_size(json_object_get(doc, "events"));
    json_decref(doc);
    return n;
}

Test(replay, dovecot_starttls_login_recording_checks_out)
{
    char path[128], url[256], out[4096], err[1024], want[256];
    snprintf(path, sizeof path, "/tmp/ms-replay-%d.json", (int)getpid());
    snprintf(url, sizeof url, "imap://%s@%s:%s", env("MS_TEST_USER"), env("MS_DOVECOT_HOST"),
             env("MS_OPEN_IMAP_PORT"));
    unlink(path);
    struct run_result r;
    run_mailscope(&r, (const char *[]){ url, "--password-env", "PW", TRUST, "--tls=starttls",
                                        "--record", path, NULL });
    assert_exit(&r, 0);
    run_result_free(&r);
    size_t len;
    char *text = slurp(path, &len);
    cr_assert_not_null(text);
    assert_no_password(text, len);
    cr_assert(contains(text, len, "AUTHENTICATE PLAIN *****"), "the login is recorded, redacted");
    cr_assert(contains(text, len, "-----BEGIN CERTIFICATE-----"), "the chain is recorded as PEM");
    free(text);
    int rc = replay_check(path, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "exit %d: %s%s", rc, out, err);
    cr_assert(strstr(out, "(mailscope.transcript/2)"), "%s", out);
    snprintf(want, sizeof want, "events    %zu over ", events_in(path));
    cr_assert(strstr(out, want), "want \"%s\" in\n%s", want, out);
    snprintf(want, sizeof want, "target    imap %s:%s, connected to %s:%s", env("MS_DOVECOT_HOST"),
             env("MS_OPEN_IMAP_PORT"), env("MS_DOVECOT_HOST"), env("MS_OPEN_IMAP_PORT"));
    cr_assert(strstr(out, want), "want \"%s\" in\n%s", want, out);
    cr_assert(strstr(out, "tls       starttls TLSv1.3, certificate verified, 2 certificate(s) as sent"),
              "%s", out);
    cr_assert(strstr(out, "result    Success OK (exit 0): "), "%s", out);
    cr_assert(strstr(out, "logged in as alice"), "%s", out);
    unlink(path);
}

Test(replay, exchange_refused_login_recording_keeps_the_diagnosis)
{
    char path[128], url[128], log[256], out[4096], err[1024], want[128];
    snprintf(path, sizeof path, "/tmp/ms-replay-ex-%d.json", (int)getpid());
    unlink(path);
    pid_t pid;
    unsigned port = scripted_start("diag-exchange-login-failed.scn", &pid, log);
    snprintf(url, sizeof url, "imap://alice@127.0.0.1:%u", port);
    struct run_result r;
    run_mailscope(&r, (const char *[]){ url, "--password-env", "PW", "--tls=none", "--auth=login",
                                        "--allow-plaintext-login", "--no-discover", "--record",
                                        path, NULL });
    cr_assert_eq(scripted_wait(pid), 0);
    unlink(log);
    assert_exit(&r, 2);
    run_result_free(&r);
    size_t len;
    char *text = slurp(path, &len);
    assert_no_password(text, len);
    cr_assert(contains(text, len, "LOGIN alice *****"), "the login is recorded, redacted");
    free(text);
    int rc = replay_check(path, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "exit %d: %s%s", rc, out, err);
    snprintf(want, sizeof want, "target    imap 127.0.0.1:%u", port);
    cr_assert(strstr(out, want), "want \"%s\" in\n%s", want, out);
    cr_assert(strstr(out, "tls       none recorded"), "%s", out);
    cr_assert(strstr(out, "result    Failure CRITICAL (exit 2)"), "%s", out);
    cr_assert(strstr(out, "diagnosis R-EXCH-013: "), "the top diagnosis as recorded:\n%s", out);
    unlink(path);
}

Test(replay, hostile_file_is_refused_by_name)
{
    char path[128], out[4096], err[1024];
    snprintf(path, sizeof path, "/tmp/ms-replay-bad-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("{\"schema\":\"mailscope.transcript/2\",\"started\":\"2026-01-01T00:00:00.000000Z\","
          "\"protocol\":\"imap\",\"capabilities\":{\"before_tls\":null,\"after_tls\":null,"
          "\"after_login\":null},\"tls\":null,\"ntlm\":null,\"report\":{},\"events\":["
          "{\"t\":0,\"kind\":\"received\",\"op\":\"greeting\",\"secure\":false,\"text\":\"* OK\"},"
          "{\"t\":0.1,\"kind\":\"\\u001b]52;c;ZXZpbA==\\u0007\",\"op\":\"none\",\"secure\":false}]}",
          f);
    fclose(f);
    int rc = replay_check(path, out, sizeof out, err, sizeof err);
    unlink(path);
    cr_assert_eq(rc, 1, "exit %d: %s%s", rc, out, err);
    cr_assert(strstr(err, "events[1].kind: unknown name \"\\x1b]52;c;ZXZpbA==\\x07\""), "%s", err);
    cr_assert_null(strchr(err, 0x1b), "a raw ESC reached the terminal");
    cr_assert_eq(out[0], 0, "nothing on stdout: %s", out);
}
