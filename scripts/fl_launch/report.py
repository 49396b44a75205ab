"""The launch's printed results: the federated, local-only and pooled scores on each
hospital's test split, the verdict on their means, the cross-site table, and the scores on
the global test set."""
import sys

from .processes import last_json_line, run_parallel

METRIC_LABELS = {"test_dice": "Dice", "test_iou": "IoU", "test_accuracy": "accuracy", "test_auroc": "AUROC"}


def with_interval(m, metric):
    """'0.9375 [0.717, 0.989]': a metric with its 95% interval (as the worker reported it)."""
    if not m or metric not in m:
        return "-"
    low, high = m.get(metric + "_low"), m.get(metric + "_high")
    if low is None or high is None:
        return "%.4f [-]" % m[metric]
    return "%.4f [%.3f, %.3f]" % (m[metric], low, high)


def robust_scores(m):
    """'0.0078 0.9100, 0.0157 0.8800': the robust_* metrics of m (robust accuracy by PGD
    radius), sorted; '' when there are none."""
    robust = {k: v for k, v in (m or {}).items() if k.startswith("robust_")}
    return ", ".join("%s %.4f" % (k[len("robust_"):], v) for k, v in sorted(robust.items()))


def small_split_warnings(name, m, seg):
    """Why a hospital's scores say little: a small test split, or one with one class."""
    if not m:
        return []
    out = []
    n = m.get("test_samples")
    if n is not None and n < 30:
        out.append("%s's test split has %d %s: its scores are uncertain (see the intervals)" %
                   (name, n, "slices" if seg else "samples"))
    if not seg and "test_accuracy" in m and "test_auroc" not in m:
        out.append("%s's test split holds one class only: no AUROC, and its accuracy is the share of that class "
                   "predicted" % name)
    return out


def score_table(names, federated, local, pooled):
    """{hospital: {"federated": metrics, "local only": metrics, "pooled": metrics}} for the
    hospitals `names`, None where a model has no score there."""
    return {name: {"federated": federated.get(name), "local only": local.get(name), "pooled": pooled.get(name)}
            for name in names}


def print_hospital_tables(table, columns, key, second, seg, mean):
    """The tables of `key` and `second` on each hospital's own test split, one column per
    model of `columns`, with the robust scores of the federated model and (when `mean` has
    the columns' means of `key`) a mean row; then the notes on small or one-class splits."""
    for metric in (key, second):
        print()
        print("Test %s on each hospital's own test split, with its 95%% interval" % METRIC_LABELS[metric])
        print("%-12s" % "hospital" + "".join("%24s" % c for c in columns))
        for name, scores in table.items():
            print("%-12s" % name + "".join("%24s" % with_interval(scores[c], metric) for c in columns))
            robust = robust_scores(scores["federated"])
            if robust and metric == key:
                print("%-12s   robust (federated): %s" % ("", robust))
        if metric == key and mean:
            print("%-12s" % "mean" + "".join("%24.4f" % mean[c] for c in columns))
    for name, scores in table.items():
        for warning in small_split_warnings(name, scores["federated"], seg):
            print("note: " + warning)


def verdict(federated, local, metric):
    """Whether the federated model beats the single-hospital models on the mean of `metric`
    over hospitals, said only when the difference exceeds its uncertainty: each score's
    standard error is read off its 95% interval and the two columns are taken as
    independent, which overstates the uncertainty of a paired difference (conservative)."""
    diff = sum(m[metric] for m in federated) / len(federated) - sum(m[metric] for m in local) / len(local)
    var = 0.0
    for column in (federated, local):
        for m in column:
            low, high = m.get(metric + "_low"), m.get(metric + "_high")
            if low is None or high is None:
                return ("The federated model's mean %s differs from the single-hospital models' by %+.4f; "
                        "without intervals for every score, no verdict." % (metric, diff))
            var += ((high - low) / (2 * 1.96)) ** 2 / len(column) ** 2
    half = 1.96 * var ** 0.5
    if abs(diff) <= half:
        return ("The federated model and the single-hospital models differ by %+.4f in mean %s, within noise "
                "(95%% half-width %.4f): no verdict." % (diff, metric, half))
    return "The federated model %s the mean of the single-hospital models (%+.4f in mean %s, 95%% half-width %.4f)." % (
        "beats" if diff > 0 else "does NOT beat", diff, metric, half)


def cross_site(worker_bin, rows, local_models, own, parallel):
    """Each hospital's local model scored on every hospital's test split, with that
    hospital's preprocessing (the multi-centre protocol): {model: {test split: metrics}}.
    The diagonal is the own-site score the baselines already have."""
    names = [n for n, _ in rows if n in local_models]
    if len(names) < 2:
        return {}
    config = dict(rows)
    jobs = [(m, t) for m in names for t in names if m != t]
    results = run_parallel([[worker_bin, "evaluate", "--config", config[t], "--model", local_models[m],
                             "--log-level", "warning"] for m, t in jobs], parallel)
    cross = {m: {m: own.get(m)} for m in names}
    for (m, t), (rc, out, err) in zip(jobs, results):
        if rc != 0:
            print("fl-launch: evaluating %s's local model on %s failed: %s" % (m, t, err.strip()), file=sys.stderr)
        cross[m][t] = last_json_line(out) if rc == 0 else None
    return cross


def print_cross_site(cross, names, federated, key):
    """The cross-site table: rows are the models, columns the test splits; the last two
    columns are the local model's mean on the other hospitals' splits and, for
    comparison, the federated model's there."""
    label = {"test_dice": "Dice", "test_accuracy": "accuracy"}.get(key, key)
    print("\nCross-site %s: each hospital's local model (rows) on each hospital's test split (columns)" % label)
    print("%-12s" % "model" + "".join("%12s" % n[-11:] for n in names) + "%14s%14s" % ("other sites", "federated"))
    for m in names:
        if m not in cross:
            continue
        cells, others, fed_others = [], [], []
        for t in names:
            r = cross[m].get(t)
            cells.append("%12s" % ("%.4f" % r[key] if r and key in r else "-"))
            if t != m and r and key in r:
                others.append(r[key])
                f = federated.get(t)
                if f and key in f:
                    fed_others.append(f[key])
        mean = lambda v: "%14.4f" % (sum(v) / len(v)) if v else "%14s" % "-"  # noqa: E731
        print("%-12s" % m + "".join(cells) + mean(others) + mean(fed_others))


def print_global_test(models, results, key, second):
    """The scores of `models` ([(label, model path)]) on the global test set, from their
    evaluations `results` ([(returncode, stdout, stderr)] in the same order): a line per
    model with `key` and `second` and its robust scores, a failure line on stderr for a
    model without scores. Returns {label: metrics} of the models that have them."""
    print("\nGlobal test set: %s and %s, with 95%% intervals" % (METRIC_LABELS[key], METRIC_LABELS[second]))
    scores = {}
    for (label, _), (rc, out, err) in zip(models, results):
        if rc != 0:
            print("fl-launch: global evaluation of %s failed: %s" % (label, err.strip()), file=sys.stderr)
            continue
        m = last_json_line(out)
        if m is None:
            print("fl-launch: global evaluation of %s printed no metrics" % label, file=sys.stderr)
            continue
        scores[label] = m
        print("%-20s %24s %24s" % (label, with_interval(m, key), with_interval(m, second)))
        robust = robust_scores(m)
        if robust:
            print("%-20s   robust: %s" % ("", robust))
    return scores
