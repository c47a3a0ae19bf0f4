#include "harness.h"

/* The scripted server's own bound on a run: 20 s, stretched under valgrind. */
#define SCRIPTED_TIMEOUT (MS_SLOW_FACTOR > 1 ? "200" : "20")

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *env(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s is not set: run the tests through scripts/test", name);
    return v;
}

const char *cert_path(const char *file)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", env("MS_CERTS"), file);
    return b;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    *buf = realloc(*buf, *len + n + 1);
    cr_assert_not_null(*buf);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
}

/* Read both pipes until EOF or the deadline. */
static void drain(int out_fd, int err_fd, struct run_result *r, time_t deadline)
{
    struct pollfd pf[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
    char buf[65536];
    while ((pf[0].fd >= 0 || pf[1].fd >= 0) && time(NULL) < deadline) {
        if (poll(pf, 2, 1000) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            ssize_t n = read(pf[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
            } else if (i == 0) {
                append(&r->out, &r->out_len, buf, (size_t)n);
            } else {
                append(&r->err, &r->err_len, buf, (size_t)n);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
}

void run_mailscope(struct run_result *r, const char *const *args)
{
    run_mailscope_env(r, args, (const char *const[]){ NULL });
}

void run_mailscope_env(struct run_result *r, const char *const *args, const char *const *envs)
{
    memset(r, 0, sizeof *r);
    append(&r->out, &r->out_len, "", 0);
    append(&r->err, &r->err_len, "", 0);
    int out[2], err[2];
    cr_assert(pipe(out) == 0 && pipe(err) == 0);
    const char *bin = env("MS_BIN");
    const char *argv[64] = { bin, "probe" };
    size_t n = 2;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        setenv("PW", env("MS_TEST_PASSWORD"), 1);
        for (size_t i = 0; envs[i]; i++)
            putenv((char *)envs[i]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    drain(out[0], err[0], r, time(NULL) + 60);
    /* The pipes close a moment before the process is reaped. */
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 1000 && (done = waitpid(pid, &status, WNOHANG)) == 0; i++)
        usleep(10000);
    if (done != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        r->exit_code = -1;
        return;
    }
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void assert_exit(const struct run_result *r, int code)
{
    cr_assert_eq(r->exit_code, code, "exit status %d, expected %d\nstdout: %.3000s\nstderr: %.3000s",
                 r->exit_code, code, r->out, r->err);
}

void run_result_free(struct run_result *r)
{
    free(r->out);
    free(r->err);
}

json_t *run_json(const struct run_result *r)
{
    json_error_t e;
    json_t *j = json_loads(r->out, JSON_REJECT_DUPLICATES, &e);
    cr_assert_not_null(j, "stdout is not one JSON object (%s at %d): %s\nstderr: %s", e.text,
                       e.position, r->out, r->err);
    cr_assert(json_is_object(j));
    return j;
}

unsigned scripted_start(const char *scenario, pid_t *pid, char *log_path)
{
    return scripted_start_at(scenario, "127.0.0.1", pid, log_path);
}

static unsigned scripted_spawn(const char *scenario, const char *bind, const char *cert,
                               const char *key, bool legacy, pid_t *pid, char *log_path);

unsigned scripted_start_at(const char *scenario, const char *bind, pid_t *pid, char *log_path)
{
    return scripted_spawn(scenario, bind, cert_path("chain.pem"), cert_path("leaf.key"), false,
                          pid, log_path);
}

unsigned scripted_start_cert(const char *scenario, const char *cert, const char *key, pid_t *pid,
                             char *log_path)
{
    return scripted_spawn(scenario, "127.0.0.1", cert_path(cert), cert_path(key), true, pid,
                          log_path);
}

static unsigned scripted_spawn(const char *scenario, const char *bind, const char *cert,
                               const char *key, bool legacy, pid_t *pid, char *log_path)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", env("MS_SCENARIOS"), scenario);
    snprintf(log_path, 256, "/tmp/ms-scripted-%d-%ld.log", (int)getpid(), (long)random());
    int out[2];
    cr_assert(pipe(out) == 0);
    *pid = fork();
    cr_assert(*pid >= 0);
    if (*pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        if (legacy)
            execl(env("MS_SCRIPTED_SERVER"), "scripted_server", "--cert", cert, "--key", key,
                  "--seclevel", "0", "--bind", bind, "--timeout", SCRIPTED_TIMEOUT, "--log", log_path, path,
                  (char *)NULL);
        else
            execl(env("MS_SCRIPTED_SERVER"), "scripted_server", "--cert", cert, "--key", key,
                  "--bind", bind, "--timeout", SCRIPTED_TIMEOUT, "--log", log_path, path, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[64] = "";
    size_t len = 0;
    while (len < sizeof line - 1 && read(out[0], line + len, 1) == 1 && line[len] != '\n')
        len++;
    line[len] = 0;
    close(out[0]);
    unsigned port = 0;
    cr_assert(sscanf(line, "PORT %u", &port) == 1, "scripted_server did not start: '%s'", line);
    return port;
}

int scripted_wait(pid_t pid)
{
    int status;
    cr_assert(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    *len = 0;
    append(&buf, len, "", 0);
    FILE *f = fopen(path, "rb");
    if (!f)
        return buf;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        append(&buf, len, chunk, n);
    fclose(f);
    return buf;
}

bool contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k && i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    return false;
}

bool json_array_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    return false;
}

char *step_names(json_t *report)
{
    char *out = NULL;
    size_t len = 0, i;
    json_t *st;
    append(&out, &len, "", 0);
    json_array_foreach(json_object_get(report, "steps"), i, st) {
        if (i)
            append(&out, &len, ",", 1);
        const char *name = json_string_value(json_object_get(st, "name"));
        append(&out, &len, name, strlen(name));
    }
    return out;
}

json_t *step_named(json_t *report, const char *name)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(report, "steps"), i, st)
        if (strcmp(json_string_value(json_object_get(st, "name")), name) == 0)
            return st;
    return NULL;
}

long rss_limit_mib(long mib)
{
    return MS_SLOW_FACTOR > 1 ? mib + 512 : mib;   /* valgrind's own shadow memory */
}

double time_slack(void)
{
    return MS_SLOW_FACTOR > 1 ? 60.0 : 0.0;
}

const char *lab_net(void)
{
    const char *n = getenv("MS_LAB_NET");
    return n && *n ? n : "127.77";
}
