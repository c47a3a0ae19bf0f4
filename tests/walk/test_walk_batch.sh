#!/usr/bin/env bash
# mailscope walkthrough end to end, line-oriented (--batch): the session up to
# its failure, the diagnosis, the playbook's steps with the operator's answers
# scripted on stdin, the checks against scripted servers and the test Dovecot,
# the exit status, and the steps and outcomes in the recorded transcript.
# Run by ctest (scripts/test sets the environment).
set -uo pipefail

for v in MS_BIN MS_CERTS MS_TEST_PASSWORD MS_DOVECOT_HOST MS_OPEN_IMAPS_PORT MS_STRICT_IMAP_PORT \
         MS_SCRIPTED_SERVER MS_SCENARIOS; do
    [[ -n "${!v:-}" ]] || { echo "$v is not set: run through scripts/test"; exit 2; }
done

work=$(mktemp -d /tmp/ms-walk.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
export PW=$MS_TEST_PASSWORD HOME=$work/home
mkdir -p "$HOME"
passed=0 failed=0 current="" current_failed=0

fail() {
    echo "FAIL [$current]: $*"
    current_failed=1
}
expect_in() {   # expect_in FILE TEXT
    grep -qF -- "$2" "$1" || { fail "$1 lacks: $2"; sed 's/^/    | /' "$1" | head -80; }
}
expect_not_in() {
    grep -qF -- "$2" "$1" && fail "$1 has what it must not: $2"
}
expect_rc() {   # expect_rc GOT WANT
    [[ $1 == "$2" ]] || { fail "exit status $1, expected $2"; tail -25 "$work/out" | sed 's/^/    | /'; }
}
# walk_event JSON REF OUTCOME [TEXT]: the recorded transcript holds that step event.
walk_event() {
    local n
    n=$(jq --arg r "$2" --arg o "$3" --arg t "${4:-}" \
        '[.events[] | select(.kind == "walk" and .ref == $r and .outcome == $o
                             and (.message | contains($t)))] | length' "$1" 2>/dev/null)
    [[ ${n:-0} -ge 1 ]] || { fail "no walk event $2 $3 ${4:-}";
                            jq -c '.events[] | select(.kind == "walk") | [.ref, .outcome, .message]' "$1" | cut -c1-160; }
}

# scripted SCENARIO: start the scripted server with the test chain; sets $port.
scripted() {
    local out=$work/scripted.$RANDOM
    "$MS_SCRIPTED_SERVER" --timeout 30 --cert "$MS_CERTS/chain.pem" --key "$MS_CERTS/leaf.key" \
        "$MS_SCENARIOS/$1" > "$out" 2> "$out.err" &
    pids+=($!)
    for _ in $(seq 50); do
        port=$(awk '/^PORT/ {print $2}' "$out")
        [[ -n $port ]] && return 0
        sleep 0.1
    done
    fail "the scripted server did not start"
    return 1
}

