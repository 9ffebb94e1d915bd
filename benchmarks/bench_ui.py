"""How fast the studio answers in a real browser: Chromium (Playwright) against ``streamlit run app.py``.

Usage (from the repository root; needs Chromium at /usr/bin/chromium or $CHROMIUM_PATH)::

    python benchmarks/bench_ui.py                         # every row, 5 tries each (about 10 minutes)
    python benchmarks/bench_ui.py --tries 3 --only sketch,kernels

Prints each row of issue 11's targets table with the median and p95 of its tries beside its target, and writes a
JSON copy to ``test-artifacts/bench_ui.json``. Rows (``--only`` takes these names):

    train         click Train -> first progress, -> first epoch point, -> the finished message (default design)
    sketch        stroke released -> probabilities updated (Sketch)
    sketch_move   a drawing move -> probabilities updated while the mouse is still down
    kernels       kernel cell edited -> every map updated (Kernels)
    navigation    sidebar link -> page interactive, every page
    inside        Inside view change; Inside evaluation (first view); confusion-cell click -> its images
    sketch_load   stroke released -> probabilities, while two other tabs train

How it times: each action's start is the browser's own event (``click``, ``mouseup`` or ``keydown``
``event.timeStamp``), and its end is the first moment a watcher in the page (checking every 20 ms) sees the
expected element changed, not stale, and, where the row says "settled", Streamlit's script no longer running (the
``data-test-script-state`` of the app) for a short quiet spell (the end is the start of that spell). No sleeps.
One server is started for the run, with its own copy of the shipped models; TensorFlow is warmed up first
(one Sketch page load), so page loads are "first load once TensorFlow is warm".

The load average is printed at the start and the end: above the number of CPU cores, the figures are not
quiet-machine figures. The server's CPU seconds for each row are printed beside its wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tools.benchstats import summarise, verdict
from tools.browser import CHROMIUM_ARGS, chromium_path, open_page, wait_for_idle
from tools.streamlit_server import start_streamlit, stop_streamlit

REPO = Path(__file__).resolve().parents[1]

ARTIFACTS = REPO / "test-artifacts"
ROWS = ("train", "sketch", "sketch_move", "kernels", "navigation", "inside", "sketch_load")
LONG_MS = 300_000
#: A default run takes ~30 s on an idle 2-core machine; ten times that on a crowded one.
TRAINING_MS = 600_000
#: Every tab keeps running its timers at full speed: the watcher's 20 ms checks must not be throttled.
BENCH_ARGS = [*CHROMIUM_ARGS, "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
              "--disable-backgrounding-occluded-windows"]
#: The share link of the trainings that load the server in the last row: the default design for 30 epochs.
LOAD_TRAINING = "train?epochs=30"

# Installed in every tab. ``__bench.arm(types)`` remembers the timeStamp of the next event of one of ``types``
# (captured on window, before the app sees it); ``__bench.watch(snapshot, specs)`` evaluates ``snapshot`` now (the
# "before" state, as ``b``) and then every 20 ms each spec's ``test`` (a JS expression of ``b`` and the helpers
# ``H``); a spec's mark is the first moment its test held and kept holding for its ``quiet`` ms.
INIT_JS = r"""
(() => {
  const H = {
    app: () => document.querySelector('[data-testid="stApp"]'),
    idle: () => {
      const app = H.app();
      return app !== null && app.getAttribute('data-test-connection-state') === 'CONNECTED'
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector('[data-testid="stElementContainer"][data-stale="true"]') === null;
    },
    fresh: (el) => el !== null && el.closest('[data-stale="true"]') === null,
    plot: (selector) => document.querySelector(selector + ' .js-plotly-plot'),
    // A hash of every plotted array under ``selector`` (x, y, z of each trace; Plotly's base64 "bdata" included).
    fp: (selector) => {
      const plots = document.querySelectorAll(selector + ' .js-plotly-plot');
      if (plots.length === 0) { return null; }
      const text = JSON.stringify(Array.from(plots).map((gd) => (gd.data || []).map((t) => [t.x, t.y, t.z])));
      let hash = 2166136261;
      for (let i = 0; i < text.length; i += 1) { hash = Math.imul(hash ^ text.charCodeAt(i), 16777619); }
      return `${text.length}:${hash >>> 0}`;
    },
    text: (selector) => Array.from(document.querySelectorAll(selector)).filter(H.fresh)
      .map((el) => el.innerText).join('\n'),
  };
  window.__bench = {
    H, t0: null, marks: {},
    arm(types) {
      this.t0 = null;
      const handler = (event) => {
        if (this.t0 === null) { this.t0 = event.timeStamp; }
        for (const type of types) { window.removeEventListener(type, handler, true); }
      };
      for (const type of types) { window.addEventListener(type, handler, true); }
    },
    watch(snapshot, specs) {
      const b = snapshot ? new Function('H', 'return (' + snapshot + ');')(H) : null;
      const tests = specs.map((s) => ({name: s.name, quiet: s.quiet || 0,
                                      test: new Function('H', 'b', 'return (' + s.test + ');'), since: null}));
      const marks = {};
      this.marks = marks;
      clearInterval(this.timer);
      const tick = () => {
        const now = performance.now();
        for (const t of tests) {
          if (t.name in marks || this.t0 === null) continue;  // nothing counts before the action's event
          let ok = false;
          try { ok = Boolean(t.test(H, b)); } catch (error) { ok = false; }
          if (!ok) { t.since = null; continue; }
          if (t.since === null) { t.since = now; }
          if (now - t.since >= t.quiet) { marks[t.name] = t.since; }
        }
        if (Object.keys(marks).length === tests.length) { clearInterval(this.timer); }
      };
      this.timer = setInterval(tick, 20);
      tick();
      return b;
    },
  };
})();
"""


@dataclass
class Row:
    """One line of the table: what is timed, its target (seconds, on ``statistic``) and the tries."""

    key: str
    label: str
    target: str
    target_s: float | None
    statistic: str = "p95"
    samples: list[float] = field(default_factory=list)
    note: str = ""
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        summary = summarise(self.samples)
        return {"key": self.key, "label": self.label, "target": self.target, "statistic": self.statistic,
                "samples_s": [round(value, 3) for value in self.samples],
                "summary": summary.as_dict() if summary else None,
                "verdict": verdict(summary, self.target_s, statistic=self.statistic), "note": self.note,
                "row_wall_s": round(self.wall_s, 1), "server_cpu_s": round(self.server_cpu_s, 1), **self.extra}


class NotAvailable(Exception):
    """The page does not offer what a row measures (yet): the row prints 'not available' and why."""


# ---------------------------------------------------------------------------------------------
# Machine, server, browser
# ---------------------------------------------------------------------------------------------


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc; 0 where it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ready_child(server_pid: int) -> int | None:
    """The pid of the server's ready training child (``cnnviz.train.worker ... --warm``), or None."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == server_pid and b"cnnviz.train.worker" in command and b"--warm" in command:
            return int(entry.name)
    return None


