#!/usr/bin/env bash
# Round trips: mailscope probe, curl and openssl s_client doing the same work
# (connect, TLS, login, one mailbox command, logout) through tests/bench/
# delayproxy, which delays every chunk by D ms each way. Wall time / (2·D) is
# the number of round trips each tool needed; the "minimum" column is what the
# protocol needs for that work in the proxy's model (the proxy accepts at once
# and opens its upstream D later, so connect + greeting is one round trip and a
# ClientHello rides with the connect).
#   BENCH_DELAY_MS (default 50), BENCH_RTT_RUNS (default 3; the median is shown)
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
bench_need MS_BENCH_BIN MS_BENCH_BUILD MS_CERTS MS_BENCH_HOST MS_OPEN_IMAP_PORT MS_OPEN_IMAPS_PORT \
    MS_OPEN_POP3_PORT MS_OPEN_POP3S_PORT MS_TEST_USER MS_TEST_PASSWORD MS_BENCH_TMP

D=${BENCH_DELAY_MS:-50}
RUNS=${BENCH_RTT_RUNS:-3}
CA=$MS_CERTS/root.pem
USER_=$MS_TEST_USER
export BENCH_PW=$MS_TEST_PASSWORD
proxy_pids=()
cleanup_rtt() {
    local p
    for p in "${proxy_pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
}
trap cleanup_rtt EXIT

# start_proxy TARGET_PORT -> prints the proxy's port
declare -A PROXY
start_proxy() {
    local target=$1 log=$MS_BENCH_TMP/delayproxy-$1.out
    "$MS_BENCH_BUILD/tests/bench/delayproxy" "$D" "$MS_BENCH_HOST" "$target" >"$log" 2>&1 &
    proxy_pids+=($!)
    local i
    for ((i = 0; i < 50; i++)); do
        if grep -q '^PORT ' "$log" 2>/dev/null; then
            PROXY[$target]=$(awk '/^PORT/ { print $2 }' "$log")
            return 0
        fi
        sleep 0.05
    done
    printf 'bench_rtt: delayproxy did not start\n' >&2
    exit 1
}

# ---- the three tools ---------------------------------------------------

run_mailscope() {  # SCHEME PORT
    local tls=starttls
    [[ $1 == *s ]] && tls=implicit
    "$MS_BENCH_BIN" probe "$1://$USER_@127.0.0.1:$2" --password-env BENCH_PW --cafile "$CA" \
        --servername mail.test --tls="$tls" --output=nagios >"$MS_BENCH_TMP/rtt-ms.out" 2>&1
}

run_curl() {  # SCHEME PORT
    local -a what=()
    [[ $1 == imap* ]] && what=(-X 'LIST "" INBOX')
    curl -s --ssl-reqd --cacert "$CA" --resolve "mail.test:$2:127.0.0.1" -u "$USER_:$BENCH_PW" \
        "$1://mail.test:$2/" "${what[@]}" >"$MS_BENCH_TMP/rtt-curl.out" 2>&1
}

# s_client fed by a script that waits for each reply before the next command.
sc_ask() {  # LINE REGEX: send LINE (if any), read until a line matches REGEX
    [[ -n $1 ]] && printf '%s\n' "$1" >&"$sc_out"
    local line
    while IFS= read -r -t 15 line <&"$sc_in"; do
        line=${line%$'\r'}
        [[ $line =~ $2 ]] && return 0
    done
    printf 'bench_rtt: s_client: no reply matching %s\n' "$2" >&2
    return 1
}

run_sclient() {  # SCHEME PORT
    local -a st=()
    case $1 in
        imap) st=(-starttls imap) ;;
        pop3) st=(-starttls pop3) ;;
    esac
    coproc SC { exec openssl s_client -connect "127.0.0.1:$2" -servername mail.test -CAfile "$CA" \
        -verify_return_error "${st[@]}" -crlf -quiet 2>/dev/null; }
    local pid=$SC_PID rc=0
    # bash drops SC when the process ends: keep our own copies of its pipes.
    exec {sc_in}<&"${SC[0]}" {sc_out}>&"${SC[1]}"
    case $1 in
        imap | imaps)
            { [[ $1 == imap ]] || sc_ask "" '^\* OK'; } &&
                sc_ask "a1 CAPABILITY" '^a1 ' && sc_ask "a2 LOGIN $USER_ $BENCH_PW" '^a2 OK' &&
                sc_ask "a3 EXAMINE INBOX" '^a3 OK' && sc_ask "a4 LOGOUT" '^a4 ' || rc=1 ;;
        pop3 | pop3s)
            { [[ $1 == pop3 ]] || sc_ask "" '^\+OK'; } &&
                sc_ask "CAPA" '^\.$' && sc_ask "USER $USER_" '^\+OK' && sc_ask "PASS $BENCH_PW" '^\+OK' &&
                sc_ask "STAT" '^\+OK' && sc_ask "QUIT" '^[+-]' || rc=1 ;;
    esac
    exec {sc_in}<&- {sc_out}>&-
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return "$rc"
}

# rtt TOOL SCHEME PORT -> round trips (median of RUNS), "fail" on an error
rtt() {
    local tool=$1 scheme=$2 port=$3 i t0 t1 vals=()
    for ((i = 0; i < RUNS; i++)); do
        t0=$(now_ns)
        if ! "run_$tool" "$scheme" "$port"; then
            printf 'fail'
            return
        fi
        t1=$(now_ns)
        vals+=("$(awk -v a="$t0" -v b="$t1" -v d="$D" 'BEGIN { printf "%.2f", (b - a) / 1e6 / (2 * d) }')")
    done
    median "${vals[@]}"
}

printf '\n## Round trips (delay %s ms each way; wall time / %s ms; median of %s)\n\n' "$D" $((2 * D)) "$RUNS"
table_row "session (same work for each tool)" "minimum" "mailscope" "curl" "s_client + script" \
    "mailscope / curl"
table_rule 6
declare -A MIN=([imap]=6 [imaps]=4 [pop3]=7 [pop3s]=5)
declare -A WHAT=(
    [imap]="IMAP STARTTLS, login, EXAMINE/LIST, LOGOUT"
    [imaps]="IMAPS, login, EXAMINE/LIST, LOGOUT"
    [pop3]="POP3 STLS, CAPA, USER/PASS, STAT/LIST, QUIT"
    [pop3s]="POP3S, CAPA, USER/PASS, STAT/LIST, QUIT")
declare -A TARGET=([imap]=$MS_OPEN_IMAP_PORT [imaps]=$MS_OPEN_IMAPS_PORT
    [pop3]=$MS_OPEN_POP3_PORT [pop3s]=$MS_OPEN_POP3S_PORT)
for scheme in imap imaps pop3 pop3s; do
    start_proxy "${TARGET[$scheme]}"
    port=${PROXY[${TARGET[$scheme]}]}
    m=$(rtt mailscope "$scheme" "$port")
    c=$(rtt curl "$scheme" "$port")
    s=$(rtt sclient "$scheme" "$port")
    table_row "${WHAT[$scheme]}" "${MIN[$scheme]}" "$m" "$c" "$s" "$(ratio "$m" "$c")"
done
cat <<EOF

minimum: in the proxy's model, with the greeting's capabilities used, SASL-IR or
pipelined USER/PASS, capabilities asked again inside TLS (RFC 2595/3501), and
the LOGOUT/QUIT answer not awaited. POP3 has no capabilities in its greeting, so
CAPA comes before STLS (as curl does). s_client -starttls asks CAPABILITY before
STARTTLS itself and its script waits for the LOGOUT answer.
EOF
