"""A restarted coordinator continues from its state_dir, through the real binaries:

- fl-launch refuses a run directory that already holds a federation unless --resume;
- fl-coordinator with "resume": false refuses such a state_dir and changes nothing;
- with --resume and more rounds, the federation continues from the newest checkpoint:
  the earlier checkpoints and metrics lines are kept byte for byte, and the new rounds
  follow them;
- resuming a federation that has finished trains nothing and writes nothing, in
  fl-launch and in fl-coordinator itself.
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


class ResumeTest(unittest.TestCase):
    def test_restarted_coordinator_continues_its_state(self):
        fltest.require_file(fltest.BREAST_CANCER)
        run_dir = fltest.temp_dir("fl-resume-")
        self.addCleanup(shutil.rmtree, run_dir, True)
        state = os.path.join(run_dir, "state")
        base = ["--run-dir", run_dir, "--no-baseline", "--threads", "1"]

        p = fltest.launch(base + ["--rounds", "2"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        first_metrics = read(os.path.join(state, "metrics.jsonl")).splitlines()
        v2 = read(os.path.join(state, "model-v000002.safetensors"), "rb")
        self.assertEqual([json.loads(l).get("round") for l in first_metrics], [1, 2, None])

        # The same run directory again, without --resume: refused, nothing touched.
        p = fltest.launch(base + ["--rounds", "2"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("--resume", p.stderr)
        self.assertEqual(read(os.path.join(state, "metrics.jsonl")).splitlines(), first_metrics)

        # The coordinator itself with "resume": false refuses the state_dir.
        cfg = json.loads(read(os.path.join(run_dir, "coordinator.json")))
        cfg["resume"] = False
        cfg_path = os.path.join(run_dir, "no-resume.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        c = subprocess.run([fltest.COORDINATOR, "--config", cfg_path], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(c.returncode, 0)
        self.assertIn("holds an earlier run", c.stdout + c.stderr)
        self.assertEqual(read(os.path.join(state, "metrics.jsonl")).splitlines(), first_metrics)

        # --resume with 4 rounds in total: rounds 3 and 4 follow the kept history, starting
        # from the saved model (checked against the workers' plaintext updates).
        audit = os.path.join(run_dir, "audit")
        p = fltest.launch(base + ["--rounds", "4", "--resume", "--audit", audit])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("resuming from", read(os.path.join(run_dir, "coordinator.log")))
        lines = read(os.path.join(state, "metrics.jsonl")).splitlines()
        self.assertEqual(lines[:3], first_metrics)
        rounds = [json.loads(l) for l in lines[3:]]
        self.assertEqual([r.get("round") for r in rounds], [3, 4, None])
        self.assertEqual(rounds[0]["evaluated_model_version"], 2)
        self.assertGreater(rounds[0]["protocol_round"], json.loads(first_metrics[1])["protocol_round"])
        self.assertTrue(rounds[-1]["final"])
        self.assertEqual(rounds[-1]["model_version"], 4)
        self.assertEqual(len(rounds[-1]["hospitals"]), 3)
        self.assertEqual(read(os.path.join(state, "model-v000002.safetensors"), "rb"), v2)
        self.assertNotEqual(read(os.path.join(state, "model-v000003.safetensors"), "rb"), v2)
        self.assertEqual(json.loads(read(os.path.join(state, "latest.json")))["model_version"], 4)
        for line in rounds[:2]:
            fltest.check_weighted_average(self, state, audit, line)

        # Resuming a finished federation: nothing to do, nothing written.
        p = fltest.launch(base + ["--rounds", "4", "--resume"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("nothing to do", p.stdout)
        cfg = json.loads(read(os.path.join(run_dir, "coordinator.json")))
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        c = subprocess.run([fltest.COORDINATOR, "--config", cfg_path], capture_output=True, text=True, timeout=60)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        self.assertIn("nothing to do", c.stdout + c.stderr)
        self.assertEqual(read(os.path.join(state, "metrics.jsonl")).splitlines(), lines)

        # --resume where there is nothing to continue is an error.
        p = fltest.launch(["--run-dir", os.path.join(run_dir, "empty"), "--resume", "--no-baseline"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("no federation to continue", p.stderr)


if __name__ == "__main__":
    unittest.main()
