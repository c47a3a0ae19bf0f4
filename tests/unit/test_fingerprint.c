/* Who is this server: families from greetings and capabilities, Exchange
 * Online's greeting blob, the NTLM name. Greetings from the knowledge base
 * (../shared/knowledge/imap-pop-failures.md, A1 and parts C-E). */
#include <criterion/criterion.h>
#include <string.h>

#include "certnames.h"
#include "fingerprint.h"

static const char *family(const char *greeting) { return fingerprint_family(greeting, NULL); }

Test(fingerprint, families_from_greetings)
{
    cr_assert_str_eq(family("* OK The Microsoft Exchange IMAP4 service is ready."), "exchange");
    cr_assert_str_eq(family("+OK The Microsoft Exchange POP3 service is ready."), "exchange");
    cr_assert_str_eq(family("* OK [CAPABILITY IMAP4rev1] Dovecot ready."), "dovecot");
    cr_assert_str_eq(family("* OK [CAPABILITY IMAP4rev1 ...] Courier-IMAP ready. Copyright 1998"),
                     "courier");
    cr_assert_str_eq(family("* OK mail.example.com Zimbra IMAP4rev1 server ready"), "zimbra");
    cr_assert_str_eq(family("* OK Gimap ready for requests from 192.0.2.1 z1mb1"), "gmail");
    cr_assert_str_eq(family("* OK IMAP4 ready"), "unknown");
    cr_assert_str_eq(family(NULL), "unknown");
}

Test(fingerprint, family_from_capabilities_when_the_greeting_is_plain)
{
    struct capset caps = { 0 };
    capset_add_atoms(&caps, "IMAP4rev1 X-GM-EXT-1", 20);
    cr_assert_str_eq(fingerprint_family("* OK ready", &caps), "gmail");
    capset_clear(&caps);
    capset_add_line(&caps, "IMPLEMENTATION Cyrus POP3 v3.4", 30);
    cr_assert_str_eq(fingerprint_family("+OK ready", &caps), "cyrus");
    capset_clear(&caps);
}

Test(fingerprint, exchange_online_blob_names_the_server)
{
    const char *online = "* OK The Microsoft Exchange IMAP4 service is ready. "
        "[UwBJADIAUABSADAANABDAEEAMAAwADAANQAuAGEAcABjAHAAcgBkADAANAAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]";
    struct server_identity id;
    fingerprint_identify(online, NULL, &id);
    cr_assert_str_eq(id.family, "exchange");
    cr_assert_str_eq(id.version, "Online");
    char name[256];
    cr_assert(fingerprint_exchange_blob(online, name, sizeof name));
    cr_assert_str_eq(name, "SI2PR04CA0005.apcprd04.prod.outlook.com");
    cr_assert(fingerprint_exchange_blob("+OK The Microsoft Exchange POP3 service is ready. "
        "[SABFADEAUABSADAAMQBDAEEAMAAwADAANwAuAGUAdQByAHAAcgBkADAAMQAuAHAAcgBvAGQALgBlAHgAYwBoAGEAbgBnAGUAbABhAGIAcwAuAGMAbwBtAA==]",
        name, sizeof name));
    cr_assert_str_eq(name, "HE1PR01CA0007.eurprd01.prod.exchangelabs.com");
}

Test(fingerprint, things_that_are_not_a_blob)
{
    char name[256];
    cr_assert_not(fingerprint_exchange_blob("* OK The Microsoft Exchange IMAP4 service is ready.",
                                            name, sizeof name), "on-premises: no blob");
    cr_assert_not(fingerprint_exchange_blob("* OK [CAPABILITY IMAP4rev1] ready", name, sizeof name),
                  "a response code is not a blob");
    cr_assert_not(fingerprint_exchange_blob("* OK ready [aGVsbG8=]", name, sizeof name),
                  "base64 of ASCII, not UTF-16LE");
    /* UTF-16LE of "a b.c": a space is no host-name character. */
    cr_assert_not(fingerprint_exchange_blob("* OK x [YQAgAGIALgBjAA==]", name, sizeof name));
    cr_assert_not(fingerprint_exchange_blob("* OK x [RQBYADAAMQA=]", name, sizeof name),
                  "EX01 has no dot: no FQDN");
    cr_assert_not(fingerprint_exchange_blob("* OK x [RQBYAC4AYQA=] trailing", name, sizeof name),
                  "the blob must end the greeting");
}

Test(fingerprint, exchange_versions)
{
    struct server_identity id;
    fingerprint_identify("* OK Microsoft Exchange Server 2003 IMAP4rev1 server version 6.5.7217.0 "
                         "(ex03.contoso.local) ready.", NULL, &id);
    cr_assert_str_eq(id.version, "2003 6.5.7217.0");
    fingerprint_identify("* OK The Microsoft Exchange IMAP4 service is ready.", NULL, &id);
    cr_assert_str_eq(id.version, "", "on-premises 2013+ says no version");
    fingerprint_identify("* OK Dovecot ready.", NULL, &id);
    cr_assert_str_eq(id.family, "dovecot");
}

