#include "theme.h"

#include <stdbool.h>
#include <stdlib.h>

static attr_t attrs[ROLE_COUNT];

struct spec { short fg, bg; attr_t extra, mono; };

static const struct spec specs[ROLE_COUNT] = {
    [ROLE_NORMAL] = { -1, -1, 0, 0 },
    [ROLE_SENT] = { COLOR_CYAN, -1, 0, A_BOLD },
    [ROLE_OK] = { COLOR_GREEN, -1, 0, 0 },
    [ROLE_NO] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
    [ROLE_BAD] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
    [ROLE_BYE] = { COLOR_MAGENTA, -1, 0, A_UNDERLINE },
    [ROLE_BANNER_OK] = { COLOR_GREEN, -1, A_BOLD, A_BOLD },
    [ROLE_BANNER_BAD] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE },
    [ROLE_NOTICE] = { COLOR_YELLOW, -1, 0, A_BOLD },
    [ROLE_DIM] = { -1, -1, A_DIM, A_DIM },
    [ROLE_NOTE] = { COLOR_BLUE, -1, A_BOLD, A_BOLD },
    [ROLE_CLEAR] = { COLOR_BLACK, COLOR_YELLOW, 0, A_REVERSE },
    [ROLE_TITLE] = { -1, -1, A_BOLD, A_BOLD },
    [ROLE_ACTIVE] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE },
    [ROLE_STATUS] = { COLOR_WHITE, COLOR_BLUE, 0, A_REVERSE },
    [ROLE_ADDED] = { COLOR_GREEN, -1, A_BOLD, A_BOLD },
    [ROLE_REMOVED] = { COLOR_RED, -1, 0, A_DIM },
    [ROLE_MATCH] = { COLOR_BLACK, COLOR_YELLOW, 0, A_STANDOUT },
};

void theme_init(void)
{
    const char *no_color = getenv("NO_COLOR");
    bool color = has_colors() && !(no_color && *no_color);
    if (color) {
        start_color();
        use_default_colors();
    }
    for (int r = 0; r < ROLE_COUNT; r++) {
        if (!color || (specs[r].fg < 0 && specs[r].bg < 0)) {
            attrs[r] = color ? specs[r].extra : specs[r].mono;
            continue;
        }
        init_pair((short)(r + 1), specs[r].fg, specs[r].bg);
        attrs[r] = COLOR_PAIR(r + 1) | specs[r].extra;
    }
}

attr_t theme_attr(enum role r) { return attrs[r]; }
