"""Classroom load test: a class of Chromium sessions against one ``streamlit run`` server, per training backend.

Usage (from the repository root; needs Chromium at /usr/bin/chromium or $CHROMIUM_PATH)::

    python benchmarks/load_test.py                          # local backend: 12 sessions, 8 of them training
    python benchmarks/load_test.py --backend ray            # the same on a local Ray cluster (2 workers, 2 CPUs)
    python benchmarks/load_test.py --sessions 3 --trainings 1 --trainings-in-a-row 0   # a quick try

Phase 1, a classroom at once (``--sessions`` browser sessions, default 12):
  * ``--trainings`` of them (default 8) each train the default CNN for ``--epochs`` (2) on ``--images`` (2,000)
    MNIST images, opened from a share link; they queue (the fair queue of ``cnnviz.train.jobs``). Each
    training's end is read from the Train page: finished (its duration, and "It first waited N s" for the
    queue), refused ("Training did not start." with the queue's message) or failed (its one-line message).
    A training with none of these within the time limit is *lost*: the run fails.
  * the others alternate: one sketches a digit on the Sketch page again and again and times each prediction
    while the trainings run ("a sketch still answers within a few seconds"); the next uses the Kernel
    playground (presets, again and again while the trainings run); and so on.
  Every session must finish without a Streamlit exception box.

Backends: ``--backend local`` (the default) trains in the server's child process, one at a time
(``CNNVIZ_LOCAL_WORKERS``). ``--backend ray`` starts a throwaway local Ray head with ``--ray-cpus`` (2) CPUs
for this run (``tools/ray_cluster.py``: local-only, token authentication, its own temp folder), points
the server at it with ``CNNVIZ_RAY_ADDRESS`` (each training reserves ``CNNVIZ_RAY_CPUS=1``, so two Ray workers
train at once) and stops that cluster's own process group afterwards (never ``ray stop``).

Memory is sampled every 0.2 s from /proc (Linux): the server's peak (VmHWM), and the training workers' peak,
one process and all at one instant: the local backend's ``cnnviz.train.worker`` children of the server, or the
Ray cluster's worker processes (``ray::...`` processes in the cluster's session).

Phase 2 (``--trainings-in-a-row``, default 20; 0 skips it): one session trains that many times in a row (one
epoch on ``--row-dataset``, default the built-in digits); the server's resident memory (VmRSS) is read after
every training. Memory is "bounded" when the last trainings add less than ``--max-growth-mb`` over the 5th.

Phase 3 (``--full-queue-sessions``, default 4; 0 skips it): a second server whose queue holds
``--full-queue-limit`` (1) waiting jobs; that many sessions click Train at once (one epoch on ``--row-dataset``).
Those beyond the running and the waiting jobs must be refused with the queue's message ("The training queue is
full ..."), the others finish: it reports finished / refused (with the message) / failed / lost.

Figures are printed and written to ``test-artifacts/load_test_<backend>.json`` (read by
``tools/reliability_report.py``). Exit status 1 if any session failed, a training was lost, or memory was unbounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from tools.browser import CHROMIUM_ARGS, IDLE_JS, QUIET_MS, RESET_IDLE_JS, chromium_path
from tools.streamlit_server import start_streamlit, stop_streamlit

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
APP = '[data-testid="stApp"]'
LONG_MS = 600_000
#: The dataset names of the share links and the picker's titles.
TITLES = {"digits": "scikit-learn digits (built in)", "mnist": "MNIST handwritten digits",
          "fashion_mnist": "Fashion-MNIST", "kmnist": "Kuzushiji-MNIST"}


# ---------------------------------------------------------------------------------------------
# Server, Ray cluster, memory
# ---------------------------------------------------------------------------------------------


def start_server(models_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` with its own models folder and the offline data, wait until healthy."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", **(extra_env or {})}
    shared = REPO.parent / "shared" / "data"
    if shared.is_dir() and "CNNVIZ_DATA_DIR" not in os.environ:
        env["CNNVIZ_DATA_DIR"] = str(shared)
    return start_streamlit(models_dir, log_path, env=env, timeout_s=180)


@contextlib.contextmanager
def backend_environment(backend: str, ray_cpus: int) -> Iterator[tuple[dict[str, str], Path | None]]:
    """The server's extra environment for ``backend``, and the Ray cluster's temp folder (``None`` for local).

    For ``ray``, a local head of :func:`tools.ray_cluster.running_ray_cluster` runs meanwhile (the same
    throwaway cluster the tests use: local-only, token authentication, its own folder); on the way out its own
    process group is stopped, nothing else.
    """
    if backend == "local":
        yield {"CNNVIZ_RAY_ADDRESS": ""}, None
        return
    from tools.ray_cluster import running_ray_cluster

    with running_ray_cluster(num_cpus=ray_cpus) as cluster:
        folder = cluster.log_path.parent if cluster.log_path is not None else None
        yield {**cluster.env, "CNNVIZ_RAY_CPUS": "1"}, folder


def memory_mb(pid: int) -> dict[str, float]:
    """Resident (VmRSS) and peak resident (VmHWM) memory of a process, in MB (Linux /proc)."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024.0
    return values


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, its threads included (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes() -> Iterator[tuple[int, list[str], bytes]]:
    """``(pid, fields of /proc/PID/stat after the name, cmdline)`` of every process we may read."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            yield int(entry.name), stat, (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue


def local_worker_pids(server_pid: int) -> list[int]:
    """The local backend's training processes: ``cnnviz.train.worker`` children of the server."""
    return [pid for pid, stat, cmdline in _processes()
            if int(stat[1]) == server_pid and b"cnnviz.train.worker" in cmdline]


def ray_worker_finder(folder: Path) -> Callable[[int], list[int]]:
    """A function returning the Ray cluster's worker processes (``ray::...``) in the session of its head.

    ``ray start`` ran in a new session (``start_new_session``); its raylet names the cluster's temp folder on its
    command line, so the session id is read from it; every worker process (``ray::IDLE``, ``ray::_RayTrainer``...)
    of that session counts. Other Ray clusters on the machine have other sessions.
    """
    marker = str(folder).encode()
    session: list[int] = []

    def find(_server_pid: int) -> list[int]:
        if not session:
            session.extend(int(stat[3]) for _, stat, cmdline in _processes() if marker in cmdline)
        if not session:
            return []
        return [pid for pid, stat, cmdline in _processes()
                if int(stat[3]) == session[0] and cmdline.startswith(b"ray::")]

    return find


async def sample_peak_memory(server_pid: int, workers: Callable[[int], list[int]], peaks: dict[str, float],
                             stop: asyncio.Event, worker_cpu: dict[int, float] | None = None) -> None:
    """Until ``stop``: the peak of one training worker, of all workers at one instant, and of server plus workers.

    ``worker_cpu``, when given, gets every worker process's CPU seconds as last seen (a worker ends after its job:
    the sum over them is the CPU the trainings took, to within one sample of 0.2 s per process).
    """
    while not stop.is_set():
        sizes = []
        for pid in workers(server_pid):
            with contextlib.suppress(OSError, KeyError):
                sizes.append(memory_mb(pid)["VmRSS"])
            if worker_cpu is not None:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    worker_cpu[pid] = cpu_seconds(pid)
        with contextlib.suppress(OSError, KeyError):
            server = memory_mb(server_pid)["VmRSS"]
            peaks["server"] = max(peaks.get("server", 0.0), server)
            peaks["server_plus_workers"] = max(peaks.get("server_plus_workers", 0.0), server + sum(sizes))
        peaks["one_worker"] = max(peaks.get("one_worker", 0.0), max(sizes, default=0.0))
        peaks["all_workers"] = max(peaks.get("all_workers", 0.0), sum(sizes))
        peaks["most_workers_at_once"] = max(peaks.get("most_workers_at_once", 0), len(sizes))
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.2)
        except TimeoutError:
            pass


