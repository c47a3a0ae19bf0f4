/* The Exchange protocol log reader on tricky lines: the #Fields header and
 * its column order, several headers in one file, BOM and CRLF, RFC 4180
 * quoting (doubled quotes, quoted commas), malformed lines counted with
 * their numbers and skipped, over-long lines, lines across read blocks,
 * the context keys and the failure they record. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exlog.h"

#define FIELDS "#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize," \
               "command,parameters,context\r\n"

static char got[8][4096];

/* Column c of the n-th record of text (1-based), unquoted into got[slot]. */
static const char *col(const char *text, int n, enum exlog_col c, int slot)
{
    struct exlog_reader r;
    struct exlog_record rec;
    exlog_open_mem(&r, text, strlen(text), EXLOG_UNKNOWN);
    for (int i = 0; i < n; i++)
        cr_assert_eq(exlog_next(&r, &rec), 1, "record %d missing", i + 1);
    exlog_unquote(&rec.col[c], got[slot], sizeof got[slot]);
    exlog_close(&r);
    return got[slot];
}

Test(exlog, header_columns_and_doubled_quotes)
{
    const char *t = "#Software: Microsoft Exchange Server\r\n#Log-type: IMAP4 Log\r\n" FIELDS
        "2026-11-27T07:30:46.994Z,0000000000000003,2,10.0.0.5:143,192.168.1.20:32258,alice,"
        "1196,78,97,login,alice *****,\"R=\"\"a2 NO LOGIN failed.\"\";ErrMsg=UserDisabled\"\r\n";
    cr_expect_str_eq(col(t, 1, EXC_USER, 0), "alice");
    cr_expect_str_eq(col(t, 1, EXC_CIP, 1), "192.168.1.20:32258");
    cr_expect_str_eq(col(t, 1, EXC_CONTEXT, 2), "R=\"a2 NO LOGIN failed.\";ErrMsg=UserDisabled");
    cr_expect_str_eq(col(t, 1, EXC_DATETIME, 3), "2026-11-27T07:30:46.994Z");
    struct exlog_reader r;
    struct exlog_record rec;
    exlog_open_mem(&r, t, strlen(t), EXLOG_UNKNOWN);
    cr_assert_eq(exlog_next(&r, &rec), 1);
    cr_expect_eq(rec.proto, EXLOG_IMAP4, "#Log-type names the protocol");
    cr_expect_eq(rec.lineno, 4);
    cr_expect_eq(rec.len, strlen(t) - (size_t)(strstr(t, "2026") - t) - 2, "CR LF not in the line");
    cr_expect_eq(exlog_next(&r, &rec), 0);
    cr_expect_eq(r.malformed, 0);
    exlog_close(&r);
}

Test(exlog, bom_quoted_comma_and_a_second_layout)
{
    const char *t = "\xEF\xBB\xBF#Log-type: POP3 Log\n" FIELDS
        "2026-11-27T00:00:01.000Z,1,1,s:110,c:1,bob,1,1,1,list,\"Inbox, \"\"old\"\"\",\n"
        "#Fields: sessionId,user,puid,context,dateTime\n"
        "7,carol,xyz,\"R=\"\"-ERR Logon failure: unknown user name or bad password.\"\"\",2026-11-28T00:00:00Z\n";
    cr_expect_str_eq(col(t, 1, EXC_PARAMS, 0), "Inbox, \"old\"");
    cr_expect_str_eq(col(t, 1, EXC_CONTEXT, 1), "", "a trailing comma: an empty last field");
    cr_expect_str_eq(col(t, 2, EXC_USER, 2), "carol", "the second #Fields header's order");
    cr_expect_str_eq(col(t, 2, EXC_DATETIME, 3), "2026-11-28T00:00:00Z");
    cr_expect_str_eq(col(t, 2, EXC_SESSION, 4), "7");
    cr_expect_str_eq(col(t, 2, EXC_CIP, 5), "", "a column the header does not name is empty");
}

