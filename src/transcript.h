/* transcript — the one record of a session: every line sent (already
 * redacted by the engine) and received, TLS boundaries and the chain,
 * notices, operation boundaries with timings. Views, reports and exporters
 * read it; nothing keeps a second copy. Of an IMAP literal only the first
 * TRANSCRIPT_LITERAL_PREVIEW bytes are kept (within a budget for the whole
 * session) and the rest counted. With a spill store (transcript_spill()),
 * the whole literal or bulk reply also goes to a temporary file, bounded,
 * for the console's literal viewer to page through (src/spill.h).
 * The bytes of lines (SENT, RECEIVED, DISCARDED) are packed one after
 * another in the transcript's blocks, in event order: no allocation per
 * line, and a search can scan a block at memchr's speed. */
#ifndef MAILSCOPE_TRANSCRIPT_H
#define MAILSCOPE_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "session.h"
#include "spill.h"

#define TRANSCRIPT_LITERAL_PREVIEW (64u * 1024)
#define TRANSCRIPT_PREVIEW_BUDGET (16u * 1024 * 1024)

enum tr_kind {
    TR_OP_BEGIN, TR_SENT, TR_RECEIVED, TR_LITERAL, TR_OP_END, TR_TLS, TR_DISCARDED,
    TR_NOTICE, TR_NTLM, TR_STATE, TR_CLOSED,
    TR_NOTE,                    /* the operator's own words */
    TR_WALK                     /* a walkthrough step: ref "playbook/step", status the outcome
                                 * ("shown", "command", "note", "done", "failed", "skipped",
                                 * "passed", "answer"; walk.h), message the step's filled text,
                                 * a command, or the operator's answer or note */
};

/* Laid out small (a million lines cost a million of these): the kind and
 * state in a byte each, and the OP_END and LITERAL numbers sharing room. */
struct tr_event {
    int64_t t_us;               /* since the transcript began */
    char *status;               /* OP_END */
    char *message;              /* OP_END, NOTICE, CLOSED, NOTE, WALK */
    char *ref;                  /* WALK: "playbook-id/step-id" */
    uint8_t *data;              /* SENT, RECEIVED, DISCARDED: bytes (NUL-terminated copy,
                                 * in the transcript's blocks); LITERAL: the first bytes
                                 * (preview), the event's own allocation */
    size_t len;
    union {
        int64_t elapsed_us;     /* OP_END */
        struct {
            uint64_t literal_total, literal_seen;   /* LITERAL */
        };
    };
    enum session_op op;
    enum failure_class fail;
    enum tr_kind kind : 8;
    enum session_state state : 8;
    bool secure, ok;
};

/* Line bytes, each NUL-terminated, in event order; first_ev is the index of
 * the first event whose bytes are in the block. */
struct tr_block {
    uint8_t *buf;
    size_t used, cap;
    size_t first_ev;
};

struct transcript {
    struct tr_event *ev;
    size_t n, cap;
    struct tr_block *blocks;
    size_t n_blocks, cap_blocks;
    int64_t t0_us;              /* monotonic start */
    struct timespec wall0;      /* wall-clock start */
    enum session_proto proto;
    struct tls_info tls;        /* the last TLS handshake's facts */
    bool has_tls;
    struct ntlm_challenge_info ntlm;
    bool has_ntlm;
    size_t preview_bytes;       /* literal bytes kept so far */
    struct spill *spill;        /* NULL: literals are previewed only */
    /* Where each spilled literal's bytes are (few entries: kept apart so
     * that every event does not pay for them), in event order. */
    struct tr_spilled { size_t ev; uint64_t off, len; } *spilled;
    size_t n_spilled, cap_spilled;
};

void transcript_init(struct transcript *t, enum session_proto proto);
void transcript_free(struct transcript *t);
/* Record one engine event. Returns 0, or -1 when memory ran out. */
int transcript_append(struct transcript *t, const struct session_event *ev);
/* Keep every literal's bytes in a spill store bounded by max bytes (from now
 * on; closed by transcript_free). 0, or -1 with a message. */
int transcript_spill(struct transcript *t, uint64_t max, char *err, size_t errlen);
/* The spill store's run of the literal event e: its offset and length (less
 * than literal_seen when the bound cut it). False when none was kept. */
bool transcript_spilled(const struct transcript *t, const struct tr_event *e, uint64_t *off,
                        uint64_t *len);
/* An event of the front end's own (a refusal before anything was sent). */
int transcript_note(struct transcript *t, enum tr_kind kind, enum session_op op, const char *msg);
/* A walkthrough step's outcome, for the ticket. */
int transcript_walk(struct transcript *t, const char *ref, const char *outcome, const char *text);
const char *transcript_kind_name(enum tr_kind k);
/* v with its thousands apart ("1 048 576"), as byte counts are shown. */
void transcript_count_text(uint64_t v, char *buf, size_t cap);
/* An empty event of kind at t_us since the start, for a loader that fills
 * it (src/trjson.c); the transcript owns what the loader attaches to it.
 * NULL when memory ran out. */
struct tr_event *transcript_add(struct transcript *t, enum tr_kind kind, int64_t t_us);
/* Give e (an event of t) a copy of data[0..len), NUL-terminated: in the
 * blocks for a line's bytes, its own allocation for a literal's preview.
 * Events get their bytes in event order. 0, or -1 when memory ran out. */
int transcript_set_data(struct transcript *t, struct tr_event *e, const void *data, size_t len);
/* True when e's bytes lie in t's blocks (a line's, not a literal's). */
bool transcript_in_blocks(const struct tr_event *e);
/* The last block whose first event is ev or one before it: the block that
 * holds ev's bytes when it has some there (0 when there are no blocks). */
size_t transcript_block_of(const struct transcript *t, size_t ev);

#endif
