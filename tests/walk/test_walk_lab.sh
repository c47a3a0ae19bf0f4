#!/usr/bin/env bash
# Each playbook end to end against the lab (mailscope lab): the lab runs a
# scenario on its own loopback address with its simulated shell on a FIFO;
# mailscope walkthrough --batch runs the session to its failure and the
# playbook, its answers written when each step is shown; at every action the
# test runs the command the walkthrough printed (filled in) in the lab's
# shell, exactly as an operator would paste it; the re-test must pass (exit
# 0) and the recorded transcript must hold the steps and their outcomes.
# Run by ctest (scripts/test sets the environment).
set -uo pipefail

for v in MS_BIN; do
    [[ -n "${!v:-}" ]] || { echo "$v is not set: run through scripts/test"; exit 2; }
done
lab_bin=${MS_LAB_BIN:-$MS_BIN}
slow=${MS_SLOW_FACTOR:-1}
net=${MS_WALK_LAB_NET:-${MS_LAB_NET:-127.77}.2}

work=$(mktemp -d /tmp/ms-walklab.XXXXXX)
lab_pid="" walk_pid=""
cleanup() {
    exec 7>&- 8>&- 2>/dev/null
    [[ -n $walk_pid ]] && kill "$walk_pid" 2>/dev/null
    [[ -n $lab_pid ]] && kill "$lab_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home LPW=LabPassw0rd
mkdir -p "$HOME"
passed=0 failed=0 current="" current_failed=0

fail() {
    echo "FAIL [$current]: $*"
    current_failed=1
}

# wait_in FILE TEXT [SECONDS]: until FILE holds TEXT.
wait_in() {
    local deadline=$((SECONDS + ${3:-20} * slow))
    while ((SECONDS < deadline)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$1 never showed: $2"
    echo "----- $1 -----"; tail -40 "$1"; echo "-----"
    return 1
}

# ---- the lab ------------------------------------------------------------------

# lab_start SCENARIO ADDRESS [LAB OPTIONS]: the lab with its shell on a FIFO (fd 7).
lab_start() {
    local dir=$work/lab-$1
    mkdir -p "$dir"
    rm -f "$work/lab.in"
    mkfifo "$work/lab.in"
    # Empty it now: the background job's redirection truncates it only when
    # the job gets to run, and the last lab's "Shell:" must not count.
    : > "$work/lab.out"
    "$lab_bin" lab "$1" --address "$2" --dir "$dir" "${@:3}" < "$work/lab.in" > "$work/lab.out" \
        2> "$work/lab.err" &
    lab_pid=$!
    exec 7> "$work/lab.in"
    wait_in "$work/lab.out" "Shell:" || return 1
    ca=$dir/lab-ca.pem
    [[ -s $ca ]] || { fail "no lab CA at $ca"; return 1; }
}

# lab_cmd LINE: run LINE in the lab's shell and wait for its next prompt.
lab_cmd() {
    local before
    local prompts='(\[PS\] EX01>|# |\[Google Account\] [^ ]+>)'
    before=$(grep -c -E "$prompts" "$work/lab.out")
    printf '%s\n' "$1" >&7
    local deadline=$((SECONDS + 10 * slow))
    while ((SECONDS < deadline)); do
        (($(grep -c -E "$prompts" "$work/lab.out") > before)) && return 0
        sleep 0.1
    done
    fail "the lab shell did not come back after: $1"
    return 1
}

lab_stop() {
    printf 'exit\n' >&7 2>/dev/null
    exec 7>&-
    wait "$lab_pid" 2>/dev/null
    lab_pid=""
}

# ---- the walkthrough ----------------------------------------------------------

# walk_start ARGS...: mailscope walkthrough ARGS --batch, answers on a FIFO (fd 8).
walk_start() {
    rm -f "$work/walk.in"
    mkfifo "$work/walk.in"
    : > "$work/walk.out"
    "$MS_BIN" walkthrough "$@" --batch < "$work/walk.in" > "$work/walk.out" 2> "$work/walk.err" &
    walk_pid=$!
    exec 8> "$work/walk.in"
}

# at STEP ANSWER: when step ID/STEP is shown, answer it.
at() {
    wait_in "$work/walk.out" "$1  " || return 1
    printf '%s\n' "$2" >&8
}

# commands_of STEP: the filled commands printed for the last showing of STEP.
commands_of() {
    awk -v s="$1  " 'index($0, s) { grab = 1; n = 0; delete c; next }
                     grab && /^      [^ ]/ { c[++n] = substr($0, 7); next }
                     grab && /answer \(/ { grab = 0 }
                     END { for (i = 1; i <= n; i++) print c[i] }' "$work/walk.out"
}

# act STEP [ANSWER]: when the action STEP is shown, run each of its commands in
# the lab's shell, then answer (default done).
act() {
    act_commands "$1" || return 1
    printf '%s\n' "${2:-done}" >&8
}

# act_commands STEP: the first half of act: STEP shown, its commands run, not answered.
act_commands() {
    wait_in "$work/walk.out" "$1  action" || return 1
    wait_in "$work/walk.out" "answer (done, failed, skip)" || return 1
    local cmd n=0
    while IFS= read -r cmd; do
        n=$((n + 1))
        lab_cmd "$cmd" || return 1
    done < <(commands_of "$1")
    ((n)) || { fail "no command printed for $1"; return 1; }
}

# walk_end: the exit status of the walkthrough.
walk_end() {
    exec 8>&-
    local deadline=$((SECONDS + 30 * slow))
    while kill -0 "$walk_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    wait "$walk_pid"
    local rc=$?
    walk_pid=""
    return "$rc"
}

walk_event() {   # walk_event JSON REF OUTCOME [TEXT]
    local n
    n=$(jq --arg r "$2" --arg o "$3" --arg t "${4:-}" \
        '[.events[] | select(.kind == "walk" and .ref == $r and .outcome == $o
                             and (.message | contains($t)))] | length' "$1" 2>/dev/null)
    [[ ${n:-0} -ge 1 ]] || { fail "no walk event $2 $3 ${4:-}";
                            jq -c '.events[] | select(.kind == "walk") | [.ref, .outcome, .message]' \
                                "$1" 2>/dev/null | cut -c1-160; }
}

expect_resolved() {   # expect_resolved RC PLAYBOOK
    [[ $1 == 0 ]] || { fail "exit status $1, expected 0 (resolved)"; tail -30 "$work/walk.out"; }
    grep -qF "Walkthrough $2: resolved (the re-test passed)" "$work/walk.out" ||
        fail "not resolved"
    walk_event "$work/$2.json" "$2/retest" passed
    walk_event "$work/$2.json" "$2" resolved "the re-test passed"
}

run() {
    current=$1 current_failed=0
    "$1"
    [[ -n $walk_pid ]] && { kill "$walk_pid" 2>/dev/null; wait "$walk_pid" 2>/dev/null; walk_pid=""; }
    [[ -n $lab_pid ]] && lab_stop
    if grep -qsE "AddressSanitizer|LeakSanitizer|runtime error" "$work"/*.err; then
        fail "sanitizer report:"
        cat "$work"/*.err
    fi
    if ((current_failed)); then
        failed=$((failed + 1))
        echo "----- lab -----"; tail -30 "$work/lab.out"; echo "-----"
    else
        passed=$((passed + 1))
        echo "ok $1"
    fi
}

# ---- the playbooks --------------------------------------------------------------

# The founding case: a line-of-business application logging in with plain text
# on 143 (LoginType PlainTextLogin) after a public certificate was bound.
exchange_proxy_cert() {
    lab_start exchange-cert-plaintextlogin "$net.1" || return
    walk_start exchange-proxy-cert "imap://alice@$net.1" --tls=none --allow-plaintext-login \
        --auth=login --password-env LPW --cafile "$ca" --record "$work/exchange-proxy-cert.json"
    at exchange-proxy-cert/owa "yes the same password works in OWA" || return
    act exchange-proxy-cert/settings "done X509CertificateName is mail.contoso.com" || return
    grep -qF "X509CertificateName : mail.contoso.com" "$work/lab.out" ||
        fail "the lab did not show the bound name"
    act exchange-proxy-cert/set-name || return
    act exchange-proxy-cert/restart || return
    walk_end
    expect_resolved $? exchange-proxy-cert
    local o=$work/walk.out j=$work/exchange-proxy-cert.json
    grep -qF "The session: FAILED: login refused: NO LOGIN failed." "$o" || fail "no LOGIN failure"
    grep -qF "      Set-ImapSettings -Server EX01 -X509CertificateName EX01.contoso.local" "$o" ||
        fail "the fix is not filled in"
    walk_event "$j" exchange-proxy-cert/cert-name failed "EX01.contoso.local"
    walk_event "$j" exchange-proxy-cert/backend failed "Connection is closed. 14"
    walk_event "$j" exchange-proxy-cert/set-name done
    walk_event "$j" exchange-proxy-cert/restart done
    walk_event "$j" exchange-proxy-cert/retest passed "LOGIN completed"
}

# The same for POP3: Set-PopSettings, MSExchangePOP3 and MSExchangePOP3BE.
exchange_proxy_cert_pop3() {
    lab_start exchange-cert-plaintextlogin "$net.1" || return
    walk_start exchange-proxy-cert "pop3://alice@$net.1" --tls=none --allow-plaintext-login \
        --password-env LPW --cafile "$ca" --record "$work/exchange-proxy-cert.json"
    at exchange-proxy-cert/owa yes || return
    act exchange-proxy-cert/settings || return
    act exchange-proxy-cert/set-name || return
    act exchange-proxy-cert/restart || return
    walk_end
    expect_resolved $? exchange-proxy-cert
    grep -qF "      Set-PopSettings -Server EX01 -X509CertificateName EX01.contoso.local" \
        "$work/walk.out" || fail "the POP3 fix is not filled in"
    grep -qF "      Restart-Service MSExchangePOP3; Restart-Service MSExchangePOP3BE" \
        "$work/walk.out" || fail "the POP3 services are not named"
}

# LoginType SecureLogin: the legacy client cannot use TLS; PlainTextLogin.
exchange_logintype() {
    lab_start exchange-securelogin "$net.2" || return
    walk_start exchange-logintype "imap://alice@$net.2" --tls=none --allow-plaintext-login \
        --password-env LPW --cafile "$ca" --servername EX01.contoso.local \
        --record "$work/exchange-logintype.json"
    at exchange-logintype/client-tls "no a legacy application" || return
    act exchange-logintype/settings || return
    act exchange-logintype/logintype || return
    act exchange-logintype/restart || return
    walk_end
    expect_resolved $? exchange-logintype
    walk_event "$work/exchange-logintype.json" exchange-logintype/tls passed "verified"
    grep -qF "      Set-ImapSettings -LoginType PlainTextLogin" "$work/walk.out" ||
        fail "the LoginType fix is not filled in"
}

# IMAP disabled for the mailbox: Set-CASMailbox -ImapEnabled $true.
exchange_mailbox_disabled() {
    lab_start exchange-imap-disabled "$net.3" || return
    walk_start exchange-mailbox-disabled "imap://alice@$net.3" --password-env LPW \
        --cafile "$ca" --servername EX01.contoso.local --record "$work/exchange-mailbox-disabled.json"
    at exchange-mailbox-disabled/owa yes || return
    act exchange-mailbox-disabled/look || return
    act exchange-mailbox-disabled/enable || return
    act exchange-mailbox-disabled/restart || return
    walk_end
    expect_resolved $? exchange-mailbox-disabled
    grep -qF "      Set-CASMailbox -Identity alice -ImapEnabled \$true" "$work/walk.out" ||
        fail "the Set-CASMailbox fix is not filled in"
}

# Exchange Online, basic auth retired: the re-test signs in with XOAUTH2.
exchange_online_oauth() {
    lab_start exchange-online-basic-off "$net.4" || return
    TOKEN=lab-oauth-token walk_start exchange-online-oauth "imaps://alice@$net.4" \
        --password-env LPW --cafile "$ca" --servername outlook.office365.com \
        --retest-auth xoauth2 --retest-password-env TOKEN --record "$work/exchange-online-oauth.json"
    at exchange-online-oauth/xoauth2 yes || return
    at exchange-online-oauth/kind user || return
    at exchange-online-oauth/delegated "done registered, token issued" || return
    walk_end
    expect_resolved $? exchange-online-oauth
}

# Expired certificate: enable the renewed one, re-check X509CertificateName.
exchange_certificate() {
    lab_start expired-certificate "$net.5" || return
    walk_start exchange-certificate "imap://alice@$net.5" --password-env LPW --cafile "$ca" \
        --servername EX01.contoso.local --record "$work/exchange-certificate.json"
    act exchange-certificate/certs || return
    # the renewed certificate is the one no service uses yet
    lab_cmd 'Get-ExchangeCertificate | Format-List Thumbprint,Services' || return
    local thumb
    thumb=$(awk '/^Thumbprint/ { t = $3 } /^Services/ && $3 !~ /[A-Z]/ { print t; exit }' \
        "$work/lab.out")
    [[ -n $thumb ]] || { fail "no renewed certificate in the lab's list"; return; }
    wait_in "$work/walk.out" "exchange-certificate/renew  action" || return
    commands_of exchange-certificate/renew | grep -qF "Enable-ExchangeCertificate -Thumbprint" ||
        fail "no Enable-ExchangeCertificate step"
    lab_cmd "Enable-ExchangeCertificate -Thumbprint $thumb -Services IMAP,POP" || return
    printf 'done enabled %s\n' "$thumb" >&8
    act exchange-certificate/recheck || return
    act exchange-certificate/restart || return
    walk_end
    expect_resolved $? exchange-certificate
    local j=$work/exchange-certificate.json
    walk_event "$j" exchange-certificate/tls failed "expired"
    walk_event "$j" exchange-certificate/tls-after passed "verified"
    walk_event "$j" exchange-certificate/backend passed
}

# The intermediate CA is missing: import it into LocalMachine\CA.
incomplete_chain() {
    lab_start missing-intermediate "$net.6" || return
    walk_start incomplete-chain "imap://alice@$net.6" --password-env LPW --cafile "$ca" \
        --servername mail.contoso.com --record "$work/incomplete-chain.json"
    at incomplete-chain/family exchange || return
    act incomplete-chain/exchange || return
    walk_end
    expect_resolved $? incomplete-chain
    walk_event "$work/incomplete-chain.json" incomplete-chain/chain failed
    walk_event "$work/incomplete-chain.json" incomplete-chain/after passed "verified"
}

# Dovecot 2.3 refusing plain text: disable_plaintext_auth = no, reload.
dovecot_cleartext() {
    lab_start dovecot-cleartext-disallowed "$net.7" || return
    walk_start dovecot-cleartext "imap://alice@$net.7" --tls=none --allow-plaintext-login \
        --password-env LPW --cafile "$ca" --servername mail.example.net \
        --record "$work/dovecot-cleartext.json"
    at dovecot-cleartext/client-tls no || return
    at dovecot-cleartext/server 2.3 || return
    act dovecot-cleartext/allow-2.3 || return
    act dovecot-cleartext/reload || return
    walk_end
    expect_resolved $? dovecot-cleartext
}

# TLS 1.2 switched off in SChannel: the registry values, the reboot, TLS 1.2 served.
tls_version() {
    lab_start exchange-tls-legacy "$net.8" || return
    walk_start tls-version "imaps://alice@$net.8" --password-env LPW --cafile "$ca" \
        --servername EX01.contoso.local --record "$work/tls-version.json"
    act tls-version/server || return
    walk_end
    expect_resolved $? tls-version
    local o=$work/walk.out j=$work/tls-version.json
    grep -qF "The session: FAILED: TLS handshake failed" "$o" || fail "no handshake failure"
    walk_event "$j" tls-version/versions failed "accepts TLSv1; refuses TLSv1.1, TLSv1.2, TLSv1.3"
    walk_event "$j" tls-version/server done
    walk_event "$j" tls-version/versions-after passed "accepts TLSv1, TLSv1.2"
    walk_event "$j" tls-version/retest passed
    grep -qF "      Restart-Computer" "$o" || fail "the playbook does not say to restart"
    grep -qF "SChannel now offers TLS 1.0, TLS 1.2 to IMAP and POP clients" "$work/lab.out" ||
        fail "the lab did not restart with TLS 1.2"
    # after the reboot, a TLS 1.2 handshake and then the re-test's login
    awk '/SChannel now offers TLS 1.0, TLS 1.2/ { r = 1 } r && /TLS TLSv1\.2 with/ { t = 1 }
         t && /login as "alice": accepted/ { ok = 1 } END { exit !ok }' "$work/lab.out" ||
        fail "no TLS 1.2 login after the reboot"
}

# The same fault met through STLS on POP3's 110; a wrong value (Enabled 0)
# and the reboot fix nothing: the check after it fails, the walk ends unresolved.
tls_version_wrong_value() {
    lab_start exchange-tls-legacy "$net.9" || return
    walk_start tls-version "pop3://alice@$net.9" --password-env LPW --cafile "$ca" \
        --servername EX01.contoso.local --record "$work/tls-version.json"
    wait_in "$work/walk.out" "tls-version/server  action" || return
    wait_in "$work/walk.out" "answer (done, failed, skip)" || return
    local key='HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server'
    lab_cmd "New-Item '$key' -Force" || return
    lab_cmd "New-ItemProperty -Path '$key' -Name Enabled -Value 0 -PropertyType DWord -Force" || return
    lab_cmd "New-ItemProperty -Path '$key' -Name DisabledByDefault -Value 0 -PropertyType DWord -Force" || return
    lab_cmd "Restart-Computer" || return
    printf 'done set the values\n' >&8
    walk_end
    local rc=$?
    [[ $rc == 1 ]] || fail "exit status $rc, expected 1 (not resolved)"
    grep -qF "SChannel now offers TLS 1.0 to IMAP and POP clients" "$work/lab.out" ||
        fail "the lab should still offer TLS 1.0 only"
    walk_event "$work/tls-version.json" tls-version/versions-after failed "refuses TLSv1.1, TLSv1.2"
    grep -qF "Walkthrough tls-version: resolved" "$work/walk.out" && fail "resolved by a wrong value"
}

# Gmail: the account password is refused; an app password is created on
# Google's side (the lab's stand-in for the browser) and the re-test uses it.
gmail_app_password() {
    local apw
    apw=$(LC_ALL=C tr -dc 'a-z' < /dev/urandom | head -c 16)
    lab_start gmail-app-password "$net.10" --app-password "$apw" || return
    # before it is created, the app password is no password
    APW=$apw "$MS_BIN" probe "imaps://alice@gmail.com@$net.10" --cafile "$ca" --password-env APW \
        > "$work/before.txt" 2>&1 && fail "the app password worked before it was created"
    APW=$apw walk_start gmail-app-password "imaps://alice@gmail.com@$net.10" --password-env LPW \
        --cafile "$ca" --retest-password-env APW --record "$work/gmail-app-password.json"
    at gmail-app-password/oauth no || return
    at gmail-app-password/twostep yes || return
    act_commands gmail-app-password/app-password || return
    grep -qF "App passwords (alice@gmail.com)" "$work/lab.out" || fail "the App passwords page did not open"
    lab_cmd "app-password create mailscope" || return
    local shown
    shown=$(awk '/^Your app password for mailscope/ { getline; gsub(/ /, ""); print; exit }' "$work/lab.out")
    [[ $shown == "$apw" ]] || fail "the lab showed \"$shown\", not the app password $apw"
    printf 'done created the app password "mailscope"\n' >&8
    walk_end
    expect_resolved $? gmail-app-password
    local o=$work/walk.out j=$work/gmail-app-password.json
    grep -qF "Application-specific password required" "$o" || fail "no R-GMAIL-001 refusal"
    walk_event "$j" gmail-app-password/app-password done "mailscope"
    walk_event "$j" gmail-app-password/retest passed "authenticated (Success)"
    grep -qF "$apw" "$j" && fail "the app password is in the recording"
    grep -qF "accepted (app password)" "$work/lab.out" || fail "the lab did not see the app password"
}

# Gmail, the OAuth branch: the token step's command is run as printed.
gmail_oauth() {
    lab_start gmail-app-password "$net.11" || return
    TOKEN=lab-oauth-token walk_start gmail-app-password "imaps://alice@gmail.com@$net.11" \
        --password-env LPW --cafile "$ca" --retest-auth xoauth2 --retest-password-env TOKEN \
        --record "$work/gmail-app-password.json"
    at gmail-app-password/oauth yes || return
    wait_in "$work/walk.out" "gmail-app-password/token  action" || return
    wait_in "$work/walk.out" "answer (done, failed, skip)" || return
    local cmd
    cmd=$(commands_of gmail-app-password/token)
    [[ $cmd == "mailscope probe imaps://alice@gmail.com@$net.11 "* ]] || fail "token step: $cmd"
    # the operator's token works where the password did not
    read -r -a argv <<< "${cmd#mailscope }"
    TOKEN=lab-oauth-token "$MS_BIN" "${argv[@]}" --cafile "$ca" > "$work/token.txt" 2>&1 ||
        { fail "the printed command failed with the token"; cat "$work/token.txt"; }
    printf 'done new token\n' >&8
    walk_end
    expect_resolved $? gmail-app-password
    grep -qF 'XOAUTH2 as "alice@gmail.com": accepted' "$work/lab.out" || fail "no XOAUTH2 login"
}

"$lab_bin" lab --list > /dev/null 2>&1 || { echo "this mailscope has no lab (mailscope lab)"; exit 1; }
for t in exchange_proxy_cert exchange_proxy_cert_pop3 exchange_logintype exchange_mailbox_disabled \
         exchange_online_oauth exchange_certificate incomplete_chain dovecot_cleartext \
         tls_version tls_version_wrong_value gmail_app_password gmail_oauth; do
    run "$t"
done
echo "walkthrough lab tests: $passed passed, $failed failed"
((failed == 0))
