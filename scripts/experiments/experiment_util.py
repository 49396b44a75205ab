"""What the experiment drivers (merge_experiment.py, vote_experiment.py) share: where the
binaries are, running one and failing loudly, reading its JSON summary, a free port, and a
run directory's files."""
import json
import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("FL_BUILD_DIR", os.path.join(ROOT, "build"))
WORKER = os.path.join(BUILD, "worker", "fl-worker")
COORDINATOR = os.path.join(BUILD, "coordinator", "fl-coordinator")
PREP = os.path.join(BUILD, "worker", "prep", "fl-prep")


def run(args, log=None):
    """Runs a binary; its stderr is appended to `log`; exits the driver if it fails."""
    p = subprocess.run(args, capture_output=True, text=True)
    if log:
        with open(log, "a") as f:
            f.write(p.stderr)
    if p.returncode != 0:
        sys.exit("%s: %s failed (%d):\n%s" % (os.path.basename(sys.argv[0]), " ".join(args[:2]), p.returncode,
                                             p.stderr[-3000:]))
    return p.stdout


def last_json(text):
    """The JSON summary a binary prints last."""
    return json.loads(text.strip().splitlines()[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunDir:
    """A run directory: names its files and writes JSON configs there."""

    def __init__(self, run_dir):
        self.dir = run_dir

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, obj):
        with open(self.path(name), "w") as f:
            json.dump(obj, f, indent=1)
        return self.path(name)
