"""fl_launch.report: formatting of scores, the notes and the verdict, the per-hospital,
cross-site and global-test tables (cross_site on a stand-in for fl-worker evaluate)."""
import json
import os
import stat
import sys
import unittest

from support import TempDirTest, captured

from fl_launch.report import (cross_site, print_cross_site, print_global_test, print_hospital_tables, robust_scores,
                              score_table, small_split_warnings, verdict, with_interval)


def acc(value, low=None, high=None, **more):
    """Metrics with test_accuracy `value` and, when given, its interval."""
    m = {"test_accuracy": value}
    if low is not None:
        m.update(test_accuracy_low=low, test_accuracy_high=high)
    m.update(more)
    return m


class FormattingTest(unittest.TestCase):
    def test_with_interval(self):
        m = {"test_accuracy": 0.9375, "test_accuracy_low": 0.71654, "test_accuracy_high": 0.98888}
        self.assertEqual(with_interval(m, "test_accuracy"), "0.9375 [0.717, 0.989]")
        self.assertEqual(with_interval({"test_auroc": 0.5}, "test_auroc"), "0.5000 [-]")
        self.assertEqual(with_interval({"test_auroc": 0.5, "test_auroc_low": 0.4}, "test_auroc"), "0.5000 [-]")
        self.assertEqual(with_interval(m, "test_auroc"), "-")
        self.assertEqual(with_interval(None, "test_accuracy"), "-")
        self.assertEqual(with_interval({}, "test_accuracy"), "-")

    def test_robust_scores(self):
        self.assertEqual(robust_scores({"test_accuracy": 0.9, "robust_0.0157": 0.5, "robust_0.0078": 0.71234}),
                         "0.0078 0.7123, 0.0157 0.5000")
        self.assertEqual(robust_scores({"test_accuracy": 0.9}), "")
        self.assertEqual(robust_scores(None), "")


class SmallSplitWarningsTest(unittest.TestCase):
    def test_small_split(self):
        self.assertEqual(small_split_warnings("hospital-c", acc(0.9, test_samples=29, test_auroc=0.9), False),
                         ["hospital-c's test split has 29 samples: its scores are uncertain (see the intervals)"])
        self.assertEqual(small_split_warnings("centre-1", {"test_dice": 0.8, "test_samples": 12}, True),
                         ["centre-1's test split has 12 slices: its scores are uncertain (see the intervals)"])

    def test_one_class(self):
        self.assertEqual(small_split_warnings("hospital-a", acc(0.7, test_samples=30), False),
                         ["hospital-a's test split holds one class only: no AUROC, and its accuracy is the share "
                          "of that class predicted"])
        self.assertEqual(len(small_split_warnings("hospital-a", acc(0.7, test_samples=5), False)), 2)

    def test_nothing_to_say(self):
        self.assertEqual(small_split_warnings("hospital-a", acc(0.9, test_samples=30, test_auroc=0.95), False), [])
        self.assertEqual(small_split_warnings("hospital-a", acc(0.9, test_auroc=0.95), False), [])
        self.assertEqual(small_split_warnings("hospital-a", {"test_dice": 0.8, "test_samples": 40}, True), [])
        self.assertEqual(small_split_warnings("hospital-a", None, False), [])


