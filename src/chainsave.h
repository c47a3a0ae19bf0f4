/* chainsave — write the certificate chain the server sent as PEM, leaf
 * first (probe --save-chain FILE, the console's /chain save FILE). The file
 * is created with mode 0644 (certificates are public); a symlink at FILE is
 * refused. */
#ifndef MAILSCOPE_CHAINSAVE_H
#define MAILSCOPE_CHAINSAVE_H

#include <stddef.h>

#include "tls.h"

/* 0, or -1 with the reason in err. Returns the number written in *n. */
int chainsave_write(const char *path, const struct tls_info *tls, size_t *n, char *err,
                    size_t errlen);

#endif
