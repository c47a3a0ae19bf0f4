#!/usr/bin/env bash
# Console at scale. Always: bench_textview, the transcript pane's code on a
# million lines without a terminal (CPU time per key, memory per line). When
# this mailscope has `replay`: a recording of BENCH_CONSOLE_LINES (default
# 1 000 000) received lines is generated (tests/bench/gen_recording.py, from
# a small real --record file), opened with `mailscope replay` in a private
# tmux server, and timed from the key sent to the screen showing its effect:
# tmux send-keys, then capture-pane polled until the expected text appears,
# BENCH_CONSOLE_REPS times, minus the same polling on a screen that already
# shows the text (the harness's own cost). Memory per line: the replay's
# VmRSS on the big file minus on a 10-line one, over the line count; the
# peak while loading (VmHWM) the same way, and the time to open (from the
# tmux session's start to the last line on the screen).
# MS_BENCH_REPLAY_BIN: another mailscope to run `replay` with (default: MS_BENCH_BIN).
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
bench_need MS_BENCH_BIN MS_BENCH_BUILD MS_BENCH_TMP

LINES_=${BENCH_CONSOLE_LINES:-1000000}
REPS=${BENCH_CONSOLE_REPS:-5}
[[ -n ${BENCH_QUICK:-} ]] && LINES_=100000 && REPS=3

"$MS_BENCH_BUILD/tests/bench/bench_textview" "$LINES_"

RB=${MS_BENCH_REPLAY_BIN:-$MS_BENCH_BIN}
help=$("$RB" --help 2>&1 || true)
if [[ $help != *"mailscope replay"* ]]; then
    printf '\n(console under tmux skipped: this mailscope has no `replay` subcommand yet;\n'
    printf ' the figures above are from the textview micro-benchmark)\n'
    exit 0
fi
bench_need MS_CERTS MS_BENCH_HOST MS_OPEN_IMAPS_PORT MS_TEST_USER MS_TEST_PASSWORD

T=$MS_BENCH_TMP
TM=(tmux -L msbench)
export BENCH_PW=$MS_TEST_PASSWORD
base=$T/console-base.json
"$MS_BENCH_BIN" probe "imaps://$MS_TEST_USER@$MS_BENCH_HOST:$MS_OPEN_IMAPS_PORT" \
    --password-env BENCH_PW --cafile "$MS_CERTS/root.pem" --servername mail.test \
    --record "$base" --output=nagios >/dev/null
python3 "$here/gen_recording.py" "$base" 10 >"$T/console-small.json"
python3 "$here/gen_recording.py" "$base" "$LINES_" >"$T/console-big.json"
if ! why=$("$RB" replay --check "$T/console-big.json" 2>&1); then
    # replay bounds the files it loads: take the most lines that fit.
    printf '\n(replay refuses %s lines: %s;\n so the tmux run uses %s lines)\n' "$LINES_" \
        "${why##*: }" "${BENCH_CONSOLE_FALLBACK_LINES:=150000}"
    LINES_=$BENCH_CONSOLE_FALLBACK_LINES
    python3 "$here/gen_recording.py" "$base" "$LINES_" >"$T/console-big.json"
fi

screen_has() { "${TM[@]}" capture-pane -p -t bench 2>/dev/null | grep -qF -- "$1"; }

# open FILE -> starts the replay in tmux and waits until its last line shows
open_replay() {
    "${TM[@]}" kill-session -t bench 2>/dev/null || true
    sleep 0.2
    "${TM[@]}" new-session -d -s bench -x 160 -y 48 "$RB replay $1"
    local i
    for ((i = 0; i < 3000; i++)); do
        screen_has "$2" && return 0
        sleep 0.1
    done
    printf 'bench_console: the replay did not show %s\n' "$2" >&2
    "${TM[@]}" capture-pane -p -t bench >&2 || true
    return 1
}

