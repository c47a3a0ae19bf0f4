/* gen_exlog — writes an Exchange IMAP4 or POP3 protocol log (knowledge A4) for
 * the logscan tests and benchmark: a BOM, CRLF line ends, the # headers,
 * sessions that succeed mixed with failures of every kind logscan groups,
 * malformed lines, parameters with quoted commas and doubled quotes, a user
 * name with terminal escape bytes, and a second #Fields header in another
 * column order (with the optional 13th "puid" column) half way.
 *
 *   gen_exlog [--pop3] [--size N[K|M|G]] [--sessions N] [--seed N]
 *             [--fail-every N] [--bad-every N] [--expect FILE] OUT
 *
 * --expect writes what the log holds, for a test to compare with logscan:
 *   "failures N", "malformed N", then one line a group:
 *   "group COUNT<TAB>ERROR<TAB>USER<TAB>CLIENT<TAB>FIRST<TAB>LAST<TAB>RULE"
 * (USER as bytes, the hostile one included). Deterministic for a seed. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static FILE *out;
static uint64_t written, lines, ms;
static bool pop3, second_layout;

static const char *const users[] = { "alice@contoso.com", "bob@contoso.com", "CONTOSO\\carol",
                                     "dave@contoso.com", "administrator@contoso.com",
                                     "HealthMailbox0a1b2c@contoso.com", "eve\x1b]0;pwned\x07" };
#define N_USERS (sizeof users / sizeof *users)
static const char *const clients[] = { "192.168.1.20", "192.168.1.21", "10.20.30.40", "127.0.0.7" };
#define N_CLIENTS (sizeof clients / sizeof *clients)

struct kind {
    const char *error, *errmsg, *rule;
    bool bracket;        /* the reply carries [Error=... Proxy=...] */
    const char *reply;   /* IMAP words after the tag; POP3 gets -ERR Logon failure */
    int user;            /* -1: any */
};
static const struct kind kinds[] = {
    { "ProxyNotAuthenticated", "ProxyNotAuthenticated", "R-EXCH-001", false, "NO LOGIN failed.", -1 },
    { "ProxyNotAuthenticated", "ProxyNotAuthenticated", "R-EXCH-001", true, "NO LOGIN failed.", 5 },
    { "UserDisabled", "UserDisabled", "R-EXCH-004", false, "NO LOGIN failed.", -1 },
    { "LogonFailed:LogonDenied", "LogonFailed:LogonDenied", "R-EXCH-013", false, "NO LOGIN failed.", -1 },
    { "LogonFailed:WellKnownAccount", "LogonFailed:WellKnownAccount", "R-EXCH-014", false,
      "NO LOGIN failed.", 4 },
    { "ProxyFailed", "ProxyFailed", "R-EXCH-017", false, "NO LOGIN failed.", -1 },
    { "ProxyTimeout", "ProxyTimeout", "R-EXCH-017", false, "NO LOGIN failed.", -1 },
    { "NoProxyConnection", "NoProxyConnection", "R-EXCH-017", false, "NO LOGIN failed.", -1 },
    { "UserConnectionLimitReached", "UserConnectionLimitReached", "R-EXCH-011", false,
      "NO LOGIN failed.", -1 },
    { "LogonFailed:FailClientAccessRules", "LogonFailed:FailClientAccessRules", "R-EXCH-016", false,
      "NO LOGIN failed.", -1 },
    { "BAD Command received in Invalid state.", NULL, "R-EXCH-005", false,
      "BAD Command received in Invalid state.", -1 },
};
#define N_KINDS (sizeof kinds / sizeof *kinds)

struct group {
    int kind, user, client;
    uint64_t count;
    char first[40], last[40];
};
static struct group groups[N_KINDS * N_USERS * N_CLIENTS];
static size_t n_groups;
static uint64_t failures, malformed;

static void emit(const char *s)
{
    size_t n = strlen(s);
    fwrite(s, 1, n, out);
    fwrite("\r\n", 1, 2, out);
    written += n + 2;
    lines++;
}

/* RFC 4180: quote when needed, double the quotes. */
static void csv(char *buf, size_t *o, size_t cap, const char *s, bool last)
{
    bool q = strpbrk(s, ",\"") != NULL;
    if (q && *o < cap)
        buf[(*o)++] = '"';
    for (; *s && *o + 2 < cap; s++) {
        if (*s == '"')
            buf[(*o)++] = '"';
        buf[(*o)++] = *s;
    }
    if (q && *o < cap)
        buf[(*o)++] = '"';
    if (!last && *o < cap)
        buf[(*o)++] = ',';
    buf[*o] = 0;
}

