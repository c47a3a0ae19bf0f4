#include "plan.h"

#include "certnames.h"
#include "fingerprint.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void plan_init(struct plan *p, struct session *s, struct transcript *t, enum session_proto proto,
               const struct plan_options *o)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    p->t = t;
    p->o = *o;
    p->proto = proto;
    if (!p->o.mailbox)
        p->o.mailbox = "INBOX";
}

static void fail(struct plan *p, enum failure_class cls, const char *msg)
{
    if (!p->failed) {
        p->failed = true;
        p->fail = cls;
        snprintf(p->message, sizeof p->message, "%s", msg ? msg : "");
    }
    if (p->next < STEP_LOGOUT)
        p->next = STEP_LOGOUT;   /* log out politely if the connection is still up */
}

static void close_now(struct plan *p)
{
    p->closing = true;
    p->next = STEP_DONE;
    session_close(p->s);
}

static void note(struct plan *p, enum session_op op, const char *msg);

void plan_on_event(struct plan *p, const struct session_event *ev)
{
    if (p->closing)
        return;
    if (ev->type == SEV_CLOSED && ev->fail != FAIL_NONE)
        fail(p, ev->fail, ev->message);
    if (ev->type != SEV_OP_END)
        return;
    if (ev->op == OP_ID && p->id_pending) {
        /* Only ever a hint for the fingerprint: a refusal changes nothing. */
        p->id_pending = false;
        if (!ev->ok && ev->status && *ev->status)
            note(p, OP_ID, "the server did not answer ID with OK; carrying on without it");
        return;
    }
    if (ev->ok) {
        p->login_ok |= ev->op == OP_LOGIN && !p->discovering;
        if (ev->op == OP_CONNECT && p->o.until == PLAN_UNTIL_CONNECT)
            close_now(p);
        return;
    }
    if (ev->op == OP_TLS && ev->fail == FAIL_CERT && session_state(p->s) != SST_CLOSED) {
        p->cert_unverified = true;   /* --insecure: go on, but it shows in the result */
        return;
    }
    if (ev->op == OP_CAPABILITY && p->o.tls == PLAN_TLS_STARTTLS && !session_secure(p->s)) {
        /* Without the capability list STARTTLS cannot be had (curl CVE-2021-22946). */
        char msg[sizeof p->message];
        snprintf(msg, sizeof msg, "the capability request failed before TLS (%.800s); TLS was "
                 "required (--tls=starttls), so nothing more is sent",
                 ev->message ? ev->message : "no answer");
        fail(p, FAIL_TLS_REQUIRED, msg);
        close_now(p);
        return;
    }
    if (ev->op == OP_LOGIN && p->discovering) {
        p->discovering = false;   /* whatever it learnt is in the transcript; login comes next */
        return;
    }
    if (ev->op == OP_LOGIN && ev->fail == FAIL_NONE) {
        p->ntlm_probed = true;
        snprintf(p->message, sizeof p->message, "%s", ev->message ? ev->message : "");
        return;
    }
    fail(p, ev->fail, ev->message);
}

static void note(struct plan *p, enum session_op op, const char *msg)
{
    if (p->t)
        transcript_note(p->t, TR_NOTICE, op, msg);
}

static bool started(struct plan *p, int rc)
{
    if (rc < 0)
        fail(p, FAIL_PROTOCOL, session_error(p->s));
    return rc == 0;
}

/* STARTTLS: 1 run it, 0 not wanted or not offered (noted), -1 TLS required
 * and not offered (failed). */
static int decide_starttls(struct plan *p)
{
    if (session_secure(p->s) || p->o.tls == PLAN_TLS_NONE || p->o.tls == PLAN_TLS_IMPLICIT)
        return 0;
    const char *word = p->proto == SESSION_IMAP ? "STARTTLS" : "STLS";
    if (capset_has(session_current_caps(p->s), word))
        return 1;
    char msg[200];
    if (p->o.tls == PLAN_TLS_STARTTLS) {
        snprintf(msg, sizeof msg, "the server does not offer %s; TLS was required "
                 "(--tls=starttls), so nothing more is sent", word);
        fail(p, FAIL_TLS_REQUIRED, msg);
        close_now(p);
        return -1;
    }
    snprintf(msg, sizeof msg, "the server does not offer %s: the session stays in clear text",
             word);
    note(p, OP_STARTTLS, msg);
    return 0;
}

static bool needs_secret(enum session_auth a) { return a != AUTH_EXTERNAL && a != AUTH_NTLM; }

