/* labreg — the simulated Windows registry of the Exchange lab and the
 * cmdlets that edit it: New-Item, New-ItemProperty, Set-ItemProperty,
 * Remove-ItemProperty, Get-Item, Get-ItemProperty, and Restart-Computer,
 * which is what makes SChannel read its protocol switches again.
 * What is modelled, and how faithfully:
 *  - New-Item -Force on a key that exists deletes it (with its values and
 *    subkeys) and creates it empty: PowerShell's RegistryProvider.NewItem
 *    ("Remove the existing key before creating the new one"). So of two lines
 *    `New-Item KEY -Force | New-ItemProperty -Name A ...` and the same for B,
 *    the second wipes A. Without -Force an existing key is an error, and a
 *    missing parent too (-Force creates the intermediate keys).
 *  - SChannel (knowledge R-EXCH-020, Microsoft's TLS guidance): a protocol's
 *    server side is on unless ...\Protocols\<TLS 1.x>\Server holds a DWORD
 *    Enabled = 0 or a DWORD DisabledByDefault other than 0. That a value of
 *    another kind (a string "1") is ignored, and that any non-zero Enabled
 *    counts as on, are [INFER]. Windows reads the switches at boot only.
 *  - Without -PropertyType a value of digits becomes a DWORD and anything else
 *    a string, as PowerShell's Int32/String argument conversion does [INFER
 *    for the quoted case, which the lab cannot tell apart].
 * Paths: HKLM:\..., Registry::HKEY_LOCAL_MACHINE\... ('/' works as '\'). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lab_int.h"

#define PROTOCOLS "SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"
#define NETFX "SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319"
#define PSPATH "Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\"

struct out {
    lab_out_fn fn;
    void *arg;
};

static void say(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lab_vsay(o->fn, o->arg, fmt, ap);
    va_end(ap);
}

/* ---- the model ------------------------------------------------------------ */

static const char *const ver_names[3] = { "TLS 1.0", "TLS 1.1", "TLS 1.2" };
static const unsigned ver_bits[3] = { LABCERT_TLS10, LABCERT_TLS11, LABCERT_TLS12 };

static struct lab_regkey *find_key(struct lab *lab, const char *path)
{
    for (int i = 0; i < lab->nreg; i++)
        if (!strcasecmp(lab->reg[i].path, path))
            return &lab->reg[i];
    return NULL;
}

static const struct lab_regval *find_val(const struct lab_regkey *k, const char *name)
{
    for (int i = 0; k && i < k->n; i++)
        if (!strcasecmp(k->v[i].name, name))
            return &k->v[i];
    return NULL;
}

/* Is a an ancestor of b (or b itself)? */
static bool under(const char *a, const char *b)
{
    size_t n = strlen(a);
    return !strncasecmp(a, b, n) && (b[n] == '\0' || b[n] == '\\');
}

static bool key_exists(const struct lab *lab, const char *path)
{
    if (under(path, PROTOCOLS) || under(path, NETFX) || !strcasecmp(path, "SOFTWARE") ||
        !strcasecmp(path, "SYSTEM"))
        return true;
    for (int i = 0; i < lab->nreg; i++)
        if (under(path, lab->reg[i].path))
            return true;
    return false;
}

static struct lab_regkey *add_key(struct lab *lab, const char *path)
{
    struct lab_regkey *k = find_key(lab, path);
    if (k || lab->nreg >= LAB_REG_KEYS)
        return k;
    k = &lab->reg[lab->nreg++];
    memset(k, 0, sizeof *k);
    snprintf(k->path, sizeof k->path, "%s", path);
    return k;
}

/* Delete path and every stored key below it. */
static void remove_tree(struct lab *lab, const char *path)
{
    char p[sizeof lab->reg[0].path];
    snprintf(p, sizeof p, "%s", path);
    for (int i = 0; i < lab->nreg;) {
        if (under(p, lab->reg[i].path)) {
            memmove(&lab->reg[i], &lab->reg[i + 1], (size_t)(lab->nreg - i - 1) * sizeof lab->reg[i]);
            lab->nreg--;
        } else {
            i++;
        }
    }
}

