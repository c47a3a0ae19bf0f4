#include "tpane.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lineclass.h"
#include "sanitize.h"

#define SHOW_MAX 16384      /* bytes of one line shown; the rest is counted */

void tpane_init(struct tpane *tp)
{
    memset(tp, 0, sizeof *tp);
    tv_init(&tp->tv);
}

void tpane_free(struct tpane *tp) { tv_free(&tp->tv); }

void tpane_info(struct tpane *tp, enum role role, const char *text)
{
    tv_add_text(&tp->tv, role, text);
}

static void stamp(const struct transcript *t, const struct tr_event *e, char *buf, size_t cap)
{
    int64_t us = (int64_t)t->wall0.tv_sec * 1000000 + t->wall0.tv_nsec / 1000 + e->t_us;
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    localtime_r(&secs, &tm);
    snprintf(buf, cap, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(us / 1000 % 1000));
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
    char prefix[32], *clean = sanitize_text(e->data, e->len, SHOW_MAX);
    stamp(t, e, prefix, sizeof prefix);
    size_t plen = strlen(prefix);
    snprintf(prefix + plen, sizeof prefix - plen, " %s", e->kind == TR_SENT ? "C:" : "S:");
    plen = strlen(prefix);
    size_t n = plen + 1 + (clean ? strlen(clean) : 0) + 1;
    char *line = malloc(n);
    if (line && clean) {
        snprintf(line, n, "%s %s", prefix, clean);
        enum role role = e->kind == TR_SENT ? ROLE_SENT : received_role(t, e);
        tv_add_prefixed(&tp->tv, e->secure ? ROLE_DIM : ROLE_CLEAR, plen, role, line);
        if (tp->raw && !sanitize_is_clean(e->data, e->len))
            hex_line(tp, e);
        char decoded[600], note[640];
        if (e->kind == TR_RECEIVED && lineclass_challenge_text(e->data, e->len, decoded,
                                                               sizeof decoded)) {
            snprintf(note, sizeof note, "               (base64: %s)", decoded);
            tv_add(&tp->tv, ROLE_DIM, note);
        }
    }
    free(line);
    free(clean);
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
    size_t end = t->n;
    /* A literal still arriving is shown once its count is final (bulk POP3
     * data, of unknown size, once something follows it). */
    if (end && t->ev[end - 1].kind == TR_LITERAL &&
        (t->ev[end - 1].literal_seen < t->ev[end - 1].literal_total ||
         !t->ev[end - 1].literal_total))
        end--;
    bool added = tp->consumed < end;
    for (; tp->consumed < end; tp->consumed++)
        show(tp, t, &t->ev[tp->consumed]);
    return added;
}

void tpane_clear(struct tpane *tp, const struct transcript *t)
{
    tv_clear(&tp->tv);
    tp->consumed = t->n;
}

void tpane_rebuild(struct tpane *tp)
{
    tv_clear(&tp->tv);
    tp->consumed = 0;
}
