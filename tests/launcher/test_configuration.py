"""fl_launch.configuration: the command line, the hospitals, csv label columns and the
configs written into the run directory."""
import json
import os
import socket
import unittest

from support import TempDirTest, captured

from fl_launch import configuration
from fl_launch.configuration import (check_label_column, coordinator_key, csv_section, data_format, free_port,
                                     hospital_names, make_configs, make_identities, parse_args)

CLASSES_CSV = "age,size,diagnosis\n" + "".join("%d,%.2f,%s\n" % (20 + i, i / 7, "MB"[i % 2]) for i in range(40))


class ParseArgsTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.data = self.write("table.csv", CLASSES_CSV)

    def parse(self, *argv):
        return parse_args(["--data", self.data] + list(argv))

    def refused(self, *argv):
        """The error message of a command line parse_args refuses (with exit status 2)."""
        with captured() as (_, err), self.assertRaises(SystemExit) as ended:
            self.parse(*argv)
        self.assertEqual(ended.exception.code, 2)
        return err.getvalue().strip().splitlines()[-1]

    def test_defaults(self):
        args = self.parse()
        self.assertEqual(args.workers, 3)
        self.assertEqual(args.weights, [0.5, 0.3, 0.2])
        self.assertEqual(args.rounds, 10)
        self.assertEqual(args.label_column, "-1")
        self.assertIsNone(args.kill)
        self.assertEqual(args.crash, {})
        self.assertIsNone(args.site_spec)
        self.assertEqual(args.build_dir, os.path.join(configuration.ROOT, "build"))
        self.assertTrue(os.path.exists(os.path.join(configuration.ROOT, "scripts", "fl-launch")))

    def test_equal_weights_for_other_numbers_of_hospitals(self):
        self.assertEqual(self.parse("--workers", "4").weights, [1.0, 1.0, 1.0, 1.0])
        self.assertEqual(self.parse("--workers", "2", "--weights", "1,3").weights, [1.0, 3.0])

    def test_weights_refused(self):
        self.assertIn("--weights needs one positive number per worker", self.refused("--weights", "1,2"))
        self.assertIn("--weights needs one positive number per worker", self.refused("--weights", "1,0,1"))
        self.assertIn("--weights needs one positive number per worker", self.refused("--weights", "1,-1,1"))
        self.assertIn("--weights must be comma-separated numbers", self.refused("--weights", "a,b,c"))

    def test_too_few_workers_refused(self):
        self.assertIn("--workers must be at least 2", self.refused("--workers", "1"))

    def test_kill(self):
        self.assertEqual(self.parse("--kill", "hospital-c:2").kill, ("hospital-c", 2))
        for bad in ("hospital-c", ":2", "hospital-c:x", "hospital-c:-1"):
            self.assertIn("--kill needs HOSPITAL:ROUND", self.refused("--kill", bad))

    def test_crash(self):
        args = self.parse("--crash", "hospital-a:share:1", "--crash", "hospital-b:masked_input:2")
        self.assertEqual(args.crash, {"hospital-a": "share:1", "hospital-b": "masked_input:2"})
        for bad in ("hospital-f:masked_input", "a:b:c", "a:b:1:2"):
            self.assertIn("--crash needs HOSPITAL:STEP:N", self.refused("--crash", bad))

    def test_missing_dataset_refused(self):
        with captured() as (_, err), self.assertRaises(SystemExit):
            parse_args(["--data", os.path.join(self.dir, "none.csv")])
        self.assertIn("dataset not found: " + os.path.join(self.dir, "none.csv"), err.getvalue())

    def test_unknown_model_refused(self):
        self.assertIn("invalid choice: 'foo'", self.refused("--model", "foo"))

    def test_sites_replace_data_workers_and_weights(self):
        sites = self.write("sites.json", json.dumps({"sites": {"north": {"path": "n.csv"}, "south": {"path": "s.csv"}}}))
        args = parse_args(["--sites", sites, "--workers", "7"])
        self.assertEqual(args.workers, 2)
        self.assertEqual(args.weights, [1.0, 1.0])
        self.assertEqual(args.data, sites)
        self.assertEqual(list(args.site_spec["sites"]), ["north", "south"])
        self.assertEqual(hospital_names(args), ["north", "south"])

    def test_sites_need_two_hospitals(self):
        sites = self.write("sites.json", json.dumps({"sites": {"north": {}}}))
        with captured() as (_, err), self.assertRaises(SystemExit):
            parse_args(["--sites", sites])
        self.assertIn('--sites needs a "sites" object with at least 2 hospitals', err.getvalue())

    def test_description_heads_help(self):
        with captured() as (out, _), self.assertRaises(SystemExit) as ended:
            parse_args(["--help"], "Runs a federation on loopback.")
        self.assertEqual(ended.exception.code, 0)
        self.assertIn("Runs a federation on loopback.", out.getvalue())
        self.assertIn("--label-column COLUMN", out.getvalue())
        self.assertNotIn("--crash", out.getvalue())