static struct lab_regval *set_val(struct lab_regkey *k, const char *name)
{
    for (int i = 0; i < k->n; i++)
        if (!strcasecmp(k->v[i].name, name))
            return &k->v[i];
    if (k->n >= LAB_REG_VALUES)
        return NULL;
    struct lab_regval *v = &k->v[k->n++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    return v;
}

static void dword(struct lab *lab, const char *path, const char *name, uint32_t n)
{
    struct lab_regkey *k = add_key(lab, path);
    struct lab_regval *v = k ? set_val(k, name) : NULL;
    if (v) {
        v->dword = true;
        v->num = n;
    }
}

void labreg_setup(struct lab *lab)
{
    lab->nreg = 0;
    /* TLS 1.1 and 1.2 switched off on the server side (a hardening script run
     * the wrong way round, or an old baseline); TLS 1.0 has no key: on */
    for (int i = 1; i < 3; i++) {
        char p[200];
        snprintf(p, sizeof p, PROTOCOLS "\\%s\\Server", ver_names[i]);
        dword(lab, p, "Enabled", 0);
        dword(lab, p, "DisabledByDefault", 1);
    }
}

unsigned labreg_schannel_versions(const struct lab *lab)
{
    unsigned v = 0;
    for (int i = 0; i < 3; i++) {
        char p[200];
        snprintf(p, sizeof p, PROTOCOLS "\\%s\\Server", ver_names[i]);
        const struct lab_regkey *k = find_key((struct lab *)lab, p);
        const struct lab_regval *en = find_val(k, "Enabled"), *dis = find_val(k, "DisabledByDefault");
        bool on = !(en && en->dword && en->num == 0) && !(dis && dis->dword && dis->num != 0);
        if (on)
            v |= ver_bits[i];
    }
    return v;
}

const char *labreg_versions_text(unsigned v, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 3; i++)
        if (v & ver_bits[i])
            n += (size_t)snprintf(out + n, n < outlen ? outlen - n : 0, "%s%s", n ? ", " : "", ver_names[i]);
    if (!out[0])
        snprintf(out, outlen, "no TLS version");
    return out;
}

/* ---- paths and parameters --------------------------------------------------- */

/* The path below HKEY_LOCAL_MACHINE, into out; false when it is not one. */
static bool norm_path(const char *in, char *out, size_t outlen)
{
    static const char *const prefixes[] = { "HKLM:", PSPATH, "Registry::HKEY_LOCAL_MACHINE\\",
                                            "Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE", NULL };
    const char *p = NULL;
    for (int i = 0; prefixes[i] && !p; i++)
        if (!strncasecmp(in, prefixes[i], strlen(prefixes[i])))
            p = in + strlen(prefixes[i]);
    if (!p)
        return false;
    size_t o = 0;
    for (; *p && o + 1 < outlen; p++) {
        char ch = *p == '/' ? '\\' : *p;
        if (ch == '\\' && (o == 0 || out[o - 1] == '\\'))
            continue;
        out[o++] = ch;
    }
    while (o && out[o - 1] == '\\')
        o--;
    out[o] = '\0';
    return *p == '\0' && o > 0;
}

struct rparams {
    const char *path, *name, *value, *type, *computer;
    bool force;
};

/* PowerShell binding, as far as these cmdlets need it: -Name value or
 * -Name:value, switches, positionals in order (Path, Name, Value). */
