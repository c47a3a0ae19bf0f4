#include "trjson.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jscan.h"
#include "sanitize.h"
#include "version.h"

/* ---- names ------------------------------------------------------------ */

static const char *const op_names[OP_COUNT] = {
    "none", "connect", "tls", "greeting", "capability", "starttls", "login", "select", "noop",
    "id", "logout", "raw" };

const char *trjson_op_name(enum session_op op, enum session_proto proto)
{
    if (op == OP_SELECT && proto == SESSION_POP3)
        return "stat";
    return (unsigned)op < OP_COUNT ? op_names[op] : "none";
}

static const char *const state_names[] = { "idle", "connecting", "not-authenticated",
                                           "authenticated", "selected", "logging-out", "closed" };
#define N_STATES (sizeof state_names / sizeof *state_names)

/* TLS_VF_* bits, in bit order. */
static const char *const vf_names[] = { "expired", "not-yet-valid", "self-signed-leaf",
    "untrusted-root", "issuer-unknown", "name-mismatch", "purpose", "key-too-small",
    "md-too-weak", "bad-signature", "other" };
#define N_VF (sizeof vf_names / sizeof *vf_names)

static const char *const phase_keys[CAPS_PHASES] = { "before_tls", "after_tls", "after_login" };

/* ---- base64 (RFC 4648, padded; the decoder refuses anything else) ------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const uint8_t *in, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    *o = 0;
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Canonical base64 only: length a multiple of 4, padding at the end, no
 * stray bits. A NUL-terminated copy goes to *out. Returns 0 or -1. */
static int b64_decode(const char *in, size_t n, uint8_t **out, size_t *outlen)
{
    if (n % 4)
        return -1;
    size_t pad = n && in[n - 1] == '=' ? (n > 1 && in[n - 2] == '=' ? 2 : 1) : 0;
    uint8_t *d = malloc(n / 4 * 3 + 1);
    if (!d)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = last && k >= 4 - (int)pad ? 0 : b64_value(in[i + k]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
            goto bad;
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if (last && ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff))))
            goto bad;   /* bits under the padding must be zero */
        d[o++] = (uint8_t)(w >> 16);
        if (!last || pad < 2)
            d[o++] = (uint8_t)(w >> 8);
        if (!last || pad < 1)
            d[o++] = (uint8_t)w;
    }
    d[o] = 0;
    *out = d;
    *outlen = o;
    return 0;
bad:
    free(d);
    return -1;
}

/* ---- writer ----------------------------------------------------------- */

struct wr {
    trjson_scrub_fn scrub;      /* NULL: everything as it is */
    const void *arg;
};

/* The scrubbed copy of len bytes (or a plain copy): caller frees; NULL only
 * when memory ran out, and then nothing of them is written. */
static char *scrubbed(const struct wr *w, const void *data, size_t len, size_t *out_len)
{
    if (w && w->scrub)
        return w->scrub(w->arg, data, len, out_len);
    char *c = malloc(len + 1);
    if (c) {
        if (len)
            memcpy(c, data, len);
        c[len] = 0;
        *out_len = len;
    }
    return c;
}

/* Mailscope's own words and certificate text: exact when UTF-8, else the
 * sanitised form, so a JSON string is never invalid. */
static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    size_t n = strlen(s);
    if (sanitize_is_utf8(s, n))
        return json_stringn(s, n);
    char *clean = sanitize_text(s, n, 0);
    json_t *j = json_string(clean ? clean : "");
    free(clean);
    return j;
}

/* A string of the transcript's, through the scrubber. */
static json_t *wstr(const struct wr *w, const char *s)
{
    if (!s)
        return json_null();
    size_t n;
    char *c = scrubbed(w, s, strlen(s), &n);
    json_t *j = jstr(c ? c : "");
    free(c);
    return j;
}

/* Wire bytes, exactly: "text" when valid UTF-8 without NUL, else "data_b64". */
static void put_bytes(const struct wr *w, json_t *o, const uint8_t *in, size_t inlen)
{
    size_t len = 0;
    char *data = scrubbed(w, in, inlen, &len);
    if (!data) {
        json_object_set_new(o, "text", json_string(""));
        return;
    }
    if (sanitize_is_utf8(data, len) && !memchr(data, 0, len)) {
        json_object_set_new(o, "text", json_stringn(data, len));
    } else {
        char *b = b64_encode((const uint8_t *)data, len);
        json_object_set_new(o, "data_b64", b ? json_string(b) : json_null());
        free(b);
    }
    free(data);
}

static json_t *jevent(const struct wr *w, const struct transcript *t, const struct tr_event *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "t", json_real((double)e->t_us / 1e6));
    json_object_set_new(o, "kind", json_string(transcript_kind_name(e->kind)));
    json_object_set_new(o, "op", json_string(trjson_op_name(e->op, t->proto)));
    json_object_set_new(o, "secure", json_boolean(e->secure));
    json_object_set_new(o, "ok", json_boolean(e->ok));
    if (e->data)
        put_bytes(w, o, e->data, e->len);
    if (e->kind == TR_OP_END) {
        json_object_set_new(o, "status", wstr(w, e->status));
        json_object_set_new(o, "elapsed_ms", json_real((double)e->elapsed_us / 1000.0));
    }
    if (e->fail)
        json_object_set_new(o, "failure_class", json_string(failure_class_name(e->fail)));
    if (e->kind == TR_STATE && (unsigned)e->state < N_STATES)
        json_object_set_new(o, "state", json_string(state_names[e->state]));
    if (e->message)
        json_object_set_new(o, "message", wstr(w, e->message));
    if (e->kind == TR_WALK) {
        json_object_set_new(o, "ref", wstr(w, e->ref));
        json_object_set_new(o, "outcome", wstr(w, e->status));
    }
    if (e->kind == TR_LITERAL) {
        json_object_set_new(o, "bytes", json_integer((json_int_t)e->literal_seen));
        json_object_set_new(o, "literal_total", json_integer((json_int_t)e->literal_total));
    }
    return o;
}

static json_t *jevents(const struct wr *w, const struct transcript *t)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < t->n; i++)
        json_array_append_new(a, jevent(w, t, &t->ev[i]));
    return a;
}

