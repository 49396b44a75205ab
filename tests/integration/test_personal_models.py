"""Personal models through the real binaries (plan.personalization): a federation of three
hospitals on PneumoniaMNIST with FedBN (normalisation layers personal) and with FedRep
(the head personal). The coordinator's checkpoints hold the shared tensors only; each
hospital's state_dir holds the whole model it uses (personal-model.safetensors): the final
global model's shared tensors and its own personal ones, which differ between hospitals;
fl-worker evaluate and predict take the global model alone or with a hospital's personal
tensors."""
import csv
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

PNEUMONIA = os.path.join(fltest.SHARED_DATA, "pneumoniamnist", "pneumoniamnist.npz")


def worker(*args):
    return subprocess.run([fltest.WORKER] + list(args) + ["--log-level", "warning"], capture_output=True, text=True,
                          timeout=300)


class PersonalModelsTest(unittest.TestCase):
    def setUp(self):
        fltest.require_file(PNEUMONIA)
        self.dir = fltest.temp_dir("fl-personal-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def federate(self, method, head):
        plan = os.path.join(self.dir, method + "-plan.json")
        with open(plan, "w") as f:
            json.dump({"model": {"name": "cnn", "channels": 8},
                       "training": {"optimizer": "adam", "learning_rate": 0.005, "epochs": 1, "batch_size": 32},
                       "personalization": {"method": method}}, f)
        run = os.path.join(self.dir, method)
        p = fltest.launch(["--data", PNEUMONIA, "--plan", plan, "--rounds", "3", "--max-train", "240",
                           "--max-test", "90", "--no-baseline", "--run-dir", run], timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        final, _ = fltest.read_safetensors(os.path.join(run, "state", "model-v000003.safetensors"))
        personal = {}
        for name in ("hospital-a", "hospital-b", "hospital-c"):
            path = os.path.join(run, "hospitals", name, "personal-model.safetensors")
            self.assertTrue(os.path.exists(path), path)
            personal[name], meta = fltest.read_safetensors(path)
            self.assertEqual(meta.get("personalization"), method)
        is_personal = (lambda n: "norm" in n) if method == "fedbn" else (lambda n: n.startswith(head))
        # The federation never saw a personal tensor.
        self.assertTrue(final)
        self.assertFalse([n for n in final if is_personal(n)])
        whole = set(personal["hospital-a"])
        self.assertTrue([n for n in whole if is_personal(n)])
        self.assertEqual(whole - {n for n in whole if is_personal(n)}, set(final))
        for name, tensors in personal.items():
            for n in final:  # the final global model's shared tensors
                self.assertEqual(tensors[n], final[n], "%s %s" % (name, n))
        # Each hospital's personal tensors are its own.
        a, b = personal["hospital-a"], personal["hospital-b"]
        self.assertTrue(any(a[n] != b[n] for n in whole if is_personal(n)))
        return run

    def test_fedbn(self):
        run = self.federate("fedbn", None)
        cfg = os.path.join(run, "worker-hospital-a.json")
        model = os.path.join(run, "state", "model-v000003.safetensors")
        mine = os.path.join(run, "hospitals", "hospital-a", "personal-model.safetensors")
        alone, with_personal, whole = (worker("evaluate", "--config", cfg, "--model", model),
                                       worker("evaluate", "--config", cfg, "--model", model, "--personal", mine),
                                       worker("evaluate", "--config", cfg, "--model", mine))
        for p in (alone, with_personal, whole):
            self.assertEqual(p.returncode, 0, p.stderr)
        alone, with_personal, whole = (json.loads(p.stdout) for p in (alone, with_personal, whole))
        self.assertEqual(with_personal["test_loss"], whole["test_loss"])
        self.assertNotEqual(alone["test_loss"], with_personal["test_loss"])
        # The hospital's reported final metrics are its personal model's.
        final = [m for m in fltest.read_metrics(os.path.join(run, "state")) if m.get("final")][-1]
        self.assertAlmostEqual(final["hospitals"]["hospital-a"]["test_loss"], whole["test_loss"], places=5)
        # Prediction with the personal model; a whole model does not take --personal.
        out = os.path.join(self.dir, "pred")
        p = worker("predict", "--config", cfg, "--model", model, "--personal", mine, "--input", PNEUMONIA, "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "predictions.csv")) as f:
            self.assertEqual(len(list(csv.reader(f))), 1 + 624)
        self.check_python_loader(model, mine, out)
        p = worker("evaluate", "--config", cfg, "--model", mine, "--personal", mine)
        self.assertEqual(p.returncode, 2)
        self.assertIn("whole model already", p.stderr)

    def check_python_loader(self, model, mine, predicted):
        """python/hospital_fl completes the global model with the personal tensors alike."""
        try:
            import numpy as np
            import torch
        except ImportError:
            print("python3-torch is not installed: the Python loader is not checked here", flush=True)
            return
        sys.path.insert(0, os.path.join(fltest.ROOT, "python"))
        import hospital_fl
        with open(os.path.join(predicted, "predictions.csv"), newline="") as f:
            theirs = np.array([[float(r["p_0"]), float(r["p_1"])] for r in csv.DictReader(f)])
        x = np.load(PNEUMONIA)["test_images"].astype(np.float32)[:, None] / np.float32(255)
        with torch.no_grad():
            ours = torch.softmax(hospital_fl.load_model(model, personal=mine)(torch.from_numpy(x)), 1).numpy()
        self.assertLessEqual(float(np.max(np.abs(ours - theirs))), 1e-5)

    def test_decoupled_prediction_on_polyp_images(self):
        """Three colonoscopy centres (Kvasir-SEG images at 32x32), one of which annotates
        generously (its masks dilated): the adaptation network stays at each centre, the
        global model is the generic prediction."""
        kvasir = os.path.join(fltest.SHARED_DATA, "polyp", "kvasir")
        fltest.require_file(kvasir)
        try:
            from PIL import Image, ImageFilter
        except ImportError:
            fltest.skip("python3-pil is not installed")
        names = sorted(os.listdir(os.path.join(kvasir, "images")))[:72]
        sites = {}
        for c, centre in enumerate(("centre-a", "centre-b", "centre-c")):
            for split, chosen in (("train", names[c * 24:c * 24 + 18]), ("test", names[c * 24 + 18:c * 24 + 24])):
                for kind in ("images", "masks"):
                    folder = os.path.join(self.dir, "sites", centre, split, kind)
                    os.makedirs(folder)
                    for n in chosen:
                        im = Image.open(os.path.join(kvasir, kind, n)).convert("RGB" if kind == "images" else "L")
                        im = im.resize((32, 32), Image.BILINEAR if kind == "images" else Image.NEAREST)
                        if kind == "masks" and centre == "centre-c":
                            im = im.filter(ImageFilter.MaxFilter(3))  # a centre that draws larger outlines
                        im.save(os.path.join(folder, os.path.splitext(n)[0] + ".png"))
            sites[centre] = {"format": "images", "path": os.path.join(self.dir, "sites", centre, "train"),
                             "images": {"test_dir": os.path.join(self.dir, "sites", centre, "test"),
                                        "channels": 3, "height": 0, "width": 0}}
        spec = os.path.join(self.dir, "sites.json")
        with open(spec, "w") as f:
            json.dump({"sites": sites}, f)
        plan = os.path.join(self.dir, "unet-plan.json")
        with open(plan, "w") as f:
            json.dump({"model": {"name": "unet", "channels": 4, "depth": 3},
                       "training": {"learning_rate": 0.01, "epochs": 1, "batch_size": 6}}, f)
        run = os.path.join(self.dir, "decoupled")
        p = fltest.launch(["--sites", spec, "--plan", plan, "--personalization", "decoupled", "--rounds", "2",
                           "--no-baseline", "--run-dir", run], timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        final, _ = fltest.read_safetensors(os.path.join(run, "state", "model-v000002.safetensors"))
        self.assertFalse([n for n in final if n.startswith("dan.")])
        self.assertTrue([n for n in final if n.startswith("prior.")] and [n for n in final if n.startswith("posterior.")])
        mine = os.path.join(run, "hospitals", "centre-c", "personal-model.safetensors")
        personal, meta = fltest.read_safetensors(mine)
        self.assertEqual(meta.get("personalization"), "decoupled")
        self.assertTrue([n for n in personal if n.startswith("dan.")])
        cfg = os.path.join(run, "worker-centre-c.json")
        model = os.path.join(run, "state", "model-v000002.safetensors")
        generic = worker("evaluate", "--config", cfg, "--model", model)
        local = worker("evaluate", "--config", cfg, "--model", model, "--personal", mine)
        for q in (generic, local):
            self.assertEqual(q.returncode, 0, q.stderr)
        self.assertNotEqual(json.loads(generic.stdout)["test_loss"], json.loads(local.stdout)["test_loss"])
        self.assertIn("test_dice", json.loads(local.stdout))
        # The Python loader gives the same generic and local probabilities as fl-worker predict.
        try:
            import numpy as np
            import torch
        except ImportError:
            print("python3-torch is not installed: the Python loader is not checked here", flush=True)
            return
        sys.path.insert(0, os.path.join(fltest.ROOT, "python"))
        import hospital_fl
        images = os.path.join(self.dir, "sites", "centre-c", "test", "images")
        for label, extra, loaded in (("generic", [], hospital_fl.load_model(model)),
                                     ("local", ["--personal", mine], hospital_fl.load_model(model, personal=mine))):
            out = os.path.join(self.dir, "pred-" + label)
            q = worker("predict", "--config", cfg, "--model", model, *extra, "--input", images, "--out", out,
                       "--probabilities")
            self.assertEqual(q.returncode, 0, q.stderr)
            theirs = np.load(os.path.join(out, "probabilities.npz"))
            self.assertEqual(len(theirs.files), 6)
            for stem in theirs.files:
                rgb = np.asarray(Image.open(os.path.join(images, stem + ".png")).convert("RGB"), dtype=np.float32)
                x = torch.from_numpy((rgb / np.float32(255)).transpose(2, 0, 1)[None].copy())
                with torch.no_grad():
                    ours = torch.softmax(loaded(x), 1)[0].numpy()
                self.assertLessEqual(float(np.max(np.abs(ours - theirs[stem]))), 1e-5, label + " " + stem)

    def test_fedrep(self):
        run = self.federate("fedrep", "out.")
        cfg = os.path.join(run, "worker-hospital-a.json")
        model = os.path.join(run, "state", "model-v000003.safetensors")
        # The global model has no head: alone it is refused, with a hospital's head it scores.
        p = worker("evaluate", "--config", cfg, "--model", model)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--personal", p.stderr)
        mine = os.path.join(run, "hospitals", "hospital-a", "personal-model.safetensors")
        p = worker("evaluate", "--config", cfg, "--model", model, "--personal", mine)
        self.assertEqual(p.returncode, 0, p.stderr)
        sys.path.insert(0, os.path.join(fltest.ROOT, "python"))
        try:
            import hospital_fl
        except ImportError:
            return
        with self.assertRaisesRegex(hospital_fl.CheckpointError, "personal="):
            hospital_fl.load_model(os.path.join(run, "state", "model-v000003.safetensors"))


if __name__ == "__main__":
    unittest.main()
