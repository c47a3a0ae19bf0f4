#include "exlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

bool exlog_scalar;

static const char *const col_names[EXC_COUNT] = {
    "dateTime", "sessionId", "seqNumber", "sIp", "cIp", "user", "duration", "rqsize",
    "rpsize", "command", "parameters", "context" };

const char *exlog_col_name(enum exlog_col c)
{
    return (unsigned)c < EXC_COUNT ? col_names[c] : "?";
}

const char *exlog_proto_name(enum exlog_proto p)
{
    return p == EXLOG_IMAP4 ? "IMAP4" : p == EXLOG_POP3 ? "POP3" : "unknown";
}

static void default_map(struct exlog_reader *r)
{
    for (size_t i = 0; i < EXC_COUNT; i++)
        r->map[i] = (int)i;
    r->n_map = EXC_COUNT;
}

static void reader_init(struct exlog_reader *r, enum exlog_proto proto)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->first = true;
    r->proto = proto;
    default_map(r);
}

/* The protocol a file name suggests: IMAP4*, IMAP4BE*, POP3*, POP3BE*. */
static enum exlog_proto proto_of_name(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (!strncasecmp(b, "IMAP4", 5))
        return EXLOG_IMAP4;
    if (!strncasecmp(b, "POP3", 4))
        return EXLOG_POP3;
    return EXLOG_UNKNOWN;
}

int exlog_open(struct exlog_reader *r, const char *path, char *err, size_t errlen)
{
    reader_init(r, proto_of_name(path));
    if (!strcmp(path, "-"))
        r->fd = 0;
    else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        r->own_fd = true;
#ifdef POSIX_FADV_SEQUENTIAL
        posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    }
    /* A small file needs no 4 MiB block (logscan opens many of them). */
    struct stat st;
    size_t block = EXLOG_CHUNK;
    if (fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < block)
        block = (size_t)st.st_size + 4096;
    r->cap = block + EXLOG_MAX_LINE;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        exlog_close(r);
        return -1;
    }
    return 0;
}

void exlog_open_mem(struct exlog_reader *r, const void *data, size_t len, enum exlog_proto proto)
{
    reader_init(r, proto);
    r->mem = data;
    r->mem_len = len;
    r->eof = true;
}

void exlog_close(struct exlog_reader *r)
{
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    free(r->buf);
    r->buf = NULL;
    r->fd = -1;
}

static void bad(struct exlog_reader *r, uint64_t lineno, const char *reason)
{
    r->malformed++;
    if (r->n_bad < EXLOG_MAX_BAD)
        r->bad[r->n_bad++] = (struct exlog_bad){ lineno, reason };
}

/* ---- header lines --------------------------------------------------------- */

static bool starts(const char *p, size_t n, const char *word)
{
    size_t w = strlen(word);
    return n >= w && !strncasecmp(p, word, w);
}

static void parse_fields(struct exlog_reader *r, const char *p, size_t n)
{
    r->n_map = 0;
    const char *e = p + n;
    while (p < e && r->n_map < EXLOG_MAX_FIELDS) {
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        const char *c = memchr(p, ',', (size_t)(e - p));
        const char *end = c ? c : e;
        const char *t = end;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        int which = -1;
        for (int k = 0; k < EXC_COUNT; k++)
            if ((size_t)(t - p) == strlen(col_names[k]) && !strncasecmp(p, col_names[k], (size_t)(t - p)))
                which = k;
        r->map[r->n_map++] = which;
        if (!c)
            break;
        p = c + 1;
    }
    if (r->n_map == 0)
        default_map(r);
}

static void header(struct exlog_reader *r, const char *p, size_t n)
{
    r->headers++;
    if (starts(p, n, "#Fields:"))
        parse_fields(r, p + 8, n - 8);
    else if (starts(p, n, "#Log-type:")) {
        const char *v = p + 10;
        size_t vn = n - 10;
        while (vn && *v == ' ')
            v++, vn--;
        if (starts(v, vn, "IMAP4"))
            r->proto = EXLOG_IMAP4;
        else if (starts(v, vn, "POP3"))
            r->proto = EXLOG_POP3;
    }
}

/* ---- records ------------------------------------------------------------- */

/* The first byte c in [p, e), or e. Fields are short: eight bytes a step
 * (the classic "has a zero byte" test on x ^ cccccccc) beats memchr's set-up
 * cost. */