run() {
    current=$1 current_failed=0
    "$1"
    if grep -qsE "AddressSanitizer|LeakSanitizer|runtime error" "$work"/*.err; then
        fail "sanitizer report:"
        cat "$work"/*.err
    fi
    rm -f "$work"/*.err
    if ((current_failed)); then failed=$((failed + 1)); else passed=$((passed + 1)); echo "ok $1"; fi
}

trust=(--cafile "$MS_CERTS/root.pem" --servername mail.test)

# ---- tests ------------------------------------------------------------------

# The founding case against the scripted Exchange: the diagnosis picks
# exchange-proxy-cert, the cert-name check fails on the diagnosed session's
# certificate (mail.test, not EX01.contoso.local), the backend does not
# answer, the fix commands come filled in; the re-test cannot pass (the
# scripted server takes one connection), so the run ends unresolved: exit 1.
founding_case_unresolved_with_steps_recorded() {
    scripted diag-exchange-cert-bound.scn || return
    printf '%s\n' "maybe" "yes OWA works for alice" "done X509CertificateName is mail.test" \
        "done" "done restarted both" "failed no ErrMsg seen" |
        "$MS_BIN" walkthrough auto "imap://alice@127.0.0.1:$port" --password-env PW \
            --auth=login "${trust[@]}" --backend-port 1 --record "$work/t.json" \
            > "$work/out" 2> "$work/walk.err"
    expect_rc $? 1
    local o=$work/out
    expect_in "$o" "The session: FAILED: login refused: NO LOGIN failed."
    expect_in "$o" "[R-EXCH-001]"
    expect_in "$o" "Playbook exchange-proxy-cert follows R-EXCH-001."
    expect_in "$o" "'maybe' is not an answer here: yes, no, unknown"
    expect_in "$o" "does not carry the server's own name EX01.contoso.local"
    expect_in "$o" "Look at what answers on the backend port 1 of 127.0.0.1"   # --backend-port fills the text
    expect_in "$o" "      Get-ImapSettings -Server EX01 | Format-List X509CertificateName,LoginType"
    expect_in "$o" "      Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local"
    expect_in "$o" "      Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE"
    expect_in "$o" "Walkthrough exchange-proxy-cert: unresolved"
    local j=$work/t.json
    [[ -s $j ]] || { fail "no --record file"; return; }
    walk_event "$j" exchange-proxy-cert started
    walk_event "$j" exchange-proxy-cert/owa answer "yes: OWA works for alice"
    walk_event "$j" exchange-proxy-cert/cert-name failed "EX01.contoso.local"
    walk_event "$j" exchange-proxy-cert/backend failed "backend port 1"
    walk_event "$j" exchange-proxy-cert/settings done "X509CertificateName is mail.test"
    walk_event "$j" exchange-proxy-cert/set-name command \
        "Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local"
    walk_event "$j" exchange-proxy-cert/set-name note "Trade-off"
    walk_event "$j" exchange-proxy-cert/restart done "restarted both"
    walk_event "$j" exchange-proxy-cert/retest failed "login as alice failed"
    walk_event "$j" exchange-proxy-cert/log failed "no ErrMsg seen"
    walk_event "$j" exchange-proxy-cert unresolved
    expect_not_in "$j" "$MS_TEST_PASSWORD"
}

# End of input stops the walk (exit 2), recorded as stopped.
end_of_input_stops() {
    scripted diag-exchange-cert-bound.scn || return
    printf 'yes\n' | "$MS_BIN" walkthrough exchange-proxy-cert "imap://alice@127.0.0.1:$port" \
        --password-env PW --auth=login "${trust[@]}" --backend-port 1 --batch \
        --record "$work/s.json" > "$work/out" 2> "$work/walk.err"
    expect_rc $? 2
    expect_in "$work/out" "Walkthrough exchange-proxy-cert: stopped"
    walk_event "$work/s.json" exchange-proxy-cert stopped "end of input"
}

# Plain-text login against the strict Dovecot: the diagnosis picks
# dovecot-cleartext, the starttls check passes for real, the operator says the
# client cannot use TLS, does the server actions, and the re-test (still
# without TLS, the server unchanged) fails: exit 1.
dovecot_cleartext_with_real_checks() {
    printf '%s\n' no 2.3 done done |
        "$MS_BIN" walkthrough auto "imap://alice@$MS_DOVECOT_HOST:$MS_STRICT_IMAP_PORT" \
            --password-env PW --tls=none --allow-plaintext-login --auth=login "${trust[@]}" \
            --record "$work/d.json" > "$work/out" 2> "$work/walk.err"
    expect_rc $? 1
    local o=$work/out
    expect_in "$o" "Playbook dovecot-cleartext follows"
    expect_in "$o" "[1] dovecot-cleartext/tls  check starttls"
    expect_in "$o" "-> passed: port $MS_STRICT_IMAP_PORT: TLSv1."
    expect_in "$o" "      echo 'disable_plaintext_auth = no' >> /etc/dovecot/conf.d/10-auth.conf"
    expect_in "$o" "      doveadm reload"
    expect_in "$o" "Walkthrough dovecot-cleartext: unresolved"
    walk_event "$work/d.json" dovecot-cleartext/tls passed "verified"
    walk_event "$work/d.json" dovecot-cleartext/client-tls answer "no"
    walk_event "$work/d.json" dovecot-cleartext/retest failed
}

# A playbook by name whose checks pass: the chain verifies and the re-test
# logs in over implicit TLS: resolved, exit 0.
resolved_run_exits_zero() {
    printf '' | "$MS_BIN" walkthrough incomplete-chain \
        "imaps://alice@$MS_DOVECOT_HOST:$MS_OPEN_IMAPS_PORT" --password-env PW "${trust[@]}" \
        --record "$work/r.json" > "$work/out" 2> "$work/walk.err"
    expect_rc $? 0
    expect_in "$work/out" "The session: OK"
    expect_in "$work/out" "-> passed: login as alice succeeded"
    expect_in "$work/out" "Walkthrough incomplete-chain: resolved (the re-test passed)"
    walk_event "$work/r.json" incomplete-chain/chain passed
    walk_event "$work/r.json" incomplete-chain/retest passed "succeeded"
    walk_event "$work/r.json" incomplete-chain resolved
}

# The re-test logs in with other credentials when told to (after a new app
# password, a switch to OAuth): the session fails with the old password, the
# re-test passes with --retest-password-env.
retest_with_new_credentials() {
    BAD=wrong-password "$MS_BIN" walkthrough gmail-app-password \
        "imaps://alice@$MS_DOVECOT_HOST:$MS_OPEN_IMAPS_PORT" --password-env BAD \
        --retest-password-env PW --retest-auth plain "${trust[@]}" --batch \
        > "$work/out" 2> "$work/walk.err" <<< $'no\nyes\ndone created one'
    expect_rc $? 0
    expect_in "$work/out" "The session: FAILED"
    expect_in "$work/out" "      https://myaccount.google.com/apppasswords"
    expect_in "$work/out" "-> passed: login as alice succeeded"
    expect_not_in "$work/out" "$MS_TEST_PASSWORD"
    "$MS_BIN" walkthrough gmail-app-password imap://127.0.0.1:1 --retest-auth nonsense \
        < /dev/null > "$work/out" 2> "$work/e.txt"
    expect_rc $? 3
    expect_in "$work/e.txt" "--retest-auth takes a mechanism"
    "$MS_BIN" walkthrough gmail-app-password imap://127.0.0.1:1 --retest-password-env UNSET_VAR_X \
        < /dev/null > "$work/out" 2> "$work/e.txt"
    expect_rc $? 3
}

# The tls-versions check against Dovecot (TLS 1.2 and 1.3 accepted), and a
# user's playbook from playbooks.d with the connect check.
tls_versions_and_a_user_playbook() {
    printf 'no\n' | "$MS_BIN" walkthrough tls-version \
        "imaps://alice@$MS_DOVECOT_HOST:$MS_OPEN_IMAPS_PORT" --password-env PW "${trust[@]}" \
        > "$work/out" 2> "$work/walk.err"
    expect_rc $? 0
    expect_in "$work/out" "[1] tls-version/versions  check tls-versions"
    expect_in "$work/out" "-> passed: accepts "
    expect_in "$work/out" "TLSv1.3"
    mkdir -p "$HOME/.config/mailscope/playbooks.d"
    printf '%s\n' 'playbook reach' 'title: Can {host} be reached?' 'follows: R-NET-REFUSED' \
        'step up check connect' 'text: Connect to {host}:{port}.' 'pass: retest' 'fail: down' \
        'step down action' 'text: Start the service.' 'command: systemctl start dovecot' \
        'step retest retest' 'text: Log in as {user}.' \
        > "$HOME/.config/mailscope/playbooks.d/reach.playbook"
    "$MS_BIN" walkthrough reach "imap://alice@$MS_DOVECOT_HOST:$MS_OPEN_IMAP_PORT" \
        --password-env PW "${trust[@]}" < /dev/null > "$work/out" 2> "$work/walk.err"
    expect_rc $? 0
    expect_in "$work/out" "-> passed: $MS_DOVECOT_HOST:$MS_OPEN_IMAP_PORT answers: * OK"
    expect_in "$work/out" "Walkthrough reach: Can $MS_DOVECOT_HOST be reached?"
    "$MS_BIN" walkthrough auto "imap://alice@127.0.0.1:1" --password-env PW \
        < /dev/null > "$work/out" 2> "$work/walk.err"
    expect_rc $? 2
    expect_in "$work/out" "Playbook reach follows R-NET-REFUSED."
    expect_in "$work/out" "-> FAILED: 127.0.0.1:1: cannot connect"
    expect_in "$work/out" "      systemctl start dovecot"
    rm -rf "$HOME/.config"
}

# The sni check in a user's playbook: the test Dovecot's local_name block
# gives a client without SNI another certificate than one asking for
# other.test (fails), and the same one as one asking for mail.test (passes).
sni_check_in_a_user_playbook() {
    mkdir -p "$HOME/.config/mailscope/playbooks.d"
    printf '%s\n' 'playbook sni-default' 'title: Does a client without SNI get a certificate?' \
        'follows: R-CERT-008' 'source: tests' 'step same check sni' 'text: With and without SNI.' \
        > "$HOME/.config/mailscope/playbooks.d/sni.playbook"
    "$MS_BIN" walkthrough sni-default "imaps://$MS_DOVECOT_HOST:$MS_OPEN_IMAPS_PORT" \
        --cafile "$MS_CERTS/root.pem" --servername other.test < /dev/null > "$work/out" 2> "$work/walk.err"
    expect_in "$work/out" "[1] sni-default/same  check sni"
    expect_in "$work/out" "-> FAILED: the certificate depends on SNI: with SNI other.test"
    expect_in "$work/out" "a client without SNI gets \"mail.test\", which does not cover other.test"
    "$MS_BIN" walkthrough sni-default "imaps://$MS_DOVECOT_HOST:$MS_OPEN_IMAPS_PORT" \
        --cafile "$MS_CERTS/root.pem" --servername mail.test < /dev/null > "$work/out" 2> "$work/walk.err"
    expect_in "$work/out" "-> passed: the same certificate \"mail.test\" with and without SNI"
    rm -rf "$HOME/.config"
}

# Without a failure there is nothing for auto to follow; unknown names,
# usage errors: exit 3 with a message.
usage_and_unknown_playbooks() {
    "$MS_BIN" walkthrough auto "imaps://alice@$MS_DOVECOT_HOST:$MS_OPEN_IMAPS_PORT" \
        --password-env PW "${trust[@]}" < /dev/null > "$work/out" 2> "$work/e1.txt"
    expect_rc $? 3
    expect_in "$work/e1.txt" "nothing failed, so no playbook is chosen"
    "$MS_BIN" walkthrough no-such-book imap://127.0.0.1:1 < /dev/null > "$work/out" \
        2> "$work/e2.txt"
    expect_rc $? 3
    expect_in "$work/e2.txt" "no playbook 'no-such-book' (mailscope walkthrough --list)"
    "$MS_BIN" walkthrough exchange-proxy-cert < /dev/null > "$work/out" 2> "$work/e3.txt"
    expect_rc $? 3
    expect_in "$work/e3.txt" "usage: mailscope walkthrough"
    "$MS_BIN" walkthrough exchange-proxy-cert imap://127.0.0.1:1 --backend-port 0 \
        < /dev/null > "$work/out" 2> "$work/e4.txt"
    expect_rc $? 3
    expect_in "$work/e4.txt" "--backend-port takes a port number"
}

list_and_check() {
    "$MS_BIN" walkthrough --list > "$work/out" 2> "$work/l.err"
    expect_rc $? 0
    expect_in "$work/out" "exchange-proxy-cert"
    expect_in "$work/out" "R-EXCH-001"
    expect_in "$work/out" "9 playbooks"
    printf 'playbook mine\ntitle: Mine\nfollows: R-EXCH-013\nstep r retest\ntext: again {user}\n' \
        > "$work/good.playbook"
    printf 'playbook bad\ntitle: Bad\nstep q question\ntext: ?\nanswer yes: nowhere\nanswer no: end\n' \
        > "$work/bad.playbook"
    "$MS_BIN" walkthrough --check "$work/good.playbook" > "$work/out" 2> "$work/c.txt"
    expect_rc $? 0
    expect_in "$work/out" "good.playbook: 1 playbooks, OK"
    "$MS_BIN" walkthrough --check "$work/bad.playbook" > "$work/out" 2> "$work/c.txt"
    expect_rc $? 3
    expect_in "$work/c.txt" "bad.playbook:5: no step 'nowhere' in playbook bad"
    # a user playbook is listed; a refused one is named
    mkdir -p "$HOME/.config/mailscope/playbooks.d"
    cp "$work/good.playbook" "$work/bad.playbook" "$HOME/.config/mailscope/playbooks.d/"
    "$MS_BIN" walkthrough --list > "$work/out" 2> "$work/c.txt"
    expect_rc $? 3
    expect_in "$work/out" "mine"
    expect_in "$work/out" "10 playbooks"
    expect_in "$work/c.txt" "bad.playbook:5:"
    rm -rf "$HOME/.config"
}

run founding_case_unresolved_with_steps_recorded
run end_of_input_stops
run dovecot_cleartext_with_real_checks
run resolved_run_exits_zero
run retest_with_new_credentials
run tls_versions_and_a_user_playbook
run sni_check_in_a_user_playbook
run usage_and_unknown_playbooks
run list_and_check

echo "walkthrough batch tests: $passed passed, $failed failed"
((failed == 0))
