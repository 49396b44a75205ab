"""The launcher runs PneumoniaMNIST (28x28 chest X-rays, real data) with the CNN through
the real binaries: a short federation whose final model beats chance on every
hospital's test split. And label-skew calibration as a hospital uses it: fl-prep makes
experiment 1's class-skewed hospitals, fl-worker local trains one of them with and
without plan.training.logit_adjustment, and fl-worker predict shows whose class prior the
model's probabilities carry."""
import csv
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

DATA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")
PREP = os.path.join(fltest.BUILD, "worker", "prep", "fl-prep")


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def run(args, timeout=300):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


class PneumoniaTest(unittest.TestCase):
    def test_cnn_federation_on_pneumoniamnist(self):
        fltest.require_file(DATA)
        run_dir = fltest.temp_dir("fl-pneumonia-")
        p = fltest.launch(["--data", DATA, "--run-dir", run_dir, "--rounds", "3", "--max-train", "400",
                           "--max-test", "200", "--threads", "1"], timeout=900)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("federated", p.stdout)
        lines = fltest.read_metrics(os.path.join(run_dir, "state"))
        final = lines[-1]
        self.assertTrue(final.get("final"))
        self.assertEqual(len(final["hospitals"]), 3)
        for name, m in final["hospitals"].items():
            # Test splits are about 62% pneumonia; a trained CNN separates the classes.
            self.assertGreater(m["test_auroc"], 0.75, name)
        params, meta = fltest.read_safetensors(os.path.join(run_dir, "state", "model-v000003.safetensors"))
        self.assertIn("conv1.weight", params)
        self.assertEqual(params["conv1.weight"][0], [16, 1, 3, 3])
        self.assertEqual(meta["model"], "cnn")

    def test_logit_adjustment_removes_a_skewed_hospitals_prior(self):
        fltest.require_file(DATA)
        d = fltest.temp_dir("fl-logit-adjustment-")
        self.addCleanup(shutil.rmtree, d, True)
        p = run([PREP, "--spec", os.path.join(fltest.ROOT, "configs", "prep-pneumonia.json"), "--input", DATA,
                 "--output", os.path.join(d, "sites")])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(d, "sites", "sites.json")) as f:
            sites = json.load(f)
        # hospital-a: 5 normal and 1124 pneumonia training images (configs/prep-pneumonia.json).
        worker = write_json(os.path.join(d, "worker.json"), {
            "name": "hospital-a", "coordinator": "tcp://127.0.0.1:1", "data": sites["sites"]["hospital-a"],
            "device": {"type": "cpu", "threads": 1}})
        mean_p1 = {}
        for tau in (0, 1):
            plan = write_json(os.path.join(d, "plan%d.json" % tau), {"plan": {
                "model": {"name": "cnn"},
                "training": {"epochs": 2, "batch_size": 64, "learning_rate": 0.003, "logit_adjustment": tau}}})
            model = os.path.join(d, "model%d.safetensors" % tau)
            p = run([fltest.WORKER, "local", "--config", worker, "--plan", plan, "--rounds", "1",
                     "--output-model", model])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            out = os.path.join(d, "pred%d" % tau)
            # The official test set: 234 normal and 390 pneumonia images.
            p = run([fltest.WORKER, "predict", "--config", worker, "--model", model, "--input", DATA, "--out", out])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            with open(os.path.join(out, "predictions.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), 624)
            mean_p1[tau] = sum(float(r["p_1"]) for r in rows) / len(rows)
        # Plain training learns hospital-a's prior (99.6% pneumonia); calibrated training
        # leaves it out of the model's probabilities.
        self.assertGreater(mean_p1[0], 0.9, mean_p1)
        self.assertLess(mean_p1[1], 0.8, mean_p1)


if __name__ == "__main__":
    unittest.main()