def wait_for_ready_child(server_pid: int, timeout_s: float = 120.0) -> bool:
    """Wait until the server holds a warmed-up training child: one whose CPU time stood still for a second.

    A learner clicks Train after looking at the page; the warm worker (cnnviz.train.worker) is what makes that
    click fast, and it is started again in the background after each training. False if none was seen.
    """
    deadline = time.monotonic() + timeout_s
    still_since, last = None, None
    while time.monotonic() < deadline:
        pid = ready_child(server_pid)
        used = cpu_seconds(pid) if pid else None
        if pid and used == last:
            still_since = still_since or time.monotonic()
            if time.monotonic() - still_since >= 1.0:
                return True
        else:
            still_since = None
        last = used
        time.sleep(0.25)
    return False


@contextlib.contextmanager
def studio_server() -> Iterator[tuple[subprocess.Popen, str]]:
    """``streamlit run app.py`` on a free port with a temporary copy of the shipped models; the offline data."""
    workdir = Path(tempfile.mkdtemp(prefix="cnnviz-bench-ui-"))
    models = workdir / "models"
    models.mkdir()
    for shipped in (REPO / "models").glob("default_*"):
        shutil.copy2(shipped, models / shipped.name)
    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    shared = REPO.parent / "shared" / "data"
    if shared.is_dir() and "CNNVIZ_DATA_DIR" not in os.environ:
        env["CNNVIZ_DATA_DIR"] = str(shared)
    process = None
    try:
        process, url = start_streamlit(models, workdir / "streamlit.log", env=env, timeout_s=180)
        yield process, url
    finally:
        if process is not None:
            stop_streamlit(process)
        with contextlib.suppress(OSError):
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy2(workdir / "streamlit.log", ARTIFACTS / "bench_ui_server.log")
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def tab(browser) -> Iterator:
    """A tab in a fresh browser context (its own Streamlit session), with the timing helpers installed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(INIT_JS)
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.set_default_navigation_timeout(LONG_MS)  # a page load on a crowded machine can take minutes
        yield page
    finally:
        context.close()


def timed(page, snapshot: str | None, specs: list[dict], action: Callable[[], None], events: list[str],
          timeout_ms: int = 60_000) -> dict[str, float]:
    """Do ``action`` and return seconds from its browser event to each spec's mark (see INIT_JS)."""
    page.evaluate("([snapshot, specs]) => window.__bench.watch(snapshot, specs)", [snapshot, specs])
    page.evaluate("(types) => window.__bench.arm(types)", events)
    action()
    try:
        page.wait_for_function("(n) => Object.keys(window.__bench.marks).length >= n", arg=len(specs),
                               timeout=timeout_ms, polling=100)
    except Exception as error:  # noqa: BLE001 - say which marks were reached and what the page showed
        reached = page.evaluate("() => Object.keys(window.__bench.marks)")
        shown = " ".join(page.locator('[data-testid="stMain"]').first.inner_text().split())[:300]
        with contextlib.suppress(Exception):  # what the page looked like, to see why
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"bench_ui_timeout_{specs[0]['name']}.png"), full_page=True)
        raise RuntimeError(f"after {timeout_ms / 1000:.0f} s only {reached or 'no'} mark(s) of "
                           f"{[spec['name'] for spec in specs]}; the page showed: {shown}") from error
    t0, marks = page.evaluate("() => [window.__bench.t0, window.__bench.marks]")
    if t0 is None:
        raise RuntimeError(f"the action's event ({', '.join(events)}) never reached the page")
    return {name: (mark - t0) / 1000.0 for name, mark in marks.items()}


