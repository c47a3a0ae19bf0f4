#include "logscan.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "diag.h"
#include "sanitize.h"

#define CTX_MAX (64u * 1024)           /* an unquoted context kept for the rules */

void logscan_init(struct logscan *ls)
{
    memset(ls, 0, sizeof *ls);
    ruleset_init(&ls->rules);
}

static void group_free(struct logscan_group *g)
{
    free(g->error);
    free(g->user);
    free(g->client);
    free(g->reply);
    free(g->command);
    free(g->context);
    for (size_t i = 0; i < g->n_servers; i++)
        free(g->servers[i]);
    for (size_t i = 0; i < g->n_proxies; i++)
        free(g->proxies[i]);
    for (size_t i = 0; i < g->n_samples; i++) {
        free(g->sample[i].file);
        free(g->sample[i].text);
    }
}

void logscan_free(struct logscan *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        group_free(&ls->g[i]);
    free(ls->g);
    free(ls->slot);
    for (size_t i = 0; i < ls->n_files; i++) {
        free(ls->f[i].path);
        free(ls->f[i].error);
    }
    free(ls->f);
    ruleset_free(&ls->rules);
    memset(ls, 0, sizeof *ls);
}

/* ---- grouping ------------------------------------------------------------ */

static uint64_t hash3(const char *a, const char *b, const char *c)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s[3] = { a, b, c }, **p = s; p < s + 3; p++) {
        for (const unsigned char *q = (const unsigned char *)*p; *q; q++)
            h = (h ^ *q) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

static int grow_index(struct logscan *ls)
{
    size_t n = ls->n_slot ? ls->n_slot * 2 : 1024;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < ls->n; i++) {
        uint64_t h = hash3(ls->g[i].error, ls->g[i].user, ls->g[i].client);
        size_t k = h & (n - 1);
        while (s[k])
            k = (k + 1) & (n - 1);
        s[k] = (uint32_t)(i + 1);
    }
    free(ls->slot);
    ls->slot = s;
    ls->n_slot = n;
    return 0;
}

/* The group for this key, created when new; NULL when full or out of memory. */
static struct logscan_group *group_for(struct logscan *ls, const char *error, const char *user,
                                       const char *client, bool *fresh)
{
    *fresh = false;
    if ((ls->n + 1) * 2 > ls->n_slot && grow_index(ls) < 0)
        return NULL;
    uint64_t h = hash3(error, user, client);
    size_t k = h & (ls->n_slot - 1);
    for (; ls->slot[k]; k = (k + 1) & (ls->n_slot - 1)) {
        struct logscan_group *g = &ls->g[ls->slot[k] - 1];
        if (!strcmp(g->error, error) && !strcmp(g->user, user) && !strcmp(g->client, client))
            return g;
    }
    if (ls->n >= LOGSCAN_MAX_GROUPS)
        return NULL;
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 64;
        struct logscan_group *g = realloc(ls->g, cap * sizeof *g);
        if (!g)
            return NULL;
        ls->g = g;
        ls->cap = cap;
    }
    struct logscan_group *g = &ls->g[ls->n];
    memset(g, 0, sizeof *g);
    g->error = strdup(error);
    g->user = strdup(user);
    g->client = strdup(client);
    if (!g->error || !g->user || !g->client) {
        group_free(g);
        return NULL;
    }
    ls->slot[k] = (uint32_t)(++ls->n);
    *fresh = true;
    return g;
}

static void set_add(char **set, size_t *n, const char *v)
{
    if (!v[0])
        return;
    for (size_t i = 0; i < *n; i++)
        if (!strcasecmp(set[i], v))
            return;
    if (*n < LOGSCAN_MAX_SET && (set[*n] = strdup(v)))
        (*n)++;
}

