"""Sidecars are read through one strict schema, and list_models never raises (issue 16, finding 2).

One malformed ``models/<name>.json`` (``"keras_bytes": null``, 100,000 nested brackets...) used to make
``list_models`` raise, which broke the model pickers of Sketch, Inside and Kernels for everyone.
No Keras here: a tiny zip stands in for the ``.keras`` file (listing never opens it).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.core.store import MAX_SIDECAR_BYTES, ModelRecord, list_models
from tests.support.figures import record_figure

#: Examples the fuzz test runs (reported in RELIABILITY.md by the lead).
FUZZ_EXAMPLES = 200
HOLE = "__HOSTILE_VALUE__"


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{}")
    return buffer.getvalue()


KERAS = _zip_bytes()


def _good_meta(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": "mnist",
        "class_names": [str(index) for index in range(10)],
        "spec": {"conv_blocks": [{"filters": 4, "kernel_size": 3}], "dropout": 0.1, "dense_units": [8]},
        "history": {"loss": [0.5, 0.25], "val_loss": [0.6, None]},
        "test_metrics": {"loss": 0.3, "accuracy": 0.9},
        "data_source": "offline files",
        "data_note": "",
        "split": {"train": 100, "test": 20},
        "created": "2026-01-01T00:00:00+00:00",
        "default": False,
        "cnnviz_version": "0.1.0",
        "store_format": 1,
        "keras_sha256": hashlib.sha256(KERAS).hexdigest(),
        "keras_bytes": len(KERAS),
    }


def _write_pair(directory: Path, name: str, sidecar: str | bytes) -> None:
    (directory / f"{name}.keras").write_bytes(KERAS)
    data = sidecar.encode() if isinstance(sidecar, str) else sidecar
    (directory / f"{name}.json").write_bytes(data)


def _with_raw(path: tuple[str | int, ...], raw: str) -> str:
    """The good sidecar's JSON text with the value at ``path`` replaced by the raw JSON text ``raw``."""
    meta = _good_meta("bad")
    target: Any = meta
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = HOLE
    return json.dumps(meta).replace(json.dumps(HOLE), raw)


def _check_listing(directory: Path) -> dict[str, ModelRecord]:
    records = {record.name: record for record in list_models(directory)}
    assert records["good"].ok
    bad = records["bad"]
    if bad.ok:  # the replacement happened to be valid: then the types are the ones pickers rely on
        assert isinstance(bad.dataset, str) and bad.dataset
        assert all(isinstance(name, str) for name in bad.meta["class_names"])
        assert isinstance(bad.meta["keras_bytes"], int) and isinstance(bad.meta["keras_sha256"], str)
    else:
        assert isinstance(bad.error, str) and bad.error and "\n" not in bad.error and len(bad.error) < 300
    return records


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _write_pair(tmp_path, "good", json.dumps(_good_meta("good")))
    return tmp_path


# The shapes the attacker used, each named in the issue, plus their cousins.
@pytest.mark.parametrize(
    ("path", "raw", "reason"),
    [
        (("keras_bytes",), "null", "keras_bytes"),
        (("keras_bytes",), '"123"', "keras_bytes"),
        (("keras_bytes",), "[1]", "keras_bytes"),
        (("keras_bytes",), "1" * 5000, "not valid JSON"),  # more digits than Python parses
        (("keras_bytes",), "1e999", "too large"),
        (("keras_bytes",), "true", "keras_bytes"),
        (("test_metrics", "accuracy"), "NaN", "NaN"),
        (("test_metrics", "accuracy"), "7", "accuracy"),
        (("class_names",), "{}", "class_names"),
        (("class_names", 0), "3", "class_names"),
        (("dataset",), '"../../etc/passwd"', "dataset"),
        (("history", "loss"), '"abc"', "loss"),
        (("split", "train"), "-1", "train"),
        (("spec",), "[" * 100_000 + "]" * 100_000, "nests"),
    ],
    ids=["bytes-null", "bytes-text", "bytes-list", "bytes-5000-digits", "bytes-1e999", "bytes-bool", "acc-nan",
         "acc-7", "classes-object", "class-number", "dataset-path", "history-text", "split-negative", "deep-nesting"],
)
def test_a_bad_field_makes_an_unreadable_entry_with_a_reason(
    folder: Path, path: tuple[str | int, ...], raw: str, reason: str
) -> None:
    _write_pair(folder, "bad", _with_raw(path, raw))
    records = _check_listing(folder)
    assert reason in records["bad"].error


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "nests"),
        ("{" * 50_000, "nests"),
        ('"just text"', "JSON object"),
        ("", "not valid JSON"),
        (b"\xff\xfe\x00", "UTF-8"),
        (" " * (MAX_SIDECAR_BYTES + 1), "larger than"),
    ],
    ids=["deep-list", "deep-unclosed", "string", "empty", "binary", "too-large"],
)
def test_a_bad_file_makes_an_unreadable_entry_with_a_reason(folder: Path, content: str | bytes, reason: str) -> None:
    _write_pair(folder, "bad", content)
    assert reason in _check_listing(folder)["bad"].error


def test_a_sidecar_as_cnnviz_writes_it_is_readable(folder: Path) -> None:
    _write_pair(folder, "bad", json.dumps({**_good_meta("bad"), "train_config": {"epochs": 5}}, indent=2))
    assert _check_listing(folder)["bad"].ok  # the name is only the fixture's: this one is fine


def test_a_brace_inside_a_string_is_not_nesting(folder: Path) -> None:
    meta = {**_good_meta("bad"), "data_note": "[" * 1000 + "{" * 1000}
    _write_pair(folder, "bad", json.dumps(meta))
    assert _check_listing(folder)["bad"].ok


# ---------------------------------------------------------------------------------------------
# Fuzz: every field (and some nested ones) replaced by something hostile
# ---------------------------------------------------------------------------------------------

FIELDS: list[tuple[str | int, ...]] = [(key,) for key in _good_meta("x")] + [
    ("class_names", 0), ("spec", "conv_blocks"), ("spec", "conv_blocks", 0, "filters"), ("history", "loss"),
    ("history", "loss", 0), ("test_metrics", "accuracy"), ("test_metrics", "loss"), ("split", "train"),
]

_leaf = st.one_of(
    st.just("null"), st.just("true"), st.just("NaN"), st.just("-Infinity"), st.just("1e999"),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.integers(min_value=1, max_value=6000).map(lambda digits: "9" * digits),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.text(max_size=30).map(json.dumps),
)
_json_values = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.dictionaries(st.text(max_size=8), children, max_size=4).map(
            lambda items: "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in items.items()) + "}"
        ),
    ),
    max_leaves=12,
)
_deep = st.integers(min_value=10, max_value=100_000).map(lambda depth: "[" * depth + "]" * depth)


_fuzzed: list[int] = [0]


@pytest.fixture(scope="module", autouse=True)
def _record_fuzz_count() -> Iterator[None]:
    yield
    if _fuzzed[0]:
        record_figure("sidecar fuzz", {"sidecars_listed": _fuzzed[0], "fields": len(FIELDS), "list_models_raised": 0})


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(FIELDS), raw=st.one_of(_json_values, _deep))
def test_list_models_never_raises_whatever_a_sidecar_holds(folder: Path, path: tuple[str | int, ...], raw: str) -> None:
    _write_pair(folder, "bad", _with_raw(path, raw))
    _check_listing(folder)
    _fuzzed[0] += 1  # reached only when list_models did not raise
