/* mailscope's main(): the console by default; probe, rules, replay, lab,
 * walkthrough and logscan as subcommands. */
#include <stdio.h>
#include <string.h>

#include "console.h"
#include "labcmd.h"
#include "logscan.h"
#include "logview.h"
#include "probe.h"
#include "replay.h"
#include "rulescmd.h"
#include "walkcmd.h"
#include "version.h"

static void usage(FILE *out)
{
    fputs("usage: mailscope [OPTIONS] [URL]          the interactive console\n"
          "       mailscope --lab [SCENARIO] [--lab-address ADDR]\n"
          "                                        the console on a lab scenario (default: the founding\n"
          "                                        Exchange case); /ps COMMAND runs its shell\n"
          "       mailscope probe [OPTIONS] URL    check a server step by step, for scripts\n"
          "       mailscope logscan [--json] [--tui] FILE|DIR...   Exchange protocol logs\n", out);
    rulescmd_usage(out);
    replay_usage(out);
    labcmd_usage(out);
    walkcmd_usage(out);
    fputs("       mailscope --version | --help\n\n", out);
    logscan_usage(out);
    fputs("\n", out);
    probe_usage(out);
    fputs("\n", out);
    labcmd_help(out);
    fputs("\nThe console takes the same options. Inside it: F5 runs the next step of the\n"
          "plan shown at the top, F6 lets you edit it first, F1 lists every key and\n"
          "/command (/connect /step /capability /starttls /login /auth /chain /save\n"
          "/ps /quit ...); any other line goes to the server as typed. man mailscope\n"
          "documents it all.\n", out);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "probe"))
        return probe_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "lab"))
        return labcmd_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "logscan"))
        return logview_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "replay"))
        return replay_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "walkthrough"))
        return walkcmd_main(argc - 1, argv + 1, console_walkthrough, stdout, stderr);
    if (argc >= 2 && !strcmp(argv[1], "rules"))
        return rulescmd_main(argc, argv, stdout, stderr);
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("mailscope %s\n", MAILSCOPE_VERSION);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    return console_main(argc, argv);
}
