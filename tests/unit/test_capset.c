/* Unit tests for net/capset.c: bounded, case-insensitive capability sets
 * (IMAP CAPABILITY atoms, POP3 CAPA lines). Leaks show up under ASan. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "capset.h"

static void atoms(struct capset *c, const char *s) { capset_add_atoms(c, s, strlen(s)); }
static void line(struct capset *c, const char *s) { capset_add_line(c, s, strlen(s)); }

Test(capset, starts_unknown)
{
    struct capset c = { 0 };
    cr_assert_not(c.known);
    cr_assert_not(capset_has(&c, "IMAP4rev1"));
    cr_assert_not(capset_has_sasl(&c, "PLAIN"));
}

Test(capset, atoms_with_many_spaces)
{
    struct capset c = { 0 };
    atoms(&c, "  IMAP4rev1   STARTTLS  AUTH=PLAIN ");
    cr_assert(c.known);
    cr_assert_not(c.truncated);
    cr_assert_eq(c.n, 3);
    cr_assert_str_eq(c.item[0], "IMAP4rev1");
    cr_assert_str_eq(c.item[1], "STARTTLS");
    cr_assert_str_eq(c.item[2], "AUTH=PLAIN");
    capset_clear(&c);
}

Test(capset, atoms_respect_len)
{
    struct capset c = { 0 };
    capset_add_atoms(&c, "IMAP4rev1 STARTTLS", 11);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.item[0], "IMAP4rev1");
    cr_assert_str_eq(c.item[1], "S");
    capset_clear(&c);
}

Test(capset, empty_list_is_known)
{
    struct capset c = { 0 };
    atoms(&c, "");
    cr_assert(c.known);
    cr_assert_eq(c.n, 0);
    atoms(&c, "    ");
    cr_assert_eq(c.n, 0);
    struct capset p = { 0 };
    line(&p, "");
    cr_assert(p.known);
    cr_assert_eq(p.n, 0);
}

Test(capset, atoms_accumulate)
{
    struct capset c = { 0 };
    atoms(&c, "IMAP4rev1");
    atoms(&c, "IDLE");
    cr_assert_eq(c.n, 2);
    cr_assert(capset_has(&c, "IMAP4rev1"));
    cr_assert(capset_has(&c, "IDLE"));
    capset_clear(&c);
}

Test(capset, has_is_case_insensitive_and_exact)
{
    struct capset c = { 0 };
    atoms(&c, "IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN");
    cr_assert(capset_has(&c, "imap4REV1"));
    cr_assert(capset_has(&c, "starttls"));
    cr_assert(capset_has(&c, "LoginDisabled"));
    cr_assert(capset_has(&c, "auth=plain"));
    cr_assert_not(capset_has(&c, "IMAP4"));
    cr_assert_not(capset_has(&c, "IMAP4rev2"));
    cr_assert_not(capset_has(&c, "STARTTLSX"));
    cr_assert_not(capset_has(&c, "AUTH"));
    cr_assert_not(capset_has(&c, "PLAIN"));
    cr_assert_not(capset_has(&c, ""));
    capset_clear(&c);
}

Test(capset, imap_sasl)
{
    struct capset c = { 0 };
    atoms(&c, "IMAP4rev1 SASL-IR AUTH=PLAIN auth=xoauth2 AUTH=CRAM-MD5");
    cr_assert(capset_has_sasl(&c, "PLAIN"));
    cr_assert(capset_has_sasl(&c, "plain"));
    cr_assert(capset_has_sasl(&c, "XOAUTH2"));
    cr_assert(capset_has_sasl(&c, "CRAM-MD5"));
    cr_assert_not(capset_has_sasl(&c, "LOGIN"));
    cr_assert_not(capset_has_sasl(&c, "XOAUTH"));
    cr_assert_not(capset_has_sasl(&c, "CRAM"));
    cr_assert_not(capset_has_sasl(&c, "IR"), "SASL-IR is no mechanism list");
    cr_assert_not(capset_has_sasl(&c, "IMAP4rev1"));
    capset_clear(&c);
}

Test(capset, pop3_capa_lines)
{
    struct capset c = { 0 };
    line(&c, "USER");
    line(&c, "SASL PLAIN LOGIN");
    line(&c, "IMPLEMENTATION Dovecot");
    line(&c, "STLS");
    cr_assert_eq(c.n, 4);
    cr_assert_str_eq(c.item[1], "SASL PLAIN LOGIN");
    cr_assert(capset_has(&c, "user"));
    cr_assert(capset_has(&c, "STLS"));
    cr_assert_not(capset_has(&c, "Dovecot"));
    cr_assert(capset_has_sasl(&c, "PLAIN"));
    cr_assert(capset_has_sasl(&c, "login"));
    cr_assert_not(capset_has_sasl(&c, "LOG"));
    cr_assert_not(capset_has_sasl(&c, "PLAIN LOGIN"));
    cr_assert_not(capset_has_sasl(&c, "CRAM-MD5"));
    cr_assert_not(capset_has_sasl(&c, "USER"));
    cr_assert_not(capset_has_sasl(&c, "Dovecot"));
    capset_clear(&c);
}

Test(capset, pop3_sasl_line_with_extra_spaces)
{
    struct capset c = { 0 };
    line(&c, "SASL  CRAM-MD5   XOAUTH2 ");
    cr_assert(capset_has_sasl(&c, "CRAM-MD5"));
    cr_assert(capset_has_sasl(&c, "XOAUTH2"));
    cr_assert_not(capset_has_sasl(&c, "PLAIN"));
    capset_clear(&c);
}

Test(capset, too_many_atoms_truncated)
{
    char s[300 * 6];
    size_t o = 0;
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(s + o, sizeof s - o, "C%d ", i);
    struct capset c = { 0 };
    capset_add_atoms(&c, s, o);
    cr_assert_eq(c.n, CAPSET_MAX);
    cr_assert(c.truncated);
    cr_assert_str_eq(c.item[0], "C0");
    cr_assert_str_eq(c.item[CAPSET_MAX - 1], "C255");
    cr_assert(capset_has(&c, "C255"));
    cr_assert_not(capset_has(&c, "C256"));
    cr_assert_not(capset_has(&c, "C299"));
    /* Still full: later additions are refused, except those security
     * depends on, which a flood of junk must not push out. */
    line(&c, "X-OTHER");
    cr_assert_eq(c.n, CAPSET_MAX);
    cr_assert_not(capset_has(&c, "X-OTHER"));
    line(&c, "STLS");
    cr_assert_eq(c.n, CAPSET_MAX + 1);
    cr_assert(capset_has(&c, "STLS"));
    capset_clear(&c);
}

