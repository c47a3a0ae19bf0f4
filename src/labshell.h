/* labshell — the lab's simulated management shell: a small Exchange
 * Management Shell ("[PS] EX01>": Get-/Set-ImapSettings, Get-/Set-PopSettings,
 * Get-/Set-CASMailbox, Get-/Enable-ExchangeCertificate, Import-Certificate,
 * Restart-Service, Format-List/Format-Table; the registry cmdlets and
 * Restart-Computer are in labreg.c), for Dovecot a root shell
 * ("root@mail:~#": doveconf, an echo >> into the configuration, reload), and
 * for Gmail the Google Account stand-in (labgoogle.c).
 * Contract: one input line at a time, at most LABSHELL_LINE_MAX bytes; output
 * as PowerShell (or bash) would print it, line by line, sanitised; a Set-
 * changes the stored settings, which the services take up only when they are
 * restarted, as on the real server. The entry point is lab_shell_exec() (lab.h). */
#ifndef MAILSCOPE_LABSHELL_H
#define MAILSCOPE_LABSHELL_H

#define LABSHELL_LINE_MAX 4096
#define LABSHELL_MAX_TOKENS 48

/* Split one pipeline stage into words: whitespace separates, '…' and "…"
 * quote, a "-Name:value" stays one word. Returns the count, -1 when a quote
 * is unterminated, -2 when there are too many words. Words point into buf. */
int labshell_split(char *buf, char **words, int max);

#endif
