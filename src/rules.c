#include "rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "datafiles.h"
#include "sanitize.h"

static const char *const fact_names[RF_COUNT] = {
    "failure", "step", "reply", "line", "greeting", "code", "caps-before", "caps-after",
    "caps", "family", "family-version", "cert-problem", "cert-covers-server", "cert-seen",
    "secure", "user", "host", "tls-version", "message", "log", "port", "elapsed-ms",
    "sni-cert-differs", "sni-default-covers",
};

const char *rule_fact_name(enum rule_fact f)
{
    return (unsigned)f < RF_COUNT ? fact_names[f] : "?";
}

const char *rule_op_name(enum rule_op o)
{
    static const char *const n[] = { "is", "not", "matches", "not-matches", "has", "lacks",
                                     "over", "under" };
    return (unsigned)o < sizeof n / sizeof *n ? n[o] : "?";
}

const char *rule_severity_name(enum rule_severity s)
{
    return s == RS_CRITICAL ? "critical" : s == RS_WARNING ? "warning" : "info";
}

void ruleset_init(struct ruleset *rs)
{
    memset(rs, 0, sizeof *rs);
}

static void rule_free(struct rule *r)
{
    free(r->id); free(r->title); free(r->explanation); free(r->cause);
    free(r->verify); free(r->source); free(r->families);
    for (size_t i = 0; i < r->n_fix; i++)
        free(r->fix[i]);
    for (size_t i = 0; i < r->n_cond; i++) {
        free(r->cond[i].value);
        if (r->cond[i].has_re)
            regfree(&r->cond[i].re);
    }
    memset(r, 0, sizeof *r);
}

void ruleset_free(struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        rule_free(&rs->r[i]);
    free(rs->r);
    ruleset_init(rs);
}

/* ---- parsing ------------------------------------------------------------ */

struct parser {
    const char *name;
    size_t line;
    char *err;
    size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    datafiles_fail(p->err, p->errlen, p->name, p->line, fmt, ap);
    va_end(ap);
    return -1;
}

/* Append text to a joined field, with one space between lines. */
static int join(struct parser *p, char **field, const char *text)
{
    size_t old = *field ? strlen(*field) : 0, add = strlen(text);
    if (old + add + 2 > RULES_MAX_TEXT)
        return fail(p, "field longer than %d bytes", RULES_MAX_TEXT);
    char *n = realloc(*field, old + add + 2);
    if (!n)
        return fail(p, "out of memory");
    if (old)
        n[old++] = ' ';
    memcpy(n + old, text, add + 1);
    *field = n;
    return 0;
}

static const char *const placeholders[] = {
    "host", "user", "server_fqdn", "server", "cert_cn", "service", "proto", "port", "url",
    "sni_name", "sni_cert", "default_cert",
};

/* "{word}" of lower-case letters and '_' is a placeholder and must be known;
 * other braces (Dovecot's "protocol imap {}") are plain text. */
static int check_placeholders(struct parser *p, const char *s)
{
    for (const char *o = strchr(s, '{'); o; o = strchr(o + 1, '{')) {
        size_t n = strspn(o + 1, "abcdefghijklmnopqrstuvwxyz_"), i;
        if (!n || o[1 + n] != '}')
            continue;
        for (i = 0; i < sizeof placeholders / sizeof *placeholders; i++)
            if (strlen(placeholders[i]) == n && !strncmp(o + 1, placeholders[i], n))
                break;
        if (i == sizeof placeholders / sizeof *placeholders)
            return fail(p, "unknown placeholder {%.*s}", (int)(n > 40 ? 40 : n), o + 1);
    }
    return 0;
}

static bool number_ok(const char *v)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    return !*end && !errno && n >= 0 && n <= 86400000 && end != v;
}