/* "10.0.0.5:993" -> "10.0.0.5", "[::1]:993" -> "::1"; other forms stay. */
static void address_only(const char *ep, char *out, size_t outlen)
{
    if (ep[0] == '[') {
        size_t n = strcspn(ep + 1, "]");
        snprintf(out, outlen, "%.*s", (int)n, ep + 1);
        return;
    }
    const char *c = strchr(ep, ':');
    if (c && !strchr(c + 1, ':') && c[1] && strspn(c + 1, "0123456789") == strlen(c + 1))
        snprintf(out, outlen, "%.*s", (int)(c - ep), ep);
    else
        snprintf(out, outlen, "%s", ep);
}

static char *field_dup(const struct exlog_field *f, size_t max)
{
    char *s = malloc(max);
    if (s)
        exlog_unquote(f, s, max);
    return s;
}

static void add_failure(struct logscan *ls, struct logscan_file *lf, const struct exlog_record *rec,
                        const struct exlog_failure *fl)
{
    char user[256], cip[128], client[128], sip[128], when[40];
    exlog_unquote(&rec->col[EXC_USER], user, sizeof user);
    exlog_unquote(&rec->col[EXC_CIP], cip, sizeof cip);
    exlog_unquote(&rec->col[EXC_SIP], sip, sizeof sip);
    exlog_unquote(&rec->col[EXC_DATETIME], when, sizeof when);
    address_only(cip, client, sizeof client);
    bool fresh;
    struct logscan_group *g = group_for(ls, fl->error, user, client, &fresh);
    if (!g) {
        ls->dropped++;
        return;
    }
    if (fresh) {
        g->source = fl->source;
        g->reply = strdup(fl->reply);
        g->command = field_dup(&rec->col[EXC_COMMAND], 64);
        char c[1200];
        exlog_failure_context(fl, c, sizeof c);
        g->context = strdup(c);
    }
    g->count++;
    g->protos |= 1u << rec->proto;
    char addr[128];
    address_only(sip, addr, sizeof addr);
    set_add(g->servers, &g->n_servers, addr);
    set_add(g->proxies, &g->n_proxies, fl->proxy);
    if (when[0] && (!g->first[0] || strcmp(when, g->first) < 0))
        snprintf(g->first, sizeof g->first, "%s", when);
    if (when[0] && strcmp(when, g->last) > 0)
        snprintf(g->last, sizeof g->last, "%s", when);
    if (g->n_samples < LOGSCAN_SAMPLES) {
        struct logscan_sample *s = &g->sample[g->n_samples];
        s->file = strdup(lf->path);
        s->text = strndup(rec->line, rec->len > LOGSCAN_SAMPLE_MAX ? LOGSCAN_SAMPLE_MAX : rec->len);
        s->line = rec->lineno;
        if (s->file && s->text)
            g->n_samples++;
        else {
            free(s->file);
            free(s->text);
        }
    }
}

/* ---- reading ------------------------------------------------------------- */

static struct logscan_file *new_file(struct logscan *ls, const char *path)
{
    if (ls->n_files == ls->cap_files) {
        size_t cap = ls->cap_files ? ls->cap_files * 2 : 16;
        struct logscan_file *f = realloc(ls->f, cap * sizeof *f);
        if (!f)
            return NULL;
        ls->f = f;
        ls->cap_files = cap;
    }
    struct logscan_file *f = &ls->f[ls->n_files];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(path)))
        return NULL;
    ls->n_files++;
    return f;
}

static void file_error(struct logscan *ls, struct logscan_file *f, const char *msg)
{
    free(f->error);
    f->error = strdup(msg);
    ls->read_error = true;
}