static inline const char *find_byte(const char *p, const char *e, char c)
{
#if defined(__SSE2__) && !defined(EXLOG_NO_SIMD)
    /* sixteen at a time where the machine has SSE2 (every x86-64) */
    const __m128i cc = _mm_set1_epi8(c);
    while (e - p >= 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), cc));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && e - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        x ^= ones * (unsigned char)c;
        uint64_t z = (x - ones) & ~x & highs;
        if (z)
            return p + (__builtin_ctzll(z) >> 3);   /* little-endian: the lowest byte first */
        p += 8;
    }
    while (p < e && *p != c)
        p++;
    return p;
}

/* Split one line into rec; NULL, or why the line is malformed. */
static const char *split(const struct exlog_reader *r, const char *line, size_t len,
                         struct exlog_record *rec)
{
    const char *p = line, *e = line + len;
    size_t fi = 0;
    unsigned seen = 0;
#if defined(__SSE2__) && !defined(EXLOG_NO_SIMD)
    /* The fields before the first quote (most of them: Exchange quotes
     * little but the context) are cut at each comma found sixteen bytes at a
     * time, without a loop per field; from the first quote on, or for the
     * last column, the byte-wise walk below takes over. Same result. */
    const __m128i comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"');
    for (const char *b = line; !exlog_scalar && e - b >= 16 && fi + 1 < r->n_map; b += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)b);
        unsigned cm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma));
        unsigned qm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
        if (qm)
            cm &= (qm & -qm) - 1;           /* only the commas before the quote */
        for (; cm && fi + 1 < r->n_map; cm &= cm - 1) {
            const char *c = b + __builtin_ctz(cm);
            if (r->map[fi] >= 0) {
                rec->col[r->map[fi]] = (struct exlog_field){ p, (size_t)(c - p), false };
                seen |= 1u << r->map[fi];
            }
            fi++;
            p = c + 1;
        }
        if (qm || cm)
            break;
    }
    if (p == e && fi > 0) {                 /* the line ended with a comma */
        if (fi >= r->n_map)
            return "too many fields for the #Fields header";
        fi++;
        goto counted;
    }
#endif
    for (;;) {
        struct exlog_field f;
        if (p < e && *p == '"') {
            const char *q = p + 1;
            for (;;) {
                q = find_byte(q, e, '"');
                if (q == e)
                    return "unterminated quote";
                if (q + 1 < e && q[1] == '"') {
                    q += 2;
                    continue;
                }
                break;
            }
            f = (struct exlog_field){ p + 1, (size_t)(q - p - 1), true };
            p = q + 1;
            if (p < e && *p != ',')
                return "text after a closing quote";
        } else if (fi + 1 >= r->n_map) {
            f = (struct exlog_field){ p, (size_t)(e - p), false };   /* the last column */
            p = e;
        } else {
            const char *end = find_byte(p, e, ',');
            f = (struct exlog_field){ p, (size_t)(end - p), false };
            p = end;
        }
        if (fi < r->n_map && r->map[fi] >= 0) {
            rec->col[r->map[fi]] = f;
            seen |= 1u << r->map[fi];
        }
        else if (fi >= r->n_map)
            return "too many fields for the #Fields header";
        fi++;
        if (p >= e)
            break;
        p++;                                /* the comma */
        if (p == e) {                       /* a trailing comma: one more, empty field */
            if (fi >= r->n_map)
                return "too many fields for the #Fields header";
            fi++;
            break;
        }
    }
#if defined(__SSE2__) && !defined(EXLOG_NO_SIMD)
counted:
#endif
    if (fi < r->n_map)
        return "too few fields for the #Fields header";
    for (int k = 0; seen != (1u << EXC_COUNT) - 1 && k < EXC_COUNT; k++)
        if (!(seen & (1u << k)))
            rec->col[k] = (struct exlog_field){ NULL, 0, false };
    return NULL;
}

