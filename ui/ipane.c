#include "ipane.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certcheck.h"
#include "evidence.h"

static const char *const tab_names[TAB_COUNT] = { "Chain", "TLS", "Caps", "Diagnosis",
                                                  "Walkthrough" };

const char *ipane_tab_name(enum ipane_tab tab) { return tab_names[tab]; }

void ipane_init(struct ipane *ip)
{
    memset(ip, 0, sizeof *ip);
    tv_init(&ip->tv);
    ip->tv.follow = false;
}

void ipane_free(struct ipane *ip)
{
    tv_free(&ip->tv);
    ruleset_free(&ip->rules);
    if (ip->have_log)
        logscan_evidence_free(&ip->log);
    ip->have_log = false;
}


/* The clock certificates are judged by: the recording's start in a replay. */
static time_t ipane_now(const struct ipane *ip)
{
    return ip->rec && ip->rec->t.wall0.tv_sec ? ip->rec->t.wall0.tv_sec : time(NULL);
}

/* In a replay stepped back before the handshake there is no chain yet. */
static bool tls_yet(const struct ipane *ip, const struct transcript *t)
{
    if (!ip->rec)
        return true;
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == TR_TLS)
            return true;
    return false;
}

static void date(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    if (!t || !gmtime_r(&t, &tm))
        snprintf(buf, cap, "?");
    else
        strftime(buf, cap, "%Y-%m-%d", &tm);
}

static const char *join(char *const *items, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t k = 0; k < n && o + 2 < cap; k++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", k ? ", " : "", items[k]);
    return buf;
}

static void cert(struct ipane *ip, const struct tls_info *tls, size_t i, time_t now)
{
    const struct cert_info *c = &tls->chain[i];
    char from[16], to[16], sans[1024];
    date(c->not_before, from, sizeof from);
    date(c->not_after, to, sizeof to);
    join(c->san, c->n_san, sans, sizeof sans);
    long days = certinfo_days_left(c, now);
    tv_addf(&ip->tv, ROLE_TITLE, "#%zu %s", i, c->subject ? c->subject : "?");
    tv_addf(&ip->tv, ROLE_NORMAL, "  issuer: %s", c->issuer ? c->issuer : "?");
    if (c->n_san)
        tv_addf(&ip->tv, ROLE_NORMAL, "  SAN: %s%s", sans, c->san_truncated ? ", ..." : "");
    tv_addf(&ip->tv, days < 0 ? ROLE_BAD : days <= ip->soon_days ? ROLE_NO : ROLE_NORMAL,
         "  valid %s .. %s (%ld days left)", from, to, days);
    tv_addf(&ip->tv, ROLE_NORMAL, "  key %s, %s%s", c->key ? c->key : "?",
         c->signature ? c->signature : "?", c->self_signed ? ", self-signed" : "");
    if (c->n_eku) {
        char ekus[512];
        tv_addf(&ip->tv, ROLE_NORMAL, "  EKU: %s", join(c->eku, c->n_eku, ekus, sizeof ekus));
    }
    for (size_t k = 0; k < c->n_ca_issuers; k++)
        tv_addf(&ip->tv, ROLE_DIM, "  CA issuers: %s", c->ca_issuers[k]);
    tv_addf(&ip->tv, ROLE_DIM, "  SHA-256 %s", c->sha256);
    long err = i < TLS_MAX_CHAIN ? tls->depth_error[i] : 0;
    if (err)
        tv_addf(&ip->tv, ROLE_BAD, "  verify: %s", tls_verify_error_text(err));
    else
        tv_addf(&ip->tv, ROLE_OK, "  verify: ok at this depth");
}