static int rbind(struct out *o, const char *cmdlet, char **w, int n, struct rparams *p)
{
    static const struct { const char *name; int slot; } names[] = {
        { "Path", 0 }, { "LiteralPath", 0 }, { "Name", 1 }, { "Value", 2 }, { "PropertyType", 3 },
        { "Type", 3 }, { "ItemType", 4 }, { "ComputerName", 5 }, { "Force", 6 }, { "Confirm", 7 },
        { "WhatIf", 8 },
    };
    const char **slots[6] = { &p->path, &p->name, &p->value, &p->type, NULL, &p->computer };
    const char *itemtype = NULL;
    slots[4] = &itemtype;
    int pos = 0;
    memset(p, 0, sizeof *p);
    for (int i = 1; i < n; i++) {
        char *a = w[i];
        if (a[0] == '-' && isalpha((unsigned char)a[1])) {
            char *colon = strchr(a, ':');
            if (colon)
                *colon = '\0';
            int slot = -1;
            for (size_t k = 0; k < sizeof names / sizeof *names; k++)
                if (!strcasecmp(a + 1, names[k].name))
                    slot = names[k].slot;
            if (slot < 0) {
                say(o, "%s : A parameter cannot be found that matches parameter name '%s'.", cmdlet, a + 1);
                return -1;
            }
            if (slot >= 6) {        /* switches; -Confirm:$false and -WhatIf are accepted and ignored */
                if (slot == 6)
                    p->force = !colon || strcasecmp(colon + 1, "$false");
                continue;
            }
            const char *v = colon ? colon + 1 : i + 1 < n ? w[++i] : NULL;
            if (!v) {
                say(o, "%s : Missing an argument for parameter '%s'. Specify a parameter of type "
                       "'System.String' and try again.", cmdlet, names[slot].name);
                return -1;
            }
            *slots[slot] = v;
        } else {
            while (pos < 3 && *slots[pos])
                pos++;   /* as PowerShell: positions skip what was bound by name */
            if (pos < 3) {
                *slots[pos++] = a;
                continue;
            }
            say(o, "%s : A positional parameter cannot be found that accepts argument '%s'.", cmdlet, a);
            return -1;
        }
    }
    return 0;
}

static int no_path(struct out *o, const char *cmdlet, const char *typed)
{
    say(o, "%s : Cannot find path '%s' because it does not exist.", cmdlet, typed);
    say(o, "    + CategoryInfo          : ObjectNotFound: (%s:String) [%s], ItemNotFoundException", typed, cmdlet);
    return -1;
}

static int bad_path(struct out *o, const char *cmdlet, const char *typed)
{
    say(o, "%s : lab: the simulated registry takes HKLM:\\... paths only (not '%s')", cmdlet, typed ? typed : "");
    return -1;
}

static void show_value(struct out *o, const struct lab_regval *v, int w)
{
    if (v->dword)
        say(o, "%-*s : %u", w, v->name, (unsigned)v->num);
    else
        say(o, "%-*s : %s", w, v->name, v->text);
}

static void show_ps_props(struct out *o, const char *path, int w)
{
    const char *slash = strrchr(path, '\\');
    say(o, "%-*s : " PSPATH "%s", w, "PSPath", path);
    say(o, "%-*s : " PSPATH "%.*s", w, "PSParentPath", slash ? (int)(slash - path) : 0, path);
    say(o, "%-*s : %s", w, "PSChildName", slash ? slash + 1 : path);
    say(o, "%-*s : HKLM", w, "PSDrive");
    say(o, "%-*s : Microsoft.PowerShell.Core\\Registry", w, "PSProvider");
}

/* One property object as PowerShell lists it: the value(s), then PS*. */
static void show_props(struct out *o, const struct lab_regkey *k, const char *only)
{
    int w = 12;
    for (int i = 0; i < k->n; i++)
        if ((!only || !strcasecmp(only, k->v[i].name)) && (int)strlen(k->v[i].name) > w)
            w = (int)strlen(k->v[i].name);
    say(o, "%s", "");
    for (int i = 0; i < k->n; i++)
        if (!only || !strcasecmp(only, k->v[i].name))
            show_value(o, &k->v[i], w);
    show_ps_props(o, k->path, w);
    say(o, "%s", "");
}

