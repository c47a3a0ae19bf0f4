/* labshell — see labshell.h. */
#include "labshell.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lab_int.h"
#include "sanitize.h"

#define FQDN "EX01.contoso.local"

struct out {
    lab_out_fn fn;
    void *arg;
};

void lab_vsay(lab_out_fn fn, void *arg, const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    char *clean = sanitize_text(buf, strlen(buf), 1200);
    fn(arg, clean ? clean : "");
    free(clean);
}

void lab_say(lab_out_fn fn, void *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lab_vsay(fn, arg, fmt, ap);
    va_end(ap);
}

static void say(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lab_vsay(o->fn, o->arg, fmt, ap);
    va_end(ap);
}

int labshell_split(char *buf, char **words, int max)
{
    int n = 0;
    char *r = buf, *w = buf;
    for (;;) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (!*r)
            return n;
        if (n >= max)
            return -2;
        words[n++] = w;
        while (*r && *r != ' ' && *r != '\t') {
            if (*r == '\'' || *r == '"') {
                char q = *r++;
                while (*r && *r != q)
                    *w++ = *r++;
                if (*r != q)
                    return -1;
                r++;
            } else {
                *w++ = *r++;
            }
        }
        if (*r)
            r++;
        *w++ = '\0';
    }
}

/* ---- objects and their formatting ---------------------------------------- */

#define MAXPROP 24
struct psobj {
    const char *names[MAXPROP];
    char values[MAXPROP][256];
    int n;
};

static void prop(struct psobj *o, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void prop(struct psobj *o, const char *name, const char *fmt, ...)
{
    if (o->n >= MAXPROP)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->values[o->n], sizeof o->values[o->n], fmt, ap);
    va_end(ap);
    o->names[o->n++] = name;
}

/* Property selection: NULL means the cmdlet's default view. */
struct select {
    char *pats[16];
    int n;
};

static bool selected(const struct select *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (fnmatch(s->pats[i], name, FNM_CASEFOLD) == 0)
            return true;
    return false;
}

static void format_list(struct out *o, const struct psobj *objs, int nobj, const struct select *s)
{
    say(o, "%s", "");
    for (int k = 0; k < nobj; k++) {
        const struct psobj *ob = &objs[k];
        size_t w = 0;
        for (int i = 0; i < ob->n; i++)
            if (selected(s, ob->names[i]) && strlen(ob->names[i]) > w)
                w = strlen(ob->names[i]);
        for (int i = 0; i < ob->n; i++)
            if (selected(s, ob->names[i]))
                say(o, "%-*s : %s", (int)w, ob->names[i], ob->values[i]);
        say(o, "%s", "");
    }
}

static void format_table(struct out *o, const struct psobj *objs, int nobj, const struct select *s)
{
    if (!nobj)
        return;
    int cols[MAXPROP], nc = 0;
    size_t w[MAXPROP];
    for (int i = 0; i < objs[0].n; i++)
        if (selected(s, objs[0].names[i])) {
            cols[nc] = i;
            w[nc] = strlen(objs[0].names[i]);
            for (int k = 0; k < nobj; k++)
                if (strlen(objs[k].values[i]) > w[nc])
                    w[nc] = strlen(objs[k].values[i]);
            if (w[nc] > 48)
                w[nc] = 48;
            nc++;
        }
    char line[2048], dash[2048];
    size_t l = 0, d = 0;
    for (int c = 0; c < nc; c++) {
        const char *nm = objs[0].names[cols[c]];
        l += (size_t)snprintf(line + l, sizeof line - l, "%-*s ", (int)w[c], nm);
        char dd[64];
        size_t nl = strlen(nm) < sizeof dd - 1 ? strlen(nm) : sizeof dd - 1;
        memset(dd, '-', nl);
        dd[nl] = '\0';
        d += (size_t)snprintf(dash + d, sizeof dash - d, "%-*s ", (int)w[c], dd);
        if (l >= sizeof line || d >= sizeof dash)
            break;
    }
    say(o, "%s", "");
    say(o, "%s", line);
    say(o, "%s", dash);
    for (int k = 0; k < nobj; k++) {
        l = 0;
        for (int c = 0; c < nc && l < sizeof line; c++)
            l += (size_t)snprintf(line + l, sizeof line - l, "%-*.*s ", (int)w[c], (int)w[c],
                                  objs[k].values[cols[c]]);
        say(o, "%s", line);
    }
    say(o, "%s", "");
}

/* ---- errors as PowerShell prints them ------------------------------------ */

static int not_recognized(struct out *o, const char *name)
{
    say(o, "The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable "
           "program. Check the spelling of the name, or if a path was included, verify that the path is "
           "correct and try again.", name);
    say(o, "    + CategoryInfo          : ObjectNotFound: (%s:String) [], CommandNotFoundException", name);
    say(o, "    + FullyQualifiedErrorId : CommandNotFoundException");
    return -1;
}

static int no_param(struct out *o, const char *cmdlet, const char *param)
{
    say(o, "A parameter cannot be found that matches parameter name '%s'.", param);
    say(o, "    + CategoryInfo          : InvalidArgument: (:) [%s], ParameterBindingException", cmdlet);
    say(o, "    + FullyQualifiedErrorId : NamedParameterNotFound,%s", cmdlet);
    return -1;
}

static int missing_arg(struct out *o, const char *cmdlet, const char *param)
{
    say(o, "Missing an argument for parameter '%s'. Specify a parameter of type 'System.String' and try again.", param);
    say(o, "    + CategoryInfo          : InvalidArgument: (:) [%s], ParameterBindingException", cmdlet);
    say(o, "    + FullyQualifiedErrorId : MissingArgument,%s", cmdlet);
    return -1;
}