static void chain_tab(struct ipane *ip, const struct transcript *t)
{
    if (!t->has_tls || !t->tls.n_chain || !tls_yet(ip, t)) {
        tv_addf(&ip->tv, ROLE_DIM, "No certificate yet: the chain shows here after STARTTLS or on an "
             "implicit-TLS connection (imaps://, pop3s://).");
        return;
    }
    const struct tls_info *tls = &t->tls;
    time_t now = ipane_now(ip);
    tv_addf(&ip->tv, tls->verified ? ROLE_BANNER_OK : ROLE_BANNER_BAD, "%s",
         tls->verified ? "Chain verified" : "Chain NOT verified");
    if (!tls->verified)
        tv_addf(&ip->tv, ROLE_BAD, "  %s", tls->verify_error);
    tv_addf(&ip->tv, tls->hostname_match ? ROLE_OK : ROLE_BAD, "Name %s: %s", tls->name_checked,
         tls->hostname_match ? "matches the certificate" : "NOT in the certificate");
    struct certcheck_result r;
    certcheck_run(tls, now, ip->soon_days, &r);
    for (size_t i = 0; i < r.n; i++) {
        tv_addf(&ip->tv, r.p[i].fails_verification ? ROLE_BAD : ROLE_NO, "problem: %s%s%s", r.p[i].code,
             r.p[i].detail[0] ? ": " : "", r.p[i].detail);
        if (r.p[i].impact)
            tv_addf(&ip->tv, ROLE_DIM, "  %s", r.p[i].impact);
    }
    tv_addf(&ip->tv, ROLE_DIM, "As sent by the server (%zu):", tls->n_chain);
    for (size_t i = 0; i < tls->n_chain; i++)
        cert(ip, tls, i, now);
    if (tls->n_path)
        tv_addf(&ip->tv, ROLE_DIM, "Path verification built (%zu):", tls->n_path);
    for (size_t i = 0; i < tls->n_path; i++)
        tv_addf(&ip->tv, tls->path_source[i] == TLS_SRC_STORE ? ROLE_NOTICE : ROLE_NORMAL, " %zu %s (%s)",
             i, tls->path[i].subject ? tls->path[i].subject : "?",
             tls->path_source[i] == TLS_SRC_STORE ? "from the trust store" : "sent by the server");
}

static void tls_tab(struct ipane *ip, const struct transcript *t)
{
    if (!t->has_tls || !tls_yet(ip, t)) {
        tv_addf(&ip->tv, ROLE_DIM, "No TLS yet: /starttls upgrades a plain connection.");
        return;
    }
    const struct tls_info *tls = &t->tls;
    tv_addf(&ip->tv, ROLE_NORMAL, "Version  %s", tls->version);
    tv_addf(&ip->tv, ROLE_NORMAL, "Cipher   %s", tls->cipher);
    tv_addf(&ip->tv, ROLE_NORMAL, "Group    %s", tls->group[0] ? tls->group : "-");
    tv_addf(&ip->tv, ROLE_NORMAL, "SNI      %s", tls->sni[0] ? tls->sni : "(none: an address)");
    tv_addf(&ip->tv, ROLE_NORMAL, "Checked  %s", tls->name_checked);
    tv_addf(&ip->tv, tls->verified ? ROLE_OK : ROLE_BAD, "Verified %s", tls->verified ? "yes" : "NO");
    if (!tls->verified)
        tv_addf(&ip->tv, ROLE_BAD, "         %s", tls->verify_error);
    tv_addf(&ip->tv, ROLE_NORMAL, "Path     %zu certificate(s) to the trust anchor", tls->n_verified);
}

/* The phase's list, marking what is new (+) or gone (-) against before. */
static void caps_section(struct ipane *ip, const char *title, const struct capset *now,
                         const struct capset *before)
{
    if (!now->known) {
        tv_addf(&ip->tv, ROLE_DIM, "%s: not asked", title);
        return;
    }
    tv_addf(&ip->tv, ROLE_TITLE, "%s (%zu):", title, now->n);
    for (size_t i = 0; i < now->n; i++) {
        bool added = before && before->known && !capset_has(before, now->item[i]);
        tv_addf(&ip->tv, added ? ROLE_ADDED : ROLE_NORMAL, " %s %s", added ? "+" : " ", now->item[i]);
    }
    for (size_t i = 0; before && before->known && i < before->n; i++)
        if (!capset_has(now, before->item[i]))
            tv_addf(&ip->tv, ROLE_REMOVED, " - %s", before->item[i]);
}

