"""fl-prep on a table through the real binaries: the four UCI heart disease files (real
centres: Cleveland, Hungary, Switzerland, VA Long Beach) joined into one table with a site
column, split by that column into three hospitals, then a short federation with
`fl-launch --sites` that also trains each hospital alone and on the pooled data; and fl-prep's
error exits. Skips (exit 77) when ../shared/data/heart_disease (or $FL_DATA_DIR/heart_disease)
is missing."""
import csv
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

DATA = os.path.abspath(os.environ.get("FL_DATA_DIR") or os.path.join(fltest.ROOT, "..", "shared", "data"))
HEART = os.path.join(DATA, "heart_disease")
CENTRES = ["cleveland", "hungarian", "switzerland", "va"]
PREP = os.path.join(fltest.BUILD, "worker", "prep", "fl-prep")
SITES = {"cleveland": None, "hungarian": None, "other": ["switzerland", "va"]}


def setUpModule():
    for c in CENTRES:
        fltest.require_file(os.path.join(HEART, "processed.%s.data" % c))
    if not os.access(PREP, os.X_OK):
        fltest.skip("fl-prep not built: " + PREP)


def run(args, timeout=60):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
    return path


def read_rows(path):
    with open(path, newline="") as f:
        return [r for r in csv.reader(f) if r]


def joined_table(path):
    """Every centre's rows (no header, '?' = missing, label in column 13) with the centre's
    name appended as column 14. Returns {centre: row count}."""
    counts = {}
    with open(path, "w") as out:
        for c in CENTRES:
            n = 0
            with open(os.path.join(HEART, "processed.%s.data" % c)) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        out.write(line + "," + c + "\n")
                        n += 1
            counts[c] = n
    return counts


def spec(table, output):
    return {
        "format": "csv", "input": table, "output": output, "seed": 3,
        "split": "column", "column": "14", "test_fraction": 0.25,
        "csv": {"header": False, "label_column": "13"},
        "sites": [dict({"name": n}, **({"values": v} if v else {})) for n, v in SITES.items()],
    }