static int positional(struct out *o, const char *cmdlet, const char *arg)
{
    say(o, "A positional parameter cannot be found that accepts argument '%s'.", arg);
    say(o, "    + CategoryInfo          : InvalidArgument: (:) [%s], ParameterBindingException", cmdlet);
    say(o, "    + FullyQualifiedErrorId : PositionalParameterNotFound,%s", cmdlet);
    return -1;
}

/* ---- parameters ---------------------------------------------------------- */

struct params {
    const char *names[12];
    const char *values[12];
    int n;
    const char *pos[4];
    int npos;
};

/* Bind words[1..] to the allowed parameter names (case-insensitive; comma
 * lists split over words are joined). Prints the error itself. */
static int bind(struct out *o, const char *cmdlet, char **words, int n, const char *const *allowed,
                struct params *p, char *joinbuf, size_t joinlen)
{
    memset(p, 0, sizeof *p);
    size_t jused = 0;
    for (int i = 1; i < n; i++) {
        char *w = words[i];
        if (w[0] == '-' && isalpha((unsigned char)w[1])) {
            char *colon = strchr(w, ':');
            if (colon)
                *colon = '\0';
            const char *canon = NULL;
            for (int k = 0; allowed[k]; k++)
                if (!strcasecmp(allowed[k], w + 1))
                    canon = allowed[k];
            if (!canon)
                return no_param(o, cmdlet, w + 1);
            if (!strcmp(canon, "Force") && !colon) {    /* a switch: it takes no value */
                if (p->n < 12) {
                    p->names[p->n] = canon;
                    p->values[p->n++] = "True";
                }
                continue;
            }
            const char *val = colon ? colon + 1 : (i + 1 < n ? words[++i] : NULL);
            if (!val || (!colon && val[0] == '-' && isalpha((unsigned char)val[1])))
                return missing_arg(o, cmdlet, canon);
            /* "IMAP, POP" or "IMAP ,POP": join the comma list */
            char *dst = joinbuf + jused;
            int wrote = snprintf(dst, joinlen - jused, "%s", val);
            while (i + 1 < n && wrote > 0 && ((size_t)wrote < joinlen - jused) &&
                   (dst[wrote - 1] == ',' || words[i + 1][0] == ',')) {
                int more = snprintf(dst + wrote, joinlen - jused - (size_t)wrote, "%s", words[++i]);
                if (more < 0)
                    break;
                wrote += more;
            }
            if (wrote < 0 || (size_t)wrote >= joinlen - jused)
                return missing_arg(o, cmdlet, canon);
            jused += (size_t)wrote + 1;
            if (p->n < 12) {
                p->names[p->n] = canon;
                p->values[p->n++] = dst;
            }
        } else if (p->npos < 4) {
            p->pos[p->npos++] = w;
        } else {
            return positional(o, cmdlet, w);
        }
    }
    return 0;
}

static const char *param(const struct params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (!strcasecmp(p->names[i], name))
            return p->values[i];
    return NULL;
}

/* ---- Exchange cmdlets ---------------------------------------------------- */

static const char *login_name(enum lab_login l)
{
    return l == LT_PLAINTEXTLOGIN ? "PlainTextLogin" : l == LT_PLAINTEXTAUTH ? "PlainTextAuthentication" : "SecureLogin";
}

static int check_server(struct out *o, const char *cmdlet, const struct params *p)
{
    const char *s = param(p, "Server");
    if (s && strcasecmp(s, "EX01") && strcasecmp(s, FQDN)) {
        say(o, "The operation couldn't be performed because object '%s' couldn't be found on 'DC01.contoso.local'.", s);
        say(o, "    + CategoryInfo          : NotSpecified: (:) [%s], ManagementObjectNotFoundException", cmdlet);
        return -1;
    }
    return 0;
}

static void settings_obj(const struct lab *lab, enum lab_proto p, struct psobj *ob)
{
    bool imap = p == LP_IMAP;
    const struct lab_settings *s = &lab->ad[p];
    unsigned ssl = imap ? 993 : 995, plain = imap ? 143 : 110;
    prop(ob, "ProtocolName", imap ? "IMAP4" : "POP3");
    prop(ob, "Name", "1");
    prop(ob, "Server", "EX01");
    prop(ob, "LoginType", "%s", login_name(s->login));
    prop(ob, "X509CertificateName", "%s", s->x509);
    prop(ob, "InternalConnectionSettings", "{%s:%u:SSL, %s:%u:TLS}", FQDN, ssl, FQDN, plain);
    prop(ob, "ExternalConnectionSettings", "{}");
    prop(ob, "SSLBindings", "{[::]:%u, 0.0.0.0:%u}", ssl, ssl);
    prop(ob, "UnencryptedOrTLSBindings", "{[::]:%u, 0.0.0.0:%u}", plain, plain);
    prop(ob, "ProxyTargetPort", "%u", imap ? 1993 : 1995);
    prop(ob, "EnableGSSAPIAndNTLMAuth", "True");
    prop(ob, "EnforceCertificateErrors", "False");
    prop(ob, "Banner", "The Microsoft Exchange %s service is ready.", imap ? "IMAP4" : "POP3");
    prop(ob, "ProtocolLogEnabled", "%s", s->log_enabled ? "True" : "False");
    prop(ob, "LogFileLocation", "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Logging\\%s", imap ? "Imap4" : "Pop3");
    prop(ob, "MaxCommandSize", "%u", imap ? 10240 : 512);
    prop(ob, "PreAuthenticatedConnectionTimeout", "00:10:00");
    prop(ob, "AuthenticatedConnectionTimeout", "00:30:00");
}

