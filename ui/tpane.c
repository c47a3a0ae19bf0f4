#include "tpane.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lineclass.h"
#include "sanitize.h"

#define SHOW_MAX 16384      /* bytes of one line shown; the rest is counted */

static size_t render(void *ctx, uint32_t key, char *buf, size_t cap);
static uint32_t find(void *ctx, uint32_t first, uint32_t last, const struct tv_pattern *p,
                     bool forward);

void tpane_init(struct tpane *tp)
{
    memset(tp, 0, sizeof *tp);
    tv_init(&tp->tv);
    tv_set_source(&tp->tv, &(struct tv_source){ render, find, tp });
    tp->stamp_sec = INT64_MIN;
}

void tpane_free(struct tpane *tp)
{
    tv_free(&tp->tv);
    free(tp->odd);
    free(tp->marks);
}

#define TPANE_MARK_EVERY 256

static void mark(struct tpane *tp)
{
    if (tp->consumed % TPANE_MARK_EVERY)
        return;
    if (tp->n_marks == tp->cap_marks) {
        size_t cap = tp->cap_marks ? tp->cap_marks * 2 : 64;
        struct tpane_mark *m = realloc(tp->marks, cap * sizeof *m);
        if (!m)
            return;   /* going back then re-shows more events */
        tp->marks = m;
        tp->cap_marks = cap;
    }
    tp->marks[tp->n_marks++] = (struct tpane_mark){ tp->consumed, tp->tv.n, tp->n_odd };
}

void tpane_info(struct tpane *tp, enum role role, const char *text)
{
    tv_add_text(&tp->tv, role, text);
}

/* "HH:MM:SS.mmm C:" or "... S:" for a sent or received line, into buf (32
 * bytes); its length. localtime_r runs once per second shown. */
