"""The federation's processes: their stderr streamed to logs, the run supervised until it
finishes or fails, fault injection by round, and batches of worker commands run a few at
a time."""
import json
import os
import signal
import subprocess
import tempfile
import threading
import time


class LastErrors:
    """Each process's last error line (an "E" log line, or its last words), by process
    name, as `stream` reads them from the processes' stderr (one thread per process)."""

    def __init__(self):
        self._lines = {}
        self._lock = threading.Lock()

    def record(self, name, line):
        """Keeps `line` as the last error line of process `name`."""
        with self._lock:
            self._lines[name] = line

    def get(self, name, default=None):
        """The last error line of process `name`, else `default`."""
        with self._lock:
            return self._lines.get(name, default)


def is_error_line(text):
    """Whether a log line reports an error: an "E" level line (text or JSON logs), or the
    binary's own last words ("fl-worker: ...", "fl-coordinator: ...")."""
    return " E [" in text or text.startswith(("fl-worker:", "fl-coordinator:")) or '"level":"error"' in text


def stream(proc, log_path, echo, errors, mode="w", name="coordinator"):
    """Copies proc's stderr into log_path (opened with `mode`) line by line, records its
    error lines in `errors` (a LastErrors) under `name`, and with `echo` prints the lines
    about rounds, the finish, errors and dropouts."""
    with open(log_path, mode) as log:
        for line in proc.stderr:
            log.write(line)
            log.flush()
            text = line.rstrip()
            if is_error_line(text):
                errors.record(name, text)
            if echo and (" round " in line or "finished" in line or " E " in line or "dropped" in line):
                print("  " + line.rstrip().split("] ", 1)[-1], flush=True)


def supervise(procs, names, expected_to_die, timeout):
    """Waits for the federation: None when the coordinator finished with 0 and the workers
    ended; (name, exit code) as soon as the coordinator fails or a worker fails while the
    coordinator runs (a worker in expected_to_die may); "timeout" after `timeout` s. Stops
    every process that is still running in the last two cases."""
    deadline = time.time() + timeout
    coord = procs[0]
    while time.time() < deadline:
        for name, p in zip(names, procs):
            code = p.poll()
            if code not in (None, 0) and name not in expected_to_die and (p is coord or coord.poll() is None):
                time.sleep(0.3)  # let its last words reach the log
                stop_all_now(procs)
                return name, code
        if coord.poll() == 0:
            try:
                for p in procs[1:]:
                    p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                stop_all_now(procs)
            return None
        time.sleep(0.2)
    stop_all_now(procs)
    return "timeout"


def stop_all_now(procs):
    """SIGKILLs every process of `procs` that is still running."""
    for p in procs:
        if p.poll() is None:
            p.kill()


def finished_version(run_dir):
    """The model version of a finished federation in run_dir (its last metrics line is the
    final report of the newest checkpoint), else None."""
    try:
        with open(os.path.join(run_dir, "state", "latest.json")) as f:
            version = json.load(f)["model_version"]
        with open(os.path.join(run_dir, "state", "metrics.jsonl")) as f:
            last = json.loads([l for l in f if l.strip()][-1])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return version if last.get("final") and last.get("model_version") == version else None


def completed_rounds(run_dir):
    """The highest round in run_dir's metrics so far; 0 before the first (or when the file
    cannot be read)."""
    try:
        with open(os.path.join(run_dir, "state", "metrics.jsonl")) as f:
            return max((json.loads(l).get("round", 0) for l in f if l.strip()), default=0)
    except (OSError, ValueError):
        return 0


def kill_after_round(proc, after_round, run_dir):
    """Fault injection (--kill): SIGKILLs proc as soon as run_dir's metrics show
    `after_round` completed rounds; returns when proc has ended either way."""
    while proc.poll() is None:
        if completed_rounds(run_dir) >= after_round:
            # The next round starts right after the metrics line is written, so the
            # worker dies in the middle of it.
            proc.send_signal(signal.SIGKILL)
            print("  fl-launch: killed worker pid %d after round %d (fault injection)" % (proc.pid, after_round),
                  flush=True)
            return
        time.sleep(0.05)


def run_parallel(commands, parallel):
    """Runs commands, `parallel` at a time (a finished one frees its slot at once); returns
    (returncode, stdout, stderr) for each, in order."""
    results = [None] * len(commands)
    pending = list(enumerate(commands))
    running = []
    while pending or running:
        while pending and len(running) < max(1, parallel):
            i, cmd = pending.pop(0)
            out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
            running.append((i, subprocess.Popen(cmd, stdout=out, stderr=err, text=True), out, err))
        for job in list(running):
            i, proc, out, err = job
            if proc.poll() is None:
                continue
            out.seek(0)
            err.seek(0)
            results[i] = (proc.returncode, out.read(), err.read())
            out.close()
            err.close()
            running.remove(job)
        if running:
            time.sleep(0.2)
    return results


def last_json_line(text):
    """The JSON object a worker command prints last, or None."""
    lines = [l for l in text.strip().splitlines() if l.startswith("{")]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
