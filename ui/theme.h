/* theme — colours by role, so views say what a thing is, not which colour
 * it gets. NO_COLOR and monochrome terminals get attributes only. */
#ifndef MAILSCOPE_THEME_H
#define MAILSCOPE_THEME_H

#include <curses.h>

enum role {
    ROLE_NORMAL, ROLE_SENT, ROLE_OK, ROLE_NO, ROLE_BAD, ROLE_BYE, ROLE_BANNER_OK,
    ROLE_BANNER_BAD, ROLE_NOTICE, ROLE_DIM, ROLE_NOTE, ROLE_CLEAR, ROLE_TITLE, ROLE_ACTIVE,
    ROLE_STATUS, ROLE_ADDED, ROLE_REMOVED, ROLE_MATCH, ROLE_COUNT
};

void theme_init(void);
attr_t theme_attr(enum role r);

#endif