static json_t *jflags(unsigned flags)
{
    json_t *a = json_array();
    for (size_t i = 0; i < N_VF; i++)
        if (flags & (1u << i))
            json_array_append_new(a, json_string(vf_names[i]));
    return a;
}

static json_t *jtls_facts(const struct tls_info *tls)
{
    json_t *o = json_object();
    json_object_set_new(o, "version", jstr(tls->version));
    json_object_set_new(o, "cipher", jstr(tls->cipher));
    json_object_set_new(o, "group", jstr(tls->group));
    json_object_set_new(o, "sni", jstr(tls->sni));
    json_object_set_new(o, "name_checked", jstr(tls->name_checked));
    json_object_set_new(o, "verified", json_boolean(tls->verified));
    json_object_set_new(o, "verify_code", json_integer(tls->verify_code));
    json_object_set_new(o, "verify_error", jstr(tls->verify_error));
    json_object_set_new(o, "verify_error_depth", json_integer(tls->verify_error_depth));
    json_object_set_new(o, "hostname_match", json_boolean(tls->hostname_match));
    json_object_set_new(o, "verified_chain_length", json_integer((json_int_t)tls->n_verified));
    json_object_set_new(o, "verified_root", jstr(tls->verified_root));
    json_object_set_new(o, "chain_truncated", json_boolean(tls->chain_truncated));
    json_object_set_new(o, "alert", jstr(tls->alert));
    json_object_set_new(o, "alert_code", json_integer(tls->alert_code));
    char *fb = b64_encode(tls->first_bytes, tls->n_first < sizeof tls->first_bytes
                                                ? tls->n_first : sizeof tls->first_bytes);
    json_object_set_new(o, "first_bytes_b64", fb ? json_string(fb) : json_null());
    free(fb);
    size_t n_err = 0;
    for (size_t i = 0; i < TLS_MAX_CHAIN; i++)
        if (tls->depth_error[i])
            n_err = i + 1;
    json_t *errs = json_array();
    for (size_t i = 0; i < n_err; i++)
        json_array_append_new(errs, json_integer(tls->depth_error[i]));
    json_object_set_new(o, "depth_errors", errs);
    json_t *chain = json_array(), *path = json_array();
    for (size_t i = 0; i < tls->n_chain && i < TLS_MAX_CHAIN; i++)
        json_array_append_new(chain, json_pack("{s:o, s:b}", "pem", jstr(tls->chain[i].pem),
                                               "in_path", tls->chain_in_path[i]));
    for (size_t i = 0; i < tls->n_path && i < TLS_MAX_CHAIN; i++)
        json_array_append_new(path, json_pack("{s:o, s:s, s:b, s:o}", "pem", jstr(tls->path[i].pem),
            "source", tls->path_source[i] == TLS_SRC_STORE ? "trust-store" : "sent-by-server",
            "sent_by_server", tls->path_sent[i], "flags", jflags(tls->path_flags[i])));
    json_object_set_new(o, "chain", chain);
    json_object_set_new(o, "path", path);
    return o;
}

static json_t *jntlm_facts(const struct wr *w, const struct ntlm_challenge_info *n)
{
    json_t *o = json_object();
    json_object_set_new(o, "target_name", wstr(w, n->target_name));
    json_object_set_new(o, "netbios_computer", wstr(w, n->netbios_computer));
    json_object_set_new(o, "netbios_domain", wstr(w, n->netbios_domain));
    json_object_set_new(o, "dns_computer", wstr(w, n->dns_computer));
    json_object_set_new(o, "dns_domain", wstr(w, n->dns_domain));
    json_object_set_new(o, "dns_tree", wstr(w, n->dns_tree));
    json_object_set_new(o, "os_version", wstr(w, n->os_version));
    json_object_set_new(o, "flags", json_integer(n->flags));
    return o;
}

static json_t *jcapsets(const struct wr *w, const struct capset *const caps[CAPS_PHASES])
{
    json_t *o = json_object();
    for (int p = 0; p < CAPS_PHASES; p++) {
        const struct capset *c = caps ? caps[p] : NULL;
        json_t *a = c && c->known ? json_array() : json_null();
        for (size_t i = 0; c && c->known && i < c->n; i++)
            json_array_append_new(a, wstr(w, c->item[i]));
        json_object_set_new(o, phase_keys[p], a);
    }
    return o;
}

static json_t *jstarted(struct timespec ts)
{
    struct tm tm;
    time_t secs = ts.tv_sec;
    char buf[40], out[64];
    if (!gmtime_r(&secs, &tm))
        return json_null();
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, sizeof out, "%s.%06ldZ", buf, ts.tv_nsec / 1000);
    return json_string(out);
}

json_t *trjson_document(json_t *report, const struct transcript *t,
                        const struct capset *const caps[CAPS_PHASES], trjson_scrub_fn scrub,
                        const void *arg)
{
    struct wr w = { scrub, arg };
    json_t *d = json_object();
    if (!d)
        return NULL;
    json_object_set_new(d, "schema", json_string(TRJSON_SCHEMA));
    json_object_set_new(d, "tool", json_string("mailscope " MAILSCOPE_VERSION));
    json_object_set_new(d, "started", jstarted(t->wall0));
    json_object_set_new(d, "protocol", json_string(t->proto == SESSION_POP3 ? "pop3" : "imap"));
    json_object_set_new(d, "capabilities", jcapsets(&w, caps));
    json_object_set_new(d, "tls", t->has_tls ? jtls_facts(&t->tls) : json_null());
    json_object_set_new(d, "ntlm", t->has_ntlm ? jntlm_facts(&w, &t->ntlm) : json_null());
    json_object_set(d, "report", report ? report : json_null());
    json_object_set_new(d, "events", jevents(&w, t));
    return d;
}

int trjson_dump(FILE *f, const json_t *doc)
{
    int rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
    fputc('\n', f);
    return rc;
}

/* ---- loader ----------------------------------------------------------- */

struct ld {
    char *err;
    size_t errlen;
    int version;
};

static int __attribute__((format(printf, 3, 4))) fail(struct ld *l, const char *where,
                                                       const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(l->err, l->errlen, "%s: %s", where, msg);
    return -1;
}

/* A file's string, quoted for a message: short and sanitised. */
static void quote(const char *s, char *buf, size_t cap)
{
    char *clean = sanitize_text(s, strlen(s), 40);
    snprintf(buf, cap, "\"%s\"", clean ? clean : "");
    free(clean);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "true/false";
    default: return "null";
    }
}

