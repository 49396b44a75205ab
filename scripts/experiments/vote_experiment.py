#!/usr/bin/env python3
"""Experiment 7 (docs/results.md, docs/privacy.md): labels for a student's unlabelled
PneumoniaMNIST images from a private vote of the other hospitals' PATE teachers.

Everything that touches data runs through the real binaries:
  1. fl-prep deals the training images to 3 hospitals with experiment 1's label skew;
  2. each hospital trains M teachers on M disjoint shards of its training split
     (fl-worker teachers);
  3. the student holds the official validation images plus half of the test images,
     unlabelled (its file's labels are read only by this script, to score); the other half
     of the test images is its test split;
  4. for every noise setting: a private vote (fl-coordinator with a "vote" section, CURVE
     on loopback; fl-worker vote at each hospital; fl-worker ask at the student) until the
     budget stops it; then fl-worker student trains on the released labels, and again on
     the true labels of the same answered queries (the same command, another labels file);
  5. beside them: the teachers' noiseless plurality vote (the teachers loaded in PyTorch,
     python/hospital_fl), and experiment 1's federated model (fl-worker evaluate).

  vote_experiment.py SPEC.json RUN_DIR
SPEC: {"data": NPZ, "prep": PREP_SPEC, "teachers_per_hospital": M, "teacher_plan": PLAN,
       "teacher_rounds": R, "student_plan": PLAN, "student_rounds": R, "student_seed": S,
       "batch_queries": B, "delta": D, "settings": [{"sigma_selection", "sigma_answer",
       "threshold", "epsilon_budget"}...], "federated_model": CHECKPOINT, "threads": T}
"""
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from experiment_util import COORDINATOR, PREP, ROOT, WORKER, RunDir, free_port, last_json, run  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "python"))


def wilson(k, n, z=1.96):
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


