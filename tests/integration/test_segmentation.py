"""Left-atrium segmentation through the real binaries (real data, kept tiny): fl-prep makes
three centres (one with perturbed training masks), fl-launch trains a small U-Net federated,
alone per centre and on the pooled data, and scores all of them on a global test set;
fl-worker predict then writes a mask for a global test volume in the volume's own grid.
Skips (exit 77) when ../shared/data/left_atrium (or $FL_DATA_DIR/left_atrium) is missing."""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

DATA = os.path.abspath(os.environ.get("FL_DATA_DIR") or os.path.join(fltest.ROOT, "..", "shared", "data"))
LA = os.path.join(DATA, "left_atrium")
PREP = os.path.join(fltest.BUILD, "worker", "prep", "fl-prep")
SITES = ["centre-a", "centre-b", "centre-c"]
PERTURBED = "centre-c"


def setUpModule():
    for path in (os.path.join(LA, "volumes"), os.path.join(LA, "train.list"), os.path.join(LA, "test.list")):
        fltest.require_file(path)


def run(args, timeout=120):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def read_list(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
    return path


def write_png(path, width, height, gray):
    """An 8-bit grayscale PNG (what the loaders and the predicted masks use)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
    rows = b"".join(b"\x00" + gray[y * width:(y + 1) * width] for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def nifti_header(path):
    """(dims, datatype, pixdim, qform/sform floats, voxel bytes) of a little-endian NIfTI-1 file."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    assert struct.unpack("<i", data[0:4])[0] == 348, path + ": not a little-endian NIfTI-1 file"
    dims = struct.unpack("<8h", data[40:56])
    datatype = struct.unpack("<h", data[70:72])[0]
    pixdim = struct.unpack("<8f", data[76:108])
    vox_offset = int(struct.unpack("<f", data[108:112])[0])
    placement = struct.unpack("<18f", data[256:328])  # quatern b c d, qoffset x y z, srow x y z
    return dims, datatype, pixdim, placement, data[vox_offset:]


def nifti(path, train_list, test_list, stride):
    section = {"test_list": test_list, "crop": [96, 80], "slice_stride": stride}
    if train_list:  # None: an evaluation-only config (the global test set)
        section["train_list"] = train_list
    return {"format": "nifti", "path": path, "nifti": section}


class SegmentationTest(unittest.TestCase):
    def setUp(self):
        self.dir = fltest.temp_dir("fl-segmentation-")
        self.keep = False

    def tearDown(self):
        if self.keep:
            print("kept %s for inspection" % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def prep_spec(self, output, source_dir=None):
        return {
            "format": "nifti", "output": output, "seed": 11,
            "sources": {"la": {"dir": source_dir or os.path.join(LA, "volumes"),
                               "list": os.path.join(LA, "train.list")}},
            "sites": [
                {"name": "centre-a", "source": "la", "cases": 3, "test_cases": 1},
                {"name": "centre-b", "source": "la", "cases": 3, "test_cases": 1},
                {"name": PERTURBED, "source": "la", "cases": 3, "test_cases": 1,
                 "train_perturbation": ["opening", "erosion"], "min_radius": 1, "max_radius": 2},
            ],
        }

    def test_prep_errors(self):
        missing = os.path.join(self.dir, "no-such-volumes")
        spec = write_json(os.path.join(self.dir, "bad.json"), self.prep_spec(os.path.join(self.dir, "out"), missing))
        p = run([PREP, "--spec", spec])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(missing, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out", "centre-a")))

        bad = self.prep_spec(os.path.join(self.dir, "out"))
        bad["sites"][2]["train_perturbation"] = ["blur"]
        p = run([PREP, "--spec", write_json(os.path.join(self.dir, "bad2.json"), bad)])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("config error", p.stderr)
        self.assertIn("unknown perturbation 'blur'", p.stderr)

        p = run([PREP])
        self.assertEqual(p.returncode, 2)
        self.assertIn("Usage: fl-prep --spec", p.stderr)
        p = run([PREP, "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("--spec", p.stdout)

    def test_volumes_3d_local_and_predict(self):
        """Whole volumes (nifti mode "volumes"): fl-worker local trains a 3-D U-Net, the saved
        model scores per volume, and predict writes a mask volume on the input's grid."""
        train_ids = read_list(os.path.join(LA, "train.list"))[:3]
        test_ids = read_list(os.path.join(LA, "test.list"))[:1]
        lists = {}
        for name, ids in (("train", train_ids), ("test", test_ids)):
            lists[name] = os.path.join(self.dir, name + ".list")
            with open(lists[name], "w") as f:
                f.write("\n".join(ids) + "\n")
        config = write_json(os.path.join(self.dir, "volumes.json"), {
            "name": "centre-3d", "device": {"type": "cpu", "threads": 2},
            "data": {"format": "nifti", "path": os.path.join(LA, "volumes"),
                     "nifti": {"train_list": lists["train"], "test_list": lists["test"], "mode": "volumes",
                               "spacing": [2.5, 2.5, 2.5], "crop": [48, 40, 24]}}})
        plan = write_json(os.path.join(self.dir, "plan.json"), {"plan": {
            "model": {"name": "unet", "channels": 4, "depth": 3, "init_seed": 1},
            "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 2, "epochs": 1, "seed": 1},
            "augmentation": {"probability": 0.5, "flip": False, "rotation_deg": 10}}})
        model = os.path.join(self.dir, "unet3d.safetensors")
        p = run([fltest.WORKER, "local", "--config", config, "--plan", plan, "--rounds", "2",
                 "--output-model", model, "--log-level", "warning"], timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        result = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(result["test_samples"], 1)  # one volume, scored as a whole
        self.assertTrue(0.0 <= result["test_dice"] <= 1.0)
        params, meta = fltest.read_safetensors(model)
        self.assertEqual(params["down.0.seq.0.weight"][0], [4, 1, 3, 3, 3])  # 3-D kernels

        out = os.path.join(self.dir, "pred-3d")
        volume = os.path.join(LA, "volumes", test_ids[0] + "_image.nii.gz")
        p = run([fltest.WORKER, "predict", "--config", config, "--model", model, "--input", volume, "--out", out,
                 "--log-level", "warning"])
        self.assertEqual(p.returncode, 0, p.stderr)
        dims, datatype, pixdim, _, voxels = nifti_header(os.path.join(out, test_ids[0] + "_pred.nii.gz"))
        in_dims, _, in_pixdim, _, _ = nifti_header(volume)
        self.assertEqual(dims[:4], in_dims[:4])
        self.assertEqual(datatype, 2)
        self.assertEqual(len(voxels), dims[1] * dims[2] * dims[3])
        self.assertLessEqual(set(voxels), {0, 1})

        # A 2-D setting on a volumes config is refused by name.
        bad = write_json(os.path.join(self.dir, "bad-volumes.json"), {
            "name": "centre-3d", "data": {"format": "nifti", "path": os.path.join(LA, "volumes"),
                                          "nifti": {"train_list": lists["train"], "mode": "volumes",
                                                    "slice_stride": 2}}})
        p = run([fltest.WORKER, "evaluate", "--config", bad, "--model", model])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("slice_stride", p.stderr)

    def test_prep_federate_predict(self):
        self.keep = True  # kept on failure, removed at the end
        sites_dir = os.path.join(self.dir, "sites")
        spec = write_json(os.path.join(self.dir, "prep.json"), self.prep_spec(os.path.join(self.dir, "ignored")))
        summary_path = os.path.join(self.dir, "prep-summary.json")
        p = run([PREP, "--spec", spec, "--output", sites_dir, "--summary", summary_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(summary_path) as f:
            prep = json.load(f)
        self.assertEqual(json.loads(p.stdout), prep)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "ignored")))
        all_ids = set(read_list(os.path.join(LA, "train.list")))
        seen = set()
        for site in SITES:
            train = read_list(os.path.join(sites_dir, site, "train.list"))
            test = read_list(os.path.join(sites_dir, site, "test.list"))
            self.assertEqual((len(train), len(test)), (2, 1), site)
            self.assertEqual([c["id"] for c in prep[site]["train"]], train)
            for i in train + test:
                self.assertIn(i, all_ids)
                self.assertNotIn(i, seen)
                seen.add(i)
                label = os.path.join(sites_dir, site, "volumes", i + "_label.nii.gz")
                perturbed = site == PERTURBED and i in train
                self.assertEqual(os.path.islink(label), not perturbed, label)
            for c in prep[site]["train"]:
                if site == PERTURBED:
                    self.assertGreater(c["dice_vs_original"], 0.3)
                    self.assertLess(c["dice_vs_original"], 1.0)
                else:
                    self.assertNotIn("dice_vs_original", c)
        # A perturbed label keeps its source's grid.
        i = read_list(os.path.join(sites_dir, PERTURBED, "train.list"))[0]
        dims, datatype, pixdim, placement, voxels = nifti_header(
            os.path.join(sites_dir, PERTURBED, "volumes", i + "_label.nii.gz"))
        src_dims, _, src_pixdim, src_placement, _ = nifti_header(os.path.join(LA, "volumes", i + "_label.nii.gz"))
        self.assertEqual(dims, src_dims)
        self.assertEqual(datatype, 2)
        for a, b in zip(pixdim[1:4] + placement, src_pixdim[1:4] + src_placement):
            self.assertAlmostEqual(a, b, places=4)
        self.assertLessEqual(set(voxels[:dims[1] * dims[2] * dims[3]]), {0, 1})
        # fl-prep refuses to write over existing sites.
        p = run([PREP, "--spec", spec, "--output", sites_dir])
        self.assertEqual(p.returncode, 2)
        self.assertIn("exists", p.stderr)

        # Pooled data: every centre's volumes (with their own masks) in one folder.
        pooled = os.path.join(self.dir, "pooled")
        os.makedirs(os.path.join(pooled, "volumes"))
        lists = {"train": [], "test": []}
        for site in SITES:
            vol = os.path.join(sites_dir, site, "volumes")
            for name in os.listdir(vol):
                os.symlink(os.path.realpath(os.path.join(vol, name)), os.path.join(pooled, "volumes", name))
            for split in lists:
                lists[split] += read_list(os.path.join(sites_dir, site, split + ".list"))
        for split, ids in lists.items():
            with open(os.path.join(pooled, split + ".list"), "w") as f:
                f.write("\n".join(ids) + "\n")
        global_ids = read_list(os.path.join(LA, "test.list"))[:2]
        global_list = os.path.join(self.dir, "global.list")
        with open(global_list, "w") as f:
            f.write("\n".join(global_ids) + "\n")
        sites_json = write_json(os.path.join(self.dir, "sites.json"), {
            "sites": {s: nifti(os.path.join(sites_dir, s, "volumes"), os.path.join(sites_dir, s, "train.list"),
                               os.path.join(sites_dir, s, "test.list"), 8) for s in SITES},
            "pooled": nifti(os.path.join(pooled, "volumes"), os.path.join(pooled, "train.list"),
                            os.path.join(pooled, "test.list"), 8),
            "global_test": nifti(os.path.join(LA, "volumes"), None, global_list, 88),
        })
        plan = write_json(os.path.join(self.dir, "plan.json"), {
            "model": {"name": "unet", "channels": 4, "depth": 3, "init_seed": 1},
            "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 16, "epochs": 1, "seed": 1},
        })
        run_dir = os.path.join(self.dir, "run")
        p = fltest.launch(["--sites", sites_json, "--plan", plan, "--rounds", "2", "--threads", "1",
                           "--run-dir", run_dir, "--timeout", "600"], timeout=900)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Global test set", p.stdout)

        lines = fltest.read_metrics(os.path.join(run_dir, "state"))
        self.assertEqual(max(l.get("round", 0) for l in lines), 2)
        final = lines[-1]
        self.assertTrue(final.get("final"))
        self.assertEqual(sorted(final["hospitals"]), SITES)
        print("\nfederated test Dice: %s" % ", ".join(
            "%s %.3f" % (n, m.get("test_dice", float("nan"))) for n, m in sorted(final["hospitals"].items())),
            file=sys.stderr)
        for name, m in final["hospitals"].items():
            self.assertIn("test_dice", m, name)
            self.assertGreater(m["test_dice"], 0.0, name)
            self.assertLessEqual(m["test_dice"], 1.0, name)
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["rounds"], 2)
        self.assertEqual(sorted(summary["hospitals"]), SITES)
        for name, row in summary["hospitals"].items():
            for column in ("federated", "local_only", "pooled"):
                self.assertIsInstance(row[column], dict, (name, column))
                self.assertGreaterEqual(row[column]["test_dice"], 0.0, (name, column))
                self.assertLessEqual(row[column]["test_dice"], 1.0, (name, column))
        self.assertIn("mean_pooled", summary)
        gt = summary["global_test"]
        self.assertEqual(sorted(gt), sorted(["federated", "pooled"] + ["local " + s for s in SITES]))
        for label, m in gt.items():
            self.assertGreaterEqual(m["test_dice"], 0.0, label)
            self.assertLessEqual(m["test_dice"], 1.0, label)
            # Every slice of the 2 global test volumes is scored.
            self.assertEqual(m["test_samples"], 2 * 88, label)

        # Predict a global test volume with the federated model.
        with open(os.path.join(run_dir, "state", "latest.json")) as f:
            model = os.path.join(run_dir, "state", json.load(f)["file"])
        self.assertEqual(model, summary["federated_model"])
        config = os.path.join(run_dir, "worker-centre-a.json")
        volume = os.path.join(LA, "volumes", global_ids[0] + "_image.nii.gz")
        out = os.path.join(self.dir, "pred")
        p = run([fltest.WORKER, "predict", "--config", config, "--model", model, "--input", volume, "--out", out,
                 "--log-level", "warning"])
        self.assertEqual(p.returncode, 0, p.stderr)
        pred = os.path.join(out, global_ids[0] + "_pred.nii.gz")
        self.assertEqual(json.loads(p.stdout.strip().splitlines()[-1])["written"], [pred])
        self.assertTrue(os.path.exists(pred))
        dims, datatype, pixdim, placement, voxels = nifti_header(pred)
        in_dims, _, in_pixdim, in_placement, _ = nifti_header(volume)
        self.assertEqual(dims[:4], in_dims[:4])
        self.assertEqual(dims[0], 3)
        self.assertEqual(datatype, 2)  # uint8
        for a, b in zip(pixdim[1:4] + placement, in_pixdim[1:4] + in_placement):
            self.assertAlmostEqual(a, b, places=4)
        n = dims[1] * dims[2] * dims[3]
        self.assertEqual(len(voxels), n)
        self.assertLessEqual(set(voxels), {0, 1})

        # Offline commands fail clearly.
        missing = os.path.join(self.dir, "missing.safetensors")
        p = run([fltest.WORKER, "evaluate", "--config", config, "--model", missing])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("missing.safetensors", p.stderr)
        p = run([fltest.WORKER, "predict", "--config", config, "--model", model,
                 "--input", os.path.join(self.dir, "nothing.nii.gz"), "--out", out])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("nothing.nii.gz", p.stderr)

        # The same model on 2-D images (PNG in, PNG mask of the input's size out); two inputs
        # with one stem would write one mask file, so that is refused before anything is written.
        img_root = os.path.join(self.dir, "images")
        for sub in ("train/images", "train/masks", "new"):
            os.makedirs(os.path.join(img_root, sub))
        pixels = bytes((x * 7 + y * 3) % 256 for y in range(60) for x in range(50))
        write_png(os.path.join(img_root, "train", "images", "t.png"), 50, 60, pixels)
        write_png(os.path.join(img_root, "train", "masks", "t.png"), 50, 60, bytes(255 if p > 128 else 0 for p in pixels))
        write_png(os.path.join(img_root, "new", "scan.png"), 50, 60, pixels)
        img_config = write_json(os.path.join(self.dir, "images.json"), {
            "name": "centre-a", "data": {"format": "images", "path": os.path.join(img_root, "train"),
                                         "images": {"channels": 1}}})
        img_out = os.path.join(self.dir, "pred-images")
        p = run([fltest.WORKER, "predict", "--config", img_config, "--model", model,
                 "--input", os.path.join(img_root, "new"), "--out", img_out, "--log-level", "warning"])
        self.assertEqual(p.returncode, 0, p.stderr)
        mask = os.path.join(img_out, "scan.png")
        self.assertEqual(json.loads(p.stdout.strip().splitlines()[-1])["written"], [mask])
        with open(mask, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">II", head[16:24]), (50, 60))
        shutil.copy(os.path.join(img_root, "new", "scan.png"), os.path.join(img_root, "new", "scan.jpg"))
        dup_out = os.path.join(self.dir, "pred-dup")
        p = run([fltest.WORKER, "predict", "--config", img_config, "--model", model,
                 "--input", os.path.join(img_root, "new"), "--out", dup_out])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("scan.jpg", p.stderr)
        self.assertIn("would both write", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(dup_out, "scan.png")))
        self.keep = False


if __name__ == "__main__":
    unittest.main()
