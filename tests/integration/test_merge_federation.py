"""A merge federation through the real binaries, on PneumoniaMNIST images: a base model
trained on public images; hospitals fine-tune it offline (fl-worker finetune) and come
online with their data vectors (fl-worker contribute) at different times.

- Window 1: a, b, c and d are waiting; d dies inside the window (before sharing its
  keys, so its vector is never masked), so version 1 merges a, b and c only.
- a offers its merged vector again: its own worker refuses (a vector enters one sum);
  after a restart the coordinator refuses a merged vector too (at most once).
- Window 2: d, late, with e and f (vectors against the base): version 2.
- Window 3: a, b and c fine-tuned again from version 1 (one version stale): re-based onto
  the base and weighted 1/sqrt(2): version 3.
- g, fine-tuned from version 1, comes after version 3: two versions stale, refused.
Every published model is checked against the merge computed here from the hospitals'
own vectors (weighted by sample count), and lambda is the best of the pooled validation
scores the coordinator reports.

With TIES merging (merge.method "ties"):
- g, whose hospital does not allow TIES merging, is refused at admission.
- Window 1: a, b and c: version 1 is base + lambda x the disjoint mean of their trimmed
  vectors, computed here.
- Window 2: d, e and f; f dies before its masked input of the agreement round, so the
  agreement sum, which must hold all three, is never unmasked, and the window merges the
  mean of the three trimmed vectors."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

PNEUMONIA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")
FAULTY = os.path.join(fltest.BUILD, "tests", "fl-worker-faulty")
HOSPITALS = "abcdefg"
LAMBDAS = [0.5, 1.0, 2.0]


class MergeFederationTest(unittest.TestCase):
    def setUp(self):
        fltest.require_file(PNEUMONIA)
        fltest.require_file(FAULTY)
        self.np = np = fltest.numpy_or_skip()
        self.work = fltest.WorkDir("fl-merge-")
        self.addCleanup(shutil.rmtree, self.work.dir, True)
        self.path, self.write = self.work.path, self.work.write
        self.procs = []
        self.addCleanup(self.stop_all)
        src = np.load(PNEUMONIA)
        order = np.random.default_rng(7).permutation(len(src["train_labels"]))  # the file is sorted by label
        parts = {"public": order[:300]}
        for i, h in enumerate(HOSPITALS):
            parts[h] = order[300 + 150 * i:450 + 150 * i]
        for name, rows in parts.items():
            np.savez(self.path(name + ".npz"), train_images=src["train_images"][rows],
                     train_labels=src["train_labels"][rows], test_images=src["test_images"][:48],
                     test_labels=src["test_labels"][:48])
        self.plan = {"model": {"name": "cnn", "channels": 16}, "training": {"steps": 4, "batch_size": 32}}
        plan_file = self.write("plan.json", {"plan": self.plan})
        public = self.write("public.json", {"name": "public", "data": {"format": "npz", "path": self.path("public.npz")}})
        self.base = self.path("base.safetensors")
        p = self.worker("local", "--config", public, "--plan", plan_file, "--rounds", "2", "--output-model", self.base)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.port = fltest.free_port()
        self.roster = self.path("roster.json")
        for h in HOSPITALS:
            fltest.hospital_key(self.work.dir, "hospital-" + h, self.roster)
            self.write(h + ".json", {
                "name": "hospital-" + h, "coordinator": "tcp://127.0.0.1:%d" % self.port, "insecure": True,
                "identity_key": self.path("hospital-%s.key" % h), "roster": self.roster,
                "state_dir": self.path("state-" + h), "validation_fraction": 0.2,
                "timeouts": {"heartbeat_interval_s": 0.2},
                "data": {"format": "npz", "path": self.path(h + ".npz")}})
        self.state = self.path("coordinator-state")

    def worker(self, *args):
        return subprocess.run([fltest.WORKER] + list(args) + ["--log-level", "warning"], capture_output=True,
                              text=True, timeout=300)

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def finetune(self, h, base):
        p = self.worker("finetune", "--config", self.path(h + ".json"), "--base", base, "--rounds", "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["samples"], 120)  # 150 images, 20% held out for validation
        self.assertEqual(summary["validation_samples"], 30)
        tau, meta = fltest.read_safetensors(os.path.join(self.path("state-" + h), "data-vector.safetensors"))
        return self.flat(tau), int(meta["samples"])

    def flat(self, tensors):
        np = self.np
        return np.concatenate([np.array(tensors[k][1], dtype=np.float64) for k in sorted(tensors)])

    def model(self, path):
        return self.flat(fltest.read_safetensors(path)[0])

    def contribute(self, h, binary=None, extra=()):
        log_path = self.path("contribute-%s-%d.log" % (h, len(self.procs)))
        with open(log_path, "w") as log:
            p = subprocess.Popen([binary or fltest.WORKER, "contribute", "--config", self.path(h + ".json"), "--once"]
                                 + list(extra), stderr=log, stdout=subprocess.DEVNULL)
        p.log_path = log_path
        self.procs.append(p)
        return p

    def check_refused(self, h, exit_code, reason):
        """h offers its vector and is refused with `reason`."""
        p = self.contribute(h)
        self.assertEqual(p.wait(timeout=60), exit_code)
        with open(p.log_path) as f:
            self.assertIn(reason, f.read())

    def merged_lines(self):
        if not os.path.exists(os.path.join(self.state, "metrics.jsonl")):
            return []
        return [l for l in fltest.read_metrics(self.state) if l.get("kind") == "merge"]

    def wait_for_version(self, coord, version, timeout=180):
        end = time.time() + timeout
        while time.time() < end:
            if len(self.merged_lines()) >= version:
                return
            self.assertIsNone(coord.poll(), "the coordinator exited early")
            time.sleep(0.2)
        self.fail("no merged version %d within %d s" % (version, timeout))

    def merge_window(self, coord, version, hospitals, dying=None, crash_before=None):
        """hospitals contribute (and `dying`, which crashes before `crash_before`); once
        version `version` is published, every contributor has left with exit code 0 (the
        dying one killed, 137). Returns the version's metrics line."""
        procs = [self.contribute(h) for h in hospitals]
        crashed = self.contribute(dying, FAULTY, ["--crash-before", crash_before]) if dying else None
        self.wait_for_version(coord, version)
        for p in procs:
            self.assertEqual(p.wait(timeout=60), 0)
        if crashed:
            self.assertEqual(crashed.wait(timeout=60), 137)
        return self.merged_lines()[version - 1]

    def check_version(self, line, vectors, expected_direction):
        """The published model is base + lambda * direction, lambda the best pooled score."""
        np = self.np
        scores = line["lambda_scores"]
        self.assertEqual([s["lambda"] for s in scores], LAMBDAS)
        for s in scores:
            self.assertTrue(-1e-5 <= s["validation_score"] <= 1 + 1e-5, line)  # fixed point: 1/s per input
        top = max(s["validation_score"] for s in scores)
        # Scores within the fixed-point resolution are ties, resolved toward lambda = 1.
        ties = [s["lambda"] for s in scores if s["validation_score"] >= top - 1e-4]
        self.assertEqual(line["lambda"], min(ties, key=lambda l: abs(l - 1)))
        self.assertEqual(line["validation_samples"], 30 * len(line["hospitals"]))
        published = self.model(os.path.join(self.state, "model-v%06d.safetensors" % line["model_version"]))
        expected = self.model(self.base) + line["lambda"] * expected_direction
        self.assertLess(float(np.max(np.abs(published - expected))), 2e-4, line["model_version"])

    def coordinator(self, merge, rounds):
        cfg = self.write("coordinator.json", {
            "listen": "tcp://127.0.0.1:%d" % self.port, "transport": {"security": "insecure"},
            "min_workers": 3, "rounds": rounds, "state_dir": self.state, "roster": self.roster,
            "timeouts": {"heartbeat_s": 3, "admission_s": 120, "phase_s": 60, "final_report_s": 30},
            "secagg": {"clip": 1.0, "max_dropout": 0.3},
            "merge": dict({"base": self.base, "lambdas": LAMBDAS}, **merge),
            "plan": self.plan})
        coord_log = open(self.path("coordinator.log"), "w")
        self.addCleanup(coord_log.close)
        coord = subprocess.Popen([fltest.COORDINATOR, "--config", cfg], stderr=coord_log)
        self.procs.append(coord)
        return cfg, coord, coord_log

    def ties_direction(self, vectors, hs, density):
        """TIES over hospitals hs: each vector trimmed to its largest entries, signs elected
        by the weighted sum, the weighted mean of the agreeing entries; also the weighted
        mean of the trimmed vectors, the agreeing weight per parameter and the total weight."""
        np = self.np
        trimmed, weights = [], []
        for h in hs:
            tau, w = vectors[h]
            keep = int(np.ceil(density * tau.size))
            order = np.argsort(-np.abs(tau.astype(np.float32)), kind="stable")[:keep]
            t = np.zeros_like(tau)
            t[order] = tau[order]
            trimmed.append(t)
            weights.append(w)
        total = sum(weights)
        trimmed_mean = sum(w * t for w, t in zip(weights, trimmed)) / total
        signs = np.sign(trimmed_mean)
        agree = [(t * signs) > 0 for t in trimmed]
        numerator = sum(w * t * a for w, t, a in zip(weights, trimmed, agree))
        agreeing = sum(w * a for w, a in zip(weights, agree))
        mean = np.where(agreeing > 0, numerator / np.maximum(agreeing, 1), 0.0)
        return mean, trimmed_mean, agreeing, total

    def test_ties_merging_with_a_dropout_in_the_agreement_round(self):
        np = self.np
        for h in "abcdef":
            with open(self.path(h + ".json")) as f:
                cfg = json.load(f)
            cfg["allow_ties_merging"] = True
            cfg["ties_density"] = 0.3
            self.write(h + ".json", cfg)
        vectors = {h: self.finetune(h, self.base) for h in "abcdefg"}
        density = 0.3
        cfg, coord, _ = self.coordinator({"method": "ties", "ties_density": density, "window_s": 2}, 2)

        self.check_refused("g", 1, "allow_ties_merging")

        v1 = self.merge_window(coord, 1, "abc")
        self.assertEqual(v1["method"], "ties")
        self.assertTrue(v1["ties"]["complete"], v1)
        self.assertEqual(v1["ties"]["agreement_round"], v1["vector_round"] + 1)
        ties1, trimmed1, agreeing1, w1 = self.ties_direction(vectors, "abc", density)
        self.assertEqual(v1["window_weight"], w1)
        # Parameters whose trimmed sum is within the fixed-point resolution of 0 may elect
        # either sign; nowhere else may the published model differ.
        decided = np.abs(trimmed1) > 1e-5
        self.assertGreater(decided.mean(), 0.3)
        published = self.model(os.path.join(self.state, "model-v000001.safetensors")) - self.model(self.base)
        expected = v1["lambda"] * ties1
        self.assertLess(float(np.max(np.abs(published - expected)[decided])), 2e-4)
        self.assertAlmostEqual(v1["ties"]["elected_share"], float(np.mean(ties1 != 0)), delta=0.01)
        self.assertAlmostEqual(v1["ties"]["agreeing_weight"], float(np.mean(agreeing1[agreeing1 > 0])) / w1, delta=0.01)
        # TIES is not the plain mean: the disjoint mean is larger where hospitals disagree.
        plain = sum(vectors[h][1] * vectors[h][0] for h in "abc") / w1
        self.assertGreater(float(np.max(np.abs(ties1 - plain))), 1e-3)

        # Window 2: f dies before its agreement input; the trimmed mean is merged. Too few
        # are left to score lambdas: d and e get the model and leave all the same.
        v2 = self.merge_window(coord, 2, "de", dying="f", crash_before="masked_input:2")
        self.assertEqual(sorted(v2["hospitals"]), ["hospital-d", "hospital-e", "hospital-f"])
        self.assertFalse(v2["ties"]["complete"], v2)
        _, trimmed2, _, w2 = self.ties_direction(vectors, "def", density)
        direction = (w1 * ties1 + w2 * trimmed2) / (w1 + w2)
        published = self.model(os.path.join(self.state, "model-v000002.safetensors")) - self.model(self.base)
        self.assertLess(float(np.max(np.abs(published - v2["lambda"] * direction)[decided])), 2e-4)
        with open(self.path("coordinator.log")) as f:
            self.assertIn("merges the mean of the trimmed vectors", f.read())
        self.assertEqual(coord.wait(timeout=60), 0)

    def test_windows_late_hospital_dropout_and_staleness(self):
        vectors = {h: self.finetune(h, self.base) for h in "abcdef"}
        cfg, coord, coord_log = self.coordinator({"window_s": 4, "max_staleness": 1}, 4)

        # Window 1: d dies before sending its masked vector.
        v1 = self.merge_window(coord, 1, "abc", dying="d", crash_before="share:1")
        self.assertEqual(sorted(v1["hospitals"]), ["hospital-a", "hospital-b", "hospital-c"])
        self.assertEqual((v1["invited"], v1["cohort_size"], v1["base_version"]), (4, 3, 0))

        def mean(hs):
            w = sum(vectors[h][1] for h in hs)
            return sum(vectors[h][1] * vectors[h][0] for h in hs) / w, w
        a1, w1 = mean("abc")
        self.assertEqual(v1["window_weight"], w1)
        self.check_version(v1, vectors, a1)
        reports = [l for l in fltest.read_metrics(self.state) if l.get("reports_of_version") == 1]
        self.assertEqual(sorted(reports[0]["hospitals"]), ["hospital-a", "hospital-b", "hospital-c"])
        self.assertIn("test_accuracy", reports[0]["hospitals"]["hospital-a"])

        # At most once: a's worker never offers a vector it has sent.
        self.check_refused("a", 2, "sent to a merge federation already")

        # Window 2: the late hospital d, with e and f.
        v2 = self.merge_window(coord, 2, "def")
        self.assertEqual(sorted(v2["hospitals"]), ["hospital-d", "hospital-e", "hospital-f"])
        a2, w2 = mean("def")
        a12 = (w1 * a1 + w2 * a2) / (w1 + w2)
        self.check_version(v2, vectors, a12)

        # Window 3: a, b, c fine-tuned again from version 1, one version stale.
        v1_file = os.path.join(self.state, "model-v000001.safetensors")
        shutil.copy(v1_file, self.path("v1.safetensors"))
        again = {h: self.finetune(h, self.path("v1.safetensors")) for h in "abc"}
        vectors.update(again)
        v3 = self.merge_window(coord, 3, "abc")
        self.assertEqual((v3["base_version"], v3["staleness"]), (1, 1))
        self.assertAlmostEqual(v3["staleness_weight"], 2 ** -0.5)
        a3, w3 = mean("abc")
        offset = self.model(v1_file) - self.model(self.base)
        alpha = 2 ** -0.5
        # Re-based in units of version 1's lambda: base + lambda_1 r is each fine-tuned model.
        a123 = ((w1 + w2) * a12 + alpha * w3 * (a3 + offset) / v1["lambda"]) / (w1 + w2 + alpha * w3)
        self.check_version(v3, vectors, a123)
        self.assertEqual(v3["vectors_merged"], 9)

        # g, fine-tuned from version 1, is two versions behind: refused.
        self.finetune("g", self.path("v1.safetensors"))
        self.check_refused("g", 1, "max_staleness")

        coord.send_signal(signal.SIGTERM)
        self.assertEqual(coord.wait(timeout=60), 0)
        with open(self.path("coordinator.log")) as f:
            log = f.read()
        self.assertIn("hospital-d", log)
        # A restarted coordinator continues, and refuses merged vectors itself (d's worker
        # lost the record that it had sent its vector).
        coord = subprocess.Popen([fltest.COORDINATOR, "--config", cfg], stderr=coord_log)
        self.procs.append(coord)
        os.remove(os.path.join(self.path("state-d"), "data-vector.sent"))
        self.check_refused("d", 0, "merged already")
        coord.send_signal(signal.SIGTERM)
        self.assertEqual(coord.wait(timeout=60), 0)


if __name__ == "__main__":
    unittest.main()