static void stamp(char *t, size_t n)
{
    uint64_t s = ms / 1000;
    snprintf(t, n, "2026-11-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(20 + (s / 86400) % 9),
             (unsigned)(s / 3600 % 24), (unsigned)(s / 60 % 60), (unsigned)(s % 60),
             (unsigned)(ms % 1000));
}

static void headers(void)
{
    char d[40];
    stamp(d, sizeof d);
    emit("#Software: Microsoft Exchange Server");
    emit("#Version: 15.0.0.0");
    emit(pop3 ? "#Log-type: POP3 Log" : "#Log-type: IMAP4 Log");
    char h[80];
    snprintf(h, sizeof h, "#Date: %s", d);
    emit(h);
    emit(second_layout
         ? "#Fields: sessionId,dateTime,seqNumber,cIp,sIp,user,duration,rqsize,rpsize,command,parameters,puid,context"
         : "#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,parameters,context");
}

static void record(uint64_t sid, int seq, const char *user, const char *client, const char *cmd,
                   const char *params, const char *ctx)
{
    char t[40], sidx[20], sq[12], sip[40], cip[40];
    ms += 1 + rnd(40);
    stamp(t, sizeof t);
    snprintf(sidx, sizeof sidx, "%016llX", (unsigned long long)sid);
    snprintf(sq, sizeof sq, "%d", seq);
    snprintf(sip, sizeof sip, "10.0.0.5:%s", pop3 ? "110" : "143");
    snprintf(cip, sizeof cip, "%s:%u", client, 49152 + rnd(16000));
    char buf[4096];
    size_t o = 0;
    const char *v[13];
    if (second_layout) {
        const char *w[] = { sidx, t, sq, cip, sip, user, "12", "40", "60", cmd, params, "", ctx };
        memcpy(v, w, sizeof w);
    } else {
        const char *w[] = { t, sidx, sq, sip, cip, user, "12", "40", "60", cmd, params, ctx };
        memcpy(v, w, sizeof w - 0);
    }
    size_t nf = second_layout ? 13 : 12;
    for (size_t i = 0; i < nf; i++)
        csv(buf, &o, sizeof buf, v[i], i + 1 == nf);
    emit(buf);
}

static void note_group(int k, int u, int c)
{
    char t[40];
    stamp(t, sizeof t);
    failures++;
    for (size_t i = 0; i < n_groups; i++)
        if (groups[i].kind == k && groups[i].user == u && groups[i].client == c) {
            groups[i].count++;
            snprintf(groups[i].last, sizeof groups[i].last, "%s", t);
            return;
        }
    struct group *g = &groups[n_groups++];
    *g = (struct group){ k, u, c, 1, "", "" };
    snprintf(g->first, sizeof g->first, "%s", t);
    snprintf(g->last, sizeof g->last, "%s", t);
}

static void session(uint64_t sid, bool fail, bool malformed_line)
{
    int k = fail ? (int)rnd(N_KINDS) : -1;
    if (pop3 && k >= 0 && kinds[k].bracket)
        k = 0;
    int u = k >= 0 && kinds[k].user >= 0 ? kinds[k].user : (int)rnd(4);
    if (k >= 0 && kinds[k].user < 0 && rnd(20) == 0)
        u = 6;                               /* the hostile name now and then */
    int c = (int)rnd(N_CLIENTS);
    const char *user = users[u], *client = clients[c];
    int seq = 0;
    record(sid, seq++, "", client, "OpenSession", "", "");
    record(sid, seq++, "", client, pop3 ? "capa" : "capability", "",
           pop3 ? "R=\"+OK\"" : "R=\"a1 OK CAPABILITY completed.\"");
    if (malformed_line) {
        /* a line cut in the middle of a quoted field, then one too short */
        emit(rnd(2) ? "2026-11-20T01:02:03.004Z,0000000000000001,2,10.0.0.5:143,\"unterminated"
                    : "2026-11-20T01:02:03.004Z,0000000000000001,2");
        malformed++;
    }
    char params[256], ctx[1024];
    /* a password never appears: Exchange masks it as ***** */
    snprintf(params, sizeof params, "%s *****", user);
    if (k < 0) {
        snprintf(ctx, sizeof ctx, "%s;Msg=Proxy:ex02.contoso.local:%s:SSL;Msg=ProxySuccess",
                 pop3 ? "R=\"+OK User successfully logged on.\"" : "R=\"a2 OK LOGIN completed.\"",
                 pop3 ? "1995" : "1993");
        record(sid, seq++, user, client, pop3 ? "pass" : "login", params, ctx);
        if (rnd(3) == 0)   /* a parameter with a quoted comma and doubled quotes */
            record(sid, seq++, user, client, pop3 ? "list" : "select",
                   "\"Inbox, \"\"old\"\"\"", pop3 ? "R=\"+OK 3 messages\""
                                                : "R=\"a3 OK [READ-WRITE] SELECT completed.\"");
        record(sid, seq++, user, client, pop3 ? "quit" : "logout", "",
               pop3 ? "R=\"+OK Microsoft Exchange Server POP3 server signing off.\""
                    : "R=\"* BYE Microsoft Exchange Server IMAP4 server signing off.\"");
    } else {
        const struct kind *kd = &kinds[k];
        const char *port = pop3 ? "1995" : "1993";
        char reply[300];
        if (pop3 && kd->errmsg)
            snprintf(reply, sizeof reply, "-ERR Logon failure: unknown user name or bad password.");
        else if (pop3)
            snprintf(reply, sizeof reply, "-ERR Command is not valid in this state.");
        else if (kd->bracket)
            snprintf(reply, sizeof reply, "z NO [Error=%s Proxy=ex02.contoso.local:%s:SSL] LOGIN failed.",
                     kd->errmsg, port);
        else
            snprintf(reply, sizeof reply, "a2 %s", kd->reply);
        if (kd->errmsg)
            snprintf(ctx, sizeof ctx, "R=\"%s\";Msg=Proxy:ex02.contoso.local:%s:SSL;ErrMsg=%s", reply,
                     port, kd->errmsg);
        else
            snprintf(ctx, sizeof ctx, "R=\"%s\"", reply);
        record(sid, seq++, user, client, pop3 ? "pass" : "login", params, ctx);
        note_group(k, u, c);
        record(sid, seq++, user, client, "CloseSession", "", "");
    }
}

