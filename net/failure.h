/* failure — the stable classes of failure that reports and diagnosis key on. */
#ifndef MAILSCOPE_FAILURE_H
#define MAILSCOPE_FAILURE_H

enum failure_class {
    FAIL_NONE = 0,
    FAIL_DNS,           /* the name did not resolve */
    FAIL_CONNECT,       /* refused, unreachable, reset before the greeting */
    FAIL_TIMEOUT,       /* a wait exceeded --timeout */
    FAIL_CLOSED,        /* the server closed (or said BYE) when a reply was due */
    FAIL_TLS,           /* handshake failed, alert, non-TLS bytes */
    FAIL_CERT,          /* handshake done but the certificate did not verify */
    FAIL_TLS_REQUIRED,  /* TLS was required but could not be had; or credentials refused in clear */
    FAIL_PROTOCOL,      /* the server broke the protocol (injection, garbage, bounds) */
    FAIL_AUTH,          /* the server refused the credentials */
};

static inline const char *failure_class_name(enum failure_class c)
{
    static const char *const names[] = { "", "dns", "connect", "timeout", "closed", "tls",
                                         "cert", "tls-required", "protocol", "auth" };
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "";
}

#endif
