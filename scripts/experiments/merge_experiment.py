#!/usr/bin/env python3
"""Experiment 6 (docs/results.md, docs/merging.md): hospitals that cannot train at the same
time merge their fine-tuning deltas through a merge federation, against synchronous
FedAvg from the same base with the same local epochs, and against pooled fine-tuning.

Everything runs through the real binaries:
  1. the base: fl-worker local on the public data;
  2. each hospital fine-tunes it, one after another (fl-worker finetune, R passes);
  3. a merge federation (CURVE on loopback): the hospitals come online one after another
     with their vectors (fl-worker contribute) and are merged into version 1; then each
     fine-tunes again from version 1 and contributes against it (version 2, re-based);
  4. synchronous FedAvg from the base, R rounds of the same plan (fl-coordinator with
     init_checkpoint, fl-worker);
  5. pooled fine-tuning: the base fine-tuned R passes on the union of the hospitals' data;
  6. every model scored with fl-worker evaluate on each hospital's test split and on the
     global test set.

With METHOD ties, the merge federation merges with TIES (docs/merging.md), and the run
also reports how often a parameter's disjoint mean is one hospital's own entry.

  merge_experiment.py SPEC.json RUN_DIR [PASSES [WEIGHTING [METHOD]]]   (overriding the spec's)
SPEC: {"public": DATA, "hospitals": {NAME: DATA}, "pooled": DATA, "global_test": DATA,
       "base_plan": PLAN, "base_rounds": N, "plan": PLAN, "passes": R, "metric": "accuracy"|"dice",
       "lambdas": [...], "weighting": "samples"|"uniform", "method": "sum"|"ties",
       "ties_density": D, "threads": T}
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from experiment_util import COORDINATOR, WORKER, RunDir, last_json, run  # noqa: E402


class Experiment(RunDir):
    def __init__(self, spec, run_dir):
        self.spec = spec
        RunDir.__init__(self, run_dir)
        self.hospitals = sorted(spec["hospitals"])
        self.samples = {}
        self.passes = spec["passes"]
        self.threads = spec.get("threads", 1)
        os.makedirs(self.path("keys"))
        self.roster = self.path("keys", "roster.json")
        for h in self.hospitals:
            run([WORKER, "keygen", "--name", h, "--out", self.path("keys", h + ".key"), "--roster", self.roster])
        out = run([COORDINATOR, "keygen", "--out", self.path("keys", "coordinator.key")])
        self.coordinator_key = json.loads(out)["public_key"]
        self.write("plan.json", {"plan": spec["plan"]})
        self.write("base-plan.json", {"plan": spec["base_plan"]})

    def worker_config(self, name, data, port=0, state=None):
        cfg = {"name": name, "data": data, "device": {"threads": self.threads}, "validation_fraction": 0.1,
               "allow_ties_merging": self.spec.get("method") == "ties",
               "ties_density": self.spec.get("ties_density", 0.2)}
        if port:
            cfg.update({"coordinator": "tcp://127.0.0.1:%d" % port, "coordinator_public_key": self.coordinator_key,
                        "identity_key": self.path("keys", name + ".key"), "roster": self.roster,
                        "timeouts": {"connect_s": 600}})
        if state:
            cfg["state_dir"] = state
        return self.write("worker-%s-%s.json" % (name, port or "offline"), cfg)

    def coordinator_config(self, port, state, extra):
        cfg = {"listen": "tcp://127.0.0.1:%d" % port, "min_workers": 3, "max_workers": 3, "state_dir": state,
               "roster": self.roster, "transport": {"security": "curve",
                                                     "secret_key": self.path("keys", "coordinator.key")},
               "timeouts": {"phase_s": 3600, "heartbeat_s": 60, "final_report_s": 600},
               "secagg": {"clip": 1.0}, "plan": self.spec["plan"]}
        cfg.update(extra)
        return self.write("coordinator-%d.json" % port, cfg)

    def base(self):
        cfg = self.worker_config("public", self.spec["public"])
        out = self.path("base.safetensors")
        run([WORKER, "local", "--config", cfg, "--plan", self.path("base-plan.json"), "--rounds",
             str(self.spec["base_rounds"]), "--output-model", out, "--log-level", "warning"])
        return out

    def finetune(self, h, base, tag):
        cfg = self.worker_config(h, self.spec["hospitals"][h], state=self.path("state-" + h))
        out = self.path("tuned-%s-%s.safetensors" % (h, tag))
        summary = last_json(run([WORKER, "finetune", "--config", cfg, "--base", base, "--plan", self.path("plan.json"),
                                 "--rounds", str(self.passes), "--output-model", out, "--log-level", "warning"]))
        self.samples[h] = summary["samples"]
        return out, summary

    def merge(self, port, base, windows):
        """A merge federation; windows: a list of {hospital: base file} fine-tuned in turn."""
        state = self.path("merge-state")
        cfg = self.coordinator_config(port, state, {
            "rounds": len(windows),
            "merge": {"base": base, "window_s": 2, "lambdas": self.spec["lambdas"], "max_staleness": 1,
                      "weighting": self.spec.get("weighting", "samples"), "method": self.spec.get("method", "sum"),
                      "ties_density": self.spec.get("ties_density", 0.2)}})
        log = open(self.path("merge-coordinator.log"), "w")
        coord = subprocess.Popen([COORDINATOR, "--config", cfg], stderr=log)
        timeline = []
        try:
            for version, window in enumerate(windows, 1):
                procs = []
                for h in self.hospitals:
                    source = window[h] if isinstance(window[h], str) else window[h](version)
                    self.finetune(h, source, "v%d" % (version - 1))
                    wcfg = self.worker_config(h, self.spec["hospitals"][h], port, self.path("state-" + h))
                    with open(self.path("contribute-%s-%d.log" % (h, version)), "w") as wlog:
                        procs.append(subprocess.Popen([WORKER, "contribute", "--config", wcfg, "--once"],
                                                      stderr=wlog, stdout=subprocess.DEVNULL))
                    timeline.append({"time": time.time(), "hospital": h, "contributes_against": version - 1})
                for p in procs:
                    if p.wait(timeout=3600) != 0:
                        sys.exit("merge_experiment: a contributor failed; see %s" % self.dir)
            if coord.wait(timeout=600) != 0:
                sys.exit("merge_experiment: the merge coordinator failed; see merge-coordinator.log")
        finally:
            if coord.poll() is None:
                coord.kill()
            log.close()
        lines = [json.loads(l) for l in open(os.path.join(state, "metrics.jsonl"))]
        return state, [l for l in lines if l.get("kind") == "merge"], timeline

    def fedavg(self, port, base):
        state = self.path("fedavg-state")
        cfg = self.coordinator_config(port, state, {"rounds": self.passes, "init_checkpoint": base})
        log = open(self.path("fedavg-coordinator.log"), "w")
        coord = subprocess.Popen([COORDINATOR, "--config", cfg], stderr=log)
        procs = []
        for h in self.hospitals:
            wcfg = self.worker_config(h, self.spec["hospitals"][h], port)
            with open(self.path("fedavg-%s.log" % h), "w") as wlog:
                procs.append(subprocess.Popen([WORKER, "--config", wcfg, "--once"], stderr=wlog,
                                              stdout=subprocess.DEVNULL))
        try:
            for p in procs + [coord]:
                if p.wait(timeout=7200) != 0:
                    sys.exit("merge_experiment: the FedAvg federation failed; see %s" % self.dir)
        finally:
            log.close()
        return os.path.join(state, "model-v%06d.safetensors" % self.passes)

    def evaluate(self, model):
        scores = {}
        for name, data in [(h, self.spec["hospitals"][h]) for h in self.hospitals] + \
                [("global", self.spec["global_test"])]:
            cfg = self.worker_config("eval-" + name, data)
            scores[name] = last_json(run([WORKER, "evaluate", "--config", cfg, "--model", model,
                                          "--log-level", "warning"]))
        return scores


def read_flat(path):
    """A safetensors file's tensors, flattened in name order (float32)."""
    import numpy as np
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        data = f.read()
    parts = []
    for name in sorted(k for k in header if k != "__metadata__"):
        begin, end = header[name]["data_offsets"]
        parts.append(np.frombuffer(data[begin:end], dtype=np.float32))
    return np.concatenate(parts)


