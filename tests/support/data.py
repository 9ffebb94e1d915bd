"""Dataset situations that several tests set up the same way."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cnnviz.core import datasets
from cnnviz.core.datasets import Dataset, load_dataset


def only_mnist_test_split(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Dataset]:
    """Make MNIST's official test split the only MNIST this process can find; return its folder and the dataset.

    The situation of an offline machine with ``../shared/data``: the studio divides the test split into its
    training and test parts (``Dataset.split_from_test``), and code that reproduces the studio must do the same.
    """
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(shared_data / "mnist" / name, folder / name)
    # Nothing else on this machine may offer the full MNIST to the studio.
    monkeypatch.delenv("CNNVIZ_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(datasets, "DEBIAN_DATASETS_DIR", tmp_path / "debian")
    monkeypatch.chdir(tmp_path)
    studio = load_dataset("mnist", data_dir=folder, allow_download=False)
    assert studio.split_from_test
    return folder, studio