/* "events[3]" + "kind" -> "events[3].kind" */
static const char *path_of(char *buf, size_t cap, const char *where, const char *key)
{
    snprintf(buf, cap, "%s%s%s", where, *where ? "." : "", key);
    return buf;
}

/* The member key of o: NULL when absent (or null and nullable). */
static int member(struct ld *l, json_t *o, const char *where, const char *key, bool required,
                  json_t **out)
{
    *out = json_object_get(o, key);
    char p[160];
    if (!*out && required)
        return fail(l, path_of(p, sizeof p, where, key), "missing");
    return 0;
}

static int get_str(struct ld *l, json_t *o, const char *where, const char *key, bool required,
                   size_t max, const char **out, size_t *len)
{
    json_t *v;
    char p[160];
    *out = NULL;
    if (len)
        *len = 0;
    if (member(l, o, where, key, required, &v) < 0)
        return -1;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(l, path_of(p, sizeof p, where, key), "%s where a string is due", type_name(v));
    if (json_string_length(v) > max)
        return fail(l, path_of(p, sizeof p, where, key), "%zu bytes, more than the %zu allowed",
                    json_string_length(v), max);
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return 0;
}

/* A copy into an owned string (NULL stays NULL). */
static int dup_str(struct ld *l, json_t *o, const char *where, const char *key, char **out)
{
    const char *s;
    *out = NULL;
    if (get_str(l, o, where, key, false, TRJSON_MAX_STRING, &s, NULL) < 0)
        return -1;
    if (s && !(*out = strdup(s)))
        return fail(l, where, "out of memory");
    return 0;
}

/* Into a fixed buffer of the engine's: longer is refused, not cut. */
static int copy_fixed(struct ld *l, json_t *o, const char *where, const char *key, char *buf,
                      size_t cap)
{
    const char *s;
    size_t n;
    if (get_str(l, o, where, key, false, cap - 1, &s, &n) < 0)
        return -1;
    memcpy(buf, s ? s : "", s ? n : 0);
    buf[s ? n : 0] = 0;
    return 0;
}

static int get_bool(struct ld *l, json_t *o, const char *where, const char *key, bool required,
                    bool *out)
{
    json_t *v;
    char p[160];
    if (member(l, o, where, key, required, &v) < 0)
        return -1;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(l, path_of(p, sizeof p, where, key), "%s where true/false is due", type_name(v));
    *out = json_is_true(v);
    return 0;
}

static int get_int(struct ld *l, json_t *o, const char *where, const char *key, bool required,
                   json_int_t min, json_int_t max, json_int_t *out)
{
    json_t *v;
    char p[160];
    if (member(l, o, where, key, required, &v) < 0)
        return -1;
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return fail(l, path_of(p, sizeof p, where, key), "%s where an integer is due",
                    type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return fail(l, path_of(p, sizeof p, where, key), "%lld is out of range (%lld..%lld)",
                    (long long)x, (long long)min, (long long)max);
    *out = x;
    return 0;
}

static int get_num(struct ld *l, json_t *o, const char *where, const char *key, bool required,
                   double max, double *out)
{
    json_t *v;
    char p[160];
    if (member(l, o, where, key, required, &v) < 0)
        return -1;
    if (!v)
        return 0;
    if (!json_is_number(v))
        return fail(l, path_of(p, sizeof p, where, key), "%s where a number is due", type_name(v));
    double x = json_number_value(v);
    if (!isfinite(x) || x < 0 || x > max)
        return fail(l, path_of(p, sizeof p, where, key), "%g is out of range (0..%g)", x, max);
    *out = x;
    return 0;
}

/* A name out of names[0..n): its index. */
static int get_enum(struct ld *l, json_t *o, const char *where, const char *key, bool required,
                    const char *const *names, size_t n, int *out)
{
    const char *s;
    char p[160], q[80];
    if (get_str(l, o, where, key, required, 64, &s, NULL) < 0)
        return -1;
    if (!s)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (names[i] && !strcmp(s, names[i])) {
            *out = (int)i;
            return 0;
        }
    quote(s, q, sizeof q);
    return fail(l, path_of(p, sizeof p, where, key), "unknown name %s", q);
}

static int get_array(struct ld *l, json_t *o, const char *where, const char *key, bool required,
                     size_t max, json_t **out)
{
    char p[160];
    if (member(l, o, where, key, required, out) < 0)
        return -1;
    if (!*out || json_is_null(*out)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_array(*out))
        return fail(l, path_of(p, sizeof p, where, key), "%s where an array is due",
                    type_name(*out));
    if (json_array_size(*out) > max)
        return fail(l, path_of(p, sizeof p, where, key), "%zu entries, more than the %zu allowed",
                    json_array_size(*out), max);
    return 0;
}

static int get_object(struct ld *l, json_t *o, const char *where, const char *key, bool required,
                      json_t **out)
{
    char p[160];
    if (member(l, o, where, key, required, out) < 0)
        return -1;
    if (!*out || json_is_null(*out)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_object(*out))
        return fail(l, path_of(p, sizeof p, where, key), "%s where an object is due",
                    type_name(*out));
    return 0;
}

/* An array of strings into owned copies. */
static int str_list(struct ld *l, json_t *o, const char *where, const char *key, size_t max,
                    char ***out, size_t *n)
{
    json_t *a;
    char p[200], q[160];   /* p: q and an index */
    *out = NULL;
    *n = 0;
    if (get_array(l, o, where, key, false, max, &a) < 0)
        return -1;
    if (!a || !json_array_size(a))
        return 0;
    *out = calloc(json_array_size(a), sizeof **out);
    if (!*out)
        return fail(l, where, "out of memory");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        snprintf(p, sizeof p, "%s[%zu]", path_of(q, sizeof q, where, key), i);
        if (json_is_null(v))
            continue;
        if (!json_is_string(v))
            return fail(l, p, "%s where a string is due", type_name(v));
        if (json_string_length(v) > TRJSON_MAX_STRING)
            return fail(l, p, "longer than %u bytes", TRJSON_MAX_STRING);
        if (!((*out)[(*n)++] = strdup(json_string_value(v))))
            return fail(l, p, "out of memory");
    }
    return 0;
}

