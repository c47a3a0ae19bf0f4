/* secret — reading a password or token from where the operator put it
 * (an environment variable or a file), never from the command line.
 * The returned buffer is the caller's; free it with secret_free (wipes). */
#ifndef MAILSCOPE_SECRET_H
#define MAILSCOPE_SECRET_H

#include <stddef.h>

/* Returns a new string, or NULL with a message in err. */
char *secret_from_env(const char *var, char *err, size_t errlen);
/* The file's first line (without CR/LF); at most 64 KiB is read. */
char *secret_from_file(const char *path, char *err, size_t errlen);
void secret_free(char *s);

#endif
