"""Secure aggregation through the real binaries on loopback: 6 hospitals (complete
graph, t = 4); in round 2 one worker dies after advertising its keys and another after
sharing them. The round completes, and the global model equals the weighted average of
the four survivors' updates, checked from the audit dumps."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402


class SecAggDropoutTest(unittest.TestCase):
    def test_round_survives_two_dropouts_at_different_phases(self):
        fltest.require_file(fltest.BREAST_CANCER)
        run_dir = fltest.temp_dir("fl-secagg-dropout-")
        audit = os.path.join(run_dir, "audit")
        p = fltest.launch(["--run-dir", run_dir, "--audit", audit, "--workers", "6", "--weights", "3,2,2,1,1,1",
                           "--rounds", "2", "--heartbeat-s", "2", "--no-baseline",
                           "--crash", "hospital-e:share:2", "--crash", "hospital-f:masked_input:2"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        state = os.path.join(run_dir, "state")
        rounds = [l for l in fltest.read_metrics(state) if "round" in l]
        self.assertEqual([l["round"] for l in rounds], [1, 2])
        first, second = rounds
        self.assertEqual(first["cohort_size"], 6)
        self.assertEqual(second["secagg"], {"n": 6, "k": 5, "t": 4, "complete": True})
        self.assertEqual(second["invited"], 6)
        self.assertEqual(second["cohort_size"], 4)
        self.assertEqual(sorted(second["hospitals"]), ["hospital-a", "hospital-b", "hospital-c", "hospital-d"])
        # No round was abandoned: the protocol absorbed both dropouts.
        self.assertEqual(second["protocol_round"], 2)
        for line in rounds:
            fltest.check_weighted_average(self, state, audit, line)
        # The worker that died after sharing keys had masked with the others: its mask
        # secret was rebuilt from their shares, and its own update is not in the sum.
        with open(os.path.join(run_dir, "coordinator.log")) as f:
            log = f.read()
        self.assertIn("hospital-e", log)
        self.assertIn("hospital-f", log)


if __name__ == "__main__":
    unittest.main()
