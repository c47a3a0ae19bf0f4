/* mailscope's main(): dispatches to the faces. The interactive console
 * lives in ui/ too once it is built; probe is the headless face in src/. */
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "version.h"

static void usage(FILE *out)
{
    fputs("usage: mailscope probe [OPTIONS] URL    check an IMAP or POP3 server step by step\n"
          "       mailscope --version\n"
          "       mailscope --help\n"
          "\n", out);
    probe_usage(out);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "probe"))
        return probe_main(argc - 1, argv + 1);
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("mailscope %s\n", MAILSCOPE_VERSION);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "mailscope: %s\n"
            "The interactive console is not part of this build yet; use 'mailscope probe URL'.\n"
            "See 'mailscope --help'.\n", argc < 2 ? "no command given" : "unknown command");
    return 3;
}
