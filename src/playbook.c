#include "playbook.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "datafiles.h"
#include "sanitize.h"

static const char *const kind_names[] = { "check", "action", "question", "retest" };
static const char *const check_names[] = { "", "connect", "starttls", "cert-name", "login",
                                           "backend", "tls-versions", "sni" };
static const char *const result_names[PBR_COUNT] = { "pass", "fail", "done", "failed", "skipped" };

const char *pb_kind_name(enum pb_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof *kind_names ? kind_names[k] : "?";
}

const char *pb_check_name(enum pb_check c)
{
    return (unsigned)c < sizeof check_names / sizeof *check_names ? check_names[c] : "?";
}

void playbook_set_init(struct playbook_set *s)
{
    memset(s, 0, sizeof *s);
}

static void step_free(struct pb_step *st)
{
    free(st->id);
    free(st->text);
    for (size_t i = 0; i < st->n_commands; i++)
        free(st->commands[i]);
    for (size_t i = 0; i < st->n_notes; i++)
        free(st->notes[i]);
    for (size_t i = 0; i < st->n_answers; i++)
        free(st->answers[i].word);
}

static void playbook_free(struct playbook *pb)
{
    if (!pb)
        return;
    free(pb->id); free(pb->title); free(pb->intro); free(pb->source); free(pb->families);
    for (size_t i = 0; i < pb->n_follows; i++)
        free(pb->follows[i]);
    for (size_t i = 0; i < pb->n_steps; i++)
        step_free(&pb->steps[i]);
    free(pb);
}

void playbook_set_free(struct playbook_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        playbook_free(s->p[i]);
    free(s->p);
    playbook_set_init(s);
}

/* ---- parsing ------------------------------------------------------------ */

/* A next-step name waiting for the whole playbook to be read. */
struct ref {
    struct playbook *pb;
    int *slot;
    char name[72];
    size_t line;
};

struct parser {
    const char *name;
    size_t line;
    char *err;
    size_t errlen;
    struct playbook *cur;       /* the playbook being read (owned by the pending list) */
    struct pb_step *step;       /* its step being read */
    struct ref *refs;
    size_t n_refs, cap_refs;
};

static int fail(struct parser *p, size_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    datafiles_fail(p->err, p->errlen, p->name, line, fmt, ap);
    va_end(ap);
    return -1;
}

static int check_placeholders(struct parser *p, const char *s)
{
    for (const char *o = strchr(s, '{'); o; o = strchr(o + 1, '{')) {
        size_t n = strspn(o + 1, "abcdefghijklmnopqrstuvwxyz_");
        if (!n || o[1 + n] != '}')
            continue;
        if (!diag_placeholder_known(o + 1, n))
            return fail(p, p->line, "unknown placeholder {%.*s}", (int)(n > 40 ? 40 : n), o + 1);
    }
    return 0;
}

static int join(struct parser *p, char **field, const char *text)
{
    size_t old = *field ? strlen(*field) : 0, add = strlen(text);
    if (old + add + 2 > PB_MAX_TEXT)
        return fail(p, p->line, "field longer than %d bytes", PB_MAX_TEXT);
    char *n = realloc(*field, old + add + 2);
    if (!n)
        return fail(p, p->line, "out of memory");
    if (old)
        n[old++] = ' ';
    memcpy(n + old, text, add + 1);
    *field = n;
    return 0;
}

static int add_item(struct parser *p, char **arr, size_t *n, size_t max, const char *what,
                    const char *v)
{
    if (*n >= max)
        return fail(p, p->line, "more than %zu %s lines", max, what);
    if (!(arr[*n] = strdup(v)))
        return fail(p, p->line, "out of memory");
    (*n)++;
    return 0;
}

static int add_ref(struct parser *p, int *slot, const char *name)
{
    if (strcmp(name, "end") != 0 && !datafiles_valid_id(name))
        return fail(p, p->line, "bad step id '%.64s'", name);
    if (p->n_refs == p->cap_refs) {
        size_t cap = p->cap_refs ? p->cap_refs * 2 : 64;
        struct ref *r = realloc(p->refs, cap * sizeof *r);
        if (!r)
            return fail(p, p->line, "out of memory");
        p->refs = r;
        p->cap_refs = cap;
    }
    struct ref *r = &p->refs[p->n_refs++];
    r->pb = p->cur;
    r->slot = slot;
    r->line = p->line;
    snprintf(r->name, sizeof r->name, "%s", name);
    return 0;
}

