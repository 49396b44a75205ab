"""fl_launch.processes, on real tiny subprocesses (this Python): supervision, logs,
fault injection by round, parallel batches, and the run directory's progress."""
import json
import os
import subprocess
import sys
import time
import unittest

from support import TempDirTest, captured

from fl_launch.processes import (LastErrors, completed_rounds, finished_version, is_error_line, kill_after_round,
                                 last_json_line, run_parallel, stop_all_now, stream, supervise)


def python(code, **kwargs):
    """A running `python -c code`."""
    return subprocess.Popen([sys.executable, "-c", code], **kwargs)


def sleeper(seconds=30):
    return python("import time; time.sleep(%r)" % seconds)


def exiting(code, after=0.0):
    return python("import sys, time; time.sleep(%r); sys.exit(%d)" % (after, code))


class SuperviseTest(unittest.TestCase):
    def start(self, *procs):
        procs = list(procs)
        self.addCleanup(stop_all_now, procs)
        self.addCleanup(lambda: [p.wait() for p in procs])
        return procs

    def test_coordinator_failure_stops_everything(self):
        procs = self.start(exiting(3), sleeper(), sleeper())
        began = time.time()
        early = supervise(procs, ["coordinator", "hospital-a", "hospital-b"], set(), timeout=30)
        self.assertEqual(early, ("coordinator", 3))
        self.assertLess(time.time() - began, 10)
        for p in procs[1:]:
            self.assertEqual(p.wait(timeout=5), -9)

    def test_worker_failure_while_the_coordinator_runs(self):
        procs = self.start(sleeper(), sleeper(), exiting(5))
        began = time.time()
        early = supervise(procs, ["coordinator", "hospital-a", "hospital-b"], set(), timeout=30)
        self.assertEqual(early, ("hospital-b", 5))
        self.assertLess(time.time() - began, 10)
        self.assertEqual(procs[0].wait(timeout=5), -9)
        self.assertEqual(procs[1].wait(timeout=5), -9)

    def test_worker_expected_to_die(self):
        procs = self.start(exiting(0, after=0.6), exiting(0, after=0.3), exiting(9))
        early = supervise(procs, ["coordinator", "hospital-a", "hospital-b"], {"hospital-b"}, timeout=30)
        self.assertIsNone(early)
        self.assertEqual([p.returncode for p in procs], [0, 0, 9])

    def test_worker_failing_after_the_coordinator_finished(self):
        # The federation is done: a worker's late failure is reported by main, not here.
        procs = self.start(exiting(0), exiting(4, after=0.5))
        self.assertIsNone(supervise(procs, ["coordinator", "hospital-a"], set(), timeout=30))
        self.assertEqual(procs[1].returncode, 4)

    def test_success(self):
        procs = self.start(exiting(0, after=0.3), exiting(0), exiting(0, after=0.6))
        self.assertIsNone(supervise(procs, ["coordinator", "hospital-a", "hospital-b"], set(), timeout=30))
        self.assertEqual([p.returncode for p in procs], [0, 0, 0])

    def test_timeout(self):
        procs = self.start(sleeper(), sleeper())
        began = time.time()
        self.assertEqual(supervise(procs, ["coordinator", "hospital-a"], set(), timeout=0.5), "timeout")
        self.assertLess(time.time() - began, 5)
        self.assertEqual([p.wait(timeout=5) for p in procs], [-9, -9])


class StreamTest(TempDirTest):
    LINES = ["2024-05-01 I [coordinator] round 1 of 3 started",
             "2024-05-01 D [coordinator] quiet detail",
             "2024-05-01 E [coordinator] peer vanished",
             "2024-05-01 W [coordinator] hospital-b dropped",
             "fl-coordinator: cannot bind tcp://127.0.0.1:1"]

    def run_stream(self, echo, errors, mode="w", name="coordinator"):
        proc = python("import sys; sys.stderr.write(%r)" % "".join(l + "\n" for l in self.LINES),
                      stderr=subprocess.PIPE, text=True)
        log = os.path.join(self.dir, name + ".log")
        with captured() as (out, _):
            stream(proc, log, echo, errors, mode, name)
        proc.wait()
        proc.stderr.close()
        with open(log) as f:
            return out.getvalue(), f.read()

    def test_log_echo_and_last_error(self):
        errors = LastErrors()
        echoed, log = self.run_stream(True, errors)
        self.assertEqual(log, "".join(l + "\n" for l in self.LINES))
        self.assertEqual(echoed, "  round 1 of 3 started\n  peer vanished\n  hospital-b dropped\n")
        self.assertEqual(errors.get("coordinator"), "fl-coordinator: cannot bind tcp://127.0.0.1:1")
        self.assertIsNone(errors.get("hospital-a"))
        self.assertEqual(errors.get("hospital-a", "none"), "none")

    def test_worker_log_appended_not_echoed(self):
        self.write("hospital-a.log", "earlier run\n")
        errors = LastErrors()
        echoed, log = self.run_stream(False, errors, "a", "hospital-a")
        self.assertEqual(echoed, "")
        self.assertTrue(log.startswith("earlier run\n2024-05-01 I"))
        self.assertEqual(errors.get("hospital-a"), "fl-coordinator: cannot bind tcp://127.0.0.1:1")
        self.assertIsNone(errors.get("coordinator"))

    def test_error_lines(self):
        self.assertTrue(is_error_line("2024 E [worker] no data"))
        self.assertTrue(is_error_line('{"level":"error","msg":"x"}'))
        self.assertTrue(is_error_line("fl-worker: bad config"))
        self.assertFalse(is_error_line("2024 W [worker] slow"))
        self.assertFalse(is_error_line("an fl-worker: mention"))