# ---------------------------------------------------------------------------------------------
# The rows
# ---------------------------------------------------------------------------------------------

DONE = r"/Run \d+ (finished \d+ epochs|stopped early after \d+ epochs)/"
ACCURACY = re.compile(r"Test accuracy ([\d.]+)%")


def bench_train(browser, url: str, server_pid: int, tries: int, rows: dict[str, Row]) -> None:
    # Method: a fresh tab opens /train (the default design on MNIST), waits for the server's warm child to be ready
    # (its CPU idle for 1 s), clicks Train; marks: the progress bar's "batch i/n" text or the running batch-loss
    # line (first progress), the loss chart's first training point (first epoch), the "Run N finished" message.
    progress = "/· batch \\d+\\/\\d+/.test(H.text('[data-testid=\"stProgress\"]')) || " \
               "((H.plot('[class*=\"st-key-train_live_loss_\"]') || {}).data || [])" \
               ".some((t) => t.name === 'running, batch by batch' && t.x && t.x.length > 0)"
    epoch = "((H.plot('[class*=\"st-key-train_live_loss_\"]') || {}).data || [])" \
            ".some((t) => t.name === 'training' && t.x && t.x.length > 0)"
    done = f"{DONE}.test(H.text('[data-testid=\"stAlert\"]'))"
    accuracies, children = [], []
    for _ in range(tries):
        with tab(browser) as page:
            open_page(page, url, "train", timeout_ms=LONG_MS)
            children.append(wait_for_ready_child(server_pid))
            button = page.get_by_role("button", name="Train", exact=True)
            marks = timed(page, None, [{"name": "progress", "test": progress}, {"name": "epoch", "test": epoch},
                                       {"name": "done", "test": done}],
                          button.click, ["click"], timeout_ms=TRAINING_MS)
            rows["train_progress"].samples.append(marks["progress"])
            rows["train_epoch"].samples.append(marks["epoch"])
            rows["train_done"].samples.append(marks["done"])
            message = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile("Run \\d+")).first
            found = ACCURACY.search(message.inner_text())
            accuracies.append(float(found.group(1)) if found else float("nan"))
            print(f"    train try: progress {marks['progress']:.2f} s, epoch {marks['epoch']:.2f} s, "
                  f"done {marks['done']:.1f} s, test accuracy {accuracies[-1]:.2f}%", flush=True)
    rows["train_done"].extra["test_accuracy_percent"] = accuracies
    rows["train_done"].note = "test accuracy " + ", ".join(f"{value:.2f}%" for value in accuracies)
    if not all(children):
        rows["train_progress"].note = f"no warmed-up training child seen before {children.count(False)} click(s)"


