/* compare — the same server's TLS ports side by side. */
#include "compare.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certcheck.h"
#include "sanitize.h"
#include "version.h"

static const struct {
    const char *scheme, *label;
    enum session_proto proto;
    bool implicit;
    unsigned std_port;
} kinds[COMPARE_MAX] = {
    { "imap", "IMAP STARTTLS", SESSION_IMAP, false, 143 }, { "imaps", "IMAPS", SESSION_IMAP, true, 993 },
    { "pop3", "POP3 STLS", SESSION_POP3, false, 110 }, { "pop3s", "POP3S", SESSION_POP3, true, 995 },
};

static unsigned *port_slot(struct compare_ports *p, size_t kind)
{
    unsigned *slots[COMPARE_MAX] = { &p->imap, &p->imaps, &p->pop3, &p->pop3s };
    return slots[kind];
}

int compare_ports_parse(const char *s, struct compare_ports *p, char *err, size_t errlen)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '='), *end = NULL;
        size_t k = COMPARE_MAX;
        for (size_t i = 0; eq && i < COMPARE_MAX; i++)
            if ((size_t)(eq - item) == strlen(kinds[i].scheme)
                && strncmp(item, kinds[i].scheme, (size_t)(eq - item)) == 0)
                k = i;
        long port = eq ? strtol(eq + 1, &end, 10) : 0;
        if (k == COMPARE_MAX || !end || *end || end == eq + 1 || port < 1 || port > 65535) {
            snprintf(err, errlen, "--ports takes SCHEME=PORT[,...] with SCHEME imap, imaps, pop3 "
                     "or pop3s, e.g. imap=21143,imaps=21993 (not \"%s\")", item);
            return -1;
        }
        *port_slot(p, k) = (unsigned)port;
    }
    return 0;
}

/* ---- running ----------------------------------------------------------- */

static struct report_target target_of(const struct compare *c, const struct compare_endpoint *e,
                                      size_t kind)
{
    return (struct report_target){
        .url = e->url, .scheme = kinds[kind].scheme, .host = c->host, .port = e->port,
        .auth = session_auth_name(AUTH_DEFAULT),
        .tls_requested = e->implicit ? "implicit" : "starttls",
        .expiry_warn_days = c->o.expiry_warn_days };
}

struct compare *compare_new(struct loop *l, const struct compare_options *o)
{
    struct compare *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->o = *o;
    snprintf(c->host, sizeof c->host, "%s", o->host);
    c->o.host = c->host;
    for (size_t k = 0; k < COMPARE_MAX; k++) {
        if (!o->all && kinds[k].proto != o->proto)
            continue;
        struct compare_endpoint *e = &c->ep[c->n++];
        unsigned port = *port_slot(&c->o.ports, k);
        e->port = port ? port : kinds[k].std_port;
        e->proto = kinds[k].proto;
        e->implicit = kinds[k].implicit;
        e->cert = -1;
        snprintf(e->label, sizeof e->label, "%s", kinds[k].label);
        bool v6 = strchr(c->host, ':') != NULL;
        snprintf(e->url, sizeof e->url, "%s://%s%s%s:%u", kinds[k].scheme, v6 ? "[" : "", c->host,
                 v6 ? "]" : "", e->port);
        struct tlsrun_target tg = {
            .proto = e->proto, .host = c->host, .port = e->port, .implicit = e->implicit,
            .family = o->family, .tls = o->tls, .insecure = o->insecure,
            .timeout_ms = o->timeout_ms };
        if (tlsrun_start(&e->run, l, &tg) < 0) {
            compare_free(c);
            return NULL;
        }
    }
    return c;
}

static size_t kind_of(const struct compare_endpoint *e)
{
    for (size_t k = 0; k < COMPARE_MAX; k++)
        if (kinds[k].proto == e->proto && kinds[k].implicit == e->implicit)
            return k;
    return 0;
}

