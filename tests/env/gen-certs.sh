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
# Broken leaves for the certificate inspector (signed by the intermediate with
# `openssl ca`, which can set past and future dates; same SANs as leaf.pem
# unless said otherwise; each also as NAME-chain.pem = NAME + intermediate):
#   expired.pem             valid from 400 days ago until 30 days ago (leaf.key)
#   notyet.pem              valid from 30 days from now (leaf.key)
#   soon.pem                expires in 10 days (leaf.key)
#   wronghost.pem           CN other.test, SAN other.test/*.other.test only (leaf.key)
#   weakkey.pem, weak.key   RSA-1024
#   sha1.pem                signed with SHA-1 (leaf.key)
#   clientauth.pem          EKU clientAuth only (leaf.key)
#   wrong-order.pem         leaf + root + intermediate (the intermediate last)
#   root-and-inter.pem      root + intermediate: a trust store that repairs a missing intermediate
#   other-root.pem (+.key)  "mailscope Other Root": a trust anchor that signed none of these
# Every certificate the intermediate signs names it in AIA:
#   caIssuers http://pki.mail.test/inter.crt, OCSP http://ocsp.mail.test/
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

newkey() {  # newkey FILE [BITS]
    (umask 077 && openssl genpkey -quiet -algorithm RSA \
        -pkeyopt "rsa_keygen_bits:${2:-2048}" -out "$1")
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
authorityInfoAccess    = caIssuers;URI:http://pki.mail.test/root.crt

[ v3_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:mail.test, DNS:localhost, IP:127.0.0.1, IP:127.0.0.2, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = caIssuers;URI:http://pki.mail.test/inter.crt, OCSP;URI:http://ocsp.mail.test/

[ v3_wronghost ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:other.test, DNS:*.other.test
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = caIssuers;URI:http://pki.mail.test/inter.crt, OCSP;URI:http://ocsp.mail.test/

[ v3_clientauth ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = clientAuth
subjectAltName         = DNS:mail.test, DNS:localhost, IP:127.0.0.1, IP:127.0.0.2, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = caIssuers;URI:http://pki.mail.test/inter.crt, OCSP;URI:http://ocsp.mail.test/

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

for name in root inter leaf client selfsigned other-root; do
    newkey "$dir/$name.key"
done
newkey "$dir/weak.key" 1024

selfsign root       "/CN=mailscope Test Root"         3650 v3_root
sign     inter      "/CN=mailscope Test Intermediate" 3650 v3_inter  root
sign     leaf       "/CN=mail.test"                   365  v3_leaf   inter
sign     client     "/CN=alice"                       365  v3_client inter
selfsign selfsigned "/CN=mail.test"                   365  v3_selfsigned

selfsign other-root "/CN=mailscope Other Root"        3650 v3_root

# `openssl ca` with a throwaway database: explicit -startdate/-enddate.
ca="$tmp/ca"
mkdir -p -- "$ca/new"
: > "$ca/index.txt"
cat > "$ca/ca.cnf" <<CACNF
[ ca ]
default_ca       = inter_ca
[ inter_ca ]
database         = $ca/index.txt
new_certs_dir    = $ca/new
serial           = $ca/serial
certificate      = $dir/inter.pem
private_key      = $dir/inter.key
default_md       = sha256
policy           = policy_any
unique_subject   = no
copy_extensions  = none
email_in_dn      = no
[ policy_any ]
commonName       = supplied
CACNF

when() {  # when 'DATE EXPRESSION' -> YYYYMMDDHHMMSSZ (UTC)
    date -u -d "$1" +%Y%m%d%H%M%SZ
}

ca_sign() {  # ca_sign NAME KEY SUBJECT START END EXT [MD]
    openssl req -new -config "$cnf" -key "$dir/$2" -subj "$3" -out "$tmp/$1.csr"
    if ! openssl ca -batch -notext -config "$ca/ca.cnf" -rand_serial \
        -in "$tmp/$1.csr" -startdate "$4" -enddate "$5" -md "${7:-sha256}" \
        -extfile "$cnf" -extensions "$6" -out "$dir/$1.pem" 2>"$tmp/ca.err"; then
        cat -- "$tmp/ca.err" >&2
        printf 'gen-certs: signing %s failed\n' "$1" >&2
        return 1
    fi
    cat -- "$dir/$1.pem" "$dir/inter.pem" > "$dir/$1-chain.pem"
}

ca_sign expired    leaf.key "/CN=mail.test"  "$(when '-400 days')" "$(when '-30 days')" v3_leaf
ca_sign notyet     leaf.key "/CN=mail.test"  "$(when '+30 days')"  "$(when '+400 days')" v3_leaf
ca_sign soon       leaf.key "/CN=mail.test"  "$(when '-60 days')"  "$(when '+10 days')" v3_leaf
ca_sign wronghost  leaf.key "/CN=other.test" "$(when '-1 day')"    "$(when '+365 days')" v3_wronghost
ca_sign weakkey    weak.key "/CN=mail.test"  "$(when '-1 day')"    "$(when '+365 days')" v3_leaf
ca_sign sha1       leaf.key "/CN=mail.test"  "$(when '-1 day')"    "$(when '+365 days')" v3_leaf sha1
ca_sign clientauth leaf.key "/CN=mail.test"  "$(when '-1 day')"    "$(when '+365 days')" v3_clientauth

cp -- "$dir/leaf.pem" "$dir/leaf-only.pem"
cat -- "$dir/leaf.pem" "$dir/inter.pem" > "$dir/chain.pem"
cat -- "$dir/leaf.pem" "$dir/root.pem" "$dir/inter.pem" > "$dir/wrong-order.pem"
cat -- "$dir/root.pem" "$dir/inter.pem" > "$dir/root-and-inter.pem"
chmod 644 -- "$dir"/*.pem
