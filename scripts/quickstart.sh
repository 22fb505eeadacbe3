#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running gateway:
# installs the dependencies, builds the Release binary (build/portico) and starts it on
# examples/quickstart.yaml (proxy on :8000, admin API on 127.0.0.1:8001).
#   curl -i localhost:8000/hello
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
TARGETS=portico scripts/build.sh
echo
echo "Portico is starting on http://localhost:8000 (admin: http://127.0.0.1:8001/status)"
echo "Try: curl -i localhost:8000/hello    (Ctrl-C stops it)"
exec build/portico run -c examples/quickstart.yaml "$@"
