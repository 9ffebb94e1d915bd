"""The server is killed mid-save and mid-training; after a restart every saved model loads.

Issue 7, section 2, end to end: a real ``streamlit run`` server on its own models folder,
driven by Chromium. The server is SIGKILLed (no clean shutdown) twice:

1. right after "Save model" is clicked (at a random moment of the save);
2. in the middle of a long training.

After the first restart the studio trains again (step 2 runs on it); after the second,
no temporary or partial file is left in the folder once the app has listed it, every
model in it loads, and the Inside page offers them with none unreadable.

That a save killed at any moment leaves a whole model or none is the store's file-level
guarantee, tested with real processes in tests/unit/core/test_store_faults.py; here the
browser checks that the studio recovers.

The moment of the first kill is random; the seed is printed and in every assertion message,
and ``CNNVIZ_TEST_SEED=<seed>`` replays it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cnnviz.core.store import TEMP_PREFIX, list_models, load_model, save_model
from tests.support.figures import record_figure
from tests.support.paths import REPO_ROOT
from tools.browser import assert_no_exception, choose_option, open_page, set_slider, wait_for_idle
from tools.streamlit_server import LIVE_SERVERS, start_streamlit, stop_streamlit

TRAINING_TIMEOUT_MS = 240_000


class Server:
    """A ``streamlit run app.py`` process that can be killed and started again on one models folder."""

    def __init__(self, browser, models_dir: Path, log_dir: Path) -> None:
        self.browser = browser
        self.models_dir = models_dir
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.starts = 0

    def start(self) -> str:
        self.starts += 1
        self.process, self.url = start_streamlit(self.models_dir, self.log_dir / f"streamlit-{self.starts}.log")
        return self.url

    def kill(self) -> None:
        """SIGKILL: no atexit handlers, no finally blocks, exactly like a power cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        LIVE_SERVERS.pop(self.process, None)

    def stop(self) -> None:
        if self.process is not None:
            stop_streamlit(self.process)


@pytest.fixture
def server(browser, tmp_path: Path, tiny_model) -> Iterator[Server]:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    for shipped in (REPO_ROOT / "models").glob("default_*"):
        if shipped.suffix in {".keras", ".json"}:
            shutil.copy2(shipped, models_dir / shipped.name)
    # A model saved "last week", before any of today's crashes.
    save_model(tiny_model, "saved_before", {"dataset": "digits", "class_names": [str(i) for i in range(10)]},
               models_dir=models_dir)
    instance = Server(browser, models_dir, tmp_path)
    yield instance
    instance.stop()


def _seed() -> int:
    """The seed of this run's randomness: ``$CNNVIZ_TEST_SEED`` to replay a run, else a new one (printed)."""
    seed = int(os.environ.get("CNNVIZ_TEST_SEED") or random.SystemRandom().randrange(2**32))
    print(f"test_faults_e2e seed {seed} (replay with CNNVIZ_TEST_SEED={seed})")
    return seed


def _after_restart_everything_loads(server: Server, page: Page, context: str) -> dict:
    """Restart the server, open the Inside page, and check the folder and the picker.

    ``context`` (the seed and the kill) goes into every assertion message.
    """
    server.start()
    open_page(page, server.url, "inside", timeout_ms=TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    expect(page.get_by_text("unreadable model file"), context).to_have_count(0)
    leftovers = [path.name for path in server.models_dir.iterdir() if path.name.startswith(TEMP_PREFIX)]
    assert not leftovers, f"{context}: partial files left after restart: {leftovers}"
    records = list_models(server.models_dir)
    broken = {record.name: record.error for record in records if not record.ok}
    assert not broken, f"{context}: {broken}"
    for record in records:
        load_model(record)
    return {"models": len(records), "names": sorted(record.name for record in records)}


def _small_training(page: Page, *, epochs_key_presses: list[str]) -> None:
    choose_option(page, "train_dataset", "scikit-learn digits (built in)", timeout_ms=TRAINING_TIMEOUT_MS)
    set_slider(page, "train_blocks", presses=["Home"])
    set_slider(page, "train_b1_filters", presses=["Home"])
    set_slider(page, "train_dense", presses=["Home"])
    set_slider(page, "train_epochs", presses=epochs_key_presses)
    page.get_by_role("button", name="Train", exact=True).click()


def test_server_killed_mid_save_and_mid_training(server: Server, page: Page) -> None:
    seed = _seed()
    rng = random.Random(seed)

    # 1. Train 1 epoch, click Save, and kill the server a random moment later.
    server.start()
    open_page(page, server.url, "train", timeout_ms=TRAINING_TIMEOUT_MS)
    _small_training(page, epochs_key_presses=["Home"])
    # A training is a job the page follows from a fragment: the script is idle long before the job ends.
    expect(page.get_by_text(re.compile(r"Run 1 finished 1 epoch"))).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    name_box = page.get_by_role("textbox", name="Model name")
    name_box.fill("killed_while_saving")
    name_box.press("Enter")
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    delay = rng.uniform(0.0, 0.6)
    context = f"seed {seed} (CNNVIZ_TEST_SEED={seed}), server killed {delay:.3f} s after Save, then mid-training"
    page.get_by_role("button", name="Save model", exact=True).click()
    time.sleep(delay)
    server.kill()

    # 2. Restarted, the studio trains again: start a 30-epoch training, and once it has finished an epoch,
    # kill the server.
    server.start()
    open_page(page, server.url, "train", timeout_ms=TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    _small_training(page, epochs_key_presses=["End"])
    expect(page.get_by_text(re.compile(r"Epoch [2-9]/30")), context).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    server.kill()

    # 3. After the second restart nothing is partial and every model loads, the one saved before the crashes
    # included; the model killed while saving is either whole or absent.
    after = _after_restart_everything_loads(server, page, context)
    assert "saved_before" in after["names"], context
    present = (server.models_dir / "killed_while_saving.keras").exists()
    assert present == (server.models_dir / "killed_while_saving.json").exists(), context
    assert present == ("killed_while_saving" in after["names"]), context

    record_figure("server_killed", {"kills": 2, "restarts": server.starts - 1, "models_after": after["models"],
                                    "all_loaded": True, "partial_files": 0, "save_kill_delay_s": round(delay, 3),
                                    "save_completed_before_kill": present, "seed": seed})