Test(capset, exactly_max_atoms_not_truncated)
{
    struct capset c = { 0 };
    for (int i = 0; i < CAPSET_MAX; i++) {
        char a[8];
        snprintf(a, sizeof a, "A%d", i);
        atoms(&c, a);
    }
    cr_assert_eq(c.n, CAPSET_MAX);
    cr_assert_not(c.truncated);
    capset_clear(&c);
}

Test(capset, long_entry_cut)
{
    char s[CAPSET_MAX_LEN + 50];
    memset(s, 'X', sizeof s - 1);
    s[sizeof s - 1] = 0;
    struct capset c = { 0 };
    atoms(&c, s);
    cr_assert_eq(c.n, 1);
    cr_assert(c.truncated);
    cr_assert_eq(strlen(c.item[0]), CAPSET_MAX_LEN);
    cr_assert(memcmp(c.item[0], s, CAPSET_MAX_LEN) == 0);
    cr_assert_not(capset_has(&c, s), "a cut entry must not match the full name");
    capset_clear(&c);

    line(&c, s);
    cr_assert_eq(strlen(c.item[0]), CAPSET_MAX_LEN);
    cr_assert(c.truncated);
    capset_clear(&c);
}

Test(capset, entry_of_max_len_kept_whole)
{
    char s[CAPSET_MAX_LEN + 1];
    memset(s, 'Y', CAPSET_MAX_LEN);
    s[CAPSET_MAX_LEN] = 0;
    struct capset c = { 0 };
    atoms(&c, s);
    cr_assert_not(c.truncated);
    cr_assert(capset_has(&c, s));
    capset_clear(&c);
}

Test(capset, clear_resets_everything)
{
    struct capset c = { 0 };
    char s[CAPSET_MAX_LEN + 2];
    memset(s, 'Z', sizeof s - 1);
    s[sizeof s - 1] = 0;
    atoms(&c, "IMAP4rev1 IDLE");
    atoms(&c, s);
    cr_assert(c.truncated);
    capset_clear(&c);
    cr_assert_eq(c.n, 0);
    cr_assert_not(c.known);
    cr_assert_not(c.truncated);
    cr_assert_null(c.item[0]);
    cr_assert_not(capset_has(&c, "IDLE"));
    capset_clear(&c);   /* twice is harmless */
}

Test(capset, copy_is_deep)
{
    struct capset src = { 0 }, dst = { 0 };
    atoms(&src, "IMAP4rev1 AUTH=PLAIN");
    capset_copy(&dst, &src);
    cr_assert(dst.known);
    cr_assert_not(dst.truncated);
    cr_assert_eq(dst.n, 2);
    cr_assert_neq(dst.item[0], src.item[0], "the copy must own its strings");
    capset_clear(&src);
    cr_assert_str_eq(dst.item[0], "IMAP4rev1");
    cr_assert(capset_has_sasl(&dst, "PLAIN"));
    capset_clear(&dst);
}

Test(capset, copy_replaces_previous_contents)
{
    struct capset src = { 0 }, dst = { 0 };
    atoms(&dst, "OLD1 OLD2 OLD3");
    line(&src, "STLS");
    capset_copy(&dst, &src);
    cr_assert_eq(dst.n, 1);
    cr_assert(capset_has(&dst, "STLS"));
    cr_assert_not(capset_has(&dst, "OLD1"));
    capset_clear(&src);
    capset_clear(&dst);
}

Test(capset, copy_keeps_flags)
{
    struct capset src = { 0 }, dst = { 0 };
    char s[300 * 6];
    size_t o = 0;
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(s + o, sizeof s - o, "C%d ", i);
    capset_add_atoms(&src, s, o);
    capset_copy(&dst, &src);
    cr_assert(dst.truncated);
    cr_assert_eq(dst.n, CAPSET_MAX);
    capset_clear(&src);
    capset_clear(&dst);

    /* An empty but received list stays "known"; an unknown one stays unknown. */
    atoms(&src, "");
    atoms(&dst, "X");
    capset_copy(&dst, &src);
    cr_assert(dst.known);
    cr_assert_eq(dst.n, 0);
    struct capset unknown = { 0 };
    capset_copy(&dst, &unknown);
    cr_assert_not(dst.known);
    capset_clear(&dst);
}
