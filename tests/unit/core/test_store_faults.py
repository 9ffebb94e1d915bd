"""Fault injection on the model store with real processes (issue 7, section 2).

* A process saving models is killed with SIGKILL at random moments, several times; after each
  "restart" (a fresh process) every model it reported saved loads, and no partial or temporary
  file is left once the folder has been listed.
* Saving into a full disk (RLIMIT_FSIZE makes writes fail with EFBIG, as a full disk would) or
  a read-only folder (a process without write permission) gives a clear ModelStoreError and
  leaves the earlier files byte-for-byte intact.

Each child process imports TensorFlow (~7 s), so this file is marked slow.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cnnviz.core.store import TEMP_PREFIX, list_models, load_model
from tests.support.figures import record_figure
from tests.support.paths import REPO_ROOT as REPO

pytestmark = pytest.mark.slow

# A model big enough (~1.6 MB) that a save takes a noticeable time, so kills land mid-write.
CHILD_PRELUDE = textwrap.dedent(
    """
    import json, os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from cnnviz.core.store import save_model, ModelStoreError

    def make_model():
        inputs = keras.Input(shape=(28, 28, 1), name="input")
        x = keras.layers.Conv2D(8, 3, name="conv_1")(inputs)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(96, activation="relu", name="dense_1")(x)
        outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
        return keras.Model(inputs, outputs)

    META = {"dataset": "digits", "class_names": [str(i) for i in range(10)]}
    """
)

SAVE_LOOP = CHILD_PRELUDE + textwrap.dedent(
    """
    models_dir, start = sys.argv[1], int(sys.argv[2])
    model = make_model()
    print("ready", flush=True)
    for index in range(start, start + 1000):
        name = f"model_{index:03d}"
        print(f"saving {name}", flush=True)
        save_model(model, name, META, models_dir=models_dir)
        # Overwrite a shared name too: a kill during an overwrite must keep one complete version.
        save_model(model, "shared", META, models_dir=models_dir, overwrite=True)
        print(f"saved {name}", flush=True)
    """
)

SAVE_ONCE = CHILD_PRELUDE + textwrap.dedent(
    """
    import resource, signal
    models_dir, name, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    model = make_model()
    if limit > 0:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        save_model(model, name, META, models_dir=models_dir, overwrite=True)
        print(json.dumps({"ok": True}))
    except ModelStoreError as error:
        print(json.dumps({"ok": False, "type": type(error).__name__, "message": str(error)}))
    """
)


def _child_env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def _record(name: str, payload: dict) -> None:
    record_figure(name, payload)


def _assert_clean_and_loadable(models_dir: Path, expected: set[str]) -> int:
    records = {record.name: record for record in list_models(models_dir)}  # also recovers/cleans
    broken = {name: record.error for name, record in records.items() if not record.ok}
    assert not broken, f"unreadable after a kill: {broken}"
    assert expected <= set(records), f"reported saved but missing: {expected - set(records)}"
    leftovers = [path.name for path in models_dir.iterdir() if path.name.startswith(TEMP_PREFIX)]
    assert not leftovers, f"temporary files left after listing: {leftovers}"
    for record in records.values():
        load_model(record)
    return len(records)


def test_killed_while_saving_leaves_only_complete_models(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    rng = random.Random(7)
    saved: set[str] = set()
    kills = 0
    kills_mid_save = 0
    start = 0
    for _cycle in range(4):
        process = subprocess.Popen(
            [sys.executable, "-c", SAVE_LOOP, str(models_dir), str(start)],
            cwd=REPO, env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        target_saves = rng.randint(1, 3)
        in_flight = None
        while True:
            line = process.stdout.readline().strip()
            if line.startswith("saving "):
                in_flight = line.split()[1]
            elif line.startswith("saved "):
                saved.add(line.split()[1])
                in_flight = None
                target_saves -= 1
                if target_saves == 0:
                    break
            elif not line:
                pytest.fail("the saving process stopped early")
        # Wait for the next save to start, then kill at a random moment inside it.
        line = process.stdout.readline().strip()
        assert line.startswith("saving ")
        in_flight = line.split()[1]
        time.sleep(rng.uniform(0.0, 0.25))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
        partial = [p.name for p in models_dir.iterdir() if p.name.startswith(TEMP_PREFIX)]
        kills_mid_save += bool(partial)
        start += 10
        # "Restart": this process lists (recovering/cleaning) and loads everything.
        count = _assert_clean_and_loadable(models_dir, saved | {"shared"} if saved else set())
        assert in_flight not in saved
    _record(
        "kill_mid_save",
        {"kills": kills, "kills_that_left_temp_files": kills_mid_save, "models_after": count, "all_loaded": True},
    )
    assert kills == 4


def _run_save_once(models_dir: Path, name: str, *, limit: int = 0, prefix: tuple[str, ...] = ()) -> dict:
    result = subprocess.run(
        [*prefix, sys.executable, "-c", SAVE_ONCE, str(models_dir), name, str(limit)],
        cwd=REPO, env=_child_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _snapshot(models_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(models_dir.iterdir())}


@pytest.fixture
def models_with_one_saved(tmp_path: Path) -> Path:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    assert _run_save_once(models_dir, "earlier")["ok"]
    return models_dir


def test_full_disk_gives_a_clear_message_and_keeps_earlier_files(models_with_one_saved: Path) -> None:
    models_dir = models_with_one_saved
    before = _snapshot(models_dir)
    outcomes = {}
    for name in ("new_one", "earlier"):  # a new name, and overwriting the earlier one
        outcome = _run_save_once(models_dir, name, limit=100_000)
        assert not outcome["ok"] and outcome["type"] == "ModelStoreError", outcome
        assert "full" in outcome["message"] and "untouched" in outcome["message"]
        outcomes[name] = outcome["message"]
        assert _snapshot(models_dir) == before
    assert [record.name for record in list_models(models_dir)] == ["earlier"]
    load_model(models_dir / "earlier.keras")
    _record("full_disk", {"cases": 2, "held": True, "message": outcomes["new_one"][:200]})


def test_read_only_folder_gives_a_clear_message_and_keeps_earlier_files(models_with_one_saved: Path) -> None:
    models_dir = models_with_one_saved
    before = _snapshot(models_dir)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        # Root ignores file permissions; run the saver as root without the capabilities that do so.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a folder read-only for the saver")
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")
    os.chmod(models_dir, 0o555)
    try:
        outcomes = [_run_save_once(models_dir, name, prefix=prefix) for name in ("new_one", "earlier")]
    finally:
        os.chmod(models_dir, 0o755)
    for outcome in outcomes:
        assert not outcome["ok"] and outcome["type"] == "ModelStoreError", outcome
        assert "read-only" in outcome["message"] and "untouched" in outcome["message"]
    assert _snapshot(models_dir) == before
    load_model(models_dir / "earlier.keras")
    _record("read_only", {"cases": 2, "held": True, "message": outcomes[0]["message"][:200]})
