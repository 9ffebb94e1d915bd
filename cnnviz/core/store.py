"""Saved models on disk: ``models/<name>.keras`` plus a ``models/<name>.json`` sidecar.

Why so careful?

* **Keras model files can execute code** (a ``Lambda`` layer carries Python). So
  cnnviz only ever loads a ``.keras`` file that cnnviz itself wrote: one with a
  ``.json`` sidecar that records the file's SHA-256, checked before loading,
  and it loads with ``safe_mode=True``. Uploaded model files are never loaded.
* **A classroom shares one server**, which may be killed at any moment. Every
  file is written to a hidden temporary file in the same folder, flushed to
  disk, then moved into place with :func:`os.replace` (atomic on POSIX and
  Windows), so ``models/`` never holds half a file. The ``.keras`` file is
  committed before its sidecar; if the server dies between the two moves,
  :func:`list_models` finishes the job from the temporary sidecar (whose
  checksum proves it belongs to the new ``.keras``). Leftover temporary files
  of a dead process are removed.
* **Names come from students**, so they are reduced to ``[a-z0-9_-]`` by
  :func:`sanitize_model_name` before they get anywhere near a path, and may not
  be (or look like) a shipped model's name (:func:`is_reserved_name`).
* **Sidecars may be hand-edited or hostile.** :func:`read_sidecar` limits size
  and nesting before parsing and checks every field's type and range after; a
  bad sidecar makes an "unreadable" entry with a one-line reason, and
  :func:`list_models` never raises (one bad file must not break every picker).
* **Which models are shipped** is decided by :mod:`cnnviz.core.shipped` (names
  and SHA-256), never by a sidecar's ``"default"`` flag.

Metadata JSON (all keys written by :func:`save_model`)::

    {"name", "dataset", "class_names": [...], "spec": {...}, "history": {...},
     "test_metrics": {"loss", "accuracy"}, "data_source", "data_note",
     "split": {"train": n, "test": n, ...}, "created", "default": bool,
     "cnnviz_version", "store_format", "keras_sha256", "keras_bytes"}

This module imports Keras only inside :func:`load_model`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import threading
import time
import unicodedata
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from cnnviz.core import __version__
from cnnviz.core.paths import MODELS_DIR
from cnnviz.core.shipped import SHIPPED_MODELS, is_shipped, shipped_lookalike

if TYPE_CHECKING:  # pragma: no cover - typing only
    from cnnviz.core.records import TrainedModel

#: Longest model name kept after sanitising (longer names are cut).
MAX_NAME_LENGTH: Final[int] = 64
#: File-name prefix of the models shipped with cnnviz (``default_mnist`` ...).
DEFAULT_PREFIX: Final[str] = "default_"
#: Prefix of temporary files; hidden, and ignored by git and by :func:`list_models`.
TEMP_PREFIX: Final[str] = ".tmp-"
#: Version of the sidecar layout written by this module.
STORE_FORMAT: Final[int] = 1
#: A temporary file older than this is removed even if its writer seems alive.
STALE_TEMP_SECONDS: Final[float] = 3600.0

#: Names Windows refuses as file names, whatever the extension.
WINDOWS_RESERVED: Final[frozenset[str]] = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
)

_NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")
_DATASET_PATTERN: Final = re.compile(r"[a-z0-9_]{1,40}")
# One save at a time in this process: the "does it exist?" check and the commit must not interleave.
_SAVE_LOCK = threading.Lock()


def resolve_models_dir(models_dir: Path | str | None = None) -> Path:
    """The models folder: ``models_dir`` if given, else ``$CNNVIZ_MODELS_DIR``, else ``MODELS_DIR``.

    The environment variable lets tests and a teacher's deployment point a server elsewhere.
    """
    if models_dir is not None:
        return Path(models_dir)
    override = os.environ.get("CNNVIZ_MODELS_DIR")
    return Path(override) if override else MODELS_DIR


class ModelStoreError(ValueError):
    """Saving, listing or loading a model failed; the message says why and what to do."""


class ModelNameError(ModelStoreError):
    """A model name that is empty or has nothing usable left after sanitising."""


class ModelExistsError(ModelStoreError):
    """A model with this name is already saved and ``overwrite`` was not given."""


class ModelLoadError(ModelStoreError):
    """A model file that cnnviz will not load (missing, corrupt, not written by cnnviz)."""


@dataclass(frozen=True)
class ModelRecord:
    """One saved model as found in the models folder.

    Attributes:
        name: the sanitised name, i.e. the file stem (``models/<name>.keras``).
        keras_path: path of the ``.keras`` file (may not exist when ``error`` is set).
        json_path: path of the ``.json`` sidecar (may not exist when ``error`` is set).
        meta: the parsed sidecar (empty when it could not be read).
        is_default: a model shipped with cnnviz: its name and the SHA-256 of its ``.keras`` file are in
            :data:`cnnviz.core.shipped.SHIPPED_MODELS` (a sidecar's ``"default": true`` does not count).
        error: why this pair cannot be loaded, in words; ``None`` when it looks loadable.
    """

    name: str
    keras_path: Path
    json_path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    is_default: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the pair looks loadable (the checksum is verified again by :func:`load_model`)."""
        return self.error is None

    @property
    def dataset(self) -> str:
        """The dataset the model was trained on ("" when unknown)."""
        value = self.meta.get("dataset")
        return value if isinstance(value, str) else ""

    @property
    def mtime(self) -> float:
        """Modification time of the ``.keras`` file (0.0 if missing); part of cache keys."""
        try:
            return self.keras_path.stat().st_mtime
        except OSError:
            return 0.0


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def sanitize_model_name(name: str) -> str:
    """Turn whatever a user typed into a safe file stem.

    Accents are dropped ("Modèle 1" -> "modele_1"), letters are lower-cased (so two names
    never differ only by case, which some file systems ignore), and every run of characters
    other than ``a-z``, ``0-9``, ``_`` and ``-`` (spaces, dots, slashes, control characters)
    becomes one ``_``. Leading/trailing ``_`` and ``-`` are removed, the result is cut to
    :data:`MAX_NAME_LENGTH` characters, and Windows-reserved names get a ``_model`` suffix.
    The result is idempotent: ``sanitize_model_name(sanitize_model_name(x)) == sanitize_model_name(x)``.

    Args:
        name: the name as typed.

    Returns:
        str: matching ``[a-z0-9][a-z0-9_-]{0,63}``; never contains a path separator or a dot.

    Raises:
        ModelNameError: ``name`` is not a string, or nothing usable is left
            (empty, only punctuation, only non-Latin script).
    """
    if not isinstance(name, str):
        raise ModelNameError(
            f"Expected the model name as text, got {type(name).__name__}. Type a name such as 'my_first_cnn'."
        )
    decomposed = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^a-z0-9_-]+", "_", text)
    text = re.sub(r"_+", "_", text).strip("_-")
    text = text[:MAX_NAME_LENGTH].rstrip("_-")
    if not text:
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise ModelNameError(
            f"The model name {shown!r} has no usable characters. "
            "Use letters a-z, digits, '_' or '-', for example 'mnist_3_blocks'."
        )
    if text in WINDOWS_RESERVED:
        text = f"{text}_model"
    return text


