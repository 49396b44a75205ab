"""A worker killed in the middle of a round: the round is abandoned, a new one runs
with the remaining workers, and training still reaches the round limit."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402


class DropoutTest(unittest.TestCase):
    def test_killed_worker_restarts_round_with_the_rest(self):
        fltest.require_file(fltest.BREAST_CANCER)
        run_dir = fltest.temp_dir("fl-dropout-")
        # Long local training (150 epochs) so that the kill lands inside a round.
        p = fltest.launch(["--run-dir", run_dir, "--rounds", "5", "--min-workers", "2", "--epochs", "150",
                           "--heartbeat-s", "2", "--kill", "hospital-c:2", "--no-baseline"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = fltest.read_metrics(os.path.join(run_dir, "state"))
        rounds = [l for l in lines if "round" in l]
        self.assertEqual([l["round"] for l in rounds], [1, 2, 3, 4, 5])
        # Round 1 may start before the third worker has connected (min_workers is 2).
        self.assertEqual(rounds[1]["cohort_size"], 3)
        self.assertIn("hospital-c", rounds[1]["hospitals"])
        self.assertEqual([l["cohort_size"] for l in rounds[2:]], [2, 2, 2])
        for l in rounds[2:]:
            self.assertNotIn("hospital-c", l["hospitals"])
        # The round the worker died in was abandoned, so protocol round ids skip one.
        self.assertGreater(rounds[2]["protocol_round"], 3)
        with open(os.path.join(run_dir, "coordinator.log")) as f:
            log = f.read()
        self.assertIn("abandoned", log)
        self.assertIn("hospital-c", log)
        final = lines[-1]
        self.assertTrue(final.get("final"))
        self.assertEqual(sorted(final["hospitals"]), ["hospital-a", "hospital-b"])
        self.assertTrue(os.path.exists(os.path.join(run_dir, "state", "model-v000005.safetensors")))


if __name__ == "__main__":
    unittest.main()
