#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "export.h"
#include "export_html.h"
#include "export_text.h"
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

enum record_format { REC_NONE, REC_JSON, REC_TXT, REC_MD, REC_HTML };

static enum record_format format_of(const char *ext)
{
    static const struct { const char *ext; enum record_format f; } map[] = {
        { ".json", REC_JSON }, { ".txt", REC_TXT }, { ".md", REC_MD }, { ".html", REC_HTML } };
    for (size_t i = 0; ext && i < sizeof map / sizeof *map; i++)
        if (!strcasecmp(ext, map[i].ext))
            return map[i].f;
    return REC_NONE;
}

/* The second layer of redaction (the engine redacted first), on the bytes
 * before trjson encodes them, so a user name in raw bytes is caught too and
 * the base64 and PEM in the file stay valid. */
static char *scrub(const void *arg, const void *data, size_t len, size_t *out_len)
{
    return redact_scrub(arg, data, len, out_len);
}

static int write_json(FILE *f, json_t *report, const struct export_ctx *x)
{
    const struct capset *caps[CAPS_PHASES] = { NULL, NULL, NULL };
    for (int ph = 0; x->s && ph < CAPS_PHASES; ph++)
        caps[ph] = session_caps(x->s, (enum caps_phase)ph);
    json_t *doc = trjson_document(report, x->t, caps, x->red.user ? scrub : NULL, &x->red);
    if (!doc)
        return -1;
    redact_scrub_json(&x->red, json_object_get(doc, "report"));
    /* What a reader must not look for here, as the text formats' header says. */
    json_object_set_new(doc, "redacted", json_string(redact_what(&x->red)));
    int rc = trjson_dump(f, doc);
    json_decref(doc);
    return rc;
}

int record_write(const char *path, json_t *report, const struct plan *p,
                 const struct transcript *t, struct session *s, const struct report_target *tg,
                 const struct report_verdict *v, char *err, size_t errlen)
{
    const char *ext = strrchr(path, '.');
    enum record_format fmt = format_of(ext);
    if (fmt == REC_NONE) {
        if (ext)
            snprintf(err, errlen, "unknown extension %s (use .txt, .md, .html or .json)", ext);
        else
            snprintf(err, errlen, "%s needs an extension: .txt, .md, .html or .json", path);
        return -1;
    }
    FILE *f = record_create(path, 0600, err, errlen);
    if (!f)
        return -1;
    struct export_ctx x;
    export_ctx_init(&x, p, t, s, tg, v);
    int rc = fmt == REC_JSON ? write_json(f, report, &x)
           : fmt == REC_HTML ? export_html_write(f, &x)
                             : export_text_write(f, fmt == REC_MD, &x);
    if (fclose(f) != 0 || rc < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
