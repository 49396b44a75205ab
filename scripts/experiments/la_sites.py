#!/usr/bin/env python3
"""The left-atrium experiments' hospitals for fl-launch --sites: RUN/sites.json with the four
centres fl-prep made in RUN/sites, the pooled training data (RUN/pooled: every centre's
training volumes, linked) and the global test set (the 20 volumes of test.list).
  la_sites.py RUN DATA 2d|3d [SLICE_STRIDE]"""
import json
import os
import sys

CENTRES = ["centre-a", "centre-b", "centre-c", "centre-d"]


def main(run, data, mode, slice_stride=2):
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
    # 2d: axial slices cropped to 96x80, every n-th slice for training; 3d: whole volumes at 2.5 mm.
    prep = (dict(crop=[96, 80], slice_stride=slice_stride) if mode == "2d"
            else dict(mode="volumes", spacing=[2.5, 2.5, 2.5], crop=[48, 40, 24]))

    def nifti(path, train, test):
        section = {"test_list": test}
        if train:
            section["train_list"] = train
        return {"format": "nifti", "path": path, "nifti": dict(section, **prep)}

    spec = {"sites": {s: nifti(f"{run}/sites/{s}/volumes", f"{run}/sites/{s}/train.list",
                               f"{run}/sites/{s}/test.list") for s in CENTRES},
            "pooled": nifti(f"{pooled}/volumes", f"{pooled}/train.list", f"{pooled}/test.list"),
            # Global test set: evaluation only, so no training list.
            "global_test": nifti(f"{data}/volumes", None, f"{data}/test.list")}
    with open(os.path.join(run, "sites.json"), "w") as f:
        json.dump(spec, f, indent=2)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5) or sys.argv[3] not in ("2d", "3d"):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) == 5 else 2)
