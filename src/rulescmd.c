#include "rulescmd.h"

#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "sanitize.h"

void rulescmd_usage(FILE *out)
{
    fputs("       mailscope rules --list           the diagnosis rules in force\n"
          "       mailscope rules --check FILE...  check rule files (man mailscope: RULES)\n",
          out);
}

static void list(FILE *out, const struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        fprintf(out, "%-28s %-8s %-5s%-5s %-22s %s\n", r->id, rule_severity_name(r->severity),
                r->protocols & 1 ? "imap" : "", r->protocols & 2 ? "pop3" : "", r->families,
                r->title);
    }
    fprintf(out, "%zu rules\n", rs->n);
}

static int check(FILE *out, FILE *err, char **files, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        /* Each file on its own, with the built-in ids taken, as it will load. */
        struct ruleset rs;
        char msg[600];
        ruleset_init(&rs);
        if (rules_load_builtin(&rs, msg, sizeof msg) == 0) {
            size_t before = rs.n;
            if (rules_load_file(&rs, files[i], msg, sizeof msg) == 0)
                fprintf(out, "%s: %zu rules, OK\n", files[i], rs.n - before);
        }
        if (msg[0]) {
            char *clean = sanitize_text(msg, strlen(msg), 0);
            fprintf(err, "mailscope: %s\n", clean ? clean : msg);
            free(clean);
            rc = 1;
        }
        ruleset_free(&rs);
    }
    return rc;
}

static int usage_error(FILE *err)
{
    fputs("usage: mailscope rules --list | --check FILE...\n", err);
    return 2;
}

int rulescmd_main(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc >= 3 && !strcmp(argv[2], "--check"))
        return argc >= 4 ? check(out, err, argv + 3, argc - 3) : usage_error(err);
    if (argc != 3 || strcmp(argv[2], "--list"))
        return usage_error(err);
    struct ruleset rs;
    char warn[2048];
    ruleset_init(&rs);
    int rc = rules_load_default(&rs, warn, sizeof warn);
    if (warn[0]) {
        char *clean = sanitize_text(warn, strlen(warn), 0);
        fprintf(err, "mailscope: %s\n", clean ? clean : "");
        free(clean);
    }
    if (rc == 0)
        list(out, &rs);
    ruleset_free(&rs);
    return rc ? 1 : warn[0] ? 1 : 0;
}
