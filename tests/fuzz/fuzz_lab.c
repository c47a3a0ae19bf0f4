/* fuzz_lab — libFuzzer target for the lab's server side: the IMAP/POP3
 * dialogues of every scenario (src/labproto.c) and the simulated shell
 * (src/labshell.c), fed whatever a hostile client or operator types.
 * No socket: one lab is built once (certificates, settings) without
 * listeners, and a connection object takes the lines directly.
 * Checked: no crash, no sanitizer report, and every shell line reaching the
 * output callback holds no C0 control byte (it was sanitised).
 * Input: byte 0 picks the scenario, byte 1 the port and whether TLS is up;
 * then lines; a line starting with '!' goes to the shell instead. */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "lab_int.h"

static struct lab *the_labs[12];
static size_t nscen;

static struct lab *make(size_t i)
{
    const struct lab_scenario *sc = lab_scenarios(&nscen);
    struct lab *lab = calloc(1, sizeof *lab);
    char err[256];
    FUZZ_CHECK(lab);
    lab->sc = &sc[i];
    snprintf(lab->address, sizeof lab->address, "127.77.1.250");
    for (int p = 0; p < LAB_NPORTS; p++) {
        lab->lfd[p] = -1;
        lab->port[p] = 143;
    }
    lab->pki = labpki_new(lab->address, err, sizeof err);
    FUZZ_CHECK(lab->pki);
    FUZZ_CHECK(labscen_setup(lab, err, sizeof err) == 0);
    return lab;
}

static void check_line(void *arg, const char *line)
{
    (void)arg;
    for (const unsigned char *p = (const unsigned char *)line; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!the_labs[0]) {
        lab_scenarios(&nscen);
        for (size_t i = 0; i < nscen && i < 12; i++)
            the_labs[i] = make(i);
    }
    struct lab *lab = the_labs[data[0] % (nscen < 12 ? nscen : 12)];
    /* a fresh state each run: the settings as the scenario starts them */
    FUZZ_CHECK(labscen_setup_settings(lab) == 0);
    for (int s = 0; s < LS_NSVC; s++) {
        /* restart (a new SSL_CTX: slow) only a service the last run changed */
        struct lab_run *r = &lab->run[s];
        enum lab_proto p = s < LS_POP3 ? LP_IMAP : LP_POP;
        if (!r->starts || strcmp(r->set.x509, lab->ad[p].x509) || r->set.login != lab->ad[p].login ||
            r->mbx_enabled != lab->mbx_enabled_ad[p] || r->chain_ok != lab->inter_installed_ad)
            lab_restart(lab, (enum lab_svc)s);
    }
    struct labconn c = { .lab = lab, .fd = -1, .port = (enum lab_port)(data[1] % LAB_NPORTS),
                         .tls = data[1] & 0x80, .greeted = true };
    snprintf(c.sip, sizeof c.sip, "127.77.1.250:143");
    snprintf(c.cip, sizeof c.cip, "127.0.0.1:40000");
    char line[LAB_LINE_MAX + 1];
    size_t i = 2;
    while (i < size) {
        size_t n = 0;
        while (i < size && data[i] != '\n' && n < LAB_LINE_MAX)
            line[n++] = (char)data[i++];
        i++;
        line[n] = '\0';
        if (line[0] == '!')
            lab_shell_exec(lab, line + 1, check_line, NULL);
        else
            labproto_line(&c, line, n);
        c.outlen = 0;
        if (c.close_after_flush || c.tls_after_flush)
            break;
    }
    free(c.out);
    return 0;
}