static const char *const settings_default_view[] = { "UnencryptedOrTLSBindings", "SSLBindings",
    "InternalConnectionSettings", "ExternalConnectionSettings", "X509CertificateName", NULL };

static void cert_obj(const struct lab_cert *c, struct psobj *ob)
{
    char svc[64] = "", letters[8] = ".......", when[32], from[32], domains[400] = "";
    static const struct { unsigned bit; const char *name; char letter; int pos; } map[] = {
        { LAB_SVC_IMAP, "IMAP", 'I', 0 }, { LAB_SVC_POP, "POP", 'P', 1 },
        { LAB_SVC_IIS, "IIS", 'W', 3 }, { LAB_SVC_SMTP, "SMTP", 'S', 4 } };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (c->services & map[i].bit) {
            snprintf(svc + strlen(svc), sizeof svc - strlen(svc), "%s%s", svc[0] ? ", " : "", map[i].name);
            letters[map[i].pos] = map[i].letter;
        }
    size_t dl = 0;
    for (int i = 0; i < 4 && c->c.names[i][0]; i++)
        dl += (size_t)snprintf(domains + dl, sizeof domains - dl, "%s%s", i ? ", " : "", c->c.names[i]);
    struct tm tm;
    gmtime_r(&c->c.not_after, &tm);
    strftime(when, sizeof when, "%m/%d/%Y %I:%M:%S %p", &tm);
    gmtime_r(&c->c.not_before, &tm);
    strftime(from, sizeof from, "%m/%d/%Y %I:%M:%S %p", &tm);
    bool expired = c->c.not_after < time(NULL);
    prop(ob, "Thumbprint", "%s", c->c.thumbprint);
    prop(ob, "Services", "%s", letters);
    prop(ob, "NotAfter", "%s", when);
    prop(ob, "Subject", "%s", c->c.subject);
    prop(ob, "Issuer", "%s", c->c.issuer);
    prop(ob, "CertificateDomains", "{%s}", domains);
    prop(ob, "AccessRules", "%s", "{System.Security.AccessControl.CryptoKeyAccessRule}");
    prop(ob, "HasPrivateKey", "True");
    prop(ob, "IsSelfSigned", "False");
    prop(ob, "NotBefore", "%s", from);
    prop(ob, "Status", "%s", expired ? "DateInvalid" : "Valid");
    prop(ob, "EnabledServices", "%s", svc[0] ? svc : "None");
}

/* The rest of the pipeline: nothing, Format-List/fl or Format-Table/ft. */
static int emit(struct out *o, char **stage_words[], int stage_n[], int nstages, const struct psobj *objs,
                int nobj, const char *const *default_view, bool default_list)
{
    struct select s = { .n = 0 };
    bool list = default_list;
    if (nstages > 1) {
        char **w = stage_words[1];
        int n = stage_n[1];
        if (!strcasecmp(w[0], "Format-List") || !strcasecmp(w[0], "fl"))
            list = true;
        else if (!strcasecmp(w[0], "Format-Table") || !strcasecmp(w[0], "ft"))
            list = false;
        else
            return not_recognized(o, w[0]);
        for (int i = 1; i < n && s.n < 16; i++) {
            if (!strcasecmp(w[i], "-Property"))
                continue;
            if (w[i][0] == '-')
                return no_param(o, list ? "Format-List" : "Format-Table", w[i] + 1);
            for (char *tok = strtok(w[i], ","); tok && s.n < 16; tok = strtok(NULL, ","))
                s.pats[s.n++] = tok;
        }
        if (nstages > 2)
            return not_recognized(o, stage_words[2][0]);
    }
    if (!s.n) {
        if (nstages > 1 && list)
            s.pats[s.n++] = "*";
        else
            for (int i = 0; default_view[i] && s.n < 16; i++)
                s.pats[s.n++] = (char *)default_view[i];
    }
    if (list)
        format_list(o, objs, nobj, &s);
    else
        format_table(o, objs, nobj, &s);
    return 0;
}

static int bad_enum(struct out *o, const char *cmdlet, const char *param_name, const char *value,
                    const char *type, const char *names)
{
    say(o, "Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to type "
           "\"%s\". Error: \"Unable to match the identifier name %s to a valid enumerator name. Specify one "
           "of the following enumerator names and try again: %s\"", param_name, value, type, value, names);
    say(o, "    + CategoryInfo          : InvalidData: (:) [%s], ParameterBindingArgumentTransformationException", cmdlet);
    say(o, "    + FullyQualifiedErrorId : ParameterArgumentTransformationError,%s", cmdlet);
    return -1;
}

static bool parse_bool(const char *v, bool *out);

