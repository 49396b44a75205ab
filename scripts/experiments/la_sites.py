#!/usr/bin/env python3
"""The left-atrium experiments' hospitals for fl-launch --sites: fl-prep makes the four
centres in RUN/sites (configs/prep-left-atrium.json), then RUN/sites.json lists them, the
pooled training data (RUN/pooled: every centre's training volumes, linked; left out with
--no-pooled) and the global test set (the 20 volumes of DATA/test.list).
  la_sites.py RUN DATA 2d|3d [--slice-stride N] [--no-pooled]"""
import argparse
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CENTRES = ["centre-a", "centre-b", "centre-c", "centre-d"]


def prepare_centres(run):
    """fl-prep's centres; the spec's relative paths are relative to the project root."""
    subprocess.run([os.path.join(ROOT, "build", "worker", "prep", "fl-prep"), "--spec", "configs/prep-left-atrium.json",
                    "--output", os.path.join(run, "sites"), "--summary", os.path.join(run, "prep-summary.json")],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def link_pooled(run):
    pooled = os.path.join(run, "pooled")
    os.makedirs(os.path.join(pooled, "volumes"), exist_ok=True)
    lists = {"train.list": [], "test.list": []}
    for site in CENTRES:
        volumes = os.path.join(run, "sites", site, "volumes")
        for f in sorted(os.listdir(volumes)):
            link = os.path.join(pooled, "volumes", f)
            if not os.path.lexists(link):
                os.symlink(os.path.realpath(os.path.join(volumes, f)), link)
        for name in lists:
            with open(os.path.join(run, "sites", site, name)) as f:
                lists[name] += [l for l in f.read().splitlines() if l.strip()]
    for name, ids in lists.items():
        with open(os.path.join(pooled, name), "w") as f:
            f.write("".join(i + "\n" for i in ids))
    return pooled


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("data")
    p.add_argument("mode", choices=["2d", "3d"])
    p.add_argument("--slice-stride", type=int, default=2, help="2d: every n-th training slice (default 2)")
    p.add_argument("--no-pooled", action="store_true", help="no pooled baseline")
    a = p.parse_args()
    prepare_centres(a.run)
    # 2d: axial slices cropped to 96x80, every n-th slice for training; 3d: whole volumes at 2.5 mm.
    prep = (dict(crop=[96, 80], slice_stride=a.slice_stride) if a.mode == "2d"
            else dict(mode="volumes", spacing=[2.5, 2.5, 2.5], crop=[48, 40, 24]))

    def nifti(path, train, test):
        section = {"test_list": test}
        if train:
            section["train_list"] = train
        return {"format": "nifti", "path": path, "nifti": dict(section, **prep)}

    run = a.run
    spec = {"sites": {s: nifti(f"{run}/sites/{s}/volumes", f"{run}/sites/{s}/train.list",
                               f"{run}/sites/{s}/test.list") for s in CENTRES},
            # Global test set: evaluation only, so no training list.
            "global_test": nifti(f"{a.data}/volumes", None, f"{a.data}/test.list")}
    if not a.no_pooled:
        pooled = link_pooled(run)
        spec["pooled"] = nifti(f"{pooled}/volumes", f"{pooled}/train.list", f"{pooled}/test.list")
    with open(os.path.join(run, "sites.json"), "w") as f:
        json.dump(spec, f, indent=2)


if __name__ == "__main__":
    main()
