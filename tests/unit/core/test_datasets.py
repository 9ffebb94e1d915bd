"""The dataset layer on the real offline files and on small files written here in every supported format."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from cnnviz.core import datasets as data
from cnnviz.core.datasets import (
    CorruptDatasetError,
    DatasetNotFoundError,
    UnknownDatasetError,
    load_dataset,
    read_idx,
    stratified_split,
)


@pytest.fixture(autouse=True)
def isolated_search(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Search only where each test says: no env folder, no ./data, no Debian folder, an empty Keras cache."""
    monkeypatch.delenv("CNNVIZ_DATA_DIR", raising=False)
    monkeypatch.setenv("CNNVIZ_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(data, "DEBIAN_DATASETS_DIR", tmp_path / "no-debian")
    monkeypatch.chdir(tmp_path)
    data.clear_cache()
    yield
    data.clear_cache()


def _images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, 28, 28), dtype=np.uint8)


def _labels(count: int) -> np.ndarray:
    return (np.arange(count) % 10).astype(np.uint8)


def write_idx(path: Path, array: np.ndarray, *, compress: bool = True) -> Path:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)
    return path


def write_idx_split(folder: Path, prefix: str, count: int, *, compress: bool = True) -> None:
    suffix = ".gz" if compress else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", _images(count), compress=compress)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", _labels(count), compress=compress)


# --- the real offline files ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "kmnist"])
def test_offline_test_split_is_divided_stratified(name: str, shared_data: Path):
    dataset = load_dataset(name, data_dir=shared_data)
    assert dataset.x_train.shape == (8000, 28, 28) and dataset.x_test.shape == (2000, 28, 28)
    assert dataset.x_train.dtype == np.uint8 and dataset.y_train.dtype == np.int64
    assert dataset.split_from_test and "8,000 training and 2,000 test" in dataset.note
    assert str(shared_data / name) in dataset.source
    # Stratified: every class keeps its share of the official 10,000 (within one image).
    official = np.concatenate([dataset.y_train, dataset.y_test])
    expected_test = np.bincount(official, minlength=10) * 0.2
    assert np.all(np.abs(np.bincount(dataset.y_test, minlength=10) - expected_test) <= 1)


def test_offline_mnist_matches_the_official_file_byte_for_byte(shared_data: Path):
    dataset = load_dataset("mnist", data_dir=shared_data)
    official = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")
    assert official.shape == (10000, 28, 28)
    together = np.concatenate([dataset.x_train, dataset.x_test])
    assert together.sum(dtype=np.int64) == official.sum(dtype=np.int64)


def test_kmnist_class_names_are_hiragana_with_romaji(shared_data: Path):
    dataset = load_dataset("kmnist", data_dir=shared_data)
    assert dataset.class_names[0] == "お (o)" and dataset.class_names[9] == "を (wo)"


def test_environment_variable_is_searched(monkeypatch: pytest.MonkeyPatch, shared_data: Path):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(shared_data))
    assert "CNNVIZ_DATA_DIR" in load_dataset("mnist").source


def test_the_portable_source_names_the_folder_without_this_machines_path(tmp_path: Path, monkeypatch):
    # A saved model's sidecar records portable_source: it must mean the same on another machine.
    write_idx_split(tmp_path / "env" / "mnist", "t10k", 50)
    write_idx_split(tmp_path / "data" / "kmnist", "train", 40)
    write_idx_split(tmp_path / "data" / "kmnist", "t10k", 10)
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "env"))
    mnist, kmnist = load_dataset("mnist"), load_dataset("kmnist")
    assert str(tmp_path) in mnist.source and str(tmp_path) in kmnist.source  # the page still shows the folder
    assert mnist.portable_source == (
        "MNIST handwritten digits, official test split only (50 images), "
        "read from the mnist/ folder in CNNVIZ_DATA_DIR."
    )
    assert kmnist.portable_source == (
        "Kuzushiji-MNIST, official train (40) and test (10) splits, read from the kmnist/ folder in ./data."
    )
    digits = load_dataset("digits")
    assert digits.portable_source == digits.source and "/" not in digits.portable_source


