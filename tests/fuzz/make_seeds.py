#!/usr/bin/python3
"""Writes the seed files of the fuzz corpus that are cut from real files with numpy or
copied (tests/fuzz/README.md): .npy and .npz slices of the MedMNIST archives, CSV slices of
the UCI heart-disease tables and sklearn's breast_cancer.csv, and the project's configs.

    /usr/bin/python3 tests/fuzz/make_seeds.py CORPUS_DIR SHARED_DATA_DIR

Each target's input format is described at the top of its fuzz_<target>.cc.
"""
import io
import os
import shutil
import struct
import sys
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def put(corpus, target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    print(f"{target}/{name} ({len(data)} bytes)")


def npy(a, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def npz(arrays, compressed):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def chunk(b):
    return struct.pack("<I", len(b)) + b


def main():
    corpus, shared = sys.argv[1], sys.argv[2]
    breast = np.load(os.path.join(shared, "breastmnist/breastmnist.npz"))
    pneumonia = np.load(os.path.join(shared, "pneumoniamnist/pneumoniamnist.npz"))

    # npy: real members, cut to a few rows, in the dtypes and format versions numpy writes.
    put(corpus, "npy", "images-u1", npy(breast["train_images"][:2]))
    put(corpus, "npy", "labels-u1", npy(breast["train_labels"][:8]))
    put(corpus, "npy", "labels-i8-n1", npy(pneumonia["test_labels"][:6].astype("<i8").reshape(-1, 1)))
    put(corpus, "npy", "images-f4-v2", npy((breast["val_images"][:1, :6, :6] / 255).astype("<f4"), (2, 0)))
    put(corpus, "npy", "rgb-u1-v3", npy(np.stack([breast["test_images"][0, :4, :4]] * 3, axis=-1)[None], (3, 0)))
    put(corpus, "npy", "bool-0d", npy(np.array(True)))
    put(corpus, "npy", "f2-empty", npy(np.zeros((0, 3), dtype="<f2")))

    # npz: a MedMNIST archive of a few images per split (stored and deflated). The first
    # byte is fuzz_npz's option flags.
    def medmnist(src, n):
        return {f"{s}_{k}": src[f"{s}_{k}"][:n] for s in ("train", "val", "test") for k in ("images", "labels")}
    put(corpus, "npz", "breastmnist-3", b"\x00" + npz(medmnist(breast, 3), False))
    put(corpus, "npz", "pneumoniamnist-4-deflated", b"\x06" + npz(medmnist(pneumonia, 4), True))
    rgb = {"train_images": np.stack([breast["train_images"][:2, :8, :8]] * 3, axis=-1),
           "train_labels": breast["train_labels"][:2].reshape(-1, 1).astype("<i8"),
           "test_images": np.stack([breast["test_images"][:1, :8, :8]] * 3, axis=-1),
           "test_labels": breast["test_labels"][:1].reshape(-1, 1).astype("<i8")}
    put(corpus, "npz", "rgb-8x8", b"\x31" + npz(rgb, False))

    # csv: flags byte, label-column chunk, then the text (see fuzz_csv.cc).
    heart = os.path.join(shared, "heart_disease")
    cleveland = open(os.path.join(heart, "processed.cleveland.data"), "rb").read().splitlines(True)
    hungarian = open(os.path.join(heart, "processed.hungarian.data"), "rb").read().splitlines(True)
    put(corpus, "csv", "cleveland-12", b"\x40" + chunk(b"-1") + b"".join(cleveland[:12]))
    put(corpus, "csv", "hungarian-10", b"\x00" + chunk(b"") + b"".join(hungarian[:10]))
    names = b"age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,num\n"
    put(corpus, "csv", "cleveland-header", b"\xc8" + chunk(b"num") + names + b"".join(cleveland[20:28]))
    semi = b"".join(l.replace(b",", b";") for l in cleveland[30:36])
    put(corpus, "csv", "semicolon-quoted",
        b"\x09" + chunk(b"") + b'"age";"sex";"cp";"trestbps";"chol";"fbs";"restecg";"thalach";"exang";'
        b'"oldpeak";"slope";"ca";"thal";"num"\r\n' + semi.replace(b"\n", b"\r\n"))
    bc = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"
    if os.path.exists(bc):
        lines = open(bc, "rb").read().splitlines(True)
        put(corpus, "csv", "breast-cancer-skip1", b"\x50" + chunk(b"-1") + b"".join(lines[:9]))

    # config: the project's configuration files as they are.
    for d in ("configs", "configs/experiments"):
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            if name.endswith(".json"):
                prefix = "experiments-" if d.endswith("experiments") else ""
                put(corpus, "config", prefix + name, open(os.path.join(ROOT, d, name), "rb").read())


if __name__ == "__main__":
    main()
