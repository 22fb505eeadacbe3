#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a while on a copy of its
# seed corpus. Usage: scripts/fuzz.sh [seconds=60] [target...]
# Targets default to every fuzz_* target. Exits non-zero if any run leaves a crash artifact.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_request_parser fuzz_response_parser fuzz_path_normalizer fuzz_config_loader fuzz_admin_config_body fuzz_trace_context fuzz_jwt fuzz_jwks fuzz_resp fuzz_otlp)
fi

build="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DPORTICO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}"

artifacts="$root/test/fuzz/artifacts"
mkdir -p "$artifacts"
status=0
for target in "${targets[@]}"; do
  corpus_name="${target#fuzz_}"
  corpus_name="${corpus_name%_parser}"
  corpus_name="${corpus_name%_normalizer}"
  corpus_name="${corpus_name%_loader}"
  # Each target's dictionary: the HTTP one unless it has its own.
  case "$target" in
    fuzz_config_loader) dict="$root/test/fuzz/yaml.dict" ;;
    fuzz_trace_context) dict="$root/test/fuzz/trace_context.dict" ;;
    fuzz_jwt) dict="$root/test/fuzz/jwt.dict" ;;
    fuzz_jwks) dict="$root/test/fuzz/jwks.dict" ;;
    fuzz_resp) dict="$root/test/fuzz/resp.dict" ;;
    *) dict="$root/test/fuzz/http.dict" ;;
  esac
  work="$root/test/fuzz/corpus-work/$corpus_name"
  mkdir -p "$work"
  cp -n "$root/test/fuzz/corpus/$corpus_name/"* "$work/" 2>/dev/null || true
  before=$(find "$artifacts" -name "*${target}*" -type f | wc -l)
  echo "== $target for ${seconds}s (corpus $work)"
  # A crash makes libFuzzer exit non-zero; keep going so every target gets its turn.
  if ! "$build/test/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
      -dict="$dict" -artifact_prefix="$artifacts/${target}-" "$work"; then
    status=1
  fi
  after=$(find "$artifacts" -name "*${target}*" -type f | wc -l)
  if [ "$after" -gt "$before" ]; then
    echo "!! $target left a crash artifact in $artifacts" >&2
    status=1
  fi
done
exit $status
