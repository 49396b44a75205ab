#!/usr/bin/env bash
# Builds everything that needs no LibTorch (common/, coordinator/, worker/data, fl-prep)
# with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/, then runs its unit
# tests and the fuzz corpus replays there. A memory error, a leak or undefined behaviour
# fails the run. CI runs it after the main suite (.ci/run).
# Usage: scripts/sanitize.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL_BUILD_WORKER=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build build-asan -j "${FL_JOBS:-2}"
cd build-asan
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --output-on-failure -j "${FL_TEST_JOBS:-2}" --timeout 900 -R '^(unit|fuzz)/' "$@"
