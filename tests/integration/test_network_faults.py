"""Network faults between hospitals and the coordinator, through the real binaries: the
coordinator and the three hospitals' workers run in two network namespaces joined by a
veth pair (CURVE, a non-loopback address), and the same federation runs three times:

- without faults (the baseline);
- with 20% of the packets in each direction dropped at random (nftables) for the whole
  federation;
- with the link down for 30 s in the middle of a round.

Each must finish with every round committed, the workers (long-lived services, default
silence limit) exiting 0, and each round's model step the weighted average of the
workers' audit dumps. Prints how long each fault stalled the federation. Needs root
(network namespaces) and nft; skipped otherwise, naming what is missing."""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

NAMES = ["hospital-a", "hospital-b", "hospital-c"]
ROUNDS = 16
OUTAGE_S = 30
PORT = 7000
TAG = "fl%d" % (os.getpid() % 100000)
COORD_NS, WORKER_NS = TAG + "c", TAG + "w"
COORD_IP, WORKER_IP = "10.231.0.1", "10.231.0.2"
COORD_IF, WORKER_IF = TAG + "a", TAG + "b"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def require_network_namespaces():
    if os.geteuid() != 0:
        fltest.skip("network namespaces need root")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            fltest.skip("missing %s (Debian packages iproute2 and nftables; scripts/setup.sh installs them)" % tool)
    probe = sh("ip", "netns", "add", TAG + "p", check=False)
    if probe.returncode != 0:
        fltest.skip("cannot make a network namespace here: " + probe.stderr.strip())
    sh("ip", "netns", "del", TAG + "p")


def make_link():
    """Two namespaces and a veth pair between them."""
    sh("ip", "netns", "add", COORD_NS)
    sh("ip", "netns", "add", WORKER_NS)
    sh("ip", "link", "add", COORD_IF, "type", "veth", "peer", "name", WORKER_IF)
    for ns, dev, ip in ((COORD_NS, COORD_IF, COORD_IP), (WORKER_NS, WORKER_IF, WORKER_IP)):
        sh("ip", "link", "set", dev, "netns", ns)
        sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def remove_link():
    for ns in (COORD_NS, WORKER_NS):
        sh("ip", "netns", "del", ns, check=False)