class RunParallelTest(TempDirTest):
    def test_results_in_order(self):
        commands = [[sys.executable, "-c", "import sys, time; time.sleep(%r); print('out %d'); "
                     "sys.stderr.write('err %d'); sys.exit(%d)" % (0.6 - 0.25 * i, i, i, i)] for i in range(3)]
        self.assertEqual(run_parallel(commands, 3), [(0, "out 0\n", "err 0"), (1, "out 1\n", "err 1"),
                                                     (2, "out 2\n", "err 2")])
        self.assertEqual(run_parallel([], 2), [])

    def concurrency(self, jobs, parallel, seconds):
        """The most jobs running at once when run_parallel runs `jobs` jobs of `seconds` each."""
        events = os.path.join(self.dir, "events-%d" % parallel)
        code = ("import sys, time; f = open(%r, 'a'); f.write('+\\n'); f.flush(); time.sleep(%r); "
                "f.write('-\\n'); f.close()" % (events, seconds))
        results = run_parallel([[sys.executable, "-c", code]] * jobs, parallel)
        self.assertEqual([rc for rc, _, _ in results], [0] * jobs)
        running = most = 0
        with open(events) as f:
            for line in f:
                running += 1 if line.strip() == "+" else -1
                most = max(most, running)
        return most

    def test_parallel_limit(self):
        self.assertEqual(self.concurrency(3, 2, 0.6), 2)
        self.assertEqual(self.concurrency(2, 1, 0.2), 1)
        self.assertEqual(self.concurrency(2, 0, 0.2), 1)  # at least one at a time


class RunDirTest(TempDirTest):
    def state(self, latest=None, metrics=None):
        run_dir = os.path.join(self.dir, "run")
        if latest is not None:
            self.write("run/state/latest.json", json.dumps(latest))
        if metrics is not None:
            self.write("run/state/metrics.jsonl", "".join(json.dumps(m) + "\n" for m in metrics) + "\n")
        return run_dir

    def test_finished_version(self):
        metrics = [{"round": 1}, {"round": 2}, {"final": True, "model_version": 2}]
        self.assertEqual(finished_version(self.state({"model_version": 2, "file": "m.safetensors"}, metrics)), 2)

    def test_unfinished_or_unreadable(self):
        self.assertIsNone(finished_version(self.state()))
        self.assertIsNone(finished_version(self.state({"model_version": 3}, [{"round": 3}])))
        self.assertIsNone(finished_version(self.state({"model_version": 3}, [{"final": True, "model_version": 2}])))
        self.assertIsNone(finished_version(self.state({"file": "x"}, [{"final": True, "model_version": 3}])))
        self.assertIsNone(finished_version(self.state({"model_version": 3}, [])))
        self.write("run/state/metrics.jsonl", "{not json\n")
        self.assertIsNone(finished_version(os.path.join(self.dir, "run")))

    def test_completed_rounds(self):
        self.assertEqual(completed_rounds(self.state()), 0)
        self.assertEqual(completed_rounds(self.state(metrics=[])), 0)
        self.assertEqual(completed_rounds(self.state(metrics=[{"round": 1}, {"round": 3}, {"final": True}])), 3)
        self.write("run/state/metrics.jsonl", '{"round": 1}\n{broken\n')
        self.assertEqual(completed_rounds(os.path.join(self.dir, "run")), 0)

    def test_kill_after_round(self):
        run_dir = self.state(metrics=[{"round": 1}])
        victim = sleeper()
        self.addCleanup(stop_all_now, [victim])
        self.write("run/state/metrics.jsonl", '{"round": 1}\n{"round": 2}\n')
        began = time.time()
        with captured() as (out, _):
            kill_after_round(victim, 2, run_dir)
        self.assertLess(time.time() - began, 5)
        self.assertEqual(victim.wait(timeout=5), -9)
        self.assertEqual(out.getvalue(),
                         "  fl-launch: killed worker pid %d after round 2 (fault injection)\n" % victim.pid)

    def test_kill_after_round_waits_for_the_round(self):
        run_dir = self.state(metrics=[{"round": 1}])
        victim = exiting(0, after=0.5)
        with captured() as (out, _):
            kill_after_round(victim, 2, run_dir)
        self.assertEqual(victim.wait(timeout=5), 0)  # ended on its own before round 2
        self.assertEqual(out.getvalue(), "")


class LastJsonLineTest(unittest.TestCase):
    def test_last_object(self):
        self.assertEqual(last_json_line('starting\n{"a": 1}\nnoise\n{"test_accuracy": 0.9}\n'),
                         {"test_accuracy": 0.9})

    def test_none(self):
        self.assertIsNone(last_json_line(""))
        self.assertIsNone(last_json_line("no json here\n"))
        self.assertIsNone(last_json_line('{"a": 1}\n{broken\n'))


if __name__ == "__main__":
    unittest.main()
