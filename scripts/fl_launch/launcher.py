"""main: one launch from start to summary. Checks the build and the data, writes the run
directory (keys, configs), runs the coordinator and the workers under supervision, trains
the baselines, prints the results and writes summary.json."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

from .configuration import (ROOT, check_label_column, coordinator_key, free_port, hospital_names, make_configs,
                            make_identities, parse_args)
from .processes import (LastErrors, finished_version, kill_after_round, last_json_line, run_parallel, stop_all_now,
                        stream, supervise)
from .report import cross_site, print_cross_site, print_global_test, print_hospital_tables, score_table, verdict


def main(argv, description=None):
    """Runs the launch that argv asks for; returns the exit status. `description` heads
    --help."""
    args = parse_args(argv, description)
    coordinator_bin = os.path.join(args.build_dir, "coordinator", "fl-coordinator")
    worker_bin = os.path.join(args.build_dir, "worker", "fl-worker")
    faulty_bin = os.path.join(args.build_dir, "tests", "fl-worker-faulty")
    for b in (coordinator_bin, worker_bin) + ((faulty_bin,) if args.crash else ()):
        if not os.access(b, os.X_OK):
            sys.exit("fl-launch: %s not found; build first (scripts/build.sh)" % b)
    if not args.site_spec and not args.data.endswith(".npz"):
        problem = check_label_column(args.data, args.label_column)
        if problem:
            print("fl-launch: " + problem, file=sys.stderr)
            return 2
    run_dir = os.path.abspath(args.run_dir or os.path.join(ROOT, "runs", time.strftime("%Y%m%d-%H%M%S")))
    holds_run = os.path.exists(os.path.join(run_dir, "state", "latest.json"))
    if holds_run and not args.resume:
        print("fl-launch: %s already holds a federation (state/latest.json); pass --resume to continue it "
              "(with --rounds the new total), or choose another --run-dir" % run_dir, file=sys.stderr)
        return 2
    if args.resume and not holds_run:
        print("fl-launch: --resume: %s holds no federation to continue (no state/latest.json)" % run_dir,
              file=sys.stderr)
        return 2
    done = finished_version(run_dir) if args.resume else None
    if done is not None and done >= args.rounds:
        print("fl-launch: the federation in %s finished at model version %d; nothing to do (raise --rounds "
              "to continue it)" % (run_dir, done))
        return 0
    os.makedirs(run_dir, exist_ok=True)
    port = free_port()
    keys_dir, roster = make_identities(worker_bin, run_dir, hospital_names(args))
    args.coordinator_key, args.coordinator_public = coordinator_key(coordinator_bin, keys_dir)
    coordinator_cfg, workers, extra = make_configs(args, run_dir, port, keys_dir, roster)
    if args.configs_only:
        print("fl-launch: keys and configs written to %s (coordinator.json, worker-*.json); nothing started"
              % run_dir)
        return 0
    print("fl-launch: %d hospitals on %s, %d rounds; run directory %s" %
          (args.workers, os.path.basename(args.data), args.rounds, run_dir), flush=True)

    audit_flags = []
    if args.audit:
        args.audit = os.path.abspath(args.audit)
        os.makedirs(args.audit, exist_ok=True)
        audit_flags = ["--audit-dir", args.audit]
    procs = []
    errors = LastErrors()
    coord = subprocess.Popen([coordinator_bin, "--config", coordinator_cfg] + audit_flags,
                             stderr=subprocess.PIPE, text=True)
    procs.append(coord)
    log_mode = "a" if args.resume else "w"  # a resumed run's logs follow the earlier run's
    threads = [threading.Thread(target=stream, args=(coord, os.path.join(run_dir, "coordinator.log"), True,
                                                  errors, log_mode))]
    for name, cfg in workers:
        # One-shot processes: a worker ends with its session (a service would rejoin).
        flags = ["--once"] + (["--audit-plaintext-dir", args.audit] if args.audit else [])
        binary = worker_bin
        if name in args.crash:
            binary = faulty_bin
            flags += ["--crash-before", args.crash[name]]
        w = subprocess.Popen([binary, "--config", cfg] + flags, stderr=subprocess.PIPE, text=True,
                             stdout=subprocess.DEVNULL)
        procs.append(w)
        threads.append(threading.Thread(target=stream, args=(w, os.path.join(run_dir, name + ".log"), False,
                                                             errors, log_mode, name)))
    for t in threads:
        t.start()
    killed = set(args.crash)
    if args.kill:
        victim = dict((n, p) for (n, _), p in zip(workers, procs[1:])).get(args.kill[0])
        if victim is None:
            stop_all_now(procs)
            sys.exit("fl-launch: --kill names an unknown hospital %s" % args.kill[0])
        threading.Thread(target=kill_after_round, args=(victim, args.kill[1], run_dir), daemon=True).start()
        killed.add(args.kill[0])

    def stop_all(*_):
        stop_all_now(procs)
    signal.signal(signal.SIGTERM, lambda *a: (stop_all(), sys.exit(143)))
    names = ["coordinator"] + [n for n, _ in workers]
    try:
        early = supervise(procs, names, killed, args.timeout)
    except KeyboardInterrupt:
        stop_all()
        return 130
    finally:
        for t in threads:
            t.join(timeout=5)
    if early == "timeout":
        print("fl-launch: timed out after %.0f s (see the logs in %s)" % (args.timeout, run_dir), file=sys.stderr)
        return 1
    if early is not None:
        name, code = early
        print("fl-launch: %s exited with code %d%s: %s\nfl-launch: stopped the federation; its log: %s" %
              (name, code, "" if name == "coordinator" else " before the federation finished",
               errors.get(name, "(no error line in its log)"), os.path.join(run_dir, name + ".log")),
              file=sys.stderr)
        return code
    failed = [n for (n, _), p in zip(workers, procs[1:]) if p.returncode != 0 and n not in killed]
    if failed:
        print("fl-launch: workers %s exited with errors (see their logs in %s)" % (", ".join(failed), run_dir),
              file=sys.stderr)

    with open(os.path.join(run_dir, "state", "metrics.jsonl")) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    final = next((l for l in reversed(lines) if l.get("final")), None)
    rounds_done = max((l["round"] for l in lines if "round" in l), default=0)
    if final is None:
        print("fl-launch: no final metrics in the state directory", file=sys.stderr)
        return 1

    with open(os.path.join(run_dir, "state", "latest.json")) as f:
        federated_model = os.path.join(run_dir, "state", json.load(f)["file"])
    models_dir = os.path.join(run_dir, "models")
    os.makedirs(models_dir, exist_ok=True)
    local, pooled, local_models = {}, {}, {}
    if not args.no_baseline:
        jobs = list(extra.get("centres") or workers)
        if "pooled" in extra:
            # The longest job first, so that the hospitals' jobs share the other core meanwhile.
            jobs.insert(0, ("pooled", extra["pooled"]))
        print("fl-launch: training %s alone for %d rounds (baselines, %d at a time)" %
              ("each hospital" + (" and the pooled data" if "pooled" in extra else ""), rounds_done,
               args.parallel), flush=True)
        results = run_parallel([
            [worker_bin, "local", "--config", cfg, "--plan", coordinator_cfg, "--rounds", str(max(rounds_done, 1)),
             "--output-model", os.path.join(models_dir, "local-%s.safetensors" % name), "--log-level", "warning"]
            for name, cfg in jobs], args.parallel)
        for (name, _), (rc, out, err) in zip(jobs, results):
            if rc != 0:
                print("fl-launch: baseline %s failed: %s" % (name, err.strip()), file=sys.stderr)
                return 1
            local_models[name] = os.path.join(models_dir, "local-%s.safetensors" % name)
            if name != "pooled":
                local[name] = last_json_line(out)
    rows = list(extra.get("centres") or workers)
    evaluations = []
    if "pooled" in local_models:
        evaluations.append(("pooled", local_models["pooled"], pooled))
    if extra.get("centres"):
        # Each centre's own test split scores the federated model (which its workers' reports
        # only cover piecewise).
        centre_fed = {}
        evaluations.append(("federated", federated_model, centre_fed))
    for label, model, into in evaluations:
        results = run_parallel([[worker_bin, "evaluate", "--config", cfg, "--model", model,
                                 "--log-level", "warning"] for _, cfg in rows], args.parallel)
        for (name, _), (rc, out, err) in zip(rows, results):
            if rc == 0:
                into[name] = last_json_line(out)
            else:
                print("fl-launch: evaluating the %s model on %s failed: %s" % (label, name, err.strip()),
                      file=sys.stderr)
    fed_metrics = centre_fed if extra.get("centres") else final["hospitals"]

    summary = {"dataset": args.data, "rounds": rounds_done, "hospitals": {}, "federated_model": federated_model}
    seg = any("test_dice" in (m or {}) for m in fed_metrics.values())
    key, second = ("test_dice", "test_iou") if seg else ("test_accuracy", "test_auroc")
    columns = ["federated", "local only"] + (["pooled"] if pooled else [])
    table = score_table([n for n, _ in rows], fed_metrics, local, pooled)
    for name, scores in table.items():
        summary["hospitals"][name] = {"federated": scores["federated"], "local_only": scores["local only"],
                                      "pooled": scores["pooled"]}
    # Each column's scores that have the headline metric, and their means when every column has some.
    with_key = {c: [t[c] for t in table.values() if t[c] and key in t[c]] for c in columns}
    complete = all(with_key[c] for c in columns)
    mean = {c: sum(m[key] for m in v) / len(v) for c, v in with_key.items()} if complete else {}
    print_hospital_tables(table, columns, key, second, seg, mean)
    if complete:
        summary["mean_federated"] = mean["federated"]
        summary["mean_local_only"] = mean["local only"]
        summary["mean_federated_accuracy" if not seg else "mean_federated_dice"] = mean["federated"]
        summary["mean_local_accuracy" if not seg else "mean_local_dice"] = mean["local only"]
        if "pooled" in mean:
            summary["mean_pooled"] = mean["pooled"]
        print("\n" + verdict(with_key["federated"], with_key["local only"], key))

    cross = cross_site(worker_bin, rows, local_models, local, args.parallel)
    if cross:
        print_cross_site(cross, [n for n, _ in rows], fed_metrics, key)
        summary["cross_site"] = cross

    if "global_test" in extra:
        models = [("federated", federated_model)] + [
            (("pooled" if n == "pooled" else "local " + n), m) for n, m in local_models.items()]
        robust = ["--robust-eps", args.robust_eps] if args.robust_eps else []
        results = run_parallel([[worker_bin, "evaluate", "--config", extra["global_test"], "--model", m,
                                 "--log-level", "warning"] + robust for _, m in models], args.parallel)
        summary["global_test"] = print_global_test(models, results, key, second)
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print("Checkpoints and metrics: %s/state" % run_dir)
    if args.report:
        r = subprocess.run(["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                            os.path.join(ROOT, "scripts", "fl-report"), run_dir], capture_output=True, text=True)
        print(r.stdout.strip() or r.stderr.strip())
        if r.returncode != 0:
            return r.returncode
    if args.audit:
        print("Audit records: %s (docs/audit.md)" % args.audit)
    return 1 if failed else 0