static void scan_file(struct logscan *ls, const char *path)
{
    struct logscan_file *f = new_file(ls, path);
    if (!f) {
        ls->read_error = true;
        return;
    }
    struct exlog_reader r;
    char err[600];
    if (exlog_open(&r, path, err, sizeof err) < 0) {
        file_error(ls, f, err);
        return;
    }
    char *ctx = malloc(CTX_MAX);
    if (!ctx) {
        file_error(ls, f, "out of memory");
        exlog_close(&r);
        return;
    }
    struct exlog_record rec;
    struct exlog_failure fl;
    int rc;
    while ((rc = exlog_next(&r, &rec)) == 1)
        if (exlog_failure(&rec, &fl, ctx, CTX_MAX)) {
            f->failures++;
            add_failure(ls, f, &rec, &fl);
        }
    if (rc < 0) {
        snprintf(err, sizeof err, "%s: read error: %s", path, strerror(r.read_errno));
        file_error(ls, f, err);
    }
    f->proto = r.proto;
    f->lines = r.lineno;
    f->records = r.records;
    f->malformed = r.malformed;
    f->bytes = r.bytes;
    memcpy(f->bad, r.bad, sizeof r.bad);
    f->n_bad = r.n_bad;
    ls->lines += r.lineno;
    ls->records += r.records;
    ls->malformed += r.malformed;
    ls->failures += f->failures;
    ls->bytes += r.bytes;
    free(ctx);
    exlog_close(&r);
}

static bool is_log_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcasecmp(name + n - 4, ".log");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each file to read goes to each(arg, path), or to scan_file when each is
 * NULL; what cannot be read is recorded in ls either way. */
typedef void each_fn(void *arg, const char *path);

static void scan_path(struct logscan *ls, const char *path, int depth, bool named, each_fn *each,
                      void *arg);

static void scan_dir(struct logscan *ls, const char *path, int depth, each_fn *each, void *arg)
{
    DIR *d = opendir(path);
    if (!d) {
        struct logscan_file *f = new_file(ls, path);
        char err[600];
        snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
        if (f)
            file_error(ls, f, err);
        else
            ls->read_error = true;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if ((names[n] = strdup(e->d_name)))
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char *child;
        if (asprintf(&child, "%s/%s", path, names[i]) >= 0) {
            scan_path(ls, child, depth + 1, false, each, arg);
            free(child);
        }
        free(names[i]);
    }
    free(names);
}

static void scan_path(struct logscan *ls, const char *path, int depth, bool named, each_fn *each,
                      void *arg)
{
    struct stat st;
    if (strcmp(path, "-") && (named ? stat(path, &st) : lstat(path, &st)) < 0) {
        struct logscan_file *f = new_file(ls, path);
        char err[600];
        snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
        if (f)
            file_error(ls, f, err);
        else
            ls->read_error = true;
        return;
    }
    if (strcmp(path, "-") && S_ISDIR(st.st_mode)) {
        if (depth < LOGSCAN_MAX_DEPTH)
            scan_dir(ls, path, depth, each, arg);
        return;
    }
    if (!named && !(S_ISREG(st.st_mode) && is_log_name(path)))
        return;
    if (each)
        each(arg, path);
    else
        scan_file(ls, path);
}

void logscan_add_path(struct logscan *ls, const char *path)
{
    scan_path(ls, path, 0, true, NULL, NULL);
}

/* ---- linking to the rules ------------------------------------------------ */

static bool family_fits(const char *families)
{
    for (const char *p = families; p && *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if ((n == 3 && !strncasecmp(p, "any", 3)) || (n == 8 && !strncasecmp(p, "exchange", 8)))
            return true;
        p += n;
    }
    return false;
}

/* "a2 NO [Error=X Proxy=Y] LOGIN failed." -> "a2 NO LOGIN failed.": the
 * words the rules' reply patterns know. */
static void strip_bracket(const char *reply, char *out, size_t outlen)
{
    const char *b = strstr(reply, "[Error=");
    const char *e = b ? strchr(b, ']') : NULL;
    if (!e) {
        snprintf(out, outlen, "%s", reply);
        return;
    }
    size_t head = (size_t)(b - reply);
    while (head && reply[head - 1] == ' ')
        head--;
    const char *tail = e + 1;
    while (*tail == ' ')
        tail++;
    snprintf(out, outlen, "%.*s%s%s", (int)head, reply, head && *tail ? " " : "", tail);
}