# ---------------------------------------------------------------------------------------------
# Browser helpers (async Playwright)
# ---------------------------------------------------------------------------------------------


async def wait_for_idle(page, timeout_ms: int = LONG_MS) -> None:
    """The same idle rule as the e2e tests (tests/e2e/helpers.wait_for_idle), for async Playwright."""
    await page.wait_for_selector(f'{APP}[data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    await page.evaluate(RESET_IDLE_JS)
    await page.wait_for_function(IDLE_JS, arg=QUIET_MS, timeout=timeout_ms, polling=100)


async def open_page(page, url: str, path: str) -> None:
    """Open ``path`` and wait until the app is idle, however long a busy server takes.

    Only the navigation's first response is awaited, not the page's ``load`` event: twelve tabs fetching
    Streamlit's scripts at once from a server on two cores shared with other work (load average 20-30) did not
    reach ``load`` within 120 s, and every session of a run failed before it began. The app being idle is the
    sign that matters (:func:`wait_for_idle`).
    """
    await page.goto(f"{url}/{path}", wait_until="commit", timeout=LONG_MS)
    await wait_for_idle(page)


async def exceptions_on(page) -> int:
    return await page.locator('[data-testid="stException"]').count()


async def choose(page, selectbox: str, option: str, attempts: int = 4) -> bool:
    """Open a select box and pick ``option``; retried because a rerun under load can close the list."""
    for _ in range(attempts):
        await wait_for_idle(page)
        try:
            await page.locator(selectbox).first.click(timeout=60_000)
            choice = page.get_by_role("option", name=option, exact=True)
            await choice.click(timeout=20_000)
            await wait_for_idle(page)
            return True
        except Exception:  # noqa: BLE001 - a busy page closed the list: try again
            await page.keyboard.press("Escape")
    return False


@contextlib.asynccontextmanager
async def browser_tab(browser) -> AsyncIterator:
    """A tab in a fresh browser context (its own Streamlit session), closed on the way out."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        page.set_default_timeout(300_000)  # two shared cores, twelve sessions and other work: be patient
        watch_browser_events(page)
        yield page
    finally:
        await context.close()


#: What the browser said about a tab (console errors, uncaught page errors, a crashed renderer, closed websockets),
#: kept per page for :func:`evidence`: a blank page has no text to read, these say why it went blank.
BROWSER_EVENTS: dict[int, list[str]] = {}


def watch_browser_events(page) -> None:
    """Record ``page``'s console errors, page errors, renderer crash and websocket closes (at most 50, cut)."""
    events = BROWSER_EVENTS.setdefault(id(page), [])
    origin = time.monotonic()

    def note(text: str) -> None:
        if len(events) < 50:
            events.append(f"{time.monotonic() - origin:7.1f} s {text[:400]}")

    page.on("console", lambda message: note(f"console.{message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: note(f"pageerror: {error}"))
    page.on("crash", lambda _page: note("renderer crashed"))
    page.on("websocket", lambda socket: socket.on("close", lambda _socket: note(f"websocket closed: {socket.url}")))


async def set_slider(page, key: str, presses: list[str]) -> None:
    await wait_for_idle(page)
    thumb = page.locator(f".st-key-{key} input[type='range']")
    for _ in range(600):  # a rerun may still show the stale copy of a moved slider beside the new one
        if await thumb.count() == 1:
            break
        await page.wait_for_timeout(100)
    await thumb.focus()
    for press in presses:
        await thumb.press(press)
    await wait_for_idle(page)


async def configure_training(page, dataset_title: str, epochs: int) -> None:
    if not await choose(page, ".st-key-train_dataset [data-testid='stSelectbox']", dataset_title):
        raise RuntimeError(f"could not choose {dataset_title} on the Train page")
    await set_slider(page, "train_blocks", ["Home"])
    await set_slider(page, "train_epochs", ["Home", *["ArrowRight"] * (epochs - 1)])


async def train_once(page, run_number: int) -> tuple[float, bool]:
    """Click Train and wait for run ``run_number`` to finish; return (seconds, whether it queued)."""
    started = time.monotonic()
    await page.get_by_role("button", name="Train", exact=True).click()
    queued = False
    done = page.get_by_text(re.compile(rf"Run {run_number} (finished|stopped)"))
    waiting = page.get_by_text(re.compile("waits in the queue"))  # the Train page's line for a queued job
    while time.monotonic() - started < LONG_MS / 1000:
        if await waiting.count():
            queued = True
        if await done.count():
            break
        await page.wait_for_timeout(500)
    else:
        raise TimeoutError(f"run {run_number} did not finish")
    await wait_for_idle(page)
    return time.monotonic() - started, queued


# ---------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------

#: The Train page's end of a job, as its outcome message says it (cnnviz.train.session): every ended job's
#: message names the backend that ran it ("Trained by ..."); a refused submit says "Training did not start.";
#: a job that ended before any run (dropped from the queue, failed to start) says so without a backend, and a run the
#: server forgot (cnnviz.train.session.wrap_up_interrupted) is "Run N stopped ..." without one.
ENDED = re.compile(r"Trained by |Training did not start\.|left the queue|could not run|Run \d+ (was )?stopped")
FINISHED = re.compile(r"Run \d+ (finished \d+ epochs in (\d+) s|stopped early after \d+ epochs)")
WAITED = re.compile(r"It first waited (\d+) s")


async def evidence(page, name: str) -> dict:
    """What a stuck page shows (its main area's and sidebar's text, cut), and a screenshot in test-artifacts/."""
    found: dict = {"browser_events": BROWSER_EVENTS.get(id(page), [])[-20:], "url": page.url}
    with contextlib.suppress(Exception):
        found["app_state"] = await page.evaluate(
            "() => { const a = document.querySelector('[data-testid=\"stApp\"]'); return a === null ? "
            "'no stApp element; body: ' + document.body.innerHTML.length + ' chars' : "
            "a.getAttribute('data-test-connection-state') + ' / ' + a.getAttribute('data-test-script-state'); }")
    for part, selector in (("page_text", '[data-testid="stMain"]'), ("sidebar_text", '[data-testid="stSidebar"]')):
        with contextlib.suppress(Exception):
            found[part] = " ".join((await page.locator(selector).first.inner_text(timeout=10_000)).split())[:1500]
    with contextlib.suppress(Exception):
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"load_test_stuck_{name}.png"
        await page.screenshot(path=str(shot), full_page=True, timeout=30_000)
        found["screenshot"] = str(shot.relative_to(REPO))
    return found


class StartLine:
    """Where the training sessions wait until all of them have their Train page open (or gave up opening it)."""

    def __init__(self, count: int, timeout_s: float = 300.0) -> None:
        self.left, self.timeout_s, self.event = count, timeout_s, asyncio.Event()

    def arrive(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.event.set()

    async def wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), self.timeout_s)


async def training_session(browser, url: str, name: str, dataset: str, epochs: int, images: int,
                           training_done: asyncio.Event, start_together: StartLine, timeout_s: float) -> dict:
    """Open the Train page from a share link, click Train with the others, follow the job to its end on the page."""
    record: dict = {"name": name, "task": f"train {epochs} epochs on {images} {TITLES[dataset]} images"}
    try:
        async with browser_tab(browser) as page:
            try:
                await open_page(page, url, f"train?data={dataset}&epochs={epochs}&n={images}")
            finally:
                start_together.arrive()
            await start_together.wait()  # the class clicks Train at (about) the same moment
            clicked = time.monotonic()
            await page.get_by_role("button", name="Train", exact=True).click()
            running = page.get_by_text(re.compile(r"^Training .+ on .+, on "))  # the live fragment's first line
            waiting = page.get_by_text(re.compile("waits in the queue"))
            ended = page.get_by_text(ENDED)
            seen_queued = seen_running = None
            while time.monotonic() - clicked < timeout_s:
                if seen_queued is None and await waiting.count():
                    seen_queued = time.monotonic() - clicked
                if seen_running is None and await running.count():
                    seen_running = time.monotonic() - clicked
                if await ended.count():
                    break
                await page.wait_for_timeout(250)
            else:
                record.update(result=f"LOST: no end on the page in {timeout_s:.0f} s", outcome="lost",
                              seconds=time.monotonic() - clicked,
                              seen_queued_after_s=seen_queued, seen_running_after_s=seen_running,
                              **await evidence(page, name))
                return record
            record["seconds"] = time.monotonic() - clicked  # click to the end on the page
            message = " ".join((await ended.first.inner_text()).split())
            record["message"] = message
            finished, waited = FINISHED.search(message), WAITED.search(message)
            if finished:
                record["outcome"] = "finished"
                record["training_s"] = float(finished.group(2)) if finished.group(2) else None
            elif "Training did not start." in message:
                record["outcome"] = "refused"
                with contextlib.suppress(Exception):  # the whole alert: its bold first words and the queue's reason
                    alert = page.locator('[data-testid="stAlert"]').filter(has_text="Training did not start.")
                    record["message"] = " ".join((await alert.first.inner_text(timeout=10_000)).split())
            else:
                record["outcome"] = "failed"
            # The job's record, as the page says it: the wait before it started ("It first waited N s", said when
            # it waited 1 s or more; rounded to whole seconds) and the backend.
            record["queue_wait_s"] = float(waited.group(1)) if waited else 0.0
            record["backend"] = (message.split("Trained by ", 1)[1].rstrip(".") if "Trained by " in message else "")
            record["seen_queued_after_s"] = seen_queued
            record["seen_running_after_s"] = seen_running
            errors = await exceptions_on(page)
            record["result"] = "ok" if not errors else f"{errors} exception(s)"
            return record
    finally:
        training_done.set()


async def stroke(page, points: list[tuple[float, float]]) -> None:
    box = await page.locator("canvas.upper-canvas").first.bounding_box()
    x0, y0 = box["x"], box["y"]
    await page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    await page.mouse.down()
    for x, y in points[1:]:
        await page.mouse.move(x0 + x, y0 + y, steps=2)
    await page.mouse.up()


async def sketch_session(browser, url: str, name: str, trainings: list[asyncio.Event]) -> dict:
    """Draw a '1', time until the prediction shows, clear, repeat while any training runs."""
    latencies: list[float] = []
    during_training: list[float] = []
    redraws = 0
    async with browser_tab(browser) as page:
        await open_page(page, url, "sketch")
        await page.get_by_text("Draw a digit on the canvas").wait_for()
        await page.locator("canvas.upper-canvas").first.wait_for()
        one = [(140, 40 + 10 * k) for k in range(21)]
        prediction = page.get_by_role("heading", name="Prediction:")
        rounds = 0
        while rounds < 3 or not all(event.is_set() for event in trainings):
            training_running = not all(event.is_set() for event in trainings)
            # A stroke drawn while the canvas component is still (re)mounting is lost; draw again after 30 s
            # without an answer, then after longer waits (a busy server): counted as redraws, and the latency
            # runs from the first stroke, as the learner waits.
            started = time.monotonic()
            for attempt, wait_ms in enumerate((30_000, 60_000, 120_000, 240_000)):
                await stroke(page, one)
                try:
                    await prediction.wait_for(timeout=wait_ms)
                    break
                except Exception as error:  # noqa: BLE001
                    redraws += 1
                    if attempt == 3:
                        found = await evidence(page, name)
                        raise RuntimeError(f"no prediction after 4 strokes ({len(latencies)} sketches answered "
                                           f"before); the page showed: {found}") from error
            elapsed = time.monotonic() - started
            latencies.append(elapsed)
            if training_running:
                during_training.append(elapsed)
            await wait_for_idle(page)
            await page.get_by_role("button", name="Clear the canvas", exact=True).first.click()
            try:  # as patient as a prediction: a page this busy answered strokes only after up to 387 s
                await page.get_by_text("Draw a digit on the canvas").wait_for(timeout=450_000)
            except Exception as error:  # noqa: BLE001
                found = await evidence(page, name)
                raise RuntimeError(f"the cleared canvas never showed 'Draw a digit' ({len(latencies)} sketches "
                                   f"answered before); the page showed: {found}") from error
            await wait_for_idle(page)
            rounds += 1
            if rounds >= 200:
                break
        errors = await exceptions_on(page)
        return {"name": name, "task": f"{len(latencies)} sketches, each timed to its prediction",
                "result": "ok" if not errors else f"{errors} exception(s)", "seconds": sum(latencies),
                "latencies_s": [round(value, 3) for value in latencies],
                "during_training_s": [round(value, 3) for value in during_training],
                "prediction_latency_s": _summary(latencies),
                "prediction_latency_during_training_s": _summary(during_training), "redraws": redraws}


async def kernels_session(browser, url: str, name: str, trainings: list[asyncio.Event]) -> dict:
    """Apply the Kernel playground's presets one after the other, again and again while any training runs."""
    started = time.monotonic()
    presets = ("Sobel x (vertical edges)", "Sharpen", "Box blur", "Sobel y (horizontal edges)")
    async with browser_tab(browser) as page:
        await open_page(page, url, "kernels")
        steps = tries = 0
        while tries < len(presets) or (not all(event.is_set() for event in trainings) and tries < 400):
            steps += await choose(page, ".st-key-kernel_preset_0 [data-testid='stSelectbox']",
                                  presets[tries % len(presets)])
            tries += 1
        errors = await exceptions_on(page)
        return {"name": name, "task": f"{steps} of {tries} kernel presets applied",
                "result": "ok" if not errors and steps == tries else f"{errors} exception(s), {steps}/{tries} presets",
                "seconds": time.monotonic() - started}


async def trainings_in_a_row(browser, url: str, pid: int, count: int, dataset_title: str,
                             workers: Callable[[int], list[int]]) -> dict:
    async with browser_tab(browser) as page:
        await open_page(page, url, "train")
        await configure_training(page, dataset_title, 1)
        rss: list[float] = [memory_mb(pid)["VmRSS"]]
        seconds: list[float] = []
        peaks: dict[str, float] = {}
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_peak_memory(pid, workers, peaks, stop))
        failure = None
        for run in range(1, count + 1):
            try:
                elapsed, _ = await train_once(page, run)
            except Exception as error:  # noqa: BLE001 - keep the runs so far and what the page showed
                failure = {"run": run, "error": f"{type(error).__name__}: {error}",
                           "page": await evidence(page, f"row-{run}")}
                print(f"  training {run:2d}/{count}: FAILED ({failure['error']}); the page showed: {failure['page']}",
                      flush=True)
                break
            seconds.append(elapsed)
            rss.append(memory_mb(pid)["VmRSS"])
            print(f"  training {run:2d}/{count}: {elapsed:5.1f} s, server RSS {rss[-1]:7.1f} MB", flush=True)
        stop.set()
        await sampler
        errors = await exceptions_on(page)
        return {"rss_mb": [round(value, 1) for value in rss], "seconds": seconds, "errors": errors,
                "peaks_mb": {key: round(value, 1) for key, value in peaks.items()}, "failure": failure}


async def queue_full_phase(browser, arguments: argparse.Namespace, env: dict[str, str], log_path: Path) -> dict:
    """Phase 3: ``--full-queue-sessions`` sessions click Train at once on a second server whose queue holds
    ``--full-queue-limit`` jobs: the ones beyond the running and waiting ones must be refused with the queue's
    message ("The training queue is full ..."), the others finish; nothing is lost."""
    count, limit = arguments.full_queue_sessions, arguments.full_queue_limit
    workdir = Path(tempfile.mkdtemp(prefix="cnnviz-load-full-"))
    models_dir = workdir / "models"
    models_dir.mkdir()
    try:
        process, url = start_server(models_dir, log_path, {**env, "CNNVIZ_QUEUE_LIMIT": str(limit)})
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        done = [asyncio.Event() for _ in range(count)]
        line = StartLine(count)
        names = [f"full-{index + 1}" for index in range(count)]
        outcomes = await asyncio.gather(
            *(training_session(browser, url, name, arguments.row_dataset, 1, arguments.full_queue_images, event, line,
                               arguments.training_timeout_s) for name, event in zip(names, done, strict=True)),
            return_exceptions=True)
    finally:
        stop_streamlit(process)
        shutil.rmtree(workdir, ignore_errors=True)
    sessions = [_failed(name, outcome) if isinstance(outcome, BaseException) else outcome
                for name, outcome in zip(names, outcomes, strict=True)]
    counts = {outcome: sum(s.get("outcome") == outcome for s in sessions)
              for outcome in ("finished", "refused", "failed", "lost")}
    counts["crashed_session"] = sum("outcome" not in s for s in sessions)
    refused = [s for s in sessions if s.get("outcome") == "refused"]
    return {"sessions": count, "queue_limit": limit,
            "each_training": f"1 epoch x {arguments.full_queue_images} {TITLES[arguments.row_dataset]} images",
            "outcomes": counts,
            "refused_with_the_queue_message": all("queue is full" in s.get("message", "") for s in refused),
            "messages": sorted({s.get("message", s.get("result", "")) for s in sessions
                                if s.get("outcome") != "finished"}),
            "ok": (counts["lost"] == 0 and counts["crashed_session"] == 0 and counts["refused"] >= 1
                   and counts["finished"] >= 1 and all("queue is full" in s.get("message", "") for s in refused)
                   and all(s.get("result") == "ok" for s in sessions))}


def _summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"count": len(values), "median": round(statistics.median(values), 2), "p95": round(p95, 2),
            "max": round(max(values), 2)}