static const struct tls_info *tls_of(const struct compare_endpoint *e)
{
    return e->run.t.has_tls && e->run.t.tls.n_chain ? &e->run.t.tls : NULL;
}

static bool same_chain(const struct tls_info *a, const struct tls_info *b)
{
    if (a->n_chain != b->n_chain)
        return false;
    for (size_t i = 0; i < a->n_chain; i++)
        if (strcmp(a->chain[i].sha256, b->chain[i].sha256) != 0)
            return false;
    return true;
}

/* Monitoring aggregation: CRITICAL > UNKNOWN > WARNING > OK. */
static int worse(int a, int b)
{
    static const int rank[] = { 0, 1, 3, 2 };
    return rank[b & 3] > rank[a & 3] ? b : a;
}

static void group_certificates(struct compare *c)
{
    size_t with_cert = 0;
    c->same_chain = true;
    for (size_t i = 0; i < c->n; i++) {
        const struct tls_info *t = tls_of(&c->ep[i]);
        if (!t)
            continue;
        with_cert++;
        for (size_t j = 0; j < c->n_certs && c->ep[i].cert < 0; j++) {
            const struct tls_info *u = tls_of(&c->ep[c->cert_ep[j]]);
            if (strcmp(t->chain[0].sha256, u->chain[0].sha256) == 0) {
                c->ep[i].cert = (int)j;
                c->same_chain &= same_chain(t, u);
            }
        }
        if (c->ep[i].cert < 0) {
            c->ep[i].cert = (int)c->n_certs;
            c->cert_ep[c->n_certs++] = i;
        }
    }
    c->same_certificate = c->n_certs == 1 && with_cert == c->n;
    c->same_chain &= c->same_certificate;
}

static const char *leaf_name(const struct compare *c, size_t cert)
{
    const struct cert_info *leaf = &tls_of(&c->ep[c->cert_ep[cert]])->chain[0];
    return leaf->subject_cn ? leaf->subject_cn : leaf->subject ? leaf->subject : "?";
}

static void make_summary(struct compare *c)
{
    char raw[1600];
    size_t len = 0;
    if (c->same_certificate) {
        len += (size_t)snprintf(raw, sizeof raw, "all %zu endpoints present the same certificate "
                                "\"%s\" (SHA-256 %.23s...)%s", c->n, leaf_name(c, 0),
                                tls_of(&c->ep[0])->chain[0].sha256,
                                c->same_chain ? "" : ", but not the same chain");
    } else {
        len += (size_t)snprintf(raw, sizeof raw, "%s", c->n_certs > 1
                                ? "the endpoints present different certificates:"
                                : "not every endpoint presented a certificate:");
        for (size_t i = 0; i < c->n && len < sizeof raw; i++) {
            const struct compare_endpoint *e = &c->ep[i];
            if (e->cert >= 0)
                len += (size_t)snprintf(raw + len, sizeof raw - len, "%s %s :%u %c \"%s\"",
                                        i ? ";" : "", e->label, e->port, 'A' + e->cert,
                                        leaf_name(c, (size_t)e->cert));
            else
                len += (size_t)snprintf(raw + len, sizeof raw - len, "%s %s :%u none (%s)",
                                        i ? ";" : "", e->label, e->port, e->verdict.summary);
        }
    }
    char *clean = sanitize_text(raw, strlen(raw), sizeof c->summary - 40);
    snprintf(c->summary, sizeof c->summary, "%s", clean ? clean : "");
    free(clean);
}

bool compare_advance(struct compare *c)
{
    if (c->finished)
        return true;
    bool all = true;
    for (size_t i = 0; i < c->n; i++)
        all &= tlsrun_advance(&c->ep[i].run);
    if (!all)
        return false;
    c->exit_code = EXIT_OK;
    for (size_t i = 0; i < c->n; i++) {
        struct compare_endpoint *e = &c->ep[i];
        struct report_target tg = target_of(c, e, kind_of(e));
        report_evaluate(&e->run.plan, &e->run.t, e->run.s, &tg, &e->verdict);
        c->exit_code = worse(c->exit_code, e->verdict.exit_code);
    }
    group_certificates(c);
    make_summary(c);
    c->finished = true;
    return true;
}