static int parse_protocols(struct parser *p, char *v)
{
    unsigned bits = 0;
    for (char *w; (w = datafiles_word(&v));) {
        if (!strcasecmp(w, "imap"))
            bits |= 1;
        else if (!strcasecmp(w, "pop3"))
            bits |= 2;
        else
            return fail(p, p->line, "unknown protocol '%.40s' (imap, pop3)", w);
    }
    if (!bits)
        return fail(p, p->line, "protocols: needs imap, pop3 or both");
    p->cur->protocols = bits;
    return 0;
}

static int playbook_field(struct parser *p, const char *key, char *v)
{
    struct playbook *pb = p->cur;
    if (!strcmp(key, "title")) {
        if (pb->title)
            return fail(p, p->line, "second title");
        return check_placeholders(p, v) ? -1 : join(p, &pb->title, v);
    }
    if (!strcmp(key, "intro"))
        return check_placeholders(p, v) ? -1 : join(p, &pb->intro, v);
    if (!strcmp(key, "source"))
        return join(p, &pb->source, v);
    if (!strcmp(key, "protocols"))
        return parse_protocols(p, v);
    if (!strcmp(key, "families")) {
        if (pb->families)
            return fail(p, p->line, "second families line");
        for (const char *c = v; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != ' ' && *c != '-' && *c != '_')
                return fail(p, p->line, "families: names of letters, digits, - and _");
        return join(p, &pb->families, v);
    }
    if (!strcmp(key, "follows")) {
        for (char *w; (w = datafiles_word(&v));) {
            if (!datafiles_valid_id(w))
                return fail(p, p->line, "bad rule id '%.64s'", w);
            if (add_item(p, pb->follows, &pb->n_follows, PB_MAX_FOLLOWS, "follows", w))
                return -1;
        }
        return 0;
    }
    return fail(p, p->line, "unknown playbook field '%.40s' (before its first step: title, "
                "follows, protocols, families, intro, source)", key);
}

static int result_of(const char *key)
{
    for (int i = 0; i < PBR_COUNT; i++)
        if (!strcmp(key, result_names[i]))
            return i;
    return -1;
}

static bool result_fits(enum pb_kind k, int r)
{
    if (k == PB_CHECK || k == PB_RETEST)
        return r == PBR_PASS || r == PBR_FAIL;
    return k == PB_ACTION && (r == PBR_DONE || r == PBR_FAILED || r == PBR_SKIPPED);
}

static int step_answer(struct parser *p, char *key, char *v)
{
    struct pb_step *st = p->step;
    char *w = key + 6;                      /* past "answer" */
    w = datafiles_trim(w);
    if (st->kind != PB_QUESTION)
        return fail(p, p->line, "'answer' belongs in a question step; step %s is a %s", st->id,
                    pb_kind_name(st->kind));
    if (!datafiles_valid_id(w))
        return fail(p, p->line, "answer needs one word: answer WORD: STEP");
    for (size_t i = 0; i < st->n_answers; i++)
        if (!strcasecmp(st->answers[i].word, w))
            return fail(p, p->line, "answer '%s' given twice", w);
    if (!strcasecmp(w, "done") || !strcasecmp(w, "failed") || !strcasecmp(w, "skip"))
        return fail(p, p->line, "'%s' is an action's answer, not a question's", w);
    if (st->n_answers >= PB_MAX_ANSWERS)
        return fail(p, p->line, "more than %d answers", PB_MAX_ANSWERS);
    char *next = datafiles_word(&v);
    if (!next || datafiles_word(&v))
        return fail(p, p->line, "answer %s: needs one next step (a step id or end)", w);
    struct pb_answer *a = &st->answers[st->n_answers];
    if (!(a->word = strdup(w)))
        return fail(p, p->line, "out of memory");
    st->n_answers++;
    return add_ref(p, &a->next, next);
}

