#!/usr/bin/env bash
# Configures and builds Portico (Release by default) into ./build with Ninja (and ccache if present).
#   scripts/build.sh [extra cmake args...]      BUILD_DIR, BUILD_TYPE and TARGETS may be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@"
fi
# Two cores: two compile jobs, and no more, so the machine stays usable.
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" ${TARGETS:+--target $TARGETS}
