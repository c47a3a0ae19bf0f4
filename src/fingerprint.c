#include "fingerprint.h"

#include "sasl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct { const char *needle; const char *family; } greetings[] = {
    { "Microsoft Exchange", "exchange" }, { "Dovecot", "dovecot" }, { "Cyrus", "cyrus" },
    { "Courier", "courier" }, { "Gimap", "gmail" }, { "Gpop", "gmail" }, { "Zimbra", "zimbra" },
    { "yahoo", "yahoo" }, { "iCloud", "icloud" }, { "Apple", "icloud" }, { "qpopper", "qpopper" },
    { "UW IMAP", "uw-imap" }, { "Stalwart", "stalwart" }, { "hMailServer", "hmailserver" },
    { "MDaemon", "mdaemon" }, { "Kerio", "kerio" }, { "IceWarp", "icewarp" },
};

const char *fingerprint_family(const char *greeting, const struct capset *caps)
{
    for (size_t i = 0; greeting && i < sizeof greetings / sizeof *greetings; i++)
        if (strcasestr(greeting, greetings[i].needle))
            return greetings[i].family;
    for (size_t i = 0; caps && i < caps->n; i++) {
        if (strncasecmp(caps->item[i], "IMPLEMENTATION ", 15) == 0) {
            const char *impl = caps->item[i] + 15;
            for (size_t j = 0; j < sizeof greetings / sizeof *greetings; j++)
                if (strcasestr(impl, greetings[j].needle))
                    return greetings[j].family;
        }
        if (strcasecmp(caps->item[i], "X-GM-EXT-1") == 0)
            return "gmail";
    }
    return "unknown";
}

/* Host-name characters only: anything else means it is no Exchange blob. */
static bool host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-';
}

static bool utf16le_host(const uint8_t *raw, size_t n, char *out, size_t cap)
{
    if (n < 4 || n % 2 || n / 2 >= cap)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        if (raw[i + 1] != 0 || !host_char(raw[i]))
            return false;
        out[i / 2] = (char)raw[i];
    }
    out[n / 2] = 0;
    return strchr(out, '.') != NULL;
}

bool fingerprint_exchange_blob(const char *greeting, char *out, size_t cap)
{
    const char *open = greeting ? strrchr(greeting, '[') : NULL;
    const char *close = open ? strchr(open, ']') : NULL;
    if (!close || close[1 + strspn(close + 1, " \t")] != 0)
        return false;   /* the blob closes the greeting */
    uint8_t *raw = NULL;
    size_t n = 0;
    if (sasl_b64_decode(open + 1, (size_t)(close - open - 1), &raw, &n, NULL, 0) < 0)
        return false;
    bool ok = utf16le_host(raw, n, out, cap);
    free(raw);
    return ok;
}

/* Exchange 2003 names its version and host in the greeting:
 * "... Microsoft Exchange Server 2003 IMAP4rev1 server version 6.5.7217.0 (<fqdn>) ready." */
static void exchange_version(const char *greeting, struct server_identity *id)
{
    const char *v = strcasestr(greeting, "Exchange Server 2003");
    const char *ver = v ? strcasestr(v, "version ") : NULL;
    if (ver)
        snprintf(id->version, sizeof id->version, "2003 %.*s", (int)strcspn(ver + 8, " "),
                 ver + 8);
}

void fingerprint_identify(const char *greeting, const struct capset *caps,
                          struct server_identity *id)
{
    memset(id, 0, sizeof *id);
    id->family = fingerprint_family(greeting, caps);
    if (strcmp(id->family, "exchange") != 0 || !greeting)
        return;
    char name[256];
    exchange_version(greeting, id);
    /* The blob is on only in Microsoft's datacenters (AppendServerNameInBanner). */
    if (fingerprint_exchange_blob(greeting, name, sizeof name))
        snprintf(id->version, sizeof id->version, "Online");
}

/* Exchange's ID version is the file version: 15.0 is 2013, 15.1 2016, 15.2
 * 2019; Exchange Online reports 15.20 and up (knowledge A1, Imap4RequestID). */
static void exchange_id_version(const char *v, struct server_identity *id)
{
    unsigned major = 0, minor = 0;
    if (sscanf(v, "%u.%u", &major, &minor) != 2 || major != 15)
        return;
    const char *name = minor >= 20 ? "Online" : minor == 0 ? "2013" : minor == 1 ? "2016"
                     : minor == 2 ? "2019" : NULL;
    if (name)
        snprintf(id->version, sizeof id->version, "%s (ID %u.%u)", name, major, minor);
}

/* The value after "key" in an ID reply: * ID ("name" "Dovecot" "version" "2.3.21") */
static bool id_field(const char *line, const char *key, char *out, size_t cap)
{
    char pat[40];
    snprintf(pat, sizeof pat, "\"%s\" \"", key);
    const char *p = strcasestr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    if (!p[n] || n == 0 || n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = 0;
    return true;
}

static void refine_id(struct server_identity *id, const char *line)
{
    char name[128], version[64];
    if (!id_field(line, "name", name, sizeof name))
        return;
    bool have_version = id_field(line, "version", version, sizeof version);
    if (strcasestr(name, "Microsoft.Exchange")) {
        id->family = "exchange";
        if (have_version)
            exchange_id_version(version, id);
        return;
    }
    if (!strcmp(id->family, "unknown"))
        id->family = fingerprint_family(name, NULL);
    if (have_version && strcmp(id->family, "unknown") != 0 && !id->version[0])
        snprintf(id->version, sizeof id->version, "%s", version);
}

/* "* BYE Microsoft Exchange Server 2013 IMAP4 server signing off." */
static void refine_signoff(struct server_identity *id, const char *line)
{
    const char *p = strcasestr(line, "Microsoft Exchange Server ");
    if (!p || !strcasestr(line, "signing off"))
        return;
    id->family = "exchange";
    unsigned year = 0;
    if (!id->version[0] && sscanf(p + 26, "%4u", &year) == 1 && year >= 2003 && year <= 2099)
        snprintf(id->version, sizeof id->version, "%u (sign-off)", year);
}

static void refine_dovecot(struct server_identity *id, const char *line)
{
    if (id->version[0] || strcmp(id->family, "dovecot") != 0)
        return;
    if (strstr(line, "Cleartext authentication disallowed") ||
        strstr(line, "[LIMIT] Maximum number of connections from user+IP"))
        snprintf(id->version, sizeof id->version, "2.4 or later");
    else if (strstr(line, "Plaintext authentication disallowed"))
        snprintf(id->version, sizeof id->version, "2.3 or earlier");
}

void fingerprint_refine(struct server_identity *id, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[i];
        if (!l)
            continue;
        if (!strncasecmp(l, "* ID ", 5))
            refine_id(id, l);
        refine_signoff(id, l);
        refine_dovecot(id, l);
    }
}