def _failed(name: str, outcome: BaseException) -> dict:
    return {"name": name, "task": "?", "result": f"FAILED: {type(outcome).__name__}: {str(outcome)[:200]}",
            "seconds": float("nan"), "detail": str(outcome)[:4000]}


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def _values(records: list[dict], key: str) -> list[float]:
    return [float(record[key]) for record in records if isinstance(record.get(key), int | float)]


def classroom_figures(sessions: list[dict]) -> dict:
    """The per-backend figures of phase 1 from its sessions' records."""
    trainings = [s for s in sessions if s["name"].startswith("train-")]
    sketches = [s for s in sessions if s["name"].startswith("sketch")]
    started = [s for s in trainings if s.get("outcome") in ("finished", "failed")]
    finished = [s for s in trainings if s.get("outcome") == "finished"]
    service = [s["seconds"] - s["queue_wait_s"] for s in finished]
    counts = {outcome: sum(s.get("outcome") == outcome for s in trainings)
              for outcome in ("finished", "refused", "failed", "lost")}
    counts["crashed_session"] = sum("outcome" not in s for s in trainings)
    during = [value for s in sketches for value in s.get("during_training_s", [])]
    return {
        "training_outcomes": counts,
        "nothing_lost": counts["lost"] == 0 and counts["crashed_session"] == 0,
        "messages_of_refused_or_failed": sorted({s["message"] for s in trainings
                                                 if s.get("outcome") in ("refused", "failed")}),
        "queue_wait_s": _summary(_values(started, "queue_wait_s")),
        "training_s_on_page": _summary(_values(finished, "training_s")),
        "training_click_to_end_s": _summary(_values(finished, "seconds")),
        "training_service_s": _summary(service),
        "sketch_latency_while_training_s": _summary(during),
        "sketch_latency_s": _summary([value for s in sketches for value in s.get("latencies_s", [])]),
        "backends_named_by_page": sorted({s.get("backend", "") for s in finished}),
    }


