"""Shared by the launcher's unit tests: scripts/ on sys.path (for the fl_launch package),
temporary directories and files, and a captured stdout/stderr."""
import contextlib
import io
import os
import shutil
import sys
import tempfile
import unittest

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)


class TempDirTest(unittest.TestCase):
    """A test case with a fresh temporary directory, self.dir, removed afterwards."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fl-launch-unit-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        """Writes `text` to self.dir/name (directories made as needed); returns its path."""
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path


@contextlib.contextmanager
def captured():
    """Captures sys.stdout and sys.stderr: yields (stdout, stderr) StringIOs."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err