void compare_wait(struct loop *l, struct compare *c)
{
    while (!compare_advance(c))
        if (loop_run_once(l, 1000) < 0 && errno != EINTR)
            break;
}

void compare_free(struct compare *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        tlsrun_free(&c->ep[i].run);
    free(c);
}

/* ---- JSON ---------------------------------------------------------------- */

static const char *status_word(int code)
{
    static const char *const w[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
    return code >= 0 && code <= 3 ? w[code] : "UNKNOWN";
}

static json_t *jtext(const char *s)
{
    if (!s)
        return json_null();
    char *clean = sanitize_is_utf8(s, strlen(s)) ? NULL : sanitize_text(s, strlen(s), 0);
    json_t *j = json_string(clean ? clean : s);
    free(clean);
    return j ? j : json_null();
}

static json_t *jendpoint(const struct compare *c, const struct compare_endpoint *e)
{
    const struct tls_info *t = tls_of(e);
    json_t *chain = json_array(), *problems = json_array();
    time_t now = time(NULL);
    const char *codes[CERTCHECK_MAX];
    size_t n = t ? certcheck_problems(t, now, c->o.expiry_warn_days, codes) : 0;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(problems, json_string(codes[i]));
    for (size_t i = 0; t && i < t->n_chain; i++)
        json_array_append_new(chain, report_cert_json(&t->chain[i], i, now));
    const struct tls_info *any = e->run.t.has_tls ? &e->run.t.tls : NULL;
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:o, s:i, s:s, s:o, s:o}",
        "label", e->label, "protocol", e->proto == SESSION_IMAP ? "imap" : "pop3",
        "port", (json_int_t)e->port, "tls_mode", e->implicit ? "implicit" : "starttls",
        "address", jtext(session_address(e->run.s)), "exit_code", e->verdict.exit_code,
        "status", status_word(e->verdict.exit_code), "summary", jtext(e->verdict.summary),
        "failure_class", e->verdict.fail ? json_string(failure_class_name(e->verdict.fail))
                                         : json_null());
    char id[2] = { (char)('A' + e->cert), 0 };
    json_object_set_new(o, "certificate", e->cert >= 0 ? json_string(id) : json_null());
    json_object_set_new(o, "tls", any ? json_pack("{s:o, s:o, s:b, s:o, s:b, s:o}",
        "version", any->version[0] ? json_string(any->version) : json_null(),
        "cipher", any->cipher[0] ? json_string(any->cipher) : json_null(),
        "verified", any->verified, "verify_error", any->verified ? json_null()
                                                                 : jtext(any->verify_error),
        "hostname_match", any->hostname_match, "problems", problems) : json_null());
    if (!any)
        json_decref(problems);
    json_object_set_new(o, "chain", chain);
    return o;
}

static json_t *jcertificate(const struct compare *c, size_t k)
{
    const struct cert_info *leaf = &tls_of(&c->ep[c->cert_ep[k]])->chain[0];
    json_t *o = report_cert_json(leaf, 0, time(NULL));
    json_t *on = json_array();
    for (size_t i = 0; i < c->n; i++)
        if (c->ep[i].cert == (int)k)
            json_array_append_new(on, json_string(c->ep[i].label));
    char id[2] = { (char)('A' + k), 0 };
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "endpoints", on);
    return o;
}

