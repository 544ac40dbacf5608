#!/bin/sh
# make_test_ca.sh DIR -- test certificates for the HTTPS emulator and proxy tests.
#
# Creates in DIR, with the openssl CLI (EC P-256 keys, valid 2 days):
#   ca.pem, ca.key           a test CA ("envelope-gateway test CA")
#   server.pem, server.key   a server certificate signed by it, for
#                            DNS:localhost, IP:127.0.0.1, DNS:cvm.tencentcloudapi.test
#   other-ca.pem, other-ca.key
#                            a second, unrelated CA (for wrong-CA tests)
#
# Idempotent: when DIR already holds a complete set where server.pem verifies
# against ca.pem and every certificate stays valid for 12 more hours, nothing
# is done. Otherwise the whole set is regenerated (in a temporary directory,
# then moved into place). Quiet on success; on failure the openssl output is
# printed and the exit status is non-zero.
#
#   tools/testservers/make_test_ca.sh /tmp/certs
#   tools/emulator/emulator.py --tls-cert /tmp/certs/server.pem --tls-key /tmp/certs/server.key
#   curl --cacert /tmp/certs/ca.pem https://localhost:PORT/_emulator/health

set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
OPENSSL=${OPENSSL:-openssl}
DAYS=2
FILES="ca.pem ca.key server.pem server.key other-ca.pem other-ca.key"

mkdir -p "$DIR"

complete() {
    for f in $FILES; do
        [ -s "$DIR/$f" ] || return 1
    done
    "$OPENSSL" verify -CAfile "$DIR/ca.pem" "$DIR/server.pem" >/dev/null 2>&1 || return 1
    for c in ca.pem server.pem other-ca.pem; do
        "$OPENSSL" x509 -in "$DIR/$c" -noout -checkend 43200 >/dev/null 2>&1 || return 1
    done
    # The key must belong to the certificate.
    a=$("$OPENSSL" x509 -in "$DIR/server.pem" -noout -pubkey 2>/dev/null) || return 1
    b=$("$OPENSSL" pkey -in "$DIR/server.key" -pubout 2>/dev/null) || return 1
    [ "$a" = "$b" ]
}

# run ARGS...: openssl ARGS, output kept in $log; on failure show it and stop.
run() {
    if ! "$OPENSSL" "$@" >>"$log" 2>&1; then
        echo "make_test_ca.sh: openssl $1 failed:" >&2
        cat "$log" >&2
        exit 1
    fi
}

generate() {
    tmp=$(mktemp -d "$DIR/.make_test_ca.XXXXXX")
    log="$tmp/openssl.log"
    trap 'rm -rf "$tmp"' EXIT
    cat >"$tmp/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:cvm.tencentcloudapi.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
    umask 077
    for name in ca other-ca; do
        if [ "$name" = ca ]; then cn="envelope-gateway test CA"; else cn="unrelated test CA"; fi
        run req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -keyout "$tmp/$name.key" -out "$tmp/$name.pem" -days "$DAYS" -sha256 \
            -subj "/O=envelope-gateway tests/CN=$cn" \
            -config "$tmp/ext.cnf" -extensions ca
    done
    run req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$tmp/server.key" -out "$tmp/server.csr" \
        -subj "/O=envelope-gateway tests/CN=localhost" -config "$tmp/ext.cnf"
    run x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -CAserial "$tmp/ca.srl" -days "$DAYS" -sha256 \
        -extfile "$tmp/ext.cnf" -extensions server -out "$tmp/server.pem"
    run verify -CAfile "$tmp/ca.pem" "$tmp/server.pem"
    chmod 644 "$tmp/ca.pem" "$tmp/server.pem" "$tmp/other-ca.pem"
    # Keys before certificates, server last: a reader that checks
    # server.pem against ca.pem sees a matching pair once both are moved.
    for f in ca.key ca.pem other-ca.key other-ca.pem server.key server.pem; do
        mv -f "$tmp/$f" "$DIR/$f"
    done
}

# Serialise concurrent runs on the same DIR when flock(1) is available.
if command -v flock >/dev/null 2>&1 && [ -z "${MAKE_TEST_CA_LOCKED:-}" ]; then
    MAKE_TEST_CA_LOCKED=1 exec flock "$DIR/.make_test_ca.lock" sh "$0" "$DIR"
fi

complete || generate
