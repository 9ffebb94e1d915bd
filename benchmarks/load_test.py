"""Classroom load test: several Chromium sessions against one ``streamlit run`` server.

Usage (from the repository root; needs Chromium at /usr/bin/chromium or $CHROMIUM_PATH)::

    python benchmarks/load_test.py                  # defaults below, ~5-10 minutes on 2 cores
    python benchmarks/load_test.py --dataset mnist --epochs 2 --trainings-in-a-row 20

Phase 1, at the same time, in five browser sessions:
  * two sessions train a CNN on the Train page (they queue behind the training lock);
  * one session sketches a digit on the Sketch page again and again and times each prediction
    while the trainings run ("a sketch still answers within a few seconds");
  * one session uses the Kernel playground (presets, click an output pixel to see its sum);
  * one session opens the Inside page's evaluation (confusion matrix over the test split).
  Every session must finish without a Streamlit exception box.

Phase 2: one session trains ``--trainings-in-a-row`` times in a row; the server's resident
memory (VmRSS from /proc, Linux) is read after every training, and its peak (VmHWM) reported, with
the peak of the training child process (cnnviz.train.worker) alone and of server plus child together.
Memory is "bounded" when the last trainings add less than ``--max-growth-mb`` over the 5th.

Figures are printed and written to ``test-artifacts/load_test.json`` (read by
``tools/reliability_report.py``). Exit status 1 if any session failed or memory was unbounded.
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
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from tools.browser import CHROMIUM_ARGS, IDLE_JS, QUIET_MS, RESET_IDLE_JS, chromium_path
from tools.streamlit_server import start_streamlit

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
APP = '[data-testid="stApp"]'
LONG_MS = 600_000


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------


def start_server(models_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` with its own models folder and the offline data, wait until healthy."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    shared = REPO.parent / "shared" / "data"
    if shared.is_dir() and "CNNVIZ_DATA_DIR" not in os.environ:
        env["CNNVIZ_DATA_DIR"] = str(shared)
    return start_streamlit(models_dir, log_path, env=env, timeout_s=180)


def memory_mb(pid: int) -> dict[str, float]:
    """Resident (VmRSS) and peak resident (VmHWM) memory of a process, in MB (Linux /proc)."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024.0
    return values


def training_children_mb(pid: int) -> float:
    """Resident memory, in MB, of the training processes (``cnnviz.train.worker``) the server has started now."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid and b"cnnviz.train.worker" in (entry / "cmdline").read_bytes():
                total += memory_mb(int(entry.name)).get("VmRSS", 0.0)
        except (OSError, ValueError, IndexError):
            continue
    return total


async def sample_peak_memory(pid: int, peaks: dict[str, float], stop: asyncio.Event) -> None:
    """Until ``stop``, record the peak of the training child's memory and of server plus child together."""
    while not stop.is_set():
        child = training_children_mb(pid)
        server = memory_mb(pid).get("VmRSS", 0.0)
        peaks["child"] = max(peaks.get("child", 0.0), child)
        peaks["server_plus_child"] = max(peaks.get("server_plus_child", 0.0), server + child)
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
    await page.goto(f"{url}/{path}")
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
        page.set_default_timeout(120_000)  # two shared cores and five sessions: be patient
        yield page
    finally:
        await context.close()


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


async def training_session(browser, url: str, name: str, dataset_title: str, epochs: int,
                           training_done: asyncio.Event) -> dict:
    try:
        async with browser_tab(browser) as page:
            await open_page(page, url, "train")
            await configure_training(page, dataset_title, epochs)
            seconds, queued = await train_once(page, 1)
            errors = await exceptions_on(page)
            return {"name": name, "task": f"train {epochs} epoch(s) on {dataset_title}",
                    "result": "ok" if not errors else f"{errors} exception(s)", "seconds": seconds,
                    "queued_behind_lock": queued}
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