/* ---- events ---- */

/* Strings the loader attaches to an event go through this one (bytes
 * through transcript_set_data), so that how the transcript stores them is
 * one place to change. */
static int attach_str(struct transcript *t, char **field, const char *s, size_t len)
{
    (void)t;
    if (!(*field = malloc(len + 1)))
        return -1;
    memcpy(*field, s, len);
    (*field)[len] = 0;
    return 0;
}

static int event_bytes(struct ld *l, struct transcript *t, json_t *o, const char *where,
                       struct tr_event *e)
{
    const char *text, *b64;
    size_t tlen, blen;
    if (get_str(l, o, where, "text", false, TRJSON_MAX_DATA, &text, &tlen) < 0 ||
        get_str(l, o, where, "data_b64", false, (TRJSON_MAX_DATA + 2) / 3 * 4, &b64, &blen) < 0)
        return -1;
    if (text && b64)
        return fail(l, where, "both text and data_b64");
    bool wire = e->kind == TR_SENT || e->kind == TR_RECEIVED || e->kind == TR_DISCARDED;
    if (!text && !b64) {
        if (wire)
            return fail(l, where, "a %s event without text or data_b64",
                        transcript_kind_name(e->kind));
        return 0;
    }
    if (!wire && e->kind != TR_LITERAL)
        return 0;   /* bytes on an event that shows none: ignored */
    if (b64) {
        char p[160];
        uint8_t *bytes;
        size_t n;
        if (b64_decode(b64, blen, &bytes, &n) < 0)
            return fail(l, path_of(p, sizeof p, where, "data_b64"), "not valid base64");
        int rc = transcript_set_data(t, e, bytes, n);
        free(bytes);
        return rc < 0 ? fail(l, where, "out of memory") : 0;
    }
    if (transcript_set_data(t, e, text, tlen) < 0)
        return fail(l, where, "out of memory");
    return 0;
}

/* An event's string member key, attached to *field (absent or null: none). */
static int event_str(struct ld *l, struct transcript *t, json_t *o, const char *where,
                     const char *key, char **field)
{
    const char *s;
    size_t n;
    if (get_str(l, o, where, key, false, TRJSON_MAX_STRING, &s, &n) < 0)
        return -1;
    if (s && attach_str(t, field, s, n) < 0)
        return fail(l, where, "out of memory");
    return 0;
}

static int event_strings(struct ld *l, struct transcript *t, json_t *o, const char *where,
                         struct tr_event *e)
{
    if (event_str(l, t, o, where, "message", &e->message) < 0)
        return -1;
    if (e->kind == TR_OP_END && event_str(l, t, o, where, "status", &e->status) < 0)
        return -1;
    if (e->kind == TR_WALK && (event_str(l, t, o, where, "ref", &e->ref) < 0 ||
                               event_str(l, t, o, where, "outcome", &e->status) < 0))
        return -1;
    return 0;
}

static int event_numbers(struct ld *l, json_t *o, const char *where, struct tr_event *e)
{
    double ms = 0;
    if (e->kind == TR_OP_END) {
        if (get_num(l, o, where, "elapsed_ms", false, TRJSON_MAX_SECONDS * 1000, &ms) < 0)
            return -1;
        e->elapsed_us = llround(ms * 1000);
    }
    if (e->kind == TR_LITERAL) {
        json_int_t seen = (json_int_t)e->len, total = 0;
        if (get_int(l, o, where, "bytes", false, 0, INT64_MAX, &seen) < 0 ||
            get_int(l, o, where, "literal_total", false, 0, INT64_MAX, &total) < 0)
            return -1;
        if ((uint64_t)seen < e->len)
            return fail(l, where, "bytes (%lld) is less than the bytes kept (%zu)",
                        (long long)seen, e->len);
        e->literal_seen = (uint64_t)seen;
        e->literal_total = (uint64_t)total;
    }
    return 0;
}

static int failure_by_name(struct ld *l, json_t *o, const char *where, enum failure_class *out)
{
    const char *names[FAIL_AUTH + 1];
    for (int i = 0; i <= FAIL_AUTH; i++)
        names[i] = i ? failure_class_name((enum failure_class)i) : NULL;
    int v = 0;
    if (get_enum(l, o, where, "failure_class", false, names, FAIL_AUTH + 1, &v) < 0)
        return -1;
    *out = (enum failure_class)v;
    return 0;
}

static int op_by_name(struct ld *l, json_t *o, const char *where, enum session_op *out)
{
    const char *names[OP_COUNT + 1];
    memcpy(names, op_names, sizeof op_names);
    names[OP_COUNT] = "stat";
    int v = 0;
    if (get_enum(l, o, where, "op", true, names, OP_COUNT + 1, &v) < 0)
        return -1;
    *out = v == OP_COUNT ? OP_SELECT : (enum session_op)v;
    return 0;
}

/* where: "events[12]" */
static int load_event(struct ld *l, struct transcript *t, json_t *o, const char *where)
{
    if (!json_is_object(o))
        return fail(l, where, "%s where an object is due", type_name(o));
    const char *kinds[TR_WALK + 1];
    for (int k = 0; k <= TR_WALK; k++)
        kinds[k] = transcript_kind_name((enum tr_kind)k);
    int kind = 0;
    double secs = 0;
    if (get_enum(l, o, where, "kind", true, kinds, TR_WALK + 1, &kind) < 0 ||
        get_num(l, o, where, "t", true, TRJSON_MAX_SECONDS, &secs) < 0)
        return -1;
    struct tr_event *e = transcript_add(t, (enum tr_kind)kind, llround(secs * 1e6));
    if (!e)
        return fail(l, where, "out of memory");
    int state = 0;
    if (op_by_name(l, o, where, &e->op) < 0 ||
        get_bool(l, o, where, "secure", true, &e->secure) < 0 ||
        get_bool(l, o, where, "ok", false, &e->ok) < 0 ||
        failure_by_name(l, o, where, &e->fail) < 0 ||
        get_enum(l, o, where, "state", false, state_names, N_STATES, &state) < 0 ||
        event_bytes(l, t, o, where, e) < 0 || event_strings(l, t, o, where, e) < 0 ||
        event_numbers(l, o, where, e) < 0)
        return -1;
    e->state = (enum session_state)state;
    if (e->kind == TR_LITERAL)
        t->preview_bytes += e->len;
    return 0;
}

