/* chainsave — the chain as PEM. */
#include "chainsave.h"

#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int chainsave_write(const char *path, const struct tls_info *tls, size_t *n, char *err,
                    size_t errlen)
{
    *n = 0;
    if (!tls || !tls->n_chain) {
        snprintf(err, errlen, "the server sent no certificate; %s not written", path);
        return -1;
    }
    FILE *f = record_create(path, 0644, err, errlen);   /* certificates are public */
    if (!f)
        return -1;
    for (size_t i = 0; i < tls->n_chain; i++)
        if (tls->chain[i].pem && fputs(tls->chain[i].pem, f) >= 0)
            (*n)++;
    if (fclose(f) != 0 || *n != tls->n_chain) {
        snprintf(err, errlen, "writing %s failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
