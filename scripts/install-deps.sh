#!/usr/bin/env bash
# Installs every Debian 12 package Portico needs to build, test and benchmark.
# Idempotent: skips apt when everything is already there.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  # libraries (DESIGN.md)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libyaml-dev libre2-dev libfmt-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev curl python3 procps
  protobuf-compiler  # protoc decodes the OTLP encoder's output in the tracing tests
  python3-prometheus-client  # the metrics tests parse GET /metrics with the reference parser
  openssl  # throwaway certificates for the TLS examples' checks and the TLS benchmark
  redis-server  # the rate limiter's redis policy is tested against a real server
  nginx-light haproxy wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
