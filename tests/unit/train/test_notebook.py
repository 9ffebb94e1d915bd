"""cnnviz.train.notebook: the exported notebook is valid, explains every step, and reproduces the studio's run."""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest

from cnnviz.__main__ import main as cli_main
from cnnviz.core import datasets
from cnnviz.core.datasets import load_dataset
from cnnviz.train.loop import TrainConfig, prepare_data, train_model
from cnnviz.train.notebook import CODE_CELL_IDS, design_notebook, notebook_text
from cnnviz.train.spec import ConvBlockSpec, ModelSpec, build_model
from tests.support.data import only_mnist_test_split

SMALL_SPEC = ModelSpec(conv_blocks=(ConvBlockSpec(filters=4),), dropout=0.25, dense_units=(16,))
# One epoch on 800 images is enough to learn well above chance (about 73% on the digits), so equal accuracies say
# the notebook trained the same network, not that both guessed.
TINY_CONFIG = TrainConfig(epochs=1, train_size=1000, batch_size=16, learning_rate=0.01, validation_split=0.2, seed=7,
                          early_stopping=True, patience=1)


def code_cells(notebook: nbformat.NotebookNode) -> dict[str, str]:
    return {cell.id: cell.source for cell in notebook.cells if cell.cell_type == "code"}


def test_the_notebook_is_valid_and_explains_each_code_cell() -> None:
    notebook = design_notebook(SMALL_SPEC, TINY_CONFIG, "mnist")
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds == ["markdown", "code"] * len(CODE_CELL_IDS)
    assert list(code_cells(notebook)) == list(CODE_CELL_IDS)
    for source in code_cells(notebook).values():
        ast.parse(source)  # each cell is valid Python on its own
        assert "import cnnviz" not in source and "from cnnviz" not in source
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    for words in ("MNIST handwritten digits", "validation", "Early stopping", "seed (**7**)", "Test accuracy",
                  "conv_1", "overfitting"):
        assert words in markdown


def test_the_notebook_carries_the_settings_the_split_and_the_callbacks() -> None:
    config = TrainConfig(optimizer="sgd", learning_rate=0.01, epochs=4, early_stopping=False, seed=3,
                         lr_schedule="constant")
    cells = code_cells(design_notebook(SMALL_SPEC, config, "kmnist", split_of_test=True, data_dir="/data/kmnist"))
    assert 'DATA_DIR = "/data/kmnist"' in cells["settings"] and "SPLIT_OF_TEST = True" in cells["settings"]
    assert "EPOCHS = 4" in cells["settings"] and "SEED = 3" in cells["settings"]
    assert "keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)" in cells["compile"]
    assert "callbacks=[]" in cells["fit"]
    assert "LEARNING_RATE" not in cells["settings"] and "cosine" not in cells["compile"]
    notebook = design_notebook(SMALL_SPEC, TINY_CONFIG, "digits")
    with_stopping = code_cells(notebook)
    assert 'EarlyStopping(\n            monitor="val_loss", patience=1' in with_stopping["fit"]
    assert "SPLIT_OF_TEST" not in with_stopping["settings"]
    # TINY_CONFIG's learning rate follows the cosine schedule: defined and explained where the optimizer is.
    assert TINY_CONFIG.lr_schedule == "cosine" and "LEARNING_RATE = 0.01" in with_stopping["settings"]
    assert "def cosine_learning_rate(epoch, current_rate)" in with_stopping["compile"]
    assert "keras.callbacks.LearningRateScheduler(cosine_learning_rate)" in with_stopping["fit"]
    compile_text = next(cell.source for cell in notebook.cells[:-1]
                        if cell.cell_type == "markdown" and "How it learns" in cell.source)
    assert "**cosine decay**" in compile_text and "LearningRateScheduler" in compile_text


def test_the_data_lab_is_explained_and_its_damage_is_in_the_code() -> None:
    damaged = TrainConfig(label_noise=0.3, imbalance_classes=(3,), imbalance_keep=0.1)
    notebook = design_notebook(SMALL_SPEC, damaged, "digits")
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "The data lab is on" in markdown and "30% labels noisy" in markdown
    assert "LABEL_NOISE = 0.3" in code_cells(notebook)["settings"]
    assert "damage_training_data(" in code_cells(notebook)["prepare"]
    assert "data lab" not in "\n".join(cell.source for cell in design_notebook(SMALL_SPEC, TINY_CONFIG).cells)