static void caps_tab(struct ipane *ip, const struct session *s)
{
    if (!s && !ip->rec) {
        tv_addf(&ip->tv, ROLE_DIM, "Not connected.");
        return;
    }
    if (ip->rec)
        tv_addf(&ip->tv, ROLE_DIM, "As recorded at the end of the session:");
    const struct capset *pre = s ? session_caps(s, CAPS_BEFORE_TLS) : &ip->rec->caps[CAPS_BEFORE_TLS];
    const struct capset *tls = s ? session_caps(s, CAPS_AFTER_TLS) : &ip->rec->caps[CAPS_AFTER_TLS];
    const struct capset *login = s ? session_caps(s, CAPS_AFTER_LOGIN)
                                   : &ip->rec->caps[CAPS_AFTER_LOGIN];
    caps_section(ip, "Before TLS", pre, NULL);
    caps_section(ip, "After TLS", tls, pre);
    caps_section(ip, "After login", login, tls->known ? tls : pre);
}

static void hypothesis(struct ipane *ip, const struct diag_hypothesis *h,
                       const struct diag_evidence *e, bool top)
{
    const struct rule *r = h->rule;
    tv_addf(&ip->tv, top ? ROLE_TITLE : ROLE_NORMAL, "%s  %s (%s, %s)", r->id, r->title, h->confidence,
         rule_severity_name(r->severity));
    for (size_t i = 0; i < h->n_for; i++)
        tv_addf(&ip->tv, ROLE_ADDED, "  + %s", h->evidence_for[i]);
    for (size_t i = 0; i < h->n_against; i++)
        tv_addf(&ip->tv, ROLE_REMOVED, "  - %s", h->evidence_against[i]);
    if (!top)
        return;
    char *x = r->explanation ? diag_fill(r->explanation, e) : NULL;
    if (x)
        tv_addf(&ip->tv, ROLE_NORMAL, "  %s", x);
    free(x);
    for (size_t i = 0; i < r->n_fix; i++) {
        char *f = diag_fill(r->fix[i], e);
        tv_addf(&ip->tv, ROLE_NORMAL, "  fix %zu: %s", i + 1, f ? f : "");
        free(f);
    }
    char *v = r->verify ? diag_fill(r->verify, e) : NULL;
    if (v)
        tv_addf(&ip->tv, ROLE_DIM, "  verify: %s", v);
    free(v);
    tv_addf(&ip->tv, ROLE_DIM, "  source: %s", r->source);
}

/* A replay shows the diagnoses the recording holds, as they were made (the
 * rules may have changed since). */
static void recorded_diagnosis(struct ipane *ip)
{
    const struct recording *r = ip->rec;
    tv_addf(&ip->tv, ROLE_DIM, "As recorded (%s%s%s):", r->result ? r->result : "no result",
            r->summary ? ": " : "", r->summary ? r->summary : "");
    if (!r->n_diag)
        tv_addf(&ip->tv, ROLE_DIM, "%s", r->diagnosis_note ? r->diagnosis_note
                                                            : "Nothing to diagnose: no step failed.");
    for (size_t i = 0; i < r->n_diag; i++) {
        const struct recording_diag *d = &r->diag[i];
        tv_addf(&ip->tv, i ? ROLE_NORMAL : ROLE_TITLE, "%s  %s (%s, %s)", d->id ? d->id : "?",
                d->title ? d->title : "", d->confidence ? d->confidence : "?",
                d->severity ? d->severity : "?");
        for (size_t k = 0; k < d->n_for; k++)
            tv_addf(&ip->tv, ROLE_ADDED, "  + %s", d->ev_for[k]);
        for (size_t k = 0; k < d->n_against; k++)
            tv_addf(&ip->tv, ROLE_REMOVED, "  - %s", d->ev_against[k]);
        if (i)
            continue;
        if (d->explanation)
            tv_addf(&ip->tv, ROLE_NORMAL, "  %s", d->explanation);
        for (size_t k = 0; k < d->n_fix; k++)
            tv_addf(&ip->tv, ROLE_NORMAL, "  fix %zu: %s", k + 1, d->fix[k]);
        if (d->verify)
            tv_addf(&ip->tv, ROLE_DIM, "  verify: %s", d->verify);
        if (d->source)
            tv_addf(&ip->tv, ROLE_DIM, "  source: %s", d->source);
    }
}