async def run(arguments: argparse.Namespace) -> dict:
    from playwright.async_api import async_playwright

    dataset_title = TITLES[arguments.dataset]
    figures: dict = {"command": " ".join(["python", "benchmarks/load_test.py", *sys.argv[1:]]),
                     "when": datetime.now(UTC).isoformat(timespec="minutes"), "backend": arguments.backend,
                     "sessions_at_once": arguments.sessions, "trainings_at_once": arguments.trainings,
                     "each_training": f"{arguments.epochs} epochs x {arguments.images} {dataset_title} images, "
                                      "default design",
                     "cpus": os.cpu_count()}
    extra = {"CNNVIZ_QUEUE_LIMIT": str(arguments.queue_limit)} if arguments.queue_limit else {}
    with backend_environment(arguments.backend, arguments.ray_cpus) as (env, ray_folder):
        figures["trainings_ran_on"] = (
            f"a local Ray head started for the run, {arguments.ray_cpus} CPUs, 1 CPU per training"
            if ray_folder is not None else
            f"the server's child process, {os.environ.get('CNNVIZ_LOCAL_WORKERS') or 1} at a time")
        workers = ray_worker_finder(ray_folder) if ray_folder is not None else local_worker_pids
        workdir = Path(tempfile.mkdtemp(prefix="cnnviz-load-"))
        models_dir = workdir / "models"
        models_dir.mkdir()
        for shipped in (REPO / "models").glob("default_*"):
            shutil.copy2(shipped, models_dir / shipped.name)
        try:
            process, url = start_server(models_dir, workdir / "streamlit.log", {**env, **extra})
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        try:
            async with async_playwright() as playwright:
                chromium = chromium_path() or "/usr/bin/chromium"
                browser = await playwright.chromium.launch(executable_path=chromium, headless=True,
                                                           args=CHROMIUM_ARGS)
                warm = await browser.new_page()
                await open_page(warm, url, "")
                await warm.close()
                figures["server_rss_mb_idle"] = round(memory_mb(process.pid)["VmRSS"], 1)

                others = arguments.sessions - arguments.trainings
                server_cpu = cpu_seconds(process.pid)
                print(f"Phase 1 ({arguments.backend}): {arguments.trainings} trainings and {others} sessions "
                      "sketching or using the kernel playground, at once", flush=True)
                done = [asyncio.Event() for _ in range(arguments.trainings)]
                line = StartLine(arguments.trainings)
                names = [f"train-{index + 1}" for index in range(arguments.trainings)]
                tasks = [training_session(browser, url, name, arguments.dataset, arguments.epochs, arguments.images,
                                          event, line, arguments.training_timeout_s)
                         for name, event in zip(names, done, strict=True)]
                for index in range(others):
                    kind = "sketch" if index % 2 == 0 else "kernels"
                    names.append(f"{kind}-{index // 2 + 1}")
                    tasks.append(sketch_session(browser, url, names[-1], done) if kind == "sketch"
                                 else kernels_session(browser, url, names[-1], done))
                peaks: dict[str, float] = {}
                worker_cpu: dict[int, float] = {}
                stop = asyncio.Event()
                sampler = asyncio.create_task(sample_peak_memory(process.pid, workers, peaks, stop, worker_cpu))
                started = time.monotonic()
                outcomes = await asyncio.gather(*tasks, return_exceptions=True)
                figures["phase_1_wall_s"] = round(time.monotonic() - started, 1)
                figures["server_cpu_cores_used_in_phase_1"] = round(
                    (cpu_seconds(process.pid) - server_cpu) / max(figures["phase_1_wall_s"], 1e-9), 2)
                stop.set()
                await sampler
                sessions = [_failed(name, outcome) if isinstance(outcome, BaseException) else outcome
                            for name, outcome in zip(names, outcomes, strict=True)]
                figures.update(classroom_figures(sessions))
                # What the trainings cost in CPU (the workers' processes, their TensorFlow import included), for
                # SCALING.md; per finished training when every started one finished.
                figures["workers_cpu_s_in_phase_1"] = round(sum(worker_cpu.values()), 1)
                finished_count = figures["training_outcomes"]["finished"]
                if finished_count:
                    figures["workers_cpu_s_per_finished_training"] = round(sum(worker_cpu.values()) / finished_count, 1)
                figures["server_peak_rss_mb"] = round(memory_mb(process.pid)["VmHWM"], 1)
                figures["worker_peak_rss_mb"] = round(peaks.get("one_worker", 0.0), 1)
                figures["workers_together_peak_rss_mb"] = round(peaks.get("all_workers", 0.0), 1)
                figures["server_plus_workers_peak_rss_mb"] = round(peaks.get("server_plus_workers", 0.0), 1)
                figures["most_worker_processes_at_once"] = int(peaks.get("most_workers_at_once", 0))
                figures["server_rss_mb_after_phase_1"] = round(memory_mb(process.pid)["VmRSS"], 1)
                figures["sessions"] = [{key: value for key, value in session.items()
                                        if key not in ("latencies_s", "during_training_s")} for session in sessions]
                for session in sessions:
                    extra_text = session.get("outcome", "")
                    print(f"  {session['name']:<10} {session['result']:<40} {session['seconds']:7.1f} s {extra_text}",
                          flush=True)

                write_figures(arguments.backend, figures)  # a run cut short still leaves phase 1's figures
                if arguments.trainings_in_a_row:
                    print(f"Phase 2: {arguments.trainings_in_a_row} trainings in a row in one session", flush=True)
                    row = await trainings_in_a_row(browser, url, process.pid, arguments.trainings_in_a_row,
                                                   TITLES[arguments.row_dataset], workers)
                    rss = row["rss_mb"]
                    reference = rss[min(5, len(rss) - 1)]
                    growth = rss[-1] - reference
                    figures["trainings_in_a_row"] = arguments.trainings_in_a_row
                    figures["server_rss_mb_by_training"] = rss
                    figures["server_rss_growth_mb_after_5th"] = round(growth, 1)
                    figures["server_peak_rss_mb_after_phase_2"] = round(memory_mb(process.pid)["VmHWM"], 1)
                    figures["phase_2_worker_peak_rss_mb"] = row["peaks_mb"].get("one_worker", 0.0)
                    figures["memory_bounded"] = (growth < arguments.max_growth_mb and row["errors"] == 0
                                                 and row["failure"] is None)
                    if row["failure"] is not None:
                        figures["phase_2_failure"] = row["failure"]
                write_figures(arguments.backend, figures)
                if arguments.full_queue_sessions:
                    print(f"Phase 3: {arguments.full_queue_sessions} trainings at once on a server whose queue "
                          f"holds {arguments.full_queue_limit}", flush=True)
                    try:
                        figures["queue_full_phase"] = await queue_full_phase(
                            browser, arguments, env, workdir / "streamlit-full.log")
                    except Exception as error:  # noqa: BLE001 - phases 1 and 2's figures are still written
                        figures["queue_full_phase"] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
                    phase_3 = figures["queue_full_phase"]
                    print(f"  {phase_3.get('outcomes', phase_3.get('error'))}", flush=True)
                await browser.close()
        finally:
            stop_streamlit(process)
            with contextlib.suppress(OSError):  # the server's log, to read what a lost training or sketch hit
                ARTIFACTS.mkdir(exist_ok=True)
                shutil.copy2(workdir / "streamlit.log", ARTIFACTS / f"load_test_{arguments.backend}_server.log")
            shutil.rmtree(workdir, ignore_errors=True)
    figures["all_sessions_ok"] = all(session["result"] == "ok" for session in figures.get("sessions", []))
    return figures


