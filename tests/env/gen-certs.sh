#!/usr/bin/env bash
# gen-certs.sh DIR — generate throwaway test certificates into DIR:
#   root.pem (+root.key)    "mailscope Test Root", self-signed CA
#   inter.pem (+inter.key)  "mailscope Test Intermediate", CA pathlen 0, signed by root
#   leaf.pem, leaf.key      CN mail.test, SAN mail.test/localhost/127.0.0.1/127.0.0.2/::1,
#                           serverAuth, ~1 year, signed by the intermediate
#   leaf-only.pem           = leaf.pem (a server sending no intermediate)
#   chain.pem               leaf + intermediate (what a correct server sends)
#   client.pem, client.key  CN alice, clientAuth, signed by the intermediate
#   selfsigned.pem/.key     CN mail.test, SAN mail.test/127.0.0.1/127.0.0.2, self-signed
# Keys are mode 600. Nothing here is secret: the keys are made for one test run.
set -euo pipefail

if (($# != 1)); then
    printf 'usage: %s DIR\n' "${0##*/}" >&2
    exit 2
fi
dir=$1
mkdir -p -- "$dir"
dir=$(cd -- "$dir" && pwd -P)

tmp="$dir/.gen-tmp"
rm -rf -- "$tmp"
mkdir -m 700 -- "$tmp"
trap 'rm -rf -- "$tmp"' EXIT

serial() { printf '0x1%s' "$(openssl rand -hex 15)"; }

newkey() {  # newkey FILE
    (umask 077 && openssl genpkey -quiet -algorithm RSA \
        -pkeyopt rsa_keygen_bits:2048 -out "$1")
    chmod 600 -- "$1"
}

# One throwaway config holding every extension section.
cnf="$tmp/openssl.cnf"
cat > "$cnf" <<'CNF'
[ req ]
prompt             = no
distinguished_name = dn_unused
[ dn_unused ]
CN = unused

[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_inter ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:mail.test, DNS:localhost, IP:127.0.0.1, IP:127.0.0.2, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_client ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_selfsigned ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:mail.test, IP:127.0.0.1, IP:127.0.0.2
subjectKeyIdentifier   = hash
CNF

selfsign() {  # selfsign NAME SUBJECT DAYS EXT
    openssl req -new -x509 -config "$cnf" -key "$dir/$1.key" -subj "$2" \
        -days "$3" -extensions "$4" -set_serial "$(serial)" -sha256 \
        -out "$dir/$1.pem"
}

sign() {  # sign NAME SUBJECT DAYS EXT ISSUER
    openssl req -new -config "$cnf" -key "$dir/$1.key" -subj "$2" \
        -out "$tmp/$1.csr"
    # x509 -req chats on stderr even when it succeeds; show that only on failure.
    if ! openssl x509 -req -in "$tmp/$1.csr" -CA "$dir/$5.pem" -CAkey "$dir/$5.key" \
        -set_serial "$(serial)" -days "$3" -sha256 \
        -extfile "$cnf" -extensions "$4" -out "$dir/$1.pem" 2>"$tmp/x509.err"; then
        cat -- "$tmp/x509.err" >&2
        printf 'gen-certs: signing %s failed\n' "$1" >&2
        return 1
    fi
}

for name in root inter leaf client selfsigned; do
    newkey "$dir/$name.key"
done

selfsign root       "/CN=mailscope Test Root"         3650 v3_root
sign     inter      "/CN=mailscope Test Intermediate" 3650 v3_inter  root
sign     leaf       "/CN=mail.test"                   365  v3_leaf   inter
sign     client     "/CN=alice"                       365  v3_client inter
selfsign selfsigned "/CN=mail.test"                   365  v3_selfsigned

cp -- "$dir/leaf.pem" "$dir/leaf-only.pem"
cat -- "$dir/leaf.pem" "$dir/inter.pem" > "$dir/chain.pem"
chmod 644 -- "$dir"/*.pem
