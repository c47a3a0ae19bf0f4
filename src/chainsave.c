/* chainsave — the chain as PEM. */
#include "chainsave.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int chainsave_write(const char *path, const struct tls_info *tls, size_t *n, char *err,
                    size_t errlen)
{
    *n = 0;
    if (!tls || !tls->n_chain) {
        snprintf(err, errlen, "the server sent no certificate; %s not written", path);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (size_t i = 0; i < tls->n_chain; i++)
        if (tls->chain[i].pem && fputs(tls->chain[i].pem, f) >= 0)
            (*n)++;
    if (fclose(f) != 0 || *n != tls->n_chain) {
        snprintf(err, errlen, "writing %s failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