static bool is_login_command(const char *c)
{
    static const char *const w[] = { "login", "authenticate", "auth", "user", "pass", "apop" };
    for (size_t i = 0; i < sizeof w / sizeof *w; i++)
        if (c && !strcasecmp(c, w[i]))
            return true;
    return false;
}

static void evidence_of(const struct logscan_group *g, struct diag_evidence *e,
                        const char *const *log, char *server, size_t serverlen)
{
    diag_evidence_init(e);
    e->pop3 = (g->protos & (1u << EXLOG_POP3)) && !(g->protos & (1u << EXLOG_IMAP4));
    e->family = "exchange";
    e->user = g->user;
    e->log_lines = log;
    e->n_log_lines = 1;
    server[0] = 0;
    if (g->n_proxies)
        snprintf(server, serverlen, "%.*s", (int)strcspn(g->proxies[0], ":,"), g->proxies[0]);
    e->server_fqdn = server;
}

static void link_group(const struct ruleset *rs, struct logscan_group *g)
{
    struct diag_evidence e;
    char server[256];
    const char *log[1] = { g->context ? g->context : "" };
    evidence_of(g, &e, log, server, sizeof server);
    int best = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        if (!(r->protocols & (e.pop3 ? 2u : 1u)) || !family_fits(r->families))
            continue;
        for (size_t k = 0; k < r->n_cond; k++) {
            const struct rule_cond *c = &r->cond[k];
            if (c->fact != RF_LOG || c->op != RO_MATCHES ||
                (c->kind != RK_DECISIVE && c->kind != RK_FOR) || !diag_cond_holds(c, &e))
                continue;
            int score = c->kind == RK_DECISIVE ? 1000 : c->weight;
            if (score > best) {
                best = score;
                g->rule = r;
                g->basis = c->kind == RK_DECISIVE ? "decisive-log" : "log";
                g->confidence = c->kind == RK_DECISIVE ? "certain" : "likely";
            }
        }
    }
    if (g->rule || !g->reply || !g->reply[0])
        return;
    /* No log condition: what the rules make of the reply alone. */
    char reply[512];
    strip_bracket(g->reply, reply, sizeof reply);
    bool login = is_login_command(g->command);
    e.failed = true;
    e.failure = login ? "auth" : "protocol";
    e.step = login ? "login" : "";
    e.reply = reply;
    e.lines[0] = reply;
    e.n_lines = 1;
    e.secure = false;           /* unknown from a log line: the plain-text rules may apply */
    struct diag_result res;
    diag_run(rs, &e, &res);
    if (res.n) {
        g->rule = res.h[0].rule;
        g->basis = "reply";
        g->confidence = res.h[0].confidence;
    }
    diag_result_free(&res);
}

char *logscan_fill(const struct logscan_group *g, const char *text)
{
    struct diag_evidence e;
    char server[256];
    const char *log[1] = { "" };
    evidence_of(g, &e, log, server, sizeof server);
    return diag_fill(text, &e);
}

static int by_count(const void *a, const void *b)
{
    const struct logscan_group *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    int c = strcmp(x->error, y->error);
    if (c)
        return c;
    c = strcmp(x->user, y->user);
    return c ? c : strcmp(x->client, y->client);
}

void logscan_finish(struct logscan *ls)
{
    if (ls->n)
        qsort(ls->g, ls->n, sizeof *ls->g, by_count);
    free(ls->slot);                 /* the order changed: the index is stale */
    ls->slot = NULL;
    ls->n_slot = 0;
    if (rules_load_default(&ls->rules, ls->rules_note, sizeof ls->rules_note) < 0)
        return;
    for (size_t i = 0; i < ls->n; i++)
        link_group(&ls->rules, &ls->g[i]);
}

int logscan_exit_code(const struct logscan *ls)
{
    if (ls->read_error)
        return 2;
    return ls->failures ? 1 : 0;
}

