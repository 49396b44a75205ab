"""What a launch is made of: its command line, the hospitals' names and data, their keys,
and the coordinator and worker configs written into the run directory."""
import argparse
import csv
import json
import os
import re
import socket
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BREAST_CANCER = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_args(argv, description=None):
    """The launcher's options, checked: weights as floats (one per hospital), --kill as
    (hospital, round), --crash as {hospital: "STEP:N"}, --sites loaded into site_spec.
    A bad option ends the program with argparse's usage message (SystemExit 2);
    `description` heads --help."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=BREAST_CANCER,
                   help="a .csv table (label in the last column unless --label-column; the first line is "
                        "skipped, or read as the header when --label-column names a column) or a MedMNIST .npz")
    p.add_argument("--label-column", default="-1", metavar="COLUMN",
                   help="csv: the label column, a 0-based index (negative from the end) or a header name "
                        "(default -1, the last); a column of measurements rather than classes is refused")
    p.add_argument("--workers", type=int, default=3, help="number of hospitals (default 3)")
    p.add_argument("--weights", default=None,
                   help="comma-separated relative hospital sizes (default 0.5,0.3,0.2 for 3 hospitals)")
    p.add_argument("--rounds", type=int, default=10, help="federated rounds (default 10)")
    p.add_argument("--epochs", type=int, default=None, help="local epochs per round")
    p.add_argument("--model", default=None, choices=["logreg", "mlp", "cnn", "resnet", "unet"],
                   help="model (default mlp for tables, cnn for .npz images, unet for segmentation)")
    p.add_argument("--lr", type=float, default=None, help="learning rate")
    p.add_argument("--pgd", type=float, default=None, metavar="EPS",
                   help="PGD adversarial training at L-inf radius EPS (e.g. 0.0157 for 4/255)")
    p.add_argument("--pgd-steps", type=int, default=7, help="PGD steps K in training (default 7)")
    p.add_argument("--robust-eps", default=None, metavar="E1,E2",
                   help="report robust accuracy under PGD-20 at these radii (e.g. 0.0078,0.0157): every "
                        "round on each hospital's test split unless --plan is given, and on the whole "
                        "test set with --pooled or a global_test section")
    p.add_argument("--max-train", type=int, default=0, help="npz: cap on each hospital's training images")
    p.add_argument("--max-test", type=int, default=0, help="npz: cap on each hospital's test images")
    p.add_argument("--threads", type=int, default=1, help="LibTorch CPU threads per worker (default 1)")
    p.add_argument("--min-workers", type=int, default=None, help="coordinator min_workers (default: all)")
    p.add_argument("--heartbeat-s", type=float, default=5.0, help="coordinator heartbeat timeout")
    p.add_argument("--admission-s", type=float, default=120.0,
                   help="seconds the coordinator waits for enough hospitals before giving up (default 120)")
    p.add_argument("--run-dir", default=None, help="configs, logs, state (default runs/<time>)")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"), help="where the binaries are")
    p.add_argument("--audit", default=None, metavar="DIR",
                   help="audit mode: coordinator records every payload, workers dump plaintext updates")
    p.add_argument("--no-baseline", action="store_true", help="skip the single-hospital baselines")
    p.add_argument("--report", action="store_true",
                   help="also write RUN_DIR/report.html (scripts/fl-report: learning curves, baselines, cohort, "
                        "durations)")
    p.add_argument("--configs-only", action="store_true",
                   help="write the run directory's keys and configs (coordinator, each hospital, the "
                        "pooled baseline) and stop; check a hospital's splits with fl-worker data")
    p.add_argument("--timeout", type=float, default=1800, help="seconds before the run is stopped")
    p.add_argument("--seed", type=int, default=2024, help="seed of the hospital split")
    p.add_argument("--dirichlet", type=float, default=0.0, metavar="ALPHA",
                   help="label skew: each class's share per hospital ~ Dirichlet(ALPHA); 0 = same mix")
    p.add_argument("--kill", default=None, metavar="HOSPITAL:ROUND",
                   help="fault injection: SIGKILL that hospital's worker once ROUND rounds are done")
    p.add_argument("--sites", default=None, metavar="SITES.json",
                   help="hospitals with their own data: {\"sites\": {worker name: worker data section}, "
                        "\"pooled\": data section (optional), \"global_test\": data section (optional), "
                        "\"centres\": {centre: data section} (optional: baselines and table per centre when "
                        "a centre runs several workers)}; replaces --data, --workers and --weights")
    p.add_argument("--plan", default=None, metavar="PLAN.json",
                   help="the training plan (model, training, augmentation, adversarial, evaluation) "
                        "instead of the defaults and --model/--lr/--epochs")
    p.add_argument("--personalization", default=None, choices=["finetune", "fedbn", "fedrep", "ditto", "decoupled"],
                   help="a personal model per hospital beside the global one (docs/training.md): fine-tuning of the "
                        "final model, FedBN (personal normalisation layers), FedRep (personal head), Ditto, or "
                        "decoupled prediction (FedDAN; unet on 2-D images)")
    p.add_argument("--server-optimizer", default="fedavg", choices=["fedavg", "fedadagrad", "fedyogi", "fedadam"],
                   help="the coordinator's model step: fedavg (with --server-momentum, FedAvgM) or the adaptive "
                        "FedAdagrad, FedYogi, FedAdam of Reddi et al. 2021 (try --server-lr 0.01-0.1)")
    p.add_argument("--server-momentum", type=float, default=0.0, metavar="BETA",
                   help="server momentum (FedAvgM) of the coordinator's model step (default 0: FedAvg)")
    p.add_argument("--server-lr", type=float, default=1.0, metavar="ETA",
                   help="server learning rate of the coordinator's model step (default 1)")
    p.add_argument("--resume", action="store_true",
                   help="continue the federation whose state is in --run-dir (its newest checkpoint and "
                        "metrics) up to --rounds in total")
    p.add_argument("--pooled", action="store_true",
                   help="also train on the whole file (pooled: every hospital's training data), and score "
                        "every model on the whole test split (npz: the official test set, which is the "
                        "union of the hospitals' test splits; csv: a stratified 25%% of the table)")
    p.add_argument("--parallel", type=int, default=2,
                   help="baselines trained at the same time (default 2, one per core)")
    # Testing only, not listed in --help: that hospital runs the test build's
    # fl-worker-faulty, which exits abruptly instead of sending STEP (advertise, share,
    # masked_input, signature, unmask) in its N-th round; repeatable.
    p.add_argument("--crash", action="append", default=[], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.site_spec = None
    if args.sites:
        with open(args.sites) as f:
            args.site_spec = json.load(f)
        if not isinstance(args.site_spec.get("sites"), dict) or len(args.site_spec["sites"]) < 2:
            p.error("--sites needs a \"sites\" object with at least 2 hospitals")
        args.workers = len(args.site_spec["sites"])
        args.weights = ",".join(["1"] * args.workers)
        args.data = args.sites
    if args.workers < 2:
        p.error("--workers must be at least 2")
    if args.weights is None:
        args.weights = [0.5, 0.3, 0.2] if args.workers == 3 else [1.0] * args.workers
    else:
        try:
            args.weights = [float(w) for w in args.weights.split(",")]
        except ValueError:
            p.error("--weights must be comma-separated numbers")
    if len(args.weights) != args.workers or any(w <= 0 for w in args.weights):
        p.error("--weights needs one positive number per worker")
    if args.kill:
        name, _, r = args.kill.partition(":")
        if not name or not r.isdigit():
            p.error("--kill needs HOSPITAL:ROUND, e.g. hospital-c:2")
        args.kill = (name, int(r))
    crashes = {}
    for c in args.crash:
        parts = c.split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            p.error("--crash needs HOSPITAL:STEP:N, e.g. hospital-f:masked_input:2")
        crashes[parts[0]] = parts[1] + ":" + parts[2]
    args.crash = crashes
    if not os.path.exists(args.data):
        p.error("dataset not found: %s" % args.data)
    return args


def make_identities(worker_bin, run_dir, names):
    """One Ed25519 identity key per hospital (fl-worker keygen) and the federation's roster."""
    keys_dir = os.path.join(run_dir, "keys")
    os.makedirs(keys_dir, exist_ok=True)
    roster = os.path.join(keys_dir, "roster.json")
    for name in names:
        key = os.path.join(keys_dir, name + ".key")
        if os.path.exists(key):
            continue
        subprocess.run([worker_bin, "keygen", "--name", name, "--out", key, "--roster", roster],
                       check=True, stdout=subprocess.DEVNULL)
    return keys_dir, roster


