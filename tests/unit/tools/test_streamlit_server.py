"""The thread-stack report of a failed browser test keeps the threads that are doing something."""

from __future__ import annotations

import faulthandler
import tempfile
import threading
import time

from tools.streamlit_server import busy_threads


def _spin(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(1000))


def test_idle_threads_are_counted_and_a_busy_one_is_kept() -> None:
    """A real faulthandler dump: threads blocked in ``Event.wait`` are left out, the spinning one is not."""
    stop = threading.Event()
    waiters = [threading.Thread(target=stop.wait, daemon=True) for _ in range(3)]
    spinner = threading.Thread(target=_spin, args=(stop,), daemon=True)
    for thread in [*waiters, spinner]:
        thread.start()
    time.sleep(0.2)  # every thread reaches its wait or its loop
    try:
        with tempfile.TemporaryFile("w+") as out:
            faulthandler.dump_traceback(file=out, all_threads=True)
            out.seek(0)
            dump = out.read()
    finally:
        stop.set()
    report = busy_threads(dump)
    assert "in _spin" in report
    assert "Current thread" in report  # the dumping thread itself is busy
    assert report.count("Thread 0x") + report.count("Current thread") == 2
    assert report.endswith("(3 idle threads left out)")