def test_the_cli_writes_a_notebook_from_a_design_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design = tmp_path / "design.json"
    design.write_text(json.dumps({"dataset": "digits", "spec": SMALL_SPEC.to_dict(),
                                  "train_config": TINY_CONFIG.to_dict()}))
    output = tmp_path / "run.ipynb"
    assert cli_main(["notebook", str(design), "-o", str(output)]) == 0
    written = nbformat.read(output, as_version=4)
    assert code_cells(written) == code_cells(design_notebook(SMALL_SPEC, TINY_CONFIG, "digits"))
    assert "Wrote" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["not json", '{"train_config": {}}', '{"spec": {"dropout": "lots"}}',
                                     '{"spec": {}, "train_config": {"epochs": 0}}'])
def test_the_cli_refuses_a_bad_design_file_with_a_message(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    design = tmp_path / "design.json"
    design.write_text(content)
    assert cli_main(["notebook", str(design), "-o", str(tmp_path / "run.ipynb")]) == 2
    assert "Could not write the notebook" in capsys.readouterr().err
    assert not (tmp_path / "run.ipynb").exists()


def test_the_download_text_is_the_notebook() -> None:
    text = notebook_text(SMALL_SPEC, TINY_CONFIG, "digits")
    assert code_cells(nbformat.reads(text, as_version=4)) == code_cells(design_notebook(SMALL_SPEC, TINY_CONFIG,
                                                                                        "digits"))


def _insert_after(notebook: nbformat.NotebookNode, cell_id: str, source: str) -> None:
    index = next(index for index, cell in enumerate(notebook.cells) if cell.get("id") == cell_id)
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))


def _execute(notebook: nbformat.NotebookNode, folder: Path) -> dict[str, np.ndarray]:
    """Run ``notebook`` in a python3 kernel with cells added that save its arrays; return those arrays."""
    from nbclient import NotebookClient

    _insert_after(notebook, "load-data", f"np.savez({str(folder / 'loaded.npz')!r}, x_train=x_train, "
                  "y_train=y_train, x_test=x_test, y_test=y_test)")
    _insert_after(notebook, "prepare", f"np.savez({str(folder / 'prepared.npz')!r}, x_train=x_train, "
                  "y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test)")
    notebook.cells.append(nbformat.v4.new_code_cell(
        f"import sys\nnp.savez({str(folder / 'result.npz')!r}, test_accuracy=test_accuracy, "
        "python=np.array(sys.executable))"
    ))
    NotebookClient(notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}}
                   ).execute()
    curves = next(cell for cell in notebook.cells if cell.get("id") == "curves")
    assert any(output.output_type == "display_data" for output in curves.outputs)
    arrays = {}
    for name in ("loaded", "prepared", "result"):
        with np.load(folder / f"{name}.npz") as data:
            arrays.update({f"{name}_{key}": data[key] for key in data.files})
    return arrays


def _assert_reproduces(arrays: dict[str, np.ndarray], dataset: datasets.Dataset, config: TrainConfig) -> None:
    for key in ("x_train", "y_train", "x_test", "y_test"):
        expected = np.asarray(getattr(dataset, key))
        assert arrays[f"loaded_{key}"].dtype == expected.dtype and np.array_equal(arrays[f"loaded_{key}"], expected)
    prepared = prepare_data(dataset, config)
    for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        expected = getattr(prepared, key)
        assert arrays[f"prepared_{key}"].dtype == expected.dtype
        assert arrays[f"prepared_{key}"].tobytes() == expected.tobytes()
    # The kernel is this project's Python (python3 is the venv's ipykernel), so the same Keras trained it.
    assert Path(str(arrays["result_python"])) == Path(sys.executable)
    result = train_model(build_model(SMALL_SPEC, len(dataset.class_names), seed=config.seed), prepared, config)
    assert result.test_metrics["accuracy"] > 0.3  # learned something, well above chance (10%)
    assert abs(float(arrays["result_test_accuracy"]) - result.test_metrics["accuracy"]) <= 0.01


@pytest.mark.slow
def test_the_executed_notebook_reproduces_the_studios_run_on_the_digits_with_the_data_lab_on(tmp_path: Path) -> None:
    damaged = replace(TINY_CONFIG, label_noise=0.2, imbalance_classes=(3,), imbalance_keep=0.5)
    notebook = design_notebook(SMALL_SPEC, damaged, "digits")
    _assert_reproduces(_execute(notebook, tmp_path), load_dataset("digits"), damaged)


@pytest.mark.slow
def test_the_executed_notebook_divides_the_official_test_split_like_the_studio(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only MNIST's official test split is found: studio and notebook divide it the same way and train alike."""
    folder, studio = only_mnist_test_split(shared_data, tmp_path, monkeypatch)
    notebook = design_notebook(SMALL_SPEC, TINY_CONFIG, "mnist", split_of_test=True, data_dir=str(folder))
    _assert_reproduces(_execute(notebook, tmp_path), studio, TINY_CONFIG)