json_t *compare_json(const struct compare *c)
{
    json_t *eps = json_array(), *certs = json_array();
    for (size_t i = 0; i < c->n; i++)
        json_array_append_new(eps, jendpoint(c, &c->ep[i]));
    for (size_t k = 0; k < c->n_certs; k++)
        json_array_append_new(certs, jcertificate(c, k));
    bool comparable = c->n_certs > 1 || c->same_certificate;
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:s, s:i, s:s, s:o}",
        "schema", "mailscope.compare/1", "tool", "mailscope " MAILSCOPE_VERSION,
        "host", jtext(c->host), "servername", jtext(c->o.tls.servername ? c->o.tls.servername
                                                                         : c->host),
        "result", c->exit_code == EXIT_OK || c->exit_code == EXIT_WARNING ? "Success" : "Failure",
        "exit_code", c->exit_code, "status", status_word(c->exit_code),
        "summary", jtext(c->summary));
    json_object_set_new(j, "same_certificate", comparable ? json_boolean(c->same_certificate)
                                                          : json_null());
    json_object_set_new(j, "same_chain", comparable ? json_boolean(c->same_chain) : json_null());
    json_object_set_new(j, "certificates", certs);
    json_object_set_new(j, "endpoints", eps);
    return j;
}

/* ---- text: a table, one column per endpoint ------------------------------ */

enum { LABEL_W = 14, COL_W = 31 };