static int set_settings(struct lab *lab, struct out *o, const char *cmdlet, enum lab_proto p,
                        const struct params *ps)
{
    if (check_server(o, cmdlet, ps) < 0)
        return -1;
    const char *x = param(ps, "X509CertificateName"), *lt = param(ps, "LoginType");
    if (ps->npos)
        return positional(o, cmdlet, ps->pos[0]);
    enum lab_login l = lab->ad[p].login;
    if (lt) {
        if (!strcasecmp(lt, "PlainTextLogin") || !strcmp(lt, "1"))
            l = LT_PLAINTEXTLOGIN;
        else if (!strcasecmp(lt, "PlainTextAuthentication") || !strcmp(lt, "2"))
            l = LT_PLAINTEXTAUTH;
        else if (!strcasecmp(lt, "SecureLogin") || !strcmp(lt, "3"))
            l = LT_SECURELOGIN;
        else
            return bad_enum(o, cmdlet, "LoginType", lt, "Microsoft.Exchange.Data.Directory.SystemConfiguration.LoginOptions",
                            "PlainTextLogin, PlainTextAuthentication, SecureLogin");
    }
    const char *pl = param(ps, "ProtocolLogEnabled");
    bool log_on = lab->ad[p].log_enabled;
    if (pl && !parse_bool(pl, &log_on)) {
        say(o, "Cannot process argument transformation on parameter 'ProtocolLogEnabled'. Cannot convert value "
               "\"%s\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, "
               "such as $True, $False, 1 or 0.", pl);
        return -1;
    }
    if (x && (strlen(x) >= sizeof lab->ad[p].x509 || !*x)) {
        say(o, "Cannot validate argument on parameter 'X509CertificateName'. The argument is null, empty or too long.");
        return -1;
    }
    if (x)
        snprintf(lab->ad[p].x509, sizeof lab->ad[p].x509, "%s", x);
    lab->ad[p].login = l;
    lab->ad[p].log_enabled = log_on;
    const char *name = p == LP_IMAP ? "IMAP4" : "POP3";
    say(o, "WARNING: Changes to %s settings will only take effect after all Microsoft Exchange %s services are "
           "restarted on server EX01.", name, name);
    lab_event(lab, "lab: %s settings stored (X509CertificateName %s, LoginType %s, ProtocolLogEnabled %s); "
              "they apply when MSExchange%s and MSExchange%sBE restart", name, lab->ad[p].x509, login_name(l),
              log_on ? "True" : "False",
              p == LP_IMAP ? "IMAP4" : "POP3", p == LP_IMAP ? "IMAP4" : "POP3");
    return 0;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "$true") || !strcasecmp(v, "true") || !strcmp(v, "1"))
        *out = true;
    else if (!strcasecmp(v, "$false") || !strcasecmp(v, "false") || !strcmp(v, "0"))
        *out = false;
    else
        return false;
    return true;
}

static bool identity_ok(const char *id)
{
    static const char *const ok[] = { "alice", "alice@contoso.com", "contoso\\alice", "Alice Wood", NULL };
    for (int i = 0; ok[i]; i++)
        if (!strcasecmp(id, ok[i]))
            return true;
    return false;
}

static int identity_missing(struct out *o, const char *cmdlet, const char *id)
{
    say(o, "The operation couldn't be performed because object '%s' couldn't be found on 'DC01.contoso.local'.", id);
    say(o, "    + CategoryInfo          : NotSpecified: (:) [%s], ManagementObjectNotFoundException", cmdlet);
    return -1;
}

static int cas_mailbox(struct lab *lab, struct out *o, bool set, const struct params *ps,
                       char **sw[], int sn[], int ns)
{
    const char *cmdlet = set ? "Set-CASMailbox" : "Get-CASMailbox";
    const char *id = param(ps, "Identity");
    if (!id && ps->npos)
        id = ps->pos[0];
    if (set && !id) {
        say(o, "Cannot process command because of one or more missing mandatory parameters: Identity.");
        return -1;
    }
    if (id && !identity_ok(id))
        return identity_missing(o, cmdlet, id);
    if (set) {
        const char *v[2] = { param(ps, "ImapEnabled"), param(ps, "PopEnabled") };
        for (int p = 0; p < 2; p++) {
            bool b;
            if (v[p] && !parse_bool(v[p], &b)) {
                say(o, "Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to "
                       "type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such "
                       "as $True, $False, 1 or 0.", p ? "PopEnabled" : "ImapEnabled", v[p]);
                return -1;
            }
            if (v[p])
                lab->mbx_enabled_ad[p] = b;
        }
        lab_event(lab, "lab: CASMailbox alice: ImapEnabled %s, PopEnabled %s (applies when the services restart)",
                  lab->mbx_enabled_ad[0] ? "True" : "False", lab->mbx_enabled_ad[1] ? "True" : "False");
        return 0;
    }
    struct psobj ob = { .n = 0 };
    prop(&ob, "Name", "Alice Wood");
    prop(&ob, "ActiveSyncEnabled", "True");
    prop(&ob, "OWAEnabled", "True");
    prop(&ob, "PopEnabled", "%s", lab->mbx_enabled_ad[LP_POP] ? "True" : "False");
    prop(&ob, "ImapEnabled", "%s", lab->mbx_enabled_ad[LP_IMAP] ? "True" : "False");
    prop(&ob, "MapiEnabled", "True");
    prop(&ob, "PrimarySmtpAddress", "alice@contoso.com");
    prop(&ob, "SamAccountName", "alice");
    prop(&ob, "ServerName", "ex01");
    static const char *const view[] = { "Name", "ActiveSyncEnabled", "OWAEnabled", "PopEnabled",
                                        "ImapEnabled", "MapiEnabled", NULL };
    return emit(o, sw, sn, ns, &ob, 1, view, false);
}

static int get_user(struct out *o, const struct params *ps, char **sw[], int sn[], int ns)
{
    const char *id = param(ps, "Identity");
    if (!id && ps->npos)
        id = ps->pos[0];
    if (id && !identity_ok(id))
        return identity_missing(o, "Get-User", id);
    struct psobj ob = { .n = 0 };
    prop(&ob, "Name", "Alice Wood");
    prop(&ob, "RecipientType", "UserMailbox");
    prop(&ob, "UserPrincipalName", "alice@contoso.com");
    prop(&ob, "SamAccountName", "alice");
    prop(&ob, "AccountDisabled", "False");
    prop(&ob, "WindowsEmailAddress", "alice@contoso.com");
    static const char *const view[] = { "Name", "RecipientType", NULL };
    return emit(o, sw, sn, ns, &ob, 1, view, false);
}