def coordinator_key(coordinator_bin, keys_dir):
    """The coordinator's transport (CURVE) key (fl-coordinator keygen): its file and the
    public key every worker pins."""
    path = os.path.join(keys_dir, "coordinator.key")
    if not os.path.exists(path):
        subprocess.run([coordinator_bin, "keygen", "--out", path], check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        return path, json.load(f)["public_key"]


def hospital_names(args_or_n):
    """The workers' names: the --sites names, else hospital-a, hospital-b, ... for a
    number of hospitals (or args.workers)."""
    if not isinstance(args_or_n, int):
        if args_or_n.site_spec:
            return list(args_or_n.site_spec["sites"].keys())
        args_or_n = args_or_n.workers
    n = args_or_n
    return ["hospital-%s" % chr(ord("a") + i) if i < 26 else "hospital-%d" % i for i in range(n)]


def data_format(args):
    """csv, npz, images or nifti: of --data, or of the first hospital of --sites."""
    if args.site_spec:
        section = next(iter(args.site_spec["sites"].values()))
        return section.get("format", "csv") if isinstance(section, dict) else "csv"
    return "npz" if args.data.endswith(".npz") else "csv"


def make_configs(args, run_dir, port, keys_dir, roster):
    """Writes run_dir/coordinator.json (with the training plan) and one worker config per
    hospital, plus the pooled, global-test and per-centre configs that --sites or --pooled
    ask for. Returns (coordinator config path, [(hospital, config path)], extra), extra
    holding "pooled" and "global_test" paths and "centres" [(centre, config path)] when
    present. Needs args.coordinator_key and args.coordinator_public."""
    fmt = data_format(args)
    is_npz = fmt != "csv"  # image data: the image defaults below
    model = args.model or {"npz": "cnn", "images": "unet", "nifti": "unet"}.get(fmt, "mlp")
    plan = {
        "model": {"name": model, "hidden": [32], "channels": 16, "dropout": 0.0, "init_seed": 1},
        "training": {"optimizer": "adam", "learning_rate": args.lr or (0.005 if is_npz else 0.01),
                     "epochs": args.epochs or (2 if is_npz else 1), "batch_size": 32 if not is_npz else 64,
                     "seed": 1},
    }
    if args.pgd:
        plan["adversarial"] = {"enabled": True, "eps": args.pgd, "alpha": 2.5 * args.pgd / args.pgd_steps,
                               "steps": args.pgd_steps, "random_start": True, "fraction": 0.5, "weight": 1.0}
    if args.robust_eps:
        plan["evaluation"] = {"robust_eps": [float(e) for e in args.robust_eps.split(",")], "robust_steps": 20}
    if args.plan:
        with open(args.plan) as f:
            plan = json.load(f)
    if args.personalization:  # with --plan too: the method, beside the plan's other personalization settings
        plan.setdefault("personalization", {})["method"] = args.personalization
    coordinator = {
        "listen": "tcp://127.0.0.1:%d" % port,
        "min_workers": args.min_workers or args.workers,
        "max_workers": max(args.workers, 2),
        "rounds": args.rounds,
        "timeouts": {"admission_s": args.admission_s, "phase_s": 900, "heartbeat_s": args.heartbeat_s, "final_report_s": 120},
        "state_dir": os.path.join(run_dir, "state"),
        "secagg": {"clip": 2.0, "max_total_weight": 1048576},
        "roster": roster,
        "transport": {"security": "curve", "secret_key": args.coordinator_key},
        "server_optimizer": dict({"kind": args.server_optimizer, "learning_rate": args.server_lr},
                                 **({"momentum": args.server_momentum} if args.server_optimizer == "fedavg" else {})),
        "plan": plan,
    }
    with open(os.path.join(run_dir, "coordinator.json"), "w") as f:
        json.dump(coordinator, f, indent=2)
    workers = []
    extra = {}
    if args.site_spec:
        for key in ("pooled", "global_test"):
            if key in args.site_spec:
                extra[key] = write_worker_config(run_dir, key, args.site_spec[key], args, port, keys_dir, roster)
        # Centres that run several workers: baselines and the table are per centre.
        extra["centres"] = [(name, write_worker_config(run_dir, "centre-" + name, data, args, port, keys_dir, roster))
                            for name, data in args.site_spec.get("centres", {}).items()]
    sections = []
    for i, name in enumerate(hospital_names(args)):
        if args.site_spec:
            data = args.site_spec["sites"][name]
        else:
            data = {"format": "npz" if is_npz else "csv", "path": os.path.abspath(args.data),
                    "partition": {"weights": args.weights, "index": i, "seed": args.seed,
                                  "dirichlet_alpha": args.dirichlet}}
            if is_npz:
                data["npz"] = {"max_train": args.max_train, "max_test": args.max_test}
            else:
                data["csv"] = csv_section(args.label_column)
        sections.append(data)
        workers.append((name, write_worker_config(run_dir, name, data, args, port, keys_dir, roster)))
    if args.pooled and "pooled" not in extra:
        # The pooled baseline trains on exactly the hospitals' training splits, each prepared
        # as its hospital prepares it, and the global test set is exactly their test splits:
        # no test row of any hospital is ever trained on.
        union = {"format": "union", "parts": sections}
        for key in ("pooled", "global_test"):
            extra[key] = write_worker_config(run_dir, key, union, args, port, keys_dir, roster)
    return os.path.join(run_dir, "coordinator.json"), workers, extra


def csv_section(label_column):
    """How the workers read a --data table: the first line skipped, or read as the header
    when the label column is given by name."""
    named = not re.fullmatch(r"-?[0-9]+", label_column)
    return {"header": named, "skip_rows": 0 if named else 1, "label_column": label_column, "test_fraction": 0.25}


def check_label_column(path, label_column):
    """None when the table's label column holds classes, else why not. A column with more
    than 20 distinct values, most of them seen once or twice, is a measurement (a
    continuous value), not a class: a classifier on it would have a class per value."""
    section = csv_section(label_column)
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r]
    except OSError as e:
        return "cannot read %s: %s" % (path, e)
    if len(rows) < 2:
        return "%s has no data rows" % path
    header, rows = (rows[0], rows[1:])
    if section["header"]:
        if label_column not in header:
            return "%s has no column named %r (its columns: %s)" % (path, label_column, ", ".join(header[:40]))
        col = header.index(label_column)
    else:
        col = int(label_column)
        width = len(rows[0])
        if not -width <= col < width:
            return "--label-column %s: %s has %d columns" % (label_column, path, width)
    values = [r[col].strip() for r in rows if -len(r) <= col < len(r)]
    values = [v for v in values if v not in ("", "?", "NA", "nan")]
    distinct = len(set(values))
    if distinct > 20 and distinct > len(values) / 4:
        return ("column %s of %s has %d distinct values in %d rows: a measurement, not a class label; "
                "name the label column with --label-column" % (label_column, os.path.basename(path), distinct,
                                                               len(values)))
    return None


def write_worker_config(run_dir, name, data, args, port, keys_dir, roster):
    """Writes run_dir/worker-NAME.json, a worker config reading `data` (a data section);
    returns its path."""
    cfg = {"name": name, "coordinator": "tcp://127.0.0.1:%d" % port, "data": data,
           "coordinator_public_key": args.coordinator_public,
           "device": {"type": "auto", "threads": args.threads},
           "identity_key": os.path.join(keys_dir, name + ".key"), "roster": roster,
           "min_cohort": min(args.min_workers or args.workers, args.workers),
           "state_dir": os.path.join(run_dir, "hospitals", name),
           "timeouts": {"connect_s": 120}}
    path = os.path.join(run_dir, "worker-%s.json" % name)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return path