/* The walkthrough steps recorded up to the replay's position. */
static void recorded_walkthrough(struct ipane *ip, const struct transcript *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct tr_event *e = &t->ev[i];
        if (e->kind != TR_WALK)
            continue;
        n++;
        tv_addf(&ip->tv, ROLE_NORMAL, "%s [%s] %s", e->ref ? e->ref : "?",
                e->status ? e->status : "", e->message ? e->message : "");
    }
    if (!n)
        tv_addf(&ip->tv, ROLE_DIM, "No walkthrough step recorded up to this point.");
}

/* Ranked hypotheses for what the session shows now, the best one in full. */
static void diagnosis_tab(struct ipane *ip, const struct transcript *t, const struct session *s)
{
    if (ip->rec) {
        recorded_diagnosis(ip);
        return;
    }
    if (!s) {
        tv_addf(&ip->tv, ROLE_DIM, "Not connected.");
        return;
    }
    if (!ip->rules_loaded) {
        ruleset_init(&ip->rules);
        rules_load_default(&ip->rules, ip->rules_warn, sizeof ip->rules_warn);
        ip->rules_loaded = true;
    }
    if (ip->rules_warn[0])
        tv_addf(&ip->tv, ROLE_NO, "rules: %s", ip->rules_warn);
    struct report_target tg = { .host = ip->o ? ip->o->url.host : "",
        .user = ip->o ? (ip->o->user ? ip->o->user : ip->o->url.user) : "",
        .url = ip->o ? ip->o->url_text : NULL, .port = ip->o ? ip->o->url.port : 0,
        .expiry_warn_days = ip->soon_days, .redact_user = ip->o && ip->o->redact_user };
    if (ip->have_log) {
        tg.log_lines = (const char *const *)ip->log.lines;
        tg.n_log_lines = ip->log.n;
        tg.log_server = ip->log.server;
        tv_addf(&ip->tv, ROLE_DIM, "server log %s: %zu failure line%s used as evidence",
                ip->log.path, ip->log.n, ip->log.n == 1 ? "" : "s");
    }
    struct evidence_store st;
    struct diag_result r;
    evidence_collect_live(&st, t, (struct session *)s, &tg);
    diag_run(&ip->rules, &st.e, &r);
    if (r.no_rule)
        tv_addf(&ip->tv, ROLE_DIM, "%s.", DIAG_NO_RULE);
    else if (!r.n)
        tv_addf(&ip->tv, ROLE_DIM, "Nothing to diagnose: no step has failed.");
    for (size_t i = 0; i < r.n; i++)
        hypothesis(ip, &r.h[i], &st.e, i == 0);
    diag_result_free(&r);
}

static const char *outcome_mark(const char *o)
{
    return !strcmp(o, "passed") || !strcmp(o, "done") ? "ok"
         : !strcmp(o, "failed") ? "FAILED" : o;
}

static void walk_step(struct ipane *ip, const struct walk *w, const struct pb_step *st)
{
    tv_addf(&ip->tv, ROLE_ACTIVE, "> %s (%s%s%s)", st->id, pb_kind_name(st->kind),
            st->check ? " " : "", st->check ? pb_check_name(st->check) : "");
    char *t = walk_fill(w, st->text);
    tv_addf(&ip->tv, ROLE_NORMAL, "  %s", t ? t : "");
    free(t);
    for (size_t i = 0; i < st->n_commands; i++) {
        char *cmd = walk_fill(w, st->commands[i]);
        tv_addf(&ip->tv, ROLE_SENT, "    %s", cmd ? cmd : "");
        free(cmd);
    }
    for (size_t i = 0; i < st->n_notes; i++) {
        char *n = walk_fill(w, st->notes[i]);
        tv_addf(&ip->tv, ROLE_DIM, "  note: %s", n ? n : "");
        free(n);
    }
    if (st->kind == PB_ACTION) {
        tv_addf(&ip->tv, ROLE_TITLE, "  When done: /done [NOTE], /failed [NOTE], /skip "
                "(keys d f s here)");
    } else if (st->kind == PB_QUESTION) {
        char exp[300];
        walk_expected(w, exp, sizeof exp);
        tv_addf(&ip->tv, ROLE_TITLE, "  Answer: /answer WORD [NOTE] with one of: %s (keys y n "
                "here)", exp);
    } else {
        tv_addf(&ip->tv, ROLE_NOTICE, "  %s...", ip->walk_checking ? "running" : "starting");
    }
}

