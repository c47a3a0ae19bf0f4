#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *secret_from_env(const char *var, char *err, size_t errlen)
{
    const char *v = getenv(var);
    if (!v) {
        snprintf(err, errlen, "the environment variable %s (--password-env) is not set", var);
        return NULL;
    }
    char *s = strdup(v);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

char *secret_from_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read the password file %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    while (buf && len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    buf[len] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
    char *s = strdup(buf);
    OPENSSL_cleanse(buf, cap + 1);
    free(buf);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

void secret_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}