/* ---- TLS, NTLM, capabilities ---- */

static int load_cert(struct ld *l, json_t *o, const char *where, struct cert_info *ci)
{
    const char *pem;
    size_t n;
    if (!json_is_object(o))
        return fail(l, where, "%s where an object is due", type_name(o));
    if (get_str(l, o, where, "pem", true, TRJSON_MAX_STRING, &pem, &n) < 0)
        return -1;
    if (!pem)
        return fail(l, where, "pem: missing");
    if (certinfo_from_pem(ci, pem, n) < 0)
        return fail(l, where, "pem: not one valid PEM certificate");
    return 0;
}

static int load_chain(struct ld *l, json_t *tl, struct tls_info *tls)
{
    json_t *chain, *path;
    char where[48];
    if (get_array(l, tl, "tls", "chain", true, TLS_MAX_CHAIN, &chain) < 0 ||
        get_array(l, tl, "tls", "path", true, TLS_MAX_CHAIN, &path) < 0)
        return -1;
    for (size_t i = 0; chain && i < json_array_size(chain); i++) {
        json_t *c = json_array_get(chain, i);
        snprintf(where, sizeof where, "tls.chain[%zu]", i);
        if (load_cert(l, c, where, &tls->chain[i]) < 0)
            return -1;
        tls->n_chain++;
        if (get_bool(l, c, where, "in_path", false, &tls->chain_in_path[i]) < 0)
            return -1;
    }
    for (size_t i = 0; path && i < json_array_size(path); i++) {
        json_t *c = json_array_get(path, i), *flags;
        snprintf(where, sizeof where, "tls.path[%zu]", i);
        if (load_cert(l, c, where, &tls->path[i]) < 0)
            return -1;
        tls->n_path++;
        static const char *const sources[] = { "sent-by-server", "trust-store" };
        int src = 0;
        if (get_enum(l, c, where, "source", false, sources, 2, &src) < 0 ||
            get_bool(l, c, where, "sent_by_server", false, &tls->path_sent[i]) < 0 ||
            get_array(l, c, where, "flags", false, N_VF, &flags) < 0)
            return -1;
        tls->path_source[i] = src == 1 ? TLS_SRC_STORE : TLS_SRC_SERVER;
        for (size_t k = 0; flags && k < json_array_size(flags); k++) {
            const char *name = json_string_value(json_array_get(flags, k));
            size_t b = 0;
            while (b < N_VF && (!name || strcmp(name, vf_names[b])))
                b++;
            if (b == N_VF)
                return fail(l, where, "flags[%zu]: not a known verification flag", k);
            tls->path_flags[i] |= 1u << b;
        }
    }
    return 0;
}

static int load_tls_scalars(struct ld *l, json_t *tl, struct tls_info *tls)
{
    json_int_t code = 0, depth = 0, nver = 0, alert = 0;
    if (copy_fixed(l, tl, "tls", "version", tls->version, sizeof tls->version) < 0 ||
        copy_fixed(l, tl, "tls", "cipher", tls->cipher, sizeof tls->cipher) < 0 ||
        copy_fixed(l, tl, "tls", "group", tls->group, sizeof tls->group) < 0 ||
        copy_fixed(l, tl, "tls", "sni", tls->sni, sizeof tls->sni) < 0 ||
        copy_fixed(l, tl, "tls", "name_checked", tls->name_checked, sizeof tls->name_checked) < 0 ||
        copy_fixed(l, tl, "tls", "verify_error", tls->verify_error, sizeof tls->verify_error) < 0 ||
        copy_fixed(l, tl, "tls", "verified_root", tls->verified_root, sizeof tls->verified_root) < 0 ||
        copy_fixed(l, tl, "tls", "alert", tls->alert, sizeof tls->alert) < 0 ||
        get_bool(l, tl, "tls", "verified", true, &tls->verified) < 0 ||
        get_bool(l, tl, "tls", "hostname_match", false, &tls->hostname_match) < 0 ||
        get_bool(l, tl, "tls", "chain_truncated", false, &tls->chain_truncated) < 0 ||
        get_int(l, tl, "tls", "verify_code", false, 0, 1000000, &code) < 0 ||
        get_int(l, tl, "tls", "verify_error_depth", false, -1, TLS_MAX_CHAIN, &depth) < 0 ||
        get_int(l, tl, "tls", "verified_chain_length", false, 0, TLS_MAX_CHAIN, &nver) < 0 ||
        get_int(l, tl, "tls", "alert_code", false, 0, 255, &alert) < 0)
        return -1;
    tls->verify_code = (long)code;
    tls->verify_error_depth = (int)depth;
    tls->n_verified = (size_t)nver;
    tls->alert_code = (int)alert;
    return 0;
}

