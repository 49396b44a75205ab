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
# The spec's relative paths are relative to the project root.
(cd "$ROOT" && build/worker/prep/fl-prep --spec configs/prep-left-atrium.json --output "$RUN/sites" \
   --summary "$RUN/prep-summary.json" >/dev/null)

# Pooled data: every centre's training volumes (with their perturbed masks) in one folder.
mkdir -p "$RUN/pooled/volumes"
: > "$RUN/pooled/train.list"
: > "$RUN/pooled/test.list"
for site in centre-a centre-b centre-c centre-d; do
  for f in "$RUN/sites/$site/volumes/"*; do ln -s "$(readlink -f "$f")" "$RUN/pooled/volumes/$(basename "$f")"; done
  cat "$RUN/sites/$site/train.list" >> "$RUN/pooled/train.list"
  cat "$RUN/sites/$site/test.list" >> "$RUN/pooled/test.list"
done

/usr/bin/python3 - "$RUN" "$DATA" "$MODE" <<'PY'
import json, sys
run, data, mode = sys.argv[1], sys.argv[2], sys.argv[3]
# 2d: axial slices cropped to 96x80, every 2nd slice for training; 3d: whole volumes at 2.5 mm.
prep = (dict(crop=[96, 80], slice_stride=2) if mode == "2d"
        else dict(mode="volumes", spacing=[2.5, 2.5, 2.5], crop=[48, 40, 24]))
def nifti(path, train, test):
    lists = {"test_list": test}
    if train:
        lists["train_list"] = train
    return {"format": "nifti", "path": path, "nifti": dict(lists, **prep)}
sites = {s: nifti(f"{run}/sites/{s}/volumes", f"{run}/sites/{s}/train.list", f"{run}/sites/{s}/test.list")
         for s in ["centre-a", "centre-b", "centre-c", "centre-d"]}
spec = {"sites": sites,
        "pooled": nifti(f"{run}/pooled/volumes", f"{run}/pooled/train.list", f"{run}/pooled/test.list"),
        # Global test set: evaluation only, so no training list.
        "global_test": nifti(f"{data}/volumes", None, f"{data}/test.list")}
json.dump(spec, open(f"{run}/sites.json", "w"), indent=2)
PY

python3 "$ROOT/scripts/fl-launch" --sites "$RUN/sites.json" --plan "$PLAN" \
  --rounds "$ROUNDS" --threads 1 --run-dir "$RUN/federation" --timeout 3000
