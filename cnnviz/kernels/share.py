"""The Kernels page's share link: the kernel bank, the pipeline settings and the input image as URL parameters.

:data:`KERNELS_TABLE` (see :mod:`cnnviz.core.share`) names:

=================================  ======================================================================
``ksize``, ``kcount``, ``knorm``   the bank's kernel size (3/5), how many kernels are in use, normalise (1/0)
``k1`` .. ``k8``                   each kernel: a preset's short name (``line-diagonal``, ``sobel-x``, ``box-blur``)
                                   or its weights row by row, ``_`` between them (``2_-1_-1_-1_2_-1_-1_-1_2``)
``stride``, ``pad``, ``padw``      stride (1-3), padding (``valid``, ``same``, ``zeros``), zero rows for ``zeros``
``bias``                           the bias, -10..10
``act``, ``thr``                   activation (``none``, ``relu``, ``sigmoid``, ``threshold``) and its threshold
``pool``, ``psize``, ``pstride``   pooling (``none``, ``max``, ``avg``, ``min``), window size, stride (``size``: = size)
``src``                            the input (``dataset``, ``upload``, ``sketch``)
``data``, ``cls``, ``img``         the dataset, the class and which example of it
``res``, ``inv``                   an upload's resolution and whether it is inverted
``anim``                           animate the convolution (1/0)
=================================  ======================================================================

An uploaded picture or a sketch is not in the link (it never leaves the browser session): a link with
``src=upload`` opens the upload control, one with ``src=sketch`` the learner's own latest sketch.

The bank lives in one session entry (:class:`cnnviz.kernels.bank.BankState`, see
:mod:`cnnviz.kernels.editor`), so :func:`bank_updates` turns the decoded kernels into that entry plus the
editor's widget keys.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from cnnviz.core.datasets import DATASETS
from cnnviz.core.share import MISSING, Param, ParamTable, choice, flag, integer, number
from cnnviz.kernels.bank import SIZES, BankState, default_preset
from cnnviz.kernels.ops import ACTIVATIONS, MAX_BANK, POOL_MODES
from cnnviz.kernels.presets import PRESETS, preset_kernel, resize_kernel

#: The session-state prefixes of the page's kernel editor, pipeline controls and input picker.
EDITOR_KEY, PIPE_KEY, INPUT_KEY = "kernel", "kernels_pipe", "kernels_input"
#: The options of the Kernels page's controls (cnnviz.kernels.controls), as the link writes them.
INPUT_SOURCES: tuple[str, ...] = ("Dataset sample", "Upload an image", "Latest sketch")
SOURCE_CODES = {"Dataset sample": "dataset", "Upload an image": "upload", "Latest sketch": "sketch"}
RESOLUTIONS: tuple[int, ...] = (28, 48, 64, 96)
STRIDES: tuple[int, ...] = (1, 2, 3)
PADDINGS: tuple[str, ...] = ("valid", "same", "zeros")
POOL_SIZES: tuple[int, ...] = (2, 3, 4)
POOL_STRIDES: tuple[Any, ...] = ("= size", 1, 2, 3, 4)
#: The largest weight a linked kernel may hold: far beyond any preset, small enough to keep maps readable.
MAX_WEIGHT = 1000.0


def preset_slug(name: str) -> str:
    """A preset's short URL name: the words before any bracket, e.g. ``"Sobel x (vertical edges)"`` -> ``"sobel-x"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.split("(")[0].lower()).strip("-")


#: Short URL name -> preset name.
PRESET_SLUGS: dict[str, str] = {preset_slug(name): name for name in PRESETS}


def _parse_kernel(text: str) -> Any:
    """A preset's short name, or 9 or 25 finite weights separated by ``_``, ``,`` or spaces (a tuple of floats)."""
    cleaned = text.strip().lower()
    if cleaned in PRESET_SLUGS:
        return PRESET_SLUGS[cleaned]
    parts = [part for part in re.split(r"[_,\s]+", cleaned) if part]
    if len(parts) not in (9, 25):
        raise ValueError(f"Expected a preset name or 9 or 25 weights, got {len(parts)} parts.")
    weights = tuple(float(part) for part in parts)
    if not all(math.isfinite(weight) and abs(weight) <= MAX_WEIGHT for weight in weights):
        raise ValueError(f"Weights must be finite numbers from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}.")
    return weights


def _format_kernel(value: Any) -> str:
    if isinstance(value, str):
        slug = preset_slug(value)
        if PRESET_SLUGS.get(slug) != value:
            raise ValueError(f"{value!r} is not a preset.")
        return slug
    return "_".join(f"{float(weight):.6g}" for weight in value)


def _rounded(kernel: np.ndarray) -> tuple[float, ...]:
    return tuple(float(f"{weight:.6g}") for weight in np.asarray(kernel, dtype=np.float64).ravel())