/* glibc's regcomp builds automata whose size multiplies with stacked and
 * counted repetitions ("a+++++", "(a{200}){200}"): a rules file could make
 * the tool eat gigabytes. Refuse what no sane rule needs: long patterns,
 * a repetition of a repetition (undefined in POSIX ERE anyway), counts over
 * RULES_MAX_REPEAT and too many repetitions in all. NULL when fine. */
static const char *regex_too_complex(const char *re)
{
    if (strlen(re) > RULES_MAX_REGEX)
        return "regular expression longer than 512 bytes";
    size_t repeats = 0;
    bool after_repeat = false, in_bracket = false;
    for (const char *p = re; *p; p++) {
        if (in_bracket) {
            in_bracket = !(*p == ']' && p[-1] != '[' && !(p[-1] == '^' && p[-2] == '['));
            continue;
        }
        if (*p == '\\' && p[1]) {
            p++;
            after_repeat = false;
            continue;
        }
        bool repeat = *p == '*' || *p == '+' || *p == '?' || *p == '{';
        if (repeat && after_repeat)
            return "a repetition of a repetition (such as a++) in a regular expression";
        if (*p == '{') {
            char *end;
            unsigned long lo = strtoul(p + 1, &end, 10), hi = lo;
            if (*end == ',')
                hi = end[1] == '}' ? 0 : strtoul(end + 1, &end, 10);
            if (lo > RULES_MAX_REPEAT || hi > RULES_MAX_REPEAT)
                return "a repetition count over 32 in a regular expression";
            p = strchr(p, '}') ? strchr(p, '}') : p;
        }
        if (repeat && ++repeats > RULES_MAX_REPEATS)
            return "more than 32 repetitions in a regular expression";
        in_bracket = *p == '[';
        after_repeat = repeat;
    }
    return NULL;
}

static int parse_fact(const char *w, enum rule_fact *f)
{
    for (int i = 0; i < RF_COUNT; i++)
        if (!strcmp(w, fact_names[i])) {
            *f = (enum rule_fact)i;
            return 0;
        }
    return -1;
}

static int parse_op(const char *w, enum rule_op *o)
{
    for (int i = RO_IS; i <= RO_UNDER; i++)
        if (!strcmp(w, rule_op_name((enum rule_op)i))) {
            *o = (enum rule_op)i;
            return 0;
        }
    return -1;
}

/* Which operators make sense for which fact. */
static bool op_allowed(enum rule_fact f, enum rule_op o)
{
    switch (f) {
    case RF_FAILURE: case RF_STEP: case RF_CODE: case RF_FAMILY:
        return o == RO_IS || o == RO_NOT;
    case RF_REPLY: case RF_LINE: case RF_GREETING: case RF_FAMILY_VERSION: case RF_MESSAGE:
    case RF_LOG:
        return o == RO_MATCHES || o == RO_NOT_MATCHES;
    case RF_CAPS_BEFORE: case RF_CAPS_AFTER: case RF_CAPS: case RF_CERT_PROBLEM:
        return o == RO_HAS || o == RO_LACKS;
    case RF_CERT_COVERS_SERVER: case RF_CERT_SEEN: case RF_SECURE: case RF_SNI_CERT_DIFFERS:
    case RF_SNI_DEFAULT_COVERS:
        return o == RO_IS;
    case RF_USER: case RF_HOST: case RF_TLS_VERSION:
        return o == RO_IS || o == RO_NOT || o == RO_MATCHES || o == RO_NOT_MATCHES;
    case RF_PORT:
        return o == RO_IS || o == RO_NOT;
    case RF_ELAPSED_MS:
        return o == RO_OVER || o == RO_UNDER;
    default:
        return false;
    }
}

