"""scripts/fl-launch tells the truth, through the real binaries:

- a coordinator that cannot start (a typo in the plan) stops the launch within seconds,
  with the coordinator's own error line and its exit code, not a timeout;
- a hospital whose worker fails (its data file is missing) stops the launch the same way,
  naming the hospital and its error;
- a label column of measurements rather than classes, a label column that does not exist,
  and a model that does not exist are refused before anything starts;
- every column a worker imputes is logged."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

HEART = os.path.join(fltest.SHARED_DATA, "heart_disease", "processed.hungarian.data")


class LauncherTest(unittest.TestCase):
    def setUp(self):
        fltest.require_file(fltest.BREAST_CANCER)
        self.dir = fltest.temp_dir("fl-launcher-")

    def launch(self, args):
        t0 = time.time()
        p = fltest.launch(args + ["--run-dir", os.path.join(self.dir, "run-%d" % len(os.listdir(self.dir)))],
                          timeout=300)
        return p, time.time() - t0

    def test_a_coordinator_that_cannot_start_stops_the_launch_with_its_error(self):
        plan = os.path.join(self.dir, "plan.json")
        with open(plan, "w") as f:
            json.dump({"model": {"name": "mpl"}, "training": {"epochs": 1}}, f)
        p, seconds = self.launch(["--plan", plan, "--rounds", "2", "--no-baseline"])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("coordinator exited with code 2", p.stderr)
        self.assertIn("mpl", p.stderr)  # the coordinator's own words
        self.assertNotIn("timed out", p.stderr)
        self.assertLess(seconds, 60)

    def test_a_failing_hospital_stops_the_launch_with_its_error(self):
        section = {"format": "csv", "path": fltest.BREAST_CANCER,
                   "csv": {"header": False, "skip_rows": 1, "label_column": "-1"}}
        missing = dict(section, path=os.path.join(self.dir, "no-such-table.csv"))
        sites = {"sites": {"hospital-a": dict(section, partition={"weights": [1, 1, 1], "index": 0, "seed": 1}),
                           "hospital-b": dict(section, partition={"weights": [1, 1, 1], "index": 1, "seed": 1}),
                           "hospital-c": missing}}
        spec = os.path.join(self.dir, "sites.json")
        with open(spec, "w") as f:
            json.dump(sites, f)
        p, seconds = self.launch(["--sites", spec, "--rounds", "2", "--no-baseline"])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("hospital-c exited with code 2 before the federation finished", p.stderr)
        self.assertIn("no-such-table.csv", p.stderr)
        self.assertLess(seconds, 60, "the coordinator waits for admission up to 120 s; the launcher must not")

    def test_bad_columns_and_models_are_refused_before_anything_starts(self):
        for args, message in [
            (["--label-column", "3"], "has 539 distinct values in 569 rows: a measurement, not a class label"),
            (["--label-column", "diagnosis"], "no column named 'diagnosis'"),
            (["--label-column", "40"], "--label-column 40: "),
            (["--model", "transformer"], "invalid choice: 'transformer'"),
        ]:
            p, seconds = self.launch(args + ["--rounds", "1"])
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(message, p.stderr, args)
            self.assertLess(seconds, 30)

    def test_every_imputed_column_is_logged(self):
        fltest.require_file(HEART)
        cfg = os.path.join(self.dir, "w.json")
        with open(cfg, "w") as f:
            json.dump({"name": "hungary", "data": {"format": "csv", "path": HEART,
                                                    "csv": {"header": False, "label_column": "13",
                                                            "missing_values": ["?"]}}}, f)
        p = subprocess.run([fltest.WORKER, "data", "--config", cfg], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [l for l in p.stderr.splitlines() if "filled with its training mean" in l]
        # Hungary's table lacks values in several columns (slope, ca, thal among them).
        self.assertGreaterEqual(len(lines), 3, p.stderr)
        self.assertTrue(any("column 'col11'" in l for l in lines), lines)


if __name__ == "__main__":
    unittest.main()
