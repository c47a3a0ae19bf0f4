#include "fingerprint.h"

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
