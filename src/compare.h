/* compare — which certificate is bound where: connect to the STARTTLS port
 * and the implicit-TLS port of a protocol (143 and 993, or 110 and 995; both
 * protocols with all) at the same time, and show side by side whether they
 * present the same certificate, with names and fingerprints. The founding
 * Exchange case turns on which certificate is bound to IMAP and POP (one
 * X509CertificateName for both, KB R-EXCH-001) versus IIS.
 * Each endpoint is a tlsrun (no credentials) judged by report_evaluate, so
 * its verdict and problem codes are the probe's. */
#ifndef MAILSCOPE_COMPARE_H
#define MAILSCOPE_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "report.h"
#include "tlsrun.h"

#define COMPARE_MAX 4

/* Ports per scheme; 0 means the standard one (143, 993, 110, 995). */
struct compare_ports {
    unsigned imap, imaps, pop3, pop3s;
};

/* "imap=21143,imaps=21993,pop3=21110,pop3s=21995" (any subset) into p;
 * 0, or -1 with a message. */
int compare_ports_parse(const char *s, struct compare_ports *p, char *err, size_t errlen);

struct compare_options {
    enum session_proto proto;       /* the protocol to compare */
    bool all;                       /* IMAP and POP3 both */
    const char *host;
    struct compare_ports ports;
    int family;
    struct tls_params tls;          /* servername, trust anchors */
    bool insecure;                  /* go on after failed verification (verdict: WARNING) */
    int timeout_ms;
    int expiry_warn_days;
};

struct compare_endpoint {
    char label[24];                 /* "IMAP STARTTLS", "IMAPS", "POP3 STLS", "POP3S" */
    char url[300];                  /* "imaps://host:993" */
    enum session_proto proto;
    bool implicit;
    unsigned port;
    struct tlsrun run;
    struct report_verdict verdict;  /* once finished */
    int cert;                       /* index of its leaf among the distinct ones, -1: none */
};

struct compare {
    struct compare_options o;
    char host[256];
    struct compare_endpoint ep[COMPARE_MAX];
    size_t n;
    bool finished;
    size_t n_certs;                 /* distinct leaf certificates seen */
    size_t cert_ep[COMPARE_MAX];    /* for each: the first endpoint that presented it */
    bool same_certificate;          /* every endpoint presented the same leaf */
    bool same_chain;                /* ... and the same chain, certificate for certificate */
    int exit_code;                  /* the worst endpoint verdict */
    char summary[900];
};

/* Start every endpoint on l; NULL when out of memory. */
struct compare *compare_new(struct loop *l, const struct compare_options *o);
/* Call when a loop turn is over; true once every endpoint has finished and
 * the comparison is made. */
bool compare_advance(struct compare *c);
/* Run l until compare_advance() says done. */
void compare_wait(struct loop *l, struct compare *c);
json_t *compare_json(const struct compare *c);
void compare_text(FILE *out, const struct compare *c);
void compare_free(struct compare *c);

#endif
