"""`kill -USR1` on a process that called enable_stack_dumps writes its threads' stacks and leaves it running."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO_ROOT

SCRIPT = """
import os, threading, time
from cnnviz.core.diagnostics import STACK_DUMP_SIGNAL, enable_stack_dumps

def stuck_in_a_thread():
    time.sleep(30)

threading.Thread(target=stuck_in_a_thread, daemon=True).start()
assert enable_stack_dumps() and enable_stack_dumps()  # idempotent
os.kill(os.getpid(), STACK_DUMP_SIGNAL)
time.sleep(0.2)
print("still running")
"""


def test_the_signal_dumps_every_thread_and_the_process_goes_on() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "still running"
    assert "in stuck_in_a_thread" in done.stderr  # the other thread's stack, not only the current one
    assert "Current thread" in done.stderr
