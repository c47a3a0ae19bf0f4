/* labgoogle — the Gmail scenario's stand-in for the operator's side of the
 * fix, which happens in a web browser on Google's pages, not in a server
 * shell: typing one of the pages' addresses "opens" it (the ones the
 * gmail-app-password playbook prints), and `app-password create NAME` does
 * what the App passwords page's Create button does: it makes a new app
 * password and shows it once, 16 letters in groups of four, as Google does.
 * The IMAP/POP3 servers accept it from then on (labgoogle_app_password_ok);
 * `app-password revoke NAME` takes it back. The page texts are paraphrased
 * from memory of Google's pages [UNVERIFIED wording]; that an app password is
 * 16 letters shown in four groups and works with or without the spaces is
 * widely documented by mail clients' help pages [FIELD]. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "lab_int.h"

/* The 16 letters of s without spaces, lower-cased; false unless exactly 16 letters. */
static bool letters16(const char *s, char out[17])
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ' ')
            continue;
        if (!isalpha((unsigned char)*s) || n >= 16)
            return false;
        out[n++] = (char)tolower((unsigned char)*s);
    }
    out[n] = '\0';
    return n == 16;
}

bool lab_app_password_valid(const char *s)
{
    char l[17];
    return s && letters16(s, l);
}

bool labgoogle_app_password_ok(const struct lab *lab, const char *pw)
{
    char l[17];
    if (!pw || !letters16(pw, l))
        return false;
    for (int i = 0; i < lab->napp; i++)
        if (!strcmp(lab->app[i].pw, l))
            return true;
    return false;
}

bool lab_shell_line_is_secret(const struct lab *lab, const char *line)
{
    return lab->family == LF_GMAIL && labgoogle_app_password_ok(lab, line + strspn(line, " "));
}

static void grouped(const char *pw, char out[20])
{
    snprintf(out, 20, "%.4s %.4s %.4s %.4s", pw, pw + 4, pw + 8, pw + 12);
}

static bool new_password(struct lab *lab, char out[17])
{
    if (lab->app_next[0] && letters16(lab->app_next, out)) {
        lab->app_next[0] = '\0';        /* --app-password serves once, like Google's page */
        return true;
    }
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        return false;
    for (int i = 0; i < 16; i++)
        out[i] = (char)('a' + r[i] % 26);
    out[16] = '\0';
    return true;
}

