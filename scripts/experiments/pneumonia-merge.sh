#!/usr/bin/env bash
# Experiment 6, PneumoniaMNIST (docs/results.md): the base is the ResNet trained on a fixed 20%
# of the training images (seed 2024); the other 80% are dealt to three hospitals with the
# label skew of experiment 1 (fl-prep, Dirichlet alpha 0.5, weights 50/30/20%), with the
# validation and test images dealt the same way. The hospitals fine-tune the base one after
# another and merge through a merge federation (scripts/experiments/merge_experiment.py);
# compared with each hospital's own fine-tuned model, synchronous FedAvg from the base with
# the same local epochs, and pooled fine-tuning, on each hospital's test split and on the
# official test set. Plans: configs/experiments/pneumonia-merge.json.
#   bash scripts/experiments/pneumonia-merge.sh [PASSES [WEIGHTING [METHOD]]]   (local epochs per fine-tuning, FedAvg gets
#   as many rounds; WEIGHTING samples (default) or uniform; METHOD sum (default) or ties)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/pneumoniamnist/pneumoniamnist.npz"
[ -f "$DATA" ] || { echo "pneumonia-merge.sh: missing $DATA" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] && [ -x "$ROOT/build/worker/prep/fl-prep" ] || bash "$ROOT/scripts/build.sh"
PASSES="${1:-}"
WEIGHTING="${2:-}"
METHOD="${3:-}"
RUN="$ROOT/runs/pneumonia-merge${PASSES:+-r$PASSES}${WEIGHTING:+-$WEIGHTING}${METHOD:+-$METHOD}"
rm -rf "$RUN"
mkdir -p "$RUN"
# The public 20% (the base's training images) and the rest, which fl-prep deals to hospitals.
/usr/bin/python3 - "$DATA" "$RUN" <<'PY'
import sys
import numpy as np
src, run = np.load(sys.argv[1]), sys.argv[2]
n = len(src["train_labels"])
order = np.random.default_rng(2024).permutation(n)
public, rest = np.sort(order[: n // 5]), np.sort(order[n // 5:])
np.savez(run + "/public.npz", train_images=src["train_images"][public], train_labels=src["train_labels"][public],
         test_images=src["test_images"], test_labels=src["test_labels"])
np.savez(run + "/rest.npz", train_images=src["train_images"][rest], train_labels=src["train_labels"][rest],
         val_images=src["val_images"], val_labels=src["val_labels"],
         test_images=src["test_images"], test_labels=src["test_labels"])
PY
"$ROOT/build/worker/prep/fl-prep" --spec "$ROOT/configs/prep-pneumonia.json" --output "$RUN/sites" \
  --input "$RUN/rest.npz" --summary "$RUN/prep-summary.json" >/dev/null
/usr/bin/python3 - "$RUN" "$ROOT/configs/experiments/pneumonia-merge.json" <<'PY'
import json, sys
run, plans = sys.argv[1], json.load(open(sys.argv[2]))
sites = json.load(open(run + "/sites/sites.json"))
spec = dict(plans, public={"format": "npz", "path": run + "/public.npz", "npz": {"num_classes": 2}},
            hospitals=sites["sites"], pooled=sites["pooled"], global_test=sites["global_test"])
json.dump(spec, open(run + "/spec.json", "w"), indent=1)
PY
/usr/bin/python3 "$ROOT/scripts/experiments/merge_experiment.py" "$RUN/spec.json" "$RUN/experiment" "$@" \
  | tee "$RUN/table.md"
