#!/usr/bin/env bash
# mailscope logscan --tui end to end: the real binary in a detached tmux on a
# log the generator writes, driven with send-keys, read with capture-pane
# (the pattern of test_console.sh). Also the console's /log command feeding
# the Diagnosis tab. Run by ctest (scripts/test sets the environment).
set -uo pipefail

for v in MS_BIN MS_GEN_EXLOG MS_SCRIPTED_SERVER MS_SCENARIOS MS_TEST_PASSWORD; do
    [[ -n "${!v:-}" ]] || { echo "$v is not set: run through scripts/test"; exit 2; }
done

sock="mslogview-$$"
tmux_() { tmux -L "$sock" "$@"; }
work=$(mktemp -d /tmp/ms-logview.XXXXXX)
trap 'tmux_ kill-server 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0 current=""

screen() { tmux_ capture-pane -p -t ms 2>/dev/null; }

start() {
    tmux_ kill-session -t ms 2>/dev/null
    mkdir -p "$work/home"
    local cmd
    printf -v cmd '%q ' env HOME="$work/home" PW="$MS_TEST_PASSWORD" TERM=xterm-256color LANG=C.UTF-8 \
        "$MS_BIN" "$@"
    tmux_ new-session -d -s ms -x 120 -y 40 "$cmd 2>$work/stderr; echo EXIT=\$?; sleep 30"
}

wait_for() {
    local deadline=$((SECONDS + ${2:-8} * ${MS_SLOW_FACTOR:-1}))   # 10 under valgrind
    while ((SECONDS < deadline)); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    fail "the screen never showed: $1"
    return 1
}

keys() { tmux_ send-keys -t ms "$@"; }
line() { tmux_ send-keys -t ms -l -- "$1"; tmux_ send-keys -t ms Enter; }

fail() {
    echo "FAIL [$current]: $*"
    echo "----- screen -----"
    screen
    echo "------------------"
    current_failed=1
}

absent() { screen | grep -qF -- "$1" && fail "the screen shows what it must not: $1"; }

run() {
    current=$1 current_failed=0
    : > "$work/stderr"
    "$1"
    tmux_ kill-session -t ms 2>/dev/null
    sleep 0.3
    if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$work/stderr" 2>/dev/null; then
        fail "sanitizer report:"
        cat "$work/stderr"
    fi
    if ((current_failed)); then failed=$((failed + 1)); else passed=$((passed + 1)); echo "ok $1"; fi
}

# ---- tests -------------------------------------------------------------

"$MS_GEN_EXLOG" --sessions 3000 --fail-every 4 "$work/IMAP4_20261127-1.LOG" || exit 2

# A small log whose largest group is the founding case: the first row.
founding_log() {
    {
        printf '#Log-type: IMAP4 Log\r\n'
        printf '#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,parameters,context\r\n'
        for i in 1 2 3 4 5; do
            printf '2026-11-27T07:3%d:00.000Z,000000000000000%d,2,10.0.0.5:143,192.168.1.20:4000%d,alice,9,78,97,login,alice *****,"R=""a2 NO LOGIN failed."";Msg=Proxy:ex02.contoso.local:1993:SSL;ErrMsg=ProxyNotAuthenticated"\r\n' "$i" "$i" "$i"
        done
        printf '2026-11-27T08:00:00.000Z,0000000000000009,2,10.0.0.5:143,192.168.1.21:40009,bob,9,78,97,login,bob *****,"R=""a2 NO LOGIN failed."";ErrMsg=UserDisabled"\r\n'
    } > "$1"
}

browse_groups_and_open_one() {
    founding_log "$work/founding/IMAP4_20261127-1.LOG" 2>/dev/null ||
        { mkdir -p "$work/founding"; founding_log "$work/founding/IMAP4_20261127-1.LOG"; }
    start logscan --tui "$work/founding"
    wait_for "6 failures in 2 groups" || return
    wait_for "COUNT ERROR" || return
    wait_for "R-EXCH-004" || return
    keys Enter
    wait_for "Rule R-EXCH-001 (certain" || return
    wait_for "ProxyNotAuthenticated  (5 times, from ErrMsg)" || return
    wait_for "first seen 2026-11-27T07:31:00.000Z, last seen 2026-11-27T07:35:00.000Z" || return
    wait_for "Sample lines" || return
    wait_for "IMAP4_20261127-1.LOG:3" || return
    keys NPage
    wait_for "Set-ImapSettings -Server ex02 -X509CertificateName ex02.contoso.local" || return
    keys q
    wait_for "COUNT ERROR" || return
    keys Down Enter
    wait_for "Rule R-EXCH-004 (certain" || return
    wait_for "Set-CASMailbox -Identity bob -ImapEnabled" || return
    keys Escape
    wait_for "COUNT ERROR" || return
    keys q
    wait_for "EXIT=1" || return          # failures found
}

hostile_user_is_escaped() {
    start logscan --tui "$work"
    wait_for "COUNT ERROR" || return
    local i
    for ((i = 0; i < 40; i++)); do
        screen | grep -qF 'eve\x1b]0;pwned\x07' && break
        keys NPage
        sleep 0.1
    done
    wait_for 'eve\x1b]0;pwned\x07' || return
    keys q
    wait_for "EXIT=1" || return
}

no_failure_exits_0() {
    "$MS_GEN_EXLOG" --sessions 50 --fail-every 0 "$work/clean.log" || return
    start logscan --tui "$work/clean.log"
    wait_for "No failure in these logs." || return
    keys q
    wait_for "EXIT=0" || return
}

console_log_command_makes_the_diagnosis_certain() {
    cat > "$work/ex.log" <<'LOG'
#Log-type: IMAP4 Log
#Fields: dateTime,sessionId,seqNumber,sIp,cIp,user,duration,rqsize,rpsize,command,parameters,context
2026-11-27T07:30:46.994Z,0000000000000003,2,10.0.0.5:143,127.0.0.1:32258,alice,1196,78,97,login,alice *****,"R=""a002 NO LOGIN failed."";Msg=Proxy:ex02.contoso.local:1993:SSL;ErrMsg=ProxyNotAuthenticated"
LOG
    local port
    "$MS_SCRIPTED_SERVER" "$MS_SCENARIOS/logscan-exchange-login-failed.scn" >"$work/port" 2>"$work/srv.err" &
    local pid=$!
    for ((i = 0; i < 50; i++)); do [[ -s "$work/port" ]] && break; sleep 0.1; done
    port=$(awk '/^PORT/ { print $2 }' "$work/port")
    start "imap://alice@127.0.0.1:$port" --tls=none --auth=login --allow-plaintext-login \
        --no-discover --password-env PW
    wait_for "Exchange IMAP4 service is ready" || { kill "$pid" 2>/dev/null; return; }
    keys F5; keys F5
    wait_for "NO LOGIN failed." || { kill "$pid" 2>/dev/null; return; }
    line "/log $work/ex.log"
    wait_for "1 failure line of alice in" || { kill "$pid" 2>/dev/null; return; }
    wait_for "certain" || { kill "$pid" 2>/dev/null; return; }
    wait_for "R-EXCH-001" || { kill "$pid" 2>/dev/null; return; }
    line "/log $work/missing.log"
    wait_for "/log: " || { kill "$pid" 2>/dev/null; return; }
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

for t in browse_groups_and_open_one hostile_user_is_escaped no_failure_exits_0 \
         console_log_command_makes_the_diagnosis_certain; do
    run "$t"
done
echo "logview: $passed passed, $failed failed"
((failed == 0))