static int get_service(const struct lab *lab, struct out *o, const struct params *ps,
                       char **sw[], int sn[], int ns)
{
    const char *pat = param(ps, "Name");
    if (!pat && ps->npos)
        pat = ps->pos[0];
    static const char *const display[LS_NSVC] = { "Microsoft Exchange IMAP4", "Microsoft Exchange IMAP4 Backend",
                                                 "Microsoft Exchange POP3", "Microsoft Exchange POP3 Backend" };
    struct psobj obs[LS_NSVC];
    int k = 0;
    memset(obs, 0, sizeof obs);
    for (int s = 0; s < LS_NSVC; s++) {
        const char *name = lab_service_name((enum lab_svc)s);
        if (pat && fnmatch(pat, name, FNM_CASEFOLD))
            continue;
        prop(&obs[k], "Status", "Running");
        prop(&obs[k], "Name", "%s", name);
        prop(&obs[k], "DisplayName", "%s", display[s]);
        prop(&obs[k], "StartType", "Automatic");
        k++;
    }
    (void)lab;
    if (!k) {
        say(o, "Get-Service : Cannot find any service with service name '%s'.", pat);
        return -1;
    }
    static const char *const view[] = { "Status", "Name", "DisplayName", NULL };
    return emit(o, sw, sn, ns, obs, k, view, false);
}

static int enable_cert(struct lab *lab, struct out *o, const struct params *ps)
{
    const char *cmdlet = "Enable-ExchangeCertificate";
    const char *t = param(ps, "Thumbprint"), *svc = param(ps, "Services");
    if (!t && ps->npos)
        t = ps->pos[0];
    if (!t || !svc) {
        say(o, "Cannot process command because of one or more missing mandatory parameters: %s.",
            !t ? "Thumbprint" : "Services");
        return -1;
    }
    int idx = -1;
    for (int i = 0; i < lab->ncerts; i++)
        if (!strcasecmp(lab->certs[i].c.thumbprint, t))
            idx = i;
    if (idx < 0) {
        say(o, "The certificate with thumbprint %s was not found.", t);
        say(o, "    + CategoryInfo          : ObjectNotFound: (:) [%s], ObjectNotFoundException", cmdlet);
        return -1;
    }
    unsigned bits = 0;
    char copy[128];
    snprintf(copy, sizeof copy, "%s", svc);
    for (char *tok = strtok(copy, ", "); tok; tok = strtok(NULL, ", ")) {
        if (!strcasecmp(tok, "IMAP"))
            bits |= LAB_SVC_IMAP;
        else if (!strcasecmp(tok, "POP"))
            bits |= LAB_SVC_POP;
        else if (!strcasecmp(tok, "IIS"))
            bits |= LAB_SVC_IIS;
        else if (!strcasecmp(tok, "SMTP"))
            bits |= LAB_SVC_SMTP;
        else if (strcasecmp(tok, "None"))
            return bad_enum(o, cmdlet, "Services", tok, "Microsoft.Exchange.Management.SystemConfigurationTasks.AllowedServices",
                            "None, IMAP, POP, UM, IIS, SMTP, Federation, UMCallRouter");
    }
    for (int i = 0; i < lab->ncerts; i++)
        if (i != idx)
            lab->certs[i].services &= ~(bits & (LAB_SVC_IMAP | LAB_SVC_POP | LAB_SVC_IIS));
    lab->certs[idx].services |= bits;
    /* Like Exchange (ManageExchangeCertificate.SetPopImapCertificate): enabling a
     * certificate for IMAP/POP silently sets X509CertificateName to its first name. */
    const char *first = lab->certs[idx].c.names[0];
    for (int p = 0; p < 2; p++)
        if (bits & (p ? LAB_SVC_POP : LAB_SVC_IMAP))
            snprintf(lab->ad[p].x509, sizeof lab->ad[p].x509, "%s", first);
    lab_event(lab, "lab: certificate %s enabled for %s; X509CertificateName is now %s (applies when the "
              "services restart)", lab->certs[idx].c.thumbprint, svc, first);
    return 0;
}

static int import_cert(struct lab *lab, struct out *o, const struct params *ps)
{
    const char *path = param(ps, "FilePath"), *store = param(ps, "CertStoreLocation");
    if (!path) {
        say(o, "Cannot process command because of one or more missing mandatory parameters: FilePath.");
        return -1;
    }
    if (!store || strcasecmp(store, "Cert:\\LocalMachine\\CA")) {
        say(o, "Import-Certificate : the lab only models importing the intermediate CA into Cert:\\LocalMachine\\CA");
        return -1;
    }
    lab->inter_installed_ad = true;
    say(o, "%s", "");
    say(o, "   PSParentPath: Microsoft.PowerShell.Security\\Certificate::LocalMachine\\CA");
    say(o, "%s", "");
    say(o, "Thumbprint                                Subject");
    say(o, "----------                                -------");
    say(o, "%-41s CN=Contoso Lab Issuing CA 1, O=mailscope lab", "(intermediate)");
    say(o, "%s", "");
    lab_event(lab, "lab: intermediate CA imported; the services send it after they restart");
    return 0;
}

