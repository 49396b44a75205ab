#!/usr/bin/env bash
# Experiment 1 (docs/results.md): PneumoniaMNIST split by fl-prep across three hospitals
# (weights 50/30/20%) with label skew (each class's shares over the hospitals ~
# Dirichlet(alpha K w), alpha 0.5; configs/prep-pneumonia.json), ResNet, 10 rounds of 2 local epochs with
# label-skew calibration and light augmentation (configs/experiments/pneumonia-plan.json).
# Federated (secure aggregation on) against each hospital alone and against pooled training, on each hospital's test split and on the official
# test set (the union of the hospitals' test splits).
#   bash scripts/experiments/pneumonia-label-skew.sh [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/pneumoniamnist/pneumoniamnist.npz"
[ -f "$DATA" ] || { echo "pneumonia-label-skew.sh: missing $DATA" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] && [ -x "$ROOT/build/worker/prep/fl-prep" ] || bash "$ROOT/scripts/build.sh"
RUN="$ROOT/runs/pneumonia-label-skew"
rm -rf "$RUN"
mkdir -p "$RUN"
# The hospitals' files and sites.json (each hospital's data section, the pooled data and
# the global test set, which are the original file).
"$ROOT/build/worker/prep/fl-prep" --spec "$ROOT/configs/prep-pneumonia.json" --output "$RUN/sites" \
  --input "$DATA" --summary "$RUN/prep-summary.json" >/dev/null
python3 "$ROOT/scripts/fl-launch" --sites "$RUN/sites/sites.json" --rounds "${1:-10}" \
  --plan "$ROOT/configs/experiments/pneumonia-plan.json" --threads 1 \
  --run-dir "$RUN/federation" --timeout 3000 --report