def _bank(state: Mapping[str, Any]) -> BankState | None:
    bank = state.get(f"{EDITOR_KEY}_bank")
    return bank if isinstance(bank, BankState) else None


def _kernel_value(index: int) -> Any:
    """Reads slot ``index`` of the bank: its preset's name while it is that preset, else its weights."""

    def current(state: Mapping[str, Any]) -> Any:
        bank = _bank(state)
        if bank is None:
            return MISSING
        name, kernel = bank.presets[index], bank.kernels[index]
        if name in PRESETS and np.allclose(kernel, preset_kernel(name, bank.size)):
            return name
        return _rounded(kernel)

    return current


def _bank_field(field: str) -> Any:
    def current(state: Mapping[str, Any]) -> Any:
        bank = _bank(state)
        return MISSING if bank is None else getattr(bank, field)

    return current


def _kernel_key(index: int) -> str:
    return f"{EDITOR_KEY}_k{index + 1}"


def _kernel_array(value: Any, size: int) -> np.ndarray:
    if isinstance(value, str):
        return preset_kernel(value, size)
    weights = np.asarray(value, dtype=np.float64)
    side = int(round(math.sqrt(weights.size)))
    return resize_kernel(weights.reshape(side, side), size)


def bank_updates(values: dict[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """The session-state updates that show decoded ``values``: the bank entry and the editor's widget keys.

    Every slot's revision moves past the current bank's, so each kernel grid restarts from its new kernel.
    """
    updates = {key: value for key, value in values.items() if not key.startswith(f"{EDITOR_KEY}_k")}
    size, count = int(values[f"{EDITOR_KEY}_size"]), int(values[f"{EDITOR_KEY}_count"])
    old = _bank(state)
    kernels, presets = [], []
    for index in range(MAX_BANK):
        value = values[_kernel_key(index)]
        kernels.append(_kernel_array(value, size))
        presets.append(value if isinstance(value, str) else "Custom (from a link)")
    revisions = [revision + 1 for revision in old.revisions] if old is not None else [1] * MAX_BANK
    bank = BankState(size=size, count=count, kernels=kernels, presets=presets, revisions=revisions,
                     normalise=bool(values[f"{EDITOR_KEY}_normalise"]))
    updates[f"{EDITOR_KEY}_bank"] = bank
    for index in range(MAX_BANK):
        updates[f"{EDITOR_KEY}_preset_{index}"] = presets[index]
    return updates


def _params() -> tuple[Param, ...]:
    bank = [
        Param("ksize", f"{EDITOR_KEY}_size", 3, choice("ksize", "-", SIZES).parse, str, _bank_field("size")),
        Param("kcount", f"{EDITOR_KEY}_count", 4, integer("kcount", "-", 1, MAX_BANK, 4).parse,
              integer("kcount", "-", 1, MAX_BANK, 4).format, _bank_field("count")),
        Param("knorm", f"{EDITOR_KEY}_normalise", False, flag("knorm", "-", False).parse,
              flag("knorm", "-", False).format, _bank_field("normalise")),
        *(Param(f"k{index + 1}", _kernel_key(index), default_preset(index), _parse_kernel, _format_kernel,
                _kernel_value(index)) for index in range(MAX_BANK)),
    ]
    pipe = [
        choice("stride", f"{PIPE_KEY}_stride", STRIDES),
        choice("pad", f"{PIPE_KEY}_padding", PADDINGS),
        integer("padw", f"{PIPE_KEY}_pad_width", 0, 5, 1),
        number("bias", f"{PIPE_KEY}_bias", -10.0, 10.0, 0.0),
        choice("act", f"{PIPE_KEY}_activation", tuple(ACTIVATIONS), "none"),
        number("thr", f"{PIPE_KEY}_threshold", -20.0, 20.0, 2.0),
        choice("pool", f"{PIPE_KEY}_pool", tuple(POOL_MODES), "none"),
        choice("psize", f"{PIPE_KEY}_pool_size", POOL_SIZES),
        choice("pstride", f"{PIPE_KEY}_pool_stride", POOL_STRIDES, codes={"= size": "size"}),
    ]
    image = [
        choice("src", f"{INPUT_KEY}_source", INPUT_SOURCES, codes=SOURCE_CODES),
        choice("data", f"{INPUT_KEY}_dataset", tuple(DATASETS), "mnist"),
        integer("cls", f"{INPUT_KEY}_class", 0, 99, 2),
        integer("img", f"{INPUT_KEY}_index", 0, 100_000, 0),
        choice("res", f"{INPUT_KEY}_resolution", RESOLUTIONS, 64),
        flag("inv", f"{INPUT_KEY}_invert", True),
        flag("anim", "kernels_animate", False),
    ]
    return (*bank, *pipe, *image)


#: The Kernels page's share-link table.
KERNELS_TABLE = ParamTable(_params(), finish=bank_updates)