class Experiment(RunDir):
    def __init__(self, spec, run_dir):
        import numpy as np
        self.np = np
        self.spec = spec
        RunDir.__init__(self, run_dir)
        self.threads = spec.get("threads", 1)
        os.makedirs(self.path("keys"))
        run([PREP, "--spec", os.path.join(ROOT, spec["prep"]), "--output", self.path("sites"), "--input",
             spec["data"], "--summary", self.path("prep-summary.json")])
        with open(self.path("sites", "sites.json")) as f:
            self.sites = json.load(f)["sites"]
        self.hospitals = sorted(self.sites)
        # The student: validation images plus half of the test images as its unlabelled pool,
        # the other half of the test images as its test split.
        src = np.load(spec["data"])
        order = np.random.default_rng(spec["student_seed"]).permutation(len(src["test_labels"]))
        half = len(order) // 2
        self.pool_x = np.concatenate([src["val_images"], src["test_images"][order[:half]]])
        self.pool_y = np.concatenate([src["val_labels"], src["test_labels"][order[:half]]]).ravel()
        self.test_x, self.test_y = src["test_images"][order[half:]], src["test_labels"][order[half:]].ravel()
        np.savez(self.path("student.npz"), train_images=self.pool_x, train_labels=self.pool_y.reshape(-1, 1),
                 test_images=self.test_x, test_labels=self.test_y.reshape(-1, 1))
        self.roster = self.path("keys", "roster.json")
        for name in self.hospitals + ["student"]:
            run([WORKER, "keygen", "--name", name, "--out", self.path("keys", name + ".key"), "--roster", self.roster])
        out = run([COORDINATOR, "keygen", "--out", self.path("keys", "coordinator.key")])
        self.coordinator_key = json.loads(out)["public_key"]
        self.write("teacher-plan.json", {"plan": spec["teacher_plan"]})
        self.write("student-plan.json", {"plan": spec["student_plan"]})

    def worker_config(self, name, port=0):
        data = self.sites[name] if name in self.sites else {"format": "npz", "path": self.path("student.npz")}
        # Each setting stands for a vote of its own; the same teachers answer all of them
        # here, so each hospital's own budget covers them all.
        cfg = {"name": name, "data": data, "device": {"threads": self.threads}, "state_dir": self.path("state-" + name),
               "vote_epsilon_budget": 100}
        if port:
            cfg.update({"coordinator": "tcp://127.0.0.1:%d" % port, "coordinator_public_key": self.coordinator_key,
                        "identity_key": self.path("keys", name + ".key"), "roster": self.roster,
                        "timeouts": {"connect_s": 600}})
        return self.write("worker-%s-%d.json" % (name, port), cfg)

    def teachers(self):
        out = {}
        for h in self.hospitals:
            t0 = time.time()
            out[h] = last_json(run([WORKER, "teachers", "--config", self.worker_config(h), "--plan",
                                    self.path("teacher-plan.json"), "--teachers", str(self.spec["teachers_per_hospital"]),
                                    "--rounds", str(self.spec["teacher_rounds"]), "--log-level", "warning"]))
            out[h]["seconds"] = time.time() - t0
            print("vote_experiment: %s trained %d teachers in %.0f s (own test split, noiseless vote: %.4f)" %
                  (h, out[h]["count"], out[h]["seconds"], out[h]["ensemble_test_accuracy"]), flush=True)
        return out

    def noiseless_votes(self, images):
        """Every hospital's teachers' votes on `images`, summed: the noiseless ensemble."""
        import torch
        import hospital_fl
        np = self.np
        x = torch.from_numpy(images.astype(np.float32)[:, None] / np.float32(255))
        votes = np.zeros((len(images), 2), dtype=np.int64)
        for h in self.hospitals:
            for i in range(self.spec["teachers_per_hospital"]):
                model = hospital_fl.load_model(self.path("state-" + h, "teachers", "teacher-%03d.safetensors" % i))
                model.eval()
                with torch.no_grad():
                    predicted = model(x).argmax(1).numpy()
                votes[np.arange(len(images)), predicted] += 1
        return votes

    def vote(self, index, setting):
        port = free_port()
        state = self.path("vote-%d" % index)
        vote = dict(setting, classes=2, delta=self.spec["delta"], batch_queries=self.spec["batch_queries"])
        cfg = self.write("coordinator-%d.json" % index, {
            "listen": "tcp://127.0.0.1:%d" % port, "min_workers": 3, "max_workers": 4, "rounds": 1,
            "state_dir": state, "roster": self.roster,
            "transport": {"security": "curve", "secret_key": self.path("keys", "coordinator.key")},
            "timeouts": {"phase_s": 3600, "heartbeat_s": 60}, "vote": vote, "plan": self.spec["teacher_plan"]})
        log = open(self.path("coordinator-%d.log" % index), "w")
        coord = subprocess.Popen([COORDINATOR, "--config", cfg], stderr=log)
        procs = []
        try:
            for h in self.hospitals:
                with open(self.path("vote-%s-%d.log" % (h, index)), "w") as wlog:
                    procs.append(subprocess.Popen([WORKER, "vote", "--config", self.worker_config(h, port), "--once"],
                                                  stderr=wlog, stdout=subprocess.DEVNULL))
            t0 = time.time()
            run([WORKER, "ask", "--config", self.worker_config("student", port), "--once"],
                log=self.path("ask-%d.log" % index))
            seconds = time.time() - t0
            if coord.wait(timeout=600) != 0:
                sys.exit("vote_experiment: the coordinator failed; see coordinator-%d.log" % index)
            for p in procs:
                p.wait(timeout=600)
        finally:
            for p in procs + [coord]:
                if p.poll() is None:
                    p.kill()
            log.close()
        with open(self.path("state-student", "student", "labels.json")) as f:
            labels = json.load(f)
        os.replace(self.path("state-student", "student", "labels.json"), self.path("labels-%d.json" % index))
        labels["seconds"] = seconds
        return labels

    def student(self, labels_file):
        return last_json(run([WORKER, "student", "--config", self.worker_config("student"), "--plan",
                              self.path("student-plan.json"), "--rounds", str(self.spec["student_rounds"]),
                              "--labels", labels_file, "--log-level", "warning"]))

    def run(self):
        np = self.np
        summary = {"teachers": self.teachers(), "queries": len(self.pool_y), "student_test": len(self.test_y)}
        ensemble_pool = self.noiseless_votes(self.pool_x)
        ensemble_test = self.noiseless_votes(self.test_x)
        k = int((ensemble_test.argmax(1) == self.test_y).sum())
        summary["noiseless_ensemble"] = {
            "pool_label_accuracy": float((ensemble_pool.argmax(1) == self.pool_y).mean()),
            "test_accuracy": k / len(self.test_y), "test_accuracy_ci": wilson(k, len(self.test_y))}
        model = self.spec.get("federated_model")
        if model and os.path.exists(os.path.join(ROOT, model)):
            summary["federated_experiment_1"] = last_json(run([WORKER, "evaluate", "--config",
                                                                self.worker_config("student"), "--model",
                                                                os.path.join(ROOT, model), "--log-level", "warning"]))
        summary["settings"] = []
        for i, setting in enumerate(self.spec["settings"]):
            labels = self.vote(i, setting)
            answered = labels["answered"]
            rows = [q for q, _ in answered]
            released = np.array([l for _, l in answered], dtype=np.int64)
            true = self.pool_y[rows] if rows else np.array([], dtype=np.int64)
            correct = int((released == true).sum())
            result = {"setting": setting, "posed": labels["posed"], "answered": len(answered),
                      "epsilon": labels["epsilon"], "note": labels["note"], "vote_seconds": labels["seconds"],
                      "label_accuracy": correct / len(answered) if answered else float("nan"),
                      "label_accuracy_ci": wilson(correct, len(answered)),
                      "answered_normal_share": float((true == 0).mean()) if rows else float("nan")}
            if answered:
                result["student"] = self.student(self.path("labels-%d.json" % i))
                truth = dict(labels, answered=[[q, int(self.pool_y[q])] for q in rows])
                result["true_label_student"] = self.student(self.write("true-labels-%d.json" % i, truth))
            summary["settings"].append(result)
            print("vote_experiment: setting %d: %s" % (i, json.dumps(result)), flush=True)
        self.write("summary.json", summary)
        return summary


