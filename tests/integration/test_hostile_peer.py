"""A hostile or broken peer on the coordinator's port: malformed, truncated, oversized
and out-of-order messages are rejected and logged; the coordinator keeps running and
then completes a federation with well-behaved workers."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

try:
    import zmq
except ImportError:  # pragma: no cover
    zmq = None



def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def envelope(version=1, type_=1, body=b"", payload_frames=0, session=b"", sender=0, round_=0):
    """Hand-encoded fl.wire.Envelope (protobuf wire format), so that the test does not
    depend on the project's own serialisation code."""
    e = b"\x08" + varint(version)
    if session:
        e += b"\x12" + varint(len(session)) + session
    if round_:
        e += b"\x18" + varint(round_)
    e += b"\x20" + varint(type_)
    if sender:
        e += b"\x28" + varint(sender)
    if body:
        e += b"\x32" + varint(len(body)) + body
    if payload_frames:
        e += b"\x38" + varint(payload_frames)
    return e


def hello(name):
    return b"\x0a" + varint(len(name)) + name + b"\x10\x01"


class HostilePeerTest(unittest.TestCase):
    def test_coordinator_survives_bad_messages(self):
        if zmq is None:
            fltest.skip("python3-zmq is not installed")
        fltest.require_file(fltest.BREAST_CANCER)
        run_dir = fltest.temp_dir("fl-hostile-")
        port = fltest.free_port()
        # The launcher writes matching configs; we start the processes ourselves.
        # Plain TCP on loopback, so that the test can speak the wire format itself.
        cfg = {"listen": "tcp://127.0.0.1:%d" % port, "transport": {"security": "insecure"},
               "min_workers": 3, "rounds": 2,
               "timeouts": {"heartbeat_s": 5, "admission_s": 60},
               "state_dir": os.path.join(run_dir, "state"), "secagg": {"clip": 2.0},
               "plan": {"model": {"name": "logreg"}}}
        cpath = os.path.join(run_dir, "c.json")
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        log = open(os.path.join(run_dir, "coordinator.log"), "w")
        coord = subprocess.Popen([fltest.COORDINATOR, "--config", cpath], stderr=log)
        try:
            ctx = zmq.Context()
            bad = ctx.socket(zmq.DEALER)
            bad.setsockopt(zmq.LINGER, 0)
            bad.connect("tcp://127.0.0.1:%d" % port)
            bad.send(b"\xff\xfe garbage")                                  # not a protobuf
            bad.send(b"")                                                   # empty frame
            bad.send(envelope(version=99, body=hello(b"x")))                # wrong version
            bad.send(envelope(type_=999))                                   # unknown type
            bad.send(envelope(type_=1, payload_frames=1))                   # announced frame missing
            bad.send_multipart([envelope(type_=1, payload_frames=5)] + [b"x"] * 5)  # too many frames
            bad.send(b"\x0a" * 70000)                                       # oversized envelope
            bad.send(envelope(type_=1, body=b"\x0a\xff\xff\xff\xff\x0f"))   # truncated body
            bad.send(envelope(type_=1, body=hello(b"bad name!")))           # refused name
            bad.send(envelope(type_=14, payload_frames=1), zmq.SNDMORE)      # masked input, not admitted
            bad.send(b"\x00" * 4096)
            # A second peer joins properly, then sends a masked input out of turn.
            rogue = ctx.socket(zmq.DEALER)
            rogue.setsockopt(zmq.LINGER, 0)
            rogue.connect("tcp://127.0.0.1:%d" % port)
            rogue.send(envelope(type_=1, body=hello(b"rogue")))
            poller = zmq.Poller()
            poller.register(rogue, zmq.POLLIN)
            self.assertTrue(poller.poll(5000), "no WELCOME for a valid HELLO")
            welcome = rogue.recv_multipart()
            self.assertGreater(len(welcome[0]), 0)
            rogue.send_multipart([envelope(type_=14, payload_frames=1, sender=1, round_=7), b"\x00" * 16])
            self.assertTrue(poller.poll(5000), "no ABORT for a message with the wrong session")
            time.sleep(0.5)
            self.assertIsNone(coord.poll(), "the coordinator died")
            bad.close()
            rogue.close()
            ctx.term()

            # Now a real federation on the same coordinator.
            workers = []
            roster = os.path.join(run_dir, "roster.json")
            for i in range(3):
                key = os.path.join(run_dir, "h%d.key" % i)
                subprocess.run([fltest.WORKER, "keygen", "--name", "h%d" % i, "--out", key, "--roster", roster],
                               check=True, stdout=subprocess.DEVNULL)
            for i in range(3):
                wcfg = {"name": "h%d" % i, "coordinator": "tcp://127.0.0.1:%d" % port, "insecure": True,
                        "min_cohort": 3,
                        "identity_key": os.path.join(run_dir, "h%d.key" % i), "roster": roster,
                        "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                                 "csv": {"header": False, "skip_rows": 1, "label_column": "-1"},
                                 "partition": {"weights": [1, 1, 1], "index": i, "seed": 3}}}
                wpath = os.path.join(run_dir, "w%d.json" % i)
                with open(wpath, "w") as f:
                    json.dump(wcfg, f)
                workers.append(subprocess.Popen([fltest.WORKER, "--config", wpath],
                                                stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
            self.assertEqual(coord.wait(timeout=120), 0)
            for w in workers:
                self.assertEqual(w.wait(timeout=60), 0)
        finally:
            if coord.poll() is None:
                coord.kill()
            log.close()
        with open(os.path.join(run_dir, "coordinator.log")) as f:
            text = f.read()
        for needle in ["envelope does not parse", "protocol version 99", "unknown message type 999",
                       "announces 1 payload frames", "exceeds the limit", "malformed HELLO",
                       "worker names are 1-64 characters", "wrong session or sender id"]:
            self.assertIn(needle, text)
        lines = fltest.read_metrics(os.path.join(run_dir, "state"))
        self.assertEqual([l["round"] for l in lines if "round" in l], [1, 2])


if __name__ == "__main__":
    unittest.main()
