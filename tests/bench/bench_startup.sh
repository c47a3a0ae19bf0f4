#!/usr/bin/env bash
# Start-up: `mailscope --version` against `curl --version`, and a whole probe
# (IMAPS: TLS, login, EXAMINE, LOGOUT) against the local Dovecot against curl
# doing the same (imaps, login, LIST). Wall time with hyperfine (mean of
# BENCH_STARTUP_RUNS runs, default 30) and the instructions executed under
# valgrind --tool=callgrind, which is repeatable on a shared machine.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
bench_need MS_BENCH_BIN MS_CERTS MS_BENCH_HOST MS_OPEN_IMAPS_PORT MS_TEST_USER MS_TEST_PASSWORD \
    MS_BENCH_TMP

RUNS=${BENCH_STARTUP_RUNS:-30}
[[ -n ${BENCH_QUICK:-} ]] && RUNS=5
export BENCH_PW=$MS_TEST_PASSWORD
CA=$MS_CERTS/root.pem
P=$MS_OPEN_IMAPS_PORT
ms_version=("$MS_BENCH_BIN" --version)
curl_version=(curl --version)
ms_probe=("$MS_BENCH_BIN" probe "imaps://$MS_TEST_USER@$MS_BENCH_HOST:$P" --password-env BENCH_PW
    --cafile "$CA" --servername mail.test --output=nagios)
curl_probe=(curl -s --ssl-reqd --cacert "$CA" --resolve "mail.test:$P:$MS_BENCH_HOST"
    -u "$MS_TEST_USER:$MS_TEST_PASSWORD" "imaps://mail.test:$P/" -X 'LIST "" INBOX')

# Both must work before they are timed.
"${ms_probe[@]}" >/dev/null || { printf 'bench_startup: the probe failed\n' >&2; exit 1; }
"${curl_probe[@]}" >/dev/null || { printf 'bench_startup: curl failed\n' >&2; exit 1; }

# hyperfine_mean CMD... -> mean seconds
hyperfine_mean() {
    local json=$MS_BENCH_TMP/hf.json q
    printf -v q '%q ' "$@"
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$json" "$q" >/dev/null 2>&1 ||
        { printf -- '-\n'; return; }
    python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["results"][0]["mean"])' "$json"
}

# instructions CMD... -> instructions executed (callgrind's "Collected")
instructions() {
    local log=$MS_BENCH_TMP/cg.log
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >/dev/null 2>"$log" || true
    awk '/Collected :/ { print $NF }' "$log"
}

ms() { awk -v s="$1" 'BEGIN { if (s == "-") print "-"; else printf "%.1f", s * 1000 }'; }
mi() { awk -v n="$1" 'BEGIN { if (n == "") print "-"; else printf "%.1f", n / 1e6 }'; }

a=$(hyperfine_mean "${ms_version[@]}")
b=$(hyperfine_mean "${curl_version[@]}")
c=$(hyperfine_mean "${ms_probe[@]}")
d=$(hyperfine_mean "${curl_probe[@]}")
ia=$(instructions "${ms_version[@]}")
ib=$(instructions "${curl_version[@]}")
ic=$(instructions "${ms_probe[@]}")
id=$(instructions "${curl_probe[@]}")

printf '\n## Start-up (hyperfine mean of %s runs; instructions under callgrind)\n\n' "$RUNS"
table_row "command" "mailscope ms" "curl ms" "time ratio" "mailscope M instr" "curl M instr" \
    "instr ratio"
table_rule 7
table_row "--version" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")" "$(mi "$ia")" "$(mi "$ib")" \
    "$(ratio "$ia" "$ib")"
table_row "IMAPS login + EXAMINE/LIST + LOGOUT, local Dovecot" "$(ms "$c")" "$(ms "$d")" \
    "$(ratio "$c" "$d")" "$(mi "$ic")" "$(mi "$id")" "$(ratio "$ic" "$id")"
printf '\nratios are mailscope / curl (below 1: mailscope is cheaper).\n'