/* Handle one complete line; 1 when rec holds a record. */
static int take_line(struct exlog_reader *r, const char *line, size_t len, struct exlog_record *rec)
{
    r->lineno++;
    if (len && line[len - 1] == '\r')
        len--;
    if (len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {     /* a BOM: at the start of a file */
        line += 3;
        len -= 3;
    }
    if (len == 0)
        return 0;
    if (line[0] == '#') {
        header(r, line, len);
        return 0;
    }
    const char *why = split(r, line, len, rec);
    if (why) {
        bad(r, r->lineno, why);
        return 0;
    }
    rec->line = line;
    rec->len = len;
    rec->lineno = r->lineno;
    rec->proto = r->proto;
    r->records++;
    return 1;
}

/* Read more bytes behind r->end; false at the end of the input. */
static bool fill(struct exlog_reader *r)
{
    if (r->eof)
        return false;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    size_t want = r->cap - r->end;
    if (want > EXLOG_CHUNK)
        want = EXLOG_CHUNK;
    for (;;) {
        ssize_t got = read(r->fd, r->buf + r->end, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r->read_errno = errno;
            r->eof = true;
            return false;
        }
        if (got == 0) {
            r->eof = true;
            return r->end > r->start;
        }
        r->end += (size_t)got;
        r->bytes += (uint64_t)got;
        return true;
    }
}

static int next_mem(struct exlog_reader *r, struct exlog_record *rec)
{
    while (r->mem_off < r->mem_len) {
        const char *p = r->mem + r->mem_off;
        size_t left = r->mem_len - r->mem_off;
        const char *nl = memchr(p, '\n', left);
        size_t len = nl ? (size_t)(nl - p) : left;
        r->mem_off += nl ? len + 1 : len;
        r->bytes += nl ? len + 1 : len;
        if (len > EXLOG_MAX_LINE) {
            r->lineno++;
            bad(r, r->lineno, "line longer than the limit");
            continue;
        }
        if (take_line(r, p, len, rec))
            return 1;
    }
    return 0;
}

int exlog_next(struct exlog_reader *r, struct exlog_record *rec)
{
    if (r->mem)
        return next_mem(r, rec);
    for (;;) {
        const char *p = r->buf + r->start;
        size_t left = r->end - r->start;
        const char *nl = left ? memchr(p, '\n', left) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - p);
            r->start += len + 1;
            if (r->skipping) {              /* the tail of an over-long line */
                r->skipping = false;
                continue;
            }
            if (len > EXLOG_MAX_LINE) {
                r->lineno++;
                bad(r, r->lineno, "line longer than the limit");
                continue;
            }
            if (take_line(r, p, len, rec))
                return 1;
            continue;
        }
        if (left >= EXLOG_MAX_LINE) {       /* no end in sight: drop it, find the next line */
            if (!r->skipping) {
                r->lineno++;
                bad(r, r->lineno, "line longer than the limit");
            }
            r->skipping = true;
            r->start = r->end = 0;
        }
        if (fill(r))
            continue;
        if (r->read_errno)
            return -1;
        /* the end: a last line without a newline */
        if (r->end > r->start) {
            size_t len = r->end - r->start;
            r->start = r->end;
            if (r->skipping)
                return 0;
            if (take_line(r, p, len, rec))
                return 1;
        }
        return 0;
    }
}

/* ---- fields and context -------------------------------------------------- */

static size_t unquote(const char *p, size_t n, bool quoted, char *out, size_t outlen)
{
    if (!outlen)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        out[o++] = p[i];
        if (quoted && p[i] == '"' && i + 1 < n && p[i + 1] == '"')
            i++;
    }
    out[o] = 0;
    return o;
}

size_t exlog_unquote(const struct exlog_field *f, char *out, size_t outlen)
{
    return unquote(f->p, f->n, f->quoted, out, outlen);
}

bool exlog_context_next(const char *ctx, size_t n, size_t *pos, struct exlog_kv *kv)
{
    size_t i = *pos;
    while (i < n && (ctx[i] == ';' || ctx[i] == ' '))
        i++;
    if (i >= n) {
        *pos = n;
        return false;
    }
    size_t k0 = i;
    while (i < n && ctx[i] != '=' && ctx[i] != ';')
        i++;
    kv->key = ctx + k0;
    kv->klen = i - k0;
    kv->quoted = false;
    if (i >= n || ctx[i] == ';') {          /* a key without a value */
        kv->val = ctx + i;
        kv->vlen = 0;
        *pos = i;
        return true;
    }
    i++;                                    /* '=' */
    if (i < n && ctx[i] == '"') {
        size_t v0 = ++i;
        while (i < n) {
            if (ctx[i] == '"') {
                if (i + 1 < n && ctx[i + 1] == '"') {
                    i += 2;
                    continue;
                }
                break;
            }
            i++;
        }
        kv->val = ctx + v0;
        kv->vlen = i - v0;
        kv->quoted = true;
        if (i < n)
            i++;                            /* the closing quote */
        while (i < n && ctx[i] != ';')      /* anything before the next key belongs to no one */
            i++;
    } else {
        size_t v0 = i;
        while (i < n && ctx[i] != ';')
            i++;
        kv->val = ctx + v0;
        kv->vlen = i - v0;
    }
    *pos = i;
    return true;
}

