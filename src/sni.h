/* sni — which certificate a client gets with and without SNI (KB R-CERT-008):
 * two handshakes on the same port at once (STARTTLS first on a plain port),
 * one sending the server name (the URL's host or --servername) in SNI and one
 * sending none, and their leaf certificates side by side: subject, names,
 * fingerprint, whether the names cover the server name. Multi-domain servers
 * (Dovecot local_name blocks, TLS proxies) choose the certificate by SNI and
 * give clients without it their default one.
 * Each side is a tlsrun: no login, no credential is ever sent. The verdict is
 * the SNI side's (report_evaluate, as the probe's), made WARNING at least
 * when the certificates differ and the one sent without SNI does not cover
 * the name; the diagnosis rules see the difference as the facts
 * sni-cert-differs and sni-default-covers. */
#ifndef MAILSCOPE_SNI_H
#define MAILSCOPE_SNI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "diag.h"
#include "evidence.h"
#include "report.h"
#include "tlsrun.h"

struct sni_options {
    enum session_proto proto;
    const char *host;
    unsigned port;
    bool implicit;                  /* implicit TLS; otherwise STARTTLS/STLS first */
    const char *url;                /* as given, for the report */
    int family;
    struct tls_params tls;          /* servername (default: host), trust anchors */
    bool insecure;
    int timeout_ms;
    int expiry_warn_days;
};

struct sni_side {
    bool sent_sni;
    struct tlsrun run;
    bool handshake;                 /* a handshake completed (whatever verification said) */
    char name[256];                 /* the leaf's CN, else its first SAN, else "" */
};

enum { SNI_WITH, SNI_WITHOUT };

struct sni_check {
    struct sni_options o;
    char host[256], servername[256], url[300];
    struct sni_side side[2];        /* SNI_WITH, SNI_WITHOUT */
    bool finished;
    int differs;                    /* 1 other leaf without SNI, 0 the same, -1 not compared */
    int default_covers;             /* the leaf without SNI covers servername: 1, 0, -1 */
    struct report_verdict verdict;  /* the SNI side's */
    int exit_code;
    char summary[900];              /* sanitised */
};

/* The name SNI carries for these options; NULL with a message when there is
 * none (an IP address is never sent as SNI, RFC 6066: give --servername). */
const char *sni_name_for(const char *host, const char *servername, char *err, size_t errlen);
/* Start both handshakes on l; NULL when out of memory. */
struct ms_options;
/* The check of the URL the options name (probe --sni, /sni, the walkthrough's sni). */
struct sni_options sni_options_of(const struct ms_options *o);
struct sni_check *sni_new(struct loop *l, const struct sni_options *o);
/* Call when a loop turn is over; true once both have finished and they are compared. */
bool sni_advance(struct sni_check *c);
void sni_wait(struct loop *l, struct sni_check *c);
/* The rules run on the SNI side's evidence plus the comparison's facts. */
void sni_diagnose(const struct sni_check *c, struct ruleset *rs, struct evidence_store *st,
                  struct diag_result *r, char *warn, size_t warnlen);
json_t *sni_json(const struct sni_check *c);
void sni_text(FILE *out, const struct sni_check *c);
void sni_free(struct sni_check *c);

#endif
