"""Prediction for a hospital's new patients, through the real binaries: a hospital whose
table has a header, a patient-id column and a label column trains (fl-worker local), which
keeps its preprocessing in its state_dir; its training file then goes away, and
`fl-worker predict` scores new patients' rows without the label column, with their
columns in another order and values missing: every row, in input order, named by its
patient id, prepared with the hospital's own statistics (the same probabilities as when
they are computed again from the training file). Bad rows are clear errors."""
import csv
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402


def run(*args):
    return subprocess.run([fltest.WORKER] + list(args) + ["--log-level", "warning"], capture_output=True, text=True,
                          timeout=300)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


class PredictPatientsTest(unittest.TestCase):
    def setUp(self):
        fltest.require_file(fltest.BREAST_CANCER)
        self.dir = fltest.temp_dir("fl-predict-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        rows = read_csv(fltest.BREAST_CANCER)[1:]  # sklearn's first line is not a header
        self.features = ["f%d" % i for i in range(30)]
        self.train = os.path.join(self.dir, "hospital.csv")
        with open(self.train, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["patient_id"] + self.features + ["diagnosis"])
            for i, r in enumerate(rows[:400]):
                w.writerow(["P%04d" % i] + r)
        self.new_rows = rows[400:430]
        self.state = os.path.join(self.dir, "state")
        self.config = self.write("worker.json", {
            "name": "hospital-a", "state_dir": self.state,
            "data": {"format": "csv", "path": self.train,
                     "csv": {"header": True, "label_column": "diagnosis", "id_column": "patient_id"}}})
        self.plan = self.write("plan.json", {"plan": {"model": {"name": "mlp", "hidden": [16]},
                                                      "training": {"epochs": 2}}})
        self.model = os.path.join(self.dir, "model.safetensors")
        p = run("local", "--config", self.config, "--plan", self.plan, "--rounds", "2", "--output-model", self.model)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.state, "preprocessing.json")))

    def write(self, name, obj):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def new_patients(self, name, columns, blank=()):
        """The new rows with the given columns (feature names, "patient_id"), some cells blank."""
        path = os.path.join(self.dir, name)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for i, r in enumerate(self.new_rows):
                cells = {"patient_id": "NEW-%02d" % i, **{n: v for n, v in zip(self.features, r[:30])}}
                w.writerow(["" if (i, c) in blank else cells[c] for c in columns])
        return path

    def predict(self, config, input_path, out):
        p = run("predict", "--config", config, "--model", self.model, "--input", input_path, "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        return read_csv(os.path.join(out, "predictions.csv"))

    def test_new_patients_without_labels_and_without_the_training_file(self):
        columns = ["patient_id"] + list(reversed(self.features))  # no label, another order
        unlabelled = self.new_patients("new.csv", columns, blank={(3, "f0"), (7, "f12")})
        # The same scores when the statistics are computed again from the training file...
        with open(self.config) as f:
            again = self.write("no-state.json", dict(json.load(f), state_dir=""))
        reference = self.predict(again, unlabelled, os.path.join(self.dir, "reference"))
        # ...as from the saved preprocessing, with the training file gone.
        os.rename(self.train, self.train + ".gone")
        got = self.predict(self.config, unlabelled, os.path.join(self.dir, "out"))
        self.assertEqual(got, reference)
        self.assertEqual(got[0], ["id", "label", "predicted", "p_0", "p_1"])
        self.assertEqual([r[0] for r in got[1:]], ["NEW-%02d" % i for i in range(len(self.new_rows))])
        for r in got[1:]:
            self.assertEqual(r[1], "")  # no label given
            self.assertIn(r[2], ("0", "1"))
            p = [float(x) for x in r[3:]]
            self.assertAlmostEqual(sum(p), 1.0, places=4)
            self.assertEqual(r[2], str(p.index(max(p))))
        # Most of these patients are predicted as their true class (the model learnt something).
        truth = [r[30] for r in self.new_rows]
        right = sum(1 for r, t in zip(got[1:], truth) if r[2] == t)
        self.assertGreater(right, len(truth) * 0.7)

    def test_bad_rows_are_clear_errors(self):
        p = run("predict", "--config", self.config, "--model", self.model, "--input",
                self.new_patients("short.csv", ["patient_id"] + self.features[1:]), "--out", self.dir + "/o1")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("no column 'f0'", p.stderr)
        bad = self.new_patients("bad.csv", ["patient_id"] + self.features)
        with open(bad) as f:
            text = f.read().replace("NEW-05," + self.new_rows[5][0], "NEW-05,abc", 1)
        with open(bad, "w") as f:
            f.write(text)
        p = run("predict", "--config", self.config, "--model", self.model, "--input", bad, "--out", self.dir + "/o2")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("line 7 column 'f0': not a number: 'abc'", p.stderr)


class PredictImagesTest(unittest.TestCase):
    """An npz archive of new images, without labels (or with them), scored by a hospital's
    CNN: a line per image in archive order, named FILE:ARRAY[I]."""

    def test_an_archive_of_unlabelled_images(self):
        pneumonia = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")
        fltest.require_file(pneumonia)
        d = fltest.temp_dir("fl-predict-npz-")
        self.addCleanup(shutil.rmtree, d, True)
        make = ("import numpy as np, sys; a = np.load(sys.argv[1]); "
                "np.savez(sys.argv[2] + '/train.npz', train_images=a['train_images'][:300], "
                "train_labels=a['train_labels'][:300], test_images=a['test_images'][:60], "
                "test_labels=a['test_labels'][:60]); "
                "np.savez(sys.argv[2] + '/new.npz', images=a['test_images'][100:125]); "
                "np.savez(sys.argv[2] + '/labelled.npz', test_images=a['test_images'][100:125], "
                "test_labels=a['test_labels'][100:125])")
        p = subprocess.run(["/usr/bin/python3", "-c", make, pneumonia, d], capture_output=True, text=True)
        if p.returncode != 0 and "No module named 'numpy'" in p.stderr:
            fltest.skip("python3-numpy is missing")
        self.assertEqual(p.returncode, 0, p.stderr)
        cfg = os.path.join(d, "w.json")
        with open(cfg, "w") as f:
            json.dump({"name": "h", "data": {"format": "npz", "path": os.path.join(d, "train.npz"),
                                              "npz": {"num_classes": 2}}}, f)
        plan = os.path.join(d, "plan.json")
        with open(plan, "w") as f:
            json.dump({"plan": {"model": {"name": "cnn", "channels": 8}, "training": {"epochs": 1}}}, f)
        model = os.path.join(d, "m.safetensors")
        p = run("local", "--config", cfg, "--plan", plan, "--rounds", "1", "--output-model", model)
        self.assertEqual(p.returncode, 0, p.stderr)
        os.rename(os.path.join(d, "train.npz"), os.path.join(d, "gone.npz"))  # num_classes suffices
        for name, labelled in (("new.npz", False), ("labelled.npz", True)):
            out = os.path.join(d, "out-" + name)
            p = run("predict", "--config", cfg, "--model", model, "--input", os.path.join(d, name), "--out", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = read_csv(os.path.join(out, "predictions.csv"))
            self.assertEqual(lines[0], ["id", "label", "predicted", "p_0", "p_1"])
            self.assertEqual(len(lines), 26)
            member = "test_images" if labelled else "images"
            self.assertEqual([l[0] for l in lines[1:]], ["%s:%s[%d]" % (os.path.join(d, name), member, i)
                                                          for i in range(25)])
            for l in lines[1:]:
                self.assertEqual(l[1] in ("0", "1"), labelled)
                self.assertAlmostEqual(float(l[3]) + float(l[4]), 1.0, places=4)


if __name__ == "__main__":
    unittest.main()