static int restart_services(struct lab *lab, struct out *o, const struct params *ps)
{
    const char *names = param(ps, "Name");
    char copy[512];
    if (!names && ps->npos)
        names = ps->pos[0];
    if (!names) {
        say(o, "Cannot process command because of one or more missing mandatory parameters: Name.");
        return -1;
    }
    snprintf(copy, sizeof copy, "%s", names);
    /* check every name first: PowerShell restarts none of a list it can't resolve */
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        int s = -1;
        for (int k = 0; k < LS_NSVC; k++)
            if (!strcasecmp(tok, lab_service_name((enum lab_svc)k)))
                s = k;
        if (s < 0) {
            say(o, "Restart-Service : Cannot find any service with service name '%s'.", tok);
            say(o, "    + CategoryInfo          : ObjectNotFound: (%s:String) [Restart-Service], ServiceCommandException", tok);
            say(o, "    + FullyQualifiedErrorId : NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.RestartServiceCommand");
            return -1;
        }
        lab_restart(lab, (enum lab_svc)s);
        const struct lab_run *r = &lab->run[s];
        lab_event(lab, "lab: %s restarted: X509CertificateName %s (%s), LoginType %s", lab_service_name((enum lab_svc)s),
                  r->set.x509, r->cert >= 0 ? lab->certs[r->cert].c.subject : "no certificate matches",
                  login_name(r->set.login));
    }
    return 0;
}

static int exch_stage(struct lab *lab, struct out *o, char **sw[], int sn[], int ns)
{
    char **w = sw[0];
    int n = sn[0];
    const char *c = w[0];
    char join[LABSHELL_LINE_MAX];
    struct params ps;
    int rc;
    if (labreg_stage(lab, o->fn, o->arg, sw, sn, ns, &rc))
        return rc;
    static const char *const get_settings_p[] = { "Server", NULL };
    static const char *const set_settings_p[] = { "Server", "X509CertificateName", "LoginType",
                                                  "ProtocolLogEnabled", NULL };
    static const char *const cas_p[] = { "Identity", "ImapEnabled", "PopEnabled", NULL };
    static const char *const get_cas_p[] = { "Identity", NULL };
    static const char *const cert_p[] = { "Thumbprint", "Server", NULL };
    static const char *const enable_p[] = { "Thumbprint", "Services", "Server", "Force", NULL };
    static const char *const import_p[] = { "FilePath", "CertStoreLocation", NULL };
    static const char *const restart_p[] = { "Name", "Force", NULL };
    bool imap = !strcasecmp(c, "Get-ImapSettings") || !strcasecmp(c, "Set-ImapSettings");
    bool pop = !strcasecmp(c, "Get-PopSettings") || !strcasecmp(c, "Set-PopSettings");
    if ((imap || pop) && (c[0] == 'G' || c[0] == 'g')) {
        if (bind(o, c, w, n, get_settings_p, &ps, join, sizeof join) < 0 || check_server(o, c, &ps) < 0)
            return -1;
        if (ps.npos)
            return positional(o, c, ps.pos[0]);
        struct psobj ob = { .n = 0 };
        settings_obj(lab, imap ? LP_IMAP : LP_POP, &ob);
        return emit(o, sw, sn, ns, &ob, 1, settings_default_view, false);
    }
    if (imap || pop) {
        if (ns > 1)
            return not_recognized(o, sw[1][0]);
        if (bind(o, c, w, n, set_settings_p, &ps, join, sizeof join) < 0)
            return -1;
        return set_settings(lab, o, imap ? "Set-ImapSettings" : "Set-PopSettings", imap ? LP_IMAP : LP_POP, &ps);
    }
    if (!strcasecmp(c, "Get-CASMailbox") || !strcasecmp(c, "Set-CASMailbox")) {
        bool set = c[0] == 'S' || c[0] == 's';
        if (bind(o, c, w, n, set ? cas_p : get_cas_p, &ps, join, sizeof join) < 0)
            return -1;
        return cas_mailbox(lab, o, set, &ps, sw, sn, ns);
    }
    if (!strcasecmp(c, "Get-ExchangeCertificate")) {
        if (bind(o, c, w, n, cert_p, &ps, join, sizeof join) < 0)
            return -1;
        const char *t = param(&ps, "Thumbprint");
        if (!t && ps.npos)
            t = ps.pos[0];
        struct psobj obs[LAB_MAX_CERTS];
        int k = 0;
        memset(obs, 0, sizeof obs);
        for (int i = 0; i < lab->ncerts; i++)
            if (!t || !strcasecmp(t, lab->certs[i].c.thumbprint))
                cert_obj(&lab->certs[i], &obs[k++]);
        static const char *const view[] = { "Thumbprint", "Services", "NotAfter", "Subject", NULL };
        return emit(o, sw, sn, ns, obs, k, view, false);
    }
    static const char *const user_p[] = { "Identity", NULL };
    static const char *const service_p[] = { "Name", NULL };
    if (!strcasecmp(c, "Get-User"))
        return bind(o, c, w, n, user_p, &ps, join, sizeof join) < 0 ? -1 : get_user(o, &ps, sw, sn, ns);
    if (!strcasecmp(c, "Get-Service"))
        return bind(o, c, w, n, service_p, &ps, join, sizeof join) < 0 ? -1
                                                                        : get_service(lab, o, &ps, sw, sn, ns);
    if (ns > 1)
        return not_recognized(o, sw[1][0]);
    if (!strcasecmp(c, "Enable-ExchangeCertificate"))
        return bind(o, c, w, n, enable_p, &ps, join, sizeof join) < 0 ? -1 : enable_cert(lab, o, &ps);
    if (!strcasecmp(c, "Import-Certificate"))
        return bind(o, c, w, n, import_p, &ps, join, sizeof join) < 0 ? -1 : import_cert(lab, o, &ps);
    if (!strcasecmp(c, "Restart-Service"))
        return bind(o, c, w, n, restart_p, &ps, join, sizeof join) < 0 ? -1 : restart_services(lab, o, &ps);
    return not_recognized(o, c);
}

