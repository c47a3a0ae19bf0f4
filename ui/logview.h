/* logview — `mailscope logscan --tui`: the groups of failures that logscan
 * found in Exchange protocol logs, browsed full screen. The list shows one
 * group a row (count, error, user, client, rule), largest first; Enter opens
 * the group: its first and last time, servers, proxy targets, sample lines
 * and the linked rule's explanation, fix (names filled in) and verification;
 * Esc or q goes back, q on the list quits. Every log byte is sanitised
 * before it reaches the screen. Without --tui it is logscan_main(). */
#ifndef MAILSCOPE_LOGVIEW_H
#define MAILSCOPE_LOGVIEW_H

/* argv[0] is "logscan". Returns the exit status logscan defines. */
int logview_main(int argc, char **argv);

#endif
