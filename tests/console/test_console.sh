#!/usr/bin/env bash
# End-to-end tests of the console: the real binary in a detached tmux,
# driven with send-keys, read with capture-pane, against the test Dovecot
# and the scripted server. Run by ctest (scripts/test sets the environment).
set -uo pipefail

for v in MS_BIN MS_CERTS MS_TEST_PASSWORD MS_DOVECOT_HOST MS_OPEN_IMAP_PORT MS_OPEN_IMAPS_PORT \
         MS_OPEN_POP3_PORT MS_SCRIPTED_SERVER MS_SCENARIOS; do
    [[ -n "${!v:-}" ]] || { echo "$v is not set: run through scripts/test"; exit 2; }
done

sock="mstest-$$"
work=$(mktemp -d /tmp/ms-console.XXXXXX)
# shellcheck source=tests/console/tmux_lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/tmux_lib.sh"
host=$MS_DOVECOT_HOST
trust=(--cafile "$MS_CERTS/root.pem" --servername mail.test)

# ---- tests -------------------------------------------------------------

imap_starttls_session_step_by_step() {
    start "imap://alice@$host:$MS_OPEN_IMAP_PORT" "${trust[@]}" --password-env PW
    wait_for "Dovecot (Debian) ready." || return
    wait_for "F5: STARTTLS" || return
    keys F5; wait_for "TLSv1.3 established" || return
    wait_for "F5: CAPABILITY + ID NIL" || return   # the ID rides along: no round trip
    keys F5; wait_for "a002 CAPABILITY" || return
    wait_for "i001 OK ID completed." || return
    keys F5; wait_for "a003 AUTHENTICATE PLAIN *****" || return
    wait_for "login: OK" || return
    keys F5; wait_for "a004 EXAMINE INBOX" || return
    wait_for "2 EXISTS" || return
    keys F5; wait_for "a005 LOGOUT" || return
    wait_for "connection closed" || return
    wait_for "#0 CN=mail.test" || return          # the Chain tab, side by side
    wait_for "Chain verified" || return
    absent "$MS_TEST_PASSWORD"
}

pop3_stls_session_step_by_step() {
    start "pop3://alice@$host:$MS_OPEN_POP3_PORT" "${trust[@]}" --password-env PW
    wait_for "+OK Dovecot" || return
    keys F5; wait_for "C: CAPA" || return
    keys F5; wait_for "TLSv1.3 established" || return
    keys F5; wait_for "F5: USER alice, PASS *****" || return
    keys F5; wait_for "C: PASS *****" || return
    wait_for "login: +OK" || return
    keys F5; wait_for "C: STAT" || return
    wait_for "+OK 2 " || return
    keys F5; wait_for "C: QUIT" || return
    wait_for "#0 CN=mail.test" || return
    absent "$MS_TEST_PASSWORD"
}

password_prompt_and_history() {
    start "imaps://$host:$MS_OPEN_IMAPS_PORT" "${trust[@]}"
    wait_for "Dovecot (Debian) ready." || return
    line "/login alice"
    wait_for "Password:" || return
    tmux_ send-keys -t ms -l -- "$MS_TEST_PASSWORD"
    wait_for "Password: *" || return
    absent "$MS_TEST_PASSWORD"
    keys Enter
    wait_for "LOGIN alice *****" || return
    wait_for "login: OK" || return
    absent "$MS_TEST_PASSWORD"
    line "/quit"
    sleep 0.5
    [[ -f "$work/home/.mailscope_history" ]] || { fail "no history file was written"; return; }
    grep -qF -- "/login alice" "$work/home/.mailscope_history" || fail "history lacks /login alice"
    grep -qF -- "$MS_TEST_PASSWORD" "$work/home/.mailscope_history" && fail "the password is in the history"
}

# A typed password that was refused is not silently sent again: /login asks.
typed_password_is_asked_again() {
    start "imaps://$host:$MS_OPEN_IMAPS_PORT" "${trust[@]}"
    wait_for "Dovecot (Debian) ready." || return
    line "/login alice"
    wait_for "Password:" || return
    tmux_ send-keys -t ms -l -- "not-the-password"
    keys Enter
    wait_for "a001 NO" || return
    line "/login alice"
    wait_for "Password:" || return
    tmux_ send-keys -t ms -l -- "$MS_TEST_PASSWORD"
    keys Enter
    wait_for "a002 LOGIN alice *****" || return
    wait_for "login: OK" || return
    absent "$MS_TEST_PASSWORD"
    absent "not-the-password"
}

