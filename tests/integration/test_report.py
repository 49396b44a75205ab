"""The federation report, through the real binaries and a real browser: a short
federation with baselines (fl-launch --pooled --report) writes RUN_DIR/report.html, one
self-contained file (every plot a PNG inside it, nothing fetched from elsewhere), which
Debian's headless chromium loads and renders; every plot decodes to a real image, and
every metrics.jsonl line is dated. fl-report refuses a directory without metrics."""
import base64
import os
import re
import shutil
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fltest  # noqa: E402

REPORT = os.path.join(fltest.ROOT, "scripts", "fl-report")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


class ReportTest(unittest.TestCase):
    def test_a_federation_report_renders_in_a_browser(self):
        fltest.require_file(fltest.BREAST_CANCER)
        chromium = shutil.which("chromium")
        if chromium is None:
            fltest.skip("missing chromium (Debian package chromium; scripts/setup.sh installs it)")
        probe = subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"], capture_output=True)
        if probe.returncode != 0:
            fltest.skip("missing python3-matplotlib")
        run_dir = fltest.temp_dir("fl-report-")
        self.addCleanup(shutil.rmtree, run_dir, True)
        p = fltest.launch(["--run-dir", run_dir, "--rounds", "4", "--pooled", "--report"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("report.html (4 figures)", p.stdout)
        for line in fltest.read_metrics(os.path.join(run_dir, "state")):
            self.assertRegex(line["time"], ISO)
        page_path = os.path.join(run_dir, "report.html")
        with open(page_path) as f:
            page = f.read()
        self.assertIsNone(re.search(r'(src|href)="(https?:|//|file:)', page), "the page must not fetch anything")
        images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)"', page)
        self.assertEqual(len(images), 4)
        for data in images:
            w, h = png_size(base64.b64decode(data))
            self.assertGreater(w, 300)
            self.assertGreater(h, 200)
        for text in ("hospital-a", "hospital-b", "hospital-c", "local-only and pooled", "95% interval"):
            self.assertTrue(text in page, "the page lacks %r" % text)
        # The browser: it loads the page and lays out every figure.
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + os.path.join(run_dir, "chromium"), "--window-size=1200,3000"]
        shot = os.path.join(run_dir, "shot.png")
        r = subprocess.run([chromium] + flags + ["--screenshot=" + shot, "file://" + page_path],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(png_size(open(shot, "rb").read()), (1200, 3000))
        self.assertGreater(os.path.getsize(shot), 50000, "a blank page")
        r = subprocess.run([chromium] + flags + ["--dump-dom", "file://" + page_path], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(r.stdout.count("<figure>"), 4)
        self.assertNotIn("Uncaught", r.stderr)

    def test_a_directory_without_metrics_is_refused(self):
        d = fltest.temp_dir("fl-report-empty-")
        self.addCleanup(shutil.rmtree, d, True)
        r = subprocess.run(["/usr/bin/python3", REPORT, d], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no metrics.jsonl", r.stderr)


if __name__ == "__main__":
    unittest.main()
