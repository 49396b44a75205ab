"""Workers killed in the middle of rounds: secure aggregation completes the round with
the survivors (their masks are removed with the dead worker's shares), and training
still reaches the round limit."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402


class DropoutTest(unittest.TestCase):
    def test_killed_worker_does_not_stop_training(self):
        fltest.require_file(fltest.BREAST_CANCER)
        run_dir = fltest.temp_dir("fl-dropout-")
        # Four hospitals, rounds need three. Long local training (150 epochs) so that the
        # kill lands inside a round, after the worker has shared its keys.
        p = fltest.launch(["--run-dir", run_dir, "--workers", "4", "--weights", "4,3,2,1", "--rounds", "5",
                           "--min-workers", "3", "--epochs", "150", "--heartbeat-s", "2", "--kill", "hospital-d:2",
                           "--no-baseline"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = fltest.read_metrics(os.path.join(run_dir, "state"))
        rounds = [l for l in lines if "round" in l]
        self.assertEqual([l["round"] for l in rounds], [1, 2, 3, 4, 5])
        # Round 1 may start before the fourth worker has connected (min_workers is 3).
        self.assertEqual(rounds[1]["cohort_size"], 4)
        self.assertIn("hospital-d", rounds[1]["hospitals"])
        # Round 3 was running when hospital-d died: it completes without it.
        for l in rounds[2:]:
            self.assertEqual(l["cohort_size"], 3)
            self.assertNotIn("hospital-d", l["hospitals"])
        with open(os.path.join(run_dir, "coordinator.log")) as f:
            log = f.read()
        self.assertIn("hospital-d", log)
        self.assertIn("dropped", log)
        final = lines[-1]
        self.assertTrue(final.get("final"))
        self.assertEqual(sorted(final["hospitals"]), ["hospital-a", "hospital-b", "hospital-c"])
        self.assertTrue(os.path.exists(os.path.join(run_dir, "state", "model-v000005.safetensors")))


if __name__ == "__main__":
    unittest.main()