Test(exlog, malformed_lines_are_counted_with_numbers_and_skipped)
{
    const char *t = FIELDS
        "a,b,c,d,e,f,g,h,i,j,k,l\n"                                 /* 2: fine */
        "a,b,\"unterminated,d\n"                                    /* 3 */
        "a,b,c\n"                                                    /* 4: too few */
        "a,\"b\"x,c,d,e,f,g,h,i,j,k,l\n"                             /* 5: text after quote */
        "a,b,c,d,e,f,g,h,i,j,k,\"l\",m\n"                            /* 6: too many */
        "a,b,c,d,e,f,g,h,i,j,k,l, with, commas, unquoted\n";         /* 7: fine, last column */
    struct exlog_reader r;
    struct exlog_record rec;
    exlog_open_mem(&r, t, strlen(t), EXLOG_UNKNOWN);
    cr_assert_eq(exlog_next(&r, &rec), 1);
    cr_expect_eq(rec.lineno, 2);
    cr_assert_eq(exlog_next(&r, &rec), 1);
    cr_expect_eq(rec.lineno, 7);
    exlog_unquote(&rec.col[EXC_CONTEXT], got[0], sizeof got[0]);
    cr_expect_str_eq(got[0], "l, with, commas, unquoted");
    cr_expect_eq(exlog_next(&r, &rec), 0);
    cr_expect_eq(r.malformed, 4);
    cr_assert_eq(r.n_bad, 4);
    cr_expect_eq(r.bad[0].lineno, 3);
    cr_expect_str_eq(r.bad[0].reason, "unterminated quote");
    cr_expect_eq(r.bad[1].lineno, 4);
    cr_expect_eq(r.bad[2].lineno, 5);
    cr_expect_str_eq(r.bad[2].reason, "text after a closing quote");
    cr_expect_eq(r.bad[3].lineno, 6);
    exlog_close(&r);
}

Test(exlog, no_header_means_the_default_columns)
{
    const char *t = "t,s,1,srv:143,cli:5,dave,1,2,3,login,p,R=\"a1 OK LOGIN completed.\"";
    cr_expect_str_eq(col(t, 1, EXC_USER, 0), "dave");
    cr_expect_str_eq(col(t, 1, EXC_CONTEXT, 1), "R=\"a1 OK LOGIN completed.\"",
                     "an unquoted field keeps its quotes; no newline at the end is fine");
}

Test(exlog, context_keys)
{
    const char *c = "R=\"a2 NO x; y \"\"z\"\"\";Msg=Proxy:ex02:1993:SSL;Flag;ErrMsg=ProxyFailed";
    size_t pos = 0;
    struct exlog_kv kv;
    const char *keys[] = { "R", "Msg", "Flag", "ErrMsg" };
    for (int i = 0; i < 4; i++) {
        cr_assert(exlog_context_next(c, strlen(c), &pos, &kv));
        cr_expect_eq(kv.klen, strlen(keys[i]));
        cr_expect(!strncmp(kv.key, keys[i], kv.klen), "key %d", i);
    }
    cr_expect_not(exlog_context_next(c, strlen(c), &pos, &kv));
    char v[128];
    cr_assert(exlog_context_get(c, strlen(c), "R", v, sizeof v));
    cr_expect_str_eq(v, "a2 NO x; y \"z\"", "a quoted value keeps its ';' and undoubles quotes");
    cr_assert(exlog_context_get(c, strlen(c), "errmsg", v, sizeof v));
    cr_expect_str_eq(v, "ProxyFailed");
    cr_expect_not(exlog_context_get(c, strlen(c), "Excpt", v, sizeof v));
}

static bool failure_of(const char *context, struct exlog_failure *f)
{
    static char line[2048];
    snprintf(line, sizeof line, "t,s,1,srv,cli,u,1,2,3,login,p,%s", context);
    struct exlog_reader r;
    struct exlog_record rec;
    exlog_open_mem(&r, line, strlen(line), EXLOG_IMAP4);
    cr_assert_eq(exlog_next(&r, &rec), 1);
    static char ctx[4096];
    bool yes = exlog_failure(&rec, f, ctx, sizeof ctx);
    exlog_close(&r);
    return yes;
}