static int create(struct lab *lab, lab_out_fn fn, void *arg, const char *name)
{
    if (!name || !*name) {
        lab_say(fn, arg, "App name: type a name that helps you remember where the app password is used "
                     "(app-password create NAME)");
        return -1;
    }
    for (int i = 0; i < lab->napp; i++)
        if (!strcasecmp(lab->app[i].name, name)) {
            lab_say(fn, arg, "An app password named \"%s\" exists already: revoke it first "
                         "(app-password revoke %s)", name, name);
            return -1;
        }
    if (lab->napp >= LAB_APP_PASSWORDS) {
        lab_say(fn, arg, "lab: at most %d app passwords; revoke one first", LAB_APP_PASSWORDS);
        return -1;
    }
    struct lab_app_password *a = &lab->app[lab->napp];
    if (!new_password(lab, a->pw)) {
        lab_say(fn, arg, "lab: no random bytes for the app password");
        return -1;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    lab->napp++;
    char g[20];
    grouped(a->pw, g);
    lab_say(fn, arg, "%s", "");
    lab_say(fn, arg, "Generated app password");
    lab_say(fn, arg, "Your app password for %s", a->name);
    lab_say(fn, arg, "    %s", g);
    lab_say(fn, arg, "How to use it: in the mail program's account settings, replace the password with");
    lab_say(fn, arg, "the 16-character password shown above. Like your normal password, it grants complete");
    lab_say(fn, arg, "access to your Google Account; Google shows it only this once.");
    lab_say(fn, arg, "%s", "");
    lab_event(lab, "lab: app password \"%s\" created for %s: IMAP and POP accept it from now on",
              a->name, lab_user(lab));
    return 0;
}

static int revoke(struct lab *lab, lab_out_fn fn, void *arg, const char *name)
{
    for (int i = 0; name && i < lab->napp; i++)
        if (!strcasecmp(lab->app[i].name, name)) {
            memmove(&lab->app[i], &lab->app[i + 1], (size_t)(lab->napp - i - 1) * sizeof lab->app[i]);
            lab->napp--;
            lab_say(fn, arg, "App password \"%s\" revoked.", name);
            lab_event(lab, "lab: app password \"%s\" revoked", name);
            return 0;
        }
    lab_say(fn, arg, "No app password named \"%s\" (app-password list names them).", name ? name : "");
    return -1;
}

static void list(const struct lab *lab, lab_out_fn fn, void *arg)
{
    if (!lab->napp) {
        lab_say(fn, arg, "You don't have any app passwords.");
        return;
    }
    lab_say(fn, arg, "Your app passwords:");
    for (int i = 0; i < lab->napp; i++)
        lab_say(fn, arg, "  %s", lab->app[i].name);
}

static int open_page(struct lab *lab, lab_out_fn fn, void *arg, const char *url)
{
    const char *p = url;
    if (!strncasecmp(p, "https://", 8))
        p += 8;
    if (!strncasecmp(p, "myaccount.google.com/apppasswords", 33) && !p[33 + strspn(p + 33, "/")]) {
        lab_say(fn, arg, "App passwords (%s)", lab_user(lab));
        lab_say(fn, arg, "App passwords help you sign in to your Google Account on older apps and services");
        lab_say(fn, arg, "that don't support modern security standards.");
        list(lab, fn, arg);
        lab_say(fn, arg, "To create a new app-specific password: app-password create NAME");
        return 0;
    }
    if (!strncasecmp(p, "myaccount.google.com/signinoptions/two-step-verification", 56) &&
        !p[56 + strspn(p + 56, "/")]) {
        lab_say(fn, arg, "2-Step Verification is on for %s.", lab_user(lab));
        return 0;
    }
    lab_say(fn, arg, "lab: this stand-in knows only https://myaccount.google.com/apppasswords and "
                 "https://myaccount.google.com/signinoptions/two-step-verification");
    return -1;
}

void labgoogle_help(lab_out_fn fn, void *arg)
{
    lab_say(fn, arg, "This stands in for Google's web pages (the fix is on Google's side, in a browser):");
    lab_say(fn, arg, "  https://myaccount.google.com/apppasswords      open the App passwords page");
    lab_say(fn, arg, "  https://myaccount.google.com/signinoptions/two-step-verification");
    lab_say(fn, arg, "  app-password create NAME      what the page's Create button does: a new app password,");
    lab_say(fn, arg, "                                shown once (16 letters); IMAP and POP accept it at once");
    lab_say(fn, arg, "  app-password list | app-password revoke NAME");
    lab_say(fn, arg, "  help, exit");
}

int labgoogle_exec(struct lab *lab, lab_out_fn fn, void *arg, char **w, int n)
{
    if (!strncasecmp(w[0], "https://", 8) || !strncasecmp(w[0], "myaccount.", 10)) {
        if (n > 1) {
            lab_say(fn, arg, "lab: one address at a time");
            return -1;
        }
        return open_page(lab, fn, arg, w[0]);
    }
    if (!strcasecmp(w[0], "app-password") && n >= 2) {
        if (!strcasecmp(w[1], "list") && n == 2) {
            list(lab, fn, arg);
            return 0;
        }
        if (!strcasecmp(w[1], "create") && n <= 3)
            return create(lab, fn, arg, n == 3 ? w[2] : NULL);
        if (!strcasecmp(w[1], "revoke") && n == 3)
            return revoke(lab, fn, arg, w[2]);
    }
    lab_say(fn, arg, "lab: unknown command \"%s\" (help lists the commands)", w[0]);
    return -1;
}