def ties_exposure(e, base, density):
    """Over the first window's vectors (weighted by sample count, as merged): the share of
    parameters with an elected sign whose disjoint mean is one hospital's own entry (one
    agrees), and the share where one hospital alone disagrees (the trimmed sum less the
    agreeing sum is its entry)."""
    import numpy as np
    b = read_flat(base)
    trimmed, weights = [], []
    for h in e.hospitals:
        tau = read_flat(e.path("tuned-%s-v0.safetensors" % h)) - b
        keep = int(np.ceil(density * tau.size))
        order = np.argsort(-np.abs(tau), kind="stable")[:keep]
        t = np.zeros_like(tau)
        t[order] = tau[order]
        trimmed.append(t)
        weights.append(1 if e.spec.get("weighting") == "uniform" else e.samples[h])
    signs = np.sign(sum(w * t for w, t in zip(weights, trimmed)))
    agreeing = sum((t * signs > 0).astype(int) for t in trimmed)
    disagreeing = sum((t * signs < 0).astype(int) for t in trimmed)
    elected = signs != 0
    return {"elected": float(elected.mean()), "one_agrees": float((agreeing[elected] == 1).mean()),
            "one_disagrees": float((disagreeing[elected] == 1).mean())}


def cell(m, metric):
    v = m.get("test_" + metric)
    lo, hi = m.get("test_%s_low" % metric), m.get("test_%s_high" % metric)
    if v is None:
        return "-"
    return "%.4f [%.3f, %.3f]" % (v, lo, hi) if lo is not None and hi is not None else "%.4f" % v


