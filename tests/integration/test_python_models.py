"""The Python loader (python/hospital_fl) against fl-worker, on real data, for every model
of the registry: each model is trained briefly with `fl-worker local` on a hospital's real
data, saved, and run on new samples by `fl-worker predict` and by the torch.nn.Module that
`hospital_fl.load_model` builds from the saved file; the class probabilities agree to 1e-5
(tables and MedMNIST images: predictions.csv; segmentation: --probabilities), with the
samples prepared as the worker prepares them (the hospital's standardisation statistics,
/255 for images, the configured crop of a volume)."""
import csv
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

try:
    import numpy as np
    import torch
except ImportError as e:  # Debian's python3-torch (scripts/setup.sh installs it)
    fltest.skip("python3-torch is not installed: %s" % e)

sys.path.insert(0, os.path.join(fltest.ROOT, "python"))
import hospital_fl  # noqa: E402

TOLERANCE = 1e-5
PNEUMONIA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")
KVASIR = os.path.join(fltest.SHARED_DATA, "polyp", "kvasir")
LEFT_ATRIUM = os.path.join(fltest.SHARED_DATA, "left_atrium", "volumes")


def worker(*args):
    p = subprocess.run([fltest.WORKER] + list(args) + ["--log-level", "warning"], capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise AssertionError("fl-worker %s failed (%d): %s" % (args[0], p.returncode, p.stderr[-2000:]))
    return p


def read_nifti_gz(path):
    """A NIfTI-1 volume as float32 [z, y, x] (x fastest on disk), scaled by scl_slope."""
    raw = gzip.open(path, "rb").read()
    dims = struct.unpack("<8h", raw[40:56])
    datatype, = struct.unpack("<h", raw[70:72])
    vox_offset, slope, inter = struct.unpack("<3f", raw[108:120])
    dtype = {2: "<u1", 4: "<i2", 16: "<f4", 512: "<u2", 8: "<i4"}[datatype]
    nx, ny, nz = dims[1:4]
    v = np.frombuffer(raw[int(vox_offset):], dtype=dtype, count=nx * ny * nz).astype(np.float64)
    if slope not in (0.0,) and np.isfinite(slope):
        v = v * slope + (inter if np.isfinite(inter) else 0.0)
    return v.astype(np.float32).reshape(nz, ny, nx)


class PythonModelsTest(unittest.TestCase):
    def setUp(self):
        self.dir = fltest.temp_dir("fl-python-models-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write_json(self, name, obj):
        with open(self.path(name), "w") as f:
            json.dump(obj, f)
        return self.path(name)

    def train(self, tag, data, model, training):
        """fl-worker local for one round; returns (config, checkpoint)."""
        config = self.write_json(tag + "-worker.json", {"name": "hospital-a", "state_dir": self.path(tag + "-state"),
                                                        "data": data})
        plan = self.write_json(tag + "-plan.json", {"plan": {"model": model, "training": training}})
        checkpoint = self.path(tag + ".safetensors")
        worker("local", "--config", config, "--plan", plan, "--rounds", "1", "--output-model", checkpoint)
        return config, checkpoint

    def predicted_csv(self, config, checkpoint, input_path, tag):
        out = self.path(tag + "-pred")
        worker("predict", "--config", config, "--model", checkpoint, "--input", input_path, "--out", out)
        with open(os.path.join(out, "predictions.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        k = sum(1 for c in rows[0] if c.startswith("p_"))
        return np.array([[float(r["p_%d" % c]) for c in range(k)] for r in rows])

    def python_probabilities(self, checkpoint, x):
        model = hospital_fl.load_model(checkpoint)
        self.assertFalse(model.training)
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))), 1).numpy()

    def assert_close(self, ours, theirs, what):
        self.assertEqual(ours.shape, theirs.shape, what)
        worst = float(np.max(np.abs(ours - theirs)))
        print("%s: %d values, largest difference %.2e" % (what, ours.size, worst), flush=True)
        self.assertLessEqual(worst, TOLERANCE, what)

    def test_table_models(self):
        fltest.require_file(fltest.BREAST_CANCER)
        with open(fltest.BREAST_CANCER, newline="") as f:
            rows = list(csv.reader(f))[1:]  # sklearn's first line is not a header
        table = self.path("hospital.csv")
        with open(table, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["patient_id"] + ["f%d" % i for i in range(30)] + ["diagnosis"])
            for i, r in enumerate(rows[:450]):
                w.writerow(["P%04d" % i] + r)
        new = self.path("new-patients.csv")
        with open(new, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["patient_id"] + ["f%d" % i for i in range(30)])
            for i, r in enumerate(rows[450:]):
                w.writerow(["N%04d" % i] + r[:30])
        data = {"format": "csv", "path": table,
                "csv": {"header": True, "label_column": "diagnosis", "id_column": "patient_id"}}
        for model in ({"name": "logreg"}, {"name": "mlp", "hidden": [32, 16], "dropout": 0.2}):
            with self.subTest(model=model["name"]):
                config, checkpoint = self.train(model["name"], data, model, {"epochs": 2})
                with open(self.path(model["name"] + "-state", "preprocessing.json")) as f:
                    prep = json.load(f)
                x = np.array([[float(v) for v in r[:30]] for r in rows[450:]])
                if prep.get("standardize", True):
                    x = (x - np.array(prep["mean"])) / np.array(prep["scale"])
                theirs = self.predicted_csv(config, checkpoint, new, model["name"])
                self.assert_close(self.python_probabilities(checkpoint, x), theirs, model["name"])

    def test_image_classifiers(self):
        fltest.require_file(PNEUMONIA)
        src = np.load(PNEUMONIA)
        archive = self.path("pneumonia.npz")
        np.savez(archive, train_images=src["train_images"][:256], train_labels=src["train_labels"][:256],
                 test_images=src["test_images"][:64], test_labels=src["test_labels"][:64])
        data = {"format": "npz", "path": archive}
        x = src["test_images"][:64].astype(np.float32)[:, None] / np.float32(255)
        for model in ({"name": "cnn", "channels": 8}, {"name": "resnet", "channels": 8, "dropout": 0.1}):
            with self.subTest(model=model["name"]):
                config, checkpoint = self.train(model["name"], data, model, {"steps": 4, "batch_size": 32})
                theirs = self.predicted_csv(config, checkpoint, archive, model["name"])
                self.assert_close(self.python_probabilities(checkpoint, x), theirs, model["name"])

    def test_unet_on_images(self):
        fltest.require_file(KVASIR)
        from PIL import Image  # python3-pil, with python3-matplotlib
        names = sorted(os.listdir(os.path.join(KVASIR, "images")))[:6]
        for split, chosen in (("train", names[:4]), ("new", names[4:])):
            for kind in ("images", "masks"):
                os.makedirs(self.path(split, kind))
                for n in chosen:  # lossless PNGs of 72x56 pixels: both sides decode the same pixels
                    im = Image.open(os.path.join(KVASIR, kind, n)).convert("RGB" if kind == "images" else "L")
                    im.resize((72, 56), Image.BILINEAR).save(self.path(split, kind, os.path.splitext(n)[0] + ".png"))
        data = {"format": "images", "path": self.path("train"),
                "images": {"channels": 3, "height": 0, "width": 0, "normalize": False}}
        config, checkpoint = self.train("unet2d", data, {"name": "unet", "channels": 4, "depth": 3},
                                        {"steps": 2, "batch_size": 4})
        out = self.path("unet2d-pred")
        worker("predict", "--config", config, "--model", checkpoint, "--input", self.path("new"), "--out", out,
               "--probabilities")
        theirs = np.load(os.path.join(out, "probabilities.npz"))
        self.assertEqual(sorted(theirs.files), sorted(os.path.splitext(n)[0] for n in names[4:]))
        for stem in theirs.files:
            rgb = np.asarray(Image.open(self.path("new", "images", stem + ".png")).convert("RGB"), dtype=np.float32)
            x = (rgb / np.float32(255)).transpose(2, 0, 1)[None]
            ours = self.python_probabilities(checkpoint, x)[0]
            self.assert_close(ours, theirs[stem], "unet 2-D " + stem)
            mask = np.asarray(Image.open(os.path.join(out, stem + ".png")))
            self.assertTrue(np.array_equal(mask > 0, ours[1] > ours[0]), "the mask is the argmax")

    def test_unet_on_volumes(self):
        ids = ["0RZDK210BSMWAA6467LU", "1D7CUD1955YZPGK8XHJX", "1GU15S0GJ6PFNARO469W"]
        for i in ids:
            fltest.require_file(os.path.join(LEFT_ATRIUM, i + "_image.nii.gz"))
        with open(self.path("train.list"), "w") as f:
            f.write("\n".join(ids[:2]) + "\n")
        crop = [48, 40, 24]  # x y z
        data = {"format": "nifti", "path": LEFT_ATRIUM,
                "nifti": {"train_list": self.path("train.list"), "mode": "volumes", "crop": crop}}
        config, checkpoint = self.train("unet3d", data, {"name": "unet", "channels": 4, "depth": 3},
                                        {"steps": 2, "batch_size": 2})
        out = self.path("unet3d-pred")
        new = os.path.join(LEFT_ATRIUM, ids[2] + "_image.nii.gz")
        worker("predict", "--config", config, "--model", checkpoint, "--input", new, "--out", out, "--probabilities")
        theirs = np.load(os.path.join(out, "probabilities.npz"))[ids[2]]
        v = read_nifti_gz(new)
        nz, ny, nx = v.shape
        sx, sy, sz = nx // 2 - crop[0] // 2, ny // 2 - crop[1] // 2, nz // 2 - crop[2] // 2
        x = v[sz:sz + crop[2], sy:sy + crop[1], sx:sx + crop[0]][None, None]
        self.assert_close(self.python_probabilities(checkpoint, x)[0], theirs, "unet 3-D")

    def test_registry_is_covered(self):
        """The models the tests above compare are every model of the C++ registry."""
        with open(os.path.join(fltest.ROOT, "models", "src", "registry.cc")) as f:
            source = f.read()
        registry = re.search(r"ModelNames\(\) \{ return \{([^}]*)\}", source).group(1)
        self.assertEqual(set(re.findall(r'"(\w+)"', registry)), set(hospital_fl.MODEL_NAMES))
        self.assertEqual(set(hospital_fl.MODEL_NAMES), {"logreg", "mlp", "cnn", "resnet", "unet"})

    def test_bad_files_are_clear_errors(self):
        bad = self.path("bad.safetensors")
        with open(bad, "wb") as f:
            f.write(struct.pack("<Q", 1 << 40) + b"{}")
        with self.assertRaises(hospital_fl.CheckpointError):
            hospital_fl.load_model(bad)
        header = json.dumps({"fc.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                             "__metadata__": {"model": "nosuchnet", "plan": "{}"}}).encode()
        with open(bad, "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header + bytes(24))
        with self.assertRaisesRegex(hospital_fl.CheckpointError, "unknown model"):
            hospital_fl.load_model(bad)


if __name__ == "__main__":
    unittest.main()
