"""cnnviz.train.share: the Train page's link table, design_link and ``python -m cnnviz link``."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import pytest

from cnnviz.__main__ import main
from cnnviz.train.loop import TrainConfig
from cnnviz.train.share import TRAIN_TABLE, DesignLinkError, design_link, design_values
from cnnviz.train.spec import ConvBlockSpec, ModelSpec
from tests.support.paths import REPO_ROOT

#: The Keras MNIST tutorial's network, as far as the Train page can show it (one dropout layer).
TUTORIAL_SPEC = ModelSpec(
    conv_blocks=(ConvBlockSpec(filters=32, pooling="none"), ConvBlockSpec(filters=64)),
    dropout=0.25, dense_units=(128,),
)
TUTORIAL_CONFIG = TrainConfig(optimizer="adadelta", learning_rate=1.0, epochs=12, batch_size=128)


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_defaults_give_a_bare_link():
    assert design_link(ModelSpec().to_dict(), TrainConfig().to_dict()) == "http://localhost:8501/train"


def test_design_link_reads_back_as_the_same_design():
    url = design_link(TUTORIAL_SPEC.to_dict(), TUTORIAL_CONFIG.to_dict(), dataset="fashion_mnist",
                      base_url="https://studio.example/")
    assert url.startswith("https://studio.example/train?")
    values, ignored = TRAIN_TABLE.decode(_query(url))
    assert ignored == []
    expected = design_values(TUTORIAL_SPEC, TUTORIAL_CONFIG, "fashion_mnist")
    assert {key: values[key] for key in expected} == expected
    assert _query(url)["opt"] == "adadelta" and _query(url)["epochs"] == "12" and _query(url)["b1pool"] == "none"


def test_data_lab_settings_are_in_the_link():
    config = TrainConfig(label_noise=0.2, imbalance_classes=(7, 1), imbalance_keep=0.25)
    query = _query(design_link(ModelSpec().to_dict(), config.to_dict()))
    assert query == {"noise": "0.2", "rare": "1_7", "keep": "0.25"}


def test_the_learning_rate_schedule_is_in_the_link_and_an_old_design_keeps_its_constant_rate():
    constant = TrainConfig(lr_schedule="constant")
    assert _query(design_link(ModelSpec().to_dict(), constant.to_dict())) == {"sched": "constant"}
    saved_before_schedules = {key: value for key, value in TrainConfig(learning_rate=0.001, batch_size=32).to_dict()
                              .items() if key != "lr_schedule"}
    assert _query(design_link(ModelSpec().to_dict(), saved_before_schedules)) == {
        "lr": "0.001", "sched": "constant", "batch": "32"}


def test_a_design_the_page_cannot_show_names_every_setting():
    spec = ModelSpec(conv_blocks=(ConvBlockSpec(filters=10, kernel_size=7),), dense_units=(100,))
    with pytest.raises(DesignLinkError) as error:
        design_link(spec.to_dict(), TrainConfig(learning_rate=0.002).to_dict())
    for words in ("filters 10", "kernel 7", "units 100", "learning rate 0.002"):
        assert words in str(error.value)


def test_a_file_that_is_not_a_design_is_refused():
    with pytest.raises(DesignLinkError):
        design_link({"conv_blocks": "three"}, {})


def test_cli_prints_the_link_of_a_sidecar(tmp_path, capsys):
    design = tmp_path / "design.json"
    design.write_text(json.dumps({"spec": TUTORIAL_SPEC.to_dict(), "train_config": TUTORIAL_CONFIG.to_dict(),
                                  "dataset": "mnist", "history": {}}))
    assert main(["link", str(design)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == design_link(TUTORIAL_SPEC.to_dict(), TUTORIAL_CONFIG.to_dict(), dataset="mnist")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", json.dumps({"spec": {}})])
def test_cli_explains_a_bad_file(tmp_path, capsys, content):
    design = tmp_path / "design.json"
    design.write_text(content)
    assert main(["link", str(design)]) == 2
    assert "design.json" in capsys.readouterr().err


def test_cli_runs_as_a_module_on_a_shipped_sidecar():
    result = subprocess.run([sys.executable, "-m", "cnnviz", "link", "models/default_mnist.json", "--base-url",
                             "http://class.example:8501"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("http://class.example:8501/train")
    sidecar = json.loads((REPO_ROOT / "models" / "default_mnist.json").read_text())
    values, ignored = TRAIN_TABLE.decode(_query(result.stdout.strip()))
    assert ignored == []
    assert values["train_epochs"] == sidecar["train_config"]["epochs"]
    assert values["train_blocks"] == len(sidecar["spec"]["conv_blocks"])
