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

# best wall and CPU (user + system) seconds of $runs runs of "$@", as
# "WALL CPU" (stdout to a file: grep skips work when it writes to /dev/null).
# On a shared machine the CPU time is the steadier figure.
best() {
    local bw="" bc="" w c
    for ((i = 0; i < runs; i++)); do
        /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >"$tmp/out" 2>/dev/null || true
        read -r w u s < <(tail -n 1 "$tmp/time")   # after a "Command exited with ..." line
        c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        if [[ -z "$bw" ]] || awk -v a="$w" -v b="$bw" 'BEGIN { exit !(a < b) }'; then bw=$w; fi
        if [[ -z "$bc" ]] || awk -v a="$c" -v b="$bc" 'BEGIN { exit !(a < b) }'; then bc=$c; fi
    done
    printf '%s %s' "$bw" "$bc"
}

read -r g gc <<<"$(best grep -c ProxyNotAuthenticated "$log")"
grep_count=$(cat "$tmp/out")
read -r m mc <<<"$(best "$bin" logscan "$log")"
set +e
"$bin" logscan --json "$log" >"$tmp/json" 2>/dev/null
rc=$?
set -e
# the groups' "error" comes before their "count" (jansson keeps key order)
ours=$(awk '/"error": "ProxyNotAuthenticated"/ { p = 1 }
            /"count":/ { if (p) s += $2 + 0; p = 0 }
            END { print s + 0 }' "$tmp/json")

awk -v bytes="$bytes" -v runs="$runs" -v g="$g" -v m="$m" -v gc="$gc" -v mc="$mc" 'BEGIN {
    mib = bytes / 1048576
    if (gc <= 0) gc = 0.01
    printf "\nlog scan: %.0f MiB, %d runs each, the best (page cache warm)\n", mib, runs
    printf "%-32s %8s %8s %8s %10s %9s\n", "command", "wall s", "MiB/s", "ratio", "CPU s", "CPU ratio"
    printf "%-32s %8.2f %8.0f %8s %10.2f %9s\n", "grep -c ProxyNotAuthenticated", g, mib / g, "1.00", gc, "1.00"
    printf "%-32s %8.2f %8.0f %8.2f %10.2f %9.2f\n", "mailscope logscan", m, mib / m, m / g, mc, mc / gc }'
printf 'ProxyNotAuthenticated: grep counts %s lines, logscan %s failures (exit %d); target: ratio <= 3\n' \
    "$grep_count" "$ours" "$rc"
[[ "$grep_count" == "$ours" && "$rc" == 1 ]]