raw_lines_are_auto_tagged() {
    start "imaps://alice@$host:$MS_OPEN_IMAPS_PORT" "${trust[@]}" --password-env PW
    wait_for "Dovecot (Debian) ready." || return
    line "NOOP"
    wait_for "C: a001 NOOP" || return
    wait_for "S: a001 OK NOOP completed" || return
    line "x1 CAPABILITY"
    wait_for "C: x1 CAPABILITY" || return
    wait_for "S: x1 OK" || return
    line "LOGIN alice $MS_TEST_PASSWORD"
    wait_for "C: a002 LOGIN alice *****" || return
    wait_for "a002 OK" || return
    absent "$MS_TEST_PASSWORD"
    grep -qF -- "$MS_TEST_PASSWORD" "$work/home/.mailscope_history" 2>/dev/null &&
        fail "a typed LOGIN line went into the history"
    return 0
}

plaintext_login_asks_first() {
    start "imap://alice@$host:$MS_OPEN_IMAP_PORT" --tls=none --password-env PW
    wait_for "Dovecot (Debian) ready." || return
    wait_for "PLAINTEXT" || return
    line "/login"
    wait_for "NOT encrypted" || return
    line "no"
    wait_for "cancelled" || return
    absent "a001 LOGIN"
    line "/login"
    wait_for "NOT encrypted" || return
    line "yes"
    wait_for "a001 LOGIN alice *****" || return
    wait_for "login: OK" || return
    wait_for "credentials are being sent UNENCRYPTED" || return
}

resize_keeps_every_pane() {
    start "imaps://alice@$host:$MS_OPEN_IMAPS_PORT" "${trust[@]}" --password-env PW
    wait_for "Dovecot (Debian) ready." || return
    tmux_ resize-window -t ms -x 100 -y 30; sleep 0.3
    wait_for "Chain TLS Caps" || return
    wait_for "F1 help" || return
    wait_for "Connect" || return
    tmux_ resize-window -t ms -x 70 -y 20; sleep 0.3
    wait_for "at least 80x24" || return
    tmux_ resize-window -t ms -x 160 -y 48; sleep 0.3
    wait_for "Chain TLS Caps" || return
    wait_for "Dovecot (Debian) ready." || return
    wait_for "F1 help" || return
}

help_overlay_lists_commands() {
    start
    wait_for "not connected" || return
    keys F1
    wait_for "/connect" || return
    wait_for "/walkthrough" || return
    wait_for "Tab / Shift-Tab" || return
    keys Space
    sleep 0.3
    absent "Tab / Shift-Tab"
}