/* ---- JSON ---------------------------------------------------------------- */

/* Log bytes are not promised to be UTF-8: JSON gets them sanitised. */
static json_t *jclean(const char *s)
{
    if (!s)
        return json_null();
    char *c = sanitize_text(s, strlen(s), 0);
    json_t *j = json_string(c ? c : "");
    free(c);
    return j;
}

static json_t *jset(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, jclean(v[i]));
    return a;
}

static json_t *protos_json(unsigned protos)
{
    json_t *a = json_array();
    if (protos & (1u << EXLOG_IMAP4))
        json_array_append_new(a, json_string("IMAP4"));
    if (protos & (1u << EXLOG_POP3))
        json_array_append_new(a, json_string("POP3"));
    if (protos & (1u << EXLOG_UNKNOWN))
        json_array_append_new(a, json_string("unknown"));
    return a;
}

static json_t *rule_json(const struct logscan_group *g)
{
    if (!g->rule)
        return json_null();
    const struct rule *r = g->rule;
    json_t *fix = json_array();
    for (size_t i = 0; i < r->n_fix; i++) {
        char *f = logscan_fill(g, r->fix[i]);
        json_array_append_new(fix, f ? json_string(f) : json_null());
        free(f);
    }
    char *expl = r->explanation ? logscan_fill(g, r->explanation) : NULL;
    char *verify = r->verify ? logscan_fill(g, r->verify) : NULL;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", r->id, "title",
                          r->title, "severity", rule_severity_name(r->severity), "basis", g->basis,
                          "confidence", g->confidence,
                          "explanation", expl ? json_string(expl) : json_null(), "fix", fix,
                          "verify", verify ? json_string(verify) : json_null());
    free(expl);
    free(verify);
    return o ? o : json_null();
}

static json_t *group_json(const struct logscan_group *g)
{
    json_t *samples = json_array();
    for (size_t i = 0; i < g->n_samples; i++)
        json_array_append_new(samples, json_pack("{s:o, s:I, s:o}", "file",
            jclean(g->sample[i].file), "line", (json_int_t)g->sample[i].line, "text",
            jclean(g->sample[i].text)));
    return json_pack("{s:o, s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "error", jclean(g->error), "source", g->source, "user", jclean(g->user),
        "client", jclean(g->client), "protocols", protos_json(g->protos),
        "count", (json_int_t)g->count,
        "first_seen", g->first[0] ? jclean(g->first) : json_null(),
        "last_seen", g->last[0] ? jclean(g->last) : json_null(),
        "servers", jset(g->servers, g->n_servers), "proxies", jset(g->proxies, g->n_proxies),
        "reply", g->reply && g->reply[0] ? jclean(g->reply) : json_null(),
        "command", g->command && g->command[0] ? jclean(g->command) : json_null(),
        "samples", samples, "rule", rule_json(g));
}

static json_t *file_json(const struct logscan_file *f)
{
    json_t *bad = json_array();
    for (size_t i = 0; i < f->n_bad; i++)
        json_array_append_new(bad, json_pack("{s:I, s:s}", "line", (json_int_t)f->bad[i].lineno,
                                             "reason", f->bad[i].reason));
    return json_pack("{s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "path", jclean(f->path),
        "protocol", exlog_proto_name(f->proto), "bytes", (json_int_t)f->bytes,
        "lines", (json_int_t)f->lines, "records", (json_int_t)f->records,
        "malformed", (json_int_t)f->malformed, "failures", (json_int_t)f->failures,
        "malformed_lines", bad, "error", f->error ? jclean(f->error) : json_null());
}