static size_t prefix_of(struct tpane *tp, const struct transcript *t, const struct tr_event *e,
                        char *buf)
{
    int64_t us = (int64_t)t->wall0.tv_sec * 1000000 + t->wall0.tv_nsec / 1000 + e->t_us;
    int64_t secs = us / 1000000;
    if (secs != tp->stamp_sec) {
        time_t tt = (time_t)secs;
        struct tm tm;
        localtime_r(&tt, &tm);
        snprintf(tp->stamp_hms, sizeof tp->stamp_hms, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        tp->stamp_sec = secs;
    }
    int ms = (int)(us / 1000 % 1000);
    if (ms < 0 || strlen(tp->stamp_hms) != 8)
        return (size_t)snprintf(buf, 32, "%s.%03d %s", tp->stamp_hms, ms,
                                e->kind == TR_SENT ? "C:" : "S:");
    /* snprintf's result, written directly: a search may build a million */
    memcpy(buf, tp->stamp_hms, 8);
    char *p = buf + 8;
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    *p++ = ' ';
    *p++ = e->kind == TR_SENT ? 'C' : 'S';
    *p++ = ':';
    *p = 0;
    return (size_t)(p - buf);
}

static bool is_wire(const struct tr_event *e)
{
    return e->kind == TR_SENT || e->kind == TR_RECEIVED;
}

/* The shown text of a line is its bytes unchanged: a search of the bytes
 * is a search of what is shown. */
static bool shown_as_is(const struct tr_event *e)
{
    return e->len <= SHOW_MAX && sanitize_is_clean(e->data, e->len);
}

/* A sent or received line as it was shown when the pane kept a copy:
 * prefix, a space, the sanitised bytes (at most SHOW_MAX). */
static size_t render(void *ctx, uint32_t key, char *buf, size_t cap)
{
    struct tpane *tp = ctx;
    const struct transcript *t = tp->t;
    buf[0] = 0;
    if (!t || key >= t->n || !is_wire(&t->ev[key]) || cap < 40)
        return 0;
    const struct tr_event *e = &t->ev[key];
    size_t n = prefix_of(tp, t, e, buf);
    buf[n++] = ' ';
    bool as_is = shown_as_is(e);
    char *clean = as_is ? NULL : sanitize_text(e->data, e->len, SHOW_MAX);
    const char *body = clean ? clean : (const char *)e->data;
    size_t len = clean ? strlen(clean) : as_is ? e->len : 0;
    if (len > cap - 1 - n)
        len = cap - 1 - n;
    memcpy(buf + n, body, len);
    n += len;
    buf[n] = 0;
    free(clean);
    return n;
}

/* ---- search ---- */

#define NONE UINT32_MAX

/* Index in odd of the first key >= k. */
static size_t odd_lower(const struct tpane *tp, uint64_t k)
{
    size_t lo = 0, hi = tp->n_odd;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tp->odd[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool is_odd(const struct tpane *tp, uint32_t k)
{
    size_t i = odd_lower(tp, k);
    return i < tp->n_odd && tp->odd[i] == k;
}

static bool rendered_has(struct tpane *tp, uint32_t key, const struct tv_pattern *p, char *buf)
{
    size_t n = render(tp, key, buf, TV_RENDER_MAX);
    return tv_find_ci(buf, 0, n, p) >= 0;
}

/* The hits of p in block b's bytes of events first..last that are hits in
 * their shown text: the first (forward) or the last. */
static uint32_t scan_block(struct tpane *tp, size_t b, uint32_t first, uint32_t last,
                           const struct tv_pattern *p, bool forward, char *rbuf)
{
    const struct transcript *t = tp->t;
    const struct tr_block *blk = &t->blocks[b];
    size_t end_ev = b + 1 < t->n_blocks ? t->blocks[b + 1].first_ev : t->n;
    size_t c = first > blk->first_ev ? first : blk->first_ev;
    size_t hi = last < end_ev ? last : end_ev - 1;
    while (c <= hi && !(transcript_in_blocks(&t->ev[c]) && t->ev[c].data))
        c++;
    if (c > hi)
        return NONE;
    uint32_t best = NONE;
    const char *buf = (const char *)blk->buf;
    for (size_t from = (size_t)(t->ev[c].data - blk->buf); from < blk->used;) {
        long at = tv_find_ci(buf, from, blk->used, p);
        if (at < 0)
            break;
        const uint8_t *hit = blk->buf + at;
        while (c <= hi && !(transcript_in_blocks(&t->ev[c]) && t->ev[c].data &&
                            hit >= t->ev[c].data && hit <= t->ev[c].data + t->ev[c].len))
            c++;
        if (c > hi)
            break;
        if (is_wire(&t->ev[c]) && (!is_odd(tp, (uint32_t)c) || rendered_has(tp, (uint32_t)c, p, rbuf))) {
            best = (uint32_t)c;
            if (forward)
                break;
        }
        from = (size_t)(t->ev[c].data + t->ev[c].len + 1 - blk->buf);
        c++;
    }
    return best;
}

static uint32_t scan_blocks(struct tpane *tp, uint32_t first, uint32_t last,
                            const struct tv_pattern *p, bool forward, char *rbuf)
{
    const struct transcript *t = tp->t;
    if (!t->n_blocks)
        return NONE;
    size_t b0 = transcript_block_of(t, first), b1 = transcript_block_of(t, last);
    for (size_t n = 0; n <= b1 - b0; n++) {
        uint32_t hit = scan_block(tp, forward ? b0 + n : b1 - n, first, last, p, forward, rbuf);
        if (hit != NONE)
            return hit;
    }
    return NONE;
}

/* The lines whose shown text differs from their bytes, rendered. */
static uint32_t scan_odd(struct tpane *tp, uint32_t first, uint32_t last,
                         const struct tv_pattern *p, bool forward, char *rbuf)
{
    size_t lo = odd_lower(tp, first), hi = odd_lower(tp, (uint64_t)last + 1);
    for (size_t n = 0; n < hi - lo; n++) {
        uint32_t k = tp->odd[forward ? lo + n : hi - 1 - n];
        if (rendered_has(tp, k, p, rbuf))
            return k;
    }
    return NONE;
}

/* Where in a line's prefix ("HH:MM:SS.mmm C: ") a hit of p could begin:
 * a bit per offset, 0 when none can. */
static uint32_t prefix_starts(const struct tv_pattern *p)
{
    static const char tmpl[] = "00:00:00.000 X: ";
    uint32_t starts = 0;
    for (size_t o = 0; o < sizeof tmpl - 1; o++) {
        bool ok = true;
        for (size_t k = 0; ok && k < p->len && o + k < sizeof tmpl - 1; k++) {
            char c = p->pat[k], m = tmpl[o + k];
            ok = m == '0' ? c >= '0' && c <= '9' : m == 'X' ? c == 'c' || c == 's' : c == m;
        }
        if (ok)
            starts |= 1u << o;
    }
    return starts;
}

/* Hits that begin in the prefix of a line shown as is: p is compared at
 * each offset where it could begin, over the prefix and the line's bytes. */
static uint32_t scan_prefix(struct tpane *tp, uint32_t first, uint32_t last,
                            const struct tv_pattern *p, bool forward)
{
    uint32_t starts = prefix_starts(p);
    if (!starts)
        return NONE;
    const struct transcript *t = tp->t;
    char *buf = malloc(32 + p->len);
    uint32_t hit = NONE;
    for (uint64_t n = 0; buf && hit == NONE && n <= (uint64_t)last - first; n++) {
        uint32_t k = (uint32_t)(forward ? first + n : last - n);
        const struct tr_event *e = &t->ev[k];
        if (!is_wire(e) || (tp->n_odd && is_odd(tp, k)))
            continue;
        size_t len = 16;
        if (starts & 0xfff)     /* the time stamp could hold a hit's start */
            len = prefix_of(tp, t, e, buf);
        else                    /* only " C: " could: the time stamp is not written */
            memcpy(buf + 12, e->kind == TR_SENT ? " C:" : " S:", 3), len = 15;
        buf[len++] = ' ';
        size_t head = e->len < p->len ? e->len : p->len;
        memcpy(buf + len, e->data, head);
        len += head;
        for (size_t o = 0; o < len && (starts >> o); o++) {
            if (!(starts >> o & 1) || o + p->len > len)
                continue;
            size_t m = 0;
            while (m < p->len && tolower((unsigned char)buf[o + m]) == (unsigned char)p->pat[m])
                m++;
            if (m == p->len) {
                hit = k;
                break;
            }
        }
    }
    free(buf);
    return hit;
}

/* The view's search of a run of keyed lines: the lines' bytes in the
 * transcript's blocks at memchr's speed, the few lines whose shown text is
 * not their bytes rendered, and the prefixes only when p could begin in one. */
static uint32_t find(void *ctx, uint32_t first, uint32_t last, const struct tv_pattern *p,
                     bool forward)
{
    struct tpane *tp = ctx;
    if (!tp->t || last >= tp->t->n || first > last)
        return NONE;
    char *rbuf = malloc(TV_RENDER_MAX);
    if (!rbuf)
        return NONE;
    uint32_t hit = scan_blocks(tp, first, last, p, forward, rbuf);
    /* Then only where a hit would come before (forward) or after this one. */
    for (int pass = 0; pass < 2; pass++) {
        uint32_t lo = first, hi = last;
        if (hit != NONE && (forward ? hit == first : hit == last))
            break;
        if (hit != NONE && forward)
            hi = hit - 1;
        else if (hit != NONE)
            lo = hit + 1;
        uint32_t h = pass == 0 ? scan_odd(tp, lo, hi, p, forward, rbuf)
                               : scan_prefix(tp, lo, hi, p, forward);
        if (h != NONE)
            hit = h;
    }
    free(rbuf);
    return hit;
}

/* ---- lines ---- */

static void add_odd(struct tpane *tp, uint32_t key)
{
    if (tp->n_odd == tp->cap_odd) {
        size_t cap = tp->cap_odd ? tp->cap_odd * 2 : 64;
        uint32_t *o = realloc(tp->odd, cap * sizeof *o);
        if (!o)
            return;
        tp->odd = o;
        tp->cap_odd = cap;
    }
    tp->odd[tp->n_odd++] = key;
}

static enum role received_role(const struct transcript *t, const struct tr_event *e)
{
    switch (lineclass_status(t->proto, e->data, e->len)) {
    case LS_OK: return ROLE_OK;
    case LS_NO: return ROLE_NO;
    case LS_BAD: return ROLE_BAD;
    case LS_BYE: return ROLE_BYE;
    default: return ROLE_NORMAL;
    }
}

static void hex_line(struct tpane *tp, const struct tr_event *e)
{
    char hex[64 * 3 + 32];
    size_t o = (size_t)snprintf(hex, sizeof hex, "               hex:");
    for (size_t i = 0; i < e->len && i < 64; i++)
        o += (size_t)snprintf(hex + o, sizeof hex - o, " %02x", e->data[i]);
    if (e->len > 64)
        snprintf(hex + o, sizeof hex - o, " ...");
    tv_add(&tp->tv, ROLE_DIM, hex);
}

static void wire_line(struct tpane *tp, const struct transcript *t, const struct tr_event *e)
{
    uint32_t key = (uint32_t)(e - t->ev);
    char prefix[32];
    size_t plen = prefix_of(tp, t, e, prefix);
    bool clean = sanitize_is_clean(e->data, e->len);
    if (!clean || e->len > SHOW_MAX)
        add_odd(tp, key);
    enum role role = e->kind == TR_SENT ? ROLE_SENT : received_role(t, e);
    tv_add_keyed(&tp->tv, e->secure ? ROLE_DIM : ROLE_CLEAR, plen, role, key);
    if (tp->raw && !clean)
        hex_line(tp, e);
    char decoded[600], note[640];
    if (e->kind == TR_RECEIVED && lineclass_challenge_text(e->data, e->len, decoded,
                                                           sizeof decoded)) {
        snprintf(note, sizeof note, "               (base64: %s)", decoded);
        tv_add(&tp->tv, ROLE_DIM, note);
    }
}

static void op_end(struct tpane *tp, const struct transcript *t, const struct tr_event *e)
{
    char text[1400];
    const char *name = session_op_name(e->op, t->proto);
    if (e->ok)
        snprintf(text, sizeof text, "   -- %s: %s in %.1f ms", name,
                 e->status && *e->status ? e->status : "done", e->elapsed_us / 1000.0);
    else
        snprintf(text, sizeof text, "   -- %s FAILED%s%s%s after %.1f ms: %s", name,
                 e->fail ? " (" : "", e->fail ? failure_class_name(e->fail) : "",
                 e->fail ? ")" : "", e->elapsed_us / 1000.0, e->message ? e->message : "");
    tpane_info(tp, e->ok ? ROLE_DIM : (e->fail ? ROLE_BAD : ROLE_NOTICE), text);
}

static void tls_banner(struct tpane *tp, const struct transcript *t, const struct tr_event *e)
{
    const struct tls_info *tls = t->has_tls ? &t->tls : NULL;
    if (!tls || !tls->version[0] || !tls->cipher[0]) {
        tpane_info(tp, ROLE_BANNER_BAD, "--- TLS handshake did not complete ---");
        return;
    }
    if (e->ok)
        tv_addf(&tp->tv, ROLE_BANNER_OK, "--- %s established, %s, certificate verified ---",
               tls->version, tls->cipher);
    else
        tv_addf(&tp->tv, ROLE_BANNER_BAD, "--- %s established, %s, certificate NOT verified: %s ---",
               tls->version, tls->cipher, tls->verify_error);
}

static void discarded(struct tpane *tp, const struct tr_event *e)
{
    char *clean = sanitize_text(e->data, e->len, 2000);
    if (e->op == OP_TLS)
        tv_addf(&tp->tv, ROLE_BANNER_BAD, "--- the server answered in PLAIN TEXT where TLS was due "
               "(%zu bytes, never trusted): %s ---", e->len, clean ? clean : "");
    else
        tv_addf(&tp->tv, ROLE_BANNER_BAD, "--- %zu bytes DISCARDED at STARTTLS (plain text, possible "
               "response injection, never part of TLS): %s ---", e->len, clean ? clean : "");
    free(clean);
}

static void ntlm(struct tpane *tp, const struct transcript *t)
{
    char text[1200];
    snprintf(text, sizeof text, "NTLM challenge: server %s (%s\\%s)%s%s", t->ntlm.dns_computer,
             t->ntlm.netbios_domain, t->ntlm.netbios_computer,
             t->ntlm.os_version[0] ? ", Windows " : "", t->ntlm.os_version);
    tpane_info(tp, ROLE_NOTICE, text);
}

/* A walkthrough step: its text's lines (a step's commands come one a line). */
static void walk_event(struct tpane *tp, const struct tr_event *e)
{
    const char *m = e->message ? e->message : "";
    size_t n = strcspn(m, "\n");
    tv_addf(&tp->tv, ROLE_NOTE, "walkthrough %s [%s] %.*s", e->ref ? e->ref : "",
            e->status ? e->status : "", (int)n, m);
    for (m += n; *m == '\n'; m += n) {
        m++;
        n = strcspn(m, "\n");
        tv_addf(&tp->tv, ROLE_NOTE, "    %.*s", (int)n, m);
    }
}

static void show(struct tpane *tp, const struct transcript *t, const struct tr_event *e)
{
    char text[600], count[200];
    switch (e->kind) {
    case TR_SENT: case TR_RECEIVED:
        wire_line(tp, t, e);
        break;
    case TR_LITERAL:
        transcript_count_text(e->literal_seen, count, sizeof count);
        snprintf(text, sizeof text, "               {%s bytes}%s", count,
                 e->len ? "  (v in the transcript: view)" : "");
        tv_add(&tp->tv, ROLE_DIM, text);
        tv_set_ref(&tp->tv, (uint32_t)(e - t->ev) + 1);
        break;
    case TR_OP_END: op_end(tp, t, e); break;
    case TR_TLS: tls_banner(tp, t, e); break;
    case TR_DISCARDED: discarded(tp, e); break;
    case TR_NTLM: ntlm(tp, t); break;
    case TR_NOTICE:
        tv_addf(&tp->tv, ROLE_NOTICE, "! %s", e->message ? e->message : "");
        break;
    case TR_NOTE:
        tv_addf(&tp->tv, ROLE_NOTE, "note: %s", e->message ? e->message : "");
        break;
    case TR_WALK: walk_event(tp, e); break;
    case TR_CLOSED:
        tv_addf(&tp->tv, e->fail ? ROLE_BANNER_BAD : ROLE_DIM, "--- connection closed%s%s ---",
               e->message ? ": " : "", e->message ? e->message : "");
        break;
    default:
        break;
    }
}

static void add_lines(struct textview *out, const uint8_t *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        const uint8_t *lf = memchr(data + off, '\n', len - off);
        size_t end = lf ? (size_t)(lf - data) : len, n = end - off;
        if (n && data[off + n - 1] == '\r')
            n--;
        char *clean = sanitize_text(data + off, n, SHOW_MAX);
        tv_add(out, ROLE_NORMAL, clean ? clean : "");
        free(clean);
        off = end + 1;
    }
}

uint64_t tpane_literal_page(const struct transcript *t, uint32_t ref, uint64_t page,
                            struct textview *out)
{
    tv_clear(out);
    out->follow = false;
    if (!ref || ref > t->n || t->ev[ref - 1].kind != TR_LITERAL)
        return 0;
    const struct tr_event *e = &t->ev[ref - 1];
    char title[300];
    uint64_t spill_off, spill_len;
    if (!t->spill || !transcript_spilled(t, e, &spill_off, &spill_len)) {
        snprintf(title, sizeof title, "Literal of %" PRIu64 " bytes%s (Esc or q closes)",
                 e->literal_seen, e->len < e->literal_seen ? ", its first bytes" : "");
        tv_add(out, ROLE_TITLE, title);
        add_lines(out, e->data, e->len);
        return 0;
    }
    uint64_t pages = (spill_len + TPANE_PAGE_BYTES - 1) / TPANE_PAGE_BYTES;
    if (page >= pages)
        page = pages - 1;
    uint64_t from = page * TPANE_PAGE_BYTES;
    size_t n = spill_len - from < TPANE_PAGE_BYTES ? (size_t)(spill_len - from)
                                                      : TPANE_PAGE_BYTES;
    snprintf(title, sizeof title, "Literal of %" PRIu64 " bytes%s: bytes %" PRIu64 "-%" PRIu64
             ", page %" PRIu64 " of %" PRIu64 " (] next, [ previous; Esc or q closes)",
             e->literal_seen, spill_len < e->literal_seen ? " (the rest beyond --spill-max "
             "was only counted)" : "", from, from + n, page + 1, pages);
    tv_add(out, ROLE_TITLE, title);
    uint8_t *buf = malloc(n ? n : 1);
    ssize_t got = buf ? spill_read(t->spill, spill_off + from, buf, n) : -1;
    if (got < 0)
        tv_add(out, ROLE_NOTICE, "the spilled bytes cannot be read back");
    else
        add_lines(out, buf, (size_t)got);
    free(buf);
    return page;
}

void tpane_literal_view(const struct transcript *t, uint32_t ref, struct textview *out)
{
    tpane_literal_page(t, ref, 0, out);
}

bool tpane_sync(struct tpane *tp, const struct transcript *t)
{
    tp->t = t;
    size_t end = t->n;
    /* A literal still arriving is shown once its count is final (bulk POP3
     * data, of unknown size, once something follows it). */
    if (end && t->ev[end - 1].kind == TR_LITERAL &&
        (t->ev[end - 1].literal_seen < t->ev[end - 1].literal_total ||
         !t->ev[end - 1].literal_total))
        end--;
    bool added = tp->consumed < end;
    for (; tp->consumed < end; tp->consumed++) {
        mark(tp);
        show(tp, t, &t->ev[tp->consumed]);
    }
    return added;
}

void tpane_clear(struct tpane *tp, const struct transcript *t)
{
    tv_clear(&tp->tv);
    tp->n_odd = 0;
    tp->n_marks = 0;
    tp->t = t;
    tp->consumed = t->n;
}

void tpane_rebuild(struct tpane *tp)
{
    tv_clear(&tp->tv);
    tp->n_odd = 0;
    tp->consumed = 0;
    tp->n_marks = 0;
}

void tpane_truncate(struct tpane *tp, size_t pos)
{
    while (tp->n_marks && tp->marks[tp->n_marks - 1].consumed > pos)
        tp->n_marks--;
    if (!tp->n_marks || pos >= tp->consumed) {
        if (pos < tp->consumed)
            tpane_rebuild(tp);
        return;
    }
    struct tpane_mark *m = &tp->marks[--tp->n_marks];   /* mark() records it again */
    tv_truncate(&tp->tv, m->lines);
    tp->n_odd = m->n_odd;
    tp->consumed = m->consumed;
}

void tpane_detach(struct tpane *tp)
{
    tv_materialize(&tp->tv);
    tp->n_odd = 0;
    tp->n_marks = 0;
    tp->t = NULL;
}
