#!/usr/bin/env bash
# Experiment 2 (docs/results.md): the label-skew federation of experiment 1 trained with
# PGD (eps 4/255, 3 steps of 2/255 from a random start, half of each batch adversarial),
# against the clean-trained federated model of experiment 1 (run it first). Both are scored
# on the official test set and on the validation split: clean accuracy and robust accuracy
# under PGD-20 at 2/255 and 4/255. PGD training costs about 2 times clean training, so the single-hospital and
# pooled PGD baselines are not trained here (experiment 1 has the clean ones).
#   bash scripts/experiments/pneumonia-pgd.sh [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/pneumoniamnist/pneumoniamnist.npz"
CLEAN="$ROOT/runs/pneumonia-label-skew/federation"
SITES="$ROOT/runs/pneumonia-label-skew/sites/sites.json"
[ -f "$DATA" ] || { echo "pneumonia-pgd.sh: missing $DATA" >&2; exit 2; }
[ -f "$SITES" ] && [ -f "$CLEAN/state/latest.json" ] || { echo "pneumonia-pgd.sh: run scripts/experiments/pneumonia-label-skew.sh first" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] || bash "$ROOT/scripts/build.sh"
rm -rf "$ROOT/runs/pneumonia-pgd"
# The hospitals of experiment 1 (its fl-prep output).
python3 "$ROOT/scripts/fl-launch" --sites "$SITES" --rounds "${1:-10}" --no-baseline \
  --robust-eps 0.0078,0.0157 \
  --plan "$ROOT/configs/experiments/pneumonia-pgd-plan.json" --threads 1 \
  --run-dir "$ROOT/runs/pneumonia-pgd" --timeout 3000

echo
echo "Clean-trained federated model (experiment 1) on the official test set:"
MODEL="$CLEAN/state/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["file"])' "$CLEAN/state/latest.json")"
"$ROOT/build/worker/fl-worker" evaluate --config "$CLEAN/worker-global_test.json" --model "$MODEL" \
  --robust-eps 0.0078,0.0157 --log-level warning

# Both federated models on the validation split (524 images from the training
# distribution; not used for training, used to choose the plan).
echo
echo "Validation split: clean-trained (experiment 1), then PGD-trained:"
for RUN in "$CLEAN" "$ROOT/runs/pneumonia-pgd"; do
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["data"].setdefault("npz", {})["test_prefix"]="val"; json.dump(c, open(sys.argv[2], "w"), indent=2)' \
    "$RUN/worker-global_test.json" "$RUN/worker-validation.json"
  MODEL="$RUN/state/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["file"])' "$RUN/state/latest.json")"
  "$ROOT/build/worker/fl-worker" evaluate --config "$RUN/worker-validation.json" --model "$MODEL" \
    --robust-eps 0.0078,0.0157 --log-level warning
done
