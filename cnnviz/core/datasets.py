"""The dataset layer: MNIST, Fashion-MNIST, Kuzushiji-MNIST and scikit-learn's digits.

``load_dataset(name)`` returns a :class:`Dataset` whose arrays are uint8
``(N, 28, 28)`` images with integer labels. It looks for the datasets' official
file formats in these places, in order, and uses the first that has them:

1. the ``data_dir`` argument;
2. the ``CNNVIZ_DATA_DIR`` environment variable;
3. ``./data/`` in the current directory (git-ignored);
4. Debian's ``/usr/share/datasets/`` (package ``dataset-fashion-mnist``);
5. the Keras cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``);
6. the official downloads (Keras's loaders for MNIST and Fashion-MNIST, the
   published KMNIST files with checksum verification).

Inside a folder each dataset may sit in a sub-folder named after it
(``mnist/``, ``fashion-mnist/``, ``kmnist/``) or, for the ``data_dir`` argument,
in the folder itself. When only a test split is found (the offline machines
hold only the official *test* splits of MNIST and KMNIST), it is split
deterministically and stratified into train and test, and ``Dataset.note`` says
so. ``"digits"`` needs no files and no network: scikit-learn's bundled 8x8
digits rescaled MNIST-style into 28x28.

Arrays are loaded once per process and shared read-only.

This module does not import TensorFlow; Keras is imported only to download.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import threading
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The fraction of a lone split kept for testing when it has to be divided.
TEST_FRACTION = 0.2
#: Seed of the deterministic, stratified split (and of the digits split).
SPLIT_SEED = 0
#: Debian's folder for packaged datasets.
DEBIAN_DATASETS_DIR = Path("/usr/share/datasets")
#: Seconds to wait for a download server before giving up.
DOWNLOAD_TIMEOUT_S = 30

DIGIT_NAMES: tuple[str, ...] = tuple(str(digit) for digit in range(10))
FASHION_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# From the dataset's kmnist_classmap.csv: the hiragana with its romaji reading.
KMNIST_NAMES: tuple[str, ...] = (
    "お (o)",
    "き (ki)",
    "す (su)",
    "つ (tsu)",
    "な (na)",
    "は (ha)",
    "ま (ma)",
    "や (ya)",
    "れ (re)",
    "を (wo)",
)


@dataclass(frozen=True)
class DatasetInfo:
    """What the studio tells a user about a dataset before loading it."""

    name: str
    title: str
    description: str
    class_names: tuple[str, ...]
    folder_names: tuple[str, ...]
    citation: str


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist",
        title="MNIST handwritten digits",
        description="70,000 handwritten digits 0-9 by US Census employees and students, "
        "size-normalised and centred in 28x28 grey images. The 'hello world' of CNNs.",
        class_names=DIGIT_NAMES,
        folder_names=("mnist", "MNIST"),
        citation="MNIST by Y. LeCun, C. Cortes and C. Burges.",
    ),
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        title="Fashion-MNIST",
        description="70,000 28x28 grey photos of Zalando clothing in 10 classes; a drop-in "
        "replacement for MNIST that is harder to get right.",
        class_names=FASHION_NAMES,
        folder_names=("fashion-mnist", "fashion_mnist", "FashionMNIST"),
        citation="Fashion-MNIST by Zalando Research (MIT licence).",
    ),
    "kmnist": DatasetInfo(
        name="kmnist",
        title="Kuzushiji-MNIST",
        description="70,000 28x28 images of ten cursive Japanese hiragana (kuzushiji) from "
        "classical books; each class is written in many historical styles.",
        class_names=KMNIST_NAMES,
        folder_names=("kmnist", "KMNIST"),
        citation='"KMNIST Dataset" (created by CODH), adapted from "Kuzushiji Dataset" '
        "(created by NIJL and others), doi:10.20676/00000341, CC BY-SA 4.0.",
    ),
    "digits": DatasetInfo(
        name="digits",
        title="scikit-learn digits (built in)",
        description="1,797 handwritten 8x8 digits bundled with scikit-learn, rescaled "
        "MNIST-style into 28x28. Small and always available, even offline.",
        class_names=DIGIT_NAMES,
        folder_names=(),
        citation="UCI Optical Recognition of Handwritten Digits, bundled with scikit-learn.",
    ),
}


class DatasetError(ValueError):
    """A dataset could not be loaded; the message says why and what to do."""


class UnknownDatasetError(DatasetError):
    """The dataset name is not one the studio knows."""


class DatasetNotFoundError(DatasetError):
    """No files were found and no download succeeded.

    Attributes:
        tried: every place that was looked at, with what was found there.
    """

    def __init__(self, message: str, tried: list[str]):
        super().__init__(message)
        self.tried = tried


class CorruptDatasetError(DatasetError):
    """A dataset file exists but cannot be read; ``path`` names it."""

    def __init__(self, path: Path, reason: str):
        super().__init__(
            f"The dataset file {path} is corrupt or truncated ({reason}). "
            "Delete it and copy or download it again."
        )
        self.path = path


@dataclass(frozen=True)
class Dataset:
    """A dataset ready to train on.

    Attributes:
        name: the key in :data:`DATASETS`.
        x_train, x_test: uint8 (N, 28, 28), 0 = background. Read-only.
        y_train, y_test: int64 (N,) class indices. Read-only.
        class_names: one display name per class index.
        source: where the arrays came from, in words a user understands, with this machine's folder.
        note: anything the user should know about how the data was prepared ('' if nothing).
        split_from_test: True when only the official test split was found and it was divided.
        provenance: ``source`` without this machine's paths ("... read from the mnist/ folder in
            CNNVIZ_DATA_DIR."): what a saved model's sidecar records, so it means the same on another
            machine. '' when built by hand; then :attr:`portable_source` falls back to ``source``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    note: str = ""
    split_from_test: bool = False
    provenance: str = ""
    info: DatasetInfo = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "info", DATASETS[self.name])

    @property
    def portable_source(self) -> str:
        """Where the data came from without this machine's paths (for sidecars); ``source`` if unknown."""
        return self.provenance or self.source

    @property
    def title(self) -> str:
        """The dataset's display title, e.g. "MNIST handwritten digits"."""
        return self.info.title

    @property
    def num_classes(self) -> int:
        """How many classes the labels range over."""
        return len(self.class_names)

    def split_sizes(self) -> dict[str, int]:
        """Return ``{"train": n, "test": n}``."""
        return {"train": int(len(self.y_train)), "test": int(len(self.y_test))}