def is_reserved_name(name: str) -> bool:
    """True for the names of the shipped models and their look-alikes, which user models may not take.

    ``default_mnist``, ``default-mnist``, ``Default_MNIST``, full-width ``ｄｅｆａｕｌｔ＿ｍｎｉｓｔ`` and
    anything starting with ``default_`` (case and separators folded); see
    :func:`cnnviz.core.shipped.shipped_lookalike`.
    """
    return shipped_lookalike(name) is not None


def reserved_name_message(name: str) -> str | None:
    """Why a user model may not be called ``name`` (one sentence), or ``None`` when it may."""
    lookalike = shipped_lookalike(name)
    if lookalike is None:
        return None
    if lookalike in SHIPPED_MODELS:
        what = "is" if name == lookalike else "looks like"
        return (
            f"The name '{name}' {what} the name of the model shipped with the studio, '{lookalike}'. "
            "Choose another name, for example 'my_mnist_cnn'."
        )
    return (
        f"Names starting with '{DEFAULT_PREFIX}' (in any case, with '-' or '_') belong to the models shipped "
        f"with the studio. Choose another name than '{name}'."
    )


# ---------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """Plain JSON types only: NumPy scalars/arrays unpacked, tuples as lists, NaN/inf as null."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Path):
        return str(value)
    raise ModelStoreError(
        f"Model metadata must be plain data (numbers, text, lists, dicts); got a {type(value).__name__}. "
        "Convert it before saving."
    )