hostile_greeting_is_escaped() {
    local port pid
    coproc SRV { exec "$MS_SCRIPTED_SERVER" --timeout 20 "$MS_SCENARIOS/imap-hostile-console.scn"; }
    pid=$SRV_PID
    read -r _ port <&"${SRV[0]}"
    start "imap://127.0.0.1:$port"
    wait_for 'Evil' || { kill "$pid" 2>/dev/null; return; }
    wait_for '\x1b[31mEvil\x1b]52;c;ZXZpbA==\x07' || { kill "$pid"; return; }
    wait_for '<U+202E>gnp.exe \x9b2J\rTLS OK' || { kill "$pid"; return; }
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

completion_and_edit_step() {
    start "imaps://alice@$host:$MS_OPEN_IMAPS_PORT" "${trust[@]}" --password-env PW
    wait_for "Dovecot (Debian) ready." || return
    tmux_ send-keys -t ms -l "/capa"; keys Tab
    wait_for "> /capability" || return
    keys C-u
    tmux_ send-keys -t ms -l "/c"; keys Tab Tab
    wait_for "/capability  /chain  /clear  /compare  /connect" || return
    keys C-c
    keys F6
    wait_for "> /login alice" || return     # the login step: /login, no password typed
    keys Enter
    wait_for "login: OK" || return
    keys F6
    wait_for "> EXAMINE INBOX" || return
    keys Enter
    wait_for "C: a002 EXAMINE INBOX" || return
    wait_for "F5: LOGOUT" || return
}

literal_is_summarised_and_viewable() {
    start "imaps://alice@$host:$MS_OPEN_IMAPS_PORT" "${trust[@]}" --password-env PW
    wait_for "Dovecot (Debian) ready." || return
    keys F5; wait_for "login: OK" || return
    keys F5; wait_for "select: OK" || return
    line "FETCH 1 BODY.PEEK[]"
    wait_for "bytes}  (v in the transcript: view)" || return
    absent "Message-ID"                  # the body is summarised, not dumped
    keys Tab v
    wait_for "Literal of" || return
    wait_for "Subject:" || return
    keys q
    sleep 0.3
    absent "Literal of"
}

big_literal_is_paged_from_the_spill_file() {
    local port pid
    coproc SRV { exec "$MS_SCRIPTED_SERVER" --timeout 30 --cert "$MS_CERTS/chain.pem" \
        --key "$MS_CERTS/leaf.key" "$MS_SCENARIOS/console-bulk-literal.scn"; }
    pid=$SRV_PID
    read -r _ port <&"${SRV[0]}"
    start "imaps://bulk@127.0.0.1:$port" "${trust[@]}" --password-env PW --spill-max 2M
    wait_for "bulk server ready" || { kill "$pid" 2>/dev/null; return; }
    keys F5; wait_for "login: OK" || { kill "$pid" 2>/dev/null; return; }
    line "FETCH 1 BODY[]"
    wait_for "{3 145 728 bytes}" || { kill "$pid" 2>/dev/null; return; }
    keys Tab v
    # --spill-max 2M keeps two of the three MiB: two pages, and the viewer says why.
    wait_for "bytes 0-1048576, page 1 of 2" || { kill "$pid" 2>/dev/null; return; }
    wait_for "the rest beyond --spill-max was only counted" || { kill "$pid" 2>/dev/null; return; }
    wait_for "bulk line 000003: the quick brown fox" || { kill "$pid" 2>/dev/null; return; }
    keys "]"
    wait_for "bytes 1048576-2097152, page 2 of 2" || { kill "$pid" 2>/dev/null; return; }
    keys "["
    wait_for "page 1 of 2" || { kill "$pid" 2>/dev/null; return; }
    keys q
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

save_and_record_without_credentials() {
    start "imap://alice@$host:$MS_OPEN_IMAP_PORT" "${trust[@]}" --password-env PW \
        --record "$work/rec.json"
    wait_for "Dovecot (Debian) ready." || return
    keys F5; wait_for "TLSv1.3 established" || return
    keys F5; wait_for "a002 CAPABILITY" || return
    keys F5; wait_for "login: OK" || return
    line "/note ran Set-ImapSettings on EX01"
    wait_for "note: ran Set-ImapSettings on EX01" || return
    line "/save $work/saved.txt"
    wait_for "saved the session to" || return
    line "/chain save $work/chain.pem"
    wait_for "saved 2 certificate(s)" || return
    line "/quit"
    local i
    # --record writes at exit: wait for the whole document (its last brace).
    for i in $(seq $((50 * ${MS_SLOW_FACTOR:-1}))); do
        [[ -s "$work/rec.json" ]] && [[ $(tail -c 2 "$work/rec.json") == *"}"* ]] && break
        sleep 0.1
    done
    [[ -s "$work/rec.json" ]] || { fail "--record wrote nothing"; return; }
    grep -q '"mailscope.transcript/2"' "$work/rec.json" || fail "the recording has no schema"
    grep -qF "Set-ImapSettings" "$work/rec.json" || fail "the operator's note is not recorded"
    grep -qF "AUTHENTICATE PLAIN *****" "$work/saved.txt" || fail "the saved text lacks the login"
    [[ $(grep -c "BEGIN CERTIFICATE" "$work/chain.pem") == 2 ]] || fail "chain.pem lacks the chain"
    local f
    for f in "$work/rec.json" "$work/saved.txt"; do
        grep -qF -- "$MS_TEST_PASSWORD" "$f" && fail "the password is in $f"
    done
    return 0
}

# /save writes every format with the same writers as --record; --redact-user
# hides the user everywhere, also in the operator's own note.
save_every_format_with_redacted_user() {
    start "imap://alice@$host:$MS_OPEN_IMAP_PORT" "${trust[@]}" --password-env PW --redact-user
    wait_for "ready." || return
    keys F5; wait_for "TLSv1.3 established" || return
    keys F5; wait_for "a002 CAPABILITY" || return
    keys F5; wait_for "login: OK" || return
    absent "alice"
    line "/note checked the mailbox of alice on EX01"
    wait_for "note: checked the mailbox" || return
    local ext
    for ext in txt md html; do
        line "/save $work/s.$ext"
        wait_for "saved the session to $work/s.$ext" || return
    done
    line "/save $work/s.pdf"
    wait_for ".txt, .md, .html or .json" || return
    grep -qF "NOTE checked the mailbox of <user> on EX01" "$work/s.txt" ||
        fail "the .txt lacks the note (with the user hidden)"
    grep -qF "## Operator notes" "$work/s.md" || fail "the .md has no notes section"
    grep -qF "<h2>Operator notes</h2>" "$work/s.html" || fail "the .html has no notes section"
    grep -qF "passwords, SASL payloads, user names" "$work/s.txt" || fail "the header does not say what was redacted"
    grep -qF "&lt;user&gt;" "$work/s.html" || fail "the .html does not show <user>"
    local f
    for f in "$work/s.txt" "$work/s.md" "$work/s.html"; do
        grep -qF -- "$MS_TEST_PASSWORD" "$f" && fail "the password is in $f"
        grep -qF -- "alice" "$f" && fail "the user name is in $f"
    done
    return 0
}

compare_in_the_console() {
    start "imap://alice@$host:$MS_OPEN_IMAP_PORT" "${trust[@]}" \
        --ports "imap=$MS_OPEN_IMAP_PORT,imaps=$MS_OPEN_IMAPS_PORT"
    wait_for "Dovecot (Debian) ready." || return
    line "/compare"
    wait_for "IMAP STARTTLS :$MS_OPEN_IMAP_PORT" || return
    wait_for "IMAPS :$MS_OPEN_IMAPS_PORT" || return
    wait_for "Certificates (1)" || return     # the same certificate on both ports
}

sni_in_the_console() {
    start "imaps://$host:$MS_OPEN_IMAPS_PORT" --cafile "$MS_CERTS/root.pem" --servername other.test
    wait_for "Dovecot (Debian) ready." || return
    line "/sni"
    wait_for "with SNI other.test" || return
    wait_for "IMAP WARNING: the certificate depends on SNI" || return
    wait_for "[R-CERT-008]" || return
}

chain_tab_shows_an_expired_certificate() {
    local port pid
    coproc SRV { exec "$MS_SCRIPTED_SERVER" --timeout 20 --cert "$MS_CERTS/expired-chain.pem" \
                      --key "$MS_CERTS/leaf.key" "$MS_SCENARIOS/cert-tls-greet.scn"; }
    pid=$SRV_PID
    read -r _ port <&"${SRV[0]}"
    start "imaps://127.0.0.1:$port" "${trust[@]}" --insecure
    wait_for "certificate NOT verified" || { kill "$pid" 2>/dev/null; return; }
    wait_for "Chain NOT verified" || { kill "$pid" 2>/dev/null; return; }
    wait_for "problem: expired" || { kill "$pid" 2>/dev/null; return; }
    wait_for "TLS UNVERIFIED" || { kill "$pid" 2>/dev/null; return; }
    wait_for "unknown mail.test" || { kill "$pid" 2>/dev/null; return; }   # named by its greeting
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

search_in_transcript() {
    start "imaps://alice@$host:$MS_OPEN_IMAPS_PORT" "${trust[@]}" --password-env PW
    wait_for "Dovecot (Debian) ready." || return
    keys Tab              # empty command line: the focus moves to the transcript
    keys /
    wait_for "Search:" || return
    tmux_ send-keys -t ms -l "no such text"; keys Enter
    wait_for "not found: no such text" || return
    keys /
    tmux_ send-keys -t ms -l "Dovecot"; keys Enter
    sleep 0.3
    absent "not found"
}

# A new connection: the first session's lines stay in the pane (the pane
# renders lines from the transcript, so they are copied before it goes) and
# a search finds a line by its prefix ("S: * OK"), which is not in its bytes.
reconnect_keeps_the_first_sessions_lines() {
    start "imaps://alice@$host:$MS_OPEN_IMAPS_PORT" "${trust[@]}" --password-env PW
    wait_for "Dovecot (Debian) ready." || return
    line "NOOP"
    wait_for "S: a001 OK NOOP completed" || return
    line "/connect"
    wait_for "=== new connection ===" || return
    local i n=0
    for ((i = 0; i < 80 * ${MS_SLOW_FACTOR:-1}; i++)); do
        n=$(screen | grep -c "Dovecot (Debian) ready\.")
        ((n >= 2)) && break
        sleep 0.1
    done
    ((n >= 2)) || { fail "both greetings should show after /connect (saw $n)"; return; }
    wait_for "C: a001 NOOP" 1 || return
    wait_for "S: a001 OK NOOP completed" 1 || return
    keys Tab
    keys /
    wait_for "Search:" || return
    tmux_ send-keys -t ms -l "S: * OK"; keys Enter
    sleep 0.3
    absent "not found"
}

# The founding case in the console: the scripted Exchange refuses LOGIN
# after STARTTLS with a public certificate; /walkthrough picks the playbook
# for the diagnosis, the checks run in the loop, the answers move it on and
# the Walkthrough tab shows the fix with the server's names filled in (a wide
# window, so the inspector shows the command on one line).
walkthrough_founding_case() {
    local port pid
    coproc SRV { exec "$MS_SCRIPTED_SERVER" --timeout 30 --cert "$MS_CERTS/chain.pem" \
                      --key "$MS_CERTS/leaf.key" "$MS_SCENARIOS/diag-exchange-cert-bound.scn"; }
    pid=$SRV_PID
    read -r _ port <&"${SRV[0]}"
    cols=230 start "imap://alice@127.0.0.1:$port" "${trust[@]}" --auth=login --password-env PW \
        --record "$work/walk.json"
    wait_for "The Microsoft Exchange IMAP4 service is ready." || { kill "$pid"; return; }
    line "/walkthrough"
    wait_for "nothing failed, so no playbook is chosen" || { kill "$pid"; return; }
    keys F5; wait_for "a001 CAPABILITY" || { kill "$pid"; return; }
    keys F5; wait_for "TLSv1.3 established" || { kill "$pid"; return; }
    keys F5; wait_for "a003 CAPABILITY" || { kill "$pid"; return; }
    keys F5; wait_for "a004 NO LOGIN failed." || { kill "$pid"; return; }
    wait_for "the login step failed: /walkthrough guides the fix (R-EXCH-001, playbook" || return
    line "/walkthrough"
    wait_for "walkthrough exchange-proxy-cert (it follows R-EXCH-001)" || { kill "$pid"; return; }
    wait_for "> owa (question)" || { kill "$pid"; return; }
    wait_for "sign in to Outlook on the web" || { kill "$pid"; return; }
    line "/answer perhaps"
    wait_for "'perhaps' is not an answer here: yes, no, unknown" || { kill "$pid"; return; }
    line "/answer yes OWA works"
    wait_for "answer owa (question): yes: OWA works" || { kill "$pid"; return; }
    wait_for "FAILED cert-name (check)" || { kill "$pid"; return; }
    wait_for "> settings (action)" 15 || { kill "$pid"; return; }
    wait_for "Get-ImapSettings -Server EX01 | Format-List X509CertificateName,LoginType" || return
    keys Tab Tab              # the focus on the inspector: d is done
    keys d
    wait_for "> set-name (action)" || { kill "$pid"; return; }
    wait_for "    Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local" || return
    line "/done"
    wait_for "Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE" || return
    line "/walkthrough stop"
    wait_for "Walkthrough stopped" || return
    line "/quit"
    sleep 0.5
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    jq -e '[.events[] | select(.kind == "walk" and .ref == "exchange-proxy-cert/set-name"
            and .outcome == "done")] | length == 1' "$work/walk.json" > /dev/null ||
        fail "the recording lacks the set-name step's outcome"
    jq -e '[.events[] | select(.kind == "walk" and .outcome == "stopped")] | length == 1' \
        "$work/walk.json" > /dev/null || fail "the recording lacks the stop"
    return 0
}

# Done when (issue 5): in the console's own lab, someone who does not know the
# Exchange bug is led from the failure to Set-ImapSettings with the right
# server name, applies it with /ps, and sees the re-test's LOGIN pass.
lab_walkthrough_resolves_the_founding_case() {
    cols=230 start --lab --lab-address "${MS_LAB_NET:-127.77}.2.30"
    wait_for "The Microsoft Exchange IMAP4 service is ready." || return
    step_until "NO AUTHENTICATE failed." || return
    wait_for "/walkthrough guides the fix (R-EXCH-001, playbook exchange-proxy-cert)" || return
    line "/walkthrough"
    wait_for "> owa (question)" || return
    line "/answer yes"
    wait_for "> settings (action)" 15 || return
    wait_for "Get-ImapSettings -Server EX01 | Format-List X509CertificateName,LoginType" || return
    line "/ps Get-ImapSettings -Server EX01 | Format-List X509CertificateName,LoginType"
    wait_for "X509CertificateName : mail.contoso.com" || return
    line "/done the name is mail.contoso.com"
    wait_for "    Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local" || return
    line "/ps Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local"
    line "/done"
    wait_for "> restart (action)" || return
    line "/ps Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE"
    wait_for "MSExchangeIMAP4BE restarted" || return
    line "/done"
    wait_for "Walkthrough resolved: the re-test passed" 15 || return
    wait_for "ok retest (retest): login as alice succeeded" || return
}

# mailscope walkthrough ID URL on a terminal: the console runs the plan to the
# failure by itself, then starts the playbook named.
walkthrough_subcommand_runs_to_the_failure() {
    local port pid
    coproc SRV { exec "$MS_SCRIPTED_SERVER" --timeout 30 --cert "$MS_CERTS/chain.pem" \
                      --key "$MS_CERTS/leaf.key" "$MS_SCENARIOS/diag-exchange-cert-bound.scn"; }
    pid=$SRV_PID
    read -r _ port <&"${SRV[0]}"
    cols=230 start walkthrough exchange-proxy-cert "imap://alice@127.0.0.1:$port" "${trust[@]}" \
        --auth=login --password-env PW --backend-port 1
    wait_for "a004 NO LOGIN failed." || { kill "$pid"; return; }
    wait_for "> owa (question)" || { kill "$pid"; return; }
    keys Tab Tab
    keys y
    wait_for "> settings (action)" 15 || { kill "$pid"; return; }
    wait_for "backend port 1: cannot connect" || { kill "$pid"; return; }
    line "/quit"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

replay_steps_through_a_recording() {
    PW="$MS_TEST_PASSWORD" "$MS_BIN" probe "imap://alice@$host:$MS_OPEN_IMAP_PORT" "${trust[@]}" \
        --password-env PW --record "$work/rep.json" >/dev/null || { fail "probe --record failed"; return; }
    local n
    n=$(grep -c '"kind": ' "$work/rep.json")
    start replay "$work/rep.json"
    wait_for "REPLAY" || return
    wait_for "rep.json" || return
    wait_for "event $n/$n" || return                # it opens at the end
    wait_for "Dovecot (Debian) ready." || return    # the recorded greeting
    wait_for "#0 CN=mail.test" || return            # the Chain tab as recorded
    wait_for "C: a005 LOGOUT" || return
    keys -l "{"                                     # back one command: the logout is gone
    sleep 0.3
    absent "a005 LOGOUT"
    absent "event $n/$n"
    keys -l "}"                                     # forward a whole command: back at the end
    wait_for "C: a005 LOGOUT" || return
    wait_for "event $n/$n" || return
    keys -l "["                                     # one event back
    wait_for "event $((n - 1))/$n" || return
    line "/goto 0"
    wait_for "event 0/$n +0.000s" || return
    absent "Dovecot (Debian) ready."
    wait_for "No certificate yet" || return         # before the handshake
    keys -l "]"
    wait_for "event 1/$n" || return
    line "/goto +10s"
    wait_for "event $n/$n" || return
    wait_for "Dovecot (Debian) ready." || return
    line "/connect imap://127.0.0.1:1"
    wait_for "replay is read-only: /connect refused, nothing is sent" || return
    line "NOOP"
    wait_for "read-only: a line for the server refused" || return
    absent "C: a006"
    absent "$MS_TEST_PASSWORD"
}

# step_until TEXT: F5 until the screen shows TEXT (at most 10 steps).
step_until() {
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        screen | grep -qF -- "$1" && return 0
        keys F5
        sleep "$((${MS_SLOW_FACTOR:-1} * 5))e-1"
    done
    wait_for "$1" 2
}

# The founding case in the console's own lab: the failure, the fix typed with
# /ps into the simulated Exchange shell, the passing re-test.
lab_founding_case_fixed_with_ps() {
    start --lab --lab-address "${MS_LAB_NET:-127.77}.1.30"
    wait_for "The Microsoft Exchange IMAP4 service is ready." || return
    step_until "NO AUTHENTICATE failed." || return
    wait_for "exchange EX01.contoso.local" || return
    line "/ps Get-ImapSettings | Format-List X509CertificateName,LoginType"
    wait_for "X509CertificateName : mail.contoso.com" || return
    line "/ps Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local"
    wait_for "WARNING: Changes to IMAP4 settings will only take effect" || return
    line "/ps Restart-Service MSExchangeIMAP4; Restart-Service MSExchangeIMAP4BE"
    wait_for "MSExchangeIMAP4BE restarted" || return
    line "/ps Frob-Server"
    wait_for "The term 'Frob-Server' is not recognized" || return
    line "/connect"
    step_until "OK AUTHENTICATE completed." || return
    step_until "EXAMINE completed." || return
    # the re-test's transcript carries the fix typed before it
    line "/save $work/lab-retest.txt"
    wait_for "saved the session to" || return
    grep -qF "[PS] EX01> Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local" \
        "$work/lab-retest.txt" || fail "the saved re-test lacks the fix"
    grep -qF "MSExchangeIMAP4BE restarted" "$work/lab-retest.txt" || fail "the saved re-test lacks the restart"
    grep -qF "OK AUTHENTICATE completed." "$work/lab-retest.txt" || fail "the saved re-test lacks the login"
}

# Gmail in the console's lab: the refusal, an app password made with /ps in
# the Google Account stand-in, then a login with it.
lab_gmail_app_password_in_the_console() {
    cols=230 start --lab gmail-app-password --lab-address "${MS_LAB_NET:-127.77}.2.31"
    wait_for "Gimap ready for requests from" || return
    step_until "Application-specific password required" || return
    line "/ps app-password create console"
    wait_for "Your app password for console" || return
    local apw
    wait_for "the new app password (shown once, not kept): " || return
    apw=$(screen | sed -n 's/.*the new app password (shown once, not kept): \([a-z ]*\).*/\1/p' | tr -d ' ')
    [[ ${#apw} == 16 ]] || { fail "no app password on the status line: '$apw'"; return; }
    wait_for "***** (the app password" || return
    line "/connect"
    wait_for "=== new connection ===" || return
    local i
    for ((i = 0; i < 50; i++)); do   # the second greeting, not the first one still on the screen
        (($(screen | grep -c "Gimap ready for requests from") >= 2)) && break
        sleep 0.1
    done
    # /password replaces the lab's account password for the next /login
    line "/password"
    wait_for "new password for the next login" || return
    tmux_ send-keys -t ms -l -- "$apw"
    keys Enter
    wait_for "the next login uses the password just typed" || return
    line "/login alice@gmail.com"
    wait_for "LOGIN alice@gmail.com *****" || return
    wait_for "OK alice@gmail.com authenticated (Success)" || return
    absent "$apw"
    line "/save $work/gmail.txt"
    wait_for "saved the session to" || return
    grep -qF "$(printf '%.4s %.4s' "$apw" "${apw:4}")" "$work/gmail.txt" && fail "the app password is in the transcript"
    grep -qF "$apw" "$work/gmail.txt" && fail "the app password is in the transcript"
    return 0
}

for t in imap_starttls_session_step_by_step pop3_stls_session_step_by_step \
         password_prompt_and_history typed_password_is_asked_again raw_lines_are_auto_tagged \
         plaintext_login_asks_first \
         resize_keeps_every_pane help_overlay_lists_commands hostile_greeting_is_escaped \
         completion_and_edit_step literal_is_summarised_and_viewable \
         big_literal_is_paged_from_the_spill_file \
         save_and_record_without_credentials save_every_format_with_redacted_user \
         compare_in_the_console sni_in_the_console \
         chain_tab_shows_an_expired_certificate search_in_transcript \
         reconnect_keeps_the_first_sessions_lines \
         replay_steps_through_a_recording lab_founding_case_fixed_with_ps walkthrough_founding_case \
         walkthrough_subcommand_runs_to_the_failure lab_walkthrough_resolves_the_founding_case \
         lab_gmail_app_password_in_the_console; do
    run "$t"
done
echo "console: $passed passed, $failed failed"
((failed == 0))