# rss_kib [VmRSS|VmHWM] -> the replay's resident memory now, or at its peak
rss_kib() {
    local pid
    pid=$("${TM[@]}" list-panes -t bench -F '#{pane_pid}')
    awk -v f="${1:-VmRSS}:" '$1 == f { print $2 }' "/proc/$pid/status"
}

# key_ms KEYS... [!]TEXT -> ms from send-keys until TEXT is on the screen
# (!TEXT: until it is gone)
key_ms() {
    local text=${*: -1}
    local -a keys=("${@:1:$#-1}")
    local t0 t1 i
    t0=$(now_ns)
    ((${#keys[@]})) && "${TM[@]}" send-keys -t bench "${keys[@]}"
    for ((i = 0; i < 20000; i++)); do
        if [[ $text == !* ]]; then
            screen_has "${text#!}" || break
        else
            screen_has "$text" && break
        fi
    done
    t1=$(now_ns)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'
}

open_replay "$T/console-small.json" "line 9 of the bench" || exit 1
small=$(rss_kib)
small_hwm=$(rss_kib VmHWM)
t_open=$(now_ns)
open_replay "$T/console-big.json" "line $((LINES_ - 1)) of the bench" || exit 1
t_open=$(awk -v a="$t_open" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
big=$(rss_kib)
big_hwm=$(rss_kib VmHWM)
# The polling's own cost: the text is already there.
poll=()
for ((r = 0; r < REPS; r++)); do poll+=("$(key_ms "line $((LINES_ - 1)) of the bench")"); done
"${TM[@]}" send-keys -t bench Tab   # focus: the transcript
end=() home=() pgdn=() search=()
for ((r = 0; r < REPS; r++)); do
    home+=("$(key_ms Home "line 0 of the bench")")
    pgdn+=("$(key_ms NPage "!line 0 of the bench")")
    end+=("$(key_ms End "line $((LINES_ - 1)) of the bench")")
    "${TM[@]}" send-keys -t bench Home
    screen_has "line 0 of the bench" || sleep 0.5
    search+=("$(key_ms / xyzzy Enter "FOUND-IT")")
done
# Stepping the replay back one event and forward again, at the very end.
"${TM[@]}" send-keys -t bench End
back=() fwd=()
for ((r = 0; r < REPS; r++)); do
    back+=("$(key_ms '[' "!line $((LINES_ - 1)) of the bench")")
    fwd+=("$(key_ms ']' "line $((LINES_ - 1)) of the bench")")
done
"${TM[@]}" kill-server 2>/dev/null || true
p=$(median "${poll[@]}")
minus() { awk -v a="$(median "$@")" -v b="$p" 'BEGIN { v = a - b; printf "%.1f", v < 0 ? 0 : v }'; }

printf '\n## Console at scale: mailscope replay in tmux (%s lines, 160x48, median of %s, polling %s ms subtracted)\n\n' \
    "$LINES_" "$REPS" "$p"
table_row "measure" "value" "target"
table_rule 3
table_row "Home" "$(minus "${home[@]}") ms" "< 16 ms"
table_row "PgDn" "$(minus "${pgdn[@]}") ms" "< 16 ms"
table_row "End" "$(minus "${end[@]}") ms" "< 16 ms"
table_row "search / for a line near the end" "$(minus "${search[@]}") ms" "< 100 ms"
table_row "[ then ] (one event back, then forward) at the end" "$(minus "${back[@]}") / $(minus "${fwd[@]}") ms" "< 16 ms"
per_line() { awk -v b="$1" -v s="$2" -v n="$LINES_" 'BEGIN { printf "%.0f", (b - s) * 1024 / n }'; }
table_row "memory per line (RSS big - small) / lines" "$(per_line "$big" "$small") bytes" "< 200 bytes"
table_row "peak while loading (VmHWM big - small) / lines" "$(per_line "$big_hwm" "$small_hwm") bytes" "—"
table_row "RSS after opening / peak" "$((big / 1024)) / $((big_hwm / 1024)) MiB" "—"
table_row "open: start to the last line shown" "$t_open s" "—"