CANVAS = "canvas.upper-canvas"  # Fabric.js's top canvas takes the pointer events
ONE = [(140, 40 + 10 * k) for k in range(21)]
SKETCH_UPDATED = "H.fresh(document.querySelector('.st-key-sketch_probabilities .js-plotly-plot')) && " \
                 "/Prediction:/.test(H.text('h3'))"


def _stroke_down(page, points: list[tuple[float, float]]) -> tuple[float, float]:
    box = page.locator(CANVAS).first.bounding_box()
    if box is None:
        raise RuntimeError("the drawing canvas is not on the Sketch page")
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    return box["x"], box["y"]


def _clear_canvas(page) -> None:
    page.get_by_role("button", name="Clear the canvas", exact=True).first.click()
    page.get_by_text("Draw a digit on the canvas").wait_for(timeout=LONG_MS)
    wait_for_idle(page, LONG_MS)


def _sketch_tries(page, tries: int, row: Row, settled: Row | None = None) -> None:
    """Clear, draw a '1' and time mouse-up -> probabilities (and -> settled), ``tries`` times."""
    for _ in range(tries):
        _clear_canvas(page)
        _stroke_down(page, ONE)
        marks = timed(page, None, [{"name": "updated", "test": SKETCH_UPDATED},
                                   {"name": "settled", "test": f"({SKETCH_UPDATED}) && H.idle()", "quiet": 300}],
                      page.mouse.up, ["mouseup"], timeout_ms=LONG_MS)
        row.samples.append(marks["updated"])
        if settled is not None:
            settled.samples.append(marks["settled"])


def open_sketch(page, url: str) -> None:
    open_page(page, url, "sketch", timeout_ms=LONG_MS)
    page.get_by_text("Draw a digit on the canvas").wait_for(timeout=LONG_MS)
    page.locator(CANVAS).first.wait_for()


def bench_sketch(browser, url: str, tries: int, rows: dict[str, Row]) -> None:
    # Method: after one untimed first drawing, Clear then draw a '1'; from mouse-up to the "Prediction:" heading
    # and a fresh (not stale) probability chart; "settled" also waits for the script to stop for 300 ms.
    with tab(browser) as page:
        open_sketch(page, url)
        first = Row("first", "", "", None)
        _sketch_tries(page, 1, first)
        rows["sketch"].extra["first_drawing_s"] = round(first.samples[0], 3)
        _sketch_tries(page, tries, rows["sketch"], rows["sketch_settled"])


#: Probabilities shown during a stroke: a fresh element saying "while drawing" with numbers in it, whose text no
#: element had when the stroke began (a caption explaining the feature is there before; the probabilities are not).
WHILE_DRAWING_NOW = "Array.from(document.querySelectorAll('[data-testid=\"stMain\"] " \
                    "[data-testid=\"stElementContainer\"]')).filter((el) => H.fresh(el) " \
                    "&& /while drawing/i.test(el.innerText) && /\\d/.test(el.innerText)).map((el) => el.innerText)"
WHILE_DRAWING = f"({WHILE_DRAWING_NOW}).some((text) => !b.includes(text))"