class VerdictTest(unittest.TestCase):
    # Half-widths 0.02: each standard error is 0.02 / 1.96, so one score per column gives a
    # difference with 95% half-width 1.96 * sqrt(2) * 0.02 / 1.96 = 0.0283.
    def test_beats(self):
        self.assertEqual(verdict([acc(0.90, 0.88, 0.92)], [acc(0.80, 0.78, 0.82)], "test_accuracy"),
                         "The federated model beats the mean of the single-hospital models (+0.1000 in mean "
                         "test_accuracy, 95% half-width 0.0283).")

    def test_does_not_beat(self):
        self.assertEqual(verdict([acc(0.80, 0.78, 0.82)], [acc(0.90, 0.88, 0.92)], "test_accuracy"),
                         "The federated model does NOT beat the mean of the single-hospital models (-0.1000 in "
                         "mean test_accuracy, 95% half-width 0.0283).")

    def test_within_noise(self):
        self.assertEqual(verdict([acc(0.90, 0.88, 0.92)], [acc(0.88, 0.86, 0.90)], "test_accuracy"),
                         "The federated model and the single-hospital models differ by +0.0200 in mean "
                         "test_accuracy, within noise (95% half-width 0.0283): no verdict.")

    def test_means_over_hospitals(self):
        # Two hospitals a column: means 0.85 and 0.75; each column's variance halves.
        federated = [acc(0.90, 0.88, 0.92), acc(0.80, 0.78, 0.82)]
        local = [acc(0.70, 0.68, 0.72), acc(0.80, 0.78, 0.82)]
        self.assertEqual(verdict(federated, local, "test_accuracy"),
                         "The federated model beats the mean of the single-hospital models (+0.1000 in mean "
                         "test_accuracy, 95% half-width 0.0200).")

    def test_no_intervals(self):
        self.assertEqual(verdict([acc(0.90, 0.88, 0.92)], [acc(0.60)], "test_accuracy"),
                         "The federated model's mean test_accuracy differs from the single-hospital models' by "
                         "+0.3000; without intervals for every score, no verdict.")


class HospitalTablesTest(unittest.TestCase):
    def test_tables_mean_robust_and_notes(self):
        federated = {"hospital-a": acc(0.9, 0.8, 0.95, test_auroc=0.97, test_samples=71, **{"robust_0.01": 0.5}),
                     "hospital-b": acc(0.7, 0.6, 0.8, test_samples=12)}
        local = {"hospital-a": acc(0.8, 0.7, 0.9, test_auroc=0.9), "hospital-b": None}
        table = score_table(["hospital-a", "hospital-b"], federated, local, {})
        self.assertEqual(table["hospital-b"], {"federated": federated["hospital-b"], "local only": None,
                                               "pooled": None})
        with captured() as (out, _):
            print_hospital_tables(table, ["federated", "local only"], "test_accuracy", "test_auroc", False,
                                  {"federated": 0.8, "local only": 0.8})
        self.assertEqual(out.getvalue().splitlines(), [
            "",
            "Test accuracy on each hospital's own test split, with its 95% interval",
            "hospital                   federated              local only",
            "hospital-a     0.9000 [0.800, 0.950]   0.8000 [0.700, 0.900]",
            "               robust (federated): 0.01 0.5000",
            "hospital-b     0.7000 [0.600, 0.800]                       -",
            "mean                          0.8000                  0.8000",
            "",
            "Test AUROC on each hospital's own test split, with its 95% interval",
            "hospital                   federated              local only",
            "hospital-a                0.9700 [-]              0.9000 [-]",
            "hospital-b" + " " * 25 + "-" + " " * 23 + "-",
            "note: hospital-b's test split has 12 samples: its scores are uncertain (see the intervals)",
            "note: hospital-b's test split holds one class only: no AUROC, and its accuracy is the share of that "
            "class predicted",
        ])

    def test_no_mean_row_without_means(self):
        table = score_table(["north"], {"north": {"test_dice": 0.81, "test_iou": 0.7}}, {}, {"north": None})
        with captured() as (out, _):
            print_hospital_tables(table, ["federated", "local only", "pooled"], "test_dice", "test_iou", True, {})
        lines = out.getvalue().splitlines()
        self.assertEqual(lines[1], "Test Dice on each hospital's own test split, with its 95% interval")
        self.assertEqual(lines[2], "hospital                   federated              local only"
                                   "                  pooled")
        self.assertEqual(lines[3], "north                     0.8100 [-]                       -                       -")
        self.assertEqual(lines[5], "Test IoU on each hospital's own test split, with its 95% interval")
        self.assertFalse(any(l.startswith("mean") for l in lines))


FAKE_WORKER = """#!%s
# Stands in for fl-worker evaluate: scores a model (its file's name) on a test split (its
# config's "site"), or fails for the pair in FAILS.
import json, sys
SCORES = %r
FAILS = %r
argv = sys.argv[1:]
assert argv[0] == "evaluate" and argv[-2:] == ["--log-level", "warning"], argv
site = json.load(open(argv[argv.index("--config") + 1]))["site"]
model = argv[argv.index("--model") + 1].rsplit("/", 1)[-1]
if [model, site] in FAILS:
    sys.exit("fl-worker: cannot score " + model)
print("loading")
print(json.dumps({"test_accuracy": SCORES[model][site]}))
"""


