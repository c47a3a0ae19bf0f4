/* The console's pieces that need no terminal: the slash-command table,
 * IMAP auto-tagging, completion lists, line wrapping, line classes. */
#include <criterion/criterion.h>
#include <locale.h>
#include <string.h>

#include "cmdtable.h"
#include "lineclass.h"
#include "wrap.h"

Test(cmdtable, parses_commands_and_arguments)
{
    const char *args;
    const struct cmd_info *c = cmdtable_parse("/connect imaps://mail.example.com", &args);
    cr_assert_not_null(c);
    cr_assert_eq(c->id, CMD_CONNECT);
    cr_assert_str_eq(args, "imaps://mail.example.com");
    c = cmdtable_parse("/STEP", &args);
    cr_assert(c && c->id == CMD_STEP && !*args);
    cr_assert_null(cmdtable_parse("/stepp", &args), "no prefix matching: names are exact");
    cr_assert_null(cmdtable_parse("a001 NOOP", &args));
    cr_assert_null(cmdtable_parse("//etc", &args));
}

Test(cmdtable, every_command_the_issue_names_exists)
{
    static const char *const names[] = {
        "/connect", "/step", "/capability", "/starttls", "/login", "/auth", "/chain",
        "/walkthrough", "/save", "/help", "/quit", "/disconnect", "/clear", "/raw", "/b64",
        "/unb64", "/note", NULL };
    for (int i = 0; names[i]; i++) {
        const char *args;
        cr_assert_not_null(cmdtable_parse(names[i], &args), "%s is missing", names[i]);
    }
}

Test(cmdtable, imap_lines_are_tagged_unless_they_carry_one)
{
    cr_assert(cmdtable_imap_needs_tag("NOOP"));
    cr_assert(cmdtable_imap_needs_tag("capability"));
    cr_assert(cmdtable_imap_needs_tag("LOGIN alice secret"));
    cr_assert(cmdtable_imap_needs_tag("  SELECT INBOX"));
    cr_assert(cmdtable_imap_needs_tag("XYZZY"), "a lone word is a command");
    cr_assert_not(cmdtable_imap_needs_tag("a001 NOOP"));
    cr_assert_not(cmdtable_imap_needs_tag("x1 LOGIN alice secret"));
    cr_assert_not(cmdtable_imap_needs_tag("tag XYZZY"));
}

static bool has(char **list, const char *s)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!strcmp(list[i], s))
            return true;
    return false;
}

Test(cmdtable, completes_slash_commands)
{
    char **l = cmdtable_complete("/c", true, NULL);
    cr_assert(has(l, "/connect") && has(l, "/capability") && has(l, "/chain") && has(l, "/clear"));
    cr_assert_not(has(l, "/step"));
    cmdtable_free_list(l);
    cr_assert_null(cmdtable_complete("/zz", true, NULL));
}

Test(cmdtable, completes_protocol_commands_and_advertised_ones)
{
    struct capset caps = { 0 };
    const char list[] = "IMAP4rev1 IDLE MOVE AUTH=PLAIN";
    capset_add_atoms(&caps, list, strlen(list));
    char **l = cmdtable_complete("ID", true, &caps);
    cr_assert(has(l, "ID") && has(l, "IDLE"));
    cmdtable_free_list(l);
    l = cmdtable_complete("st", false, NULL);
    cr_assert(has(l, "STAT") && has(l, "STLS"));
    cr_assert_not(has(l, "STARTTLS"), "POP3 completes POP3 commands");
    cmdtable_free_list(l);
    capset_clear(&caps);
    const char no_idle[] = "IMAP4rev1";
    capset_add_atoms(&caps, no_idle, strlen(no_idle));
    l = cmdtable_complete("IDL", true, &caps);
    cr_assert_not(has(l, "IDLE"), "IDLE only when the server offers it");
    cmdtable_free_list(l);
    capset_clear(&caps);
}