json_t *logscan_json(const struct logscan *ls)
{
    json_t *files = json_array(), *groups = json_array();
    for (size_t i = 0; i < ls->n_files; i++)
        json_array_append_new(files, file_json(&ls->f[i]));
    for (size_t i = 0; i < ls->n; i++)
        json_array_append_new(groups, group_json(&ls->g[i]));
    return json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
        "schema", "mailscope.logscan/1", "exit_code", logscan_exit_code(ls),
        "bytes", (json_int_t)ls->bytes, "lines", (json_int_t)ls->lines,
        "records", (json_int_t)ls->records, "malformed", (json_int_t)ls->malformed,
        "failures", (json_int_t)ls->failures, "dropped", (json_int_t)ls->dropped,
        "files", files, "groups", groups,
        "rules_note", ls->rules_note[0] ? jclean(ls->rules_note) : json_null());
}

/* ---- the table ----------------------------------------------------------- */

/* s sanitised and cut to width columns (one column a character), padded. */
static void cell(FILE *out, const char *s, int width, bool pad)
{
    char *c = sanitize_text(s ? s : "", s ? strlen(s) : 0, 0);
    const char *t = c ? c : "";
    int cols = 0;
    size_t i = 0, cut = 0;
    size_t len = strlen(t);
    while (i < len) {
        size_t k = i + 1;
        while (k < len && ((unsigned char)t[k] & 0xC0) == 0x80)
            k++;
        if (cols == width - 1)
            cut = i;
        cols++;
        i = k;
        if (cols > width)
            break;
    }
    if (cols > width) {
        fwrite(t, 1, cut, out);
        fputs("~", out);
        cols = width;
    } else
        fputs(t, out);
    for (; pad && cols < width; cols++)
        fputc(' ', out);
    free(c);
}

/* "2026-11-27T07:30:46.994Z" -> "2026-11-27 07:30:46" */
static void when(char *out, size_t outlen, const char *dt)
{
    if (!dt[0]) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, "%.19s", dt);
    char *t = strchr(out, 'T');
    if (t)
        *t = ' ';
}

static const char *protos_text(unsigned p)
{
    bool i = p & (1u << EXLOG_IMAP4), o = p & (1u << EXLOG_POP3);
    return i && o ? "both" : i ? "IMAP4" : o ? "POP3" : "?";
}

void logscan_table(FILE *out, const struct logscan *ls, int width)
{
    if (width < 80)
        width = 80;
    int ew = width - 8 - 22 - 16 - 6 - 11 - 4;   /* count, user, client, proto, rule, gaps */
    if (ls->n) {
        fprintf(out, "%7s ", "COUNT");
        cell(out, "ERROR", ew, true);
        fprintf(out, " %-22s %-16s%-6s %s\n", "USER", "CLIENT", "PROTO", "RULE");
    }
    for (size_t i = 0; i < ls->n; i++) {
        const struct logscan_group *g = &ls->g[i];
        fprintf(out, "%7llu ", (unsigned long long)g->count);
        cell(out, g->error, ew, true);
        fputc(' ', out);
        cell(out, g->user[0] ? g->user : "-", 22, true);
        fputc(' ', out);
        cell(out, g->client[0] ? g->client : "-", 15, true);
        fprintf(out, " %-6s ", protos_text(g->protos));
        cell(out, g->rule ? g->rule->id : "-", 11, false);
        fputc('\n', out);
        char a[40], b[40];
        when(a, sizeof a, g->first);
        when(b, sizeof b, g->last);
        fprintf(out, "        %s .. %s  server ", a, b);
        cell(out, g->n_servers ? g->servers[0] : "?", 15, false);
        if (g->n_proxies) {
            fputs(" -> ", out);
            cell(out, g->proxies[0], width - 70, false);
        }
        fputc('\n', out);
        if (g->rule) {
            fputs("        ", out);
            char t[600];
            snprintf(t, sizeof t, "%s: %s", g->confidence, g->rule->title);
            cell(out, t, width - 8, false);
            fputc('\n', out);
        }
    }
    for (size_t i = 0; i < ls->n_files; i++) {
        const struct logscan_file *f = &ls->f[i];
        if (f->error) {
            fputs("error: ", out);
            cell(out, f->error, width - 7, false);
            fputc('\n', out);
        }
        for (size_t k = 0; k < f->n_bad; k++) {
            char t[700];
            snprintf(t, sizeof t, "%s:%llu: malformed line skipped: %s", f->path,
                     (unsigned long long)f->bad[k].lineno, f->bad[k].reason);
            cell(out, t, width, false);
            fputc('\n', out);
        }
        if (f->malformed > f->n_bad)
            fprintf(out, "(%llu more malformed lines in that file)\n",
                    (unsigned long long)(f->malformed - f->n_bad));
    }
    fprintf(out, "%zu file%s, %llu lines, %llu records, %llu malformed, %llu failures in %zu group%s",
            ls->n_files, ls->n_files == 1 ? "" : "s", (unsigned long long)ls->lines,
            (unsigned long long)ls->records, (unsigned long long)ls->malformed,
            (unsigned long long)ls->failures, ls->n, ls->n == 1 ? "" : "s");
    if (ls->dropped)
        fprintf(out, " (%llu in groups beyond the %d kept)", (unsigned long long)ls->dropped,
                LOGSCAN_MAX_GROUPS);
    fputs(".\n", out);
    if (ls->rules_note[0]) {
        fputs("rules: ", out);
        cell(out, ls->rules_note, width - 7, false);
        fputc('\n', out);
    }
}

