"""What an operator watches, through the real binaries: the coordinator's HTTP port answers
/healthz and /readyz while it runs, and /metrics (valid Prometheus text, checked with
promtool) counts rounds, workers, bytes and phases as a federation goes on; refused
connections are counted by reason; --log-format json writes one JSON object a line with an
ISO-8601 UTC time, and the text format dates every line the same way."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

NAMES = ["hospital-a", "hospital-b", "hospital-c"]
ROUNDS = 40
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")



def get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; (None, "") when nothing answers."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        return None, ""


def samples(text):
    """Prometheus text -> {'name{labels}': value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


class OperatorEndpointsTest(unittest.TestCase):
    def setUp(self):
        fltest.require_file(fltest.BREAST_CANCER)
        self.dir = fltest.temp_dir("fl-operator-")
        self.roster = os.path.join(self.dir, "roster.json")
        for name in NAMES:
            fltest.hospital_key(self.dir, name, self.roster)
        fltest.hospital_key(self.dir, "mallory", os.path.join(self.dir, "mallory-roster.json"))
        self.coord_key, self.coord_public = fltest.coordinator_key(self.dir)

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def write(self, name, obj):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def worker(self, name, port, index, roster=None, connect_s=60):
        cfg = {"name": name, "coordinator": "tcp://127.0.0.1:%d" % port, "coordinator_public_key": self.coord_public,
               "identity_key": self.key(name), "roster": roster or self.roster, "timeouts": {"connect_s": connect_s},
               "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                        "csv": {"header": False, "skip_rows": 1, "label_column": "-1"},
                        "partition": {"weights": [1, 1, 1], "index": index, "seed": 3}}}
        return subprocess.Popen([fltest.WORKER, "--config", self.write("w-%s.json" % name, cfg), "--once"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def test_health_readiness_and_metrics_follow_a_federation(self):
        port, http = fltest.free_port(), fltest.free_port()
        cfg = self.write("c.json", {
            "listen": "tcp://127.0.0.1:%d" % port, "http_listen": "127.0.0.1:%d" % http, "min_workers": 3,
            "rounds": ROUNDS, "roster": self.roster, "transport": {"security": "curve", "secret_key": self.coord_key},
            "timeouts": {"admission_s": 120, "heartbeat_s": 5}, "state_dir": os.path.join(self.dir, "state"),
            "plan": {"model": {"name": "logreg"}, "training": {"epochs": 2}}})
        log_path = os.path.join(self.dir, "coordinator.log")
        with open(log_path, "w") as log:
            coord = subprocess.Popen([fltest.COORDINATOR, "--config", cfg, "--log-format", "json"], stderr=log)
        workers = []
        try:
            t0 = time.time()
            while get(http, "/healthz")[0] != 200 and time.time() - t0 < 30:
                time.sleep(0.05)
            self.assertEqual(get(http, "/healthz"), (200, "ok\n"))
            self.assertEqual(get(http, "/readyz")[0], 200)
            self.assertEqual(get(http, "/nothing-here")[0], 404)
            before = samples(get(http, "/metrics")[1])
            self.assertEqual(before["fl_rounds_completed_total"], 0)
            self.assertEqual(before["fl_connected_workers"], 0)
            # A key the roster does not hold: refused in the handshake, and counted.
            mallory = self.worker("mallory", port, 0, roster=os.path.join(self.dir, "mallory-roster.json"),
                                  connect_s=3)
            self.assertNotEqual(mallory.wait(timeout=60), 0)
            workers = [self.worker(n, port, i) for i, n in enumerate(NAMES)]
            seen, scrape, connected = [], "", 0
            while coord.poll() is None:
                status, body = get(http, "/metrics")
                if status == 200:
                    scrape = body
                    m = samples(body)
                    seen.append(m["fl_rounds_completed_total"])
                    connected = max(connected, m["fl_connected_workers"])
                time.sleep(0.05)
            self.assertEqual(coord.wait(), 0)
            for w in workers:
                self.assertEqual(w.wait(timeout=60), 0)
        finally:
            for p in [coord] + workers:
                if p.poll() is None:
                    p.kill()
        self.assertEqual(seen, sorted(seen), "the rounds counter went backwards")
        self.assertGreater(seen[-1], 0)
        self.assertLessEqual(seen[-1], ROUNDS)
        self.assertGreater(len(set(seen)), 2, "the counter must be seen moving during the federation")
        self.assertEqual(connected, 3)
        m = samples(scrape)
        self.assertGreaterEqual(m['fl_refused_connections_total{reason="unknown_key"}'], 1)
        self.assertGreater(m["fl_received_bytes_total"], 0)
        self.assertGreater(m["fl_sent_bytes_total"], 0)
        self.assertEqual(m["fl_cohort_size"], 3)
        self.assertGreater(m['fl_phase_duration_seconds_count{phase="masked-input"}'], 0)
        self.assertEqual(m['fl_round_duration_seconds_bucket{le="+Inf"}'], m["fl_round_duration_seconds_count"])
        self.assertEqual(m["fl_last_checkpoint_version"], seen[-1])
        promtool = shutil.which("promtool")
        if promtool is None:
            self.fail("promtool is missing: scripts/setup.sh installs it (Debian's prometheus)")
        check = subprocess.run([promtool, "check", "metrics"], input=scrape, capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        # Every log line is one JSON object with an ISO-8601 UTC time; no line is plain text.
        with open(log_path) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            self.assertEqual(sorted(line), ["component", "level", "message", "time"])
            self.assertRegex(line["time"], ISO)
        self.assertTrue(any("its key is not in the roster" in l["message"] for l in lines))

    def test_text_logs_are_dated_and_bad_http_addresses_are_refused(self):
        port = fltest.free_port()
        for bad in ["127.0.0.1", "127.0.0.1:99999", "127.0.0.1:80x", ":7000"]:
            cfg = self.write("bad.json", {"listen": "tcp://127.0.0.1:%d" % port, "http_listen": bad,
                                          "min_workers": 3, "rounds": 1, "roster": self.roster,
                                          "transport": {"security": "curve", "secret_key": self.coord_key},
                                          "state_dir": os.path.join(self.dir, "state-bad"),
                                          "plan": {"model": {"name": "logreg"}}})
            r = subprocess.run([fltest.COORDINATOR, "--config", cfg], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertIn("http", r.stderr.lower(), bad)
            for line in r.stderr.splitlines():
                if not line.startswith("fl-coordinator:"):
                    self.assertRegex(line.split(" ", 1)[0], ISO)


if __name__ == "__main__":
    unittest.main()
