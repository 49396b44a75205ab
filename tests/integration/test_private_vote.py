"""A private vote through the real binaries, on PneumoniaMNIST images: hospitals a-d each
train 3 PATE teachers (fl-worker teachers) on their own images; a student hospital asks
for labels of its unlabelled images (fl-worker ask); the teachers' hospitals vote
(fl-worker vote) in secure-aggregation rounds, each adding its own share of the noise.

- Noiseless (the test tool's --noiseless-votes, never the product): every released
  histogram equals the teachers' votes computed here in PyTorch, exactly; the confident
  queries are those whose top count reaches the threshold; the labels are their plurality
  classes; the ledger and metrics record every release; fl-worker student trains on them.
  In the coordinator's own transcript, no hospital's masked input matches any hospital's
  counts in any entry, while the unmasked sum is exactly their total.
- Noisy, with a hospital dying inside the first vote round: the rounds go on with the
  other three; the released counts less the true counts have mean 0 and variance sigma^2
  (each hospital adds sigma^2 / 3).
- A student whose records have another size than the teachers read is refused with a
  clear error, and the teachers' hospitals stay to answer the next student.
- A hospital keeps its own privacy account: it refuses the round that would take its
  teachers past its own vote_epsilon_budget, whatever the coordinator's budget, and a
  restarted hospital goes on from its ledger without passing it. A hospital refuses a vote
  whose noise is below its min_vote_sigma, and the others go on.
- A hospital that lies about its number of teachers ends the query set (the sum is
  accounted and discarded, the student told why), not the coordinator.
- The budget: the coordinator stops posing queries when the next batch could exceed its
  epsilon budget, says so to the student, and a restarted coordinator goes on from the
  ledger without ever exceeding the budget.
- Bad requests are clear errors."""
import glob
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

PNEUMONIA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")
FAULTY = os.path.join(fltest.BUILD, "tests", "fl-worker-faulty")
TEACHER_HOSPITALS = "abcd"
TEACHERS = 3
QUERIES = 60
PLAN = {"model": {"name": "cnn", "channels": 8},
        "training": {"optimizer": "adam", "learning_rate": 0.003, "steps": 15, "batch_size": 32}}


class PrivateVoteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fltest.require_file(PNEUMONIA)
        fltest.require_file(FAULTY)
        cls.np = np = fltest.numpy_or_skip()
        sys.path.insert(0, os.path.join(fltest.ROOT, "python"))
        try:
            import torch  # noqa: F401
            import hospital_fl  # noqa: F401
        except ImportError:
            fltest.skip("python3-torch is not installed")
        cls.work = fltest.WorkDir("fl-vote-")
        cls.path, cls.write = cls.work.path, cls.work.write
        src = np.load(PNEUMONIA)
        order = np.random.default_rng(5).permutation(len(src["train_labels"]))  # the file is sorted by label
        test_x, test_y = src["test_images"], src["test_labels"]
        for i, h in enumerate(TEACHER_HOSPITALS):
            rows = order[150 * i:150 * (i + 1)]
            np.savez(cls.path(h + ".npz"), train_images=src["train_images"][rows],
                     train_labels=src["train_labels"][rows], test_images=test_x[:40], test_labels=test_y[:40])
        # The student's unlabelled pool (its file's labels are never read) and its test images.
        pool = np.random.default_rng(6).permutation(len(test_y))[:QUERIES]
        cls.pool_images = test_x[pool]
        np.savez(cls.path("student.npz"), train_images=cls.pool_images, train_labels=test_y[pool],
                 test_images=test_x[-40:], test_labels=test_y[-40:])
        cls.plan = cls.write("plan.json", {"plan": PLAN})
        cls.port = fltest.free_port()
        cls.roster = cls.path("roster.json")
        for h in TEACHER_HOSPITALS + "s":
            name = "student" if h == "s" else "hospital-" + h
            fltest.hospital_key(cls.work.dir, name, cls.roster)
            cls.write(h + ".json", {
                "name": name, "coordinator": "tcp://127.0.0.1:%d" % cls.port, "insecure": True,
                "identity_key": cls.path(name + ".key"), "roster": cls.roster, "state_dir": cls.path("state-" + h),
                "timeouts": {"heartbeat_interval_s": 0.2},
                # The tests ask with little noise, to see it; each hospital's own budget allows it.
                "vote_epsilon_budget": 1000,
                "data": {"format": "npz", "path": cls.path(("student" if h == "s" else h) + ".npz")}})
        for h in TEACHER_HOSPITALS:
            p = fltest.run_worker("teachers", "--config", cls.path(h + ".json"), "--plan", cls.plan, "--teachers",
                                  str(TEACHERS), "--rounds", "3")
            if p.returncode != 0:
                raise AssertionError(p.stderr)
        cls.votes = {h: cls.teacher_votes(h) for h in TEACHER_HOSPITALS}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work.dir, True)

    @classmethod
    def teacher_votes(cls, h):
        """Hospital h's teachers' vote counts on the student's pool, computed in PyTorch."""
        import torch
        import hospital_fl
        np = cls.np
        x = torch.from_numpy(cls.pool_images.astype(np.float32)[:, None] / np.float32(255))
        votes = np.zeros((QUERIES, 2), dtype=np.int64)
        for i in range(TEACHERS):
            model = hospital_fl.load_model(os.path.join(cls.path("state-" + h), "teachers", "teacher-%03d.safetensors" % i))
            model.eval()
            with torch.no_grad():
                predicted = model(x).argmax(1).numpy()
            votes[np.arange(QUERIES), predicted] += 1
        return votes

    def setUp(self):
        self.procs = []
        self.addCleanup(self.stop_all)
        self.state = self.path("coordinator-%s" % self._testMethodName)

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def start(self, args, log_name):
        log = open(self.path(log_name), "w")
        self.addCleanup(log.close)
        p = subprocess.Popen(args, stderr=log, stdout=subprocess.DEVNULL)
        p.log_path = self.path(log_name)
        self.procs.append(p)
        return p

    def coordinator(self, vote, audit=None, name="coordinator"):
        cfg = self.write(name + ".json", {
            "listen": "tcp://127.0.0.1:%d" % self.port, "transport": {"security": "insecure"},
            "min_workers": 3, "rounds": 1, "state_dir": self.state, "roster": self.roster,
            "timeouts": {"heartbeat_s": 3, "admission_s": 60, "phase_s": 60},
            "secagg": {"max_dropout": 0.3}, "vote": vote, "plan": PLAN})
        return self.start([fltest.COORDINATOR, "--config", cfg] + (["--audit-dir", audit] if audit else []),
                          "%s-%s.log" % (name, self._testMethodName))

    def voter(self, h, binary=None, extra=()):
        return self.start([binary or fltest.WORKER, "vote", "--config", self.path(h + ".json"), "--once"] + list(extra),
                          "vote-%s-%s-%d.log" % (h, self._testMethodName, len(self.procs)))

    def ask(self):
        p = self.start([fltest.WORKER, "ask", "--config", self.path("s.json"), "--once"],
                       "ask-%s-%d.log" % (self._testMethodName, len(self.procs)))
        code = p.wait(timeout=300)
        with open(p.log_path) as f:
            log = f.read()
        self.assertEqual(code, 0, log)
        with open(os.path.join(self.path("state-s"), "student", "labels.json")) as f:
            return json.load(f)

    def released(self, number=1):
        with open(os.path.join(self.state, "votes", "query-set-%06d.json" % number)) as f:
            return json.load(f)

    def ledger(self):
        with open(os.path.join(self.state, "privacy-ledger.jsonl")) as f:
            return [json.loads(l) for l in f if l.strip()]

    def finish(self, coord):
        code = coord.wait(timeout=120)
        with open(coord.log_path) as f:
            self.assertEqual(code, 0, f.read()[-3000:])
        for p in self.procs:
            if p is not coord and p.poll() is None:
                p.wait(timeout=60)

    def test_noiseless_vote_is_exact_and_the_coordinator_sees_no_hospitals_counts(self):
        np = self.np
        audit = self.path("audit-noiseless")
        coord = self.coordinator({"classes": 2, "sigma_selection": 5, "sigma_answer": 3, "threshold": 0.6,
                                  "epsilon_budget": 1000, "batch_queries": 25}, audit=audit)
        for h in "abc":
            self.voter(h, FAULTY, ["--noiseless-votes"])
        labels = self.ask()
        self.finish(coord)
        exact = self.votes["a"] + self.votes["b"] + self.votes["c"]
        self.assertTrue((exact.max(1) < 3 * TEACHERS).any(), "the teachers never disagree: the check is vacuous")
        released = self.released()
        self.assertEqual(released["posed"], QUERIES)
        self.assertEqual([s["query"] for s in released["selection"]], list(range(QUERIES)))
        self.assertEqual([s["noisy_counts"] for s in released["selection"]], exact.tolist())
        confident = [q for q in range(QUERIES) if exact[q].max() >= 0.6 * 3 * TEACHERS]
        self.assertTrue(0 < len(confident) < QUERIES, confident)
        self.assertEqual([a["query"] for a in released["answer"]], confident)
        self.assertEqual([a["noisy_counts"] for a in released["answer"]], exact[confident].tolist())
        self.assertEqual(labels["answered"], [[q, int(exact[q].argmax())] for q in confident])
        self.assertEqual((labels["queries"], labels["posed"], labels["note"]), (QUERIES, QUERIES, ""))
        # Every release is in the ledger: 3 selection rounds (25, 25, 10 queries), each
        # followed by an answer round for its confident queries.
        ledger = self.ledger()
        self.assertEqual([(l["release"], l["histograms"]) for l in ledger if l["release"] == "selection"],
                         [("selection", 25), ("selection", 25), ("selection", 10)])
        self.assertEqual(sum(l["histograms"] for l in ledger if l["release"] == "answer"), len(confident))
        self.assertTrue(all(l["contributors"] == 3 and l["guarantee"] == 3 for l in ledger))
        self.assertAlmostEqual(labels["epsilon"], ledger[-1]["epsilon"])
        lines = fltest.read_metrics(self.state)
        self.assertEqual(sum(l["posed"] for l in lines), QUERIES)
        self.assertEqual(sum(l["answered"] for l in lines), len(confident))
        self.assertTrue(all(l["teachers"] == 3 * TEACHERS for l in lines))
        # The student trains on the released labels at home.
        p = fltest.run_worker("student", "--config", self.path("s.json"), "--plan", self.plan, "--rounds", "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual((summary["mode"], summary["labelled"], summary["queries"]), ("student", len(confident), QUERIES))
        self.assertTrue(0 <= summary["test_accuracy"] <= 1)
        # The coordinator's transcript, round by round: a selection round per batch, then an
        # answer round for the batch's confident queries.
        rounds = []
        for start in range(0, QUERIES, 25):
            batch = list(range(start, min(start + 25, QUERIES)))
            rounds.append(batch)
            if [q for q in batch if q in confident]:
                rounds.append([q for q in batch if q in confident])
        dirs = sorted(glob.glob(os.path.join(audit, "coordinator", "round-*")))
        self.assertEqual(len(dirs), len(rounds))
        for queries, d in zip(rounds, dirs):
            total = fltest.as_signed(fltest.read_u32(os.path.join(d, "sum.u32")))
            self.assertEqual(total, exact[queries].ravel().tolist() + [3 * TEACHERS])
            masked = [fltest.read_u32(p) for p in sorted(glob.glob(os.path.join(d, "masked_input-w*.payload0.bin")))]
            self.assertEqual(len(masked), 3)
            for m in masked:
                for h in "abc":
                    own = self.votes[h][queries].ravel().tolist() + [TEACHERS]
                    self.assertFalse(any(a == b for a, b in zip(m, own)), (d, h))
            # The masked inputs alone do not add up to the counts: the self-masks are still on.
            self.assertNotEqual(fltest.as_signed(fltest.ring_sum(masked)), total)

    def test_noisy_vote_with_a_dropout(self):
        np = self.np
        sigma_1, sigma_2 = 4.0, 3.0
        coord = self.coordinator({"classes": 2, "sigma_selection": sigma_1, "sigma_answer": sigma_2, "threshold": 0.5,
                                  "epsilon_budget": 1000, "batch_queries": 30})
        for h in "abc":
            self.voter(h)
        dying = self.voter("d", FAULTY, ["--crash-before", "masked_input:1"])
        labels = self.ask()
        self.finish(coord)
        self.assertEqual(dying.returncode, 137)
        ledger = self.ledger()
        self.assertTrue(all(l["contributors"] == 3 for l in ledger), ledger)
        exact = self.votes["a"] + self.votes["b"] + self.votes["c"]
        released = self.released()
        self.assertEqual(released["posed"], QUERIES)
        noisy = np.array([s["noisy_counts"] for s in released["selection"]])
        noise = (noisy - exact).ravel()
        # 120 draws of the summed noise: 3 hospitals' sigma_1^2 / 3 each (libsodium's draws,
        # so the bounds are wide: about 5 standard errors; tests/unit/test_privacy.cc checks
        # the noise tightly on fixed seeds).
        self.assertLess(abs(noise.mean()), 5 * sigma_1 / np.sqrt(noise.size))
        self.assertTrue(0.5 * sigma_1 ** 2 < noise.var() < 1.8 * sigma_1 ** 2, noise.var())
        self.assertTrue(np.any(noise != 0))
        answers = released["answer"]
        self.assertEqual(labels["answered"], [[a["query"], int(np.argmax(a["noisy_counts"]))] for a in answers])
        bar = 0.5 * 3 * TEACHERS
        self.assertEqual([a["query"] for a in answers], [q for q in range(QUERIES) if noisy[q].max() >= bar])

    def test_budget_stops_the_vote_across_restarts(self):
        # About 25 queries fit in the budget (the data-independent bound for sigma 20 and 15).
        vote = {"classes": 2, "sigma_selection": 20, "sigma_answer": 15, "threshold": 0.5, "epsilon_budget": 3.0,
                "batch_queries": 10}
        first = None
        for run in range(2):
            coord = self.coordinator(vote, name="coordinator-%d" % run)
            for h in "abc":
                self.voter(h)
            labels = self.ask()
            self.finish(coord)
            self.assertLess(labels["posed"], QUERIES)
            self.assertIn("privacy budget", labels["note"])
            self.assertLessEqual(labels["epsilon"], 3.0)
            if first is None:
                first = labels
                self.assertGreaterEqual(first["posed"], 10)
            with open(coord.log_path) as f:
                log = f.read()
            self.assertIn("epsilon spent", log)
        # The restarted coordinator replayed the ledger: it never spends past the budget,
        # and the whole ledger accounts for both runs.
        ledger = self.ledger()
        self.assertLessEqual(ledger[-1]["epsilon"], 3.0)
        self.assertGreaterEqual(ledger[-1]["epsilon"], first["epsilon"])
        self.assertEqual(sum(l["histograms"] for l in ledger if l["release"] == "selection"),
                         first["posed"] + labels["posed"])

    def test_a_student_with_other_records_is_refused_and_the_vote_goes_on(self):
        coord = self.coordinator({"classes": 2, "sigma_selection": 5, "sigma_answer": 3, "epsilon_budget": 1000})
        voters = [self.voter(h) for h in "abc"]
        # A student whose images are 14 x 14: records of 196 floats, the teachers read 784.
        np = self.np
        small = self.pool_images[:, ::2, ::2]
        zeros = np.zeros((len(small), 1), dtype=np.uint8)
        np.savez(self.path("small.npz"), train_images=small, train_labels=zeros, test_images=small[:10],
                 test_labels=zeros[:10])
        with open(self.path("s.json")) as f:
            cfg = json.load(f)
        cfg["data"]["path"] = self.path("small.npz")
        cfg["state_dir"] = self.path("state-small")
        p = subprocess.run([fltest.WORKER, "ask", "--config", self.write("small.json", cfg), "--once"],
                           capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("records of 196 floats, but the teachers read 784", p.stderr)
        self.assertTrue(all(v.poll() is None for v in voters))
        labels = self.ask()  # the right student is answered by the same hospitals
        self.finish(coord)
        self.assertEqual(labels["posed"], QUERIES)

    def test_a_hospital_keeps_its_own_budget(self):
        with open(self.path("d.json")) as f:
            cfg = json.load(f)
        cfg["vote_epsilon_budget"] = 3.0
        cfg["state_dir"] = self.path("state-d-budget")
        shutil.copytree(self.path("state-d"), cfg["state_dir"])
        strict = self.write("d-budget.json", cfg)
        coord = self.coordinator({"classes": 2, "sigma_selection": 20, "sigma_answer": 15, "threshold": 0.5,
                                  "epsilon_budget": 1000, "batch_queries": 10})
        for h in "abc":
            self.voter(h)
        careful = self.start([fltest.WORKER, "vote", "--config", strict, "--once"], "vote-d-budget.log")
        labels = self.ask()
        self.finish(coord)
        self.assertEqual(labels["posed"], QUERIES)  # a, b and c went on without d
        self.assertEqual(careful.returncode, 1)
        with open(careful.log_path) as f:
            self.assertIn("past its vote_epsilon_budget 3", f.read())
        ledger_path = os.path.join(cfg["state_dir"], "teachers", "privacy-ledger.jsonl")
        with open(ledger_path) as f:
            own = [json.loads(l) for l in f if l.strip()]
        self.assertGreater(len(own), 0)
        self.assertLessEqual(own[-1]["epsilon"], 3.0)
        self.assertTrue(all(l["sigma"] in (20, 15) and l["guarantee"] == 3 for l in own))
        # The coordinator's rounds d took part in are all in d's own ledger.
        self.assertLessEqual(sum(l["histograms"] for l in own), sum(l["histograms"] for l in self.ledger()))
        # Restarted, it goes on from its ledger: it never passes its budget.
        self.state = self.path("coordinator-again-state")
        coord = self.coordinator({"classes": 2, "sigma_selection": 20, "sigma_answer": 15, "threshold": 0.5,
                                  "epsilon_budget": 1000, "batch_queries": 10}, name="coordinator-again")
        for h in "abc":
            self.voter(h)
        again = self.start([fltest.WORKER, "vote", "--config", strict, "--once"], "vote-d-budget-2.log")
        self.ask()
        self.finish(coord)
        self.assertEqual(again.returncode, 1)
        with open(again.log_path) as f:
            self.assertIn("past its vote_epsilon_budget 3", f.read())
        with open(ledger_path) as f:
            both = [json.loads(l) for l in f if l.strip()]
        self.assertEqual(both[:len(own)], own)
        self.assertLessEqual(both[-1]["epsilon"], 3.0)
        self.assertGreaterEqual(both[-1]["epsilon"], own[-1]["epsilon"])

    def test_a_hospital_refuses_a_vote_with_too_little_noise(self):
        with open(self.path("d.json")) as f:
            cfg = json.load(f)
        cfg["min_vote_sigma"] = 10
        strict = self.write("d-strict.json", cfg)
        coord = self.coordinator({"classes": 2, "sigma_selection": 5, "sigma_answer": 3, "epsilon_budget": 1000})
        for h in "abc":
            self.voter(h)
        careful = self.start([fltest.WORKER, "vote", "--config", strict, "--once"], "vote-d-strict.log")
        labels = self.ask()
        self.finish(coord)
        self.assertEqual(labels["posed"], QUERIES)  # a, b and c voted without d
        self.assertEqual(careful.returncode, 1)
        with open(careful.log_path) as f:
            self.assertIn("below this hospital's min_vote_sigma 10", f.read())

    def test_a_hospital_lying_about_its_teachers_ends_the_set_not_the_coordinator(self):
        # c adds 2^30 to its weight word: the unmasked sum claims more teachers than the
        # hospitals may have. The sum is accounted, then discarded, and the student told.
        coord = self.coordinator({"classes": 2, "sigma_selection": 5, "sigma_answer": 3, "epsilon_budget": 1000,
                                  "batch_queries": 30})
        for h in "ab":
            self.voter(h)
        self.voter("c", FAULTY, ["--tamper-weight", str(1 << 30)])
        labels = self.ask()
        self.finish(coord)
        self.assertEqual((labels["posed"], labels["answered"]), (30, []))
        self.assertIn("malformed", labels["note"])
        self.assertEqual([(l["release"], l["histograms"]) for l in self.ledger()], [("selection", 30)])
        self.assertAlmostEqual(labels["epsilon"], self.ledger()[-1]["epsilon"])

    def test_errors(self):
        # A training worker is refused by a vote coordinator, and a vote needs teachers.
        coord = self.coordinator({"classes": 2, "sigma_selection": 5, "sigma_answer": 3, "epsilon_budget": 10})
        p = subprocess.run([fltest.WORKER, "--config", self.path("a.json"), "--once"], capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("private vote", p.stderr)
        coord.kill()
        p = fltest.run_worker("vote", "--config", self.path("s.json"), "--once")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("fl-worker teachers", p.stderr)
        stateless = self.write("stateless.json", {"name": "student", "insecure": True,
                                                  "data": {"format": "npz", "path": self.path("student.npz")}})
        p = fltest.run_worker("ask", "--config", stateless)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("state_dir", p.stderr)
        other = self.write("labels.json", {"queries": QUERIES, "query_pool_blake2b": "0" * 64, "posed": 1,
                                           "answered": [[0, 1]], "epsilon": 1, "delta": 1e-5})
        p = fltest.run_worker("student", "--config", self.path("s.json"), "--plan", self.plan, "--labels", other)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("other samples", p.stderr)
        bad = self.write("bad-coordinator.json", {"transport": {"security": "insecure"}, "state_dir": self.state,
                                                  "vote": {"classes": 2, "sigma_selection": 5}})
        p = subprocess.run([fltest.COORDINATOR, "--config", bad], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("vote.sigma_answer", p.stderr)


if __name__ == "__main__":
    unittest.main()