async def sketch_session(browser, url: str, trainings: list[asyncio.Event]) -> dict:
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
            # A stroke drawn while the canvas component is still (re)mounting is lost; draw again
            # after 30 s without an answer (counted, and the latency is taken from the last stroke).
            for attempt in range(4):
                await stroke(page, one)
                started = time.monotonic()
                try:
                    await prediction.wait_for(timeout=30_000)
                    break
                except Exception:  # noqa: BLE001
                    redraws += 1
                    if attempt == 3:
                        raise
            elapsed = time.monotonic() - started
            latencies.append(elapsed)
            if training_running:
                during_training.append(elapsed)
            await wait_for_idle(page)
            await page.get_by_role("button", name="Clear the canvas", exact=True).first.click()
            await page.get_by_text("Draw a digit on the canvas").wait_for(timeout=120_000)
            await wait_for_idle(page)
            rounds += 1
            if rounds >= 60:
                break
        errors = await exceptions_on(page)
        return {"name": "sketch", "task": f"{len(latencies)} sketches, each timed to its prediction",
                "result": "ok" if not errors else f"{errors} exception(s)", "seconds": sum(latencies),
                "prediction_latency_s": _summary(latencies),
                "prediction_latency_during_training_s": _summary(during_training), "redraws": redraws}


async def kernels_session(browser, url: str) -> dict:
    started = time.monotonic()
    async with browser_tab(browser) as page:
        await open_page(page, url, "kernels")
        steps = 0
        for preset in ("Sobel x (vertical edges)", "Sharpen", "Box blur", "Sobel y (horizontal edges)"):
            steps += await choose(page, ".st-key-kernel_preset_0 [data-testid='stSelectbox']", preset)
        errors = await exceptions_on(page)
        return {"name": "kernels", "task": f"{steps} kernel presets applied", "result": "ok" if not errors and steps
                else f"{errors} exception(s), {steps} presets", "seconds": time.monotonic() - started}


async def evaluation_session(browser, url: str) -> dict:
    started = time.monotonic()
    async with browser_tab(browser) as page:
        await open_page(page, url, "inside")
        await page.get_by_role("radio", name="Evaluation").click()
        await wait_for_idle(page)
        await page.locator(".st-key-inside_confusion .js-plotly-plot .heatmaplayer image").wait_for(timeout=LONG_MS)
        errors = await exceptions_on(page)
        return {"name": "evaluation", "task": "Inside page: evaluation of the shipped model on the test split",
                "result": "ok" if not errors else f"{errors} exception(s)", "seconds": time.monotonic() - started}


async def trainings_in_a_row(browser, url: str, pid: int, count: int, dataset_title: str) -> dict:
    async with browser_tab(browser) as page:
        await open_page(page, url, "train")
        await configure_training(page, dataset_title, 1)
        rss: list[float] = [memory_mb(pid)["VmRSS"]]
        seconds: list[float] = []
        peaks: dict[str, float] = {}
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_peak_memory(pid, peaks, stop))
        for run in range(1, count + 1):
            elapsed, _ = await train_once(page, run)
            seconds.append(elapsed)
            rss.append(memory_mb(pid)["VmRSS"])
            print(f"  training {run:2d}/{count}: {elapsed:5.1f} s, server RSS {rss[-1]:7.1f} MB", flush=True)
        stop.set()
        await sampler
        errors = await exceptions_on(page)
        return {"rss_mb": [round(value, 1) for value in rss], "seconds": seconds, "errors": errors,
                "peaks_mb": {key: round(value, 1) for key, value in peaks.items()}}


def _summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"count": len(values), "median": round(statistics.median(values), 2), "p95": round(p95, 2),
            "max": round(max(values), 2)}


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


