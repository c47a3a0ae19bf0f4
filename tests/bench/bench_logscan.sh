#!/usr/bin/env bash
# Benchmark (issue 8, item 5): mailscope logscan over a generated Exchange
# IMAP4 protocol log against `grep -c ProxyNotAuthenticated` on the same file,
# the floor. Prints a table with the ratio (target: logscan within 3x of grep).
# Not a timed test: figures from a shared machine are noise, ratios less so.
#
#   tests/bench/bench_logscan.sh [MAILSCOPE_BIN]
#
# MAILSCOPE_BIN (or $MS_BIN): a Release build's mailscope (default:
# build/mailscope). $MS_GEN_EXLOG: the log generator (default: compiled here
# from tests/tools/gen_exlog.c). $MS_BENCH_SIZE: the log's size (default 1G;
# e.g. 200M for a quick look). $MS_BENCH_RUNS: runs of each, the best counts
# (default 3). The log lives in a temporary directory that is removed at the
# end. Exit status: 0 when the run worked (whatever the ratio), 1 otherwise.
set -euo pipefail

repo_root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
bin=${1:-${MS_BIN:-$repo_root/build/mailscope}}
size=${MS_BENCH_SIZE:-1G}
runs=${MS_BENCH_RUNS:-3}

if [[ ! -x "$bin" ]]; then
    printf 'bench_logscan: no mailscope at %s (build Release: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2)\n' "$bin" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_logscan.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

gen=${MS_GEN_EXLOG:-}
if [[ -z "$gen" ]]; then
    gen=$tmp/gen_exlog
    cc -O2 -o "$gen" "$repo_root/tests/tools/gen_exlog.c"
fi

log=$tmp/IMAP4_20261127-1.LOG
printf 'bench_logscan: writing a %s Exchange IMAP4 log...\n' "$size" >&2
"$gen" --size "$size" --fail-every 10 --bad-every 997 "$log"
bytes=$(stat -c %s "$log")
cat -- "$log" >/dev/null    # into the page cache: both read from memory

now() { date +%s.%N; }

# best wall time of $runs runs of "$@" (stdout to a file: grep skips work
# when it writes to /dev/null)
best() {
    local b="" t0 t1 d
    for ((i = 0; i < runs; i++)); do
        t0=$(now)
        "$@" >"$tmp/out" 2>/dev/null || true
        t1=$(now)
        d=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
        if [[ -z "$b" ]] || awk -v d="$d" -v b="$b" 'BEGIN { exit !(d < b) }'; then b=$d; fi
    done
    printf '%s' "$b"
}

g=$(best grep -c ProxyNotAuthenticated "$log")
grep_count=$(cat "$tmp/out")
m=$(best "$bin" logscan "$log")
set +e
"$bin" logscan --json "$log" >"$tmp/json" 2>/dev/null
rc=$?
set -e
# the groups' "error" comes before their "count" (jansson keeps key order)
ours=$(awk '/"error": "ProxyNotAuthenticated"/ { p = 1 }
            /"count":/ { if (p) s += $2 + 0; p = 0 }
            END { print s + 0 }' "$tmp/json")

awk -v bytes="$bytes" -v runs="$runs" -v g="$g" -v m="$m" 'BEGIN {
    mib = bytes / 1048576
    printf "\nlog scan: %.0f MiB, %d runs each, best wall time (page cache warm)\n", mib, runs
    printf "%-40s %10s %12s %8s\n", "command", "seconds", "MiB/s", "ratio"
    printf "%-40s %10.3f %12.0f %8s\n", "grep -c ProxyNotAuthenticated", g, mib / g, "1.00"
    printf "%-40s %10.3f %12.0f %8.2f\n", "mailscope logscan", m, mib / m, m / g }'
printf 'ProxyNotAuthenticated: grep counts %s lines, logscan %s failures (exit %d); target: ratio <= 3\n' \
    "$grep_count" "$ours" "$rc"
[[ "$grep_count" == "$ours" && "$rc" == 1 ]]