static int decide_login(struct plan *p)
{
    if (session_state(p->s) == SST_AUTHENTICATED) {
        note(p, OP_LOGIN, "already authenticated (PREAUTH): login skipped");
        p->login_ok = true;
        return 0;
    }
    if (!p->o.interactive && needs_secret(p->o.auth) && (!p->o.user || !p->o.secret)) {
        note(p, OP_LOGIN, "no user name or password given: login skipped");
        return 0;
    }
    return 1;
}

/* On-premises Exchange names itself only in an NTLM challenge (KB A1): one
 * round trip before login, no secret, when nothing else gave its name. */
static int decide_discover(struct plan *p)
{
    if (p->o.no_discover || p->o.auth == AUTH_NTLM ||
        session_state(p->s) != SST_NOT_AUTHENTICATED)
        return 0;
    const char *greeting = session_greeting(p->s);
    const struct capset *caps = session_current_caps(p->s);
    char name[256];
    if (strcmp(fingerprint_family(greeting, caps), "exchange") != 0 ||
        certnames_server_name(greeting, NULL, name, sizeof name) || !capset_has_sasl(caps, "NTLM"))
        return 0;
    return 1;
}

/* Does an ID NIL ride along with step st? Only after TLS is settled (every
 * such step comes after STARTTLS), only with a step that waits for an answer
 * anyway, when the server offers ID and its version is not known yet. After
 * STARTTLS the capabilities are asked again: until then the offer before TLS
 * stands (at worst the server answers BAD; NIL reveals nothing). */
static bool id_rides(const struct plan *p, enum plan_step st)
{
    if (p->proto != SESSION_IMAP || p->o.no_id || p->id_sent ||
        session_state(p->s) == SST_CLOSED)
        return false;
    if (st != STEP_CAPABILITY_TLS && st != STEP_DISCOVER && st != STEP_LOGIN &&
        st != STEP_SELECT && st != STEP_COMMAND)
        return false;
    const struct capset *caps = session_current_caps(p->s);
    if (!caps->known && st == STEP_CAPABILITY_TLS)
        caps = session_caps(p->s, CAPS_BEFORE_TLS);
    if (!caps->known || !capset_has(caps, "ID"))
        return false;
    struct server_identity id;
    fingerprint_identify(session_greeting(p->s), caps, &id);
    return strcmp(id.family, "unknown") == 0 || !id.version[0];
}

static void start_id(struct plan *p, enum plan_step st)
{
    if (!id_rides(p, st))
        return;
    p->id_sent = true;
    if (session_id(p->s) < 0)
        return;   /* not started: the step goes alone */
    p->id_pending = true;
    note(p, OP_ID, "ID NIL goes in the same write as the next command: the server's name and "
         "version at no extra round trip, nothing about this client (--no-id skips it)");
}

/* Does step st need running now? 1 yes, 0 skip it (noted), -1 failed. */
static int decide(struct plan *p, enum plan_step st)
{
    const struct capset *caps = session_current_caps(p->s);
    switch (st) {
    case STEP_CAPABILITY:
        if (!caps->known)
            return 1;
        note(p, OP_CAPABILITY, "capabilities taken from the greeting (no round trip)");
        return 0;
    case STEP_STARTTLS: return decide_starttls(p);
    case STEP_CAPABILITY_TLS: return p->started_tls || !caps->known;
    case STEP_DISCOVER: return decide_discover(p);
    case STEP_LOGIN: return decide_login(p);
    case STEP_SELECT: return p->login_ok;
    case STEP_COMMAND: return p->o.command && *p->o.command;
    case STEP_CONNECT: case STEP_LOGOUT: return 1;
    default: return 0;
    }
}

static bool start_step(struct plan *p, enum plan_step st)
{
    start_id(p, st);
    switch (st) {
    case STEP_CONNECT: return started(p, session_connect(p->s));
    case STEP_CAPABILITY: case STEP_CAPABILITY_TLS: return started(p, session_capability(p->s));
    case STEP_STARTTLS:
        p->started_tls = true;
        return started(p, session_starttls(p->s));
    case STEP_DISCOVER:
        note(p, OP_LOGIN, "Exchange names itself nowhere: asking its NTLM challenge for its name "
             "(one round trip, no password; --no-discover skips it)");
        p->discovering = started(p, session_login(p->s, AUTH_NTLM, NULL, NULL));
        return p->discovering;
    case STEP_LOGIN: return started(p, session_login(p->s, p->o.auth, p->o.user, p->o.secret));
    case STEP_SELECT: return started(p, session_select(p->s, p->o.mailbox));
    case STEP_COMMAND: return started(p, session_raw(p->s, p->o.command, true));
    case STEP_LOGOUT:
        /* The console stays to show the server's goodbye; a run that ends here
         * does not wait a round trip for it. */
        return started(p, p->o.interactive ? session_logout(p->s) : session_quit(p->s));
    default: return false;
    }
}