Test(exlog, failures_and_what_they_say)
{
    struct exlog_failure f;
    cr_assert(failure_of("\"R=\"\"a2 NO LOGIN failed.\"\";Msg=Proxy:ex02.contoso.local:1993:SSL;"
                         "ErrMsg=ProxyNotAuthenticated\"", &f));
    cr_expect_str_eq(f.error, "ProxyNotAuthenticated");
    cr_expect_str_eq(f.source, "ErrMsg");
    cr_expect_str_eq(f.proxy, "ex02.contoso.local:1993:SSL");
    cr_expect_str_eq(f.reply, "a2 NO LOGIN failed.");
    char c[256];
    exlog_failure_context(&f, c, sizeof c);
    cr_expect_str_eq(c, "R=\"a2 NO LOGIN failed.\";Msg=Proxy:ex02.contoso.local:1993:SSL;"
                        "ErrMsg=ProxyNotAuthenticated");
    exlog_failure_context(&f, c, 12);
    cr_expect_eq(strlen(c), 11, "cut to the buffer: %s", c);
    cr_expect(!strncmp(c, "R=\"a2 NO ", 9), "%s", c);

    cr_assert(failure_of("\"R=\"\"z NO [Error=ProxyNotAuthenticated Proxy=ex03.c.local:1993:SSL] "
                         "LOGIN failed.\"\"\"", &f));
    cr_expect_str_eq(f.error, "ProxyNotAuthenticated");
    cr_expect_str_eq(f.source, "Error");
    cr_expect_str_eq(f.proxy, "ex03.c.local:1993:SSL");

    cr_assert(failure_of("\"R=\"\"-ERR Logon failure: unknown user name or bad password. "
                         "[Error=\"\"\"\"Some Thing\"\"\"\" Proxy=ex04:1995:SSL]\"\"\"", &f));
    cr_expect_str_eq(f.error, "Some Thing", "a quoted Error= value");
    cr_expect_str_eq(f.proxy, "ex04:1995:SSL");

    cr_assert(failure_of("\"R=\"\"a3 BAD Command received in Invalid state.\"\"\"", &f));
    cr_expect_str_eq(f.error, "BAD Command received in Invalid state.", "the tag is not the key");
    cr_expect_str_eq(f.source, "reply");

    cr_assert(failure_of("\"R=\"\"* BYE Connection is closed. 14\"\"\"", &f));
    cr_expect_str_eq(f.error, "BYE Connection is closed. 14");

    cr_expect_not(failure_of("\"R=\"\"a2 OK LOGIN completed.\"\";Msg=ProxySuccess\"", &f));
    cr_expect_not(failure_of("\"R=\"\"* BYE Microsoft Exchange Server IMAP4 server signing off.\"\"\"", &f));
    cr_expect_not(failure_of("\"R=\"\"+OK User successfully logged on.\"\"\"", &f));
    cr_expect_not(failure_of("", &f));
    cr_assert(failure_of("ErrMsg=PreAuthTimeout", &f), "an ErrMsg without a reply");
    cr_expect_str_eq(f.error, "PreAuthTimeout");
}

/* Through a file: a line across the read blocks, an over-long line dropped
 * (counted once), and the lines after it read as usual. */
