/* harness — run the real mailscope binary as a user would and look at what
 * it printed; start the scripted server; read the test environment that
 * scripts/test sets up (Dovecot ports, certificates, the test password). */
#ifndef MAILSCOPE_TEST_HARNESS_H
#define MAILSCOPE_TEST_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct run_result {
    int exit_code;          /* -1 when killed */
    char *out, *err;        /* NUL-terminated, caller frees with run_result_free */
    size_t out_len, err_len;
};

/* The environment variable name, which must be set (asserts otherwise). */
const char *env(const char *name);
/* Seconds to add to a bound on how long mailscope may take: 0, or more when
 * scripts/test --valgrind runs everything many times slower (MS_SLOW_FACTOR). */
double time_slack(void);
/* A bound on a process's peak memory: mib, or more under valgrind. */
long rss_limit_mib(long mib);
/* The first two bytes of the lab's loopback addresses ("127.77"): scripts/test
 * moves them with MS_PORT_OFFSET so that parallel runs do not collide. */
const char *lab_net(void);
/* "$MS_CERTS/<file>" in a static buffer of its own per call site slot. */
const char *cert_path(const char *file);

/* Run MS_BIN with argv (NULL-terminated, argv[0] excluded); PW is set to the
 * test password in its environment. Bounded by 60 s. */
void run_mailscope(struct run_result *r, const char *const *args);
/* The same with extra environment assignments ("OPENSSL_CONF=/x", NULL-terminated). */
void run_mailscope_env(struct run_result *r, const char *const *args, const char *const *envs);
void run_result_free(struct run_result *r);
/* The run ended with this exit status (else fail, showing what it printed). */
void assert_exit(const struct run_result *r, int code);
/* Parse r->out as exactly one JSON object (asserts). */
json_t *run_json(const struct run_result *r);

/* Start the scripted server on scenario (MS_SCENARIOS/name); returns its
 * port; *pid and log_path (at least 256 bytes) are filled. */
unsigned scripted_start(const char *scenario, pid_t *pid, char *log_path);
/* The same, listening on bind ("127.0.0.1", "::1"). */
unsigned scripted_start_at(const char *scenario, const char *bind, pid_t *pid, char *log_path);
/* The same on 127.0.0.1, serving cert/key (names in MS_CERTS) at security
 * level 0, so that even an RSA-1024 or SHA-1 signed certificate can be served;
 * what is negotiated is then the client's choice. */
unsigned scripted_start_cert(const char *scenario, const char *cert, const char *key, pid_t *pid,
                             char *log_path);
/* Wait for it and return its exit status (0: every scenario step passed). */
int scripted_wait(pid_t pid);
/* The whole log file (caller frees). */
char *slurp(const char *path, size_t *len);

/* Does hay[0..n) contain needle anywhere (bytes, not a C string search)? */
bool contains(const char *hay, size_t n, const char *needle);
/* A JSON array of strings contains s (exact). */
bool json_array_has(json_t *arr, const char *s);
/* The "name" fields of the "steps" array joined by commas. */
char *step_names(json_t *report);
json_t *step_named(json_t *report, const char *name);

#endif