def main():
    if not 3 <= len(sys.argv) <= 6:
        sys.exit(__doc__)
    spec = json.load(open(sys.argv[1]))
    if len(sys.argv) > 3:
        spec["passes"] = int(sys.argv[3])
    if len(sys.argv) > 4:
        spec["weighting"] = sys.argv[4]
    if len(sys.argv) > 5:
        spec["method"] = sys.argv[5]
    run_dir = os.path.abspath(sys.argv[2])
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    e = Experiment(spec, run_dir)
    started = time.time()
    base = e.base()
    port = 17000 + os.getpid() % 1000
    merge_state, versions, timeline = e.merge(port, base, [
        {h: base for h in e.hospitals},
        {h: (lambda v: os.path.join(run_dir, "merge-state", "model-v%06d.safetensors" % (v - 1)))
         for h in e.hospitals}])
    models = {"base": base}
    for h in e.hospitals:
        models["fine-tuned at " + h] = e.path("tuned-%s-v0.safetensors" % h)
    merged = "merged with TIES" if spec.get("method") == "ties" else "merged"
    models[merged + " v1"] = os.path.join(merge_state, "model-v000001.safetensors")
    models[merged + " v2 (from v1)"] = os.path.join(merge_state, "model-v000002.safetensors")
    models["FedAvg"] = e.fedavg(port + 1, base)
    cfg = e.worker_config("pooled", spec["pooled"], state=e.path("state-pooled"))
    pooled = e.path("pooled.safetensors")
    run([WORKER, "finetune", "--config", cfg, "--base", base, "--plan", e.path("plan.json"), "--rounds",
         str(spec["passes"]), "--output-model", pooled, "--log-level", "warning"])
    models["pooled fine-tuning"] = pooled
    scores = {name: e.evaluate(path) for name, path in models.items()}
    summary = {"spec": spec, "versions": versions, "timeline": timeline, "scores": scores,
               "seconds": time.time() - started}
    if spec.get("method") == "ties":
        summary["ties_exposure"] = ties_exposure(e, base, spec.get("ties_density", 0.2))
    with open(e.path("summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    metric = spec["metric"]
    cols = e.hospitals + ["global"]
    print("| model | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name in models:
        print("| %s | %s |" % (name, " | ".join(cell(scores[name][c], metric) for c in cols)))
    for v in versions:
        print("version %d: lambda %g, scores %s" % (v["model_version"], v["lambda"],
                                                   ", ".join("%g: %.4f" % (s["lambda"], s["validation_score"])
                                                             for s in v["lambda_scores"])))
    if "ties_exposure" in summary:
        print("TIES, window 1: %(elected).3f of the parameters elected a sign; of those, one hospital alone "
              "agrees at %(one_agrees).3f and one alone disagrees at %(one_disagrees).3f" % summary["ties_exposure"])
    print("%.0f s" % summary["seconds"])


if __name__ == "__main__":
    main()
