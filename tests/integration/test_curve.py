"""Every link encrypted and authenticated (CURVE), through the real binaries:

- a tap between the workers and the coordinator records every byte of a federation: with
  CURVE none of them holds the plan's JSON, a hospital name or a metric name; the same
  federation in plain TCP (the control) shows all three, so the tap does see the traffic;
- refused, logged by the coordinator and counted in its /metrics, each: a key that is not
  in the roster, a known key claiming another hospital's name, a worker pinning another
  coordinator key, and a worker speaking plain TCP to a CURVE coordinator.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

NAMES = ["hospital-alpha", "hospital-bravo", "hospital-charlie"]



class Tap:
    """A TCP relay on loopback that keeps a copy of every byte in both directions."""

    def __init__(self, target_port):
        self.target = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.data = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    def pipe(self, src, dst):
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                with self.lock:
                    self.data += chunk
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def seen(self):
        with self.lock:
            return bytes(self.data)


class CurveTest(unittest.TestCase):
    def setUp(self):
        fltest.require_file(fltest.BREAST_CANCER)
        self.dir = fltest.temp_dir("fl-curve-")
        self.roster = os.path.join(self.dir, "roster.json")
        for name in NAMES:
            fltest.hospital_key(self.dir, name, self.roster)
        self.coord_key, self.coord_public = fltest.coordinator_key(self.dir)

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def write(self, name, obj):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def coordinator(self, port, secure, http_port=None):
        cfg = {"listen": "tcp://127.0.0.1:%d" % port, "min_workers": 3, "rounds": 1, "roster": self.roster,
               "timeouts": {"admission_s": 60, "heartbeat_s": 5},
               "transport": {"security": "curve", "secret_key": self.coord_key} if secure else {"security": "insecure"},
               "state_dir": os.path.join(self.dir, "state-%s" % ("curve" if secure else "plain")),
               "plan": {"model": {"name": "logreg"}, "training": {"epochs": 1}}}
        if http_port:
            cfg["http_listen"] = "127.0.0.1:%d" % http_port
        log = open(os.path.join(self.dir, "coordinator-%s.log" % ("curve" if secure else "plain")), "w")
        return subprocess.Popen([fltest.COORDINATOR, "--config", self.write("c.json", cfg)], stderr=log), log.name

    def worker(self, name, port, index, secure=True, identity=None, roster=None, pinned=None, connect_s=60):
        cfg = {"name": name, "coordinator": "tcp://127.0.0.1:%d" % port,
               "identity_key": identity or self.key(name), "roster": roster or self.roster,
               "timeouts": {"connect_s": connect_s},
               "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                        "csv": {"header": False, "skip_rows": 1, "label_column": "-1"},
                        "partition": {"weights": [1, 1, 1], "index": index, "seed": 3}}}
        if secure:
            cfg["coordinator_public_key"] = pinned or self.coord_public
        else:
            cfg["insecure"] = True
        return subprocess.Popen([fltest.WORKER, "--config", self.write("w-%s-%d.json" % (name, index), cfg)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def federation_through_tap(self, secure):
        port = fltest.free_port()
        coord, log = self.coordinator(port, secure)
        tap = Tap(port)
        workers = [self.worker(n, tap.port, i, secure=secure) for i, n in enumerate(NAMES)]
        try:
            self.assertEqual(coord.wait(timeout=180), 0, open(log).read())
            for w in workers:
                self.assertEqual(w.wait(timeout=60), 0, w.stderr.read())
        finally:
            for p in [coord] + workers:
                if p.poll() is None:
                    p.kill()
        return tap.seen()

    def test_a_tapped_federation_shows_nothing_readable(self):
        plain = self.federation_through_tap(secure=False)
        curve = self.federation_through_tap(secure=True)
        self.assertGreater(len(curve), 10000)
        for needle in [b"hospital-alpha", b"hospital-charlie", b"train_loss", b"test_accuracy", b'"model"', b"logreg"]:
            self.assertIn(needle, plain, "the control must see %r" % needle)
            self.assertNotIn(needle, curve, "%r readable on the wire" % needle)

    def test_unknown_keys_stolen_names_wrong_pins_and_plain_tcp_are_refused(self):
        port, http = fltest.free_port(), fltest.free_port()
        coord, log = self.coordinator(port, secure=True, http_port=http)

        def refused():
            """fl_refused_connections_total by reason, from the coordinator's /metrics."""
            t0 = time.time()
            while True:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http, timeout=2) as r:
                        text = r.read().decode()
                    break
                except OSError:
                    if time.time() - t0 > 30:
                        raise
                    time.sleep(0.1)
            out = {}
            for line in text.splitlines():
                if line.startswith("fl_refused_connections_total{"):
                    reason = line.split('reason="', 1)[1].split('"', 1)[0]
                    out[reason] = float(line.rsplit(" ", 1)[1])
            return out

        def total():
            return sum(refused().values())

        try:
            self.assertEqual(total(), 0)
            # A key that is not in the coordinator's roster.
            mallory_roster = os.path.join(self.dir, "mallory-roster.json")
            subprocess.run([fltest.WORKER, "keygen", "--name", "mallory", "--out", self.key("mallory"),
                            "--roster", mallory_roster], check=True, stdout=subprocess.DEVNULL)
            mallory = self.worker("mallory", port, 0, roster=mallory_roster, connect_s=20)
            self.assertNotEqual(mallory.wait(timeout=60), 0)
            self.assertIn("could not join", mallory.stderr.read())
            self.assertGreaterEqual(refused().get("unknown_key", 0), 1)
            counted = total()
            # Bravo's key, claiming to be alpha (with a roster of its own that says so).
            with open(self.key(NAMES[1])) as f:
                stolen = json.load(f)
            stolen["name"] = NAMES[0]
            stolen_key = self.write("stolen.key", stolen)
            os.chmod(stolen_key, 0o600)
            stolen_roster = self.write("stolen-roster.json",
                                       {"members": [{"name": NAMES[0], "public_key": stolen["public_key"]}]})
            thief = self.worker(NAMES[0], port, 0, identity=stolen_key, roster=stolen_roster, connect_s=20)
            self.assertNotEqual(thief.wait(timeout=60), 0)
            self.assertGreaterEqual(refused().get("hello_refused", 0), 1)
            self.assertGreater(total(), counted)
            counted = total()
            # Another coordinator's key pinned, and plain TCP: no handshake completes.
            wrong_pin = self.worker(NAMES[2], port, 2, pinned="ab" * 32, connect_s=3)
            self.assertNotEqual(wrong_pin.wait(timeout=60), 0)
            time.sleep(0.3)
            self.assertGreater(total(), counted, "a wrong pinned key must be counted: %s" % refused())
            counted = total()
            plain = self.worker(NAMES[2], port, 2, secure=False, connect_s=3)
            self.assertNotEqual(plain.wait(timeout=60), 0)
            time.sleep(0.3)
            self.assertGreater(total(), counted, "plain TCP must be counted: %s" % refused())
            print("refusals counted by reason:", refused())
            self.assertIsNone(coord.poll(), "the coordinator must keep running")
        finally:
            coord.kill()
            coord.wait()
        text = open(log).read()
        self.assertIn("its key is not in the roster", text)
        self.assertIn("is not the hospital this connection's key belongs to (%s)" % NAMES[1], text)
        self.assertIn("refused a connection: the handshake", text)
        self.assertNotIn("admitted", text)


if __name__ == "__main__":
    unittest.main()