/* ---- the command --------------------------------------------------------- */

void logscan_usage(FILE *out)
{
    fputs("usage: mailscope logscan [--json] [--tui] FILE|DIR...\n"
          "  Reads Exchange IMAP4/POP3 protocol logs (a directory: its *.log files,\n"
          "  recursively; \"-\": standard input), groups the failures (ErrMsg=, [Error=...],\n"
          "  NO/BAD/-ERR replies) by error, user and client address, and names the\n"
          "  diagnosis rule that explains each group.\n"
          "  --json   one JSON object (schema mailscope.logscan/1) on stdout\n"
          "  --tui    browse the groups full-screen (Enter: samples, rule and fix; q: quit)\n"
          "  Exit status: 0 no failure, 1 failures found, 2 usage or read error.\n", out);
}

int logscan_parse_args(int argc, char **argv, struct logscan_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    static const struct option opts[] = { { "json", no_argument, 0, 'j' },
        { "tui", no_argument, 0, 't' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            a->json = true;
        else if (c == 't')
            a->tui = true;
        else if (c == 'h')
            a->help = true;
        else {
            snprintf(err, errlen, "unknown option: %s (see mailscope logscan --help)",
                     argv[optind - 1]);
            return -1;
        }
    }
    if (a->help)
        return 0;
    if (a->json && a->tui) {
        snprintf(err, errlen, "--json and --tui exclude each other");
        return -1;
    }
    if (optind >= argc) {
        snprintf(err, errlen, "give a log file or directory, e.g. mailscope logscan "
                              "'Logging/Imap4'");
        return -1;
    }
    a->paths = argv + optind;
    a->n_paths = argc - optind;
    return 0;
}

int logscan_main(int argc, char **argv)
{
    struct logscan_args a;
    char err[256];
    if (logscan_parse_args(argc, argv, &a, err, sizeof err) < 0) {
        fprintf(stderr, "mailscope logscan: %s\n", err);
        return 2;
    }
    if (a.help) {
        logscan_usage(stdout);
        return 0;
    }
    struct logscan ls;
    logscan_init(&ls);
    for (int i = 0; i < a.n_paths; i++)
        logscan_add_path(&ls, a.paths[i]);
    logscan_finish(&ls);
    for (size_t i = 0; i < ls.n_files; i++)
        if (ls.f[i].error) {
            char *c = sanitize_text(ls.f[i].error, strlen(ls.f[i].error), 0);
            fprintf(stderr, "mailscope logscan: %s\n", c ? c : "");
            free(c);
        }
    if (a.json) {
        json_t *j = logscan_json(&ls);
        char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(j);
    } else
        logscan_table(stdout, &ls, 100);
    int code = logscan_exit_code(&ls);
    logscan_free(&ls);
    return code;
}

/* ---- evidence for a live diagnosis --------------------------------------- */

/* "alice", "alice@contoso.com", "CONTOSO\alice", "contoso/alice" name one
 * account. */
static void local_part(const char *u, char *out, size_t outlen)
{
    const char *s = u;
    for (const char *p = u; *p; p++)
        if (*p == '\\' || *p == '/')
            s = p + 1;
    snprintf(out, outlen, "%.*s", (int)strcspn(s, "@"), s);
}

static bool same_user(const char *a, const char *b)
{
    if (!strcasecmp(a, b))
        return true;
    char x[256], y[256];
    local_part(a, x, sizeof x);
    local_part(b, y, sizeof y);
    return x[0] && !strcasecmp(x, y);
}

struct ev_walk {
    struct logscan_evidence *le;
    const char *user;
    bool pop3;
    char *ctx;
    size_t files;
};

static void evidence_file(void *arg, const char *path)
{
    struct ev_walk *w = arg;
    struct logscan_evidence *le = w->le;
    const char *user = w->user;
    bool pop3 = w->pop3;
    char *ctx = w->ctx;
    w->files++;
    struct exlog_reader r;
    char err[64];
    if (exlog_open(&r, path, err, sizeof err) < 0)
        return;
    struct exlog_record rec;
    struct exlog_failure fl;
    while (exlog_next(&r, &rec) == 1) {
        if (rec.proto != EXLOG_UNKNOWN && (rec.proto == EXLOG_POP3) != pop3)
            continue;
        if (!exlog_failure(&rec, &fl, ctx, CTX_MAX))
            continue;
        char u[256];
        exlog_unquote(&rec.col[EXC_USER], u, sizeof u);
        if (user && user[0] && !same_user(u, user))
            continue;
        le->failures++;
        if (fl.proxy[0])
            snprintf(le->server, sizeof le->server, "%.*s", (int)strcspn(fl.proxy, ":,"), fl.proxy);
        char c[1200];
        exlog_failure_context(&fl, c, sizeof c);
        char *line = strdup(c);
        if (!line)
            continue;
        if (le->n == LOGSCAN_EVIDENCE_MAX) {     /* keep the latest */
            free(le->lines[0]);
            memmove(le->lines, le->lines + 1, (le->n - 1) * sizeof *le->lines);
            le->n--;
        }
        le->lines[le->n++] = line;
    }
    exlog_close(&r);
}

int logscan_evidence_load(struct logscan_evidence *le, const char *path, const char *user,
                          bool pop3, char *err, size_t errlen)
{
    memset(le, 0, sizeof *le);
    snprintf(le->path, sizeof le->path, "%s", path);
    le->lines = calloc(LOGSCAN_EVIDENCE_MAX, sizeof *le->lines);
    struct ev_walk w = { le, user, pop3, malloc(CTX_MAX), 0 };
    if (!le->lines || !w.ctx) {
        free(w.ctx);
        logscan_evidence_free(le);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct logscan ls;           /* the same walk as logscan, for its errors */
    logscan_init(&ls);
    scan_path(&ls, path, 0, true, evidence_file, &w);
    free(w.ctx);
    int rc = 0;
    for (size_t i = 0; i < ls.n_files && !rc; i++)
        if (ls.f[i].error) {
            snprintf(err, errlen, "%s", ls.f[i].error);
            rc = -1;
        }
    if (!rc && !w.files) {
        snprintf(err, errlen, "%s: no *.log file in it", path);
        rc = -1;
    }
    logscan_free(&ls);
    if (rc)
        logscan_evidence_free(le);
    return rc;
}

void logscan_evidence_free(struct logscan_evidence *le)
{
    for (size_t i = 0; i < le->n; i++)
        free(le->lines[i]);
    free(le->lines);
    le->lines = NULL;
    le->n = 0;
}
