#!/usr/bin/env bash
# Experiment 1 (docs/results.md): PneumoniaMNIST split across three hospitals (50/30/20% of
# the images) with label skew (each class's share per hospital ~ Dirichlet(0.5)), ResNet,
# 10 rounds of 2 local epochs. Federated (secure aggregation on) against each hospital
# alone and against pooled training, on each hospital's test split and on the official
# test set (the union of the hospitals' test splits).
#   bash scripts/experiments/pneumonia-label-skew.sh [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/pneumoniamnist/pneumoniamnist.npz"
[ -f "$DATA" ] || { echo "pneumonia-label-skew.sh: missing $DATA" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] || bash "$ROOT/scripts/build.sh"
rm -rf "$ROOT/runs/pneumonia-label-skew"
python3 "$ROOT/scripts/fl-launch" --data "$DATA" --dirichlet 0.5 --rounds "${1:-10}" --pooled \
  --plan "$ROOT/configs/experiments/pneumonia-plan.json" --threads 1 \
  --run-dir "$ROOT/runs/pneumonia-label-skew" --timeout 3000