def test_debian_fashion_mnist_is_complete(monkeypatch: pytest.MonkeyPatch):
    debian = Path("/usr/share/datasets")
    if not (debian / "fashion-mnist").is_dir():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    monkeypatch.setattr(data, "DEBIAN_DATASETS_DIR", debian)
    dataset = load_dataset("fashion_mnist")
    assert dataset.split_sizes() == {"train": 60000, "test": 10000}
    assert not dataset.note and "Debian" in dataset.source
    assert dataset.class_names[9] == "Ankle boot"


# --- every supported format, written here --------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_idx_files_in_a_dataset_subfolder(tmp_path: Path, compress: bool):
    write_idx_split(tmp_path / "store" / "fashion-mnist", "train", 50, compress=compress)
    write_idx_split(tmp_path / "store" / "fashion-mnist", "t10k", 20, compress=compress)
    dataset = load_dataset("fashion_mnist", data_dir=tmp_path / "store")
    assert dataset.split_sizes() == {"train": 50, "test": 20}
    np.testing.assert_array_equal(dataset.x_train, _images(50))
    assert not dataset.split_from_test


def test_data_dir_may_be_the_dataset_folder_itself(tmp_path: Path):
    write_idx_split(tmp_path / "mine", "train", 30)
    write_idx_split(tmp_path / "mine", "t10k", 10)
    assert load_dataset("mnist", data_dir=tmp_path / "mine").split_sizes() == {"train": 30, "test": 10}


def test_keras_mnist_npz(tmp_path: Path):
    np.savez(
        tmp_path / "mnist.npz", x_train=_images(40), y_train=_labels(40), x_test=_images(10, 1), y_test=_labels(10)
    )
    dataset = load_dataset("mnist", data_dir=tmp_path)
    assert dataset.split_sizes() == {"train": 40, "test": 10}


def test_mnist_npz_in_the_keras_cache(tmp_path: Path):
    cache = tmp_path / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", x_train=_images(40), y_train=_labels(40), x_test=_images(10, 1), y_test=_labels(10))
    assert "Keras cache" in load_dataset("mnist").source


def test_kmnist_npz_files_in_dot_data(tmp_path: Path):
    folder = tmp_path / "data" / "kmnist"
    folder.mkdir(parents=True)
    for split, count in (("train", 30), ("test", 20)):
        np.savez_compressed(folder / f"kmnist-{split}-imgs.npz", _images(count))
        np.savez_compressed(folder / f"kmnist-{split}-labels.npz", _labels(count))
    dataset = load_dataset("kmnist")
    assert dataset.split_sizes() == {"train": 30, "test": 20}
    assert "./data" in dataset.source


def test_complete_data_later_in_the_order_beats_a_lone_test_split_earlier(tmp_path: Path, monkeypatch):
    write_idx_split(tmp_path / "env" / "mnist", "t10k", 50)
    write_idx_split(tmp_path / "data" / "mnist", "train", 60)
    write_idx_split(tmp_path / "data" / "mnist", "t10k", 50)
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "env"))
    assert load_dataset("mnist").split_sizes() == {"train": 60, "test": 50}


def test_arrays_are_read_only_and_shared(tmp_path: Path):
    write_idx_split(tmp_path / "mnist", "t10k", 50)
    first = load_dataset("mnist", data_dir=tmp_path)
    assert load_dataset("mnist", data_dir=tmp_path) is first
    with pytest.raises(ValueError):
        first.x_train[0, 0, 0] = 1


# --- failures ------------------------------------------------------------------------------


def test_truncated_gzip_names_the_file(tmp_path: Path):
    write_idx_split(tmp_path / "mnist", "t10k", 50)
    bad = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(CorruptDatasetError, match="t10k-images-idx3-ubyte.gz") as info:
        load_dataset("mnist", data_dir=tmp_path)
    assert info.value.path == bad


def test_idx_with_wrong_length_names_the_file(tmp_path: Path):
    path = write_idx(tmp_path / "x-ubyte", _images(3), compress=False)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CorruptDatasetError, match="promises"):
        read_idx(path)


