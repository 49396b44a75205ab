"""One definition of the splits for every baseline, through the real binaries: for each way
fl-launch makes hospitals (a table partitioned by --data, the same with label skew, an
npz archive, and fl-prep's sites from a table with a site column), the run directory's
configs (fl-launch --configs-only) are loaded by `fl-worker data --ids`, which lists where
each sample of each split comes from. Checked by row identity:

- the hospitals' training and test splits are pairwise disjoint;
- the pooled baseline trains on exactly the union of the hospitals' training splits;
- the global test set is exactly the union of their test splits;
- so no test row of any hospital is in any model's training data.

Skips a route whose data is missing (naming the path)."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

PNEUMONIA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")
HEART = os.path.join(fltest.SHARED_DATA, "heart_disease")
PREP = os.path.join(fltest.BUILD, "worker", "prep", "fl-prep")


def splits(config):
    """(train ids, test ids) of a worker config, from fl-worker data --ids."""
    p = subprocess.run([fltest.WORKER, "data", "--config", config, "--ids"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    return d["train"]["ids"], d["test"]["ids"]


class BaselineSplitsTest(unittest.TestCase):
    def check_run(self, launch_args):
        run_dir = fltest.temp_dir("fl-splits-")
        p = fltest.launch(launch_args + ["--pooled", "--configs-only", "--run-dir", run_dir], timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        names = sorted(f[len("worker-"):-len(".json")] for f in os.listdir(run_dir)
                       if f.startswith("worker-") and f.endswith(".json"))
        self.assertIn("pooled", names)
        self.assertIn("global_test", names)
        hospitals = [n for n in names if n not in ("pooled", "global_test")]
        self.assertGreaterEqual(len(hospitals), 3)
        got = {n: splits(os.path.join(run_dir, "worker-%s.json" % n)) for n in names}
        all_train, all_test = [], []
        for h in hospitals:
            train, test = got[h]
            self.assertTrue(train and test, h)
            self.assertEqual(len(set(train)), len(train), "%s: a training row twice" % h)
            self.assertEqual(len(set(test)), len(test), "%s: a test row twice" % h)
            all_train += train
            all_test += test
        self.assertEqual(len(set(all_train)), len(all_train), "two hospitals share a training row")
        self.assertEqual(len(set(all_test)), len(all_test), "two hospitals share a test row")
        self.assertFalse(set(all_train) & set(all_test), "a row is in one hospital's training and another's test")
        pooled_train, pooled_test = got["pooled"]
        self.assertEqual(sorted(pooled_train), sorted(all_train), "pooled training != the hospitals' training splits")
        self.assertEqual(sorted(pooled_test), sorted(all_test))
        _, global_test = got["global_test"]
        self.assertEqual(sorted(global_test), sorted(all_test), "global test != the hospitals' test splits")
        self.assertFalse(set(pooled_train) & set(global_test))
        return len(all_train), len(all_test)

    def test_a_partitioned_table(self):
        fltest.require_file(fltest.BREAST_CANCER)
        n_train, n_test = self.check_run(["--data", fltest.BREAST_CANCER, "--workers", "3"])
        self.assertEqual(n_train + n_test, 569)  # every row of the file, each once

    def test_a_table_with_label_skew(self):
        fltest.require_file(fltest.BREAST_CANCER)
        self.check_run(["--data", fltest.BREAST_CANCER, "--workers", "4", "--dirichlet", "0.3"])

    def test_an_npz_archive(self):
        fltest.require_file(PNEUMONIA)
        self.check_run(["--data", PNEUMONIA, "--workers", "3", "--max-train", "200", "--max-test", "60"])

    def test_fl_prep_sites(self):
        centres = ["cleveland", "hungarian", "switzerland", "va"]
        for c in centres:
            fltest.require_file(os.path.join(HEART, "processed.%s.data" % c))
        d = fltest.temp_dir("fl-splits-prep-")
        table = os.path.join(d, "heart.csv")
        with open(table, "w") as out:
            for c in centres:
                with open(os.path.join(HEART, "processed.%s.data" % c)) as f:
                    out.writelines(line.strip() + "," + c + "\n" for line in f if line.strip())
        spec = {"format": "csv", "input": table, "output": os.path.join(d, "sites"), "seed": 3, "split": "column",
                "column": "14", "test_fraction": 0.25, "csv": {"header": False, "label_column": "13"},
                "sites": [{"name": "cleveland"}, {"name": "hungarian"},
                          {"name": "other", "values": ["switzerland", "va"]}]}
        with open(os.path.join(d, "prep.json"), "w") as f:
            json.dump(spec, f)
        p = subprocess.run([PREP, "--spec", os.path.join(d, "prep.json")], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_run(["--sites", os.path.join(d, "sites", "sites.json")])


if __name__ == "__main__":
    unittest.main()