static int parse_cond(struct parser *p, struct rule *r, enum rule_kind kind, char *rest)
{
    if (r->n_cond >= RULES_MAX_COND)
        return fail(p, "more than %d conditions in rule %s", RULES_MAX_COND, r->id);
    struct rule_cond c = { .kind = kind, .weight = 1 };
    if (kind == RK_FOR || kind == RK_AGAINST) {
        char *w = datafiles_word(&rest), *end;
        long v = w ? strtol(w, &end, 10) : 0;
        if (!w || *end || v < 1 || v > 100)
            return fail(p, "'%s' needs a weight from 1 to 100", kind == RK_FOR ? "for" : "against");
        c.weight = (int)v;
    }
    char *fw = datafiles_word(&rest), *ow = fw ? datafiles_word(&rest) : NULL;
    if (!fw || parse_fact(fw, &c.fact))
        return fail(p, "unknown fact '%.40s'", fw ? fw : "");
    if (!ow || parse_op(ow, &c.op))
        return fail(p, "unknown operator '%.40s' (is, not, matches, not-matches, has, lacks, "
                    "over, under)",
                    ow ? ow : "");
    if (!op_allowed(c.fact, c.op))
        return fail(p, "operator '%s' does not apply to '%s'", ow, fw);
    char *value = datafiles_trim(rest);
    if (!*value)
        return fail(p, "condition without a value");
    bool tri = c.fact == RF_CERT_COVERS_SERVER || c.fact == RF_SNI_CERT_DIFFERS ||
               c.fact == RF_SNI_DEFAULT_COVERS;
    if ((tri && strcmp(value, "yes") && strcmp(value, "no") && strcmp(value, "unknown")) ||
        ((c.fact == RF_CERT_SEEN || c.fact == RF_SECURE) && strcmp(value, "yes") &&
         strcmp(value, "no")))
        return fail(p, "'%s' takes yes or no%s", fw,
                    tri ? " or unknown" : "");
    if ((c.fact == RF_PORT || c.fact == RF_ELAPSED_MS) && !number_ok(value))
        return fail(p, "'%s' takes a number", fw);
    if (c.op == RO_MATCHES || c.op == RO_NOT_MATCHES) {
        const char *why = regex_too_complex(value);
        if (why)
            return fail(p, "%s", why);
        int rc = regcomp(&c.re, value, REG_EXTENDED | REG_ICASE | REG_NEWLINE | REG_NOSUB);
        if (rc) {
            char msg[128];
            regerror(rc, &c.re, msg, sizeof msg);
            return fail(p, "bad regular expression: %s", msg);
        }
        c.has_re = true;
    }
    if (!(c.value = strdup(value))) {
        if (c.has_re)
            regfree(&c.re);
        return fail(p, "out of memory");
    }
    r->cond[r->n_cond++] = c;
    return 0;
}

static int parse_protocols(struct parser *p, struct rule *r, char *v)
{
    r->protocols = 0;
    for (char *w; (w = datafiles_word(&v));) {
        if (!strcmp(w, "imap"))
            r->protocols |= 1;
        else if (!strcmp(w, "pop3"))
            r->protocols |= 2;
        else
            return fail(p, "unknown protocol '%.40s' (imap, pop3)", w);
    }
    return r->protocols ? 0 : fail(p, "protocols: names none");
}

static int parse_field(struct parser *p, struct rule *r, const char *key, char *v)
{
    if (!*v)
        return fail(p, "%s: is empty", key);
    if (!strcmp(key, "title"))
        return r->title ? fail(p, "second title") : join(p, &r->title, v);
    if (!strcmp(key, "protocols"))
        return parse_protocols(p, r, v);
    if (!strcmp(key, "families")) {
        free(r->families);
        return (r->families = strdup(v)) ? 0 : fail(p, "out of memory");
    }
    if (!strcmp(key, "severity")) {
        if (!strcmp(v, "critical")) r->severity = RS_CRITICAL;
        else if (!strcmp(v, "warning")) r->severity = RS_WARNING;
        else if (!strcmp(v, "info")) r->severity = RS_INFO;
        else return fail(p, "severity must be critical, warning or info");
        return 0;
    }
    if (!strcmp(key, "explanation"))
        return check_placeholders(p, v) ? -1 : join(p, &r->explanation, v);
    if (!strcmp(key, "cause"))
        return check_placeholders(p, v) ? -1 : join(p, &r->cause, v);
    if (!strcmp(key, "source"))
        return join(p, &r->source, v);
    if (!strcmp(key, "verify"))
        return check_placeholders(p, v) ? -1 : join(p, &r->verify, v);
    if (!strcmp(key, "fix")) {
        if (r->n_fix >= RULES_MAX_FIX)
            return fail(p, "more than %d fix steps", RULES_MAX_FIX);
        if (check_placeholders(p, v))
            return -1;
        return (r->fix[r->n_fix++] = strdup(v)) ? 0 : fail(p, "out of memory");
    }
    return fail(p, "unknown field '%.40s'", key);
}

