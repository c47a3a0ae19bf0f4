/* url — mailscope's target URLs: imap://[user@]host[:port], imaps://,
 * pop3://, pop3s://. IPv6 literals in brackets. User names may be
 * percent-encoded (alice%40example.com). A password in the URL is refused:
 * passwords never travel on the command line. */
#ifndef MAILSCOPE_URL_H
#define MAILSCOPE_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

struct mail_url {
    enum session_proto proto;
    bool implicit_tls;          /* imaps, pop3s */
    char scheme[8];
    char user[256];             /* "" when absent */
    char host[256];             /* without brackets */
    unsigned port;
};

/* Returns 0, or -1 with a message for the operator in err. */
int url_parse(const char *s, struct mail_url *u, char *err, size_t errlen);

#endif
