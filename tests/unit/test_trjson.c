/* The .json transcript: a transcript built here goes through the writer and
 * the loader and comes back equal, event by event, with its TLS facts and
 * chain, NTLM facts, capabilities and the report's fields; every malformed
 * or hostile file is refused with a message naming the field. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jscan.h"
#include "trjson.h"

/* ---- a transcript to record -------------------------------------------- */

static X509 *make_cert(const char *cn, int days)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    cr_assert(k && x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * days);
    X509_set_pubkey(x, k);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    cr_assert(X509_sign(x, k, EVP_sha256()) > 0);
    EVP_PKEY_free(k);
    return x;
}

static void fill_tls(struct tls_info *tls)
{
    memset(tls, 0, sizeof *tls);
    X509 *leaf = make_cert("mail.test", 90), *root = make_cert("Test Root", 3650);
    cr_assert(certinfo_from_x509(&tls->chain[0], leaf) == 0);
    cr_assert(certinfo_from_x509(&tls->path[0], leaf) == 0);
    cr_assert(certinfo_from_x509(&tls->path[1], root) == 0);
    X509_free(leaf);
    X509_free(root);
    tls->n_chain = 1;
    tls->n_path = 2;
    tls->chain_in_path[0] = true;
    tls->path_sent[0] = true;
    tls->path_source[1] = TLS_SRC_STORE;
    tls->path_flags[0] = TLS_VF_NAME_MISMATCH | TLS_VF_KEY_TOO_SMALL;
    tls->depth_error[0] = 62;
    snprintf(tls->version, sizeof tls->version, "TLSv1.3");
    snprintf(tls->cipher, sizeof tls->cipher, "TLS_AES_256_GCM_SHA384");
    snprintf(tls->group, sizeof tls->group, "x25519");
    snprintf(tls->sni, sizeof tls->sni, "mail.test");
    snprintf(tls->name_checked, sizeof tls->name_checked, "mail.test");
    snprintf(tls->verify_error, sizeof tls->verify_error, "hostname mismatch (depth 0)");
    snprintf(tls->verified_root, sizeof tls->verified_root, "CN=Test Root");
    snprintf(tls->alert, sizeof tls->alert, "bad certificate");
    tls->verify_code = 62;
    tls->verify_error_depth = 0;
    tls->n_verified = 2;
    tls->alert_code = 42;
    memcpy(tls->first_bytes, "\x16\x03\x03\x00\x7a", 5);
    tls->n_first = 5;
}

static void append(struct transcript *t, struct session_event ev, int64_t at_ms)
{
    ev.at_us = t->t0_us + at_ms * 1000;
    cr_assert(transcript_append(t, &ev) == 0);
}

#define BIN "a\x01\xff\x00z"   /* not UTF-8, with a NUL: must come back exactly */

static void build(struct transcript *t, struct tls_info *tls, struct ntlm_challenge_info *ntlm)
{
    transcript_init(t, SESSION_IMAP);
    t->wall0 = (struct timespec){ 1764316800, 123456000 };   /* 2025-11-28T08:00:00.123456Z */
    fill_tls(tls);
    memset(ntlm, 0, sizeof *ntlm);
    snprintf(ntlm->dns_computer, sizeof ntlm->dns_computer, "ex01.contoso.local");
    snprintf(ntlm->netbios_domain, sizeof ntlm->netbios_domain, "CONTOSO");
    snprintf(ntlm->os_version, sizeof ntlm->os_version, "10.0.17763");
    ntlm->flags = 0xe2898215u;
    append(t, (struct session_event){ .type = SEV_STATE, .state = SST_CONNECTING }, 0);
    append(t, (struct session_event){ .type = SEV_OP_BEGIN, .op = OP_CONNECT }, 0);
    append(t, (struct session_event){ .type = SEV_OP_END, .op = OP_CONNECT, .ok = true,
                                      .status = "", .elapsed_us = 2345, .message = "connected" }, 2);
    append(t, (struct session_event){ .type = SEV_RECEIVED, .op = OP_GREETING,
                                      .data = (const uint8_t *)"* OK ready \xc3\xa9", .len = 13 }, 3);
    append(t, (struct session_event){ .type = SEV_SENT, .op = OP_STARTTLS,
                                      .data = (const uint8_t *)"a001 STARTTLS", .len = 13 }, 4);
    append(t, (struct session_event){ .type = SEV_DISCARDED, .op = OP_STARTTLS,
                                      .data = (const uint8_t *)BIN, .len = 5 }, 5);
    append(t, (struct session_event){ .type = SEV_TLS, .op = OP_TLS, .secure = true, .tls = tls }, 6);
    append(t, (struct session_event){ .type = SEV_NTLM, .op = OP_LOGIN, .secure = true, .ntlm = ntlm }, 7);
    append(t, (struct session_event){ .type = SEV_RECEIVED, .op = OP_RAW, .secure = true,
                                      .data = (const uint8_t *)BIN, .len = 5 }, 8);
    append(t, (struct session_event){ .type = SEV_LITERAL, .op = OP_RAW, .secure = true,
                                      .data = (const uint8_t *)"Subject: x\r\n", .len = 12,
                                      .literal_total = 12 }, 9);
    append(t, (struct session_event){ .type = SEV_OP_END, .op = OP_LOGIN, .ok = false,
                                      .status = "NO", .fail = FAIL_AUTH, .secure = true,
                                      .elapsed_us = 40123, .message = "LOGIN failed" }, 1500);
    append(t, (struct session_event){ .type = SEV_CLOSED, .fail = FAIL_CLOSED,
                                      .message = "closed" }, 1600);
    cr_assert(transcript_note(t, TR_NOTE, OP_NONE, "ran Set-ImapSettings on EX01") == 0);
    cr_assert(transcript_walk(t, "exchange/step-2", "failed", "Is the FQDN on the cert?") == 0);
}

