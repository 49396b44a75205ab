#!/usr/bin/env python3
"""What CURVE costs a round: the same federation (three hospitals on loopback, the real
binaries, an MLP whose update is about a megabyte) run with CURVE on every link and in
plain TCP, alternating, several times each, in one run. Prints the median round
duration (from metrics.jsonl) of each, their ratio, and the bytes of the coordinator's
messages (its /metrics).

    python3 bench/curve_overhead.py [--pairs 3] [--rounds 12] [--hidden 512]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("FL_BUILD_DIR", os.path.join(ROOT, "build"))
COORDINATOR = os.path.join(BUILD, "coordinator", "fl-coordinator")
WORKER = os.path.join(BUILD, "worker", "fl-worker")
DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"
NAMES = ["hospital-a", "hospital-b", "hospital-c"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=1) as r:
            text = r.read().decode()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def federation(d, keys, secure, rounds, hidden, label):
    port, http = free_port(), free_port()
    state = os.path.join(d, "state-" + label)
    ccfg = os.path.join(d, "coordinator-%s.json" % label)
    with open(ccfg, "w") as f:
        json.dump({"listen": "tcp://127.0.0.1:%d" % port, "http_listen": "127.0.0.1:%d" % http, "min_workers": 3,
                   "rounds": rounds, "roster": keys["roster"], "state_dir": state,
                   "transport": {"security": "curve", "secret_key": keys["coordinator"]} if secure
                   else {"security": "insecure"},
                   "timeouts": {"admission_s": 120}, "secagg": {"clip": 2.0},
                   "plan": {"model": {"name": "mlp", "hidden": [hidden, hidden]},
                            "training": {"epochs": 1, "batch_size": 64}}}, f)
    procs = [subprocess.Popen([COORDINATOR, "--config", ccfg, "--log-level", "warning"])]
    for i, name in enumerate(NAMES):
        wcfg = os.path.join(d, "%s-%s.json" % (name, label))
        cfg = {"name": name, "coordinator": "tcp://127.0.0.1:%d" % port, "identity_key": keys[name],
               "roster": keys["roster"],
               "data": {"format": "csv", "path": DATA, "csv": {"header": False, "skip_rows": 1, "label_column": "-1"},
                        "partition": {"weights": [1, 1, 1], "index": i, "seed": 3}}}
        if secure:
            cfg["coordinator_public_key"] = keys["public"]
        else:
            cfg["insecure"] = True
        with open(wcfg, "w") as f:
            json.dump(cfg, f)
        procs.append(subprocess.Popen([WORKER, "--config", wcfg, "--once", "--log-level", "warning"],
                                      stdout=subprocess.DEVNULL))
    last = None
    while procs[0].poll() is None:
        m = scrape(http)
        if m:
            last = m
        time.sleep(0.2)
    for p in procs:
        if p.wait(timeout=120) != 0:
            sys.exit("a %s federation failed (see %s)" % (label, d))
    with open(os.path.join(state, "metrics.jsonl")) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    durations = [l["duration_s"] for l in lines if "round" in l]
    return durations, last or {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=512)
    a = ap.parse_args()
    for path in (COORDINATOR, WORKER, DATA):
        if not os.path.exists(path):
            sys.exit("missing " + path)
    d = tempfile.mkdtemp(prefix="fl-curve-bench-")
    keys = {"roster": os.path.join(d, "roster.json"), "coordinator": os.path.join(d, "coordinator.key")}
    for name in NAMES:
        keys[name] = os.path.join(d, name + ".key")
        subprocess.run([WORKER, "keygen", "--name", name, "--out", keys[name], "--roster", keys["roster"]],
                       check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([COORDINATOR, "keygen", "--out", keys["coordinator"]], check=True, capture_output=True,
                         text=True).stdout
    keys["public"] = json.loads(out)["public_key"]
    runs = {"curve": [], "plain": []}
    bytes_seen = {}
    for i in range(a.pairs):
        for label in (("curve", "plain") if i % 2 == 0 else ("plain", "curve")):  # ABBA: drift cancels
            durations, m = federation(d, keys, label == "curve", a.rounds, a.hidden, "%s-%d" % (label, i))
            runs[label] += durations[1:]  # the first round also carries the initial model
            bytes_seen[label] = (m.get("fl_received_bytes_total", 0), m.get("fl_sent_bytes_total", 0))
    params = 30 * a.hidden + a.hidden + a.hidden * a.hidden + a.hidden + a.hidden * 2 + 2
    curve, plain = statistics.median(runs["curve"]), statistics.median(runs["plain"])
    print("CURVE overhead, 3 hospitals on loopback, MLP %dx%d (%d parameters, %.1f MB a float32 update), "
          "%d federations of %d rounds each way, alternating:" % (a.hidden, a.hidden, params, params * 4 / 1e6,
                                                               a.pairs, a.rounds))
    print("  median round: CURVE %.3f s, plain TCP %.3f s, ratio %.3f (rounds: %d each)"
          % (curve, plain, curve / plain, len(runs["curve"])))
    q = lambda v: statistics.quantiles(v, n=4)  # noqa: E731
    print("  quartiles: CURVE %s, plain %s" % (["%.3f" % x for x in q(runs["curve"])],
                                                ["%.3f" % x for x in q(runs["plain"])]))
    rx, tx = bytes_seen["curve"]
    print("  the coordinator's messages in the last CURVE federation (before encryption): received %.1f MB, "
          "sent %.1f MB" % (rx / 1e6, tx / 1e6))


if __name__ == "__main__":
    main()
