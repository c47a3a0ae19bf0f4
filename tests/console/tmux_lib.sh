# tmux_lib.sh — the harness the console's end-to-end tests share: the real
# binary in a detached tmux, driven with send-keys, read with capture-pane.
# Source it after setting:  sock (tmux socket name), work (a scratch dir),
# and optionally cols/rows (window size, default 160x48) and pane_tail (a
# command run after the binary exits, e.g. to show its exit status).
# Provides: tmux_ screen start wait_for keys line fail absent run, and the
# counters passed/failed/current.

tmux_() { tmux -L "$sock" "$@"; }
trap 'tmux_ kill-server 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0 current=""

screen() { tmux_ capture-pane -p -t ms 2>/dev/null; }

# start ARGS...: the binary in a fresh window, HOME in the work dir.
start() {
    tmux_ kill-session -t ms 2>/dev/null
    mkdir -p "$work/home"
    local cmd
    printf -v cmd '%q ' env HOME="$work/home" PW="$MS_TEST_PASSWORD" TERM=xterm-256color LANG=C.UTF-8 \
        "$MS_BIN" "$@"
    tmux_ new-session -d -s ms -x "${cols:-160}" -y "${rows:-48}" \
        "$cmd 2>$work/stderr; ${pane_tail:-true}; sleep 30"
}

# wait_for TEXT [SECONDS]: until the screen shows TEXT (SECONDS times
# MS_SLOW_FACTOR, which is 10 under scripts/test --valgrind).
wait_for() {
    local deadline=$((SECONDS + ${2:-8} * ${MS_SLOW_FACTOR:-1}))
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

# run TEST: one test function, then a check of stderr for sanitizer reports.
run() {
    current=$1 current_failed=0
    : > "$work/stderr"
    "$1"
    tmux_ kill-session -t ms 2>/dev/null
    sleep 0.3   # the binary leaves on SIGHUP; sanitizer reports land in stderr
    if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$work/stderr" 2>/dev/null; then
        fail "sanitizer report:"
        cat "$work/stderr"
    fi
    if ((current_failed)); then failed=$((failed + 1)); else passed=$((passed + 1)); echo "ok $1"; fi
}
