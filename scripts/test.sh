#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a tested build: installs the dependencies, builds
# everything (Release), runs every unit and integration test with ctest, and checks every example
# config with `portico check`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
for f in examples/*.yaml; do
  build/portico check -c "$f"
done
cd build
ctest --output-on-failure -j "${JOBS:-2}" --timeout 300 "$@"
