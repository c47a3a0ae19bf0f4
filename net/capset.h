/* capset — a server's advertised capabilities (IMAP CAPABILITY atoms or POP3
 * CAPA lines), bounded in count and length, compared case-insensitively. */
#ifndef MAILSCOPE_CAPSET_H
#define MAILSCOPE_CAPSET_H

#include <stdbool.h>
#include <stddef.h>

#define CAPSET_MAX 256       /* entries kept; more set truncated */
#define CAPSET_RESERVED 32   /* room past CAPSET_MAX for the atoms security depends on */
#define CAPSET_MAX_LEN 256   /* bytes per entry; longer are cut */

struct capset {
    char *item[CAPSET_MAX + CAPSET_RESERVED];
    size_t n;
    bool known;              /* a list was received (possibly empty) */
    bool truncated;
};

/* Add the space-separated atoms of an IMAP capability list. */
void capset_add_atoms(struct capset *c, const char *s, size_t len);
/* Add one POP3 CAPA line as one entry ("SASL PLAIN LOGIN"). */
void capset_add_line(struct capset *c, const char *s, size_t len);
bool capset_has(const struct capset *c, const char *name);
/* For POP3: does a "SASL ..." line list mech? For IMAP: is "AUTH=mech" there? */
bool capset_has_sasl(const struct capset *c, const char *mech);
void capset_clear(struct capset *c);
void capset_copy(struct capset *dst, const struct capset *src);

#endif
