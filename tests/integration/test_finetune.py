"""fl-worker finetune through the real binary, on real data and without a coordinator: a
base model trained on some PneumoniaMNIST images, fine-tuned at a hospital holding other
images; its data vector tau = fine-tuned - base is kept in the hospital's state_dir with
the base's BLAKE2b-256 hash and the sample count. A plan for another model, a missing
state_dir or base are clear errors."""
import hashlib
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

PNEUMONIA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")


worker = fltest.run_worker


class FineTuneTest(unittest.TestCase):
    def setUp(self):
        fltest.require_file(PNEUMONIA)
        self.np = np = fltest.numpy_or_skip()
        self.work = fltest.WorkDir("fl-finetune-")
        self.addCleanup(shutil.rmtree, self.work.dir, True)
        self.path, self.write = self.work.path, self.work.write
        src = np.load(PNEUMONIA)
        for name, rows in (("public", slice(0, 300)), ("hospital", slice(300, 600))):
            np.savez(self.path(name + ".npz"), train_images=src["train_images"][rows],
                     train_labels=src["train_labels"][rows], test_images=src["test_images"][:64],
                     test_labels=src["test_labels"][:64])
        self.plan = self.write("plan.json", {"plan": {"model": {"name": "cnn", "channels": 8},
                                                      "training": {"steps": 4, "batch_size": 32}}})
        public = self.write("public.json", {"name": "public", "data": {"format": "npz", "path": self.path("public.npz")}})
        self.base = self.path("base.safetensors")
        p = worker("local", "--config", public, "--plan", self.plan, "--rounds", "2", "--output-model", self.base)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.state = self.path("state")
        self.config = self.write("hospital.json", {"name": "hospital-a", "state_dir": self.state,
                                                   "data": {"format": "npz", "path": self.path("hospital.npz")}})

    def test_data_vector(self):
        tuned = self.path("tuned.safetensors")
        p = worker("finetune", "--config", self.config, "--base", self.base, "--rounds", "2", "--output-model", tuned)
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        vector_path = os.path.join(self.state, "data-vector.safetensors")
        self.assertEqual(summary["data_vector"], vector_path)
        self.assertEqual(summary["samples"], 270)  # the default validation_fraction 0.1 is held out
        self.assertEqual(summary["validation_samples"], 30)
        self.assertIn("test_accuracy", summary)
        with open(self.base, "rb") as f:
            self.assertEqual(summary["base_blake2b"], hashlib.blake2b(f.read(), digest_size=32).hexdigest())
        tau, meta = fltest.read_safetensors(vector_path)
        self.assertEqual(meta["kind"], "data_vector")
        self.assertEqual(meta["base_blake2b"], summary["base_blake2b"])
        self.assertEqual(meta["samples"], "270")
        self.assertEqual(float(meta["validation_fraction"]), 0.1)
        self.assertRegex(meta["vector_id"], "^[0-9a-f]{32}$")
        self.assertEqual(meta["hospital"], "hospital-a")
        base, _ = fltest.read_safetensors(self.base)
        after, _ = fltest.read_safetensors(tuned)
        np = self.np
        norm2 = 0.0
        self.assertEqual(set(tau), set(base))
        for name, (shape, values) in tau.items():
            expected = np.array(after[name][1], dtype=np.float32) - np.array(base[name][1], dtype=np.float32)
            self.assertEqual(shape, base[name][0])
            self.assertLessEqual(float(np.max(np.abs(np.array(values, dtype=np.float32) - expected))), 1e-6, name)
            norm2 += float(np.sum(np.array(values, dtype=np.float64) ** 2))
        self.assertGreater(norm2, 0)
        self.assertAlmostEqual(summary["data_vector_norm"], norm2 ** 0.5, places=4)

    def test_errors(self):
        other = self.write("other.json", {"plan": {"model": {"name": "resnet", "channels": 8}}})
        p = worker("finetune", "--config", self.config, "--base", self.base, "--plan", other)
        self.assertEqual(p.returncode, 2)
        self.assertIn("model section differs", p.stderr)
        p = worker("finetune", "--config", self.config)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--base", p.stderr)
        p = worker("finetune", "--config", self.config, "--base", self.path("missing.safetensors"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("missing.safetensors", p.stderr)
        p = worker("finetune", "--config", self.config, "--base", self.base, "--rounds", "zero")
        self.assertEqual(p.returncode, 2)
        stateless = self.write("stateless.json", {"name": "hospital-b",
                                                  "data": {"format": "npz", "path": self.path("hospital.npz")}})
        p = worker("finetune", "--config", stateless, "--base", self.base)
        self.assertEqual(p.returncode, 2)
        self.assertIn("state_dir", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state, "data-vector.safetensors")))


if __name__ == "__main__":
    unittest.main()
