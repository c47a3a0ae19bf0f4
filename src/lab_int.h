/* lab_int — what lab.c (sockets, TLS, state), labproto.c (the IMAP/POP3
 * dialogues) and labshell.c (the simulated shell) share. Not for other modules. */
#ifndef MAILSCOPE_LAB_INT_H
#define MAILSCOPE_LAB_INT_H

#include <stdarg.h>
#include <stdint.h>

#include "lab.h"
#include "labcert.h"
#include "lablog.h"

#define LAB_LINE_MAX 8192      /* one client line (Exchange's MaxCommandSize is 10240) */
#define LAB_MAX_CERTS 6
#define LAB_MAX_CONNS 64
#define LAB_OUT_MAX (512u * 1024)  /* stop reading a client that doesn't read its replies */
/* Exchange's PreAuthenticatedConnectionTimeout is 1 minute by default; the lab's
 * EX01 is set to 10 (Get-ImapSettings shows it) so a console session survives reading. */
#define LAB_IDLE_PREAUTH_MS 600000
#define LAB_IDLE_AUTH_MS 1800000   /* AuthenticatedConnectionTimeout */

enum lab_family { LF_EXCH2013, LF_ONLINE, LF_DOVECOT, LF_GMAIL };
enum lab_login { LT_PLAINTEXTLOGIN = 1, LT_PLAINTEXTAUTH = 2, LT_SECURELOGIN = 3 };
enum lab_proto { LP_IMAP, LP_POP };
/* The four Exchange services; what each one runs is a copy of the settings
 * taken when it (re)started, as in Exchange. */
enum lab_svc { LS_IMAP4, LS_IMAP4BE, LS_POP3, LS_POP3BE, LS_NSVC };

#define LAB_SVC_IMAP 1u
#define LAB_SVC_POP 2u
#define LAB_SVC_IIS 4u
#define LAB_SVC_SMTP 8u

struct lab_cert {
    struct labcert c;
    unsigned services;         /* LAB_SVC_* */
    unsigned services0;        /* as the scenario starts */
    bool be_usable;            /* the backend can serve it (see lab.c: the founding fault) */
};

struct lab_settings {           /* one Get-ImapSettings / Get-PopSettings object */
    char x509[128];
    enum lab_login login;
    bool log_enabled;           /* ProtocolLogEnabled */
};

struct lab_run {                /* one service as it runs now */
    struct lab_settings set;
    bool mbx_enabled;           /* CASMailbox ImapEnabled / PopEnabled when it started */
    bool chain_ok;              /* the intermediate was in the store when it started */
    int cert;                   /* index in certs, -1: none matches X509CertificateName */
    SSL_CTX *ctx;
    unsigned starts;
};

/* A registry key of the simulated Windows (labreg.c): SChannel's protocol
 * switches live under SYSTEM\CurrentControlSet\Control\SecurityProviders\
 * SCHANNEL\Protocols. Values keep their kind: SChannel reads DWORDs only. */
#define LAB_REG_KEYS 12
#define LAB_REG_VALUES 8
struct lab_regval {
    char name[64];
    bool dword;                 /* REG_DWORD; otherwise a string kind, kept as text */
    uint32_t num;
    char text[64];
};
struct lab_regkey {
    char path[200];             /* below HKEY_LOCAL_MACHINE, as typed when it was created */
    struct lab_regval v[LAB_REG_VALUES];
    int n;
};

/* Google's side of the Gmail scenario (labgoogle.c). */
#define LAB_APP_PASSWORDS 4
struct lab_app_password {
    char name[48];
    char pw[17];                /* 16 lower-case letters, stored without Google's spaces */
};

struct labconn;

struct lab {
    struct loop *lp;
    const struct lab_scenario *sc;
    enum lab_family family;
    char address[64];
    int shift;
    bool shift_forced;          /* --port-shift, not the EACCES fallback */
    char dir[512], ca_path[600];
    lab_out_fn on_event;
    void *event_arg;
    struct labpki *pki;
    struct lab_cert certs[LAB_MAX_CERTS];
    int ncerts;
    /* what Set-* wrote (Active Directory) and what the services run */
    struct lab_settings ad[2];
    bool mbx_enabled_ad[2];
    bool inter_installed_ad;
    struct lab_run run[LS_NSVC];
    /* Dovecot */
    bool dov_disable_plain_conf, dov_disable_plain_run;
    char dov_bad_setting[64];   /* a setting 2.3 doesn't know, appended to the configuration */
    struct lablog *log;
    int lfd[LAB_NPORTS];
    unsigned port[LAB_NPORTS];
    struct labconn *conns;
    int nconns;
    uint64_t next_session;
    uint64_t idle_timer;
    char online_fqdn[96], online_blob[200];
    /* Windows: the registry as edited, and the TLS versions SChannel took at the last boot */
    bool schannel;              /* this scenario models SChannel's switches (else TLS 1.2+) */
    struct lab_regkey reg[LAB_REG_KEYS];
    int nreg;
    unsigned tls_boot;          /* LABCERT_TLS_* as the services run now */
    unsigned boots;
    /* Gmail */
    struct lab_app_password app[LAB_APP_PASSWORDS];
    int napp;
    char app_next[17];          /* --app-password: what the next creation yields ("" random) */
};

