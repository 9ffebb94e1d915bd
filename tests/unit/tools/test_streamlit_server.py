"""The thread-stack report of a failed browser test keeps the threads that are doing something."""

from __future__ import annotations

import subprocess
import sys

from tools.streamlit_server import busy_threads

#: A process with three threads waiting on an event and one spinning, which dumps every thread's stack.
DUMPING_PROCESS = """
import faulthandler, sys, threading, time
stop = threading.Event()
def spin():
    while not stop.is_set():
        sum(range(1000))
threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(3)]
threads.append(threading.Thread(target=spin, daemon=True))
for thread in threads:
    thread.start()
time.sleep(0.3)  # every thread reaches its wait or its loop
faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
stop.set()
"""


def test_idle_threads_are_counted_and_a_busy_one_is_kept() -> None:
    """A real faulthandler dump (a process of its own, so no test runner's threads): waiting threads are left out."""
    dump = subprocess.run([sys.executable, "-c", DUMPING_PROCESS], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    report = busy_threads(dump)
    assert "in spin" in report
    assert "Current thread" in report  # the dumping thread itself is busy
    assert report.count("Thread 0x") + report.count("Current thread") == 2
    assert report.endswith("(3 idle threads left out)")