Test(fingerprint, server_name_from_ntlm_first_then_greeting)
{
    struct ntlm_challenge_info ntlm = { 0 };
    strcpy(ntlm.dns_computer, "EX01.contoso.local");
    char name[256];
    const char *src = certnames_server_name("* OK The Microsoft Exchange IMAP4 service is ready.",
                                            &ntlm, name, sizeof name);
    cr_assert_str_eq(src, "ntlm");
    cr_assert_str_eq(name, "EX01.contoso.local");
    src = certnames_server_name("* OK The Microsoft Exchange IMAP4 service is ready. "
        "[SABFADEAUABSADAAMQBDAEEAMAAwADAANwAuAGUAdQByAHAAcgBkADAAMQAuAHAAcgBvAGQALgBlAHgAYwBoAGEAbgBnAGUAbABhAGIAcwAuAGMAbwBtAA==]",
        NULL, name, sizeof name);
    cr_assert_str_eq(src, "greeting");
    cr_assert_str_eq(name, "HE1PR01CA0007.eurprd01.prod.exchangelabs.com");
    cr_assert_null(certnames_server_name("* OK The Microsoft Exchange IMAP4 service is ready.",
                                         NULL, name, sizeof name));
}

static void refined(const char *greeting, const char *line, struct server_identity *id)
{
    const char *lines[] = { line };
    fingerprint_identify(greeting, NULL, id);
    fingerprint_refine(id, lines, 1);
}

Test(fingerprint, exchange_version_from_id_reply)
{
    struct server_identity id;
    const char *g = "* OK The Microsoft Exchange IMAP4 service is ready.";
    refined(g, "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"15.1\")", &id);
    cr_expect_str_eq(id.family, "exchange");
    cr_expect_str_eq(id.version, "2016 (ID 15.1)");
    refined(g, "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"15.0\")", &id);
    cr_expect_str_eq(id.version, "2013 (ID 15.0)");
    refined(g, "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"15.20\")", &id);
    cr_expect_str_eq(id.version, "Online (ID 15.20)");
    /* A version Exchange never had tells nothing. */
    refined(g, "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"14.3\")", &id);
    cr_expect_str_eq(id.version, "");
    /* An unnamed greeting learns its family from ID. */
    refined("* OK ready", "* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"15.2\")", &id);
    cr_expect_str_eq(id.family, "exchange");
    cr_expect_str_eq(id.version, "2019 (ID 15.2)");
    refined("* OK ready", "* ID (\"name\" \"Dovecot\" \"version\" \"2.3.21\")", &id);
    cr_expect_str_eq(id.family, "dovecot");
    cr_expect_str_eq(id.version, "2.3.21");
}

Test(fingerprint, exchange_version_from_sign_off)
{
    struct server_identity id;
    refined("* OK The Microsoft Exchange IMAP4 service is ready.",
            "* BYE Microsoft Exchange Server 2013 IMAP4 server signing off.", &id);
    cr_expect_str_eq(id.version, "2013 (sign-off)");
    refined("+OK The Microsoft Exchange POP3 service is ready.",
            "+OK Microsoft Exchange Server 2016 POP3 server signing off.", &id);
    cr_expect_str_eq(id.version, "2016 (sign-off)");
    /* Exchange Online's sign-off carries no year; its greeting blob already said Online. */
    refined("* OK The Microsoft Exchange IMAP4 service is ready. [TQBOADIAUABSADAAMQBDAEEAMAAwADAANgAuAG4AYQBtAHAAcgBkADAAMQAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]",
            "* BYE Microsoft Exchange Server IMAP4 server signing off.", &id);
    cr_expect_str_eq(id.version, "Online");
    /* Words alike but no sign-off. */
    refined("* OK ready", "* BYE Microsoft Exchange Server 2013 is busy", &id);
    cr_expect_str_eq(id.family, "unknown");
}

Test(fingerprint, dovecot_generation_from_wording)
{
    struct server_identity id;
    refined("* OK [CAPABILITY IMAP4rev1] Dovecot ready.",
            "a1 NO [PRIVACYREQUIRED] Cleartext authentication disallowed on non-secure (SSL/TLS) connections.", &id);
    cr_expect_str_eq(id.version, "2.4 or later");
    refined("* OK [CAPABILITY IMAP4rev1] Dovecot ready.",
            "a1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", &id);
    cr_expect_str_eq(id.version, "2.3 or earlier");
    refined("* OK [CAPABILITY IMAP4rev1] Dovecot ready.", "a1 NO [AUTHENTICATIONFAILED] Authentication failed.", &id);
    cr_expect_str_eq(id.version, "");
}