static bool id_taken(const struct ruleset *rs, const struct rule *pending, size_t n_pending,
                     const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (!strcmp(rs->r[i].id, id))
            return true;
    for (size_t i = 0; i < n_pending; i++)
        if (!strcmp(pending[i].id, id))
            return true;
    return false;
}

static int finish_rule(struct parser *p, struct rule *r)
{
    if (!r->title)
        return fail(p, "rule %s has no title", r->id);
    if (!r->explanation)
        return fail(p, "rule %s has no explanation", r->id);
    if (!r->source)
        return fail(p, "rule %s has no source", r->id);
    if (!r->n_fix)
        return fail(p, "rule %s has no fix", r->id);
    bool req = false;
    for (size_t i = 0; i < r->n_cond; i++)
        req |= r->cond[i].kind == RK_REQUIRE;
    if (!req)
        return fail(p, "rule %s has no 'require' condition", r->id);
    if (!r->families && !(r->families = strdup("any")))
        return fail(p, "out of memory");
    return 0;
}

/* One line inside or outside a rule. cur is NULL outside. */
static int parse_line(struct parser *p, const struct ruleset *rs, struct rule *pending,
                      size_t *n_pending, struct rule **cur, char *s)
{
    char *rest = s, *w = datafiles_word(&rest);
    if (!*cur) {
        if (strcmp(w, "rule"))
            return fail(p, "expected 'rule ID', found '%.40s'", w);
        char *id = datafiles_word(&rest);
        if (!id || !datafiles_valid_id(id) || *datafiles_trim(rest))
            return fail(p, "'rule' needs one id of letters, digits, '-', '_', '.'");
        if (*n_pending >= RULES_MAX_RULES || rs->n + *n_pending >= RULES_MAX_RULES)
            return fail(p, "more than %d rules", RULES_MAX_RULES);
        if (id_taken(rs, pending, *n_pending, id))
            return fail(p, "rule id %s is already defined", id);
        *cur = &pending[*n_pending];
        memset(*cur, 0, sizeof **cur);
        (*cur)->protocols = 3;
        (*cur)->severity = RS_WARNING;
        snprintf((*cur)->origin, sizeof (*cur)->origin, "%s:%zu", p->name, p->line);
        if (!((*cur)->id = strdup(id)))
            return fail(p, "out of memory");
        return 0;
    }
    if (!strcmp(w, "end")) {
        if (*datafiles_trim(rest))
            return fail(p, "text after 'end'");
        if (finish_rule(p, *cur))
            return -1;
        (*n_pending)++;
        *cur = NULL;
        return 0;
    }
    if (!strcmp(w, "rule"))
        return fail(p, "rule %s is not closed with 'end'", (*cur)->id);
    if (!strcmp(w, "require"))
        return parse_cond(p, *cur, RK_REQUIRE, rest);
    if (!strcmp(w, "for"))
        return parse_cond(p, *cur, RK_FOR, rest);
    if (!strcmp(w, "against"))
        return parse_cond(p, *cur, RK_AGAINST, rest);
    if (!strcmp(w, "decisive"))
        return parse_cond(p, *cur, RK_DECISIVE, rest);
    size_t klen = strlen(w);
    if (klen < 2 || w[klen - 1] != ':') {
        /* "key:value" written without a space after the colon */
        char *colon = strchr(w, ':');
        if (!colon)
            return fail(p, "expected 'key: value', a condition or 'end', found '%.40s'", w);
        *colon = 0;
        char joined[RULES_MAX_LINE];
        snprintf(joined, sizeof joined, "%s %s", colon + 1, rest);
        return parse_field(p, *cur, w, datafiles_trim(joined));
    }
    w[klen - 1] = 0;
    return parse_field(p, *cur, w, datafiles_trim(rest));
}