class NamesAndFormatsTest(TempDirTest):
    def test_hospital_names(self):
        self.assertEqual(hospital_names(3), ["hospital-a", "hospital-b", "hospital-c"])
        names = hospital_names(28)
        self.assertEqual(names[25], "hospital-z")
        self.assertEqual(names[26:], ["hospital-26", "hospital-27"])

    def test_data_format(self):
        npz = self.write("images.npz", "")
        self.assertEqual(data_format(parse_args(["--data", npz])), "npz")
        self.assertEqual(data_format(parse_args(["--data", self.write("t.csv", CLASSES_CSV)])), "csv")
        sites = self.write("sites.json", json.dumps({"sites": {"a": {"format": "nifti"}, "b": {"format": "csv"}}}))
        self.assertEqual(data_format(parse_args(["--sites", sites])), "nifti")
        sites = self.write("sites2.json", json.dumps({"sites": {"a": {"path": "x"}, "b": {}}}))
        self.assertEqual(data_format(parse_args(["--sites", sites])), "csv")

    def test_free_port_can_be_bound(self):
        port = free_port()
        self.assertTrue(1024 <= port < 65536)
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


class CsvTest(TempDirTest):
    def test_csv_section(self):
        self.assertEqual(csv_section("-1"), {"header": False, "skip_rows": 1, "label_column": "-1",
                                             "test_fraction": 0.25})
        self.assertEqual(csv_section("3"), {"header": False, "skip_rows": 1, "label_column": "3",
                                            "test_fraction": 0.25})
        self.assertEqual(csv_section("diagnosis"), {"header": True, "skip_rows": 0, "label_column": "diagnosis",
                                                    "test_fraction": 0.25})
        self.assertTrue(csv_section("3a")["header"])

    def test_label_column_of_classes(self):
        path = self.write("t.csv", CLASSES_CSV)
        self.assertIsNone(check_label_column(path, "diagnosis"))
        self.assertIsNone(check_label_column(path, "-1"))
        self.assertIsNone(check_label_column(path, "2"))

    def test_missing_named_column(self):
        path = self.write("t.csv", CLASSES_CSV)
        self.assertEqual(check_label_column(path, "outcome"),
                         "%s has no column named 'outcome' (its columns: age, size, diagnosis)" % path)

    def test_index_out_of_range(self):
        path = self.write("t.csv", CLASSES_CSV)
        self.assertEqual(check_label_column(path, "3"), "--label-column 3: %s has 3 columns" % path)
        self.assertEqual(check_label_column(path, "-4"), "--label-column -4: %s has 3 columns" % path)

    def test_continuous_column_refused(self):
        path = self.write("t.csv", CLASSES_CSV)
        self.assertEqual(check_label_column(path, "size"),
                         "column size of t.csv has 40 distinct values in 40 rows: a measurement, not a class "
                         "label; name the label column with --label-column")
        self.assertIn("a measurement, not a class label", check_label_column(path, "0"))

    def test_few_distinct_values_are_classes(self):
        # 20 distinct values are still classes, and so are more when each is seen often.
        rows = "".join("%d,%d\n" % (i, i % 20) for i in range(40))
        self.assertIsNone(check_label_column(self.write("a.csv", "x,y\n" + rows), "y"))
        rows = "".join("%d,%d\n" % (i, i % 25) for i in range(200))
        self.assertIsNone(check_label_column(self.write("b.csv", "x,y\n" + rows), "y"))

    def test_missing_values_ignored(self):
        rows = "".join("%d,%s\n" % (i, "?" if i % 2 else "1") for i in range(40))
        self.assertIsNone(check_label_column(self.write("t.csv", "x,y\n" + rows), "y"))

    def test_unreadable_or_empty(self):
        self.assertEqual(check_label_column(self.write("e.csv", "a,b\n"), "b"),
                         "%s has no data rows" % os.path.join(self.dir, "e.csv"))
        problem = check_label_column(os.path.join(self.dir, "none.csv"), "-1")
        self.assertTrue(problem.startswith("cannot read %s: " % os.path.join(self.dir, "none.csv")), problem)


class KeysTest(TempDirTest):
    def test_existing_keys_are_kept(self):
        # No binary is run for keys that exist (the binaries here do not).
        self.write("run/keys/hospital-a.key", "{}")
        self.write("run/keys/hospital-b.key", "{}")
        run_dir = os.path.join(self.dir, "run")
        keys_dir, roster = make_identities("/nonexistent/fl-worker", run_dir, ["hospital-a", "hospital-b"])
        self.assertEqual(keys_dir, os.path.join(run_dir, "keys"))
        self.assertEqual(roster, os.path.join(run_dir, "keys", "roster.json"))
        key = self.write("run/keys/coordinator.key", json.dumps({"public_key": "ab" * 32, "secret_key": "cd" * 32}))
        self.assertEqual(coordinator_key("/nonexistent/fl-coordinator", keys_dir), (key, "ab" * 32))