def metadata_from_trained(
    trained: TrainedModel,
    *,
    data_note: str = "",
    split: Mapping[str, int] | None = None,
    default: bool = False,
) -> dict[str, Any]:
    """Build the sidecar metadata for a :class:`cnnviz.core.records.TrainedModel`.

    Args:
        trained: the model record produced by training.
        data_note: ``Dataset.note`` (e.g. "offline: test split only, 8,000/2,000").
        split: sample counts, e.g. ``{"train": 8000, "test": 2000}``.
        default: mark as a shipped default model.

    Returns:
        dict: JSON-ready metadata for :func:`save_model` (which adds name, checksum and version).
    """
    return {
        "dataset": trained.dataset,
        "class_names": [str(name) for name in trained.class_names],
        "spec": dict(trained.spec),
        "history": {key: list(values) for key, values in trained.history.items()},
        "test_metrics": dict(trained.test_metrics),
        "data_source": trained.data_source,
        "data_note": data_note,
        "split": dict(split or {}),
        "created": trained.created,
        "default": bool(default),
        **({"train_config": dict(trained.train_config)} if trained.train_config else {}),
    }


def _check_metadata(metadata: object) -> dict[str, Any]:
    if not isinstance(metadata, Mapping):
        raise ModelStoreError(
            f"Expected the model metadata as a dict, got {type(metadata).__name__}. "
            "Build it with cnnviz.core.store.metadata_from_trained(trained)."
        )
    dataset = metadata.get("dataset")
    class_names = metadata.get("class_names")
    if not isinstance(dataset, str) or not dataset:
        raise ModelStoreError(
            f"Model metadata needs 'dataset' (the dataset name as text), got {dataset!r}. "
            "Build it with cnnviz.core.store.metadata_from_trained(trained)."
        )
    if not isinstance(class_names, (list, tuple)) or not class_names:
        raise ModelStoreError(
            f"Model metadata needs 'class_names' (a non-empty list of labels), got {class_names!r}."
        )
    return _jsonable(metadata)


