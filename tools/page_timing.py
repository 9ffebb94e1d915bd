"""Server-side timing of a page's reruns, for bench_inside.py and bench_kernels.py (not a benchmark itself).

A page runs under Streamlit's ``AppTest`` through a small wrapper script that times the page's own
run: wall time, and CPU time of the script's thread. AppTest reruns the *whole* page on every
interaction, where a browser reruns only the fragment holding the widget (issue 11, item 3), so these
times are an upper bound of what the server spends before the browser gets its answer. What the
browser adds (the websocket, Plotly drawing) is measured in Chromium by ``benchmarks/bench_ui.py``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parent.parent

_WRAPPER = """
import json, runpy, time
start, cpu = time.perf_counter(), time.thread_time()
try:
    runpy.run_path({page!r}, run_name="__main__")
finally:
    with open({log!r}, "a") as log:
        log.write(json.dumps({{"wall": time.perf_counter() - start, "cpu": time.thread_time() - cpu}}) + "\\n")
"""


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as ``/proc/loadavg`` gives them (``"n/a"`` elsewhere)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


class PageTimer:
    """One browser session on ``page`` (e.g. ``"pages/inside.py"``), each run timed.

    Use ``timer.app`` to set widgets as in an AppTest, then :meth:`run`.
    """

    def __init__(self, page: str, timeout_s: float = 600.0) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="cnnviz-bench-")
        folder = Path(self._folder.name)
        self._log = folder / "runs.jsonl"
        script = folder / "timed_page.py"
        script.write_text(_WRAPPER.format(page=str(REPO_ROOT / page), log=str(self._log)))
        self.app = AppTest.from_file(str(script), default_timeout=timeout_s)

    def run(self) -> tuple[float, float]:
        """Rerun the page; return (wall, CPU) seconds of the page's own script run. Raises on an exception shown."""
        self.app.run()
        if self.app.exception:
            raise RuntimeError(f"the page showed an exception: {[e.value for e in self.app.exception]}")
        lines = self._log.read_text().strip().splitlines()
        last = json.loads(lines[-1])
        return float(last["wall"]), float(last["cpu"])

    def close(self) -> None:
        self._folder.cleanup()


class Row:
    """Times of one measure, printed with its median, p95 and target."""

    def __init__(self, label: str, target_s: float | None = None, target_text: str = "") -> None:
        self.label, self.target_s, self.target_text = label, target_s, target_text
        self.walls: list[float] = []
        self.cpus: list[float] = []

    def add(self, wall: float, cpu: float = float("nan")) -> None:
        self.walls.append(wall)
        self.cpus.append(cpu)

    def line(self) -> str:
        walls = np.asarray(self.walls)
        p50, p95 = float(np.median(walls)), float(np.percentile(walls, 95))
        cpu = float(np.nanmedian(self.cpus)) if not np.all(np.isnan(self.cpus)) else float("nan")
        verdict = ""
        if self.target_s is not None:
            verdict = f"  target {self.target_text or f'p95 <= {self.target_s * 1000:.0f} ms'}: "
            verdict += "met" if p95 <= self.target_s else "MISSED"
        cpu_text = f" cpu {cpu * 1000:7.0f}" if cpu == cpu else " " * 12
        return (
            f"{self.label:<52} n={len(walls):<3} median {p50 * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms"
            f"{cpu_text} ms{verdict}"
        )

    @property
    def met(self) -> bool:
        return self.target_s is None or float(np.percentile(self.walls, 95)) <= self.target_s

