#!/usr/bin/env bash
# Personal models (docs/results.md, "Personal models on the four left-atrium centres"): the four left-atrium centres of experiment 3 (C's and D's masks perturbed, their local
# test masks opened / closed; the 20 volumes of test.list as the global test set), a 2-D
# U-Net on axial slices, and one federation per personalization method, each scored on
# every centre's local test split (Dice per volume with its 95% bootstrap interval):
#   local only | FedAvg's global model | FedAvg + local fine-tuning | FedBN | FedRep | Ditto |
#   decoupled prediction (local predictions)
# and on the global test set: FedAvg's global model against decoupled prediction's generic
# model. Sizes for a 2-core machine: ROUNDS rounds (default 6) of one local epoch over every
# 4th training slice (configs/experiments/left-atrium-personal-plan.json).
#   bash scripts/experiments/left-atrium-personal.sh [ROUNDS] [METHOD ...]
# LA_PERSONAL_PLAN and LA_PERSONAL_RUN replace the plan and the run directory (a variant
# beside the main run).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${FL_DATA_DIR:-$ROOT/../shared/data}/left_atrium"
ROUNDS="${1:-6}"
shift || true
METHODS=("$@")
[ ${#METHODS[@]} -gt 0 ] || METHODS=(finetune fedbn fedrep ditto decoupled)
PLAN="${LA_PERSONAL_PLAN:-$ROOT/configs/experiments/left-atrium-personal-plan.json}"
RUN="${LA_PERSONAL_RUN:-$ROOT/runs/left-atrium-personal}"
[ -d "$DATA/volumes" ] || { echo "left-atrium-personal.sh: missing $DATA/volumes" >&2; exit 2; }
[ -x "$ROOT/build/worker/fl-worker" ] || bash "$ROOT/scripts/build.sh"

rm -rf "$RUN"
mkdir -p "$RUN"
# The centres and sites.json; the pooled baseline is not part of this comparison.
/usr/bin/python3 "$ROOT/scripts/experiments/la_sites.py" "$RUN" "$DATA" 2d --slice-stride 4 --no-pooled

baseline=()
for method in "${METHODS[@]}"; do
  start=$(date +%s)
  # The first federation also trains each centre alone (the local-only column).
  python3 "$ROOT/scripts/fl-launch" --sites "$RUN/sites.json" --plan "$PLAN" --personalization "$method" \
    --rounds "$ROUNDS" --threads 1 --run-dir "$RUN/$method" --timeout 3000 "${baseline[@]}" > "$RUN/$method.log" 2>&1 \
    || { echo "left-atrium-personal.sh: the $method federation failed; see $RUN/$method.log" >&2; exit 1; }
  echo "$method: $(( $(date +%s) - start )) s" | tee -a "$RUN/timings.txt"
  baseline=(--no-baseline)
done
/usr/bin/python3 "$ROOT/scripts/experiments/personal_table.py" "$RUN" "$ROOT/build/worker/fl-worker" "${METHODS[@]}" \
  | tee "$RUN/table.md"