def write_figures(backend: str, figures: dict) -> Path:
    """Write ``figures`` to ``test-artifacts/load_test_<backend>.json`` (after every phase, and at the end)."""
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"load_test_{backend}.json"
    out.write_text(json.dumps(figures, indent=2))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="local", choices=["local", "ray"],
                        help="where trainings run: the server's child process, or a local Ray cluster started "
                        "for this run")
    parser.add_argument("--sessions", type=int, default=12, help="browser sessions at once in phase 1")
    parser.add_argument("--trainings", type=int, default=8, help="how many of those sessions train")
    parser.add_argument("--dataset", default="mnist", choices=list(TITLES), help="dataset the trainings use")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each phase-1 training")
    parser.add_argument("--images", type=int, default=2000, help="training images of each phase-1 training")
    parser.add_argument("--training-timeout-s", type=float, default=1800.0,
                        help="seconds from a click on Train to its end on the page before a training counts as lost")
    parser.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray cluster (--backend ray)")
    parser.add_argument("--queue-limit", type=int, default=0,
                        help="the server's CNNVIZ_QUEUE_LIMIT (0: its default), to see refusals")
    parser.add_argument("--trainings-in-a-row", type=int, default=20, help="phase-2 trainings in one session "
                        "(0 skips phase 2)")
    parser.add_argument("--row-dataset", default="digits", choices=list(TITLES),
                        help="dataset of the phase-2 trainings (one epoch each, one conv block; digits is fastest)")
    parser.add_argument("--full-queue-sessions", type=int, default=4,
                        help="phase-3 sessions that click Train at once on a second server with a small queue "
                        "(0 skips phase 3)")
    parser.add_argument("--full-queue-limit", type=int, default=1,
                        help="that server's CNNVIZ_QUEUE_LIMIT: the sessions beyond the running and waiting ones "
                        "are refused with the queue's message")
    parser.add_argument("--full-queue-images", type=int, default=500,
                        help="training images of each phase-3 training (one epoch on --row-dataset)")
    parser.add_argument("--max-growth-mb", type=float, default=50.0,
                        help="most memory the trainings after the 5th may add for 'bounded'")
    arguments = parser.parse_args()
    if not 0 <= arguments.trainings <= arguments.sessions:
        parser.error("--trainings must be between 0 and --sessions")
    figures = asyncio.run(run(arguments))
    out = write_figures(arguments.backend, figures)
    print(json.dumps({key: value for key, value in figures.items() if key != "sessions"}, indent=2))
    print(f"Written to {out.relative_to(REPO)}")
    full_queue_ok = figures.get("queue_full_phase", {}).get("ok", True)
    return 0 if (figures["all_sessions_ok"] and figures["nothing_lost"] and figures.get("memory_bounded", True)
                 and full_queue_ok) else 1


if __name__ == "__main__":
    raise SystemExit(main())