static int step_field(struct parser *p, char *key, char *v)
{
    struct pb_step *st = p->step;
    if (!strncmp(key, "answer", 6) && (key[6] == ' ' || key[6] == '\t'))
        return step_answer(p, key, v);
    if (!strcmp(key, "text"))
        return check_placeholders(p, v) ? -1 : join(p, &st->text, v);
    if (!strcmp(key, "note"))
        return check_placeholders(p, v) ? -1
             : add_item(p, st->notes, &st->n_notes, PB_MAX_NOTES, "note", v);
    if (!strcmp(key, "command")) {
        if (st->kind != PB_ACTION)
            return fail(p, p->line, "'command' belongs in an action step; step %s is a %s",
                        st->id, pb_kind_name(st->kind));
        return check_placeholders(p, v) ? -1
             : add_item(p, st->commands, &st->n_commands, PB_MAX_COMMANDS, "command", v);
    }
    int r = result_of(key);
    if (r >= 0) {
        if (!result_fits(st->kind, r))
            return fail(p, p->line, "'%s' does not fit a %s step (%s)", key, pb_kind_name(st->kind),
                        st->kind == PB_ACTION ? "done, failed, skipped"
                        : st->kind == PB_QUESTION ? "answer WORD: STEP" : "pass, fail");
        char *next = datafiles_word(&v);
        if (!next || datafiles_word(&v))
            return fail(p, p->line, "%s: needs one next step (a step id or end)", key);
        return add_ref(p, &st->next[r], next);
    }
    if (!strcmp(key, "title") || !strcmp(key, "follows") || !strcmp(key, "intro") ||
        !strcmp(key, "protocols") || !strcmp(key, "source") || !strcmp(key, "families"))
        return fail(p, p->line, "'%s' belongs before the playbook's first step", key);
    return fail(p, p->line, "unknown step field '%.40s' (text, command, note, pass, fail, done, "
                "failed, skipped, answer WORD)", key);
}

static enum pb_check check_of(const char *s)
{
    for (size_t i = 1; i < sizeof check_names / sizeof *check_names; i++)
        if (!strcmp(s, check_names[i]))
            return (enum pb_check)i;
    return PBC_NONE;
}

static int finish_step(struct parser *p)
{
    struct pb_step *st = p->step;
    if (!st)
        return 0;
    if (!st->text)
        return fail(p, (size_t)st->line, "step %s has no text", st->id);
    if (st->kind == PB_QUESTION && st->n_answers < 2)
        return fail(p, (size_t)st->line, "question %s needs at least two answers", st->id);
    if (st->kind == PB_ACTION && !st->n_commands)
        return fail(p, (size_t)st->line, "action %s has no command", st->id);
    p->step = NULL;
    return 0;
}

static int start_step(struct parser *p, char *rest)
{
    if (!p->cur)
        return fail(p, p->line, "'step' before any 'playbook' line");
    if (finish_step(p))
        return -1;
    char *id = datafiles_word(&rest), *kind = datafiles_word(&rest), *check = datafiles_word(&rest);
    if (!id || !datafiles_valid_id(id) || !strcmp(id, "end"))
        return fail(p, p->line, "step needs an id (letters, digits, - _ .; not 'end')");
    if (!kind)
        return fail(p, p->line, "step %s needs a kind: check, action, question or retest", id);
    struct playbook *pb = p->cur;
    if (playbook_step_index(pb, id) >= 0)
        return fail(p, p->line, "step %s defined twice", id);
    if (pb->n_steps >= PB_MAX_STEPS)
        return fail(p, p->line, "more than %d steps", PB_MAX_STEPS);
    int k = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(kind, kind_names[i]))
            k = i;
    if (k < 0)
        return fail(p, p->line, "unknown step kind '%.40s' (check, action, question, retest)", kind);
    enum pb_check c = PBC_NONE;
    if (k == PB_CHECK) {
        if (!check || (c = check_of(check)) == PBC_NONE)
            return fail(p, p->line, "check %s needs one of: connect, starttls, cert-name, login, "
                        "backend, tls-versions, sni", id);
    } else if (check) {
        return fail(p, p->line, "unexpected '%.40s' after step kind %s", check, kind);
    }
    if (datafiles_word(&rest))
        return fail(p, p->line, "too many words on the step line");
    struct pb_step *st = &pb->steps[pb->n_steps];
    memset(st, 0, sizeof *st);
    if (!(st->id = strdup(id)))
        return fail(p, p->line, "out of memory");
    pb->n_steps++;
    st->kind = (enum pb_kind)k;
    st->check = c;
    st->line = (int)p->line;
    for (int r = 0; r < PBR_COUNT; r++)
        st->next[r] = -2;              /* unset: the default is decided at the end */
    p->step = st;
    return 0;
}