# ---------------------------------------------------------------------------------------------
# Low-level file helpers
# ---------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def _sha256_cached(path: Path) -> str:
    """:func:`_sha256`, remembered per (path, modification time, size): listing runs on every rerun."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    digest = _SHA_CACHE.get(key)
    if digest is None:
        if len(_SHA_CACHE) > 64:
            _SHA_CACHE.clear()
        digest = _SHA_CACHE[key] = _sha256(path)
    return digest


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Not possible on every platform (Windows); the rename is still atomic.
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_path(models_dir: Path, name: str, suffix: str, token: str) -> Path:
    # Pid first so a cleaner can tell whether the writer is still alive.
    return models_dir / f"{TEMP_PREFIX}{os.getpid()}-{token}-{name}{suffix}"


def _explain_os_error(error: OSError, models_dir: Path, action: str) -> ModelStoreError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        reason = "the disk holding it is full"
        fix = "Free some space (or ask the teacher to), then save again."
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "it is read-only for the server"
        fix = "Ask the teacher to make the folder writable, or download the model instead."
    else:
        reason = f"{type(error).__name__}: {error.strerror or error}"
        fix = "Try again; if it keeps failing, download the model instead."
    return ModelStoreError(
        f"Could not {action} in the models folder {models_dir} because {reason}. "
        f"Models saved earlier are untouched. {fix}"
    )


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def save_model(
    model: Any,
    name: str,
    metadata: Mapping[str, Any],
    *,
    models_dir: Path | str | None = None,
    overwrite: bool = False,
) -> Path:
    """Save a Keras model as ``<models_dir>/<name>.keras`` with its ``<name>.json`` sidecar, atomically.

    Both files are first written to hidden temporary files in ``models_dir``, flushed to disk,
    then moved into place with :func:`os.replace`, ``.keras`` first. A save interrupted at any
    point leaves either the earlier pair, or (recovered by :func:`list_models`) the new pair,
    never half a file.

    Args:
        model: a ``keras.Model`` (anything with ``save(path)`` writing a ``.keras`` zip).
        name: the name as typed; sanitised with :func:`sanitize_model_name`.
        metadata: at least ``dataset`` and ``class_names``; see the module docstring
            (:func:`metadata_from_trained` builds it). ``name``, ``cnnviz_version``,
            ``store_format``, ``keras_sha256`` and ``keras_bytes`` are filled in here.
        models_dir: the folder (created if needed).
        overwrite: replace an existing model with the same name.

    Returns:
        Path: the ``.keras`` file written.

    Raises:
        ModelNameError: the name is unusable, or looks like a shipped model's without being one of
            their exact names as given (``default-mnist``, ``Default_MNIST``, ``default_cifar``: see
            :func:`is_reserved_name`). The exact shipped names stay writable for
            ``tools/train_default_models.py``; what is
            written under them is still not "shipped" unless its checksum is in the manifest.
        ModelExistsError: a model with this name exists and ``overwrite`` is False.
        ModelStoreError: bad metadata, or the folder cannot be written (full, read-only);
            the message says which, and earlier files are left as they were.
    """
    safe_name = sanitize_model_name(name)
    if name not in SHIPPED_MODELS and (refusal := reserved_name_message(safe_name)) is not None:
        raise ModelNameError(refusal)
    meta = _check_metadata(metadata)
    directory = resolve_models_dir(models_dir)
    keras_path = directory / f"{safe_name}.keras"
    json_path = directory / f"{safe_name}.json"
    token = uuid.uuid4().hex[:12]
    keras_temp = _temp_path(directory, safe_name, ".keras", token)
    json_temp = _temp_path(directory, safe_name, ".json", token)

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _explain_os_error(error, directory, f"create the folder to save '{safe_name}'") from error

    with _SAVE_LOCK:
        if not overwrite and (keras_path.exists() or json_path.exists()):
            raise ModelExistsError(
                f"A model named '{safe_name}' is already saved in {directory}. "
                "Choose another name, or confirm that you want to replace it."
            )
        try:
            try:
                model.save(str(keras_temp))
            except OSError:
                raise
            except Exception as error:  # Keras wraps I/O errors; find the OSError underneath if any.
                cause = error.__cause__ or error.__context__
                if isinstance(cause, OSError):
                    raise cause from error
                raise ModelStoreError(
                    f"Keras could not save the model '{safe_name}' ({type(error).__name__}: {error}). "
                    "Models saved earlier are untouched."
                ) from error
            if not keras_temp.exists() or keras_temp.stat().st_size == 0:
                raise ModelStoreError(f"Saving '{safe_name}' produced no file. Models saved earlier are untouched.")
            _fsync_file(keras_temp)
            meta.update(
                {
                    "name": safe_name,
                    "created": meta.get("created") or datetime.now(UTC).isoformat(timespec="seconds"),
                    "default": bool(meta.get("default", False)),
                    "cnnviz_version": __version__,
                    "store_format": STORE_FORMAT,
                    "keras_sha256": _sha256(keras_temp),
                    "keras_bytes": keras_temp.stat().st_size,
                }
            )
            text = json.dumps(meta, indent=2, allow_nan=False, ensure_ascii=False)
            with json_temp.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            # Commit: the .keras first; the sidecar second. Between the two, list_models() can
            # finish the job from json_temp, whose checksum names the new .keras.
            os.replace(keras_temp, keras_path)
            os.replace(json_temp, json_path)
            _fsync_dir(directory)
        except OSError as error:
            raise _explain_os_error(error, directory, f"save '{safe_name}'") from error
        finally:
            # After a success both are gone already; after a failure they must not linger.
            _remove_quietly(keras_temp)
            _remove_quietly(json_temp)
    return keras_path


# ---------------------------------------------------------------------------------------------
# Reading sidecars: one strict schema
# ---------------------------------------------------------------------------------------------

#: Largest sidecar read (cnnviz writes ~3 KB; a 1,000-epoch history is ~100 KB); larger files are unreadable.
MAX_SIDECAR_BYTES: Final[int] = 256 * 1024
#: Deepest nesting of lists and objects a sidecar may have (cnnviz writes 4); checked before parsing,
#: so that ``[[[[...]]]]`` cannot exhaust the parser's recursion.
MAX_SIDECAR_DEPTH: Final[int] = 12
#: Longest text kept in a sidecar's short fields (names, dates, notes).
_MAX_TEXT: Final[int] = 2000
_SHA256_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
_JSON_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # "unrolled": linear, no backtracking
_JSON_BRACKET: Final = re.compile(r"[\[\]{}]")


class SidecarError(ModelStoreError):
    """A ``.json`` sidecar that does not follow the schema; the message is one line saying what is wrong."""


def _nesting_depth(text: str, limit: int) -> int:
    """How deep lists and objects nest in JSON ``text`` (strings ignored); stops counting past ``limit``."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        else:
            depth -= 1
    return deepest


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SidecarError(f"the .json sidecar holds a number too large to use ({text[:20]}).")
    return value