def bench_sketch_move(browser, url: str, tries: int, rows: dict[str, Row]) -> None:
    # Method: press the mouse and draw half a '1'; from the first move after that (mousemove) to a new "While
    # drawing: <class> (<p>%)" line, fresh, while the mouse is still down; then release. Cleared between tries.
    row = rows["sketch_move"]
    with tab(browser) as page:
        open_sketch(page, url)
        for attempt in range(tries + 1):
            _clear_canvas(page)
            x0, y0 = _stroke_down(page, ONE[:2])
            snapshot = WHILE_DRAWING_NOW
            specs = [{"name": "updated", "test": WHILE_DRAWING}]
            page.evaluate("([snapshot, specs]) => window.__bench.watch(snapshot, specs)", [snapshot, specs])
            page.evaluate("(types) => window.__bench.arm(types)", ["mousemove"])
            for x, y in ONE[2:12]:
                page.mouse.move(x0 + x, y0 + y, steps=2)
            try:
                page.wait_for_function("() => Object.keys(window.__bench.marks).length >= 1",
                                       timeout=60_000 if attempt == 0 else LONG_MS, polling=100)
            except Exception as error:  # noqa: BLE001 - no such element: the page does not predict while drawing
                page.mouse.up()
                if attempt == 0:
                    raise NotAvailable("the Sketch page showed no 'while drawing' probabilities during a 60 s "
                                       "stroke (predict-while-drawing is not on this page)") from error
                raise
            t0, marks = page.evaluate("() => [window.__bench.t0, window.__bench.marks]")
            page.mouse.up()
            if attempt > 0:  # the first one warms the path up
                row.samples.append((marks["updated"] - t0) / 1000.0)


def _kernel_cell(page, row: int, col: int) -> tuple[float, float]:
    """The centre of kernel 1's grid cell (``row``, ``col``), from the grid's box (35 px rows under a header)."""
    grid = page.locator('[class*="st-key-kernel_grid_0_"] [data-testid="stDataFrameResizable"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    if box is None:
        raise RuntimeError("kernel 1's grid is not on the Kernels page")
    columns = 3
    return box["x"] + box["width"] * (col + 0.5) / columns, box["y"] + 35 * (row + 1) + 17


def bench_kernels(browser, url: str, tries: int, rows: dict[str, Row]) -> None:
    # Method: click kernel 1's top-left cell, type a new weight, press Enter; from the Enter keydown until the
    # pipeline's maps and the explained output map both changed (their plotted numbers), fresh, and the script
    # stopped for 300 ms. Values alternate so each edit changes the maps; the first edit is not timed.
    snapshot = "({pipe: H.fp('.st-key-kernels_pipeline_plot'), conv: H.fp('.st-key-kernels_conv_chart')})"
    test = ("H.fp('.st-key-kernels_pipeline_plot') !== b.pipe && H.fp('.st-key-kernels_conv_chart') !== b.conv "
            "&& H.fresh(H.plot('.st-key-kernels_pipeline_plot')) && H.idle()")
    row = rows["kernels"]
    with tab(browser) as page:
        open_page(page, url, "kernels", timeout_ms=LONG_MS)
        lost = 0
        for attempt in range(tries + 1):
            for retry in range(2):  # an edit the grid never committed (a click lost in a busy page) is typed again
                wait_for_idle(page, LONG_MS)
                x, y = _kernel_cell(page, 0, 0)
                page.mouse.click(x, y)
                page.keyboard.type(str(3 + attempt % 2))  # 3, 4, 3, ... (the preset has 2 there)
                try:
                    marks = timed(page, snapshot, [{"name": "updated", "test": test, "quiet": 300}],
                                  lambda: page.keyboard.press("Enter"), ["keydown"],
                                  timeout_ms=120_000 if retry == 0 else LONG_MS)
                    break
                except RuntimeError:
                    if retry == 1:
                        raise
                    lost += 1
                    page.keyboard.press("Escape")
            if attempt > 0:
                row.samples.append(marks["updated"])
        if lost:
            row.note = f"{lost} edit(s) showed no change within 120 s and were typed again (timed from the retry)"


def bench_navigation(browser, url: str, tries: int, rows: dict[str, Row]) -> None:
    # Method: a fresh tab opens Home, then clicks each page's sidebar link in turn (and Home last); from the click
    # until the URL is the page's, its title (h1) is there and the script stopped for 800 ms (the e2e tests'
    # "idle"). Try 1 is each page's first load on this server (TensorFlow already warm).
    from cnnviz.ui.pages import PAGES

    order = [*PAGES[1:], PAGES[0]]
    per_page: dict[str, list[float]] = {info.title: [] for info in order}
    row = rows["navigation"]
    for _ in range(tries):
        with tab(browser) as page:
            open_page(page, url, "", timeout_ms=LONG_MS)
            for info in order:
                path = Path(info.path).stem
                expected = "/" if path == "home" else f"/{path}"
                test = (f"location.pathname.replace(/\\/$/, '') === '{expected}'.replace(/\\/$/, '') "
                        f"&& H.fresh(document.querySelector('h1')) && H.idle()")
                link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=info.title).first
                marks = timed(page, None, [{"name": "ready", "test": test, "quiet": 800}], link.click, ["click"],
                              timeout_ms=LONG_MS)
                per_page[info.title].append(marks["ready"])
                row.samples.append(marks["ready"])
    row.extra["per_page_s"] = {title: [round(value, 3) for value in values] for title, values in per_page.items()}
    row.extra["first_load_s"] = {title: round(values[0], 3) for title, values in per_page.items() if values}
    slowest = max(per_page, key=lambda title: max(per_page[title]))
    row.note = (f"first loads {', '.join(f'{t} {v[0]:.1f}' for t, v in per_page.items())} s; "
                f"slowest page {slowest}")