/* Get-Item / New-Item: the key under its Hive heading. */
static void show_key(struct out *o, const struct lab *lab, const char *path)
{
    const struct lab_regkey *k = find_key((struct lab *)lab, path);
    char parent[200];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '\\');
    const char *child = slash ? path + (slash - parent) + 1 : path;
    if (slash)
        *slash = '\0';
    say(o, "%s", "");
    say(o, "%s", "");
    say(o, "    Hive: HKEY_LOCAL_MACHINE\\%s", slash ? parent : "");
    say(o, "%s", "");
    say(o, "%s", "");
    say(o, "%-30s Property", "Name");
    say(o, "%-30s --------", "----");
    int w = 0;
    for (int i = 0; k && i < k->n; i++)
        if ((int)strlen(k->v[i].name) > w)
            w = (int)strlen(k->v[i].name);
    if (!k || !k->n)
        say(o, "%s", child);
    for (int i = 0; k && i < k->n; i++) {
        char val[80];
        if (k->v[i].dword)
            snprintf(val, sizeof val, "%u", (unsigned)k->v[i].num);
        else
            snprintf(val, sizeof val, "%s", k->v[i].text);
        say(o, "%-30s %-*s : %s", i ? "" : child, w, k->v[i].name, val);
    }
    say(o, "%s", "");
}

/* ---- the cmdlets ------------------------------------------------------------ */

/* New-Item PATH [-Force]: *made gets the key's path for a pipeline. */
static int new_item(struct lab *lab, struct out *o, char **w, int n, bool piped, char *made, size_t madelen)
{
    const char *c = "New-Item";
    struct rparams p;
    char path[200];
    if (rbind(o, c, w, n, &p) < 0)
        return -1;
    if (!p.path) {
        say(o, "New-Item : Cannot process command because of one or more missing mandatory parameters: Path.");
        return -1;
    }
    if (!norm_path(p.path, path, sizeof path))
        return bad_path(o, c, p.path);
    if (p.name) {
        if (strlen(path) + strlen(p.name) + 2 > sizeof path)   /* never -Force the parent */
            return bad_path(o, c, p.name);
        snprintf(path + strlen(path), sizeof path - strlen(path), "\\%s", p.name);
    }
    if (key_exists(lab, path)) {
        if (!p.force) {
            say(o, "New-Item : A key at this path already exists.");
            say(o, "    + CategoryInfo          : ResourceExists: (HKEY_LOCAL_MACHINE\\%s:RegistryKey) [New-Item], "
                   "IOException", path);
            return -1;
        }
        remove_tree(lab, path);     /* what -Force does to an existing key */
    } else if (!p.force) {
        char parent[200];
        snprintf(parent, sizeof parent, "%s", path);
        char *slash = strrchr(parent, '\\');
        if (slash)
            *slash = '\0';
        if (slash && !key_exists(lab, parent)) {
            char typed[220];
            snprintf(typed, sizeof typed, "HKLM:\\%s", parent);
            return no_path(o, c, typed);
        }
    }
    if (!add_key(lab, path)) {
        say(o, "lab: the simulated registry holds at most %d keys", LAB_REG_KEYS);
        return -1;
    }
    lab_event(lab, "lab: registry key HKLM\\%s created (empty)", path);
    snprintf(made, madelen, "%s", path);
    if (!piped)
        show_key(o, lab, path);
    return 0;
}

static int parse_kind(struct out *o, const char *c, const char *type, const char *value, bool *is_dword)
{
    if (!type) {
        *is_dword = value[0] && strspn(value, "0123456789") == strlen(value);
        return 0;
    }
    if (!strcasecmp(type, "DWord") || !strcasecmp(type, "QWord")) {
        *is_dword = true;
        return 0;
    }
    if (!strcasecmp(type, "String") || !strcasecmp(type, "ExpandString") ||
        !strcasecmp(type, "MultiString") || !strcasecmp(type, "Binary")) {
        *is_dword = false;
        return 0;
    }
    say(o, "%s : Cannot process argument transformation on parameter 'PropertyType'. The value \"%s\" is not "
           "valid; use one of String, ExpandString, Binary, DWord, MultiString, QWord.", c, type);
    return -1;
}

