#!/usr/bin/env python3
"""The table of scripts/experiments/left-atrium-personal.sh: each centre's local-test Dice
[95% interval] under every method, and the global test set for FedAvg's global model and
decoupled prediction's generic model.
  personal_table.py RUN FL_WORKER METHOD ..."""
import json
import os
import subprocess
import sys

NAMES = {"local": "local only", "fedavg": "FedAvg (global model)", "finetune": "FedAvg + fine-tuning",
         "fedbn": "FedBN", "fedrep": "FedRep", "ditto": "Ditto", "decoupled": "decoupled (local prediction)"}


def cell(m):
    if not m or "test_dice" not in m:
        return "-"
    low, high = m.get("test_dice_low"), m.get("test_dice_high")
    return "%.4f [%.3f, %.3f]" % (m["test_dice"], low, high) if low is not None else "%.4f" % m["test_dice"]


def evaluate(worker, config, model):
    p = subprocess.run([worker, "evaluate", "--config", config, "--model", model, "--log-level", "warning"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("evaluating %s on %s failed: %s" % (model, config, p.stderr))
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(run, worker, methods):
    summaries = {m: json.load(open(os.path.join(run, m, "summary.json")))
                 for m in methods}
    centres = list(summaries[methods[0]]["hospitals"])
    columns = {}
    first = summaries[methods[0]]["hospitals"]
    if any("local_only" in first[c] for c in centres):
        columns["local"] = {c: first[c].get("local_only") for c in centres}
    if "finetune" in methods:
        # FedAvg's global model: the fine-tuning run's checkpoint, scored at each centre.
        model = summaries["finetune"]["federated_model"]
        columns["fedavg"] = {c: evaluate(worker, os.path.join(run, "finetune", "worker-%s.json" % c), model)
                             for c in centres}
    for m in methods:
        columns[m] = {c: summaries[m]["hospitals"][c].get("federated") for c in centres}
    print("| local-test Dice [95% CI] | " + " | ".join(NAMES.get(k, k) for k in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for c in centres:
        print("| %s | " % c + " | ".join(cell(columns[k][c]) for k in columns) + " |")
    means = []
    for k in columns:
        v = [columns[k][c]["test_dice"] for c in centres if columns[k][c] and "test_dice" in columns[k][c]]
        means.append("%.4f" % (sum(v) / len(v)) if v else "-")
    print("| mean | " + " | ".join(means) + " |")
    print()
    print("| global test set (20 volumes) | Dice [95% CI] |")
    print("|---|---|")
    for m, label in (("finetune", "FedAvg's global model"), ("decoupled", "decoupled prediction's generic model")):
        if m in summaries:
            print("| %s | %s |" % (label, cell(summaries[m].get("global_test", {}).get("federated"))))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