def table(s):
    def acc(m):
        return "%.4f [%.3f, %.3f]" % (m["test_accuracy"], m["test_accuracy_low"], m["test_accuracy_high"])

    def auroc(m):
        return "%.4f [%.3f, %.3f]" % (m["test_auroc"], m["test_auroc_low"], m["test_auroc_high"])

    lines = ["| sigma_1 / sigma_2 / T | epsilon (budget) | posed | answered | label accuracy | student accuracy | "
             "student AUROC | true-label student accuracy | true-label AUROC | ratio |", "|" + "---|" * 10]
    for r in s["settings"]:
        st = r["setting"]
        head = "| %g / %g / %g | %.2f (%g) | %d | %d | %.4f [%.3f, %.3f] |" % (
            st["sigma_selection"], st["sigma_answer"], st["threshold"], r["epsilon"], st["epsilon_budget"], r["posed"],
            r["answered"], r["label_accuracy"], r["label_accuracy_ci"][0], r["label_accuracy_ci"][1])
        if "student" in r:
            ratio = r["student"]["test_accuracy"] / r["true_label_student"]["test_accuracy"]
            head += " %s | %s | %s | %s | %.3f |" % (acc(r["student"]), auroc(r["student"]),
                                                     acc(r["true_label_student"]), auroc(r["true_label_student"]), ratio)
        else:
            head += " - | - | - | - | - |"
        lines.append(head)
    n = s["noiseless_ensemble"]
    lines.append("")
    lines.append("noiseless ensemble of %d teachers: label accuracy on the pool %.4f; test accuracy %.4f [%.3f, %.3f]" % (
        sum(t["count"] for t in s["teachers"].values()), n["pool_label_accuracy"], n["test_accuracy"],
        n["test_accuracy_ci"][0], n["test_accuracy_ci"][1]))
    if "federated_experiment_1" in s:
        f = s["federated_experiment_1"]
        lines.append("experiment 1's federated model on the student's test half: accuracy %s, AUROC %s" % (acc(f), auroc(f)))
    return "\n".join(lines)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    spec["data"] = os.environ.get("FL_PNEUMONIA_NPZ", os.path.join(ROOT, spec["data"]))
    summary = Experiment(spec, sys.argv[2]).run()
    print(table(summary))


if __name__ == "__main__":
    main()