/* Rule text reaches terminals: no control characters but TAB (and CR of CRLF). */
static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\r') || s[i] == 0x7f)
            return true;
    return false;
}

int rules_parse(struct ruleset *rs, const char *name, const char *text, size_t len,
                char *err, size_t errlen)
{
    struct parser p = { .name = name ? name : "?", .err = err, .errlen = errlen };
    if (errlen)
        err[0] = 0;
    if (len > RULES_MAX_FILE)
        return fail(&p, "file larger than %d bytes", RULES_MAX_FILE);
    struct rule *pending = calloc(RULES_MAX_RULES, sizeof *pending);
    if (!pending)
        return fail(&p, "out of memory");
    size_t n_pending = 0, pos = 0;
    struct rule *cur = NULL;
    int rc = 0;
    char line[RULES_MAX_LINE + 1];
    while (pos < len && rc == 0) {
        p.line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (n > RULES_MAX_LINE)
            rc = fail(&p, "line longer than %d bytes", RULES_MAX_LINE);
        else if (memchr(text + pos, 0, n))
            rc = fail(&p, "NUL byte in line");
        else if (!sanitize_is_utf8(text + pos, n))
            rc = fail(&p, "not valid UTF-8");
        else if (has_control(text + pos, n))
            rc = fail(&p, "control character in line");
        else {
            memcpy(line, text + pos, n);
            line[n] = 0;
            char *s = datafiles_trim(line);
            if (*s && *s != '#')
                rc = parse_line(&p, rs, pending, &n_pending, &cur, s);
        }
        pos += n + (nl ? 1 : 0);
    }
    if (rc == 0 && cur)
        rc = fail(&p, "rule %s is not closed with 'end'", cur->id);
    if (cur)
        rule_free(cur);
    if (rc == 0 && n_pending) {
        struct rule *grown = realloc(rs->r, (rs->n + n_pending) * sizeof *grown);
        if (!grown)
            rc = fail(&p, "out of memory");
        else {
            rs->r = grown;
            memcpy(rs->r + rs->n, pending, n_pending * sizeof *pending);
            rs->n += n_pending;
            rs->cap = rs->n;
            n_pending = 0;
        }
    }
    for (size_t i = 0; i < n_pending; i++)
        rule_free(&pending[i]);
    free(pending);
    return rc;
}

static int parse_cb(void *set, const char *name, const char *text, size_t len, char *err,
                    size_t errlen)
{
    return rules_parse(set, name, text, len, err, errlen);
}

int rules_load_file(struct ruleset *rs, const char *path, char *err, size_t errlen)
{
    return datafiles_load_file(path, RULES_MAX_FILE, parse_cb, rs, err, errlen);
}

int rules_load_builtin(struct ruleset *rs, char *err, size_t errlen)
{
    return datafiles_load_builtin(rules_builtin_files, rules_builtin_count, parse_cb, rs, err,
                                  errlen);
}

void rules_load_dir(struct ruleset *rs, const char *dir, char *warn, size_t warnlen)
{
    datafiles_load_dir(dir, ".rules", RULES_MAX_FILE, parse_cb, rs, warn, warnlen);
}

int rules_load_default(struct ruleset *rs, char *warn, size_t warnlen)
{
    return datafiles_load_default(rules_builtin_files, rules_builtin_count, "rules.d", ".rules",
                                  RULES_MAX_FILE, parse_cb, rs, warn, warnlen);
}