static int parse_line(struct parser *p, struct playbook **pending, size_t *n_pending, char *s)
{
    if (!strncmp(s, "playbook", 8) && (s[8] == ' ' || s[8] == '\t' || !s[8])) {
        if (finish_step(p))
            return -1;
        char *rest = s + 8, *id = datafiles_word(&rest);
        if (!id || !datafiles_valid_id(id) || datafiles_word(&rest))
            return fail(p, p->line, "playbook needs one id (letters, digits, - _ .)");
        for (size_t i = 0; i < *n_pending; i++)
            if (!strcmp(pending[i]->id, id))
                return fail(p, p->line, "playbook %s defined twice", id);
        if (*n_pending >= PB_MAX_PLAYBOOKS)
            return fail(p, p->line, "more than %d playbooks", PB_MAX_PLAYBOOKS);
        struct playbook *pb = calloc(1, sizeof *pb);
        if (!pb || !(pb->id = strdup(id))) {
            free(pb);
            return fail(p, p->line, "out of memory");
        }
        pb->protocols = 3;
        snprintf(pb->origin, sizeof pb->origin, "%s:%zu", p->name, p->line);
        pending[(*n_pending)++] = pb;
        p->cur = pb;
        return 0;
    }
    if (!strncmp(s, "step", 4) && (s[4] == ' ' || s[4] == '\t' || !s[4]))
        return start_step(p, s + 4);
    char *colon = strchr(s, ':');
    if (!colon)
        return fail(p, p->line, "expected 'playbook ID', 'step ID KIND' or 'field: value'");
    *colon = 0;
    char *key = datafiles_trim(s), *v = datafiles_trim(colon + 1);
    if (!p->cur)
        return fail(p, p->line, "'%s:' before any 'playbook' line", key);
    if (!*v)
        return fail(p, p->line, "%s: needs a value", key);
    return p->step ? step_field(p, key, v) : playbook_field(p, key, v);
}

/* Every named next step exists; the unset ones get their defaults. */
static int resolve(struct parser *p, struct playbook **pending, size_t n_pending)
{
    for (size_t i = 0; i < p->n_refs; i++) {
        struct ref *r = &p->refs[i];
        int idx = strcmp(r->name, "end") ? playbook_step_index(r->pb, r->name) : PB_END;
        if (idx == -1 && strcmp(r->name, "end"))
            return fail(p, r->line, "no step '%s' in playbook %s", r->name, r->pb->id);
        *r->slot = idx;
    }
    for (size_t k = 0; k < n_pending; k++) {
        struct playbook *pb = pending[k];
        if (!pb->title)
            return fail(p, (size_t)atoi(strrchr(pb->origin, ':') + 1), "playbook %s has no title",
                        pb->id);
        if (!pb->n_steps)
            return fail(p, (size_t)atoi(strrchr(pb->origin, ':') + 1), "playbook %s has no steps",
                        pb->id);
        for (size_t i = 0; i < pb->n_steps; i++) {
            struct pb_step *st = &pb->steps[i];
            int follow = i + 1 < pb->n_steps ? (int)i + 1 : PB_END;
            for (int r = 0; r < PBR_COUNT; r++)
                if (st->next[r] == -2)
                    st->next[r] = st->kind == PB_RETEST ? PB_END : follow;
        }
    }
    return 0;
}

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\r') || s[i] == 0x7f)
            return true;
    return false;
}

static int read_lines(struct parser *p, const char *text, size_t len, struct playbook **pending,
                      size_t *n_pending)
{
    char line[PB_MAX_LINE + 1];
    size_t pos = 0;
    while (pos < len) {
        p->line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (n > PB_MAX_LINE)
            return fail(p, p->line, "line longer than %d bytes", PB_MAX_LINE);
        if (memchr(text + pos, 0, n))
            return fail(p, p->line, "NUL byte in line");
        if (!sanitize_is_utf8(text + pos, n))
            return fail(p, p->line, "not valid UTF-8");
        if (has_control(text + pos, n))
            return fail(p, p->line, "control character in line");
        memcpy(line, text + pos, n);
        line[n] = 0;
        char *s = datafiles_trim(line);
        if (*s && *s != '#' && parse_line(p, pending, n_pending, s))
            return -1;
        pos += n + (nl ? 1 : 0);
    }
    return finish_step(p);
}

