/* fuzz_playbook — libFuzzer target for the playbook loader (src/playbook.c)
 * and the walkthrough runner over what it loaded (src/walk.c). Whatever a
 * user's playbooks.d file holds:
 *  - loading is all or nothing: on error nothing is added and the message
 *    starts with "fuzz.playbook:LINE: " for a line that exists in the input;
 *  - on success every playbook has an id, a title and steps, every next step
 *    is a step of the same playbook or the end, every question has answers;
 *  - walking each playbook with answers taken from the input ends (resolved,
 *    unresolved or stopped) within WALK_MAX_HISTORY transitions, and every
 *    filled text holds no control byte.
 * Input: the bytes of one playbook file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "playbook.h"
#include "walk.h"

/* walk.c records into a transcript; the fuzzer passes none. */
int transcript_walk(struct transcript *t, const char *ref, const char *outcome, const char *text)
{
    (void)t; (void)ref; (void)outcome; (void)text;
    return 0;
}

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 1;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

static void check_error(const char *err, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(strncmp(err, "fuzz.playbook:", 14) == 0);
    char *end;
    unsigned long line = strtoul(err + 14, &end, 10);
    FUZZ_CHECK(end != err + 14 && *end == ':');
    FUZZ_CHECK(line <= count_lines(data, size) + 1);
}

static void check_filled(const struct walk *w, const char *s)
{
    char *f = walk_fill(w, s);
    if (!f)
        return;     /* no memory: allowed */
    for (const unsigned char *p = (const unsigned char *)f; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7F);
    free(f);
}

static void check_shape(const struct playbook *pb)
{
    FUZZ_CHECK(pb->id && pb->id[0] && pb->title && pb->n_steps >= 1);
    FUZZ_CHECK(pb->n_steps <= PB_MAX_STEPS);
    for (size_t i = 0; i < pb->n_steps; i++) {
        const struct pb_step *st = &pb->steps[i];
        FUZZ_CHECK(st->id && st->text);
        for (int r = 0; r < PBR_COUNT; r++)
            FUZZ_CHECK(st->next[r] >= PB_END && st->next[r] < (int)pb->n_steps);
        for (size_t a = 0; a < st->n_answers; a++)
            FUZZ_CHECK(st->answers[a].next >= PB_END && st->answers[a].next < (int)pb->n_steps);
        FUZZ_CHECK(st->kind != PB_QUESTION || st->n_answers >= 2);
        FUZZ_CHECK(st->kind != PB_ACTION || st->n_commands >= 1);
        FUZZ_CHECK(st->kind != PB_CHECK || st->check != PBC_NONE);
    }
}

static void walk_it(const struct playbook *pb, const uint8_t *data, size_t size)
{
    struct diag_evidence e;
    diag_evidence_init(&e);
    e.host = "mail.contoso.com";
    e.user = "CONTOSO\\alice";
    e.server_fqdn = "EX01.contoso.local";
    e.cert_cn = "mail.contoso.com";
    struct walk_names n;
    walk_names_from(&n, &e);
    struct walk w;
    walk_start(&w, pb, &n, NULL);
    uint32_t seed = (uint32_t)size;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 31 + data[i];
    char err[300];
    static const char *const action_words[] = { "done", "failed", "skip", "bogus" };
    size_t turns = 0;
    while (!walk_over(&w)) {
        FUZZ_CHECK(++turns <= 4 * WALK_MAX_HISTORY + 8);
        const struct pb_step *st = walk_current(&w);
        check_filled(&w, st->text);
        for (size_t c = 0; c < st->n_commands; c++)
            check_filled(&w, st->commands[c]);
        uint32_t r = fuzz_rand(&seed);
        if (walk_wants_check(&w))
            walk_check_result(&w, r & 1, "detail \x1b[2J");
        else if (st->kind == PB_ACTION)
            walk_answer(&w, action_words[r % 4], "a note", err, sizeof err);
        else
            walk_answer(&w, r % 5 ? st->answers[r % st->n_answers].word : "bogus", "", err,
                        sizeof err);
    }
    FUZZ_CHECK(w.status != WALK_RUNNING);
    FUZZ_CHECK(w.n_hist <= WALK_MAX_HISTORY);
    walk_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct playbook_set s;
    char err[512] = "";
    playbook_set_init(&s);
    int rc = playbook_parse(&s, "fuzz.playbook", (const char *)data, size, err, sizeof err);
    if (rc < 0) {
        FUZZ_CHECK(s.n == 0);
        check_error(err, data, size);
    } else {
        for (size_t i = 0; i < s.n; i++) {
            check_shape(s.p[i]);
            walk_it(s.p[i], data, size);
        }
    }
    playbook_set_free(&s);
    return 0;
}
