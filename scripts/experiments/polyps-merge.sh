#!/usr/bin/env bash
# Experiment 6, polyps (docs/results.md): the base is the 2-D U-Net trained on Kvasir-SEG;
# CVC-ClinicDB is split into three hospitals (configs/prep-polyps-merge.json). The hospitals
# fine-tune the base one after another and merge through a merge federation
# (scripts/experiments/merge_experiment.py); compared with each hospital's own fine-tuned
# model, synchronous FedAvg from the base with the same local epochs, and pooled
# fine-tuning, by Dice per image on each hospital's test split and on all of them
# together. Images are resized to 96x96. Plans: configs/experiments/polyps-merge.json.
#   bash scripts/experiments/polyps-merge.sh [PASSES [WEIGHTING [METHOD]]]   (local epochs per fine-tuning, FedAvg gets
#   as many rounds; WEIGHTING samples (default) or uniform; METHOD sum (default) or ties)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/polyp"
[ -d "$DATA/kvasir/images" ] || { echo "polyps-merge.sh: missing $DATA/kvasir/images" >&2; exit 2; }
[ -d "$DATA/cvc_clinicdb/images" ] || { echo "polyps-merge.sh: missing $DATA/cvc_clinicdb/images" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] && [ -x "$ROOT/build/worker/prep/fl-prep" ] || bash "$ROOT/scripts/build.sh"
PASSES="${1:-}"
WEIGHTING="${2:-}"
METHOD="${3:-}"
RUN="$ROOT/runs/polyps-merge${PASSES:+-r$PASSES}${WEIGHTING:+-$WEIGHTING}${METHOD:+-$METHOD}"
rm -rf "$RUN"
mkdir -p "$RUN"
(cd "$ROOT" && build/worker/prep/fl-prep --spec configs/prep-polyps-merge.json --output "$RUN/sites" \
   --summary "$RUN/prep-summary.json" >/dev/null)
/usr/bin/python3 - "$RUN" "$ROOT/configs/experiments/polyps-merge.json" <<'PY'
import json, sys
run, plans = sys.argv[1], json.load(open(sys.argv[2]))
def images(site, test=True):
    images = {"channels": 3, "height": 96, "width": 96}
    if test:
        images["test_dir"] = run + "/sites/" + site + "/test"
    return {"format": "images", "path": run + "/sites/" + site + "/train", "images": images}
cvc = ["cvc-a", "cvc-b", "cvc-c"]
union = lambda parts: {"format": "union", "parts": parts}
spec = dict(plans, public=images("kvasir"), hospitals={s: images(s) for s in cvc},
            pooled=union([images(s) for s in cvc]), global_test=union([images(s) for s in cvc]))
json.dump(spec, open(run + "/spec.json", "w"), indent=1)
PY
/usr/bin/python3 "$ROOT/scripts/experiments/merge_experiment.py" "$RUN/spec.json" "$RUN/experiment" "$@" \
  | tee "$RUN/table.md"
