# shellcheck shell=bash
# Sourced by the benchmarks in tests/bench: the environment scripts/bench
# exports, and small helpers. A benchmark run by hand needs the same variables:
#   MS_BENCH_BIN      the mailscope binary (a Release build)
#   MS_BENCH_BUILD    the build directory (delayproxy, scripted_server in it)
#   MS_CERTS          certificates from tests/env/gen-certs.sh
#   MS_BENCH_HOST     the Dovecot address (127.0.0.2); ports MS_OPEN_*_PORT
#   MS_TEST_USER, MS_TEST_PASSWORD
#   MS_BENCH_TMP      a scratch directory

bench_need() {
    local v
    for v in "$@"; do
        if [[ -z "${!v:-}" ]]; then
            printf 'bench: %s is not set (run this through scripts/bench)\n' "$v" >&2
            exit 2
        fi
    done
}

# now_ns -> monotonic-enough wall clock in nanoseconds
now_ns() { date +%s%N; }

# median N1 N2 ... -> the median (numbers may be fractional)
median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ratio A B -> A / B with two decimals ("-" when B is 0 or either is missing)
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# table_row COL... -> one Markdown table row
table_row() {
    local out="|" c
    for c in "$@"; do
        out+=" $c |"
    done
    printf '%s\n' "$out"
}

# table_rule N -> the Markdown header rule for N columns
table_rule() {
    local out="|" i
    for ((i = 0; i < $1; i++)); do
        out+=" --- |"
    done
    printf '%s\n' "$out"
}
