/* datafiles — where the diagnosis rules and the walkthrough playbooks come
 * from besides the binary: one bounded file, the files of a directory in
 * name order, the user's configuration directory. The parsing is the
 * caller's (a callback); a file that fails to load becomes one line of the
 * warnings, so one bad user file never hides the others. */
#ifndef MAILSCOPE_DATAFILES_H
#define MAILSCOPE_DATAFILES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Parse text[0..len) named name into set; 0, or -1 with "name:line: what" in err. */
typedef int (*datafiles_parse_fn)(void *set, const char *name, const char *text, size_t len,
                                  char *err, size_t errlen);

/* Read path (at most max bytes: one more is read, so the parser sees that
 * it is too long) and parse it. 0, or -1 with a message in err. */
int datafiles_load_file(const char *path, size_t max, datafiles_parse_fn parse, void *set,
                        char *err, size_t errlen);
/* Every file of dir whose name ends in ext (".rules"), at most 256, in name
 * order; hidden files are skipped; each failure is appended to warn. A
 * missing dir is fine. */
void datafiles_load_dir(const char *dir, const char *ext, size_t max, datafiles_parse_fn parse,
                        void *set, char *warn, size_t warnlen);
/* A file compiled into the binary (src/embed.cmake). */
struct datafiles_builtin { const char *name; const char *text; };
/* Parse each of the n built-in files, named "builtin:NAME". 0, or -1 with err. */
int datafiles_load_builtin(const struct datafiles_builtin *files, size_t n,
                           datafiles_parse_fn parse, void *set, char *err, size_t errlen);
/* The built-ins (an error is -1, in warn), then the ext files of the user's
 * config directory LEAF (their failures are warnings). */
int datafiles_load_default(const struct datafiles_builtin *files, size_t n, const char *leaf,
                           const char *ext, size_t max, datafiles_parse_fn parse, void *set,
                           char *warn, size_t warnlen);
/* $XDG_CONFIG_HOME/mailscope/LEAF, else ~/.config/mailscope/LEAF; false when
 * neither variable is set. */
int datafiles_config_dir(const char *leaf, char *out, size_t cap);
/* The line format both share: one statement a line, words apart by blanks. */
/* s without its leading and trailing blanks (and a CR), trimmed in place. */
char *datafiles_trim(char *s);
/* The next blank-delimited word of *s, NUL-terminated in place; NULL at the end. */
char *datafiles_word(char **s);
/* An id: 1-64 letters, digits, '-', '_' or '.'. */
bool datafiles_valid_id(const char *s);
/* "name:line: " and the formatted message into err; returns -1. */
int datafiles_fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt,
                   va_list ap);

/* Append msg to warn as a new line (bounded). */
void datafiles_warn(char *warn, size_t warnlen, const char *msg);

#endif
