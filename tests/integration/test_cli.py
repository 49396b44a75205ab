"""The binaries' command lines and configs: --help, usage errors and config errors give
a clear message naming the field and exit with code 2; bad data gives a clear error."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402


def run(binary, *args):
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=60)


class CliTest(unittest.TestCase):
    def setUp(self):
        self.dir = fltest.temp_dir("fl-cli-")

    def write(self, name, obj):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    def test_help(self):
        for b in (fltest.COORDINATOR, fltest.WORKER):
            p = run(b, "--help")
            self.assertEqual(p.returncode, 0)
            self.assertIn("Usage:", p.stdout)
            self.assertIn("--config", p.stdout)

    def test_version_short_help_and_log_flags(self):
        prep = os.path.join(fltest.BUILD, "worker", "prep", "fl-prep")
        for b in (fltest.COORDINATOR, fltest.WORKER, prep):
            name = os.path.basename(b)
            p = run(b, "--version")
            self.assertEqual(p.returncode, 0, name)
            self.assertRegex(p.stdout, r"^%s \d+\.\d+\.\d+\n$" % name)
            p = run(b, "-h")
            self.assertEqual(p.returncode, 0, name)
            for flag in ("--log-format", "--log-level", "--version", "--help"):
                self.assertIn(flag, p.stdout, name)
            p = run(b, "--log-format", "xml")
            self.assertEqual(p.returncode, 2, name)
            self.assertIn("--log-format must be text or json", p.stderr)

    def test_usage_errors(self):
        for b in (fltest.COORDINATOR, fltest.WORKER):
            p = run(b, "--bogus")
            self.assertEqual(p.returncode, 2)
            self.assertIn("unknown flag --bogus", p.stderr)
            p = run(b)
            self.assertEqual(p.returncode, 2)
            self.assertIn("--config", p.stderr)
            p = run(b, "--config", os.path.join(self.dir, "missing.json"))
            self.assertEqual(p.returncode, 2)
            self.assertIn("missing.json", p.stderr)

    def test_privacy_budget_of_a_vote(self):
        """fl-coordinator privacy: epsilon grows with the queries, a budget caps them, and bad
        numbers are usage errors."""
        def epsilon(*args):
            p = run(fltest.COORDINATOR, "privacy", "--sigma1", "150", "--sigma2", "40", *args)
            self.assertEqual(p.returncode, 0, p.stderr)
            return json.loads(p.stdout)
        few, many = epsilon("--queries", "100"), epsilon("--queries", "1000", "--answered", "600")
        self.assertGreater(many["epsilon"], few["epsilon"])
        self.assertEqual(few["answered"], 100)
        self.assertAlmostEqual(few["per_hospital_variance"]["selection"], 7500.0)
        capped = epsilon("--queries", "1000", "--answered", "600", "--budget", "8")
        self.assertTrue(capped["within_budget"])
        more = capped["more_queries_within_budget"]
        self.assertGreater(more, 0)
        at_limit = epsilon("--queries", str(1000 + more), "--answered", str(600 + more))
        beyond = epsilon("--queries", str(1001 + more), "--answered", str(601 + more))
        self.assertLessEqual(at_limit["epsilon"], 8.0)
        self.assertGreater(beyond["epsilon"], 8.0)
        for bad in (["--sigma1", "x", "--sigma2", "40"], ["--sigma2", "40"], ["--sigma1", "1", "--sigma2", "1",
                    "--hospitals", "10"], ["--sigma1", "150", "--sigma2", "40", "--queries", "5", "--answered", "9"],
                    ["--sigma1", "150", "--sigma2", "40", "--delta", "2"],
                    ["--sigma1", "150", "--sigma2", "40", "--queries", "5", "--answered", "-1"]):
            p = run(fltest.COORDINATOR, "privacy", *bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("fl-coordinator privacy:", p.stderr)

    def test_coordinator_config_errors_name_the_field(self):
        cases = [
            ({"rounds": 10, "colour": "blue"}, "colour: unknown key"),
            ({"min_workers": "three"}, "min_workers: expected an integer"),
            ({"min_workers": 2}, "min_workers: expected an integer in [3,"),
            ({"secagg": {"clip": -1}}, "secagg.clip: expected a number in"),
            ({"plan": {"model": {"name": "resnet900"}}}, 'plan.model.name: expected one of "logreg", "mlp", "cnn"'),
            ({"plan": {"training": {"epochs": 0}}}, "plan.training.epochs"),
            ({"timeouts": {"phase_s": "soon"}}, "timeouts.phase_s: expected a number"),
            ("{ not json", "not valid JSON"),
        ]
        for cfg, message in cases:
            p = run(fltest.COORDINATOR, "--config", self.write("c.json", cfg))
            self.assertEqual(p.returncode, 2, (cfg, p.stderr))
            self.assertIn(message, p.stderr, cfg)

    def test_worker_config_errors_name_the_field(self):
        base = {"name": "h1", "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                                       "csv": {"label_column": "-1", "header": False, "skip_rows": 1}}}
        cases = [
            ({k: v for k, v in base.items() if k != "name"}, "name: is required"),
            (dict(base, name="bad name!"), "name: use 1-64 characters"),
            (dict(base, min_cohort=2), "min_cohort: expected an integer in [3,"),
            (dict(base, min_survivors=2), "min_survivors: expected an integer in [3,"),
            (dict(base, device={"type": "tpu"}), 'device.type: expected "auto", "cpu", "cuda" or "cuda:N"'),
            (dict(base, data=dict(base["data"], format="parquet")), 'data.format: expected one of "csv", "npz"'),
            (dict(base, data=dict(base["data"], csv={"label_column": "-1", "test_fraction": 2})),
             "data.csv.test_fraction"),
            (dict(base, data=dict(base["data"], partition={"weights": [1, 1], "index": 5})), "data.partition.index"),
            (dict(base, data={"format": "union", "parts": []}), "data.parts: must be a list of 1 to 64"),
            (dict(base, data={"format": "union", "parts": [base["data"], {"format": "union", "parts": []}]}),
             'data.parts[1]: format: expected one of "csv", "npz", "images", "nifti"'),
            (dict(base, data={"format": "union", "path": "x.csv", "parts": [base["data"]]}), "data.path: unknown key"),
            (dict(base, data={"format": "union", "parts": [dict(base["data"], csv={"label_column": "-1",
                                                                                    "header": "no"})]}),
             "data.parts[0]: csv.header"),
        ]
        for cfg, message in cases:
            p = run(fltest.WORKER, "--config", self.write("w.json", cfg))
            self.assertEqual(p.returncode, 2, (cfg, p.stderr))
            self.assertIn(message, p.stderr, cfg)

    def test_worker_needs_identity_to_join(self):
        cfg = {"name": "h1", "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                                      "csv": {"label_column": "-1", "header": False, "skip_rows": 1}}}
        p = run(fltest.WORKER, "--config", self.write("w.json", cfg))
        self.assertEqual(p.returncode, 2)
        self.assertIn("identity_key and roster are required", p.stderr)

    def test_keygen_and_identity_checks(self):
        key, roster = os.path.join(self.dir, "h1.key"), os.path.join(self.dir, "roster.json")
        p = run(fltest.WORKER, "keygen", "--name", "h1", "--out", key, "--roster", roster)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["name"], "h1")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        p = run(fltest.WORKER, "keygen", "--name", "h1", "--out", key, "--roster", roster)
        self.assertEqual(p.returncode, 2)
        self.assertIn("refusing to overwrite", p.stderr)
        p = run(fltest.WORKER, "keygen", "--name", "h1", "--out", os.path.join(self.dir, "again.key"),
                "--roster", roster)
        self.assertEqual(p.returncode, 2)
        self.assertIn("duplicate roster name", p.stderr)
        cfg = {"name": "h2", "identity_key": key, "roster": roster,
               "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                        "csv": {"label_column": "-1", "header": False, "skip_rows": 1}}}
        p = run(fltest.WORKER, "--config", self.write("w.json", cfg))
        self.assertEqual(p.returncode, 2)
        self.assertIn("differs from the identity key's name", p.stderr)
        os.chmod(key, 0o644)
        cfg["name"] = "h1"
        p = run(fltest.WORKER, "--config", self.write("w.json", cfg))
        self.assertEqual(p.returncode, 2)
        self.assertIn("chmod 600", p.stderr)

    def test_worker_bad_data_is_a_clear_error(self):
        missing = os.path.join(self.dir, "nope.csv")
        key, roster = os.path.join(self.dir, "h1.key"), os.path.join(self.dir, "roster.json")
        run(fltest.WORKER, "keygen", "--name", "h1", "--out", key, "--roster", roster)
        cfg = {"name": "h1", "identity_key": key, "roster": roster,
               "data": {"format": "csv", "path": missing, "csv": {"label_column": "0"}}}
        p = run(fltest.WORKER, "--config", self.write("w.json", cfg))
        self.assertEqual(p.returncode, 2)
        self.assertIn("nope.csv", p.stderr)
        bad = self.write("bad.csv", "a,b,label\n1,2,0\n3,x,1\n")
        cfg["data"]["path"] = bad
        cfg["data"]["csv"] = {"label_column": "label"}
        p = run(fltest.WORKER, "--config", self.write("w.json", cfg))
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.csv", p.stderr)
        self.assertIn("line 3", p.stderr)


if __name__ == "__main__":
    unittest.main()
