"""``python -m cnnviz train``: a design file trained from the terminal, as the Train page would, and saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cnnviz.train.command import DesignError, epoch_line, read_design
from cnnviz.train.loop import EpochProgress, TrainConfig
from cnnviz.train.spec import ConvBlockSpec, ModelSpec
from tests.support.paths import REPO_ROOT

DESIGN = {
    "spec": ModelSpec(conv_blocks=(ConvBlockSpec(filters=4),), dropout=0.0, dense_units=()).to_dict(),
    "train_config": TrainConfig(epochs=2, train_size=200, batch_size=32, early_stopping=False, seed=5).to_dict(),
    "dataset": "digits",
}
DESIGN = json.loads(json.dumps(DESIGN))  # as a file holds it (lists, not tuples)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not JSON"),
    ('{"spec": {}}', "Expected a JSON object with 'spec' and 'train_config'"),
    ("[1, 2]", "Expected a JSON object"),
])
def test_a_design_file_that_is_not_a_design_is_refused_with_what_is_expected(tmp_path, text, message) -> None:
    path = tmp_path / "design.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DesignError, match=message):
        read_design(path)


def test_an_epoch_line_gives_every_metric_and_the_time() -> None:
    progress = EpochProgress(epoch=1, epochs=5, logs={"loss": 0.12345, "accuracy": 0.961, "val_loss": 0.0987},
                             history={}, filters=None, seconds=3.0)
    assert epoch_line(progress, 12.34) == "epoch 2/5: loss 0.1235, accuracy 96.10%, val_loss 0.0987 (12.3 s)"


def run_command(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnviz", "train", *arguments], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_a_missing_design_file_is_a_message_and_status_2(tmp_path) -> None:
    done = run_command(str(tmp_path / "missing.json"))
    assert done.returncode == 2 and "Cannot read the design file" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_command_trains_a_design_locally_prints_each_epoch_and_saves_a_design_again(tmp_path) -> None:
    design = tmp_path / "design.json"
    design.write_text(json.dumps(DESIGN), encoding="utf-8")
    done = run_command(str(design), "--backend", "local", "--save", "from cli", "--models-dir", str(tmp_path),
                       env={"CNNVIZ_RAY_ADDRESS": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]
    final = next(line for line in lines if line.startswith("test accuracy "))
    accuracy = float(final.split()[2].rstrip("%")) / 100
    assert 0.0 <= accuracy <= 1.0 and "after 2 epochs" in final and "(local backend)" in final
    sidecar = json.loads((tmp_path / "from_cli.json").read_text(encoding="utf-8"))
    assert (tmp_path / "from_cli.keras").exists()
    assert sidecar["dataset"] == "digits" and sidecar["spec"] == DESIGN["spec"]
    assert sidecar["train_config"] == DESIGN["train_config"] and len(sidecar["history"]["loss"]) == 2
    assert sidecar["test_metrics"]["accuracy"] == pytest.approx(accuracy, abs=5e-5)
    assert read_design(tmp_path / "from_cli.json")["train_config"] == DESIGN["train_config"]  # a design again
