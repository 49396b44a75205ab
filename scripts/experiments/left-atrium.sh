#!/usr/bin/env bash
# Experiment 3 (docs/results.md): left-atrium segmentation across four centres with
# different annotation habits. fl-prep makes centres A-D from the 80 volumes of train.list
# (C's and D's masks perturbed, configs/prep-left-atrium.json); the 20 volumes of test.list
# are the global test set. A 2-D U-Net on axial slices is trained federated (secure
# aggregation on), by each centre alone, and on the pooled training data; all are scored on
# every centre's own test split and on the global test set (Dice per volume).
# With "3d" as the second argument the same centres train a 3-D U-Net on whole volumes
# resampled to 2.5 mm (48x40x24 voxels, configs/experiments/left-atrium-3d-plan.json).
#   bash scripts/experiments/left-atrium.sh [ROUNDS] [2d|3d]   (2d: about 20 minutes on 2 cores)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/left_atrium"
ROUNDS="${1:-10}"
MODE="${2:-2d}"
case "$MODE" in
  2d) RUN="$ROOT/runs/left-atrium"; PLAN="$ROOT/configs/experiments/left-atrium-plan.json" ;;
  3d) RUN="$ROOT/runs/left-atrium-3d"; PLAN="$ROOT/configs/experiments/left-atrium-3d-plan.json" ;;
  *) echo "left-atrium.sh: the mode is 2d or 3d, not $MODE" >&2; exit 2 ;;
esac
[ -d "$DATA/volumes" ] || { echo "left-atrium.sh: missing $DATA/volumes" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] || bash "$ROOT/scripts/build.sh"

rm -rf "$RUN"
mkdir -p "$RUN"
# The centres (fl-prep) and sites.json: the centres, the pooled training data and the global test set.
/usr/bin/python3 "$ROOT/scripts/experiments/la_sites.py" "$RUN" "$DATA" "$MODE"

python3 "$ROOT/scripts/fl-launch" --sites "$RUN/sites.json" --plan "$PLAN" \
  --rounds "$ROUNDS" --threads 1 --run-dir "$RUN/federation" --timeout 3000
