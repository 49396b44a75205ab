#!/usr/bin/env bash
# Experiment 7 (docs/results.md): a student hospital's unlabelled PneumoniaMNIST images
# labelled by a private vote of three hospitals' PATE teachers (experiment 1's label-skewed
# split), for several noise settings, against the teachers' noiseless vote, a student
# trained on the true labels of the same queries, and experiment 1's federated model
# (run scripts/experiments/pneumonia-label-skew.sh first to have it in the table).
# configs/experiments/pneumonia-vote-random.json runs the same on a split without label skew.
#   bash scripts/experiments/pneumonia-vote.sh [SPEC.json]      (results in runs/<SPEC name>)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/pneumoniamnist/pneumoniamnist.npz"
[ -f "$DATA" ] || { echo "pneumonia-vote.sh: missing $DATA" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] && [ -x "$ROOT/build/worker/prep/fl-prep" ] || bash "$ROOT/scripts/build.sh"
SPEC="${1:-$ROOT/configs/experiments/pneumonia-vote.json}"
RUN="$ROOT/runs/$(basename "$SPEC" .json)"
rm -rf "$RUN"
mkdir -p "$RUN"
FL_PNEUMONIA_NPZ="$DATA" /usr/bin/python3 "$ROOT/scripts/experiments/vote_experiment.py" "$SPEC" "$RUN"
