/* probe --sni against the test Dovecot, whose configuration has a
 * "local_name other.test" block (tests/env/dovecot.sh): asked for other.test
 * in SNI it presents wronghost.pem (CN other.test), to a client without SNI
 * its default leaf.pem (CN mail.test). R-CERT-008 must name the certificate
 * the client without SNI gets; the same certificate both ways must give no
 * diagnosis. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *dovecot_url(const char *scheme, const char *port_var)
{
    static char buf[4][128];
    static int slot;
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof buf[0], "%s://%s:%s", scheme, env("MS_DOVECOT_HOST"), env(port_var));
    return b;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert_not_null(s, "no string \"%s\"", key);
    return s;
}

static const char *leaf_cn(json_t *side)
{
    json_t *cert = json_object_get(side, "certificate");
    cr_assert(json_is_object(cert));
    return str(cert, "name");
}

Test(sni, dovecot_local_name_differs_without_sni)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ "--sni", dovecot_url("imaps", "MS_OPEN_IMAPS_PORT"),
                                        "--servername", "other.test", "--cafile",
                                        cert_path("root.pem"), "--json", NULL });
    json_t *j = run_json(&r);
    assert_exit(&r, 1);
    cr_assert_str_eq(str(j, "schema"), "mailscope.sni/1");
    cr_assert_str_eq(str(j, "status"), "WARNING");
    cr_assert_str_eq(str(j, "servername"), "other.test");
    cr_assert(json_is_false(json_object_get(j, "same_certificate")));
    cr_assert(json_is_false(json_object_get(j, "default_covers_name")));
    json_t *with = json_object_get(j, "with_sni"), *without = json_object_get(j, "without_sni");
    cr_assert_str_eq(str(with, "sni"), "other.test");
    cr_assert(json_is_null(json_object_get(without, "sni")));
    cr_assert_str_eq(leaf_cn(with), "other.test");
    cr_assert_str_eq(leaf_cn(without), "mail.test");
    cr_assert(json_is_true(json_object_get(with, "covers_name")));
    cr_assert(json_is_false(json_object_get(without, "covers_name")));
    cr_assert(json_is_true(json_object_get(json_object_get(with, "tls"), "verified")));
    cr_assert_neq(strcmp(str(json_object_get(with, "certificate"), "sha256"),
                         str(json_object_get(without, "certificate"), "sha256")), 0);
    json_t *d = json_array_get(json_object_get(j, "diagnoses"), 0);
    cr_assert_not_null(d, "no diagnosis: %s", r.out);
    cr_assert_str_eq(str(d, "id"), "R-CERT-008");
    cr_assert(strstr(str(d, "explanation"), "sends no SNI gets the default certificate "
                     "\"mail.test\""), "%s", str(d, "explanation"));
    cr_assert(strstr(str(j, "summary"), "does not cover other.test"), "%s", str(j, "summary"));
    json_decref(j);
    run_result_free(&r);
}

Test(sni, same_certificate_gives_no_diagnosis)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ "--sni", dovecot_url("imap", "MS_OPEN_IMAP_PORT"),
                                        "--servername", "mail.test", "--cafile",
                                        cert_path("root.pem"), "--json", NULL });
    json_t *j = run_json(&r);
    assert_exit(&r, 0);
    cr_assert_str_eq(str(j, "tls_mode"), "starttls");
    cr_assert(json_is_true(json_object_get(j, "same_certificate")));
    cr_assert(json_is_true(json_object_get(j, "default_covers_name")));
    cr_assert_str_eq(leaf_cn(json_object_get(j, "with_sni")), "mail.test");
    cr_assert_str_eq(leaf_cn(json_object_get(j, "without_sni")), "mail.test");
    cr_assert_eq(json_array_size(json_object_get(j, "diagnoses")), 0, "%s", r.out);
    cr_assert(json_is_null(json_object_get(j, "diagnosis_note")));
    cr_assert(strstr(str(j, "summary"), "the same certificate \"mail.test\" with and without SNI"),
              "%s", str(j, "summary"));
    json_decref(j);
    run_result_free(&r);
}

Test(sni, side_by_side_text_after_stls)
{
    struct run_result r;
    run_mailscope(&r, (const char *[]){ "--sni", dovecot_url("pop3", "MS_OPEN_POP3_PORT"),
                                        "--servername", "other.test", "--cafile",
                                        cert_path("root.pem"), NULL });
    assert_exit(&r, 1);
    cr_assert(strstr(r.out, "with SNI other.test"), "%s", r.out);
    cr_assert(strstr(r.out, "without SNI"), "%s", r.out);
    cr_assert(strstr(r.out, "subject CN    other.test"), "%s", r.out);
    cr_assert(strstr(r.out, "mail.test"), "%s", r.out);
    cr_assert(strstr(r.out, "covers name   yes"), "%s", r.out);
    cr_assert(strstr(r.out, "NO"), "%s", r.out);
    cr_assert(strstr(r.out, "POP3 WARNING: the certificate depends on SNI"), "%s", r.out);
    cr_assert(strstr(r.out, "[R-CERT-008]"), "%s", r.out);
    run_result_free(&r);
}

Test(sni, refuses_an_address_without_servername)
{
    static const char *const cases[][6] = {
        { "--sni", "imaps://127.0.0.2:1", "--json", NULL },
        { "--sni", "--compare", "imap://mail.test", "--json", NULL },
        { "--sni", "--tls=none", "imap://mail.test", "--json", NULL },
        { "--sni", "--record", "/tmp/x.txt", "imap://mail.test", "--json", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct run_result r;
        run_mailscope(&r, cases[i]);
        assert_exit(&r, 3);
        json_t *j = run_json(&r);
        cr_assert(strlen(str(j, "summary")) > 10);
        if (i == 0)
            cr_assert(strstr(str(j, "summary"), "--servername"), "%s", str(j, "summary"));
        json_decref(j);
        run_result_free(&r);
    }
}