static uint64_t parse_size(const char *s)
{
    char *e;
    double v = strtod(s, &e);
    uint64_t m = *e == 'K' || *e == 'k' ? 1024 : *e == 'M' || *e == 'm' ? 1024 * 1024
               : *e == 'G' || *e == 'g' ? 1024ull * 1024 * 1024 : 1;
    return (uint64_t)(v * (double)m);
}

int main(int argc, char **argv)
{
    uint64_t size = 0, sessions = 1000, fail_every = 10, bad_every = 97;
    const char *expect = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--pop3"))
            pop3 = true;
        else if (!strcmp(a, "--size") && v)
            size = parse_size(argv[++i]);
        else if (!strcmp(a, "--sessions") && v)
            sessions = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--seed") && v)
            rng ^= strtoull(argv[++i], NULL, 10) * 2654435761u;
        else if (!strcmp(a, "--fail-every") && v)
            fail_every = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--bad-every") && v)
            bad_every = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--expect") && v)
            expect = argv[++i];
        else if (a[0] != '-' && !path)
            path = a;
        else {
            fprintf(stderr, "usage: gen_exlog [--pop3] [--size N[K|M|G]] [--sessions N] [--seed N] "
                            "[--fail-every N] [--bad-every N] [--expect FILE] OUT\n");
            return 2;
        }
    }
    if (!path || !(out = fopen(path, "wb"))) {
        fprintf(stderr, "gen_exlog: cannot write %s\n", path ? path : "(no file)");
        return 2;
    }
    static char obuf[1 << 20];
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    fwrite("\xEF\xBB\xBF", 1, 3, out);
    headers();
    uint64_t n = 0, target = size ? UINT64_MAX : sessions;
    for (uint64_t sid = 1; n < target && (!size || written < size); sid++, n++) {
        if (!size && n == target / 2 && !second_layout) {
            second_layout = true;
            headers();
        } else if (size && !second_layout && written >= size / 2) {
            second_layout = true;
            headers();
        }
        bool fail = fail_every && sid % fail_every == 0;
        bool bad = bad_every && sid % bad_every == 0;
        session(sid, fail, bad);
    }
    if (fclose(out)) {
        perror("gen_exlog");
        return 2;
    }
    if (expect) {
        FILE *e = fopen(expect, "w");
        if (!e)
            return 2;
        fprintf(e, "failures %llu\nmalformed %llu\nlines %llu\n", (unsigned long long)failures,
                (unsigned long long)malformed, (unsigned long long)lines);
        for (size_t i = 0; i < n_groups; i++) {
            const struct group *g = &groups[i];
            const struct kind *kd = &kinds[g->kind];
            const char *err = kd->error;
            if (pop3 && !kd->errmsg)
                err = "-ERR Command is not valid in this state.";
            fprintf(e, "group %llu\t%s\t%s\t%s\t%s\t%s\t%s\n", (unsigned long long)g->count, err,
                    users[g->user], clients[g->client], g->first, g->last, kd->rule);
        }
        fclose(e);
    }
    return 0;
}
