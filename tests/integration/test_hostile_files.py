"""Hostile files and values, through the real binaries (issue: hostile input). Each case
was a crash, a hang, a silent garbage result or a value accepted that means nothing:

- a checkpoint with NaN weights: evaluate used to spin forever and predict exited 0 with
  NaN probabilities; both now refuse it, naming the tensor;
- a checkpoint with a renamed tensor, and an init_checkpoint of another model or with NaN
  weights: refused before anything runs;
- configs and checkpoint metadata nested 100,000 deep: a clear error, not SIGSEGV;
- a peer that sends a 64 MB message to a coordinator whose model is known, or 20,000 junk
  messages: the message is dropped unread (peak memory stays low) and the log stays short;
- listen port 99999, keygen --name "bad name!", CSV labels 0.5 / -1 / 2e9, an npz label
  of 2e9, fl-prep non-numeric feature cells: each a clear error with exit code 2.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

PREP = os.path.join(fltest.BUILD, "worker", "prep", "fl-prep")
CSV = {"label_column": "-1", "header": False, "skip_rows": 1}


def run(*args, timeout=120):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def write_safetensors(path, tensors, metadata):
    """tensors: [(name, shape, values)]"""
    header, body, offset = {}, b"", 0
    for name, shape, values in tensors:
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        body += data
        offset += len(data)
    header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + body)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen])
    body = data[8 + hlen:]
    tensors = []
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        tensors.append((b, name, t["shape"], list(struct.unpack("<%df" % ((e - b) // 4), body[b:e]))))
    return [t[1:] for t in sorted(tensors)], header.get("__metadata__", {})


class HostileFilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fltest.require_file(fltest.BREAST_CANCER)
        cls.dir = fltest.temp_dir("fl-hostile-files-")
        cls.worker_cfg = cls.write("w.json", {"name": "h1", "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                                                                      "csv": CSV}})
        cls.plan = {"model": {"name": "logreg"}, "training": {"epochs": 1}}
        cls.coord_cfg = cls.write("plan.json", {"plan": cls.plan})
        cls.model = os.path.join(cls.dir, "model.safetensors")
        p = run(fltest.WORKER, "local", "--config", cls.worker_cfg, "--plan", cls.coord_cfg, "--rounds", "1",
                "--output-model", cls.model)
        assert p.returncode == 0, p.stderr
        cls.tensors, cls.metadata = read_safetensors(cls.model)

    @classmethod
    def write(cls, name, obj):
        path = os.path.join(cls.dir, name)
        with open(path, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    def variant(self, name, change_values=None, rename=None, metadata=None):
        tensors = []
        for i, (n, shape, values) in enumerate(self.tensors):
            if change_values and i == 0:
                values = change_values(values)
            tensors.append((rename if rename and i == 0 else n, shape, values))
        path = os.path.join(self.dir, name)
        write_safetensors(path, tensors, metadata if metadata is not None else self.metadata)
        return path

    def test_a_nan_checkpoint_is_refused_by_evaluate_and_predict(self):
        nan = self.variant("nan.safetensors", change_values=lambda v: [float("nan")] + v[1:])
        p = run(fltest.WORKER, "evaluate", "--config", self.worker_cfg, "--model", nan, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("non-finite", p.stderr)
        p = run(fltest.WORKER, "predict", "--config", self.worker_cfg, "--model", nan, "--input", fltest.BREAST_CANCER,
                "--out", os.path.join(self.dir, "pred"), timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("non-finite", p.stderr)
        # The untouched model still evaluates.
        p = run(fltest.WORKER, "evaluate", "--config", self.worker_cfg, "--model", self.model)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_a_renamed_tensor_is_refused(self):
        renamed = self.variant("renamed.safetensors", rename="fc.weight_renamed")
        p = run(fltest.WORKER, "evaluate", "--config", self.worker_cfg, "--model", renamed)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("fc.weight_renamed", p.stderr)

    def test_deep_json_is_an_error_not_a_crash(self):
        deep = "[" * 100000 + "]" * 100000
        for binary in (fltest.COORDINATOR, fltest.WORKER):
            p = run(binary, "--config", self.write("deep.json", deep))
            self.assertEqual(p.returncode, 2, p.stderr[-300:])
            self.assertIn("nested deeper than 64", p.stderr)
        meta = dict(self.metadata, plan='{"model": ' + deep + "}")
        p = run(fltest.WORKER, "evaluate", "--config", self.worker_cfg,
                "--model", self.variant("deep.safetensors", metadata=meta))
        self.assertEqual(p.returncode, 2, p.stderr[-300:])
        self.assertIn("nested deeper than 64", p.stderr)

    def coordinator_start(self, init_checkpoint, plan=None):
        cfg = {"listen": "tcp://127.0.0.1:0", "transport": {"security": "insecure"},
               "state_dir": os.path.join(self.dir, "state-%d" % os.getpid()),
               "init_checkpoint": init_checkpoint, "resume": False, "timeouts": {"admission_s": 1},
               "plan": plan or self.plan}
        return run(fltest.COORDINATOR, "--config", self.write("c.json", cfg), timeout=60)

    def test_an_init_checkpoint_is_checked_before_anyone_is_admitted(self):
        p = self.coordinator_start(self.variant("nan-init.safetensors", change_values=lambda v: [float("inf")] + v[1:]))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("non-finite", p.stderr)
        self.assertNotIn("listening", p.stderr)
        p = self.coordinator_start(self.model, plan={"model": {"name": "mlp", "hidden": [4]}})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("another plan", p.stderr)
        # The right one starts (and, with no worker, gives up after admission_s).
        p = self.coordinator_start(self.model)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("listening", p.stderr)

    def test_values_that_mean_nothing_are_refused(self):
        p = run(fltest.COORDINATOR, "--config", self.write("c.json", {"listen": "tcp://127.0.0.1:99999"}))
        self.assertEqual(p.returncode, 2)
        self.assertIn("listen", p.stderr)
        self.assertIn("port", p.stderr)
        p = run(fltest.WORKER, "keygen", "--name", "bad name!", "--out", os.path.join(self.dir, "k.key"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("1-64 characters", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "k.key")))
        for label in ("0.5", "-1", "2000000000"):
            table = self.write("labels.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,1,%s\n" % label)
            cfg = self.write("wl.json", {"name": "h1", "data": {"format": "csv", "path": table,
                                                                "csv": {"label_column": "y"}}})
            p = run(fltest.WORKER, "local", "--config", cfg, "--plan", self.coord_cfg, "--rounds", "1")
            self.assertEqual(p.returncode, 2, (label, p.stderr))
            self.assertIn("label '%s'" % label, p.stderr)
            self.assertIn("is not a class", p.stderr)
            spec = self.write("prep.json", {"format": "csv", "input": table, "output": os.path.join(self.dir, "o"),
                                            "seed": 7, "csv": {"label_column": "y"},
                                            "sites": [{"name": "a"}, {"name": "b"}]})
            p = run(PREP, "--spec", spec)
            self.assertEqual(p.returncode, 2, (label, p.stderr))
            self.assertIn("is not a class", p.stderr)
        table = self.write("cells.csv", "a,b,y\n1,2,0\n3,x,1\n5,6,0\n7,8,1\n")
        spec = self.write("prep.json", {"format": "csv", "input": table, "output": os.path.join(self.dir, "o2"),
                                        "seed": 7, "csv": {"label_column": "y"},
                                        "sites": [{"name": "a"}, {"name": "b"}]})
        p = run(PREP, "--spec", spec)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("'x' is neither a number nor a missing value", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "o2")))


    def test_message_limit_follows_the_model_and_junk_is_logged_briefly(self):
        try:
            import zmq
        except ImportError:
            fltest.skip("python3-zmq is not installed")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cfg = {"listen": "tcp://127.0.0.1:%d" % port, "transport": {"security": "insecure"},
               "state_dir": os.path.join(self.dir, "state-limit"),
               "init_checkpoint": self.model, "timeouts": {"admission_s": 60}, "plan": self.plan}
        log_path = os.path.join(self.dir, "limit.log")
        with open(log_path, "w") as log:
            coord = subprocess.Popen([fltest.COORDINATOR, "--config", self.write("c.json", cfg)], stderr=log)
        try:
            for _ in range(100):
                with open(log_path) as f:
                    if "listening" in f.read():
                        break
                time.sleep(0.05)
            ctx = zmq.Context()
            peer = ctx.socket(zmq.DEALER)
            peer.setsockopt(zmq.LINGER, 0)
            peer.connect("tcp://127.0.0.1:%d" % port)
            peer.send_multipart([b"\x08\x01\x20\x01\x38\x01", b"\0" * (64 << 20)])
            junk = ctx.socket(zmq.DEALER)  # the big message's link is dropped: another one
            junk.setsockopt(zmq.LINGER, 0)
            junk.setsockopt(zmq.SNDTIMEO, 10000)
            junk.connect("tcp://127.0.0.1:%d" % port)
            for _ in range(20000):
                junk.send(b"this is not a protobuf")
            time.sleep(3)
            self.assertIsNone(coord.poll(), "the coordinator must keep running")
            with open("/proc/%d/status" % coord.pid) as f:
                peak_kb = int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
            self.assertLess(peak_kb, 48 * 1024, "a 64 MB message must be dropped unread")
            peer.close()
            junk.close()
            ctx.term()
        finally:
            coord.kill()
            coord.wait()
        with open(log_path) as f:
            lines = [l for l in f if "does not parse" in l]
        self.assertGreaterEqual(len(lines), 1)
        self.assertLess(len(lines), 5, "20,000 junk messages must not make 20,000 log lines")


if __name__ == "__main__":
    unittest.main()