static void utf8(void) { setlocale(LC_ALL, "C.UTF-8"); }

Test(wrap, cuts_at_spaces_within_the_width, .init = utf8)
{
    struct wrap_row r[8];
    const char *s = "a001 OK CAPABILITY completed";
    size_t n = wrap_rows(s, strlen(s), 12, r, 8);
    cr_assert_eq(n, 3);
    cr_assert(r[0].off == 0 && r[0].len == 8, "'a001 OK ' then the rest");
    for (size_t i = 0; i < n; i++)
        cr_assert_leq(wrap_columns(s + r[i].off, r[i].len), 12);
    cr_assert_eq(r[n - 1].off + r[n - 1].len, strlen(s), "every byte shown once");
}

Test(wrap, long_words_are_cut_and_wide_characters_counted, .init = utf8)
{
    struct wrap_row r[8];
    const char *s = "UwBJADIAUABSADAANABD";
    cr_assert_eq(wrap_rows(s, strlen(s), 8, r, 8), 3);
    const char *cjk = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";   /* three wide characters */
    cr_assert_eq(wrap_columns(cjk, strlen(cjk)), 6);
    size_t n = wrap_rows(cjk, strlen(cjk), 4, r, 8);
    cr_assert_eq(n, 2);
    cr_assert_eq(r[0].len, 6, "two wide characters fill 4 columns; never half a character");
    cr_assert_eq(wrap_rows("", 0, 10, r, 8), 1, "an empty line is one row");
}

Test(lineclass, statuses_by_protocol)
{
    cr_assert_eq(lineclass_status(SESSION_IMAP, "a1 OK done", 10), LS_OK);
    cr_assert_eq(lineclass_status(SESSION_IMAP, "a1 NO [AUTHENTICATIONFAILED] x", 30), LS_NO);
    cr_assert_eq(lineclass_status(SESSION_IMAP, "* BAD junk", 10), LS_BAD);
    cr_assert_eq(lineclass_status(SESSION_IMAP, "* BYE off", 9), LS_BYE);
    cr_assert_eq(lineclass_status(SESSION_IMAP, "+ go", 4), LS_CONT);
    cr_assert_eq(lineclass_status(SESSION_IMAP, "* 2 EXISTS", 10), LS_DATA);
    cr_assert_eq(lineclass_status(SESSION_POP3, "-ERR [AUTH] no", 14), LS_BAD);
    cr_assert_eq(lineclass_status(SESSION_POP3, "+OK", 3), LS_OK);
}

Test(lineclass, credentials_in_typed_lines)
{
    cr_assert(lineclass_has_credentials(SESSION_IMAP, "LOGIN a b", false));
    cr_assert(lineclass_has_credentials(SESSION_IMAP, "x1 authenticate PLAIN", true));
    cr_assert_not(lineclass_has_credentials(SESSION_IMAP, "x1 NOOP", true));
    cr_assert(lineclass_has_credentials(SESSION_POP3, "PASS secret", false));
    cr_assert(lineclass_has_credentials(SESSION_POP3, "AUTH PLAIN", false));
    cr_assert_not(lineclass_has_credentials(SESSION_POP3, "AUTH", false), "AUTH alone lists mechanisms");
    cr_assert_not(lineclass_has_credentials(SESSION_POP3, "USER alice", false));
}

Test(lineclass, challenges_are_decoded_and_sanitised)
{
    char out[64];
    cr_assert(lineclass_challenge_text("+ VXNlcm5hbWU6", 14, out, sizeof out));
    cr_assert_str_eq(out, "Username:");
    cr_assert(lineclass_challenge_text("+ G1szMW0=", 10, out, sizeof out));
    cr_assert_str_eq(out, "\\x1b[31m", "an escape in a challenge is shown, not obeyed");
    cr_assert_not(lineclass_challenge_text("+ idling", 8, out, sizeof out));
    cr_assert_not(lineclass_challenge_text("a1 OK", 5, out, sizeof out));
}