def _refuse_constant(text: str) -> float:
    raise SidecarError(f"the .json sidecar holds {text}, which is not a number cnnviz writes.")


def _shown(value: object) -> str:
    """A short description of a value for a one-line reason (type and a clipped repr)."""
    text = repr(value)
    return f"{type(value).__name__} {text[:30] + '...' if len(text) > 30 else text}"


def _text(meta: Mapping[str, Any], key: str, *, required: bool = False, pattern: re.Pattern[str] | None = None) -> None:
    if key not in meta and not required:
        return
    value = meta.get(key)
    if not isinstance(value, str) or len(value) > _MAX_TEXT or (pattern is not None and not pattern.fullmatch(value)):
        raise SidecarError(f"the .json sidecar's '{key}' is not valid ({_shown(value)}).")


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number_or_null(value: object) -> bool:
    return value is None or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and abs(value) < 1e300
    )


def _check_sidecar(meta: object) -> dict[str, Any]:
    """Check the parsed sidecar against the schema written by :func:`save_model`; returns it unchanged.

    Required: ``dataset`` (a plain dataset name), ``class_names`` (1-1000 short texts), ``keras_sha256``
    (64 hex digits), ``keras_bytes`` (a whole number of bytes). Optional fields, when present, must have
    the types :func:`save_model` writes; unknown fields may hold any (depth-limited) JSON.

    Raises:
        SidecarError: the first problem found, in one line.
    """
    if not isinstance(meta, dict):
        raise SidecarError(f"the .json sidecar does not hold a JSON object (it holds a {type(meta).__name__}).")
    missing = [key for key in ("dataset", "class_names", "keras_sha256", "keras_bytes") if key not in meta]
    if missing:
        raise SidecarError(f"the .json sidecar lacks {', '.join(missing)}; not written by this cnnviz.")
    _text(meta, "dataset", pattern=_DATASET_PATTERN)
    _text(meta, "keras_sha256", pattern=_SHA256_PATTERN)
    if not _whole(meta["keras_bytes"], 1, 1 << 40):
        raise SidecarError(f"the .json sidecar's 'keras_bytes' is not a file size ({_shown(meta['keras_bytes'])}).")
    class_names = meta["class_names"]
    if (
        not isinstance(class_names, list)
        or not 1 <= len(class_names) <= 1000
        or not all(isinstance(name, str) and len(name) <= 200 for name in class_names)
    ):
        raise SidecarError(f"the .json sidecar's 'class_names' is not a list of class names ({_shown(class_names)}).")
    for key in ("name", "created", "data_source", "data_note", "cnnviz_version", "made_by", "augmentation"):
        _text(meta, key)
    if "default" in meta and not isinstance(meta["default"], bool):
        raise SidecarError(f"the .json sidecar's 'default' is not true or false ({_shown(meta['default'])}).")
    if "store_format" in meta and not _whole(meta["store_format"], 0, 1000):
        raise SidecarError(f"the .json sidecar's 'store_format' is not valid ({_shown(meta['store_format'])}).")
    for key in ("spec", "test_metrics", "history", "split"):
        if key in meta and not isinstance(meta[key], dict):
            raise SidecarError(f"the .json sidecar's '{key}' is not a JSON object ({_shown(meta[key])}).")
    for metric, value in meta.get("test_metrics", {}).items():
        if not _number_or_null(value) or (metric == "accuracy" and value is not None and not 0 <= value <= 1):
            raise SidecarError(f"the .json sidecar's test metric '{metric[:40]}' is not valid ({_shown(value)}).")
    for metric, values in meta.get("history", {}).items():
        if not isinstance(values, list) or len(values) > 100_000 or not all(map(_number_or_null, values)):
            raise SidecarError(f"the .json sidecar's history of '{metric[:40]}' is not a list of numbers.")
    for part, count in meta.get("split", {}).items():
        if not _whole(count, 0, 1 << 40):
            raise SidecarError(f"the .json sidecar's split '{part[:40]}' is not a count ({_shown(count)}).")
    return meta