Test(exlog, file_blocks_and_overlong_lines)
{
    char path[] = "/tmp/test_exlog_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(FIELDS, f);
    size_t written = strlen(FIELDS);
    unsigned n = 0;
    while (written < EXLOG_CHUNK + 100) {
        written += (size_t)fprintf(f, "t,s,%u,srv,cli,user%u,1,2,3,noop,,\"R=\"\"a OK\"\"\"\r\n", n, n);
        n++;
    }
    fputs("t,s,x,srv,cli,big,1,2,3,noop,", f);
    for (size_t i = 0; i < EXLOG_MAX_LINE + 10; i++)
        fputc('A', f);
    fputs("\r\nt,s,last,srv,cli,after,1,2,3,noop,,\r\n", f);
    fclose(f);
    struct exlog_reader r;
    char err[256];
    cr_assert_eq(exlog_open(&r, path, err, sizeof err), 0, "%s", err);
    struct exlog_record rec;
    unsigned seen = 0;
    char last[64] = "";
    while (exlog_next(&r, &rec) == 1) {
        char u[64];
        exlog_unquote(&rec.col[EXC_USER], u, sizeof u);
        if (seen < n) {
            char want[32];
            snprintf(want, sizeof want, "user%u", seen);
            cr_assert_str_eq(u, want, "record %u", seen);
        }
        snprintf(last, sizeof last, "%s", u);
        seen++;
    }
    cr_expect_eq(seen, n + 1);
    cr_expect_str_eq(last, "after");
    cr_expect_eq(r.malformed, 1);
    cr_expect_eq(r.bad[0].lineno, n + 2);
    cr_expect_str_eq(r.bad[0].reason, "line longer than the limit");
    cr_expect_eq(r.lineno, n + 3);
    exlog_close(&r);
    unlink(path);
    cr_expect_eq(exlog_open(&r, path, err, sizeof err), -1);
    cr_expect(strstr(err, "No such file"), "%s", err);
}

/* The vector path (sixteen bytes at a time up to the first quote) and the
 * byte-wise walk cut every line the same way. */
Test(exlog, vector_and_bytewise_agree)
{
    const char *t = FIELDS
        "2026-11-27T07:30:46.994Z,0000000000000003,2,10.0.0.5:143,192.168.1.20:32258,alice,1,2,3,"
        "login,alice *****,\"R=\"\"a2 NO LOGIN failed.\"\";ErrMsg=UserDisabled\"\n"
        "aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbb,c,d,e,f,g,h,i,j,\"k, with \"\"comma\"\"\",l\n"
        "a,b,c,d,e,f,g,h,i,j,k,lllllllllllllllllllllllllllll,more,commas\n"
        "a,b,c,d,e,f,g,h,i,j,k,\n"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,b,c,d,e,f,g,h,i,j,k,l,\n"
        "a,b,c,d,e,f,g,h,i,j,k,\"l\",,,,,,,,,,,,,,,,,,,,,\n"
        "a,b,c,d,e,f,g,h,i,j,k\n"
        "a\"b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t\n";
    char a[16][12][256], b[16][12][256];
    uint64_t la[16], lb[16];
    size_t na = 0, nb = 0;
    for (int pass = 0; pass < 2; pass++) {
        exlog_scalar = pass == 1;
        struct exlog_reader r;
        struct exlog_record rec;
        exlog_open_mem(&r, t, strlen(t), EXLOG_UNKNOWN);
        size_t *n = pass ? &nb : &na;
        while (exlog_next(&r, &rec) == 1 && *n < 16) {
            for (int c = 0; c < EXC_COUNT; c++)
                exlog_unquote(&rec.col[c], (pass ? b : a)[*n][c], 256);
            (pass ? lb : la)[*n] = rec.lineno;
            (*n)++;
        }
        exlog_close(&r);
    }
    exlog_scalar = false;
    cr_assert_eq(na, nb);
    cr_expect_eq(na, 6, "lines 2 to 6 and 9 are records (7: too many fields, 8: too few)");
    for (size_t i = 0; i < na; i++) {
        cr_expect_eq(la[i], lb[i]);
        for (int c = 0; c < EXC_COUNT; c++)
            cr_expect_str_eq(a[i][c], b[i][c], "line %llu column %d", (unsigned long long)la[i], c);
    }
}

/* A client that cancels its own AUTHENTICATE (mailscope's NTLM discovery
 * does, on purpose) is no failure of the server. */
Test(exlog, a_cancelled_authenticate_is_no_failure)
{
    struct exlog_failure f;
    cr_expect_not(failure_of("R=\"a2 BAD AUTHENTICATE cancelled.\";ErrMsg=AuthCancelled", &f));
    cr_expect(failure_of("R=\"a3 NO LOGIN failed.\";ErrMsg=ProxyNotAuthenticated", &f));
}
