"""PATE teachers through the real binary, on PneumoniaMNIST images: a hospital trains 4
teachers on 4 disjoint shards of its training split (fl-worker teachers). Each teacher
file holds its shard size and plan; the shards cover the split; the noiseless plurality
vote the binary reports equals the vote of the same teachers loaded in PyTorch
(python/hospital_fl). Bad requests are clear errors."""
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

PNEUMONIA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")
TEACHERS = 4


worker = fltest.run_worker


class TeachersTest(unittest.TestCase):
    def setUp(self):
        fltest.require_file(PNEUMONIA)
        self.np = np = fltest.numpy_or_skip()
        self.work = fltest.WorkDir("fl-teachers-")
        self.addCleanup(shutil.rmtree, self.work.dir, True)
        self.path, self.write = self.work.path, self.work.write
        src = np.load(PNEUMONIA)
        rows = np.random.default_rng(11).permutation(len(src["train_labels"]))[:402]  # the file is sorted by label
        self.test_images, self.test_labels = src["test_images"][:80], src["test_labels"][:80].ravel()
        np.savez(self.path("hospital.npz"), train_images=src["train_images"][rows],
                 train_labels=src["train_labels"][rows], test_images=self.test_images,
                 test_labels=self.test_labels.reshape(-1, 1))
        self.plan = self.write("plan.json", {"plan": {"model": {"name": "cnn", "channels": 8},
                                                      "training": {"optimizer": "adam", "learning_rate": 0.003,
                                                                   "steps": 15, "batch_size": 32}}})
        self.state = self.path("state")
        self.config = self.write("hospital.json", {"name": "hospital-a", "state_dir": self.state,
                                                   "data": {"format": "npz", "path": self.path("hospital.npz")}})

    def test_teachers_on_disjoint_shards_and_their_vote(self):
        p = worker("teachers", "--config", self.config, "--plan", self.plan, "--teachers", str(TEACHERS),
                   "--rounds", "5")
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["count"], TEACHERS)
        sizes = [t["shard_samples"] for t in summary["teachers"]]
        self.assertEqual(sum(sizes), 402)
        self.assertLessEqual(max(sizes) - min(sizes), 1)
        with open(os.path.join(self.state, "teachers", "teachers.json")) as f:
            self.assertEqual(json.load(f)["count"], TEACHERS)

        sys.path.insert(0, os.path.join(fltest.ROOT, "python"))
        try:
            import torch
            import hospital_fl
        except ImportError:
            fltest.skip("python3-torch is not installed")
        np = self.np
        x = torch.from_numpy(self.test_images.astype(np.float32)[:, None] / np.float32(255))
        votes = np.zeros((len(self.test_labels), 2), dtype=np.int64)
        for i in range(TEACHERS):
            path = os.path.join(self.state, "teachers", "teacher-%03d.safetensors" % i)
            _, meta = fltest.read_safetensors(path)
            self.assertEqual((meta["kind"], meta["teacher_index"], meta["teacher_count"]),
                             ("teacher", str(i), str(TEACHERS)))
            self.assertEqual(int(meta["shard_samples"]), sizes[i])
            model = hospital_fl.load_model(path)
            model.eval()
            with torch.no_grad():
                predicted = model(x).argmax(1).numpy()
            votes[np.arange(len(predicted)), predicted] += 1
        self.assertTrue((votes.sum(1) == TEACHERS).all())
        self.assertTrue((votes.max(1) < TEACHERS).any(), "the teachers never disagree: the vote check is vacuous")
        plurality = votes.argmax(1)  # ties to the lower class, as the worker breaks them
        self.assertAlmostEqual(summary["ensemble_test_accuracy"], float((plurality == self.test_labels).mean()))

    def test_errors(self):
        for count, message in (("0", "--teachers"), ("x", "--teachers"), ("403", "at least as many")):
            p = worker("teachers", "--config", self.config, "--plan", self.plan, "--teachers", count)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(message, p.stderr)
        p = worker("teachers", "--config", self.config, "--teachers", "2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--plan", p.stderr)
        stateless = self.write("stateless.json", {"name": "hospital-b",
                                                  "data": {"format": "npz", "path": self.path("hospital.npz")}})
        p = worker("teachers", "--config", stateless, "--plan", self.plan, "--teachers", "2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("state_dir", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state, "teachers")))


if __name__ == "__main__":
    unittest.main()