def _section_button(page, name: str):
    return page.locator(".st-key-inside_section").get_by_role("radio", name=name, exact=True)


SECTION_MARKERS = {"Feature maps": '[class*="st-key-inside_fm_"]', "Filters": ".st-key-inside_filters",
                   "Evaluation": ".st-key-inside_confusion"}


def _section_shown(name: str) -> str:
    others = " && ".join(f"document.querySelector('{marker}') === null"
                         for section, marker in SECTION_MARKERS.items() if section != name)
    return f"H.fresh(document.querySelector('{SECTION_MARKERS[name]}')) && {others} && H.idle()"


def bench_inside(browser, url: str, tries: int, rows: dict[str, Row]) -> None:
    # Method: the shipped MNIST model on /inside; click "Filters" / "Feature maps" in turn (the "Look at" control):
    # from the click until that section's element is there, the other's gone, and the script stopped for 300 ms.
    # Then "Evaluation" once (its first view computes the test split), then a diagonal confusion-matrix cell each
    # try: from the click until "N test images of d predicted as d" is shown and the script stopped for 300 ms.
    with tab(browser) as page:
        open_page(page, url, "inside", timeout_ms=LONG_MS)
        for attempt in range(tries + 1):
            name = ("Filters", "Feature maps")[attempt % 2]
            marks = timed(page, None, [{"name": "shown", "test": _section_shown(name), "quiet": 300}],
                          _section_button(page, name).click, ["click"], timeout_ms=LONG_MS)
            if attempt > 0:
                rows["inside_view"].samples.append(marks["shown"])
        marks = timed(page, None, [{"name": "shown", "test": _section_shown("Evaluation"), "quiet": 300}],
                      _section_button(page, "Evaluation").click, ["click"], timeout_ms=LONG_MS)
        rows["inside_evaluation"].samples.append(marks["shown"])
        plot = page.locator(".st-key-inside_confusion .js-plotly-plot")
        for attempt in range(tries + 1):
            cell = 1 + attempt % 9
            plot.scroll_into_view_if_needed()
            wait_for_idle(page, LONG_MS)
            position = plot.evaluate(
                """(gd, cell) => ({x: gd._fullLayout.xaxis._offset + gd._fullLayout.xaxis.l2p(cell),
                                   y: gd._fullLayout.yaxis._offset + gd._fullLayout.yaxis.l2p(cell)})""", cell)
            plot.hover(position=position)
            shown = (f"/test images of {cell} predicted as {cell} \\(correct\\)/.test(H.text('[data-testid=\"stMain\"] "
                     f"[data-testid=\"stMarkdownContainer\"]')) && H.idle()")
            marks = timed(page, None, [{"name": "shown", "test": shown, "quiet": 300}],
                          lambda position=position: plot.click(position=position), ["mouseup"], timeout_ms=LONG_MS)
            if attempt > 0:
                rows["inside_cell"].samples.append(marks["shown"])