static int load_tls_bytes(struct ld *l, json_t *tl, struct tls_info *tls)
{
    const char *b64;
    size_t n;
    json_t *errs;
    if (get_str(l, tl, "tls", "first_bytes_b64", false, 4 * sizeof tls->first_bytes, &b64, &n) < 0 ||
        get_array(l, tl, "tls", "depth_errors", false, TLS_MAX_CHAIN, &errs) < 0)
        return -1;
    if (b64) {
        uint8_t *d = NULL;
        size_t dn = 0;
        if (b64_decode(b64, n, &d, &dn) < 0)
            return fail(l, "tls.first_bytes_b64", "not valid base64");
        if (dn > sizeof tls->first_bytes) {
            free(d);
            return fail(l, "tls.first_bytes_b64", "more than %zu bytes", sizeof tls->first_bytes);
        }
        memcpy(tls->first_bytes, d, dn);
        tls->n_first = dn;
        free(d);
    }
    for (size_t i = 0; errs && i < json_array_size(errs); i++) {
        json_t *v = json_array_get(errs, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
            return fail(l, "tls.depth_errors", "entry %zu is not a verify code", i);
        tls->depth_error[i] = (long)json_integer_value(v);
    }
    return 0;
}

static int load_tls(struct ld *l, json_t *doc, struct transcript *t)
{
    json_t *tl;
    if (get_object(l, doc, "", "tls", l->version >= 2, &tl) < 0)
        return -1;
    if (!tl)
        return 0;
    t->has_tls = true;   /* from here transcript_free clears what was loaded */
    return load_tls_scalars(l, tl, &t->tls) < 0 || load_tls_bytes(l, tl, &t->tls) < 0 ||
                   load_chain(l, tl, &t->tls) < 0 ? -1 : 0;
}

static int load_ntlm(struct ld *l, json_t *doc, json_t *report, struct transcript *t)
{
    json_t *o;
    /* /1 files have the same object in the report only */
    if (get_object(l, doc, "", "ntlm", l->version >= 2, &o) < 0)
        return -1;
    const char *where = "ntlm";
    if (!o && l->version < 2 && report) {
        if (get_object(l, report, "report", "ntlm", false, &o) < 0)
            return -1;
        where = "report.ntlm";
    }
    if (!o)
        return 0;
    struct ntlm_challenge_info *n = &t->ntlm;
    json_int_t flags = 0;
    if (copy_fixed(l, o, where, "target_name", n->target_name, sizeof n->target_name) < 0 ||
        copy_fixed(l, o, where, "netbios_computer", n->netbios_computer, sizeof n->netbios_computer) < 0 ||
        copy_fixed(l, o, where, "netbios_domain", n->netbios_domain, sizeof n->netbios_domain) < 0 ||
        copy_fixed(l, o, where, "dns_computer", n->dns_computer, sizeof n->dns_computer) < 0 ||
        copy_fixed(l, o, where, "dns_domain", n->dns_domain, sizeof n->dns_domain) < 0 ||
        copy_fixed(l, o, where, "dns_tree", n->dns_tree, sizeof n->dns_tree) < 0 ||
        copy_fixed(l, o, where, "os_version", n->os_version, sizeof n->os_version) < 0 ||
        get_int(l, o, where, "flags", false, 0, UINT32_MAX, &flags) < 0)
        return -1;
    n->flags = (uint32_t)flags;
    t->has_ntlm = true;
    return 0;
}

static int load_caps(struct ld *l, json_t *doc, json_t *report, struct recording *r)
{
    json_t *o;
    const char *where = "capabilities";
    if (get_object(l, doc, "", "capabilities", l->version >= 2, &o) < 0)
        return -1;
    if (!o && report) {   /* /1: the report's lists, "not asked" when empty */
        if (get_object(l, report, "report", "capabilities", false, &o) < 0)
            return -1;
        where = "report.capabilities";
    }
    if (!o)
        return 0;
    r->has_caps = true;
    for (int p = 0; p < CAPS_PHASES; p++) {
        json_t *a;
        char at[80];
        if (get_array(l, o, where, phase_keys[p], l->version >= 2, CAPSET_MAX + CAPSET_RESERVED,
                      &a) < 0)
            return -1;
        if (!a || (l->version < 2 && !json_array_size(a)))
            continue;
        r->caps[p].known = true;
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *v = json_array_get(a, i);
            snprintf(at, sizeof at, "%s.%s[%zu]", where, phase_keys[p], i);
            if (!json_is_string(v))
                return fail(l, at, "%s where a string is due", type_name(v));
            if (json_string_length(v) > CAPSET_MAX_LEN)
                return fail(l, at, "longer than %u bytes", CAPSET_MAX_LEN);
            capset_add_line(&r->caps[p], json_string_value(v), json_string_length(v));
        }
    }
    return 0;
}

/* ---- the report's fields ---- */

static int load_diag(struct ld *l, json_t *o, size_t i, struct recording_diag *d)
{
    char where[48];
    snprintf(where, sizeof where, "report.diagnoses[%zu]", i);
    if (!json_is_object(o))
        return fail(l, where, "%s where an object is due", type_name(o));
    json_t *ev;
    char at[80];
    if (dup_str(l, o, where, "id", &d->id) < 0 || dup_str(l, o, where, "severity", &d->severity) < 0 ||
        dup_str(l, o, where, "title", &d->title) < 0 ||
        dup_str(l, o, where, "confidence", &d->confidence) < 0 ||
        dup_str(l, o, where, "explanation", &d->explanation) < 0 ||
        dup_str(l, o, where, "cause", &d->cause) < 0 || dup_str(l, o, where, "verify", &d->verify) < 0 ||
        dup_str(l, o, where, "source", &d->source) < 0 ||
        str_list(l, o, where, "fix", 64, &d->fix, &d->n_fix) < 0 ||
        get_object(l, o, where, "evidence", false, &ev) < 0)
        return -1;
    snprintf(at, sizeof at, "%s.evidence", where);
    if (ev && (str_list(l, ev, at, "for", 64, &d->ev_for, &d->n_for) < 0 ||
               str_list(l, ev, at, "against", 64, &d->ev_against, &d->n_against) < 0))
        return -1;
    return 0;
}

static int load_report(struct ld *l, json_t *rep, struct recording *r)
{
    json_int_t port = 0, code = -1;
    json_t *diags;
    const char *w = "report";
    if (dup_str(l, rep, w, "tool", &r->tool) < 0 || dup_str(l, rep, w, "host", &r->host) < 0 ||
        dup_str(l, rep, w, "address", &r->address) < 0 || dup_str(l, rep, w, "user", &r->user) < 0 ||
        dup_str(l, rep, w, "tls_mode", &r->tls_mode) < 0 ||
        dup_str(l, rep, w, "result", &r->result) < 0 || dup_str(l, rep, w, "status", &r->status) < 0 ||
        dup_str(l, rep, w, "summary", &r->summary) < 0 ||
        dup_str(l, rep, w, "greeting", &r->greeting) < 0 ||
        dup_str(l, rep, w, "server_family", &r->server_family) < 0 ||
        dup_str(l, rep, w, "server_name_hint", &r->server_name) < 0 ||
        dup_str(l, rep, w, "failure_class", &r->failure_class) < 0 ||
        dup_str(l, rep, w, "diagnosis_note", &r->diagnosis_note) < 0 ||
        get_int(l, rep, w, "port", false, 0, 65535, &port) < 0 ||
        get_int(l, rep, w, "exit_code", false, 0, 3, &code) < 0 ||
        get_array(l, rep, w, "diagnoses", false, 64, &diags) < 0)
        return -1;
    r->port = (unsigned)port;
    r->exit_code = (int)code;
    if (!diags || !json_array_size(diags))
        return 0;
    r->diag = calloc(json_array_size(diags), sizeof *r->diag);
    if (!r->diag)
        return fail(l, "report.diagnoses", "out of memory");
    for (size_t i = 0; i < json_array_size(diags); i++) {
        r->n_diag++;
        if (load_diag(l, json_array_get(diags, i), i, &r->diag[i]) < 0)
            return -1;
    }
    return 0;
}