/* ---- Dovecot's root shell ------------------------------------------------ */

static int dovecot_stage(struct lab *lab, struct out *o, char **w, int n)
{
    if (!strcmp(w[0], "doveconf")) {
        int i = 1;
        if (i < n && !strcmp(w[i], "-n"))
            i++;
        if (i == n) {
            say(o, "# 2.3.21 (47349e2482): /etc/dovecot/dovecot.conf");
            say(o, "# OS: Linux 6.1.0-28-amd64 x86_64 Debian 12.8 ext4");
            say(o, "auth_mechanisms = plain");
            say(o, "disable_plaintext_auth = %s", lab->dov_disable_plain_conf ? "yes" : "no");
            say(o, "mail_location = maildir:~/Maildir");
            say(o, "protocols = \" imap pop3\"");
            say(o, "ssl = yes");
            say(o, "ssl_cert = </etc/dovecot/private/dovecot.pem");
            say(o, "ssl_key = # hidden, use -P to show it");
            return 0;
        }
        for (; i < n; i++) {
            if (!strcmp(w[i], "disable_plaintext_auth"))
                say(o, "disable_plaintext_auth = %s", lab->dov_disable_plain_conf ? "yes" : "no");
            else if (!strcmp(w[i], "ssl"))
                say(o, "ssl = yes");
            else {
                say(o, "doveconf: Fatal: Unknown setting: %s", w[i]);
                return -1;
            }
        }
        return 0;
    }
    if (!strcmp(w[0], "echo")) {
        /* echo 'disable_plaintext_auth = no' >> /etc/dovecot/conf.d/10-auth.conf */
        if (n == 4 && !strcmp(w[2], ">>") && !strncmp(w[3], "/etc/dovecot/", 13)) {
            char key[64], val[16];
            if (sscanf(w[1], " %63[a-z_0-9] = %15s", key, val) != 2) {
                say(o, "lab: the lab's configuration takes lines of the form 'name = value'");
                return -1;
            }
            if (!strcmp(key, "disable_plaintext_auth") && (!strcmp(val, "yes") || !strcmp(val, "no")))
                lab->dov_disable_plain_conf = !strcmp(val, "yes");
            else if (strcmp(key, "ssl") && strcmp(key, "login_trusted_networks"))
                /* echo writes anything; 2.3 refuses it at the next reload (2.4's auth_allow_cleartext too) */
                snprintf(lab->dov_bad_setting, sizeof lab->dov_bad_setting, "%s", key);
            return 0;
        }
        say(o, "%s", n > 1 ? w[1] : "");
        return 0;
    }
    if (!strcmp(w[0], "sed") && n == 4 && !strcmp(w[1], "-i") && !strncmp(w[3], "/etc/dovecot/", 13)) {
        /* sed -i '/NAME/d' FILE: the way back from a wrong line */
        size_t l = strlen(w[2]);
        if (l > 3 && w[2][0] == '/' && !strcmp(w[2] + l - 2, "/d")) {
            if (lab->dov_bad_setting[0] && !strncmp(w[2] + 1, lab->dov_bad_setting, l - 3))
                lab->dov_bad_setting[0] = '\0';
            if (!strncmp(w[2] + 1, "disable_plaintext_auth", l - 3) && l - 3 == 22)
                lab->dov_disable_plain_conf = true;   /* back to the 2.3 default */
            return 0;
        }
        say(o, "lab: only sed -i '/NAME/d' FILE is modelled");
        return -1;
    }
    if ((!strcmp(w[0], "systemctl") && n == 3 && (!strcmp(w[1], "reload") || !strcmp(w[1], "restart")) &&
         !strcmp(w[2], "dovecot")) || (!strcmp(w[0], "doveadm") && n == 2 && !strcmp(w[1], "reload"))) {
        if (lab->dov_bad_setting[0]) {
            if (!strcmp(w[0], "systemctl"))
                say(o, "Job for dovecot.service failed because the control process exited with error code.");
            say(o, "doveconf: Fatal: Error in configuration file /etc/dovecot/conf.d/10-auth.conf: "
                   "Unknown setting: %s", lab->dov_bad_setting);
            return -1;
        }
        lab->dov_disable_plain_run = lab->dov_disable_plain_conf;
        lab_event(lab, "lab: dovecot reloaded: disable_plaintext_auth = %s",
                  lab->dov_disable_plain_run ? "yes" : "no");
        return 0;
    }
    say(o, "-bash: %s: command not found", w[0]);
    return -1;
}

/* ---- entry points ---------------------------------------------------------- */

const char *lab_prompt(const struct lab *lab)
{
    switch (lab->family) {
    case LF_DOVECOT: return "root@mail:~#";
    case LF_ONLINE: return "PS C:\\>";
    case LF_GMAIL: return "[Google Account] alice@gmail.com>";
    default: return "[PS] EX01>";
    }
}