def bench_sketch_load(browser, url: str, tries: int, rows: dict[str, Row]) -> None:
    # Method: two other tabs open the share link /train?epochs=30 (the default design, 30 epochs) and click Train;
    # once the first one shows batch progress, the Sketch row's tries run (Clear, draw, mouse-up -> probabilities);
    # then both trainings are stopped (Stop; Leave the queue for a queued one).
    row = rows["sketch_load"]
    with tab(browser) as first, tab(browser) as second, tab(browser) as sketch:
        for trainer in (first, second):
            open_page(trainer, url, LOAD_TRAINING, timeout_ms=LONG_MS)
            trainer.get_by_role("button", name="Train", exact=True).click()
        first.get_by_text(re.compile(r"· batch \d+/\d+")).first.wait_for(timeout=LONG_MS)
        # Wait until the second tab says where its training stands (queued, or running) before reading it.
        second.get_by_text(re.compile(r"waits in the queue|· batch \d+/\d+")).first.wait_for(timeout=LONG_MS)
        queued = second.get_by_text(re.compile("waits in the queue")).count() > 0
        row.note = ("one training ran and one waited in the server's queue (it trains one job at a time)"
                    if queued else "both trainings had started")
        open_sketch(sketch, url)
        _sketch_tries(sketch, 1, Row("warm", "", "", None))
        _sketch_tries(sketch, tries, row)
        still = [trainer for trainer in (first, second)
                 if trainer.get_by_text(re.compile(r"· batch \d+/\d+|waits in the queue")).count()]
        row.extra["trainings_still_running_at_the_end"] = len(still)
        for trainer in (first, second):
            for name in ("Stop", "Leave the queue"):
                button = trainer.get_by_role("radio", name=name, exact=True)
                if button.count():
                    with contextlib.suppress(Exception):
                        button.first.click(timeout=10_000)


def all_rows() -> dict[str, Row]:
    rows = [
        Row("train_progress", "click Train -> first progress", "<= 1.0 s", 1.0),
        Row("train_epoch", "click Train -> first epoch point (default design)", "<= 3.5 s", 3.5),
        Row("train_done", "default run, click -> done", "<= 25 s, >= 98.0% each", 25.0, "max"),
        Row("sketch", "stroke released -> probabilities", "p95 <= 300 ms", 0.3),
        Row("sketch_settled", "  same, until the page settled", "-", None),
        Row("sketch_move", "a drawing move -> probabilities (while drawing)", "-", None),
        Row("kernels", "kernel cell edit -> all maps updated", "p95 <= 500 ms", 0.5),
        Row("navigation", "page switch -> interactive (every page)", "<= 1.5 s", 1.5, "max"),
        Row("inside_view", "Inside view change", "p95 <= 500 ms", 0.5),
        Row("inside_cell", "Inside confusion-cell click", "p95 <= 500 ms", 0.5),
        Row("inside_evaluation", "Inside evaluation, 2,000 images (first view)", "<= 3 s idle", 3.0, "max"),
        Row("sketch_load", "stroke released -> probabilities, 2 tabs train", "p95 <= 800 ms", 0.8),
    ]
    return {row.key: row for row in rows}


#: Which table rows each ``--only`` name fills.
FILLS = {"train": ("train_progress", "train_epoch", "train_done"), "sketch": ("sketch", "sketch_settled"),
         "sketch_move": ("sketch_move",), "kernels": ("kernels",), "navigation": ("navigation",),
         "inside": ("inside_view", "inside_cell", "inside_evaluation"), "sketch_load": ("sketch_load",)}


def print_table(rows: list[Row]) -> None:
    print(f"\n{'measure':<50}{'n':>3}{'median':>9}{'p95':>9}  {'target':<26}{'':<5} note")
    for row in rows:
        summary = summarise(row.samples)
        if summary is None:
            print(f"{row.label:<50}{'':>3}{'':>9}{'':>9}  {row.target:<26}{'':<5} {row.note or 'not measured'}")
            continue
        mark = verdict(summary, row.target_s, statistic=row.statistic)
        print(f"{row.label:<50}{summary.count:>3}{summary.median:>8.2f}s{summary.p95:>8.2f}s  {row.target:<26}"
              f"{mark:<5} {row.note}")