# ----------------------------------------------------------------------------
# Reading the official file formats
# ----------------------------------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8}


def _open_maybe_gzip(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise CorruptDatasetError(path, f"cannot read it: {error}") from error


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the format MNIST, Fashion-MNIST and KMNIST are published in).

    Args:
        path: an ``*-ubyte`` or ``*-ubyte.gz`` file.

    Returns:
        uint8 array shaped as the header says, e.g. (N, 28, 28) images or (N,) labels.

    Raises:
        CorruptDatasetError: wrong magic number, unsupported type or truncated data.
    """
    path = Path(path)
    raw = _open_maybe_gzip(path)
    if len(raw) < 4:
        raise CorruptDatasetError(path, f"only {len(raw)} bytes, not even an IDX header")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code not in _IDX_DTYPES or not 1 <= ndim <= 3:
        raise CorruptDatasetError(path, "not an IDX file of unsigned bytes (bad magic number)")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise CorruptDatasetError(path, "the header is cut short")
    shape = struct.unpack(f">{ndim}I", raw[4:header_end])
    expected = int(np.prod(shape))
    if len(raw) - header_end != expected:
        raise CorruptDatasetError(
            path, f"the header promises {expected:,} values of shape {shape}, the file holds {len(raw) - header_end:,}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(shape)


def read_npz(path: str | Path, key: str | None = None) -> np.ndarray:
    """Read one array from a NumPy ``.npz`` file (KMNIST's format: the array is ``arr_0``).

    Pickled objects are refused, so a hostile file cannot run code.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if not names:
                raise CorruptDatasetError(path, "the archive holds no arrays")
            return np.asarray(archive[key if key is not None else names[0]])
    except CorruptDatasetError:
        raise
    except KeyError as error:
        raise CorruptDatasetError(path, f"it has no array named {key!r}") from error
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise CorruptDatasetError(path, f"cannot read it as .npz: {error}") from error


def read_keras_mnist_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read Keras's ``mnist.npz`` (keys x_train, y_train, x_test, y_test)."""
    return tuple(read_npz(path, key) for key in ("x_train", "y_train", "x_test", "y_test"))  # type: ignore[return-value]


# ----------------------------------------------------------------------------
# Finding files
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    images: np.ndarray
    labels: np.ndarray
    files: tuple[Path, ...]


def _first_existing(folder: Path, names: list[str]) -> Path | None:
    for name in names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _idx_pair(folder: Path, prefix: str) -> tuple[Path, Path] | None:
    images = _first_existing(folder, [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-images-idx3-ubyte",
                                      f"{prefix}-images.idx3-ubyte"])
    labels = _first_existing(folder, [f"{prefix}-labels-idx1-ubyte.gz", f"{prefix}-labels-idx1-ubyte",
                                      f"{prefix}-labels.idx1-ubyte"])
    return (images, labels) if images and labels else None


def _checked_split(images: np.ndarray, labels: np.ndarray, files: tuple[Path, ...], num_classes: int) -> _Split:
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise CorruptDatasetError(
            files[0], f"expected uint8 images of shape (N, 28, 28), found {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise CorruptDatasetError(files[-1], f"expected {len(images):,} labels, found shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise CorruptDatasetError(
            files[-1], f"labels must be 0..{num_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    return _Split(images, labels.astype(np.int64), files)


def _read_folder(name: str, folder: Path) -> tuple[_Split | None, _Split | None]:
    """Read whatever splits of ``name`` the folder holds, in any supported format."""
    num_classes = len(DATASETS[name].class_names)
    splits: dict[str, _Split | None] = {"train": None, "test": None}
    if name == "mnist":
        npz = _first_existing(folder, ["mnist.npz"])
        if npz is not None:
            x_train, y_train, x_test, y_test = read_keras_mnist_npz(npz)
            return (_checked_split(x_train, y_train, (npz,), num_classes),
                    _checked_split(x_test, y_test, (npz,), num_classes))
    for split, prefix in (("train", "train"), ("test", "t10k")):
        pair = _idx_pair(folder, prefix)
        if pair is not None:
            splits[split] = _checked_split(read_idx(pair[0]), read_idx(pair[1]), pair, num_classes)
            continue
        if name == "kmnist":
            images = _first_existing(folder, [f"kmnist-{split}-imgs.npz"])
            labels = _first_existing(folder, [f"kmnist-{split}-labels.npz"])
            if images and labels:
                splits[split] = _checked_split(read_npz(images), read_npz(labels), (images, labels), num_classes)
    return splits["train"], splits["test"]


def keras_cache_dir() -> Path:
    """The folder Keras downloads datasets into (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home) / "datasets"


def candidate_roots(data_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """The folders searched for dataset files, in order, each with a label saying why.

    Args:
        data_dir: an explicit folder (searched first, also as the dataset folder itself).
    """
    roots: list[tuple[str, Path]] = []
    if data_dir is not None:
        roots.append(("the data_dir argument", Path(data_dir).expanduser()))
    env_dir = os.environ.get("CNNVIZ_DATA_DIR")
    if env_dir:
        roots.append(("CNNVIZ_DATA_DIR", Path(env_dir).expanduser()))
    roots.append(("./data", Path.cwd() / "data"))
    roots.append(("Debian's packaged datasets", DEBIAN_DATASETS_DIR))
    roots.append(("the Keras cache", keras_cache_dir()))
    return roots


def _folders_for(name: str, data_dir: str | Path | None) -> list[tuple[str, Path]]:
    folders: list[tuple[str, Path]] = []
    for label, root in candidate_roots(data_dir):
        if label == "the data_dir argument":
            folders.append((label, root))
        if name == "mnist" and label == "the Keras cache":
            folders.append((label, root))  # Keras keeps mnist.npz at the top of its cache.
        folders.extend((label, root / sub) for sub in DATASETS[name].folder_names)
    return folders


# ----------------------------------------------------------------------------
# Splitting
# ----------------------------------------------------------------------------


def stratified_split(
    labels: np.ndarray, *, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into train and test so that every class keeps its proportion.

    Deterministic: the same labels and seed always give the same split.

    Args:
        labels: (N,) integer class labels.
        test_fraction: share of each class put into the test part, in (0, 1).
        seed: seed of the shuffling.

    Returns:
        ``(train_indices, test_indices)``, each sorted, int64, together a partition of ``range(N)``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size < 2:
        raise ValueError(f"Expected at least two labels in a 1-D array, got shape {labels.shape}.")
    if labels.dtype.kind not in "biuf":
        raise ValueError(f"Expected numeric class labels, got dtype {labels.dtype}.")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}.")
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(len(members) * test_fraction))
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))


# ----------------------------------------------------------------------------
# Downloads
# ----------------------------------------------------------------------------

_KMNIST_URL = "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"
# SHA-256 of the published KMNIST IDX files.
_KMNIST_FILES = {
    "train-images-idx3-ubyte.gz": "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
    "train-labels-idx1-ubyte.gz": "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
    "t10k-images-idx3-ubyte.gz": "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
    "t10k-labels-idx1-ubyte.gz": "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
}


def downloads_allowed() -> bool:
    """False when ``CNNVIZ_OFFLINE`` is set to a true value (1, true, yes)."""
    return os.environ.get("CNNVIZ_OFFLINE", "").strip().lower() not in {"1", "true", "yes"}


def download_verified(url: str, destination: Path, sha256: str, *, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download ``url`` to ``destination``, verifying its SHA-256; never leaves a partial file.

    The bytes go to a temporary file in the destination folder, which replaces
    ``destination`` only once complete and verified.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(1 << 16):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise DatasetError(f"The download of {url} is damaged (checksum mismatch); try again later.")
        os.replace(temp_name, destination)
    finally:
        if os.path.exists(temp_name):
            os.remove(temp_name)
    return destination


def _download_kmnist() -> Path:
    folder = keras_cache_dir() / "kmnist"
    for filename, sha256 in _KMNIST_FILES.items():
        target = folder / filename
        if not target.is_file():
            download_verified(_KMNIST_URL + filename, target, sha256)
    return folder


def _download_with_keras(name: str) -> Path:
    import keras  # Imported only here: it pulls in TensorFlow.

    loader = keras.datasets.mnist if name == "mnist" else keras.datasets.fashion_mnist
    loader.load_data()
    return keras_cache_dir() if name == "mnist" else keras_cache_dir() / "fashion-mnist"


_DOWNLOADERS: dict[str, Callable[[], Path]] = {
    "mnist": lambda: _download_with_keras("mnist"),
    "fashion_mnist": lambda: _download_with_keras("fashion_mnist"),
    "kmnist": _download_kmnist,
}
_DOWNLOAD_SOURCES = {
    "mnist": "Keras's MNIST download",
    "fashion_mnist": "Keras's Fashion-MNIST download",
    "kmnist": "the official KMNIST files from CODH",
}


# ----------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _assemble(name: str, train: _Split | None, test: _Split | None, where: tuple[str, str]) -> Dataset:
    """Build the dataset; ``where`` is (the folder in words with its path, the same without the path)."""
    info = DATASETS[name]
    if train is not None and test is not None:
        sizes = f"{info.title}, official train ({len(train.labels):,}) and test ({len(test.labels):,}) splits"
        return Dataset(
            name=name,
            x_train=_readonly(train.images),
            y_train=_readonly(train.labels),
            x_test=_readonly(test.images),
            y_test=_readonly(test.labels),
            class_names=info.class_names,
            source=f"{sizes}, read from {where[0]}.",
            provenance=f"{sizes}, read from {where[1]}.",
        )
    lone = test if test is not None else train
    assert lone is not None
    lone_name = "test" if test is not None else "training"
    train_idx, test_idx = stratified_split(lone.labels)
    return Dataset(
        name=name,
        x_train=_readonly(lone.images[train_idx]),
        y_train=_readonly(lone.labels[train_idx]),
        x_test=_readonly(lone.images[test_idx]),
        y_test=_readonly(lone.labels[test_idx]),
        class_names=info.class_names,
        source=f"{info.title}, official {lone_name} split only ({len(lone.labels):,} images), read from {where[0]}.",
        provenance=f"{info.title}, official {lone_name} split only ({len(lone.labels):,} images), "
        f"read from {where[1]}.",
        note=(
            f"Only the official {lone_name} split was found, so it was divided (stratified by class, "
            f"seed {SPLIT_SEED}) into {len(train_idx):,} training and {len(test_idx):,} test images. "
            "Accuracies are therefore measured on 20% of that split, not on the official test set."
        ),
        split_from_test=test is not None,
    )


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits  # Bundled with scikit-learn: no file, no network.

    from cnnviz.core.framing import normalise_digit

    bunch = load_digits()
    images = np.stack([normalise_digit(image.astype(np.float32) / 16.0) for image in bunch.images])
    images = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    train_idx, test_idx = stratified_split(labels)
    return Dataset(
        name="digits",
        x_train=_readonly(images[train_idx]),
        y_train=_readonly(labels[train_idx]),
        x_test=_readonly(images[test_idx]),
        y_test=_readonly(labels[test_idx]),
        class_names=DIGIT_NAMES,
        source="scikit-learn's bundled handwritten digits (1,797 8x8 images), no files or network needed.",
        note=(
            "These 8x8 images were scaled into a 20x20 box and centred by their centre of mass in 28x28, "
            f"the way MNIST was made, then split (stratified, seed {SPLIT_SEED}) into {len(train_idx):,} "
            f"training and {len(test_idx):,} test images. They are blurrier than MNIST."
        ),
    )


def _describe(folder: Path, origin: str) -> str:
    return f"{folder} ({origin})"


def _where(name: str, folder: Path, origin: str) -> tuple[str, str]:
    """The folder in words: with its path (shown on this machine) and without it (recorded in sidecars)."""
    if folder.name in DATASETS[name].folder_names:
        return _describe(folder, origin), f"the {folder.name}/ folder in {origin}"
    return _describe(folder, origin), origin


def _load_uncached(name: str, data_dir: str | Path | None, allow_download: bool) -> Dataset:
    if name == "digits":
        return _load_digits()
    tried: list[str] = []
    partial: tuple[_Split | None, _Split | None, tuple[str, str]] | None = None
    for origin, folder in _folders_for(name, data_dir):
        if not folder.is_dir():
            tried.append(f"{_describe(folder, origin)}: no such folder")
            continue
        train, test = _read_folder(name, folder)
        if train is not None and test is not None:
            return _assemble(name, train, test, _where(name, folder, origin))
        if train is None and test is None:
            tried.append(f"{_describe(folder, origin)}: no {name} files")
        elif partial is None:
            partial = (train, test, _where(name, folder, origin))
    if partial is not None:
        return _assemble(name, *partial)
    if allow_download:
        try:
            folder = _DOWNLOADERS[name]()
            train, test = _read_folder(name, folder)
            if train is not None and test is not None:
                download = f"downloaded via {_DOWNLOAD_SOURCES[name]}"
                return _assemble(name, train, test, (f"{folder} ({download})", f"files {download}"))
            tried.append(f"download via {_DOWNLOAD_SOURCES[name]}: finished but the files are incomplete")
        except CorruptDatasetError:
            raise
        except Exception as error:  # noqa: BLE001 - any network failure is reported to the user.
            tried.append(f"download via {_DOWNLOAD_SOURCES[name]}: failed ({type(error).__name__}: {error})")
    else:
        tried.append("download: skipped because CNNVIZ_OFFLINE is set")
    places = "\n".join(f"  - {line}" for line in tried)
    files = (
        f"put the official files in a folder '{DATASETS[name].folder_names[0]}/' under ./data or under the "
        "folder named by CNNVIZ_DATA_DIR"
    )
    if allow_download:
        fix = f"To fix it: connect to the internet and reload, or {files}."
    else:
        fix = (
            f"Downloads are switched off (CNNVIZ_OFFLINE is set), so the studio only reads local files. "
            f"To fix it: {files} and reload, or unset CNNVIZ_OFFLINE and restart the studio to download them."
        )
    raise DatasetNotFoundError(
        f"Could not load {DATASETS[name].title}. Places tried:\n{places}\n{fix} "
        "The built-in 'digits' dataset works without any files.",
        tried,
    )


_cache: dict[tuple[str, str, bool], Dataset] = {}
_cache_lock = threading.Lock()


def load_dataset(name: str, *, data_dir: str | Path | None = None, allow_download: bool | None = None) -> Dataset:
    """Load a dataset by name, from local files if possible, else by downloading it.

    Args:
        name: "mnist", "fashion_mnist", "kmnist" or "digits".
        data_dir: a folder to search first (see the module docstring for the order).
        allow_download: try the official download when no files are found; defaults to
            True unless the ``CNNVIZ_OFFLINE`` environment variable is set.

    Returns:
        A :class:`Dataset` with read-only uint8 (N, 28, 28) images. The same object is
        returned for the same arguments for the life of the process.

    Raises:
        UnknownDatasetError: ``name`` is not a known dataset.
        DatasetNotFoundError: nothing found anywhere (the message lists every place tried).
        CorruptDatasetError: a file exists but is damaged (the message names it).
    """
    if not isinstance(name, str) or name not in DATASETS:
        known = ", ".join(repr(key) for key in DATASETS)
        raise UnknownDatasetError(f"Unknown dataset {name!r}; expected one of {known}.")
    download = downloads_allowed() if allow_download is None else allow_download
    # The folders searched depend on the environment too, so they are part of the key.
    key = (name, "|".join(str(path) for _, path in candidate_roots(data_dir)), download)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        dataset = _load_uncached(name, data_dir, download)
        _cache[key] = dataset
        return dataset


def clear_cache() -> None:
    """Forget every loaded dataset (tests use this; the app never needs to)."""
    with _cache_lock:
        _cache.clear()
