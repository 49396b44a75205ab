"""No sum of two updates is ever published, through the real binaries: three hospitals,
one dies just before sending its masked input in round 2. The Shamir threshold for n = 3
is t = 2, so the threshold alone would let the round finish with two survivors, and each
of them would learn the other's update from the published model. The coordinator must
abandon that round instead: no sum is recorded for it, no model version follows it, and
the coordinator, left with two hospitals, gives up and tells them why."""
import glob
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402


class SurvivorMinimumTest(unittest.TestCase):
    def test_two_survivors_never_get_a_sum(self):
        fltest.require_file(fltest.BREAST_CANCER)
        run_dir = fltest.temp_dir("fl-survivor-minimum-")
        audit = os.path.join(run_dir, "audit")
        p = fltest.launch(["--run-dir", run_dir, "--audit", audit, "--workers", "3", "--rounds", "3",
                           "--heartbeat-s", "2", "--admission-s", "4", "--no-baseline",
                           "--crash", "hospital-c:masked_input:2"], timeout=300)
        # The federation cannot go on with two hospitals: the coordinator gives up.
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        state = os.path.join(run_dir, "state")
        rounds = [l for l in fltest.read_metrics(state) if "round" in l]
        self.assertEqual([l["round"] for l in rounds], [1], rounds)
        self.assertEqual(rounds[0]["cohort_size"], 3)
        fltest.check_weighted_average(self, state, audit, rounds[0])
        self.assertFalse(os.path.exists(os.path.join(state, "model-v000002.safetensors")))
        # Protocol round 2 had two masked inputs, and the coordinator never unmasked them.
        round2 = os.path.join(audit, "coordinator", "round-000002")
        self.assertEqual(len(glob.glob(os.path.join(round2, "masked_input-w*.payload0.bin"))), 2)
        self.assertFalse(os.path.exists(os.path.join(round2, "sum.u32")))
        self.assertEqual(glob.glob(os.path.join(round2, "unmask-w*")), [])
        with open(os.path.join(run_dir, "coordinator.log")) as f:
            log = f.read()
        self.assertIn("only 2 masked inputs; the survivor minimum is 3", log)
        # The two survivors are told why the federation ended instead of being left to wait.
        for name in ("hospital-a", "hospital-b"):
            with open(os.path.join(run_dir, name + ".log")) as f:
                self.assertIn("too few hospitals", f.read(), name)


if __name__ == "__main__":
    unittest.main()