class MakeConfigsTest(TempDirTest):
    PORT = 45678

    def configs(self, *argv):
        """make_configs on a fresh run directory, keys and roster faked as main makes them:
        (args, coordinator.json, {worker: config}, extra)."""
        args = parse_args(list(argv))
        args.coordinator_key, args.coordinator_public = "/keys/coordinator.key", "ab" * 32
        run_dir = os.path.join(self.dir, "run")
        os.makedirs(run_dir, exist_ok=True)
        coordinator_cfg, workers, extra = make_configs(args, run_dir, self.PORT, "/keys", "/keys/roster.json")
        self.assertEqual(coordinator_cfg, os.path.join(run_dir, "coordinator.json"))
        with open(coordinator_cfg) as f:
            coordinator = json.load(f)
        configs = {}
        for name, path in workers:
            self.assertEqual(path, os.path.join(run_dir, "worker-%s.json" % name))
            with open(path) as f:
                configs[name] = json.load(f)
        self.assertEqual(list(configs), [n for n, _ in workers])
        return args, coordinator, configs, extra

    def read(self, path):
        with open(path) as f:
            return json.load(f)

    def test_table(self):
        data = self.write("t.csv", CLASSES_CSV)
        args, coordinator, workers, extra = self.configs("--data", data, "--rounds", "4", "--min-workers", "2",
                                                         "--server-momentum", "0.9", "--threads", "2")
        run_dir = os.path.join(self.dir, "run")
        self.assertEqual(coordinator["listen"], "tcp://127.0.0.1:%d" % self.PORT)
        self.assertEqual(coordinator["rounds"], 4)
        self.assertEqual(coordinator["min_workers"], 2)
        self.assertEqual(coordinator["max_workers"], 3)
        self.assertEqual(coordinator["state_dir"], os.path.join(run_dir, "state"))
        self.assertEqual(coordinator["roster"], "/keys/roster.json")
        self.assertEqual(coordinator["transport"], {"security": "curve", "secret_key": "/keys/coordinator.key"})
        self.assertEqual(coordinator["timeouts"], {"admission_s": 120.0, "phase_s": 900, "heartbeat_s": 5.0,
                                                   "final_report_s": 120})
        self.assertEqual(coordinator["server_optimizer"], {"kind": "fedavg", "learning_rate": 1.0, "momentum": 0.9})
        self.assertEqual(coordinator["plan"]["model"]["name"], "mlp")
        self.assertEqual(coordinator["plan"]["training"]["learning_rate"], 0.01)
        self.assertEqual(coordinator["plan"]["training"]["batch_size"], 32)
        self.assertEqual(coordinator["plan"]["training"]["epochs"], 1)
        self.assertNotIn("adversarial", coordinator["plan"])
        self.assertEqual(list(workers), ["hospital-a", "hospital-b", "hospital-c"])
        for i, (name, cfg) in enumerate(workers.items()):
            self.assertEqual(cfg["name"], name)
            self.assertEqual(cfg["coordinator"], "tcp://127.0.0.1:%d" % self.PORT)
            self.assertEqual(cfg["coordinator_public_key"], "ab" * 32)
            self.assertEqual(cfg["identity_key"], "/keys/%s.key" % name)
            self.assertEqual(cfg["roster"], "/keys/roster.json")
            self.assertEqual(cfg["min_cohort"], 2)
            self.assertEqual(cfg["device"], {"type": "auto", "threads": 2})
            self.assertEqual(cfg["state_dir"], os.path.join(run_dir, "hospitals", name))
            self.assertEqual(cfg["data"], {"format": "csv", "path": data,
                                           "partition": {"weights": [0.5, 0.3, 0.2], "index": i, "seed": 2024,
                                                         "dirichlet_alpha": 0.0},
                                           "csv": csv_section("-1")})
        self.assertEqual(extra, {})

    def test_personalization_joins_the_plan(self):
        data = self.write("t.csv", CLASSES_CSV)
        _, coordinator, _, _ = self.configs("--data", data)
        self.assertNotIn("personalization", coordinator["plan"])
        _, coordinator, _, _ = self.configs("--data", data, "--personalization", "fedrep")
        self.assertEqual(coordinator["plan"]["personalization"], {"method": "fedrep"})
        plan = self.write("plan.json", json.dumps({"model": {"name": "cnn"},
                                                   "personalization": {"method": "fedbn", "ditto_lambda": 0.5}}))
        _, coordinator, _, _ = self.configs("--data", data, "--plan", plan, "--personalization", "ditto")
        self.assertEqual(coordinator["plan"]["model"], {"name": "cnn"})
        self.assertEqual(coordinator["plan"]["personalization"], {"method": "ditto", "ditto_lambda": 0.5})

    def test_pooled_is_the_union_of_the_hospitals(self):
        data = self.write("t.csv", CLASSES_CSV)
        args, _, workers, extra = self.configs("--data", data, "--pooled", "--workers", "2", "--weights", "1,3",
                                               "--label-column", "diagnosis", "--dirichlet", "0.5", "--seed", "7")
        self.assertEqual(sorted(extra), ["global_test", "pooled"])
        sections = [w["data"] for w in workers.values()]
        self.assertEqual([s["csv"]["label_column"] for s in sections], ["diagnosis", "diagnosis"])
        self.assertTrue(all(s["csv"]["header"] for s in sections))
        self.assertEqual([s["partition"]["dirichlet_alpha"] for s in sections], [0.5, 0.5])
        self.assertEqual([s["partition"]["seed"] for s in sections], [7, 7])
        for key in ("pooled", "global_test"):
            self.assertEqual(extra[key], os.path.join(self.dir, "run", "worker-%s.json" % key))
            cfg = self.read(extra[key])
            self.assertEqual(cfg["name"], key)
            self.assertEqual(cfg["data"], {"format": "union", "parts": sections})
            self.assertEqual(cfg["min_cohort"], 2)

    def test_images(self):
        data = self.write("images.npz", "")
        _, coordinator, workers, extra = self.configs(
            "--data", data, "--max-train", "10", "--max-test", "5", "--pgd", "0.01", "--pgd-steps", "5",
            "--robust-eps", "0.01,0.02", "--server-optimizer", "fedadam", "--server-lr", "0.1", "--workers", "2")
        plan = coordinator["plan"]
        self.assertEqual(plan["model"]["name"], "cnn")
        self.assertEqual(plan["training"]["learning_rate"], 0.005)
        self.assertEqual(plan["training"]["batch_size"], 64)
        self.assertEqual(plan["training"]["epochs"], 2)
        self.assertEqual(plan["adversarial"]["steps"], 5)
        self.assertAlmostEqual(plan["adversarial"]["alpha"], 0.005)
        self.assertEqual(plan["evaluation"], {"robust_eps": [0.01, 0.02], "robust_steps": 20})
        self.assertEqual(coordinator["server_optimizer"], {"kind": "fedadam", "learning_rate": 0.1})
        self.assertEqual(workers["hospital-b"]["data"]["format"], "npz")
        self.assertEqual(workers["hospital-b"]["data"]["npz"], {"max_train": 10, "max_test": 5})
        self.assertNotIn("csv", workers["hospital-b"]["data"])
        self.assertEqual(extra, {})

    def test_sites_with_centres_and_a_plan(self):
        plan = {"model": {"name": "logreg"}, "training": {"epochs": 3}}
        plan_path = self.write("plan.json", json.dumps(plan))
        spec = {"sites": {"north-1": {"format": "images", "path": "/n1"}, "north-2": {"format": "images", "path": "/n2"},
                          "south": {"format": "images", "path": "/s"}},
                "pooled": {"format": "images", "path": "/all"},
                "centres": {"north": {"format": "images", "path": "/n"}, "south": {"format": "images", "path": "/s"}}}
        sites = self.write("sites.json", json.dumps(spec))
        _, coordinator, workers, extra = self.configs("--sites", sites, "--plan", plan_path, "--pooled")
        self.assertEqual(coordinator["plan"], plan)
        self.assertEqual(list(workers), ["north-1", "north-2", "south"])
        self.assertEqual(workers["north-2"]["data"], spec["sites"]["north-2"])
        self.assertEqual(self.read(extra["pooled"])["data"], spec["pooled"])
        self.assertNotIn("global_test", extra)  # the sites' own pooled section, not the union
        self.assertEqual([n for n, _ in extra["centres"]], ["north", "south"])
        centre = self.read(dict(extra["centres"])["north"])
        self.assertEqual(centre["name"], "centre-north")
        self.assertEqual(centre["data"], spec["centres"]["north"])

    def test_image_sites_default_to_unet(self):
        sites = self.write("sites.json", json.dumps({"sites": {"a": {"format": "nifti"}, "b": {"format": "nifti"}}}))
        _, coordinator, _, extra = self.configs("--sites", sites)
        self.assertEqual(coordinator["plan"]["model"]["name"], "unet")
        self.assertEqual(extra, {"centres": []})


if __name__ == "__main__":
    unittest.main()