class PrepTabularTest(unittest.TestCase):
    def setUp(self):
        self.dir = fltest.temp_dir("fl-prep-tabular-")
        self.keep = False
        self.table = os.path.join(self.dir, "heart.csv")
        self.counts = joined_table(self.table)

    def tearDown(self):
        if self.keep:
            print("kept %s for inspection" % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def test_column_split_then_federation(self):
        self.keep = True  # kept on failure, removed at the end
        out = os.path.join(self.dir, "sites")
        summary_path = os.path.join(self.dir, "prep-summary.json")
        p = run([PREP, "--spec", write_json(os.path.join(self.dir, "prep.json"), spec(self.table, out)),
                 "--summary", summary_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(summary_path) as f:
            prep = json.load(f)
        self.assertEqual(json.loads(p.stdout), prep)
        self.assertEqual(prep["dropped_rows"], 0)
        self.assertEqual(prep["unassigned_rows"], 0)
        want = {"cleveland": self.counts["cleveland"], "hungarian": self.counts["hungarian"],
                "other": self.counts["switzerland"] + self.counts["va"]}
        self.assertEqual(set(prep["sites"]), set(want))
        pooled_train, pooled_test = [], []
        for site, n in want.items():
            s = prep["sites"][site]
            self.assertEqual(s["train"] + s["test"], n, site)
            train = read_rows(os.path.join(out, site, "train.csv"))
            test = read_rows(os.path.join(out, site, "test.csv"))
            self.assertEqual((len(train), len(test)), (s["train"], s["test"]), site)
            for r in train + test:
                self.assertEqual(len(r), 14, site)  # the site column is not written
                self.assertIn(r[13], ["0", "1", "2", "3", "4"])
            pooled_train += train
            pooled_test += test
        self.assertEqual(sorted(read_rows(os.path.join(out, "pooled", "train.csv"))), sorted(pooled_train))
        self.assertEqual(sorted(read_rows(os.path.join(out, "pooled", "test.csv"))), sorted(pooled_test))

        with open(os.path.join(out, "sites.json")) as f:
            sites = json.load(f)
        self.assertEqual(set(sites["sites"]), set(want))
        for key in ("pooled", "global_test"):
            self.assertIn(key, sites)
        for site, d in sites["sites"].items():
            self.assertEqual(d["format"], "csv")
            self.assertEqual(d["path"], os.path.join(out, site, "train.csv"))
            self.assertEqual(d["csv"]["test_path"], os.path.join(out, site, "test.csv"))
            self.assertEqual(d["csv"]["label_column"], "13")
            self.assertEqual(d["csv"]["classes"], ["0", "1", "2", "3", "4"])

        run_dir = os.path.join(self.dir, "run")
        p = fltest.launch(["--sites", os.path.join(out, "sites.json"), "--rounds", "3", "--run-dir", run_dir,
                           "--threads", "1"], timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["rounds"], 3)
        self.assertEqual(set(summary["hospitals"]), set(want))
        for site, h in summary["hospitals"].items():
            for kind in ("federated", "local_only", "pooled"):
                m = h.get(kind)
                self.assertIsInstance(m, dict, "%s %s: %r" % (site, kind, m))
                self.assertIn("test_accuracy", m, "%s %s" % (site, kind))
                self.assertGreaterEqual(m["test_accuracy"], 0.0)
                self.assertLessEqual(m["test_accuracy"], 1.0)
        self.assertIn("mean_pooled", summary)
        # Cross-site: each hospital's local model on every hospital's test split; the
        # diagonal is the own-site score.
        self.assertEqual(set(summary["cross_site"]), set(want))
        for model, scores in summary["cross_site"].items():
            self.assertEqual(set(scores), set(want))
            self.assertEqual(scores[model], summary["hospitals"][model]["local_only"])
            for test_site, m in scores.items():
                self.assertGreaterEqual(m["test_accuracy"], 0.0, (model, test_site))
                self.assertLessEqual(m["test_accuracy"], 1.0)
                self.assertIn("test_accuracy_low", m)
        self.assertIn("federated", summary.get("global_test", {}))

        # A hospital configured from sites.json predicts every row of a new table (here all
        # hospitals' test rows), standardised with its own training statistics.
        pred_dir = os.path.join(self.dir, "pred")
        p = run([fltest.WORKER, "predict", "--config", os.path.join(run_dir, "worker-cleveland.json"),
                 "--model", summary["federated_model"], "--input", os.path.join(out, "pooled", "test.csv"),
                 "--out", pred_dir, "--log-level", "warning"])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(pred_dir, "predictions.csv")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "id,label,predicted,p_0,p_1,p_2,p_3,p_4")
        self.assertEqual(len(lines) - 1, len(pooled_test))
        self.assertEqual([l.split(",")[1] for l in lines[1:]], [r[13] for r in pooled_test])  # labels carried
        for line in lines[1:]:
            probs = [float(v) for v in line.split(",")[3:]]
            self.assertAlmostEqual(sum(probs), 1.0, places=4)
        self.keep = False

    def test_prep_errors(self):
        out = os.path.join(self.dir, "out")
        # A missing input file: exit 2, the path in the message, nothing written.
        missing = os.path.join(self.dir, "no-such-table.csv")
        p = run([PREP, "--spec", write_json(os.path.join(self.dir, "missing.json"), spec(missing, out))])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(missing, p.stderr)
        self.assertFalse(os.path.exists(out))

        # A site whose values are not in the site column gets no rows: exit 2, the site named.
        bad = spec(self.table, out)
        bad["sites"][2]["values"] = ["basel"]
        p = run([PREP, "--spec", write_json(os.path.join(self.dir, "values.json"), bad)])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("site other", p.stderr)
        self.assertFalse(os.path.exists(out))  # stopped before anything was written

        # Spec errors are config errors.
        bad = spec(self.table, os.path.join(self.dir, "out2"))
        bad["sites"][0]["classes"] = ["0"]
        p = run([PREP, "--spec", write_json(os.path.join(self.dir, "classes.json"), bad)])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("config error", p.stderr)
        self.assertIn("sites[0].classes", p.stderr)
        bad = spec(self.table, os.path.join(self.dir, "out2"))
        bad["csv"].pop("label_column")
        p = run([PREP, "--spec", write_json(os.path.join(self.dir, "label.json"), bad)])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("csv.label_column", p.stderr)

        # An unknown site column: exit 2, named.
        bad = spec(self.table, os.path.join(self.dir, "out3"))
        bad["column"] = "15"
        p = run([PREP, "--spec", write_json(os.path.join(self.dir, "column.json"), bad)])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("column 15 is out of range", p.stderr)

        # Existing output: the second run is refused with exit 2.
        good = write_json(os.path.join(self.dir, "good.json"), spec(self.table, os.path.join(self.dir, "out4")))
        self.assertEqual(run([PREP, "--spec", good]).returncode, 0)
        p = run([PREP, "--spec", good])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("exists", p.stderr)


if __name__ == "__main__":
    unittest.main()