static enum plan_step last_step_of(enum plan_until u)
{
    static const enum plan_step map[] = {
        [PLAN_UNTIL_ALL] = STEP_LOGOUT, [PLAN_UNTIL_CONNECT] = STEP_CONNECT,
        [PLAN_UNTIL_GREETING] = STEP_CONNECT, [PLAN_UNTIL_CAPABILITY] = STEP_CAPABILITY,
        [PLAN_UNTIL_STARTTLS] = STEP_STARTTLS, [PLAN_UNTIL_AUTH] = STEP_LOGIN,
        [PLAN_UNTIL_SELECT] = STEP_SELECT };
    return map[u];
}

void plan_settle(struct plan *p)
{
    while (p->next < STEP_DONE) {
        if (p->next != STEP_CONNECT && session_state(p->s) == SST_CLOSED) {
            p->next = STEP_DONE;
            return;
        }
        if (p->next > last_step_of(p->o.until) && p->next < STEP_LOGOUT)
            p->next = STEP_LOGOUT;
        enum plan_step st = p->next;
        int d = decide(p, st);
        if (d > 0)
            return;
        if (d == 0 && p->next == st)
            p->next++;
    }
}

bool plan_advance(struct plan *p)
{
    plan_settle(p);
    if (p->next >= STEP_DONE)
        return false;
    return start_step(p, p->next++);
}

bool plan_done(const struct plan *p) { return p->next >= STEP_DONE; }

const char *plan_step_name(enum plan_step st, enum session_proto proto)
{
    static const char *const names[] = { "Connect", "Capability", "StartTLS", "Capability",
                                         "Discover", "Login", "Select INBOX", "Command", "Logout",
                                         "Done" };
    if (st == STEP_SELECT && proto == SESSION_POP3)
        return "Stat";
    return names[st];
}

int plan_until_parse(const char *s, enum plan_until *out)
{
    static const char *const names[] = { "all", "connect", "greeting", "capability", "starttls",
                                         "auth", "select" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum plan_until)i;
            return 0;
        }
    return -1;
}

int plan_tls_parse(const char *s, enum plan_tls *out)
{
    static const char *const names[] = { "auto", "starttls", "implicit", "none" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum plan_tls)i;
            return 0;
        }
    return -1;
}

enum plan_step plan_next(const struct plan *p) { return p->next; }

void plan_skip(struct plan *p)
{
    if (p->next < STEP_DONE)
        p->next++;
}

static const char *login_preview(const struct plan *p, char *buf, size_t cap)
{
    const char *user = p->o.user ? p->o.user : "USER";
    enum session_auth a = p->o.auth;
    if (p->proto == SESSION_POP3 && (a == AUTH_DEFAULT || a == AUTH_USER))
        snprintf(buf, cap, "USER %s, PASS *****", user);
    else if (p->proto == SESSION_POP3 && a == AUTH_APOP)
        snprintf(buf, cap, "APOP %s *****", user);
    else if (a == AUTH_LOGIN || (a == AUTH_DEFAULT && p->proto == SESSION_IMAP &&
                                 !capset_has_sasl(session_current_caps(p->s), "PLAIN")))
        snprintf(buf, cap, "LOGIN %s *****", user);
    else
        snprintf(buf, cap, "%s %s", p->proto == SESSION_IMAP ? "AUTHENTICATE" : "AUTH",
                 a == AUTH_DEFAULT ? "PLAIN" : session_auth_name(a));
    return buf;
}

void plan_preview(const struct plan *p, char *buf, size_t cap)
{
    bool imap = p->proto == SESSION_IMAP;
    const char *text = "";
    switch (p->next) {
    case STEP_CONNECT: text = "(open the connection, read the greeting)"; break;
    case STEP_CAPABILITY: case STEP_CAPABILITY_TLS: text = imap ? "CAPABILITY" : "CAPA"; break;
    case STEP_STARTTLS: text = imap ? "STARTTLS" : "STLS"; break;
    case STEP_DISCOVER: text = imap ? "AUTHENTICATE NTLM (the server's name)" : "AUTH NTLM"; break;
    case STEP_LOGIN: text = login_preview(p, buf, cap); break;
    case STEP_SELECT: text = imap ? "EXAMINE INBOX" : "STAT"; break;
    case STEP_COMMAND: text = p->o.command ? p->o.command : ""; break;
    case STEP_LOGOUT: text = imap ? "LOGOUT" : "QUIT"; break;
    default: break;
    }
    if (text != buf)
        snprintf(buf, cap, "%s", text);
    size_t n = strlen(buf);
    if (*buf && id_rides(p, p->next) && n + 1 < cap)
        snprintf(buf + n, cap - n, " + ID NIL");
}