/* New-ItemProperty / Set-ItemProperty: one value. from_pipe is the key New-Item made. */
static int put_property(struct lab *lab, struct out *o, const char *c, char **w, int n, const char *from_pipe)
{
    bool set = !strcasecmp(c, "Set-ItemProperty");
    struct rparams p;
    char path[200];
    if (rbind(o, c, w, n, &p) < 0)
        return -1;
    if (!p.path && from_pipe)
        snprintf(path, sizeof path, "%s", from_pipe);
    else if (!p.path) {
        say(o, "%s : Cannot process command because of one or more missing mandatory parameters: Path.", c);
        return -1;
    } else if (!norm_path(p.path, path, sizeof path))
        return bad_path(o, c, p.path);
    if (!p.name || !p.value) {
        say(o, "%s : Cannot process command because of one or more missing mandatory parameters: %s.", c,
            !p.name ? "Name" : "Value");
        return -1;
    }
    if (!key_exists(lab, path)) {
        char typed[220];
        snprintf(typed, sizeof typed, "HKLM:\\%s", path);
        return no_path(o, c, typed);
    }
    struct lab_regkey *k = add_key(lab, path);
    if (!k) {
        say(o, "lab: the simulated registry holds at most %d keys", LAB_REG_KEYS);
        return -1;
    }
    const struct lab_regval *old = find_val(k, p.name);
    if (old && !set && !p.force) {
        say(o, "New-ItemProperty : The property already exists.");
        say(o, "    + CategoryInfo          : ResourceExists: (HKEY_LOCAL_MACHINE\\%s:String) [New-ItemProperty], "
               "IOException", path);
        return -1;
    }
    bool is_dword = old ? old->dword : false;
    if ((!set || p.type || !old) && parse_kind(o, c, p.type, p.value, &is_dword) < 0)
        return -1;
    uint32_t num = 0;
    if (is_dword) {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(p.value, &end, 0);
        if (*end || errno || x > 0xffffffffull || p.value[0] == '-') {
            say(o, "%s : Cannot convert value \"%s\" to type \"System.UInt32\". Error: \"Input string was "
                   "not in a correct format.\"", c, p.value);
            return -1;
        }
        num = (uint32_t)x;
    }
    struct lab_regval *v = set_val(k, p.name);
    if (!v) {
        say(o, "lab: at most %d values in a key", LAB_REG_VALUES);
        return -1;
    }
    v->dword = is_dword;
    v->num = num;
    snprintf(v->text, sizeof v->text, "%s", is_dword ? "" : p.value);
    if (is_dword)
        lab_event(lab, "lab: HKLM\\%s: %s = %u (DWORD); SChannel reads it at the next restart", path, v->name,
                  (unsigned)num);
    else
        lab_event(lab, "lab: HKLM\\%s: %s = \"%s\" (a string, which SChannel does not read)", path, v->name,
                  v->text);
    if (!set)
        show_props(o, k, v->name);
    return 0;
}

static int remove_property(struct lab *lab, struct out *o, char **w, int n)
{
    const char *c = "Remove-ItemProperty";
    struct rparams p;
    char path[200];
    if (rbind(o, c, w, n, &p) < 0)
        return -1;
    if (!p.path || !norm_path(p.path, path, sizeof path))
        return bad_path(o, c, p.path);
    struct lab_regkey *k = find_key(lab, path);
    for (int i = 0; k && p.name && i < k->n; i++)
        if (!strcasecmp(k->v[i].name, p.name)) {
            memmove(&k->v[i], &k->v[i + 1], (size_t)(k->n - i - 1) * sizeof k->v[i]);
            k->n--;
            lab_event(lab, "lab: HKLM\\%s: %s removed", path, p.name);
            return 0;
        }
    say(o, "Remove-ItemProperty : Property %s does not exist at path HKEY_LOCAL_MACHINE\\%s.",
        p.name ? p.name : "", path);
    return -1;
}

