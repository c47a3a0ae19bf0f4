#include "transcript.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void transcript_init(struct transcript *t, enum session_proto proto)
{
    memset(t, 0, sizeof *t);
    t->proto = proto;
    t->t0_us = loop_now_us();
    clock_gettime(CLOCK_REALTIME, &t->wall0);
}

static void event_free(struct tr_event *e)
{
    free(e->status);
    free(e->message);
    free(e->ref);
    if (!transcript_in_blocks(e))
        free(e->data);
}

void transcript_free(struct transcript *t)
{
    for (size_t i = 0; i < t->n; i++)
        event_free(&t->ev[i]);
    free(t->ev);
    for (size_t i = 0; i < t->n_blocks; i++)
        free(t->blocks[i].buf);
    free(t->blocks);
    if (t->has_tls)
        tls_info_clear(&t->tls);
    if (t->spill) {
        spill_close(t->spill);
        free(t->spill);
    }
    free(t->spilled);
    memset(t, 0, sizeof *t);
}

static struct tr_event *push(struct transcript *t, enum tr_kind kind, int64_t at_us)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct tr_event *ev = realloc(t->ev, cap * sizeof *ev);
        if (!ev)
            return NULL;
        t->ev = ev;
        t->cap = cap;
    }
    struct tr_event *e = &t->ev[t->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->t_us = at_us - t->t0_us;
    return e;
}

struct tr_event *transcript_add(struct transcript *t, enum tr_kind kind, int64_t t_us)
{
    return push(t, kind, t->t0_us + t_us);
}

bool transcript_in_blocks(const struct tr_event *e)
{
    return e->kind != TR_LITERAL;
}

#define TR_BLOCK (1u << 20)

/* Room for len bytes at the end of the last block (a new block when it is
 * full; bytes longer than a block get a block of their own). */
static uint8_t *block_room(struct transcript *t, size_t ev, size_t len)
{
    struct tr_block *b = t->n_blocks ? &t->blocks[t->n_blocks - 1] : NULL;
    if (b && b->cap - b->used >= len)
        return b->buf + b->used;
    if (t->n_blocks == t->cap_blocks) {
        size_t cap = t->cap_blocks ? t->cap_blocks * 2 : 8;
        struct tr_block *nb = realloc(t->blocks, cap * sizeof *nb);
        if (!nb)
            return NULL;
        t->blocks = nb;
        t->cap_blocks = cap;
    }
    size_t cap = len > TR_BLOCK ? len : TR_BLOCK;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return NULL;
    t->blocks[t->n_blocks++] = (struct tr_block){ .buf = buf, .cap = cap, .first_ev = ev };
    return buf;
}

int transcript_set_data(struct transcript *t, struct tr_event *e, const void *data, size_t len)
{
    if (len >= SIZE_MAX - 1)
        return -1;
    uint8_t *d;
    if (transcript_in_blocks(e)) {
        d = block_room(t, (size_t)(e - t->ev), len + 1);
        if (!d)
            return -1;
        t->blocks[t->n_blocks - 1].used += len + 1;
    } else {
        free(e->data);
        d = malloc(len + 1);
        if (!d) {
            e->data = NULL;
            e->len = 0;
            return -1;
        }
    }
    if (len)
        memcpy(d, data, len);
    d[len] = 0;
    e->data = d;
    e->len = len;
    return 0;
}

size_t transcript_block_of(const struct transcript *t, size_t ev)
{
    size_t lo = 0, hi = t->n_blocks;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->blocks[mid].first_ev <= ev)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int copy_str(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return src && !*dst ? -1 : 0;
}

/* The first bytes of a literal are kept to be viewed, within a budget, so a
 * huge FETCH costs a count and not its size. */
static void keep_preview(struct transcript *t, struct tr_event *e, const struct session_event *ev)
{
    size_t room = e->len < TRANSCRIPT_LITERAL_PREVIEW ? TRANSCRIPT_LITERAL_PREVIEW - e->len : 0;
    size_t n = ev->len < room ? ev->len : room;
    if (!n || t->preview_bytes + n > TRANSCRIPT_PREVIEW_BUDGET)
        return;
    uint8_t *d = realloc(e->data, e->len + n + 1);
    if (!d)
        return;
    memcpy(d + e->len, ev->data, n);
    e->data = d;
    e->len += n;
    e->data[e->len] = 0;
    t->preview_bytes += n;
}

/* The whole literal goes to the spill store, as one run of bytes: once the
 * bound cuts it (or another literal came between), the rest is only counted. */
static void keep_spilled(struct transcript *t, struct tr_event *e, const struct session_event *ev)
{
    struct spill *sp = t->spill;
    if (!sp || !ev->len)
        return;
    size_t idx = (size_t)(e - t->ev);
    struct tr_spilled *r = t->n_spilled ? &t->spilled[t->n_spilled - 1] : NULL;
    if (e->literal_seen == ev->len) {   /* the literal's first chunk */
        if (t->n_spilled == t->cap_spilled) {
            size_t cap = t->cap_spilled ? t->cap_spilled * 2 : 16;
            struct tr_spilled *n = realloc(t->spilled, cap * sizeof *n);
            if (!n)
                return;
            t->spilled = n;
            t->cap_spilled = cap;
        }
        r = &t->spilled[t->n_spilled++];
        *r = (struct tr_spilled){ .ev = idx, .off = sp->size, .len = 0 };
    }
    if (!r || r->ev != idx || r->off + r->len != sp->size || r->len + ev->len != e->literal_seen)
        return;
    r->len += spill_append(sp, ev->data, ev->len);
}

