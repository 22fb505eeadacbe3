#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a tested build: installs the dependencies, builds
# everything (Release), runs every unit and integration test with ctest, and checks every example
# config with `portico check`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# Examples that read PEMs from the environment (TLS) are checked with throwaway ones.
pki=$(mktemp -d)
trap 'rm -rf "$pki"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=example-ca \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=example-client \
  -keyout "$pki/client.key" -out "$pki/client.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost" -keyout "$pki/server.key" -out "$pki/server.pem" 2>/dev/null
export PORTICO_UPSTREAM_CA="$(cat "$pki/ca.pem")" PORTICO_CLIENT_CA="$(cat "$pki/ca.pem")"
export PORTICO_CLIENT_CERT="$(cat "$pki/client.pem")" PORTICO_CLIENT_KEY="$(cat "$pki/client.key")"
export PORTICO_TLS_CERT="$(cat "$pki/server.pem")" PORTICO_TLS_KEY="$(cat "$pki/server.key")"
# The JWT authorizer example names its identity provider's key set by URL (never fetched by check).
export PORTICO_JWKS_URI="https://127.0.0.1:9/.well-known/jwks.json"
for f in examples/*.yaml; do
  build/portico check -c "$f"
done
cd build
ctest --output-on-failure -j "${JOBS:-2}" --timeout 300 "$@"
