"""The launcher runs PneumoniaMNIST (28x28 chest X-rays, real data) with the CNN through
the real binaries: a short federation whose final model beats chance on every
hospital's test split."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

DATA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")


class PneumoniaTest(unittest.TestCase):
    def test_cnn_federation_on_pneumoniamnist(self):
        fltest.require_file(DATA)
        run_dir = fltest.temp_dir("fl-pneumonia-")
        p = fltest.launch(["--data", DATA, "--run-dir", run_dir, "--rounds", "3", "--max-train", "400",
                           "--max-test", "200", "--threads", "1"], timeout=900)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("federated", p.stdout)
        lines = fltest.read_metrics(os.path.join(run_dir, "state"))
        final = lines[-1]
        self.assertTrue(final.get("final"))
        self.assertEqual(len(final["hospitals"]), 3)
        for name, m in final["hospitals"].items():
            # Test splits are about 62% pneumonia; a trained CNN separates the classes.
            self.assertGreater(m["test_auroc"], 0.75, name)
        params, meta = fltest.read_safetensors(os.path.join(run_dir, "state", "model-v000003.safetensors"))
        self.assertIn("conv1.weight", params)
        self.assertEqual(params["conv1.weight"][0], [16, 1, 3, 3])
        self.assertEqual(meta["model"], "cnn")


if __name__ == "__main__":
    unittest.main()