def write_json(arguments: argparse.Namespace, argv: list[str] | None, done: list[str], rows: dict[str, Row],
               started_load: tuple[float, ...], ended_load: tuple[float, ...]) -> Path:
    """Write the rows measured so far to test-artifacts/bench_ui.json (after every row: a crash keeps the rest)."""
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / "bench_ui.json"
    out.write_text(json.dumps({
        "command": " ".join(["python", "benchmarks/bench_ui.py", *(argv if argv is not None else sys.argv[1:])]),
        "when": datetime.now(UTC).isoformat(timespec="minutes"), "cpus": os.cpu_count(), "tries": arguments.tries,
        "load_average_start": started_load, "load_average_end": ended_load,
        "rows": [rows[key].as_dict() for name in done for key in FILLS[name]]}, indent=2))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=5, help="timed tries per row (at least 5 for the table)")
    parser.add_argument("--only", default="", help=f"comma-separated rows to run, of: {', '.join(ROWS)}")
    arguments = parser.parse_args(argv)
    chosen = [name.strip() for name in arguments.only.split(",") if name.strip()] or list(ROWS)
    unknown = sorted(set(chosen) - set(ROWS))
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    if arguments.tries < 1:
        parser.error("--tries must be at least 1")
    chromium = chromium_path()
    if chromium is None:
        print("Chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH).", file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright

    cores = os.cpu_count() or 1
    started_load = load_average()
    print(f"load average at start {started_load} on {cores} CPU cores", flush=True)
    if started_load[0] > cores:
        print(f"WARNING: the load average ({started_load[0]}) is above the {cores} cores: these are not "
              "quiet-machine figures.", flush=True)
    rows = all_rows()
    benches = {"train": bench_train, "sketch": bench_sketch, "sketch_move": bench_sketch_move,
               "kernels": bench_kernels, "navigation": bench_navigation, "inside": bench_inside,
               "sketch_load": bench_sketch_load}
    began = time.monotonic()
    with studio_server() as (server, url), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=BENCH_ARGS)
        with tab(browser) as page:  # TensorFlow and the shipped model loaded once, as after any first visit
            open_sketch(page, url)
        for name in chosen:
            print(f"== {name}", flush=True)
            wall, cpu = time.monotonic(), cpu_seconds(server.pid)
            try:
                if name == "train":
                    bench_train(browser, url, server.pid, arguments.tries, rows)
                else:
                    benches[name](browser, url, arguments.tries, rows)
            except NotAvailable as reason:
                for key in FILLS[name]:
                    rows[key].note = f"not available: {reason}"
            except Exception as error:  # noqa: BLE001 - one broken row must not lose the others' figures
                for key in FILLS[name]:
                    rows[key].note = f"FAILED: {type(error).__name__}: {str(error).splitlines()[0][:160]}"
                print(f"   {name} failed: {error}", flush=True)
            for key in FILLS[name]:
                rows[key].wall_s = time.monotonic() - wall
                rows[key].server_cpu_s = cpu_seconds(server.pid) - cpu
            print(f"   {time.monotonic() - wall:.0f} s wall, server {cpu_seconds(server.pid) - cpu:.0f} CPU-s, "
                  f"load {load_average()[0]}", flush=True)
            write_json(arguments, argv, chosen[: chosen.index(name) + 1], rows, started_load, load_average())
        browser.close()
    ended_load = load_average()
    print_table([rows[key] for name in chosen for key in FILLS[name]])
    print(f"\nload average at start {started_load}, at end {ended_load}, {cores} CPU cores; "
          f"{time.monotonic() - began:.0f} s in all")
    if max(started_load[0], ended_load[0]) > cores:
        print("WARNING: the load average was above the core count: these are not quiet-machine figures.")
    out = write_json(arguments, argv, chosen, rows, started_load, ended_load)
    print(f"Written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
