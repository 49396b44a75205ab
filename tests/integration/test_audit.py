"""Through the real binaries on loopback, in audit mode:

- the global model after each round equals the n_k-weighted average of the workers'
  updates, computed independently from the workers' plaintext dumps, within the
  fixed-point quantisation bound;
- the coordinator's own sum equals the ring sum of the plaintext updates exactly (the
  pairwise masks cancel and the self masks are removed), while the masked payloads it
  received do not sum to it on their own;
- no payload in the coordinator's transcript equals or correlates with any worker's
  plaintext update;
- with server momentum (FedAvgM), each model step is the server learning rate times the
  velocity built from those averages.
"""
import glob
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402


class AuditTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fltest.require_file(fltest.BREAST_CANCER)
        cls.run_dir = fltest.temp_dir("fl-audit-run-")
        cls.audit = os.path.join(cls.run_dir, "audit")
        cls.proc = fltest.launch(["--run-dir", cls.run_dir, "--audit", cls.audit, "--rounds", "3",
                                  "--no-baseline"])
        cls.state = os.path.join(cls.run_dir, "state")

    def test_run_succeeded(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stdout + self.proc.stderr)
        lines = fltest.read_metrics(self.state)
        self.assertEqual([l["round"] for l in lines if "round" in l], [1, 2, 3])
        self.assertTrue(lines[-1].get("final"))
        self.assertEqual(len(lines[-1]["hospitals"]), 3)

    def rounds(self):
        return [l for l in fltest.read_metrics(self.state) if "round" in l]

    def worker_dumps(self, protocol_round):
        return fltest.worker_dumps(self.audit, protocol_round)

    def test_global_model_is_weighted_average_of_plaintext_updates(self):
        for line in self.rounds():
            fltest.check_weighted_average(self, self.state, self.audit, line)

    def test_coordinator_sum_is_exact_ring_sum(self):
        for line in self.rounds():
            r = line["protocol_round"]
            plain = fltest.ring_sum([u for _, u in self.worker_dumps(r)])
            coord_dir = os.path.join(self.audit, "coordinator", "round-%06d" % r)
            self.assertEqual(fltest.read_u32(os.path.join(coord_dir, "sum.u32")), plain)
            received = [fltest.read_u32(p) for p in sorted(glob.glob(os.path.join(coord_dir, "masked_input-w*.payload0.bin")))]
            self.assertEqual(len(received), line["cohort_size"])
            # The masked inputs alone do not sum to the plaintext sum: each still carries
            # its self mask, removed only after the unmasking step.
            self.assertNotEqual(fltest.ring_sum(received), plain)

    def test_transcript_reveals_no_plaintext_update(self):
        plaintexts = [fltest.read_u32(p) for p in glob.glob(os.path.join(self.audit, "worker-*", "*.update.u32"))]
        self.assertGreater(len(plaintexts), 0)
        payloads = glob.glob(os.path.join(self.audit, "coordinator", "round-*", "*.bin"))
        self.assertGreater(len(payloads), 0)
        with open(os.path.join(self.audit, "coordinator", "transcript.jsonl")) as f:
            transcript = [json.loads(l) for l in f]
        self.assertEqual(sum(len(t["payload"]) for t in transcript), len(payloads))
        for path in payloads:
            payload = fltest.read_u32(path)
            signed_payload = fltest.as_signed(payload)
            for plain in plaintexts:
                self.assertNotEqual(payload, plain, path)
                if len(plain) == len(payload):
                    # Compare the update coordinates (not the weight word).
                    r = fltest.pearson(signed_payload[:-1], fltest.as_signed(plain)[:-1])
                    self.assertLess(abs(r), 0.2, "%s correlates with a plaintext update (r=%.3f)" % (path, r))
                    same = sum(1 for a, b in zip(payload, plain) if a == b)
                    self.assertLess(same, len(plain) // 100 + 2, path)


class ServerMomentumAuditTest(unittest.TestCase):
    """fl-launch --server-momentum/--server-lr: model_r = model_{r-1} + eta v_r with
    v_r = beta v_{r-1} + (weighted mean update of round r), checked from the plaintext dumps."""
    BETA, ETA = 0.5, 0.8

    def test_model_steps_follow_the_velocity(self):
        fltest.require_file(fltest.BREAST_CANCER)
        run_dir = fltest.temp_dir("fl-audit-momentum-")
        self.addCleanup(shutil.rmtree, run_dir, True)
        audit = os.path.join(run_dir, "audit")
        p = fltest.launch(["--run-dir", run_dir, "--audit", audit, "--rounds", "3", "--no-baseline",
                           "--server-momentum", str(self.BETA), "--server-lr", str(self.ETA)])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        state = os.path.join(run_dir, "state")
        lines = [l for l in fltest.read_metrics(state) if "round" in l]
        self.assertEqual([l["round"] for l in lines], [1, 2, 3])
        velocity, bound_v = None, 0.0
        for line in lines:
            mean, bound = fltest.weighted_mean_update(self, audit, line)
            velocity = mean if velocity is None else [self.BETA * v + m for v, m in zip(velocity, mean)]
            bound_v = self.BETA * bound_v + bound  # quantisation errors carried by the velocity
            fltest.check_model_step(self, state, line, [self.ETA * v for v in velocity], self.ETA * bound_v)


class AdaptiveServerOptimizerAuditTest(unittest.TestCase):
    """fl-launch --server-optimizer fedadam: every model step is FedAdam's (Reddi et al. 2021)
    on the rounds' aggregates, rebuilt here from the coordinator's audited sums; the
    coordinator is stopped after round 2 and resumed to round 4, and rounds 3 and 4 must
    continue the saved moments exactly (starting them afresh would move the model
    differently)."""
    LR, B1, B2, TAU = 0.02, 0.9, 0.99, 1e-3

    def test_fedadam_steps_survive_a_restart(self):
        import numpy as np
        fltest.require_file(fltest.BREAST_CANCER)
        run_dir = fltest.temp_dir("fl-audit-fedadam-")
        self.addCleanup(shutil.rmtree, run_dir, True)
        audit = os.path.join(run_dir, "audit")
        base = ["--run-dir", run_dir, "--audit", audit, "--no-baseline", "--server-optimizer", "fedadam",
                "--server-lr", str(self.LR)]
        p = fltest.launch(base + ["--rounds", "2"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = fltest.launch(base + ["--rounds", "4", "--resume"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        state = os.path.join(run_dir, "state")
        self.assertEqual(sorted(f for f in os.listdir(state) if f.startswith("server-state")),
                         ["server-state-v000004.safetensors"])
        lines = [l for l in fltest.read_metrics(state) if "round" in l]
        self.assertEqual([l["round"] for l in lines], [1, 2, 3, 4])
        f32 = lambda x: np.float32(x).astype(np.float64)  # noqa: E731
        m = v = None
        for line in lines:
            dumps = fltest.worker_dumps(audit, line["protocol_round"])
            scale = dumps[0][0]["scale"]
            d = dumps[0][0]["dimension"]
            ring = np.array(fltest.read_u32(os.path.join(audit, "coordinator", "round-%06d" % line["protocol_round"],
                                                         "sum.u32")), dtype=np.uint32)
            self.assertEqual(int(ring[d]), line["total_weight"])
            delta = ring[:d].view(np.int32).astype(np.float64) * (1.0 / (scale * line["total_weight"]))
            if m is None:
                m, v = np.zeros(d), np.full(d, f32(self.TAU * self.TAU))
            m = f32(self.B1 * m + (1 - self.B1) * delta)
            v = f32(self.B2 * v + (1 - self.B2) * delta * delta)
            before = np.array(fltest.flat_model(os.path.join(state, "model-v%06d.safetensors" % (line["round"] - 1))))
            after = np.array(fltest.flat_model(os.path.join(state, "model-v%06d.safetensors" % line["round"])))
            expected = f32(before + self.LR * m / (np.sqrt(v) + self.TAU))
            err = np.abs(after - expected)
            self.assertLess(err.max(), 1e-6, "round %d: the model step is not FedAdam's" % line["round"])
            self.assertGreater(np.abs(after - before).max(), 1e-3, "round %d moved nothing" % line["round"])


if __name__ == "__main__":
    unittest.main()