bool transcript_spilled(const struct transcript *t, const struct tr_event *e, uint64_t *off,
                        uint64_t *len)
{
    size_t idx = (size_t)(e - t->ev), lo = 0, hi = t->n_spilled;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->spilled[mid].ev < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->n_spilled || t->spilled[lo].ev != idx || !t->spilled[lo].len)
        return false;
    *off = t->spilled[lo].off;
    *len = t->spilled[lo].len;
    return true;
}

/* Chunks of one literal become one event that counts them. */
static int literal(struct transcript *t, const struct session_event *ev)
{
    struct tr_event *last = t->n ? &t->ev[t->n - 1] : NULL;
    bool open = last && last->kind == TR_LITERAL && last->op == ev->op &&
                (last->literal_total ? last->literal_seen < last->literal_total
                                     : ev->literal_total == 0);
    if (!open) {
        last = push(t, TR_LITERAL, ev->at_us);
        if (!last)
            return -1;
        last->op = ev->op;
        last->secure = ev->secure;
        last->literal_total = ev->literal_total;
    }
    last->literal_seen += ev->len;
    keep_preview(t, last, ev);
    keep_spilled(t, last, ev);
    return 0;
}

int transcript_spill(struct transcript *t, uint64_t max, char *err, size_t errlen)
{
    if (t->spill)
        return 0;
    struct spill *sp = calloc(1, sizeof *sp);
    if (!sp || spill_open(sp, max, err, errlen) < 0) {
        if (!sp)
            snprintf(err, errlen, "out of memory");
        free(sp);
        return -1;
    }
    t->spill = sp;
    return 0;
}

static int tls_facts(struct transcript *t, const struct session_event *ev, struct tr_event *e)
{
    if (t->has_tls)
        tls_info_clear(&t->tls);
    t->has_tls = tls_info_copy(&t->tls, ev->tls) == 0;
    e->ok = ev->tls->verified;
    return t->has_tls ? 0 : -1;
}

int transcript_append(struct transcript *t, const struct session_event *ev)
{
    static const enum tr_kind kinds[] = {
        [SEV_OP_BEGIN] = TR_OP_BEGIN, [SEV_SENT] = TR_SENT, [SEV_RECEIVED] = TR_RECEIVED,
        [SEV_LITERAL] = TR_LITERAL, [SEV_OP_END] = TR_OP_END, [SEV_TLS] = TR_TLS,
        [SEV_DISCARDED] = TR_DISCARDED, [SEV_NOTICE] = TR_NOTICE, [SEV_NTLM] = TR_NTLM,
        [SEV_STATE] = TR_STATE, [SEV_CLOSED] = TR_CLOSED };
    if (ev->type == SEV_LITERAL)
        return literal(t, ev);
    struct tr_event *e = push(t, kinds[ev->type], ev->at_us);
    if (!e)
        return -1;
    e->op = ev->op;
    e->secure = ev->secure;
    e->ok = ev->ok;
    e->fail = ev->fail;
    e->state = ev->state;
    e->elapsed_us = ev->elapsed_us;
    int rc = 0;
    if (ev->type == SEV_SENT || ev->type == SEV_RECEIVED || ev->type == SEV_DISCARDED)
        rc = transcript_set_data(t, e, ev->data, ev->len);
    if (ev->type == SEV_OP_END)
        rc |= copy_str(&e->status, ev->status);
    rc |= copy_str(&e->message, ev->message);
    if (ev->type == SEV_TLS && ev->tls)
        rc |= tls_facts(t, ev, e);
    if (ev->type == SEV_NTLM && ev->ntlm) {
        t->ntlm = *ev->ntlm;
        t->has_ntlm = true;
    }
    return rc;
}

int transcript_note(struct transcript *t, enum tr_kind kind, enum session_op op, const char *msg)
{
    struct tr_event *e = push(t, kind, loop_now_us());
    if (!e)
        return -1;
    e->op = op;
    return copy_str(&e->message, msg);
}

int transcript_walk(struct transcript *t, const char *ref, const char *outcome, const char *text)
{
    struct tr_event *e = push(t, TR_WALK, loop_now_us());
    if (!e)
        return -1;
    e->op = OP_NONE;
    if (copy_str(&e->ref, ref) < 0 || copy_str(&e->status, outcome) < 0)
        return -1;
    return copy_str(&e->message, text);
}

const char *transcript_kind_name(enum tr_kind k)
{
    static const char *const names[] = { "op-begin", "sent", "received", "literal", "op-end",
                                         "tls", "discarded", "notice", "ntlm", "state", "closed",
                                         "note", "walk" };
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

void transcript_count_text(uint64_t v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v), o = 0;
    if (!cap)
        return;
    for (int i = 0; i < n && (size_t)o + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ' ';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
}