static bool key_is(const struct exlog_kv *kv, const char *k)
{
    size_t l = strlen(k);
    return kv->klen == l && !strncasecmp(kv->key, k, l);
}

bool exlog_context_get(const char *ctx, size_t n, const char *key, char *out, size_t outlen)
{
    size_t pos = 0;
    struct exlog_kv kv;
    while (exlog_context_next(ctx, n, &pos, &kv))
        if (key_is(&kv, key)) {
            unquote(kv.val, kv.vlen, kv.quoted, out, outlen);
            return true;
        }
    if (outlen)
        out[0] = 0;
    return false;
}

static void copy(char *out, size_t outlen, const char *p, size_t n)
{
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

/* [Error=X Proxy=Y] in a reply: X may be quoted. */
static void bracket(const char *reply, struct exlog_failure *f)
{
    const char *b = strstr(reply, "[Error=");
    if (!b)
        return;
    const char *p = b + 7;
    const char *end;
    if (*p == '"') {
        end = strchr(p + 1, '"');
        if (!end)
            return;
        copy(f->bracket, sizeof f->bracket, p + 1, (size_t)(end - p - 1));
        p = end + 1;
    } else {
        end = p + strcspn(p, " ]");
        copy(f->bracket, sizeof f->bracket, p, (size_t)(end - p));
        p = end;
    }
    while (*p == ' ')
        p++;
    if (!strncmp(p, "Proxy=", 6)) {
        p += 6;
        copy(f->proxy, sizeof f->proxy, p, strcspn(p, "]"));
    }
}

/* The reply without its tag and without the [Error=...] detail: the words
 * every occurrence of this failure shares. */
static void reply_key(const char *reply, char *out, size_t outlen)
{
    const char *p = reply;
    if (*p != '+' && *p != '-') {           /* IMAP: past the tag ("*" included) */
        const char *sp = strchr(p, ' ');
        p = sp ? sp + 1 : p;
    }
    char tmp[512];
    size_t o = 0;
    const char *b = strstr(p, "[Error=");
    const char *close = b ? strchr(b, ']') : NULL;
    for (const char *q = p; *q && o + 1 < sizeof tmp; q++) {
        if (b && close && q == b) {
            q = close;
            if (q[1] == ' ')
                q++;
            continue;
        }
        tmp[o++] = *q;
    }
    while (o && tmp[o - 1] == ' ')
        o--;
    tmp[o] = 0;
    copy(out, outlen, tmp, o);
}

/* A NO, BAD, -ERR or BYE (but the logout's "signing off"). */
static bool reply_fails(const char *reply)
{
    if (!strncmp(reply, "-ERR", 4))
        return true;
    if (reply[0] == '+')
        return false;
    const char *sp = strchr(reply, ' ');
    if (!sp)
        return false;
    const char *w = sp + 1;
    if (!strncasecmp(w, "NO ", 3) || !strncasecmp(w, "BAD ", 4) || !strcasecmp(w, "NO") ||
        !strcasecmp(w, "BAD"))
        return true;
    return !strncasecmp(w, "BYE ", 4) && !strstr(w, "signing off");
}

/* The logout's "* BYE ... signing off." near the end of [p, e). */
static bool signing_off(const char *p, const char *e)
{
    const char *from = e - p > 24 ? e - 24 : p;
    return memmem(from, (size_t)(e - from), "signing off", 11) != NULL;
}

/* Could this raw context record a failure? Looks only at each key's start
 * (the start and after every ';'): an ErrMsg key, or an R reply whose
 * status is not OK (an [Error=...] detail only comes in a NO or -ERR). A ';' inside a quoted value only adds a false start,
 * which the full parse then sorts out. */
static bool maybe_failure(const char *p, size_t n)
{
    const char *e = p + n;
    for (const char *k = p; k && k < e;) {
        size_t left = (size_t)(e - k);
        if (left > 7 && !memcmp(k, "ErrMsg=", 7))
            return true;
        if (left > 2 && k[0] == 'R' && k[1] == '=') {
            const char *v = k + 2;
            while (v < e && *v == '"')
                v++;
            if (v < e && *v == '-')
                return true;                /* -ERR */
            if (v < e && *v != '+') {       /* IMAP: the word after the tag */
                const char *sp = memchr(v, ' ', (size_t)(e - v));
                if (sp && e - sp > 2 && !(sp[1] == 'O' && sp[2] == 'K') &&
                    !(e - sp > 4 && !memcmp(sp + 1, "BYE", 3) && signing_off(sp, e)))
                    return true;
            }
        }
        k = memchr(k, ';', left);
        if (k)
            k++;
    }
    return false;
}

bool exlog_failure(const struct exlog_record *rec, struct exlog_failure *f, char *ctxbuf,
                   size_t ctxlen)
{
    const struct exlog_field *c = &rec->col[EXC_CONTEXT];
    f->source = "";
    f->error[0] = 0;
    /* Most lines succeed: a cheap look before any copying. */
    if (!c->n || !ctxlen || !maybe_failure(c->p, c->n))
        return false;
    memset(f, 0, sizeof *f);
    f->source = "";
    size_t n = exlog_unquote(c, ctxbuf, ctxlen);
    size_t pos = 0;
    struct exlog_kv kv;
    bool proxy_msg = false;
    while (exlog_context_next(ctxbuf, n, &pos, &kv)) {
        if (key_is(&kv, "R") && !f->reply[0])
            unquote(kv.val, kv.vlen, kv.quoted, f->reply, sizeof f->reply);
        else if (key_is(&kv, "ErrMsg"))
            unquote(kv.val, kv.vlen, kv.quoted, f->errmsg, sizeof f->errmsg);
        else if (key_is(&kv, "Excpt"))
            unquote(kv.val, kv.vlen, kv.quoted, f->excpt, sizeof f->excpt);
        else if (key_is(&kv, "Msg") && kv.vlen > 6 && !strncmp(kv.val, "Proxy:", 6)) {
            unquote(kv.val + 6, kv.vlen - 6, kv.quoted, f->proxy, sizeof f->proxy);
            proxy_msg = true;
        }
    }
    /* A reply of several lines: the one that failed, else the first. */
    char *eol = strpbrk(f->reply, "\r\n");
    if (eol)
        *eol = 0;
    char saved[sizeof f->proxy];
    snprintf(saved, sizeof saved, "%s", f->proxy);
    f->proxy[0] = 0;
    bracket(f->reply, f);
    if (!f->proxy[0] && proxy_msg)
        snprintf(f->proxy, sizeof f->proxy, "%s", saved);
    bool fails = f->reply[0] && reply_fails(f->reply);
    /* The client gave up an AUTHENTICATE itself ("*"): a mechanism probe
     * such as mailscope's NTLM discovery, not a failure of the server. */
    if (!strcmp(f->errmsg, "AuthCancelled"))
        return false;
    if (f->errmsg[0]) {
        snprintf(f->error, sizeof f->error, "%s", f->errmsg);
        f->source = "ErrMsg";
    } else if (f->bracket[0]) {
        snprintf(f->error, sizeof f->error, "%s", f->bracket);
        f->source = "Error";
    } else if (fails) {
        reply_key(f->reply, f->error, sizeof f->error);
        f->source = "reply";
    } else
        return false;
    return true;
}

void exlog_failure_context(const struct exlog_failure *f, char *out, size_t outlen)
{
    if (!outlen)
        return;
    size_t o = 0;
    out[0] = 0;
#define PUT(str)                                                                         \
    do {                                                                                 \
        for (const char *q_ = (str); *q_ && o + 1 < outlen; q_++)                        \
            out[o++] = *q_;                                                              \
        out[o] = 0;                                                                      \
    } while (0)
    if (f->reply[0]) {
        PUT("R=\"");
        for (const char *q = f->reply; *q && o + 2 < outlen; q++) {
            if (*q == '"')
                out[o++] = '"';
            out[o++] = *q;
        }
        out[o] = 0;
        PUT("\"");
    }
    if (f->proxy[0]) {
        PUT(o ? ";Msg=Proxy:" : "Msg=Proxy:");
        PUT(f->proxy);
    }
    if (f->errmsg[0]) {
        PUT(o ? ";ErrMsg=" : "ErrMsg=");
        PUT(f->errmsg);
    }
    if (f->excpt[0]) {
        PUT(o ? ";Excpt=" : "Excpt=");
        PUT(f->excpt);
    }
#undef PUT
}
