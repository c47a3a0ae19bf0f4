#!/usr/bin/env bash
# Huge replies: a scripted server (tests/bench/scenarios/bulk-*.scn, step
# sendbulk) sends an IMAP FETCH literal and a POP3 RETR body of
# BENCH_BULK_BYTES (default 1 GiB), over plain TCP and over TLS. mailscope
# probe --command fetches it; the floor is a client that only moves the bytes
# (plain: cat on bash's /dev/tcp; TLS: openssl s_client -quiet) fed the same
# commands at once, output to /dev/null. Reported: throughput ratio (mailscope
# / floor; target >= 0.9) and mailscope's peak RSS from /usr/bin/time -v
# (target < 32 MiB).
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
bench_need MS_BENCH_BIN MS_BENCH_BUILD MS_CERTS MS_BENCH_TMP

BYTES=${BENCH_BULK_BYTES:-1073741824}
[[ -n ${BENCH_QUICK:-} ]] && BYTES=67108864
SS=$MS_BENCH_BUILD/tests/bench/scripted/scripted_server
T=$MS_BENCH_TMP
export BENCH_PW=bulk-secret

# scenario PROTO TLS -> path of a scenario for this run
scenario() {
    local f=$T/bulk-$1-$2.scn
    { [[ $2 == tls ]] && printf 'tls\n'; sed "s/SIZE/$BYTES/" "$here/scenarios/bulk-$1.scn"; } >"$f"
    printf '%s\n' "$f"
}

start_server() {  # PROTO TLS -> sets SRV_PORT, SRV_PID
    local log=$T/bulk-server.out
    rm -f -- "$log"
    local -a tlsargs=()
    [[ $2 == tls ]] && tlsargs=(--cert "$MS_CERTS/chain.pem" --key "$MS_CERTS/leaf.key")
    "$SS" "${tlsargs[@]}" --timeout 900 "$(scenario "$1" "$2")" >"$log" 2>"$T/bulk-server.err" &
    SRV_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        SRV_PORT=$(awk '/^PORT/ { print $2 }' "$log" 2>/dev/null || true)
        [[ -n $SRV_PORT ]] && return 0
        sleep 0.05
    done
    printf 'bench_bulk: scripted_server did not start\n' >&2
    exit 1
}

finish_server() {
    if ! wait "$SRV_PID"; then
        printf 'bench_bulk: the scripted server failed:\n' >&2
        cat "$T/bulk-server.err" >&2
        return 1
    fi
}

commands() {  # PROTO -> the client's lines, for the floor clients
    if [[ $1 == imap ]]; then
        printf 'a001 AUTHENTICATE PLAIN AGJ1bGsAYnVsay1zZWNyZXQ=\r\na002 EXAMINE INBOX\r\n'
        printf 'a003 FETCH 1 BODY[]\r\na004 LOGOUT\r\n'
    else
        printf 'CAPA\r\nUSER bulk\r\nPASS bulk-secret\r\nSTAT\r\nRETR 1\r\nQUIT\r\n'
    fi
}

# report_run T0_NS T1_NS -> "wall_seconds peak_kib cpu_seconds" (from bulk-time.txt)
report_run() {
    printf '%s %s %s\n' "$(awk -v a="$1" -v b="$2" 'BEGIN { print (b - a) / 1e9 }')" \
        "$(awk -F': ' '/Maximum resident/ { print $2 }' "$T/bulk-time.txt")" \
        "$(awk -F': ' '/User time|System time/ { t += $2 } END { print t }' "$T/bulk-time.txt")"
}