/* ---- the document ---- */

static int load_started(struct ld *l, json_t *doc, struct timespec *ts)
{
    const char *s;
    if (get_str(l, doc, "", "started", l->version >= 2, 40, &s, NULL) < 0)
        return -1;
    if (!s)
        return 0;
    struct tm tm = { 0 };
    int us = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us, &n) != 7 || s[n] ||
        tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || us < 0)
        return fail(l, "started", "not a time of the form 2026-11-28T07:29:53.123456Z");
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    ts->tv_sec = timegm(&tm);
    ts->tv_nsec = (long)us * 1000;
    return 0;
}

static int load_schema(struct ld *l, json_t *doc)
{
    const char *s;
    char q[80];
    if (get_str(l, doc, "", "schema", true, 64, &s, NULL) < 0)
        return -1;
    if (!s)
        return fail(l, "schema", "missing");
    if (!strcmp(s, "mailscope.transcript/1"))
        l->version = 1;
    else if (!strcmp(s, TRJSON_SCHEMA))
        l->version = 2;
    else {
        quote(s, q, sizeof q);
        return fail(l, "schema", "%s is not a mailscope transcript (expected %s or "
                    "mailscope.transcript/1)", q, TRJSON_SCHEMA);
    }
    return 0;
}

static int load_proto(struct ld *l, json_t *doc, json_t *rep, struct recording *r)
{
    static const char *const protos[] = { "imap", "pop3" };
    int p = 0;
    if (l->version >= 2) {
        if (get_enum(l, doc, "", "protocol", true, protos, 2, &p) < 0)
            return -1;
    } else if (get_enum(l, rep, "report", "protocol", false, protos, 2, &p) < 0) {
        return -1;
    }
    r->t.proto = p ? SESSION_POP3 : SESSION_IMAP;
    return 0;
}

/* Everything but the events, gathered by the walk into one object. */
static int load_head(struct ld *l, json_t *doc, struct recording *r)
{
    json_t *rep;
    if (load_schema(l, doc) < 0 || get_object(l, doc, "", "report", true, &rep) < 0)
        return -1;
    if (!rep)
        return fail(l, "report", "null where an object is due");
    r->version = l->version;
    if (load_proto(l, doc, rep, r) < 0 || load_started(l, doc, &r->t.wall0) < 0 ||
        load_report(l, rep, r) < 0 || load_caps(l, doc, rep, r) < 0 ||
        load_tls(l, doc, &r->t) < 0 || load_ntlm(l, doc, rep, &r->t) < 0)
        return -1;
    return 0;
}

/* ---- the walk: the document one value at a time ----
 * The top-level object and the events array are walked here with jscan;
 * each member's value and each event is parsed alone (json_loadb on its
 * bytes), so memory while loading is the transcript being built plus one
 * value, not a tree of the whole file. */

struct walk {
    struct ld *l;
    struct jscan s;
    struct recording *r;
    json_t *head;               /* the members but events */
    size_t head_bytes;          /* their bytes, bounded by TRJSON_MAX_HEAD */
    bool seen_events;
    char event_bound[48], head_bound[80];   /* for messages: "the 8 MiB an event may have" */
};

static int syntax(struct walk *w, const char *what)
{
    unsigned long line, col;
    jscan_where(&w->s, &line, &col);
    snprintf(w->l->err, w->l->errlen, "not valid JSON (line %lu, column %lu): %s", line, col, what);
    return -1;
}

static int input_stopped(struct walk *w)
{
    switch (w->s.status) {
    case JSCAN_HUGE:
        snprintf(w->l->err, w->l->errlen, "larger than the %u MiB a transcript may have",
                 TRJSON_MAX_FILE >> 20);
        return -1;
    case JSCAN_IO:
        snprintf(w->l->err, w->l->errlen, "cannot read it: %s", strerror(w->s.io_errno));
        return -1;
    case JSCAN_NOMEM:
        snprintf(w->l->err, w->l->errlen, "out of memory");
        return -1;
    default:
        return syntax(w, "premature end of input");
    }
}

/* The value at the cursor, parsed: NULL with the message set when it is
 * refused. where names it; max bounds its bytes. */