def read_sidecar(path: Path) -> dict[str, Any]:
    """Read and check a ``.json`` sidecar: size and nesting limited before parsing, then the schema.

    Args:
        path: the ``<name>.json`` file.

    Returns:
        dict: the metadata, with the types :func:`save_model` writes (see :func:`_check_sidecar`).

    Raises:
        SidecarError: unreadable, too large, too deeply nested, not JSON, or not following the schema;
            the message is one line.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SIDECAR_BYTES + 1)
    except OSError as error:
        raise SidecarError(f"the .json sidecar cannot be read ({error.strerror or type(error).__name__}).") from error
    if len(data) > MAX_SIDECAR_BYTES:
        raise SidecarError(
            f"the .json sidecar is larger than {MAX_SIDECAR_BYTES // 1024:,} KB; cnnviz writes a few KB."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SidecarError("the .json sidecar is not UTF-8 text.") from error
    if _nesting_depth(text, MAX_SIDECAR_DEPTH) > MAX_SIDECAR_DEPTH:
        raise SidecarError(f"the .json sidecar nests lists or objects more than {MAX_SIDECAR_DEPTH} deep.")
    try:
        meta = json.loads(text, parse_float=_finite_float, parse_constant=_refuse_constant)
    except SidecarError:
        raise
    except (ValueError, RecursionError) as error:  # JSONDecodeError, an integer of thousands of digits
        raise SidecarError(f"the .json sidecar is not valid JSON ({type(error).__name__}).") from error
    return _check_sidecar(meta)


# ---------------------------------------------------------------------------------------------
# Listing (and recovery of interrupted saves)
# ---------------------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _temp_is_abandoned(path: Path, now: float) -> bool:
    """A temporary file whose writer has died (or that is very old) is abandoned."""
    match = re.match(rf"{re.escape(TEMP_PREFIX)}(\d+)-", path.name)
    try:
        age = now - path.stat().st_mtime
    except OSError:
        return False
    if age > STALE_TEMP_SECONDS:
        return True
    if match is None:
        return age > 60.0
    return not _pid_alive(int(match.group(1)))


def _recover_interrupted_saves(directory: Path) -> None:
    """Finish or discard saves whose writer died; never touches files of a save in progress.

    A temporary sidecar whose checksum matches the committed ``<name>.keras`` means the server
    died between the two moves: moving the sidecar into place completes that save. Every other
    abandoned temporary file is deleted. Errors (a read-only folder) are ignored: listing must work.
    """
    now = time.time()
    temps = sorted(directory.glob(f"{TEMP_PREFIX}*"))
    for temp in temps:
        if not temp.is_file() or not _temp_is_abandoned(temp, now):
            continue
        if temp.suffix == ".json":
            try:
                meta = read_sidecar(temp)
                name = sanitize_model_name(meta["name"])
                keras_path = directory / f"{name}.keras"
                if meta["name"] == name and keras_path.is_file() and _sha256(keras_path) == meta["keras_sha256"]:
                    os.replace(temp, directory / f"{name}.json")
                    continue
            except (OSError, ValueError, KeyError, TypeError):  # SidecarError is a ValueError
                pass
        _remove_quietly(temp)


def _read_record(directory: Path, name: str) -> ModelRecord:
    keras_path = directory / f"{name}.keras"
    json_path = directory / f"{name}.json"

    def broken(error: str, meta: dict[str, Any] | None = None) -> ModelRecord:
        return ModelRecord(name, keras_path, json_path, meta or {}, False, error)

    if name != sanitize_model_name(name):
        return broken(f"'{name}' is not a name cnnviz writes (it would be '{sanitize_model_name(name)}'); not loaded.")
    if not json_path.is_file():
        return broken("no .json sidecar: not saved by cnnviz, or its save was interrupted; not loaded for safety.")
    if not keras_path.is_file():
        return broken("the .keras model file is missing (only its .json sidecar is there).")
    try:
        meta = read_sidecar(json_path)
    except SidecarError as error:
        return broken(str(error))
    try:
        size = keras_path.stat().st_size
    except OSError as error:
        return broken(f"the .keras file cannot be read ({error.strerror}).", meta)
    if size != meta["keras_bytes"]:
        return broken(
            f"the .keras file is {size:,} bytes but {meta['keras_bytes']:,} were saved: it was changed or cut short.",
            meta,
        )
    if not zipfile.is_zipfile(keras_path):
        return broken("the .keras file is corrupt (not a zip archive).", meta)
    shipped = name in SHIPPED_MODELS and is_shipped(name, _sha256_cached(keras_path))
    return ModelRecord(name, keras_path, json_path, meta, shipped, None)


def _read_record_safely(directory: Path, name: str) -> ModelRecord:
    """:func:`_read_record`, but anything unforeseen also becomes an unreadable entry: listing never raises."""
    try:
        return _read_record(directory, name)
    except Exception as error:  # A file system or Python surprise must not break every model picker.
        return ModelRecord(
            name, directory / f"{name}.keras", directory / f"{name}.json", {}, False,
            f"the model files could not be checked ({type(error).__name__}).",
        )


#: The order in which shipped models are offered: MNIST is where every tutorial starts.
_DEFAULT_ORDER = {"mnist": 0, "fashion_mnist": 1, "kmnist": 2, "digits": 3}


def list_models(models_dir: Path | str | None = None) -> list[ModelRecord]:
    """List every saved model, readable or not; never raises.

    Interrupted saves of dead processes are completed or cleaned up first. A pair that cannot
    be loaded (corrupt ``.keras``, unreadable or missing ``.json``, a ``.keras`` without sidecar)
    is listed with ``error`` set so that pickers can show it as unreadable and skip it.

    Args:
        models_dir: the folder; a missing folder gives an empty list.

    Returns:
        list[ModelRecord]: shipped defaults first (MNIST, Fashion-MNIST, KMNIST: the order a
        learner meets them), then the rest newest first.
    """
    directory = resolve_models_dir(models_dir)
    try:
        if not directory.is_dir():
            return []
        _recover_interrupted_saves(directory)
        stems = {
            path.stem
            for path in directory.iterdir()
            if path.suffix in (".keras", ".json") and not path.name.startswith(".") and path.is_file()
        }
    except (OSError, ValueError):
        return []
    records = [_read_record_safely(directory, stem) for stem in stems]
    records.sort(key=lambda record: record.name)
    records.sort(key=lambda record: str(record.meta.get("created", "")), reverse=True)
    records.sort(key=lambda record: (not record.is_default,
                                     _DEFAULT_ORDER.get(record.dataset, 99) if record.is_default else 0))
    return records


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _record_for(record_or_path: ModelRecord | Path | str) -> ModelRecord:
    if isinstance(record_or_path, ModelRecord):
        return _read_record(record_or_path.keras_path.parent, record_or_path.name)
    if not isinstance(record_or_path, (str, Path)):
        raise ModelLoadError(
            f"Expected a ModelRecord or the path of a .keras file, got {type(record_or_path).__name__}."
        )
    path = Path(record_or_path)
    if path.suffix not in (".keras", ".json"):
        raise ModelLoadError(f"Expected the path of a .keras model saved by cnnviz, got {str(path)!r}.")
    return _read_record(path.parent, path.stem)


def load_model(record_or_path: ModelRecord | Path | str) -> Any:
    """Load a model that cnnviz saved, after checking it is exactly the file cnnviz wrote.

    The ``.json`` sidecar must exist and its SHA-256 must match the ``.keras`` file, so a file
    dropped into ``models/`` by hand (or an upload) is never deserialised. Keras loads with
    ``safe_mode=True``, which refuses the code-carrying ``Lambda`` layers.

    Args:
        record_or_path: a :class:`ModelRecord` from :func:`list_models`, or the path of a
            ``<name>.keras`` file (its ``<name>.json`` must sit next to it).

    Returns:
        keras.Model: for inference (not compiled: no optimizer state is restored, which saves
        memory; call ``compile`` before ``fit``/``evaluate``); input (28, 28, 1) float32 in [0, 1],
        output (N, num_classes) float32 softmax probabilities.

    Raises:
        ModelLoadError: the pair is missing, corrupt, changed since saving, or Keras refuses it.
    """
    record = _record_for(record_or_path)
    if record.error is not None:
        raise ModelLoadError(f"The saved model '{record.name}' cannot be loaded: {record.error}")
    try:
        actual = _sha256(record.keras_path)
    except OSError as error:
        raise ModelLoadError(f"The saved model '{record.name}' cannot be read ({error.strerror}).") from error
    if actual != record.meta["keras_sha256"]:
        raise ModelLoadError(
            f"The saved model '{record.name}' was changed after cnnviz saved it (checksum mismatch); "
            "it is not loaded for safety. Train and save it again."
        )
    import keras  # Imported here: it costs seconds and only loading needs it.

    try:
        return keras.saving.load_model(record.keras_path, compile=False, safe_mode=True)
    except Exception as error:  # Corrupt weights, unknown layers, refused Lambda: all "cannot load".
        raise ModelLoadError(
            f"The saved model '{record.name}' could not be loaded by Keras ({type(error).__name__}: "
            f"{str(error)[:300]}). Train and save it again."
        ) from error


def default_model_path(dataset: str, *, models_dir: Path | str | None = None) -> Path:
    """Return ``<models_dir>/default_<dataset>.keras`` after checking the dataset name.

    Raises:
        ModelStoreError: ``dataset`` is not a plain dataset name such as "mnist".
    """
    if not isinstance(dataset, str) or not _DATASET_PATTERN.fullmatch(dataset):
        raise ModelStoreError(
            f"Expected a dataset name such as 'mnist' or 'fashion_mnist', got {dataset!r}."
        )
    return resolve_models_dir(models_dir) / f"{DEFAULT_PREFIX}{dataset}.keras"


def load_default_model(dataset: str, *, models_dir: Path | str | None = None) -> Any:
    """Load the model shipped for ``dataset`` (``models/default_<dataset>.keras``).

    Args:
        dataset: "mnist", "fashion_mnist" or "kmnist".

    Returns:
        keras.Model: as :func:`load_model`.

    Raises:
        ModelStoreError: unknown dataset name, or no shipped model for it (the message says
            how to make one); :class:`ModelLoadError` when the files are there but unusable.
    """
    path = default_model_path(dataset, models_dir=models_dir)
    if not path.is_file():
        raise ModelStoreError(
            f"There is no shipped model for '{dataset}' ({path.name} is not in {path.parent}). "
            "Train one on the Train page, or run `python -m tools.train_default_models`."
        )
    return load_model(path)


# ---------------------------------------------------------------------------------------------
# Export (download buttons)
# ---------------------------------------------------------------------------------------------


def model_to_bytes(model: Any) -> bytes:
    """Serialise a Keras model to the bytes of a ``.keras`` file (for a download button).

    Args:
        model: a ``keras.Model``.

    Returns:
        bytes: a complete ``.keras`` zip archive.

    Raises:
        ModelStoreError: Keras could not serialise the model.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cnnviz-export-") as folder:
        path = Path(folder) / "model.keras"
        try:
            model.save(str(path))
            return path.read_bytes()
        except Exception as error:
            raise ModelStoreError(
                f"Could not turn the model into a .keras file ({type(error).__name__}: {error})."
            ) from error


