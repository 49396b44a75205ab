#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds, and runs a real federation on loopback:
# one fl-coordinator and three fl-worker processes (three hospitals of unequal size from
# the Wisconsin Diagnostic Breast Cancer table), about 10 rounds of masked weighted FedAvg,
# then a table of federated versus single-hospital test accuracy.
# Extra arguments go to scripts/fl-launch (see scripts/fl-launch --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec python3 scripts/fl-launch "$@"