/* One cell: sanitised, cut to the column (at a UTF-8 boundary). */
static void cell(FILE *out, const char *s)
{
    char *clean = sanitize_text(s ? s : "", s ? strlen(s) : 0, 200);
    const char *v = clean ? clean : "";
    size_t n = strlen(v), cut = n < COL_W - 1 ? n : COL_W - 1;
    while (cut < n && cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
        cut--;
    if (cut < n && cut > 3) {
        cut -= 3;
        while (cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
            cut--;
        fprintf(out, "%.*s...%*s", (int)cut, v, (int)(COL_W - cut - 3), "");
    } else {
        fprintf(out, "%.*s%*s", (int)cut, v, (int)(COL_W - cut), "");
    }
    free(clean);
}

typedef void (*cell_fn)(const struct compare *c, const struct compare_endpoint *e, char *buf,
                        size_t n);

static void row(FILE *out, const struct compare *c, const char *label, cell_fn fn)
{
    char buf[600];
    fprintf(out, "%-*s", LABEL_W, label);
    for (size_t i = 0; i < c->n; i++) {
        buf[0] = '\0';
        fn(c, &c->ep[i], buf, sizeof buf);
        cell(out, buf);
    }
    fputc('\n', out);
}

static void c_endpoint(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    snprintf(b, n, "%s :%u", e->label, e->port);
    (void)c;
}

static void c_tls(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    const struct tls_info *t = e->run.t.has_tls ? &e->run.t.tls : NULL;
    snprintf(b, n, "%s", t && t->cipher[0] ? t->version : "no TLS session");
    (void)c;
}

static void c_cert(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    if (e->cert >= 0)
        snprintf(b, n, "%c", 'A' + e->cert);
    else
        snprintf(b, n, "-");
    (void)c;
}

static void c_cn(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    const struct tls_info *t = tls_of(e);
    snprintf(b, n, "%s", t && t->chain[0].subject_cn ? t->chain[0].subject_cn : "-");
    (void)c;
}

static void c_names(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    const struct tls_info *t = tls_of(e);
    size_t len = 0;
    for (size_t i = 0; t && i < t->chain[0].n_san && len < n; i++) {
        const char *s = t->chain[0].san[i];
        s += !strncmp(s, "DNS:", 4) ? 4 : !strncmp(s, "IP:", 3) ? 3 : 0;
        len += (size_t)snprintf(b + len, n - len, "%s%s", i ? ", " : "", s);
    }
    if (!len)
        snprintf(b, n, "-");
    (void)c;
}

static void c_issuer(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    const struct tls_info *t = tls_of(e);
    snprintf(b, n, "%s", t && t->chain[0].issuer_cn ? t->chain[0].issuer_cn : "-");
    (void)c;
}

static void c_expires(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    const struct tls_info *t = tls_of(e);
    struct tm tm;
    char day[16] = "-";
    if (t && t->chain[0].not_after && gmtime_r(&t->chain[0].not_after, &tm))
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
    if (t)
        snprintf(b, n, "%s (%ld days)", day, certinfo_days_left(&t->chain[0], time(NULL)));
    else
        snprintf(b, n, "-");
    (void)c;
}

static void c_sha256(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    const struct tls_info *t = tls_of(e);
    snprintf(b, n, "%s", t ? t->chain[0].sha256 : "-");
    (void)c;
}

static void c_chain(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    const struct tls_info *t = tls_of(e);
    if (t)
        snprintf(b, n, "%zu sent, %s", t->n_chain, t->verified ? "verified" : "NOT verified");
    else
        snprintf(b, n, "-");
    (void)c;
}

static void c_problems(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    const struct tls_info *t = tls_of(e);
    const char *codes[CERTCHECK_MAX];
    size_t k = t ? certcheck_problems(t, time(NULL), c->o.expiry_warn_days, codes) : 0;
    size_t len = 0;
    for (size_t i = 0; i < k && len < n; i++)
        len += (size_t)snprintf(b + len, n - len, "%s%s", i ? ", " : "", codes[i]);
    if (!len)
        snprintf(b, n, "-");
}

static void c_status(const struct compare *c, const struct compare_endpoint *e, char *b, size_t n)
{
    snprintf(b, n, "%s", status_word(e->verdict.exit_code));
    (void)c;
}

static void put_clean(FILE *out, const char *s)
{
    char *clean = sanitize_text(s ? s : "", s ? strlen(s) : 0, 600);
    fputs(clean ? clean : "", out);
    free(clean);
}

static void text_certificates(FILE *out, const struct compare *c)
{
    for (size_t k = 0; k < c->n_certs; k++) {
        const struct cert_info *leaf = &tls_of(&c->ep[c->cert_ep[k]])->chain[0];
        fprintf(out, "  %c  subject: ", (int)('A' + k));
        put_clean(out, leaf->subject);
        fputs("\n     names:  ", out);
        for (size_t i = 0; i < leaf->n_san; i++) {
            fputs(i ? ", " : "", out);
            put_clean(out, leaf->san[i]);
        }
        fputs("\n     issuer: ", out);
        put_clean(out, leaf->issuer);
        fprintf(out, "\n     sha256: %s\n     sha1:   %s\n     on:    ", leaf->sha256, leaf->sha1);
        for (size_t i = 0; i < c->n; i++)
            if (c->ep[i].cert == (int)k)
                fprintf(out, " %s :%u", c->ep[i].label, c->ep[i].port);
        fputc('\n', out);
    }
}

void compare_text(FILE *out, const struct compare *c)
{
    fputs("mailscope probe --compare ", out);
    put_clean(out, c->host);
    fputs("\n\n", out);
    row(out, c, "", c_endpoint);
    row(out, c, "TLS", c_tls);
    row(out, c, "certificate", c_cert);
    row(out, c, "subject CN", c_cn);
    row(out, c, "names", c_names);
    row(out, c, "issuer CN", c_issuer);
    row(out, c, "expires", c_expires);
    row(out, c, "sha256", c_sha256);
    row(out, c, "chain", c_chain);
    row(out, c, "problems", c_problems);
    row(out, c, "status", c_status);
    fprintf(out, "\nCertificates (%zu):\n", c->n_certs);
    text_certificates(out, c);
    bool first = true;
    for (size_t i = 0; i < c->n; i++)
        if (c->ep[i].verdict.exit_code != EXIT_OK) {
            fputs(first ? "\n" : "", out);
            first = false;
            fprintf(out, "%s :%u %s: ", c->ep[i].label, c->ep[i].port,
                    status_word(c->ep[i].verdict.exit_code));
            put_clean(out, c->ep[i].verdict.summary);
            fputc('\n', out);
        }
    fprintf(out, "\n%s %s: %s\n", c->o.all ? "IMAP/POP3" : c->o.proto == SESSION_IMAP ? "IMAP" : "POP3",
            status_word(c->exit_code), c->summary);
}
