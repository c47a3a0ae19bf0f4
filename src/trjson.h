/* trjson — the .json transcript (schema mailscope.transcript/2, man page
 * JSON TRANSCRIPT): the writer, and the loader that rebuilds a recording
 * for `mailscope replay`.
 * Contract:
 *  - The writer puts down everything the transcript holds: every event with
 *    its time, kind, op, direction and bytes (exact: "text" when valid UTF-8
 *    without NUL, else "data_b64"), the wall-clock start, the TLS facts with
 *    the whole chain and verified path as PEM, the NTLM facts, the
 *    capabilities of each phase, and the probe report (diagnoses included).
 *  - The loader trusts nothing: size, nesting, types, bounds, base64, enum
 *    names and the certificates are all checked; a bad file is refused with
 *    a message naming the field (and event index), its quoted content
 *    sanitised. It never crashes on any input (fuzzed: tests/fuzz/fuzz_trjson.c).
 *    It accepts schema /1 (older builds: events and report only) too.
 *  - The loader streams: it walks the file one value at a time (jscan.h),
 *    members in any order, each event parsed alone and added at once, so
 *    memory is the recording being built plus one value.
 *  - The result is a struct recording (recording.h), plain data. */
#ifndef MAILSCOPE_TRJSON_H
#define MAILSCOPE_TRJSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "capset.h"
#include "recording.h"
#include "transcript.h"

#define TRJSON_SCHEMA "mailscope.transcript/2"
/* The loader reads a file one value at a time (src/jscan.h), so memory
 * follows what is kept (a million 60-byte lines: about 145 MB), and the
 * bounds are on what a recording can need, not on a tree of the file. */
#define TRJSON_MAX_FILE (1024u * 1024 * 1024)   /* bytes of a file */
#define TRJSON_MAX_EVENTS 2000000u
#define TRJSON_MAX_EVENT (8u * 1024 * 1024)     /* one event's JSON: its bytes escaped (\u0001: 6x) */
#define TRJSON_MAX_HEAD (32u * 1024 * 1024)     /* JSON of everything but the events */
#define TRJSON_MAX_MEMBERS 256u                 /* top-level members */
#define TRJSON_MAX_DEPTH 64u                    /* nesting of one member or event */
#define TRJSON_MAX_DATA (1024u * 1024 + 64)     /* decoded bytes of one event (a 1 MiB line) */
#define TRJSON_MAX_STRING (64u * 1024)          /* any other string, a PEM certificate too */
#define TRJSON_MAX_SECONDS 10000000.0           /* event times: 0 .. ~115 days */

/* The writer's second layer of redaction: a NUL-terminated copy of len
 * bytes with what must not be written replaced (*out_len its length), or
 * NULL when memory ran out. It sees every event's bytes before they are
 * encoded, and the messages, capabilities and NTLM names; not the TLS facts
 * (certificates must stay valid). */
typedef char *(*trjson_scrub_fn)(const void *arg, const void *data, size_t len, size_t *out_len);

/* The document for a transcript. report: the probe report (borrowed, its
 * reference taken); caps: the capabilities of each phase (entries may be
 * NULL); scrub: NULL, or applied with arg as above. Caller decrefs; NULL
 * when memory ran out. */
json_t *trjson_document(json_t *report, const struct transcript *t,
                        const struct capset *const caps[CAPS_PHASES], trjson_scrub_fn scrub,
                        const void *arg);
/* Write it to f (indented, ASCII, times to the microsecond). 0 or -1. */
int trjson_dump(FILE *f, const json_t *doc);

/* Load len bytes of JSON. 0, or -1 with the reason in err (r is then empty). */
int trjson_load_buffer(const char *buf, size_t len, struct recording *r, char *err, size_t errlen);
/* Load what fd gives until its end (not closed), reading window bytes at a
 * time (0: the default; tests use tiny ones so that values straddle reads).
 * Memory: the transcript built plus the largest single value. */
int trjson_load_fd(int fd, size_t window, struct recording *r, char *err, size_t errlen);
/* Load a file: refused at once when larger than TRJSON_MAX_FILE. */
int trjson_load_file(const char *path, struct recording *r, char *err, size_t errlen);
/* Names in the file: "connect", "stat" (POP3's select), ... */
const char *trjson_op_name(enum session_op op, enum session_proto proto);

#endif