int playbook_parse(struct playbook_set *s, const char *name, const char *text, size_t len,
                   char *err, size_t errlen)
{
    struct parser p = { .name = name ? name : "?", .err = err, .errlen = errlen };
    if (errlen)
        err[0] = 0;
    if (len > PB_MAX_FILE)
        return fail(&p, 0, "file larger than %d bytes", PB_MAX_FILE);
    struct playbook **pending = calloc(PB_MAX_PLAYBOOKS, sizeof *pending);
    if (!pending)
        return fail(&p, 0, "out of memory");
    size_t n_pending = 0;
    int rc = read_lines(&p, text, len, pending, &n_pending);
    if (rc == 0)
        rc = resolve(&p, pending, n_pending);
    for (size_t i = 0; rc == 0 && i < n_pending; i++)
        if (playbook_find(s, pending[i]->id))
            rc = fail(&p, (size_t)atoi(strrchr(pending[i]->origin, ':') + 1),
                      "playbook %s is already defined (%s)", pending[i]->id,
                      playbook_find(s, pending[i]->id)->origin);
    if (rc == 0 && n_pending) {
        struct playbook **grown = realloc(s->p, (s->n + n_pending) * sizeof *grown);
        if (!grown)
            rc = fail(&p, 0, "out of memory");
        else {
            s->p = grown;
            memcpy(s->p + s->n, pending, n_pending * sizeof *pending);
            s->n += n_pending;
            s->cap = s->n;
            n_pending = 0;
        }
    }
    for (size_t i = 0; i < n_pending; i++)
        playbook_free(pending[i]);
    free(pending);
    free(p.refs);
    return rc;
}

static int parse_cb(void *set, const char *name, const char *text, size_t len, char *err,
                    size_t errlen)
{
    return playbook_parse(set, name, text, len, err, errlen);
}

int playbook_load_file(struct playbook_set *s, const char *path, char *err, size_t errlen)
{
    return datafiles_load_file(path, PB_MAX_FILE, parse_cb, s, err, errlen);
}

int playbook_load_builtin(struct playbook_set *s, char *err, size_t errlen)
{
    return datafiles_load_builtin(playbook_builtin_files, playbook_builtin_count, parse_cb, s,
                                  err, errlen);
}

void playbook_load_dir(struct playbook_set *s, const char *dir, char *warn, size_t warnlen)
{
    datafiles_load_dir(dir, ".playbook", PB_MAX_FILE, parse_cb, s, warn, warnlen);
}

int playbook_load_default(struct playbook_set *s, char *warn, size_t warnlen)
{
    return datafiles_load_default(playbook_builtin_files, playbook_builtin_count, "playbooks.d",
                                  ".playbook", PB_MAX_FILE, parse_cb, s, warn, warnlen);
}

const struct playbook *playbook_find(const struct playbook_set *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->p[i]->id, id))
            return s->p[i];
    return NULL;
}

bool playbook_fits_family(const struct playbook *pb, const char *family)
{
    if (!pb->families || !family)
        return true;
    for (const char *p = pb->families; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n && ((n == 3 && !strncmp(p, "any", 3)) ||
                  (n == strlen(family) && !strncasecmp(p, family, n))))
            return true;
        p += n;
    }
    return false;
}

const struct playbook *playbook_for_rule(const struct playbook_set *s, const char *rule_id,
                                         bool pop3, const char *family)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!(s->p[i]->protocols & (pop3 ? 2u : 1u)) || !playbook_fits_family(s->p[i], family))
            continue;
        for (size_t k = 0; k < s->p[i]->n_follows; k++)
            if (!strcmp(s->p[i]->follows[k], rule_id))
                return s->p[i];
    }
    return NULL;
}

int playbook_step_index(const struct playbook *pb, const char *id)
{
    for (size_t i = 0; i < pb->n_steps; i++)
        if (!strcmp(pb->steps[i].id, id))
            return (int)i;
    return -1;
}