async def run(arguments: argparse.Namespace) -> dict:
    from playwright.async_api import async_playwright

    titles = {"digits": "scikit-learn digits (built in)", "mnist": "MNIST handwritten digits",
              "fashion_mnist": "Fashion-MNIST", "kmnist": "Kuzushiji-MNIST"}
    dataset_title = titles[arguments.dataset]
    workdir = Path(tempfile.mkdtemp(prefix="cnnviz-load-"))
    models_dir = workdir / "models"
    models_dir.mkdir()
    for shipped in (REPO / "models").glob("default_*"):
        shutil.copy2(shipped, models_dir / shipped.name)
    process, url = start_server(models_dir, workdir / "streamlit.log")
    figures: dict = {"command": " ".join(["python", "benchmarks/load_test.py", *sys.argv[1:]]),
                     "when": datetime.now(UTC).isoformat(timespec="minutes")}
    try:
        async with async_playwright() as playwright:
            chromium = chromium_path() or "/usr/bin/chromium"
            browser = await playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            warm = await browser.new_page()
            await open_page(warm, url, "")
            await warm.close()
            figures["server_rss_mb_idle"] = round(memory_mb(process.pid)["VmRSS"], 1)

            print("Phase 1: two trainings, a sketcher, the kernel playground and the evaluation at once", flush=True)
            done = [asyncio.Event(), asyncio.Event()]
            started = time.monotonic()
            tasks = [
                training_session(browser, url, "train-1", dataset_title, arguments.epochs, done[0]),
                training_session(browser, url, "train-2", dataset_title, arguments.epochs, done[1]),
                sketch_session(browser, url, done),
                kernels_session(browser, url),
                evaluation_session(browser, url),
            ]
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            names = ["train-1", "train-2", "sketch", "kernels", "evaluation"]
            sessions = []
            for name, outcome in zip(names, outcomes):
                if isinstance(outcome, BaseException):
                    sessions.append({"name": name, "task": "?", "result": f"FAILED: {type(outcome).__name__}: "
                                     f"{str(outcome)[:200]}", "seconds": float("nan")})
                else:
                    sessions.append(outcome)
            figures["sessions"] = sessions
            figures["phase_1_wall_s"] = round(time.monotonic() - started, 1)
            sketch = next((s for s in sessions if s["name"] == "sketch" and "prediction_latency_s" in s), None)
            if sketch:
                figures["sketch_latency_while_training_s"] = sketch["prediction_latency_during_training_s"]
            figures["server_rss_mb_after_phase_1"] = round(memory_mb(process.pid)["VmRSS"], 1)
            for session in sessions:
                print(f"  {session['name']:<10} {session['result']:<40} {session['seconds']:7.1f} s", flush=True)

            print(f"Phase 2: {arguments.trainings_in_a_row} trainings in a row in one session", flush=True)
            row = await trainings_in_a_row(browser, url, process.pid, arguments.trainings_in_a_row, dataset_title)
            rss = row["rss_mb"]
            reference = rss[min(5, len(rss) - 1)]
            growth = rss[-1] - reference
            figures["trainings_in_a_row"] = arguments.trainings_in_a_row
            figures["server_rss_mb_by_training"] = rss
            figures["server_rss_growth_mb_after_5th"] = round(growth, 1)
            figures["server_peak_rss_mb"] = round(memory_mb(process.pid)["VmHWM"], 1)
            figures["training_process_peak_rss_mb"] = row["peaks_mb"].get("child", 0.0)
            figures["server_plus_training_process_peak_rss_mb"] = row["peaks_mb"].get("server_plus_child", 0.0)
            figures["memory_bounded"] = growth < arguments.max_growth_mb and row["errors"] == 0
            await browser.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    figures["all_sessions_ok"] = all(session["result"] == "ok" for session in figures.get("sessions", []))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits", choices=["digits", "mnist", "fashion_mnist", "kmnist"],
                        help="dataset the trainings use (digits is fastest)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each phase-1 training")
    parser.add_argument("--trainings-in-a-row", type=int, default=20, help="phase-2 trainings in one session")
    parser.add_argument("--max-growth-mb", type=float, default=50.0,
                        help="most memory the trainings after the 5th may add for 'bounded'")
    arguments = parser.parse_args()
    figures = asyncio.run(run(arguments))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load_test.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps({key: value for key, value in figures.items() if key != "sessions"}, indent=2))
    return 0 if figures["all_sessions_ok"] and figures.get("memory_bounded") else 1


if __name__ == "__main__":
    raise SystemExit(main())
