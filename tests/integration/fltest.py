"""Helpers for the integration tests: they drive the real binaries on loopback."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("FL_BUILD_DIR", os.path.join(ROOT, "build"))
COORDINATOR = os.path.join(BUILD, "coordinator", "fl-coordinator")
WORKER = os.path.join(BUILD, "worker", "fl-worker")
LAUNCH = os.path.join(ROOT, "scripts", "fl-launch")
SHARED_DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
BREAST_CANCER = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"
SKIP = 77  # ctest SKIP_RETURN_CODE


def skip(reason):
    """Ends the test process with ctest's skip code (also from inside unittest, which
    would otherwise turn SystemExit into an error)."""
    print("SKIPPED: " + reason, flush=True)
    sys.stderr.flush()
    os._exit(SKIP)


def require_file(path):
    if not os.path.exists(path):
        skip("missing " + path)


def temp_dir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def run_worker(*args, timeout=600):
    """fl-worker ARGS with warnings only; returns the CompletedProcess (text)."""
    return subprocess.run([WORKER] + list(args) + ["--log-level", "warning"], capture_output=True, text=True,
                          timeout=timeout)


def numpy_or_skip():
    """numpy, or the test skips (it comes with python3-numpy)."""
    try:
        import numpy
    except ImportError:
        skip("python3-numpy is not installed")
    return numpy


class WorkDir:
    """A test's temporary folder: names files in it and writes JSON configs there."""

    def __init__(self, prefix):
        self.dir = temp_dir(prefix)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, obj):
        with open(self.path(name), "w") as f:
            json.dump(obj, f)
        return self.path(name)


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hospital_key(d, name, roster):
    """fl-worker keygen: d/NAME.key, its public key added to `roster`; returns the key's path."""
    path = os.path.join(d, name + ".key")
    subprocess.run([WORKER, "keygen", "--name", name, "--out", path, "--roster", roster], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def coordinator_key(d):
    """fl-coordinator keygen: (d/coordinator.key, its public key in hex)."""
    path = os.path.join(d, "coordinator.key")
    out = subprocess.run([COORDINATOR, "keygen", "--out", path], check=True, capture_output=True, text=True).stdout
    return path, json.loads(out)["public_key"]


def launch(args, timeout=600):
    """Runs scripts/fl-launch; returns the CompletedProcess (text)."""
    return subprocess.run([sys.executable, LAUNCH, "--build-dir", BUILD] + args,
                          capture_output=True, text=True, timeout=timeout)


def read_metrics(state_dir):
    with open(os.path.join(state_dir, "metrics.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]


def read_safetensors(path):
    """Reads a float32 safetensors file with the standard library: name -> (shape, values)."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen])
    out = {}
    body = data[8 + hlen:]
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        out[name] = (t["shape"], list(struct.unpack("<%df" % ((e - b) // 4), body[b:e])))
    return out, header.get("__metadata__", {})


def flat_model(path):
    """Flat parameter vector in data order (the coordinator's vector order)."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    body = data[8 + hlen:]
    return list(struct.unpack("<%df" % (len(body) // 4), body))


def read_u32(path):
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) % 4 == 0, path
    return list(struct.unpack("<%dI" % (len(data) // 4), data))


def as_signed(v):
    return [x - (1 << 32) if x >= (1 << 31) else x for x in v]


def ring_sum(vectors):
    out = [0] * len(vectors[0])
    for v in vectors:
        assert len(v) == len(out)
        out = [(a + b) & 0xFFFFFFFF for a, b in zip(out, v)]
    return out


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    if va == 0 or vb == 0:
        return 0.0
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    return cov / (va * vb) ** 0.5


def worker_dumps(audit, protocol_round, names=None):
    """The workers' plaintext audit dumps of one round: [(meta, update words)]."""
    import glob
    dumps = []
    for meta_path in sorted(glob.glob(os.path.join(audit, "worker-*", "round-%06d.json" % protocol_round))):
        name = os.path.basename(os.path.dirname(meta_path))[len("worker-"):]
        if names is not None and name not in names:
            continue
        with open(meta_path) as f:
            meta = json.load(f)
        dumps.append((meta, read_u32(meta_path[:-len(".json")] + ".update.u32")))
    return dumps


def weighted_mean_update(test, audit, line):
    """The n_k-weighted mean of the survivors' plaintext updates in the round of `line` (a
    metrics.jsonl round), from their audit dumps, and its quantisation error bound."""
    survivors = sorted(line["hospitals"])
    dumps = worker_dumps(audit, line["protocol_round"], survivors)
    test.assertEqual(len(dumps), line["cohort_size"])
    test.assertEqual(len(dumps), len(survivors))
    scale = dumps[0][0]["scale"]
    d = dumps[0][0]["dimension"]
    weights = [meta["weight"] for meta, _ in dumps]
    total = sum(weights)
    test.assertEqual(total, line["total_weight"])
    expected = [0.0] * d
    for (meta, update), n_k in zip(dumps, weights):
        test.assertEqual(update[d], n_k)
        q = as_signed(update[:d])
        for i in range(d):  # each worker's own update x_k = q_k / (scale n_k), weighted n_k / N
            expected[i] += (q[i] / (scale * n_k)) * n_k / total
    coord_sum = read_u32(os.path.join(audit, "coordinator", "round-%06d" % line["protocol_round"], "sum.u32"))
    test.assertEqual(coord_sum, ring_sum([u for _, u in dumps]))
    return expected, len(dumps) / (scale * total)


def check_model_step(test, state, line, expected, bound):
    """Checks that the global model of `line` is the previous one plus `expected`, within
    `bound` and float32 storage error, and that most parameters moved."""
    before = flat_model(os.path.join(state, "model-v%06d.safetensors" % (line["round"] - 1)))
    after = flat_model(os.path.join(state, "model-v%06d.safetensors" % line["round"]))
    d = len(expected)
    moved = 0
    for i in range(d):
        tol = bound + 2e-7 * (abs(after[i]) + abs(before[i])) + 1e-9  # float32 storage
        test.assertLessEqual(abs(after[i] - before[i] - expected[i]), tol,
                             "round %d coordinate %d" % (line["round"], i))
        moved += abs(expected[i]) > 1e-4
    test.assertGreater(moved, d // 2, "the updates should move most parameters")


def check_weighted_average(test, state, audit, line):
    """Checks that the global model of `line` (a metrics.jsonl round) is the previous one
    plus the n_k-weighted average of the survivors' plaintext updates, within the
    quantisation bound, and that the coordinator's sum is their exact ring sum."""
    expected, bound = weighted_mean_update(test, audit, line)
    check_model_step(test, state, line, expected, bound)