# run_mailscope PROTO TLS -> "seconds peak_kib cpu_seconds"
run_mailscope() {
    start_server "$1" "$2"
    local scheme=$1 cmd='FETCH 1 BODY[]'
    [[ $1 == pop3 ]] && cmd='RETR 1'
    local -a tlsargs=(--tls=none --allow-plaintext-login)
    [[ $2 == tls ]] && { scheme=${1}s; tlsargs=(--cafile "$MS_CERTS/root.pem" --servername mail.test); }
    local t0 t1 rc=0
    t0=$(now_ns)
    /usr/bin/time -v -o "$T/bulk-time.txt" "$MS_BENCH_BIN" probe "$scheme://bulk@127.0.0.1:$SRV_PORT" \
        --password-env BENCH_PW --command "$cmd" --timeout 60 "${tlsargs[@]}" --output=nagios \
        >"$T/bulk-ms.out" 2>&1 || rc=$?
    t1=$(now_ns)
    finish_server || { cat "$T/bulk-ms.out" >&2; return 1; }
    # 1 (WARNING) is the plaintext login the plain run needs.
    ((rc <= 1)) || { cat "$T/bulk-ms.out" >&2; return 1; }
    report_run "$t0" "$t1"
}

# run_floor PROTO TLS -> "seconds peak_kib cpu_seconds"
run_floor() {
    start_server "$1" "$2"
    local t0 t1
    t0=$(now_ns)
    if [[ $2 == tls ]]; then
        commands "$1" | /usr/bin/time -v -o "$T/bulk-time.txt" openssl s_client -quiet \
            -connect "127.0.0.1:$SRV_PORT" -servername mail.test >/dev/null 2>&1 || true
    else
        commands "$1" >"$T/bulk-commands"
        /usr/bin/time -v -o "$T/bulk-time.txt" bash -c \
            'exec 3<>"/dev/tcp/127.0.0.1/$1"; cat "$2" >&3; cat <&3 >/dev/null' \
            _ "$SRV_PORT" "$T/bulk-commands" || true
    fi
    t1=$(now_ns)
    finish_server || return 1
    report_run "$t0" "$t1"
}

# faster OLD NEW -> the faster of two "seconds peak_kib cpu_seconds" runs
# (OLD may be empty). On a shared machine other processes only ever add time,
# so a side's fastest run is the closest to what the client itself costs.
faster() {
    if [[ -z $1 ]] || awk -v a="${2%% *}" -v b="${1%% *}" 'BEGIN { exit !(a < b) }'; then
        printf '%s\n' "$2"
    else
        printf '%s\n' "$1"
    fi
}
REPEAT=${BENCH_BULK_REPEAT:-3}
[[ -n ${BENCH_QUICK:-} ]] && REPEAT=1

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mbs() { awk -v s="$1" -v b="$BYTES" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

printf '\n## Huge replies (%s MiB each, best of %s runs; throughput mailscope / floor, target >= 0.9; peak RSS target < 32 MiB)\n\n' \
    $((BYTES / 1048576)) "$REPEAT"
table_row "reply" "floor MB/s" "mailscope MB/s" "throughput ratio (ms / floor)" "CPU ratio (ms / floor)" \
    "mailscope peak RSS MiB" "floor peak RSS MiB"
table_rule 7
for proto in imap pop3; do
    for tls in plain tls; do
        fbest="" mbest=""
        for ((i = 0; i < REPEAT; i++)); do   # interleaved: both see the same load
            run=$(run_floor "$proto" "$tls")
            fbest=$(faster "$fbest" "$run")
            run=$(run_mailscope "$proto" "$tls")
            mbest=$(faster "$mbest" "$run")
        done
        read -r ft fk fc <<<"$fbest"
        read -r mt mk mc <<<"$mbest"
        what="IMAP FETCH literal"
        [[ $proto == pop3 ]] && what="POP3 RETR body"
        floor="cat"
        [[ $tls == tls ]] && floor=s_client
        table_row "$what, $tls ($floor)" "$(mbs "$ft")" "$(mbs "$mt")" "$(ratio "$ft" "$mt")" \
            "$(ratio "$mc" "$fc")" "$(mib "$mk")" "$(mib "$fk")"
    done
done
cat <<'EOF'

floor: plain, cat reading the socket; TLS, openssl s_client -quiet; both to
/dev/null. throughput ratio: mailscope's bytes per wall second over the
floor's, each side's fastest of BENCH_BULK_REPEAT runs (the server shares the
machine, so single runs are noisy); CPU ratio: the
client's user + system CPU time, mailscope's over the floor's (steadier).
EOF
