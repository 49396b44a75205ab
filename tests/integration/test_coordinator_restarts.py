"""Workers that outlive the coordinator, through the real binaries: three hospitals' fl-worker
processes run as services (no --once) while the coordinator is SIGKILLed at random moments
20 times in one federation and restarted each time with the same state directory. The
same worker processes finish the federation; no completed round is lost or recorded
twice, no checkpoint or metrics line is torn, and every round's model step equals the
weighted average of the workers' audit dumps."""
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

NAMES = ["hospital-a", "hospital-b", "hospital-c"]
ROUNDS = 300
KILLS = 20



class CoordinatorRestartTest(unittest.TestCase):
    def test_twenty_kills_lose_nothing(self):
        fltest.require_file(fltest.BREAST_CANCER)
        d = fltest.temp_dir("fl-restarts-")
        roster = os.path.join(d, "roster.json")
        for name in NAMES:
            fltest.hospital_key(d, name, roster)
        coord_key, public = fltest.coordinator_key(d)
        port, state, audit = fltest.free_port(), os.path.join(d, "state"), os.path.join(d, "audit")
        ccfg = os.path.join(d, "coordinator.json")
        with open(ccfg, "w") as f:
            json.dump({"listen": "tcp://127.0.0.1:%d" % port, "min_workers": 3, "rounds": ROUNDS, "roster": roster,
                       "transport": {"security": "curve", "secret_key": coord_key},
                       "timeouts": {"admission_s": 120, "phase_s": 20, "heartbeat_s": 3,
                                    "heartbeat_interval_s": 0.2},
                       "state_dir": state, "secagg": {"clip": 2.0},
                       "plan": {"model": {"name": "logreg"}, "training": {"epochs": 1}}}, f)
        workers = []
        for i, name in enumerate(NAMES):
            wcfg = os.path.join(d, "worker-%s.json" % name)
            with open(wcfg, "w") as f:
                json.dump({"name": name, "coordinator": "tcp://127.0.0.1:%d" % port, "coordinator_public_key": public,
                           "identity_key": os.path.join(d, name + ".key"), "roster": roster,
                           "timeouts": {"idle_s": 3},
                           "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                                    "csv": {"header": False, "skip_rows": 1, "label_column": "-1"},
                                    "partition": {"weights": [1, 1, 1], "index": i, "seed": 3}}}, f)
            with open(os.path.join(d, name + ".log"), "w") as log:
                workers.append(subprocess.Popen([fltest.WORKER, "--config", wcfg, "--audit-plaintext-dir", audit],
                                                stdout=subprocess.DEVNULL, stderr=log))
        clog = os.path.join(d, "coordinator.log")

        def start():
            with open(clog, "a") as log:
                return subprocess.Popen([fltest.COORDINATOR, "--config", ccfg, "--audit-dir", audit], stderr=log)

        rng = random.Random(20261205)
        coord = start()
        kills, stalls = 0, []
        try:
            while kills < KILLS:
                # kill after a few committed rounds (at most 8, so 20 kills fit in ROUNDS however
                # fast this machine runs them), at a random moment inside the next round
                target = len(committed_rounds(state)) + rng.randint(1, 8)
                while len(committed_rounds(state)) < target and coord.poll() is None:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.2))
                if coord.poll() is not None:
                    break  # the federation finished before all kills: the test below says so
                os.kill(coord.pid, signal.SIGKILL)
                coord.wait()
                kills += 1
                before = len(committed_rounds(state))
                coord = start()
                t0 = time.time()
                while time.time() - t0 < 60 and len(committed_rounds(state)) <= before and coord.poll() is None:
                    time.sleep(0.05)
                stalls.append(time.time() - t0)
            self.assertEqual(kills, KILLS, "the federation finished after %d kills; make it longer" % kills)
            self.assertEqual(coord.wait(timeout=300), 0)
            for w in workers:
                self.assertEqual(w.wait(timeout=120), 0, "a worker did not finish the federation")
        finally:
            for p in [coord] + workers:
                if p.poll() is None:
                    p.kill()
        print("coordinator restarts: %d, seconds to the next committed round after each: median %.1f, max %.1f"
              % (kills, sorted(stalls)[len(stalls) // 2], max(stalls)))

        lines = fltest.read_metrics(state)  # every line parses: none is torn
        rounds = [l for l in lines if "round" in l]
        self.assertEqual([l["round"] for l in rounds], list(range(1, ROUNDS + 1)))
        self.assertTrue(lines[-1].get("final"))
        self.assertEqual(sorted(lines[-1]["hospitals"]), NAMES)
        for v in range(ROUNDS + 1):
            model, _ = fltest.read_safetensors(os.path.join(state, "model-v%06d.safetensors" % v))
            self.assertTrue(model)
        for line in rounds:
            fltest.check_weighted_average(self, state, audit, line)


def committed_rounds(state):
    try:
        with open(os.path.join(state, "latest.json")) as f:
            return list(range(json.load(f)["model_version"]))
    except (OSError, ValueError):
        return []


if __name__ == "__main__":
    unittest.main()
