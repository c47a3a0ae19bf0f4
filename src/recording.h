/* recording — a session as a .json transcript recorded it (trjson.h loads
 * it), rebuilt as plain data for `mailscope replay`: the transcript with its
 * TLS and NTLM facts, the capabilities of each phase and the report's
 * fields and diagnoses. Strings in it come from a file: sanitise before
 * display (the textview and recording_summary do). No JSON here. */
#ifndef MAILSCOPE_RECORDING_H
#define MAILSCOPE_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "capset.h"
#include "transcript.h"

/* One diagnosis as the report recorded it. */
struct recording_diag {
    char *id, *severity, *title, *confidence, *explanation, *cause, *verify, *source;
    char **fix;
    size_t n_fix;
    char **ev_for, **ev_against;
    size_t n_for, n_against;
};

/* What a .json transcript holds, rebuilt. Every string is owned (or NULL). */
struct recording {
    int version;                        /* the schema's: 1 or 2 */
    struct transcript t;                /* events, proto, wall0, tls, ntlm */
    struct capset caps[CAPS_PHASES];
    bool has_caps;                      /* /1 files may lack them */
    /* from the report */
    char *tool, *host, *address, *user, *tls_mode, *result, *status, *summary, *greeting;
    char *server_family, *server_name, *failure_class, *diagnosis_note;
    unsigned port;
    int exit_code;                      /* -1 when not recorded */
    struct recording_diag *diag;
    size_t n_diag;
};

void recording_init(struct recording *r);
void recording_free(struct recording *r);
/* Seconds from the start to the last event. */
double recording_duration(const struct recording *r);
/* A few lines for scripts (replay --check): file and schema, events and
 * duration, target, TLS, result, the top diagnosis. Every string sanitised. */
void recording_summary(FILE *out, const struct recording *r, const char *name);

#endif