def set_loss(percent):
    """Drops `percent`% of the packets arriving in each namespace (both directions)."""
    for ns in (COORD_NS, WORKER_NS):
        sh("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "flfault")
        sh("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "flfault", "in",
           "{ type filter hook input priority 0; }")
        sh("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "flfault", "in",
           "numgen", "random", "mod", "100", "<", str(percent), "drop")


def clear_loss():
    for ns in (COORD_NS, WORKER_NS):
        sh("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "flfault", check=False)


def committed(state):
    try:
        with open(os.path.join(state, "latest.json")) as f:
            return json.load(f)["model_version"]
    except (OSError, ValueError, KeyError):
        return 0


class NetworkFaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fltest.require_file(fltest.BREAST_CANCER)
        require_network_namespaces()
        cls.dir = fltest.temp_dir("fl-netfaults-")
        cls.roster = os.path.join(cls.dir, "roster.json")
        for name in NAMES:
            fltest.hospital_key(cls.dir, name, cls.roster)
        cls.coord_key, cls.public = fltest.coordinator_key(cls.dir)
        make_link()

    @classmethod
    def tearDownClass(cls):
        remove_link()

    def federation(self, label, fault, epochs=3):
        """Runs one federation across the link; `fault(state)` runs meanwhile (it may sleep
        and change the link). Returns the seconds from start to the final model."""
        d = os.path.join(self.dir, label)
        state, audit = os.path.join(d, "state"), os.path.join(d, "audit")
        os.makedirs(d)
        ccfg = os.path.join(d, "coordinator.json")
        with open(ccfg, "w") as f:
            json.dump({"listen": "tcp://%s:%d" % (COORD_IP, PORT), "min_workers": 3, "rounds": ROUNDS,
                       "roster": self.roster, "transport": {"security": "curve", "secret_key": self.coord_key},
                       "timeouts": {"admission_s": 300, "phase_s": 120},
                       "state_dir": state, "secagg": {"clip": 2.0},
                       "plan": {"model": {"name": "mlp", "hidden": [16]}, "training": {"epochs": epochs}}}, f)
        procs = []
        t0 = time.time()
        with open(os.path.join(d, "coordinator.log"), "w") as log:
            procs.append(subprocess.Popen(["ip", "netns", "exec", COORD_NS, fltest.COORDINATOR, "--config", ccfg,
                                           "--audit-dir", audit], stderr=log))
        for i, name in enumerate(NAMES):
            wcfg = os.path.join(d, name + ".json")
            with open(wcfg, "w") as f:
                json.dump({"name": name, "coordinator": "tcp://%s:%d" % (COORD_IP, PORT),
                           "coordinator_public_key": self.public,
                           "identity_key": os.path.join(self.dir, name + ".key"), "roster": self.roster,
                           "data": {"format": "csv", "path": fltest.BREAST_CANCER,
                                    "csv": {"header": False, "skip_rows": 1, "label_column": "-1"},
                                    "partition": {"weights": [1, 1, 1], "index": i, "seed": 3}}}, f)
            with open(os.path.join(d, name + ".log"), "w") as log:
                procs.append(subprocess.Popen(["ip", "netns", "exec", WORKER_NS, fltest.WORKER, "--config", wcfg,
                                               "--audit-plaintext-dir", audit],
                                              stdout=subprocess.DEVNULL, stderr=log))
        try:
            fault(state)
            self.assertEqual(procs[0].wait(timeout=600), 0, "%s: the coordinator failed; see %s" % (label, d))
            seconds = time.time() - t0
            for p in procs[1:]:
                self.assertEqual(p.wait(timeout=120), 0, "%s: a worker did not finish; see %s" % (label, d))
        finally:
            clear_loss()
            sh("ip", "-n", COORD_NS, "link", "set", COORD_IF, "up", check=False)
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        lines = fltest.read_metrics(state)
        rounds = [l for l in lines if "round" in l]
        self.assertEqual([l["round"] for l in rounds], list(range(1, ROUNDS + 1)), label)
        self.assertTrue(lines[-1].get("final"), label)
        for line in rounds:
            fltest.check_weighted_average(self, state, audit, line)
        return seconds, d

    def test_loss_and_an_outage_stall_the_federation_but_it_finishes(self):
        base, _ = self.federation("baseline", lambda state: None)

        def lossy(state):
            set_loss(20)

        lossy_s, _ = self.federation("loss-20", lossy)
        outage = {}

        def link_down_mid_round(state):
            t0 = time.time()
            while committed(state) < ROUNDS // 3 and time.time() - t0 < 300:
                time.sleep(0.01)
            time.sleep(0.05)  # inside the next round
            outage["round"] = committed(state) + 1
            sh("ip", "-n", COORD_NS, "link", "set", COORD_IF, "down")
            time.sleep(OUTAGE_S)
            sh("ip", "-n", COORD_NS, "link", "set", COORD_IF, "up")
            back = time.time()
            while committed(state) < outage["round"] and time.time() - back < 300:
                time.sleep(0.05)
            outage["resume_s"] = time.time() - back

        # Local training long enough (a few hundred ms) that the link goes down while the
        # hospitals train, before their masked inputs: at 3 epochs a round takes ~40 ms and the
        # outage could land after the round's last message.
        outage_s, d = self.federation("outage-30s", link_down_mid_round, epochs=300)
        print("network faults, %d rounds of 3 hospitals (seconds to the final model): baseline %.1f; "
              "20%% packet loss %.1f (stall %.1f); link down %d s in round %d: %.1f (stall %.1f beyond the outage; "
              "next round committed %.1f s after the link came back)"
              % (ROUNDS, base, lossy_s, lossy_s - base, OUTAGE_S, outage["round"], outage_s,
                 outage_s - base - OUTAGE_S, outage["resume_s"]))
        with open(os.path.join(d, "coordinator.log")) as f:
            log = f.read()
        self.assertIn("abandon", log.lower(), "the round the outage hit should have been abandoned")


if __name__ == "__main__":
    unittest.main()