class CrossSiteTest(TempDirTest):
    SCORES = {"a.model": {"b": 0.7, "c": 0.6}, "b.model": {"a": 0.8, "c": 0.5}, "c.model": {"a": 0.9, "b": 0.4}}

    def fake_worker(self, fails=()):
        path = self.write("fl-worker", FAKE_WORKER % (sys.executable, self.SCORES, [list(f) for f in fails]))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def rows(self, names):
        return [(n, self.write("worker-%s.json" % n, json.dumps({"site": n}))) for n in names]

    def test_every_local_model_on_every_split(self):
        rows = self.rows(["a", "b", "c"])
        models = {n: os.path.join(self.dir, n + ".model") for n in "abc"}
        own = {"a": acc(0.95), "b": acc(0.85), "c": None}
        with captured() as (_, err):
            cross = cross_site(self.fake_worker(fails=[("c.model", "b")]), rows, models, own, 2)
        self.assertEqual(cross, {"a": {"a": acc(0.95), "b": acc(0.7), "c": acc(0.6)},
                                 "b": {"b": acc(0.85), "a": acc(0.8), "c": acc(0.5)},
                                 "c": {"c": None, "a": acc(0.9), "b": None}})
        self.assertEqual(err.getvalue(), "fl-launch: evaluating c's local model on b failed: fl-worker: cannot score "
                                         "c.model\n")

    def test_needs_two_local_models(self):
        rows = self.rows(["a", "b"])
        self.assertEqual(cross_site("/nonexistent/fl-worker", rows, {"a": "a.model"}, {}, 2), {})

    def test_print_cross_site(self):
        cross = {"a": {"a": acc(0.95), "b": acc(0.7), "c": acc(0.6)},
                 "c": {"c": None, "a": acc(0.9), "b": None}}
        federated = {"a": acc(0.9), "b": acc(0.8), "c": {"test_auroc": 0.5}}
        with captured() as (out, _):
            print_cross_site(cross, ["a", "b", "c"], federated, "test_accuracy")
        self.assertEqual(out.getvalue().splitlines(), [
            "",
            "Cross-site accuracy: each hospital's local model (rows) on each hospital's test split (columns)",
            "model                  a           b           c   other sites     federated",
            "a                 0.9500      0.7000      0.6000        0.6500        0.8000",
            "c                 0.9000           -           -        0.9000        0.9000",
        ])

    def test_long_names_keep_their_tail(self):
        with captured() as (out, _):
            print_cross_site({}, ["hospital-with-a-long-name"], {}, "test_dice")
        self.assertEqual(out.getvalue().splitlines()[1:], [
            "Cross-site Dice: each hospital's local model (rows) on each hospital's test split (columns)",
            "model        a-long-name   other sites     federated"])


class GlobalTestTest(unittest.TestCase):
    def test_lines_and_failures(self):
        models = [("federated", "f"), ("pooled", "p"), ("local a", "a"), ("local b", "b")]
        results = [(0, '{"test_accuracy": 0.9, "test_accuracy_low": 0.85, "test_accuracy_high": 0.93, '
                       '"test_auroc": 0.95, "robust_0.0157": 0.4}\n', ""),
                   (0, "loading\n" + json.dumps({"test_accuracy": 0.8}) + "\n", ""),
                   (1, "", "no model\n"),
                   (0, "nothing\n", "")]
        with captured() as (out, err):
            scores = print_global_test(models, results, "test_accuracy", "test_auroc")
        self.assertEqual(list(scores), ["federated", "pooled"])
        self.assertEqual(scores["pooled"], {"test_accuracy": 0.8})
        self.assertEqual(out.getvalue().splitlines(), [
            "",
            "Global test set: accuracy and AUROC, with 95% intervals",
            "federated               0.9000 [0.850, 0.930]               0.9500 [-]",
            "                       robust: 0.0157 0.4000",
            "pooled                             0.8000 [-]                        -",
        ])
        self.assertEqual(err.getvalue().splitlines(), ["fl-launch: global evaluation of local a failed: no model",
                                                       "fl-launch: global evaluation of local b printed no metrics"])


if __name__ == "__main__":
    unittest.main()