static json_t *next_value(struct walk *w, const char *where, size_t max, const char *bound)
{
    const char *v;
    size_t n;
    enum jscan_status st = jscan_value(&w->s, max, TRJSON_MAX_DEPTH, &v, &n);
    switch (st) {
    case JSCAN_OK:
        break;
    case JSCAN_DEEP:
        fail(w->l, where, "nested deeper than %u levels", TRJSON_MAX_DEPTH);
        return NULL;
    case JSCAN_BIG:
        fail(w->l, where, "larger than %s", bound);
        return NULL;
    case JSCAN_SYNTAX:
        syntax(w, "a value expected");
        return NULL;
    default:
        input_stopped(w);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(v, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j) {
        unsigned long line, col;
        jscan_where_in_value(&w->s, je.position > 0 ? (size_t)je.position : 0, &line, &col);
        char *clean = sanitize_text(je.text, strnlen(je.text, sizeof je.text), 120);
        snprintf(w->l->err, w->l->errlen, "not valid JSON (line %lu, column %lu): %s", line, col,
                 clean ? clean : "");
        free(clean);
    }
    return j;
}

static int walk_events(struct walk *w)
{
    if (jscan_peek(&w->s) != '[') {
        json_t *v = next_value(w, "events", TRJSON_MAX_EVENT, w->event_bound);
        if (v)
            fail(w->l, "events", "%s where an array is due", type_name(v));
        json_decref(v);
        return -1;
    }
    jscan_skip(&w->s);
    int c = jscan_peek(&w->s);
    if (c == ']') {
        jscan_skip(&w->s);
        return 0;
    }
    for (size_t i = 0;; i++) {
        char where[40];
        snprintf(where, sizeof where, "events[%zu]", i);
        if (i == TRJSON_MAX_EVENTS)
            return fail(w->l, "events", "more than the %u allowed", TRJSON_MAX_EVENTS);
        json_t *o = next_value(w, where, TRJSON_MAX_EVENT, w->event_bound);
        if (!o)
            return -1;
        int rc = load_event(w->l, &w->r->t, o, where);
        json_decref(o);
        if (rc < 0)
            return -1;
        c = jscan_peek(&w->s);
        if (c == ',') {
            jscan_skip(&w->s);
        } else if (c == ']') {
            jscan_skip(&w->s);
            return 0;
        } else {
            return c < 0 ? input_stopped(w) : syntax(w, "',' or ']' expected");
        }
    }
}

/* A member other than events: kept for load_head. */
static int walk_member(struct walk *w, const char *key)
{
    char q[80];
    if (json_object_size(w->head) >= TRJSON_MAX_MEMBERS)
        return fail(w->l, "the file", "more than %u members", TRJSON_MAX_MEMBERS);
    quote(key, q, sizeof q);
    /* Only the values' own bytes count (whitespace before them is free), so
     * the room left can never wrap around. */
    size_t room = w->head_bytes < TRJSON_MAX_HEAD ? TRJSON_MAX_HEAD - w->head_bytes : 0;
    json_t *v = next_value(w, q, room, w->head_bound);
    if (!v)
        return -1;
    w->head_bytes += (size_t)(w->s.pos - w->s.v_start);
    if (json_object_get(w->head, key)) {
        json_decref(v);
        return syntax(w, "duplicate object key");
    }
    return json_object_set_new(w->head, key, v) < 0 ? fail(w->l, "the file", "out of memory") : 0;
}

/* The member name at the cursor (jscan_peek gave '"'): a string, or NULL. */
static json_t *member_name(struct walk *w)
{
    json_t *k = next_value(w, "a member name", 1024, "1024 bytes");
    if (k && !json_is_string(k)) {
        json_decref(k);
        syntax(w, "a member name expected");
        return NULL;
    }
    return k;
}

static int walk_members(struct walk *w)
{
    for (;;) {
        int c = jscan_peek(&w->s);
        if (c != '"')
            return c < 0 ? input_stopped(w) : syntax(w, "a member name expected");
        json_t *k = member_name(w);
        if (!k)
            return -1;
        const char *key = json_string_value(k);
        int rc;
        if ((c = jscan_peek(&w->s)) != ':') {
            rc = c < 0 ? input_stopped(w) : syntax(w, "':' expected");
        } else {
            jscan_skip(&w->s);
            if (strcmp(key, "events"))
                rc = walk_member(w, key);
            else if (w->seen_events)
                rc = syntax(w, "duplicate object key");
            else {
                w->seen_events = true;
                /* a file that is not a transcript is refused before its events */
                rc = json_object_get(w->head, "schema") && load_schema(w->l, w->head) < 0
                         ? -1 : walk_events(w);
            }
        }
        json_decref(k);
        if (rc < 0)
            return -1;
        c = jscan_peek(&w->s);
        if (c == '}') {
            jscan_skip(&w->s);
            return 0;
        }
        if (c != ',')
            return c < 0 ? input_stopped(w) : syntax(w, "',' or '}' expected");
        jscan_skip(&w->s);
    }
}

static int walk_doc(struct walk *w)
{
    int c = jscan_peek(&w->s);
    if (c != '{') {
        if (c < 0)
            return input_stopped(w);
        json_t *v = next_value(w, "the file", TRJSON_MAX_HEAD, w->head_bound);
        if (v)
            fail(w->l, "the file", "%s where an object is due", type_name(v));
        json_decref(v);
        return -1;
    }
    jscan_skip(&w->s);
    c = jscan_peek(&w->s);
    if (c == '}')
        jscan_skip(&w->s);
    else if (walk_members(w) < 0)
        return -1;
    if (jscan_peek(&w->s) >= 0)
        return syntax(w, "end of file expected");
    if (w->s.status)
        return input_stopped(w);
    if (load_head(w->l, w->head, w->r) < 0)
        return -1;
    if (!w->seen_events)
        return fail(w->l, "events", "missing");
    return 0;
}

static int load_scan(struct jscan *s, struct recording *r, char *err, size_t errlen)
{
    struct ld l = { .err = err, .errlen = errlen };
    struct walk w = { .l = &l, .s = *s, .r = r, .head = json_object() };
    snprintf(w.event_bound, sizeof w.event_bound, "the %u MiB an event may have",
             TRJSON_MAX_EVENT >> 20);
    snprintf(w.head_bound, sizeof w.head_bound, "the %u MiB allowed for everything but the events",
             TRJSON_MAX_HEAD >> 20);
    int rc = w.head ? walk_doc(&w) : fail(&l, "the file", "out of memory");
    json_decref(w.head);
    jscan_free(&w.s);
    if (rc < 0)
        recording_free(r);
    return rc;
}

int trjson_load_buffer(const char *buf, size_t len, struct recording *r, char *err, size_t errlen)
{
    recording_init(r);
    err[0] = 0;
    if (len > TRJSON_MAX_FILE) {
        snprintf(err, errlen, "%zu bytes: larger than the %u MiB a transcript may have", len,
                 TRJSON_MAX_FILE >> 20);
        return -1;
    }
    struct jscan s;
    jscan_mem(&s, buf, len);
    return load_scan(&s, r, err, errlen);
}

int trjson_load_fd(int fd, size_t window, struct recording *r, char *err, size_t errlen)
{
    recording_init(r);
    err[0] = 0;
    struct jscan s;
    jscan_fd(&s, fd, window, TRJSON_MAX_FILE);
    return load_scan(&s, r, err, errlen);
}

int trjson_load_file(const char *path, struct recording *r, char *err, size_t errlen)
{
    recording_init(r);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot read it: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)TRJSON_MAX_FILE) {
        if (S_ISREG(st.st_mode))
            snprintf(err, errlen, "%lld bytes: larger than the %u MiB a transcript may have",
                     (long long)st.st_size, TRJSON_MAX_FILE >> 20);
        else
            snprintf(err, errlen, "not a regular file");
        close(fd);
        return -1;
    }
    /* read ahead: the file is read once, front to back */
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    int rc = trjson_load_fd(fd, 0, r, err, errlen);
    close(fd);
    return rc;
}