def test_garbage_npz_names_the_file(tmp_path: Path):
    folder = tmp_path / "kmnist"
    folder.mkdir()
    (folder / "kmnist-test-imgs.npz").write_bytes(b"not a zip at all")
    np.savez(folder / "kmnist-test-labels.npz", _labels(10))
    with pytest.raises(CorruptDatasetError, match="kmnist-test-imgs.npz"):
        load_dataset("kmnist", data_dir=tmp_path)


def test_labels_out_of_range_are_reported(tmp_path: Path):
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", _images(10))
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.full(10, 12, dtype=np.uint8))
    with pytest.raises(CorruptDatasetError, match="labels must be 0..9"):
        load_dataset("mnist", data_dir=tmp_path)


def test_nothing_found_lists_every_place_and_the_fix(tmp_path: Path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path / "empty")
    message = str(info.value)
    for place in ("data_dir argument", "./data", "Debian", "Keras cache", "CNNVIZ_OFFLINE"):
        assert place in message
    assert "digits" in message and len(info.value.tried) >= 5


@pytest.mark.parametrize("allow_download", [False, True])
def test_the_fix_says_whether_downloads_are_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         allow_download: bool):
    # Offline, "connect to the internet" cannot help: the message says downloads are off and how to give files.
    def no_network() -> Path:
        raise OSError("Name or service not known")

    monkeypatch.setitem(data._DOWNLOADERS, "kmnist", no_network)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("kmnist", data_dir=tmp_path / "empty", allow_download=allow_download)
    message = str(info.value)
    assert ("connect to the internet" in message) is allow_download
    assert ("Downloads are switched off" in message) is not allow_download
    assert "put the official files in a folder 'kmnist/'" in message


def test_a_failed_download_is_reported(monkeypatch: pytest.MonkeyPatch):
    def no_network() -> Path:
        raise OSError("Name or service not known")

    monkeypatch.setitem(data._DOWNLOADERS, "kmnist", no_network)
    with pytest.raises(DatasetNotFoundError, match="download via the official KMNIST files from CODH: failed"):
        load_dataset("kmnist", allow_download=True)


def test_download_verified_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source = tmp_path / "remote.bin"
    source.write_bytes(b"x" * 1000)
    target = tmp_path / "cache" / "file.gz"
    with pytest.raises(data.DatasetError, match="checksum"):
        data.download_verified(source.as_uri(), target, sha256="0" * 64)
    assert not target.exists() and list(target.parent.iterdir()) == []
    import hashlib

    data.download_verified(source.as_uri(), target, sha256=hashlib.sha256(b"x" * 1000).hexdigest())
    assert target.read_bytes() == b"x" * 1000


@pytest.mark.parametrize("name", ["cifar10", "", "MNIST", None, 3])
def test_unknown_names_are_refused(name):
    with pytest.raises(UnknownDatasetError, match="expected one of"):
        load_dataset(name)  # type: ignore[arg-type]


# --- digits and splitting --------------------------------------------------------------------


def test_digits_need_no_files_and_look_like_mnist():
    dataset = load_dataset("digits")
    assert dataset.split_sizes() == {"train": 1438, "test": 359}
    assert dataset.x_train.dtype == np.uint8 and dataset.x_train.shape[1:] == (28, 28)
    # MNIST-style: the 4-pixel border is empty and the ink's centre of mass is near the centre.
    image = dataset.x_train[0].astype(float)
    assert image[:3].sum() == 0 and image[-3:].sum() == 0
    rows, cols = np.indices(image.shape)
    assert abs((rows * image).sum() / image.sum() - 13.5) < 1.5


def test_stratified_split_is_deterministic_and_a_partition():
    labels = np.repeat(np.arange(5), [10, 20, 30, 40, 50])
    train, test = stratified_split(labels)
    again_train, again_test = stratified_split(labels)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(test, again_test)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(150))
    np.testing.assert_array_equal(np.bincount(labels[test]), [2, 4, 6, 8, 10])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 2])
def test_stratified_split_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(np.arange(10) % 2, test_fraction=fraction)