void lab_shell_help(const struct lab *lab, lab_out_fn fn, void *arg)
{
    struct out o = { fn, arg };
    if (lab->family == LF_GMAIL) {
        labgoogle_help(fn, arg);
        return;
    }
    if (lab->family == LF_DOVECOT) {
        say(&o, "Commands this shell understands:");
        say(&o, "  doveconf -n [disable_plaintext_auth]     show the configuration");
        say(&o, "  echo 'disable_plaintext_auth = no' >> /etc/dovecot/conf.d/10-auth.conf");
        say(&o, "  sed -i '/NAME/d' /etc/dovecot/conf.d/10-auth.conf   remove a line again");
        say(&o, "  systemctl reload dovecot | doveadm reload   apply it");
        say(&o, "  help, exit");
        return;
    }
    say(&o, "Commands this shell understands (cmdlet and parameter names are case-insensitive):");
    say(&o, "  Get-ImapSettings [-Server EX01] [| Format-List X509CertificateName,LoginType]");
    say(&o, "  Set-ImapSettings [-Server EX01] -X509CertificateName NAME");
    say(&o, "  Set-ImapSettings [-Server EX01] -LoginType PlainTextLogin|PlainTextAuthentication|SecureLogin");
    say(&o, "  Get-PopSettings / Set-PopSettings        the same for POP3");
    say(&o, "  Set-ImapSettings -ProtocolLogEnabled $true|$false");
    say(&o, "  Get-User alice | Format-List UserPrincipalName,SamAccountName,AccountDisabled");
    say(&o, "  Get-Service MSExchangeIMAP4*");
    say(&o, "  Get-CASMailbox -Identity alice [| Format-List ImapEnabled,PopEnabled]");
    say(&o, "  Set-CASMailbox -Identity alice -ImapEnabled $true|$false [-PopEnabled $true|$false]");
    say(&o, "  Get-ExchangeCertificate [| Format-List]");
    say(&o, "  Enable-ExchangeCertificate -Thumbprint T -Services IMAP,POP");
    say(&o, "  Import-Certificate -FilePath FILE -CertStoreLocation Cert:\\LocalMachine\\CA");
    say(&o, "  Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE   (POP: MSExchangePOP3, MSExchangePOP3BE)");
    if (lab->schannel) {
        say(&o, "  New-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server' -Force");
        say(&o, "  New-ItemProperty -Path 'HKLM:\\...\\TLS 1.2\\Server' -Name Enabled -Value 1 -PropertyType DWord -Force");
        say(&o, "  Set-ItemProperty / Remove-ItemProperty / Get-ItemProperty / Get-Item 'HKLM:\\...'");
        say(&o, "  Restart-Computer [-Force]     SChannel reads its protocol switches only at boot");
    }
    say(&o, "  help, exit");
    say(&o, "As on the real server, a Set- takes effect only once the services restart.");
}

/* Split line at sep outside quotes; parts point into line. */
static int split_top(char *line, char sep, char **parts, int max)
{
    int n = 0;
    char q = 0;
    parts[n++] = line;
    for (char *p = line; *p; p++) {
        if (q) {
            if (*p == q)
                q = 0;
        } else if (*p == '\'' || *p == '"') {
            q = *p;
        } else if (*p == sep) {
            if (n >= max)
                return -1;
            *p = '\0';
            parts[n++] = p + 1;
        }
    }
    return n;
}

static int run_statement(struct lab *lab, struct out *o, char *stmt)
{
    char *stages[4];
    /* bash has no PowerShell pipeline here; a '>>' must stay in the word list */
    bool one_stage = lab->family == LF_DOVECOT || lab->family == LF_GMAIL;
    int ns = one_stage ? 1 : split_top(stmt, '|', stages, 4);
    if (one_stage)
        stages[0] = stmt;
    if (ns < 0) {
        say(o, "lab: at most 4 pipeline stages");
        return -1;
    }
    char *words[4][LABSHELL_MAX_TOKENS];
    char **sw[4];
    int sn[4];
    for (int i = 0; i < ns; i++) {
        sn[i] = labshell_split(stages[i], words[i], LABSHELL_MAX_TOKENS);
        sw[i] = words[i];
        if (sn[i] == -1) {
            say(o, "The string is missing the terminator: '.");
            return -1;
        }
        if (sn[i] < 0) {
            say(o, "lab: too many words (at most %d)", LABSHELL_MAX_TOKENS);
            return -1;
        }
        if (sn[i] == 0) {
            if (ns == 1)
                return 0;
            say(o, "An empty pipe element is not allowed.");
            return -1;
        }
    }
    if (!strcasecmp(sw[0][0], "help") || !strcasecmp(sw[0][0], "Get-Help")) {
        lab_shell_help(lab, o->fn, o->arg);
        return 0;
    }
    if (!strcasecmp(sw[0][0], "exit") || !strcasecmp(sw[0][0], "quit"))
        return 1;
    if (lab->family == LF_DOVECOT)
        return dovecot_stage(lab, o, sw[0], sn[0]);
    if (lab->family == LF_GMAIL)
        return labgoogle_exec(lab, o->fn, o->arg, sw[0], sn[0]);
    if (lab->family == LF_ONLINE && strcasecmp(sw[0][0], "Get-CASMailbox") && strcasecmp(sw[0][0], "Set-CASMailbox"))
        return not_recognized(o, sw[0][0]);
    return exch_stage(lab, o, sw, sn, ns);
}

int lab_shell_exec(struct lab *lab, const char *line, lab_out_fn fn, void *arg)
{
    struct out o = { fn, arg };
    size_t len = strnlen(line, LABSHELL_LINE_MAX + 1);
    if (len > LABSHELL_LINE_MAX) {
        say(&o, "lab: the line is longer than %d characters; nothing was run", LABSHELL_LINE_MAX);
        return -1;
    }
    char buf[LABSHELL_LINE_MAX + 1];
    memcpy(buf, line, len);
    buf[len] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    char *stmts[16];
    int n = split_top(buf, ';', stmts, 16);
    if (n < 0) {
        say(&o, "lab: at most 16 statements separated by ';'");
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        int r = run_statement(lab, &o, stmts[i]);
        if (r == 1)
            return 1;
        if (r < 0)
            rc = -1;   /* PowerShell goes on with the next statement after an error */
    }
    return rc;
}
