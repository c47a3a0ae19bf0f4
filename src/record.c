#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "trjson.h"

FILE *record_create(const char *path, unsigned mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

int record_write(const char *path, json_t *report, const struct plan *p,
                 const struct transcript *t, struct session *s, const struct report_target *tg,
                 const struct report_verdict *v, char *err, size_t errlen)
{
    const char *ext = strrchr(path, '.');
    if (!ext) {
        snprintf(err, errlen, "%s needs an extension: .json, .txt or .md", path);
        return -1;
    }
    bool json = !strcasecmp(ext, ".json"), md = !strcasecmp(ext, ".md");
    if (!json && !md && strcasecmp(ext, ".txt")) {
        snprintf(err, errlen, "unknown extension %s (use .json, .txt or .md)", ext);
        return -1;
    }
    FILE *f = record_create(path, 0600, err, errlen);
    if (!f)
        return -1;
    if (json) {
        const struct capset *caps[CAPS_PHASES] = { session_caps(s, CAPS_BEFORE_TLS),
            session_caps(s, CAPS_AFTER_TLS), session_caps(s, CAPS_AFTER_LOGIN) };
        trjson_write(f, report, t, caps);
    } else {
        if (md)
            fprintf(f, "# mailscope probe %s\n\n```text\n", tg->url);
        report_text(f, p, t, s, tg, v);
        if (md)
            fputs("```\n", f);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

