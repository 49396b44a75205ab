#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds, and runs the whole test suite (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j "${FL_TEST_JOBS:-2}" --timeout 900 "$@"