/* The walkthrough: the steps taken with their outcomes, the current step
 * with its commands filled in, how to answer; at the end its outcome. */
static void walk_tab(struct ipane *ip)
{
    const struct walk *w = ip->walk;
    if (!w) {
        tv_addf(&ip->tv, ROLE_DIM, "No walkthrough yet. After a failed step, /walkthrough starts "
                "the playbook for the diagnosis; /walkthrough ID starts one by name.");
        tv_addf(&ip->tv, ROLE_DIM, "mailscope walkthrough --list names the playbooks.");
        return;
    }
    char *title = walk_fill(w, w->pb->title);
    tv_addf(&ip->tv, ROLE_TITLE, "%s: %s", w->pb->id, title ? title : "");
    free(title);
    if (w->pb->intro) {
        char *x = walk_fill(w, w->pb->intro);
        tv_addf(&ip->tv, ROLE_DIM, "%s", x ? x : "");
        free(x);
    }
    for (size_t i = 0; i < w->n_hist; i++) {
        const struct walk_entry *h = &w->hist[i];
        const struct pb_step *st = &w->pb->steps[h->step];
        bool bad = !strcmp(h->outcome, "failed");
        tv_addf(&ip->tv, bad ? ROLE_BAD : !strcmp(h->outcome, "skipped") ? ROLE_DIM : ROLE_OK,
                "%s %s (%s): %s", outcome_mark(h->outcome), st->id, pb_kind_name(st->kind),
                h->text ? h->text : "");
    }
    const struct pb_step *st = walk_current(w);
    if (st)
        walk_step(ip, w, st);
    else
        tv_addf(&ip->tv, w->status == WALK_RESOLVED ? ROLE_BANNER_OK : ROLE_BANNER_BAD,
                "Walkthrough %s: %s", walk_status_name(w->status),
                w->status == WALK_RESOLVED ? "the re-test passed"
                : "no passing re-test (/walkthrough ID starts another)");
}

void ipane_refresh(struct ipane *ip, const struct transcript *t, const struct session *s)
{
    size_t n = s || ip->rec ? t->n : 0;
    unsigned gen = ip->walk ? ip->walk->gen : 0;
    if (ip->built && ip->built_events == n && ip->built_tab == ip->tab && ip->built_session == s &&
        ip->built_walk == ip->walk && ip->built_walk_gen == gen &&
        ip->built_walk_checking == ip->walk_checking)
        return;
    ip->built_walk = ip->walk;
    ip->built_walk_gen = gen;
    ip->built_walk_checking = ip->walk_checking;
    ip->built = true;
    ip->built_events = n;
    ip->built_tab = ip->tab;
    ip->built_session = s;
    size_t top = ip->tv.top;
    tv_clear(&ip->tv);
    ip->tv.follow = false;
    switch (ip->tab) {
    case TAB_CHAIN: chain_tab(ip, t); break;
    case TAB_TLS: tls_tab(ip, t); break;
    case TAB_CAPS: caps_tab(ip, s); break;
    case TAB_DIAGNOSIS: diagnosis_tab(ip, t, s); break;
    case TAB_WALKTHROUGH:
        if (ip->rec)
            recorded_walkthrough(ip, t);
        else
            walk_tab(ip);
        break;
    default: break;
    }
    ip->tv.top = top < ip->tv.n_rows ? top : 0;
}

void ipane_draw(struct ipane *ip, WINDOW *w, bool focused)
{
    int width = getmaxx(w), h = getmaxy(w);
    werase(w);
    wmove(w, 0, 0);
    for (int i = 0; i < TAB_COUNT && getcurx(w) < width - 1; i++) {
        wattrset(w, i == (int)ip->tab ? theme_attr(focused ? ROLE_ACTIVE : ROLE_TITLE)
                                      : theme_attr(ROLE_DIM));
        waddnstr(w, tab_names[i], width - getcurx(w) - 1);
        wattrset(w, A_NORMAL);
        if (getcurx(w) < width - 1)
            waddch(w, ' ');
    }
    wnoutrefresh(w);
    if (h > 1) {
        WINDOW *body = derwin(w, h - 1, width, 1, 0);
        if (body) {
            tv_draw(&ip->tv, body);
            delwin(body);
        }
    }
}