def history_to_csv(history: Mapping[str, Any]) -> str:
    """Return a training history as CSV text, one row per epoch (1-based), one column per metric.

    Args:
        history: Keras-style ``{"loss": [...], "val_accuracy": [...]}``; lists may differ in length
            (missing values are left empty; NaN and infinities are written as ``nan``/``inf``).

    Returns:
        str: e.g. ``"epoch,loss,val_loss\n1,0.52,0.31\n"``.

    Raises:
        ModelStoreError: ``history`` is not a mapping of metric name to a list of numbers.
    """
    import csv
    import io

    if not isinstance(history, Mapping):
        raise ModelStoreError(f"Expected a history dict such as {{'loss': [...]}}, got {type(history).__name__}.")
    columns: dict[str, list[float | None]] = {}
    for key, values in history.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ModelStoreError(f"History '{key}' should be a list of numbers, got {type(values).__name__}.")
        try:
            columns[str(key)] = [None if value is None else float(value) for value in values]
        except (TypeError, ValueError) as error:
            raise ModelStoreError(f"History '{key}' should hold numbers only ({error}).") from error
    rows = max((len(values) for values in columns.values()), default=0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["epoch", *columns])
    for index in range(rows):
        cells = [values[index] if index < len(values) else None for values in columns.values()]
        writer.writerow([index + 1, *("" if cell is None else repr(cell) for cell in cells)])
    return buffer.getvalue()


__all__ = [
    "DEFAULT_PREFIX",
    "MAX_NAME_LENGTH",
    "ModelExistsError",
    "ModelLoadError",
    "ModelNameError",
    "ModelRecord",
    "ModelStoreError",
    "SidecarError",
    "default_model_path",
    "history_to_csv",
    "is_reserved_name",
    "list_models",
    "load_default_model",
    "load_model",
    "metadata_from_trained",
    "model_to_bytes",
    "read_sidecar",
    "reserved_name_message",
    "resolve_models_dir",
    "sanitize_model_name",
    "save_model",
]