static json_t *report_object(void)
{
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:[{s:s, s:s, s:s, s:s, "
                     "s:s, s:[s, s], s:s, s:{s:[s], s:[s]}, s:s}], s:n}",
        "protocol", "imap", "host", "mail.test", "port", 993, "address", "127.0.0.1:993",
        "result", "Failure", "status", "CRITICAL", "exit_code", 2, "summary", "LOGIN failed",
        "greeting", "* OK ready", "diagnoses", "id", "exchange-cert-name", "severity",
        "critical", "title", "The certificate lacks the FQDN", "confidence", "likely",
        "explanation", "Exchange binds its cert", "fix", "Set-ImapSettings", "Restart",
        "verify", "probe again", "evidence", "for", "NO reply", "against", "none",
        "source", "MS docs", "diagnosis_note");
}

static const struct capset *caps_of(struct capset *c)
{
    memset(c, 0, sizeof *c);
    c->known = true;
    capset_add_atoms(c, "IMAP4rev1 STARTTLS AUTH=PLAIN", 29);
    return c;
}

static char *document_text(struct transcript *t)
{
    struct capset before;
    const struct capset *caps[CAPS_PHASES] = { caps_of(&before), NULL, NULL };
    json_t *rep = report_object();
    json_t *doc = trjson_document(rep, t, caps, NULL, NULL);
    cr_assert_not_null(doc);
    char *text = json_dumps(doc, JSON_REAL_PRECISION(15));
    json_decref(doc);
    json_decref(rep);
    capset_clear(&before);
    return text;
}

static void assert_event_equal(const struct tr_event *a, const struct tr_event *b, size_t i)
{
    cr_assert_eq(a->kind, b->kind, "event %zu kind", i);
    cr_assert_eq(a->t_us, b->t_us, "event %zu t_us %lld vs %lld", i, (long long)a->t_us,
                 (long long)b->t_us);
    cr_assert_eq(a->op, b->op, "event %zu op", i);
    cr_assert_eq(a->secure, b->secure, "event %zu secure", i);
    cr_assert_eq(a->ok, b->ok, "event %zu ok", i);
    cr_assert_eq(a->fail, b->fail, "event %zu fail", i);
    cr_assert_eq(a->elapsed_us, b->elapsed_us, "event %zu elapsed", i);
    cr_assert_eq(a->len, b->len, "event %zu len", i);
    cr_assert_eq(!a->data, !b->data, "event %zu data", i);
    if (a->data)
        cr_assert(memcmp(a->data, b->data, a->len) == 0, "event %zu bytes differ", i);
    cr_assert_eq(a->literal_seen, b->literal_seen, "event %zu literal", i);
    cr_assert_eq(a->literal_total, b->literal_total, "event %zu literal total", i);
    if (a->kind == TR_STATE)
        cr_assert_eq(a->state, b->state, "event %zu state", i);
    const char *const as[] = { a->message, a->status, a->ref }, *const bs[] = { b->message, b->status, b->ref };
    for (int k = 0; k < 3; k++) {
        if (a->kind != TR_OP_END && a->kind != TR_WALK && k == 1)
            continue;
        cr_assert_eq(!as[k], !bs[k], "event %zu string %d", i, k);
        if (as[k])
            cr_assert_str_eq(as[k], bs[k], "event %zu", i);
    }
}

Test(trjson, round_trip_keeps_every_event_and_fact)
{
    struct transcript t;
    struct tls_info tls;
    struct ntlm_challenge_info ntlm;
    build(&t, &tls, &ntlm);
    char *text = document_text(&t);
    cr_assert(strstr(text, "\"schema\": \"mailscope.transcript/2\""), "%.300s", text);
    cr_assert(strstr(text, "\"data_b64\": \"YQH/AHo=\""), "raw bytes as base64");
    cr_assert(strstr(text, "\"started\": \"2025-11-28T08:00:00.123456Z\""));
    cr_assert(strstr(text, "BEGIN CERTIFICATE"), "the chain as PEM");
    struct recording r;
    char err[600];
    cr_assert(trjson_load_buffer(text, strlen(text), &r, err, sizeof err) == 0, "%s", err);
    cr_assert_eq(r.version, 2);
    cr_assert_eq(r.t.n, t.n);
    for (size_t i = 0; i < t.n; i++)
        assert_event_equal(&t.ev[i], &r.t.ev[i], i);
    cr_assert_eq(r.t.proto, SESSION_IMAP);
    cr_assert_eq(r.t.wall0.tv_sec, t.wall0.tv_sec);
    cr_assert_eq(r.t.wall0.tv_nsec, t.wall0.tv_nsec);
    /* TLS facts and the chain */
    cr_assert(r.t.has_tls);
    const struct tls_info *a = &t.tls, *b = &r.t.tls;
    cr_assert_str_eq(b->version, a->version);
    cr_assert_str_eq(b->cipher, a->cipher);
    cr_assert_str_eq(b->group, a->group);
    cr_assert_str_eq(b->verify_error, a->verify_error);
    cr_assert_str_eq(b->verified_root, a->verified_root);
    cr_assert_str_eq(b->alert, a->alert);
    cr_assert_eq(b->verify_code, a->verify_code);
    cr_assert_eq(b->n_verified, a->n_verified);
    cr_assert_eq(b->alert_code, a->alert_code);
    cr_assert_eq(b->n_first, 5);
    cr_assert(memcmp(b->first_bytes, a->first_bytes, 5) == 0);
    cr_assert_eq(b->depth_error[0], 62);
    cr_assert_eq(b->n_chain, 1);
    cr_assert_eq(b->n_path, 2);
    cr_assert_str_eq(b->chain[0].subject, "CN=mail.test");
    cr_assert_str_eq(b->chain[0].sha256, a->chain[0].sha256);
    cr_assert_str_eq(b->chain[0].pem, a->chain[0].pem);
    cr_assert_eq(b->chain[0].not_after, a->chain[0].not_after);
    cr_assert_str_eq(b->path[1].subject, "CN=Test Root");
    cr_assert_eq(b->path_source[1], TLS_SRC_STORE);
    cr_assert_eq(b->path_flags[0], TLS_VF_NAME_MISMATCH | TLS_VF_KEY_TOO_SMALL);
    cr_assert(b->chain_in_path[0] && b->path_sent[0] && !b->path_sent[1]);
    /* NTLM, capabilities, the report */
    cr_assert(r.t.has_ntlm);
    cr_assert_str_eq(r.t.ntlm.dns_computer, "ex01.contoso.local");
    cr_assert_str_eq(r.t.ntlm.os_version, "10.0.17763");
    cr_assert_eq(r.t.ntlm.flags, 0xe2898215u);
    cr_assert(r.caps[CAPS_BEFORE_TLS].known && r.caps[CAPS_BEFORE_TLS].n == 3);
    cr_assert(capset_has(&r.caps[CAPS_BEFORE_TLS], "STARTTLS"));
    cr_assert(!r.caps[CAPS_AFTER_TLS].known, "not asked stays not asked");
    cr_assert_str_eq(r.host, "mail.test");
    cr_assert_eq(r.port, 993);
    cr_assert_eq(r.exit_code, 2);
    cr_assert_eq(r.n_diag, 1);
    cr_assert_str_eq(r.diag[0].id, "exchange-cert-name");
    cr_assert_eq(r.diag[0].n_fix, 2);
    cr_assert_str_eq(r.diag[0].ev_for[0], "NO reply");
    cr_assert(r.diagnosis_note == NULL);
    cr_assert_eq(recording_duration(&r) >= 1.6, true);
    recording_free(&r);
    free(text);
    tls_info_clear(&tls);
    transcript_free(&t);
}

Test(trjson, op_names_are_the_engine_names)
{
    for (int op = 0; op < OP_COUNT; op++) {
        cr_assert_str_eq(trjson_op_name(op, SESSION_IMAP), session_op_name(op, SESSION_IMAP));
        cr_assert_str_eq(trjson_op_name(op, SESSION_POP3), session_op_name(op, SESSION_POP3));
    }
}

Test(trjson, summary_is_sanitised)
{
    const char *doc = "{\"schema\":\"mailscope.transcript/1\",\"report\":{\"host\":\"evil\\u001b]0;x\\u0007\","
                      "\"port\":143,\"result\":\"Success\",\"status\":\"OK\",\"exit_code\":0,"
                      "\"capabilities\":{\"before_tls\":[\"IMAP4rev1\"],\"after_tls\":[],\"after_login\":[]}},"
                      "\"events\":[{\"t\":0.5,\"kind\":\"received\",\"op\":\"greeting\",\"secure\":false,"
                      "\"text\":\"* OK hi\"}]}";
    struct recording r;
    char err[600];
    cr_assert(trjson_load_buffer(doc, strlen(doc), &r, err, sizeof err) == 0, "%s", err);
    cr_assert_eq(r.version, 1, "a version-1 file still loads");
    cr_assert(r.caps[CAPS_BEFORE_TLS].known && !r.caps[CAPS_AFTER_TLS].known);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    recording_summary(f, &r, "x.json");
    fclose(f);
    cr_assert(strstr(out, "events    1 over 0.500 s"), "%s", out);
    cr_assert(strstr(out, "evil\\x1b]0;x\\x07:143"), "%s", out);
    cr_assert_null(memchr(out, 0x1b, len), "no raw ESC reaches the terminal");
    cr_assert(strstr(out, "Success OK (exit 0)"), "%s", out);
    free(out);
    recording_free(&r);
}

/* ---- refused files ----------------------------------------------------- */

/* The valid document with one textual replacement. */
static char *variant(const char *from, const char *to)
{
    struct transcript t;
    struct tls_info tls;
    struct ntlm_challenge_info ntlm;
    build(&t, &tls, &ntlm);
    char *text = document_text(&t);
    tls_info_clear(&tls);
    transcript_free(&t);
    if (!from)
        return text;
    char *at = strstr(text, from);
    cr_assert_not_null(at, "the document lacks %s", from);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    free(text);
    return out;
}

static void expect_refused(const char *doc, size_t len, const char *want)
{
    struct recording r;
    char err[600];
    cr_assert(trjson_load_buffer(doc, len, &r, err, sizeof err) < 0, "accepted; want: %s", want);
    cr_assert(strstr(err, want), "message \"%s\", want \"%s\"", err, want);
    cr_assert_null(strchr(err, 0x1b), "the message carries a raw ESC");
    cr_assert_eq(r.t.n, 0, "a refused file leaves nothing behind");
}

static void expect_variant_refused(const char *from, const char *to, const char *want)
{
    char *doc = variant(from, to);
    expect_refused(doc, strlen(doc), want);
    free(doc);
}

Test(trjson_refuses, wrong_schema)
{
    expect_variant_refused("\"mailscope.transcript/2\"", "\"mailscope.probe/1\"",
                           "schema: \"mailscope.probe/1\" is not a mailscope transcript");
    const char *bare = "{\"events\":[]}";
    expect_refused(bare, strlen(bare), "schema: missing");
    expect_refused("[1,2]", 5, "the file: an array where an object is due");
}

Test(trjson_refuses, truncated_file)
{
    char *doc = variant(NULL, NULL);
    expect_refused(doc, strlen(doc) / 2, "not valid JSON (line");
    expect_refused(doc, 0, "not valid JSON");
    free(doc);
}

Test(trjson_refuses, huge_string)
{
    size_t n = TRJSON_MAX_STRING + 100;
    char *big = malloc(n + 40);
    memset(big, 'A', n + 40);
    memcpy(big, "\"message\": \"", 12);
    memcpy(big + 12 + n, "\"", 2);
    expect_variant_refused("\"message\": \"connected\"", big, "events[2].message: ");
    expect_variant_refused("\"message\": \"connected\"", big, "more than the 65536 allowed");
    free(big);
}

Test(trjson_refuses, invalid_base64)
{
    expect_variant_refused("\"YQH/AHo=\"", "\"YQH/AH\"", "events[5].data_b64: not valid base64");
    expect_variant_refused("\"YQH/AHo=\"", "\"YQH/A*o=\"", "not valid base64");
    expect_variant_refused("\"YQH/AHo=\"", "\"YQH/AHp=\"", "not valid base64");   /* stray bits */
    expect_variant_refused("\"YQH/AHo=\"", "\"YQ==AHo=\"", "not valid base64");   /* inner padding */
}

Test(trjson_refuses, unknown_kind_op_and_state)
{
    expect_variant_refused("\"kind\": \"note\"", "\"kind\": \"bogus\"", "events[12].kind: unknown name \"bogus\"");
    expect_variant_refused("\"kind\": \"note\"", "\"kind\": \"\\u001b[2Jx\"", "unknown name \"\\x1b[2Jx\"");
    expect_variant_refused("\"op\": \"starttls\"", "\"op\": \"starttlsx\"", "events[4].op: unknown name");
    expect_variant_refused("\"state\": \"connecting\"", "\"state\": \"flying\"", "events[0].state: unknown name");
    expect_variant_refused("\"failure_class\": \"auth\"", "\"failure_class\": \"bad\"",
                           "failure_class: unknown name");
}

Test(trjson_refuses, negative_or_absurd_time)
{
    expect_variant_refused("\"t\": 0.0,", "\"t\": -1,", "events[0].t: -1 is out of range");
    expect_variant_refused("\"t\": 0.0,", "\"t\": 1e300,", "events[0].t: 1e+300 is out of range");
    expect_variant_refused("\"t\": 0.0,", "\"t\": \"0\",", "events[0].t: a string where a number is due");
    expect_variant_refused("\"elapsed_ms\": 2.345", "\"elapsed_ms\": -2", "events[2].elapsed_ms");
}

Test(trjson_refuses, wrong_types_and_missing_fields)
{
    expect_variant_refused("\"events\": [", "\"events\": 7, \"x\": [", "events: a number where an array is due");
    expect_variant_refused("\"secure\": false,", "\"secure\": 0,", "events[0].secure: a number where true/false");
    expect_variant_refused("\"text\": \"a001 STARTTLS\"", "\"texte\": \"a001 STARTTLS\"",
                           "events[4]: a sent event without text or data_b64");
    expect_variant_refused("\"text\": \"a001 STARTTLS\"",
                           "\"text\": \"a\", \"data_b64\": \"YQ==\"", "events[4]: both text and data_b64");
    expect_variant_refused("\"port\": 993", "\"port\": 99999", "report.port: 99999 is out of range");
    expect_variant_refused("\"started\": \"2025-11-28T08:00:00.123456Z\"",
                           "\"started\": \"yesterday\"", "started: not a time");
    expect_variant_refused("\"protocol\": \"imap\",", "\"protocol\": \"smtp\",", "protocol: unknown name");
    expect_variant_refused("\"bytes\": 12", "\"bytes\": 3", "events[9]: bytes (3) is less than");
    expect_variant_refused("\"schema\": \"mailscope.transcript/2\",",
                           "\"schema\": \"mailscope.transcript/2\", \"schema\": \"x\",",
                           "not valid JSON");   /* duplicate keys */
    expect_variant_refused("\"sni\": \"mail.test\"", "\"sni\": 5", "tls.sni: a number where a string");
}

Test(trjson_refuses, bad_certificates)
{
    expect_variant_refused("-----BEGIN CERTIFICATE-----\\n", "-----BEGIN CERTIFICATE-----\\nAAAA",
                           "tls.chain[0]: pem: not one valid PEM certificate");
    char *doc = variant(NULL, NULL);
    /* 17 certificates: more than a chain may hold */
    char *at = strstr(doc, "\"chain\": [");
    cr_assert_not_null(at);
    char *end = strchr(at, ']');
    size_t one = (size_t)(end - (at + 10));
    size_t n = strlen(doc) + 17 * (one + 1) + 1;
    char *big = malloc(n), *o = big;
    o += sprintf(o, "%.*s", (int)(at + 10 - doc), doc);
    for (int i = 0; i < 17; i++)
        o += sprintf(o, "%s%.*s", i ? "," : "", (int)one, at + 10);
    sprintf(o, "%s", end);
    expect_refused(big, strlen(big), "tls.chain: 17 entries, more than the 16 allowed");
    free(big);
    free(doc);
}

Test(trjson_refuses, deep_nesting)
{
    size_t depth = 100000;
    char *doc = malloc(2 * depth + 1);
    memset(doc, '[', depth);
    memset(doc + depth, ']', depth);
    doc[2 * depth] = 0;
    expect_refused(doc, 2 * depth, "the file: nested deeper than 64 levels");
    free(doc);
    /* nested where a string is due: refused by type, however deep */
    expect_variant_refused("\"host\": \"mail.test\"", "\"host\": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
                           "report.host: an array where a string is due");
}

Test(trjson_refuses, a_file_over_1_gib_quickly)
{
    char path[] = "/tmp/ms-trjson-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert(ftruncate(fd, TRJSON_MAX_FILE + 1L) == 0);   /* sparse: costs no disk */
    close(fd);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct recording r;
    char err[600];
    int rc = trjson_load_file(path, &r, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    unlink(path);
    cr_assert(rc < 0);
    cr_assert(strstr(err, "1073741825 bytes: larger than the 1024 MiB"), "%s", err);
    double secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    cr_assert(secs < 0.5, "took %.3f s: the size must be checked before reading", secs);
    cr_assert(trjson_load_file("/dev/zero", &r, err, sizeof err) < 0);
    cr_assert(strstr(err, "not a regular file"), "%s", err);
    cr_assert(trjson_load_file("/nonexistent/x.json", &r, err, sizeof err) < 0);
    cr_assert(strstr(err, "cannot read it"), "%s", err);
}

/* The writer's scrub hook sees raw bytes before they are encoded: a user
 * name inside bytes that are not UTF-8 (so written as base64) is caught. */
static char *scrub_alice(const void *arg, const void *data, size_t len, size_t *out_len)
{
    cr_assert_str_eq(arg, "ctx");
    char *out = malloc(len * 6 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (i + 5 <= len && !memcmp((const char *)data + i, "alice", 5)) {
            memcpy(out + o, "<user>", 6);
            o += 6;
            i += 5;
        } else {
            out[o++] = ((const char *)data)[i++];
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

Test(trjson, scrub_hook_reaches_raw_bytes_and_spares_certificates)
{
    struct transcript t;
    struct tls_info tls;
    struct ntlm_challenge_info ntlm;
    build(&t, &tls, &ntlm);
    append(&t, (struct session_event){ .type = SEV_RECEIVED, .op = OP_RAW, .secure = true,
                                       .data = (const uint8_t *)"\xff" "alice\x01", .len = 7 }, 1700);
    cr_assert(transcript_note(&t, TR_NOTE, OP_NONE, "called alice") == 0);
    json_t *rep = json_object();
    json_t *doc = trjson_document(rep, &t, (const struct capset *[CAPS_PHASES]){ NULL },
                                  scrub_alice, "ctx");
    char *text = json_dumps(doc, 0);
    json_decref(doc);
    json_decref(rep);
    cr_assert_null(strstr(text, "alice"), "the name is in the document");
    cr_assert_null(strstr(text, "YWxpY2"), "the name is in base64");
    struct recording r;
    char err[600];
    cr_assert(trjson_load_buffer(text, strlen(text), &r, err, sizeof err) == 0, "%s", err);
    const struct tr_event *raw = &r.t.ev[r.t.n - 2], *note = &r.t.ev[r.t.n - 1];
    cr_assert_eq(raw->len, 8);
    cr_assert(memcmp(raw->data, "\xff<user>\x01", 8) == 0);
    cr_assert_str_eq(note->message, "called <user>");
    cr_assert_str_eq(r.t.tls.chain[0].sha256, t.tls.chain[0].sha256, "the chain is intact");
    recording_free(&r);
    free(text);
    tls_info_clear(&tls);
    transcript_free(&t);
}

/* ---- the streaming loader ------------------------------------------------
 * The loader walks the file one value at a time through a window (src/jscan.h):
 * whatever the order of the members and wherever the reads split the text,
 * the result is the same as from memory; every bound is enforced on the way. */

/* Load len bytes of doc through a descriptor read window bytes at a time. */
static int load_through_fd(const char *doc, size_t len, size_t window, struct recording *r,
                           char *err, size_t errlen)
{
    int fd = memfd_create("trjson-test", MFD_CLOEXEC);
    cr_assert(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, doc + off, len - off);
        cr_assert(n > 0);
        off += (size_t)n;
    }
    cr_assert(lseek(fd, 0, SEEK_SET) == 0);
    int rc = trjson_load_fd(fd, window, r, err, errlen);
    close(fd);
    return rc;
}

static void assert_same_recording(const struct recording *a, const struct recording *b)
{
    cr_assert_eq(a->version, b->version);
    cr_assert_eq(a->t.n, b->t.n);
    for (size_t i = 0; i < a->t.n; i++)
        assert_event_equal(&a->t.ev[i], &b->t.ev[i], i);
    cr_assert_eq(a->t.proto, b->t.proto);
    cr_assert_eq(a->t.wall0.tv_sec, b->t.wall0.tv_sec);
    cr_assert_eq(a->t.has_tls, b->t.has_tls);
    cr_assert_eq(a->t.tls.n_chain, b->t.tls.n_chain);
    cr_assert_eq(a->t.tls.n_path, b->t.tls.n_path);
    if (a->t.tls.n_chain)
        cr_assert_str_eq(a->t.tls.chain[0].sha256, b->t.tls.chain[0].sha256);
    cr_assert_eq(a->t.has_ntlm, b->t.has_ntlm);
    cr_assert_str_eq(a->t.ntlm.dns_computer, b->t.ntlm.dns_computer);
    for (int p = 0; p < CAPS_PHASES; p++)
        cr_assert_eq(a->caps[p].n, b->caps[p].n);
    cr_assert_eq(a->port, b->port);
    cr_assert_eq(a->n_diag, b->n_diag);
}

/* The test transcript as a document dumped with flags. */
static char *document_dumped(size_t flags)
{
    struct transcript t;
    struct tls_info tls;
    struct ntlm_challenge_info ntlm;
    build(&t, &tls, &ntlm);
    struct capset before;
    const struct capset *caps[CAPS_PHASES] = { caps_of(&before), NULL, NULL };
    json_t *rep = report_object();
    json_t *doc = trjson_document(rep, &t, caps, NULL, NULL);
    char *text = json_dumps(doc, flags | JSON_REAL_PRECISION(15));
    json_decref(doc);
    json_decref(rep);
    capset_clear(&before);
    tls_info_clear(&tls);
    transcript_free(&t);
    cr_assert_not_null(text);
    return text;
}

Test(trjson_stream, members_in_any_order)
{
    struct recording want, got;
    char err[600];
    char *usual = document_dumped(JSON_INDENT(2));   /* the writer's order: events last */
    cr_assert(trjson_load_buffer(usual, strlen(usual), &want, err, sizeof err) == 0, "%s", err);
    /* sorted: capabilities, events, ntlm, ... schema, started, tls — the
     * events come before the schema that says what the file is */
    json_t *parsed = json_loads(usual, 0, NULL);
    char *sorted = json_dumps(parsed, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(parsed);
    cr_assert(strstr(sorted, "\"events\"") < strstr(sorted, "\"schema\""));
    cr_assert(trjson_load_buffer(sorted, strlen(sorted), &got, err, sizeof err) == 0, "%s", err);
    cr_assert_eq(got.t.n, 14);
    assert_same_recording(&want, &got);
    recording_free(&got);
    /* and a wrong schema found after the events still refuses the file */
    char *at = strstr(sorted, "mailscope.transcript/2");
    cr_assert_not_null(at);
    at[4] = 'X';
    expect_refused(sorted, strlen(sorted), "schema: \"mailXcope.transcript/2\" is not");
    recording_free(&want);
    free(sorted);
    free(usual);
}

Test(trjson_stream, every_read_split_gives_the_same_recording)
{
    char *docs[] = { document_dumped(JSON_INDENT(2)), document_dumped(JSON_COMPACT | JSON_SORT_KEYS) };
    cr_assert(strstr(docs[1], "\"events\"") < strstr(docs[1], "\"schema\""));
    char err[600];
    for (size_t d = 0; d < 2; d++) {
        struct recording want;
        cr_assert(trjson_load_buffer(docs[d], strlen(docs[d]), &want, err, sizeof err) == 0, "%s", err);
        /* windows of 1 byte up: every value, name, escape and newline straddles reads */
        const size_t windows[] = { 1, 2, 3, 5, 7, 16, 61, 256, 4096, 0 };
        for (size_t k = 0; k < sizeof windows / sizeof *windows; k++) {
            struct recording got;
            cr_assert(load_through_fd(docs[d], strlen(docs[d]), windows[k], &got, err, sizeof err) == 0,
                      "window %zu: %s", windows[k], err);
            assert_same_recording(&want, &got);
            recording_free(&got);
        }
        recording_free(&want);
        free(docs[d]);
    }
}

/* A refusal says the same, at the same line and column, from a file read in
 * small pieces as from memory. */
static void expect_same_refusal(const char *doc, size_t len, const char *want)
{
    struct recording r;
    char mem_err[600], fd_err[600];
    expect_refused(doc, len, want);
    cr_assert(trjson_load_buffer(doc, len, &r, mem_err, sizeof mem_err) < 0);
    const size_t windows[] = { 1, 3, 64, 0 };
    for (size_t k = 0; k < sizeof windows / sizeof *windows; k++) {
        cr_assert(load_through_fd(doc, len, windows[k], &r, fd_err, sizeof fd_err) < 0,
                  "window %zu accepted it", windows[k]);
        cr_assert_str_eq(fd_err, mem_err, "window %zu", windows[k]);
        cr_assert_eq(r.t.n, 0);
    }
}

Test(trjson_stream, truncated_anywhere_is_refused_alike)
{
    char *doc = document_dumped(JSON_INDENT(1));
    size_t len = strlen(doc);
    struct recording r;
    char err[600];
    for (size_t cut = 0; cut < len - 1; cut++) {
        cr_assert(trjson_load_buffer(doc, cut, &r, err, sizeof err) < 0, "accepted %zu bytes", cut);
        cr_assert_eq(r.t.n, 0);
        cr_assert(err[0], "no message at %zu", cut);
    }
    expect_same_refusal(doc, len / 2, "not valid JSON (line");
    expect_same_refusal(doc, len - 2, "premature end of input");
    free(doc);
}

Test(trjson_stream, refusals_name_the_same_place_from_a_file)
{
    char *doc = variant("\"kind\": \"note\"", "\"kind\": \"bogus\"");
    expect_same_refusal(doc, strlen(doc), "events[12].kind: unknown name \"bogus\"");
    free(doc);
    doc = variant("\"secure\": false,", "\"secure\": fals,");
    expect_same_refusal(doc, strlen(doc), "not valid JSON (line");
    free(doc);
    doc = variant("\"events\": [", "\"events\": [,");
    expect_same_refusal(doc, strlen(doc), "not valid JSON (line");
    free(doc);
    const char *trailing = "{\"schema\":\"mailscope.transcript/2\"} x";
    expect_same_refusal(trailing, strlen(trailing), "end of file expected");
    const char *dup_events = "{\"events\":[],\"events\":[]}";
    expect_same_refusal(dup_events, strlen(dup_events), "duplicate object key");
}

/* text of n bytes: "[[[...]]]" n deep */
static char *nest(size_t n)
{
    char *s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = 0;
    return s;
}

Test(trjson_stream, nesting_bombs_stop_at_the_bound)
{
    char *deep = nest(1000000), *over = nest(65);
    char *with = malloc(strlen(deep) + 40);
    sprintf(with, "\"x\": %s, \"kind\": \"note\"", deep);
    expect_variant_refused("\"kind\": \"note\"", with, "events[12]: nested deeper than 64 levels");
    sprintf(with, "\"x\": %s, \"kind\": \"note\"", over);
    expect_variant_refused("\"kind\": \"note\"", with, "events[12]: nested deeper than 64 levels");
    sprintf(with, "\"extra\": %s, \"host\"", deep);
    expect_variant_refused("\"host\"", with, "report\": nested deeper than 64 levels");
    /* 63 levels inside the event (64 with it) are fine: an unknown member is ignored */
    char *o64 = nest(63);
    sprintf(with, "\"x\": %s, \"kind\": \"note\"", o64);
    char *doc = variant("\"kind\": \"note\"", with);
    struct recording r;
    char err[600];
    cr_assert(trjson_load_buffer(doc, strlen(doc), &r, err, sizeof err) == 0, "%s", err);
    recording_free(&r);
    free(doc);
    free(o64);
    free(with);
    free(deep);
    free(over);
}

/* "\"key\": \"AAAA...\"" with n bytes of A */
static char *long_member(const char *key, size_t n)
{
    char *s = malloc(n + strlen(key) + 8);
    int k = sprintf(s, "\"%s\": \"", key);
    memset(s + k, 'A', n);
    strcpy(s + k + n, "\"");
    return s;
}

Test(trjson_stream, values_just_over_their_bound_are_refused)
{
    /* an event's JSON: 8 MiB (one byte more is refused at once, named) */
    char *m = long_member("x", TRJSON_MAX_EVENT);
    expect_variant_refused("\"message\": \"connected\"", m,
                           "events[2]: larger than the 8 MiB an event may have");
    free(m);
    /* an event's bytes: TRJSON_MAX_DATA (a long line as sent is fine) */
    char buf[80];
    snprintf(buf, sizeof buf, "events[4].text: %u bytes, more than the %u allowed",
             TRJSON_MAX_DATA + 1, TRJSON_MAX_DATA);
    m = long_member("text", TRJSON_MAX_DATA + 1);
    expect_variant_refused("\"text\": \"a001 STARTTLS\"", m, buf);
    free(m);
    m = long_member("text", TRJSON_MAX_DATA);
    char *doc = variant("\"text\": \"a001 STARTTLS\"", m);
    struct recording r;
    char err[600];
    cr_assert(trjson_load_buffer(doc, strlen(doc), &r, err, sizeof err) == 0, "%s", err);
    cr_assert_eq(r.t.ev[4].len, TRJSON_MAX_DATA);
    recording_free(&r);
    free(doc);
    free(m);
    /* everything but the events: 32 MiB */
    m = long_member("x", TRJSON_MAX_HEAD);
    char *with = malloc(strlen(m) + 40);
    sprintf(with, "%s, \"schema\"", m);
    expect_variant_refused("\"schema\"", with,
                           "\"x\": larger than the 32 MiB allowed for everything but the events");
    free(with);
    /* Whitespace before a value is not a value: more of it than the bound
     * must not wrap the room left for the next member around. */
    size_t ws = TRJSON_MAX_HEAD + 16;
    with = malloc(ws + strlen(m) + 40);
    size_t k = (size_t)sprintf(with, "\"w\":");
    memset(with + k, ' ', ws);
    sprintf(with + k + ws, "0, %s, \"schema\"", m);
    expect_variant_refused("\"schema\"", with,
                           "\"x\": larger than the 32 MiB allowed for everything but the events");
    free(with);
    free(m);
    /* members: 256 */
    char *many = malloc(300 * 16 + 64), *o = many;
    o += sprintf(o, "{");
    for (int i = 0; i < 257; i++)
        o += sprintf(o, "\"m%d\": 0, ", i);
    sprintf(o, "\"events\": []}");
    expect_refused(many, strlen(many), "the file: more than 256 members");
    free(many);
}

/* n minimal events ("note") */
static char *events_doc(size_t n, size_t *len)
{
    static const char head[] = "{\"schema\":\"mailscope.transcript/2\",\"protocol\":\"imap\","
        "\"started\":null,\"capabilities\":null,\"tls\":null,\"ntlm\":null,\"report\":{},\"events\":[";
    static const char ev[] = "{\"t\":0,\"kind\":\"note\",\"op\":\"none\",\"secure\":false},";
    size_t cap = sizeof head + n * (sizeof ev - 1) + 8;
    char *doc = malloc(cap), *o = doc;
    cr_assert_not_null(doc);
    memcpy(o, head, sizeof head - 1);
    o += sizeof head - 1;
    for (size_t i = 0; i < n; i++, o += sizeof ev - 1)
        memcpy(o, ev, sizeof ev - 1);
    if (n)
        o--;   /* the last comma */
    memcpy(o, "]}", 3);
    *len = (size_t)(o + 2 - doc);
    return doc;
}

Test(trjson_stream, events_just_over_the_bound_are_refused, .timeout = 900)
{
    size_t len;
    char *doc = events_doc(TRJSON_MAX_EVENTS + 1, &len);
    char want[80];
    snprintf(want, sizeof want, "events: more than the %u allowed", TRJSON_MAX_EVENTS);
    expect_refused(doc, len, want);
    free(doc);
    doc = events_doc(1000, &len);
    struct recording r;
    char err[600];
    cr_assert(trjson_load_buffer(doc, len, &r, err, sizeof err) == 0, "%s", err);
    cr_assert_eq(r.t.n, 1000);
    recording_free(&r);
    free(doc);
}

/* The scanner under the loader: a descriptor that never ends is cut off at
 * max_input with a window that stays small (the loader's bound is 1 GiB:
 * the same code, a smaller number). */
Test(jscan, an_endless_stream_is_cut_off_at_the_bound)
{
    int p[2];
    cr_assert(pipe(p) == 0);
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        close(p[0]);
        static char spaces[4096];
        memset(spaces, ' ', sizeof spaces);
        spaces[0] = '{';
        while (write(p[1], spaces, sizeof spaces) > 0)
            spaces[0] = ' ';
        _exit(0);
    }
    close(p[1]);
    struct jscan s;
    jscan_fd(&s, p[0], 512, 1000000);
    cr_assert_eq(jscan_peek(&s), '{');
    jscan_skip(&s);
    cr_assert_eq(jscan_peek(&s), -1);
    cr_assert_eq(s.status, JSCAN_HUGE);
    cr_assert_leq(s.cap, 1024, "the window grew to %zu bytes on whitespace", s.cap);
    cr_assert_geq(s.base + s.len, 1000000);
    jscan_free(&s);
    close(p[0]);
    waitpid(child, NULL, 0);
}

Test(jscan, values_end_where_json_says_across_windows)
{
    const char *text = " {\"a\\\"}\": [1, {\"b\": \"]\"}], \"c\": \"\\\\\"}\n [ ] -1.5e3 true\"x\"";
    const char *want[] = { "{\"a\\\"}\": [1, {\"b\": \"]\"}], \"c\": \"\\\\\"}", "[ ]", "-1.5e3", "true",
                           "\"x\"" };
    int fd = memfd_create("jscan-test", MFD_CLOEXEC);
    cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    for (size_t window = 1; window <= 8; window++) {
        cr_assert(lseek(fd, 0, SEEK_SET) == 0);
        struct jscan s;
        jscan_fd(&s, fd, window, 1000);
        for (size_t k = 0; k < 5; k++) {
            const char *v;
            size_t n;
            cr_assert_eq(jscan_value(&s, 100, 3, &v, &n), JSCAN_OK, "window %zu value %zu", window, k);
            cr_assert_eq(n, strlen(want[k]), "window %zu value %zu: %.*s", window, k, (int)n, v);
            cr_assert(!memcmp(v, want[k], n));
        }
        unsigned long line, col;
        jscan_where(&s, &line, &col);
        cr_assert_eq(line, 2);
        cr_assert_eq(jscan_peek(&s), -1);
        cr_assert_eq(s.status, JSCAN_OK, "the input simply ended");
        jscan_free(&s);
    }
    close(fd);
    /* bounds: depth, length, a closing bracket alone, an unclosed string */
    const struct { const char *in; size_t max; unsigned depth; enum jscan_status st; } bad[] = {
        { "[[[[1]]]]", 100, 3, JSCAN_DEEP }, { "\"abcdef\"", 5, 3, JSCAN_BIG },
        { "]", 100, 3, JSCAN_SYNTAX }, { "\"abc\\\"", 100, 3, JSCAN_END },
        { "[1, 2", 100, 3, JSCAN_END } };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        struct jscan s;
        const char *v;
        size_t n;
        jscan_mem(&s, bad[k].in, strlen(bad[k].in));
        cr_assert_eq(jscan_value(&s, bad[k].max, bad[k].depth, &v, &n), bad[k].st, "%s", bad[k].in);
        jscan_free(&s);
    }
}
