#!/usr/bin/env bash
# Experiment 4 (docs/results.md): polyp segmentation across two real centres, Kvasir-SEG and
# CVC-ClinicDB, each with its own test split (configs/prep-polyps.json; each centre runs two
# workers because secure aggregation needs at least three). Images are resized to 96x96. A
# 2-D U-Net is trained federated (secure aggregation on), by each centre alone, and on the
# pooled training images; all are scored (Dice per image) on each centre's test split.
#   bash scripts/experiments/polyps.sh [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/polyp"
ROUNDS="${1:-20}"
RUN="$ROOT/runs/polyps"
[ -d "$DATA/kvasir/images" ] || { echo "polyps.sh: missing $DATA/kvasir/images" >&2; exit 2; }
[ -d "$DATA/cvc_clinicdb/images" ] || { echo "polyps.sh: missing $DATA/cvc_clinicdb/images" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] || bash "$ROOT/scripts/build.sh"

rm -rf "$RUN"
mkdir -p "$RUN"
(cd "$ROOT" && build/worker/prep/fl-prep --spec configs/prep-polyps.json --output "$RUN/sites" \
   --summary "$RUN/prep-summary.json" >/dev/null)

# One folder per centre (its two workers' halves joined) and one with everything (pooled).
join() {  # join DEST SITE...
  local dest="$1"; shift
  for split in train test; do
    mkdir -p "$dest/$split/images" "$dest/$split/masks"
    for site in "$@"; do
      for kind in images masks; do
        for f in "$RUN/sites/$site/$split/$kind/"*; do
          [ -e "$f" ] && ln -s "$(readlink -f "$f")" "$dest/$split/$kind/"
        done
      done
    done
  done
}
join "$RUN/centres/kvasir" kvasir-1 kvasir-2
join "$RUN/centres/cvc-clinicdb" cvc-1 cvc-2
join "$RUN/pooled" kvasir-1 kvasir-2 cvc-1 cvc-2

/usr/bin/python3 - "$RUN" <<'PY'
import json, os, sys
run = sys.argv[1]
def images(root):
    section = {"format": "images", "path": root + "/train",
               "images": {"channels": 3, "height": 96, "width": 96}}
    if os.path.isdir(root + "/test/images") and os.listdir(root + "/test/images"):
        section["images"]["test_dir"] = root + "/test"
    return section
spec = {"sites": {s: images(f"{run}/sites/{s}") for s in ["kvasir-1", "kvasir-2", "cvc-1", "cvc-2"]},
        "centres": {c: images(f"{run}/centres/{c}") for c in ["kvasir", "cvc-clinicdb"]},
        "pooled": images(f"{run}/pooled")}
json.dump(spec, open(f"{run}/sites.json", "w"), indent=2)
PY

python3 "$ROOT/scripts/fl-launch" --sites "$RUN/sites.json" --plan "$ROOT/configs/experiments/polyps-plan.json" \
  --rounds "$ROUNDS" --threads 1 --run-dir "$RUN/federation" --timeout 3000