struct labconn {
    struct lab *lab;
    struct labconn *next;
    int fd;
    enum lab_port port;
    SSL *ssl;
    bool handshaking, tls, tls_after_flush, close_after_flush, greeted;
    char in[LAB_LINE_MAX + 2];
    size_t inlen;
    char *out;
    size_t outlen, outcap;
    /* the dialogue */
    int state;                  /* 0 not authenticated, 1 authenticated, 2 selected */
    int sasl;                   /* pending AUTHENTICATE step, LAB_SASL_* */
    char tag[64], mech[32];
    char user[128];             /* POP3 USER, then the logged-in user */
    uint64_t session;
    unsigned seq;
    char sip[80], cip[80];
    int64_t t0_ms, last_ms;
    size_t rq, sent_total;
    int bad;
};

enum { LAB_SASL_NONE, LAB_SASL_NTLM1, LAB_SASL_NTLM3, LAB_SASL_PLAIN, LAB_SASL_XOAUTH2, LAB_SASL_XOAUTH2_ERR };

/* lab.c */
void lab_event(struct lab *lab, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void labconn_send(struct labconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void labconn_send_raw(struct labconn *c, const char *p, size_t n);
/* Restart one service: it takes the current settings and certificate. */
void lab_restart(struct lab *lab, enum lab_svc s);
enum lab_proto lab_port_proto(enum lab_port p);
bool lab_port_is_be(enum lab_port p);
enum lab_svc lab_port_svc(enum lab_port p);
const char *lab_service_name(enum lab_svc s);

/* labproto.c: the greeting of a new (or TLS-ready) connection, one line. */
void labproto_greet(struct labconn *c);
void labproto_line(struct labconn *c, char *line, size_t n);
/* The connection is closing: log it. */
void labproto_closed(struct labconn *c);
/* What the server says when it drops an idle connection. */
const char *labproto_idle_line(const struct labconn *c);
/* The plaintext refusal an SSL port sends when it has no certificate, or NULL. */
const char *labproto_no_cert_line(const struct labconn *c);

/* A simulated reboot (Restart-Computer): connections drop, SChannel reads
 * the registry again, every service restarts. */
void lab_reboot(struct lab *lab);

/* labreg.c: the registry cmdlets of the Exchange shell; 1 when the stage
 * was one of them (its result in *rc), 0 when it is not a registry cmdlet. */
int labreg_stage(struct lab *lab, lab_out_fn out, void *arg, char **sw[], int sn[], int ns, int *rc);
/* The scenario's starting registry; SChannel's versions as the registry says. */
void labreg_setup(struct lab *lab);
unsigned labreg_schannel_versions(const struct lab *lab);
/* "TLS 1.0, TLS 1.2" for a LABCERT_TLS_* set. */
const char *labreg_versions_text(unsigned v, char *out, size_t outlen);

/* labgoogle.c: the Google Account stand-in of the Gmail scenario. */
int labgoogle_exec(struct lab *lab, lab_out_fn out, void *arg, char **w, int n);
/* One line of a simulated shell's output to fn, sanitised (what the operator
 * typed is echoed in errors); labshell.c. */
void lab_vsay(lab_out_fn fn, void *arg, const char *fmt, va_list ap);
void lab_say(lab_out_fn fn, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void labgoogle_help(lab_out_fn out, void *arg);
/* Is pw (spaces ignored, any case) one of the account's app passwords? */
bool labgoogle_app_password_ok(const struct lab *lab, const char *pw);

/* Scenario set-up (labscen.c): certificates and settings; the settings alone. */
int labscen_setup(struct lab *lab, char *err, size_t errlen);
int labscen_setup_settings(struct lab *lab);

#endif