static int get_item(struct lab *lab, struct out *o, const char *c, char **w, int n)
{
    struct rparams p;
    char path[200];
    if (rbind(o, c, w, n, &p) < 0)
        return -1;
    if (!p.path || !norm_path(p.path, path, sizeof path))
        return bad_path(o, c, p.path);
    if (!key_exists(lab, path))
        return no_path(o, c, p.path);
    if (!strcasecmp(c, "Get-Item")) {
        show_key(o, lab, path);
        return 0;
    }
    struct lab_regkey *k = find_key(lab, path);
    struct lab_regkey empty = { .n = 0 };
    if (!k) {
        snprintf(empty.path, sizeof empty.path, "%s", path);
        k = &empty;
    }
    if (p.name && !find_val(k, p.name)) {
        say(o, "Get-ItemProperty : Property %s does not exist at path HKEY_LOCAL_MACHINE\\%s.", p.name, path);
        return -1;
    }
    show_props(o, k, p.name);
    return 0;
}

static int restart_computer(struct lab *lab, struct out *o, char **w, int n)
{
    struct rparams p;
    if (rbind(o, "Restart-Computer", w, n, &p) < 0)
        return -1;
    if (p.path) {       /* Restart-Computer's first positional is -ComputerName */
        p.computer = p.path;
        p.path = NULL;
    }
    if (p.name || p.value || p.type) {
        say(o, "Restart-Computer : A parameter cannot be found that matches these arguments.");
        return -1;
    }
    if (p.computer && strcasecmp(p.computer, "EX01") && strcasecmp(p.computer, "EX01.contoso.local") &&
        strcasecmp(p.computer, "localhost") && strcmp(p.computer, ".")) {
        say(o, "Restart-Computer : Failed to restart the computer %s with the following error message: The RPC "
               "server is unavailable.", p.computer);
        return -1;
    }
    lab_reboot(lab);
    return 0;
}

int labreg_stage(struct lab *lab, lab_out_fn fn, void *arg, char **sw[], int sn[], int ns, int *rc)
{
    struct out o = { fn, arg };
    const char *c = sw[0][0];
    static const char *const mine[] = { "New-Item", "New-ItemProperty", "Set-ItemProperty",
        "Remove-ItemProperty", "Get-Item", "Get-ItemProperty", "Restart-Computer", NULL };
    bool known = false;
    for (int i = 0; mine[i]; i++)
        known |= !strcasecmp(c, mine[i]);
    if (!known)
        return 0;
    bool pipe_ok = ns == 2 && !strcasecmp(c, "New-Item") && !strcasecmp(sw[1][0], "New-ItemProperty");
    if (ns > 1 && !pipe_ok) {
        say(&o, "lab: of the registry pipelines only New-Item KEY -Force | New-ItemProperty ... is modelled");
        *rc = -1;
        return 1;
    }
    char made[200] = "";
    if (!strcasecmp(c, "New-Item")) {
        *rc = new_item(lab, &o, sw[0], sn[0], pipe_ok, made, sizeof made);
        if (*rc == 0 && pipe_ok)
            *rc = put_property(lab, &o, "New-ItemProperty", sw[1], sn[1], made);
    } else if (!strcasecmp(c, "New-ItemProperty") || !strcasecmp(c, "Set-ItemProperty")) {
        *rc = put_property(lab, &o, !strcasecmp(c, "New-ItemProperty") ? "New-ItemProperty" : "Set-ItemProperty",
                           sw[0], sn[0], NULL);
    } else if (!strcasecmp(c, "Remove-ItemProperty")) {
        *rc = remove_property(lab, &o, sw[0], sn[0]);
    } else if (!strcasecmp(c, "Restart-Computer")) {
        *rc = restart_computer(lab, &o, sw[0], sn[0]);
    } else {
        *rc = get_item(lab, &o, !strcasecmp(c, "Get-Item") ? "Get-Item" : "Get-ItemProperty", sw[0], sn[0]);
    }
    return 1;
}
