"""Keras is imported in the background once per process, and a page that needs it meanwhile just waits."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO_ROOT

SCRIPT = """
import sys
from cnnviz.core.preload import preload_keras

thread = preload_keras()
assert preload_keras() is thread  # once per process
import keras  # a page needing Keras now waits for the background import instead of racing it
thread.join(timeout=300)
assert not thread.is_alive() and "keras" in sys.modules and "tensorflow" in sys.modules
print("ready", keras.__version__)
"""


def test_the_background_import_runs_once_and_a_caller_can_import_keras_meanwhile() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ready ")
