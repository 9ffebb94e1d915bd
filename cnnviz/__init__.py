"""cnnviz: the library behind a browser studio for learning convolutional neural networks.

The stable public API is re-exported here::

    from cnnviz import (load_dataset, ModelSpec, TrainConfig, build_model, prepare_data, train_model,
                        convolve2d, pool2d, sketch_to_input, load_default_model, filter_gradient,
                        diagnose_training)

``import cnnviz`` stays free of TensorFlow (``import tensorflow`` costs seconds): each
name is imported from its feature package the first time it is used (PEP 562), and
the functions that need Keras import it only when they are called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cnnviz.core import __version__
from cnnviz.core.paths import MODELS_DIR, PROJECT_ROOT, SHIPPED_MODELS_DIR

#: Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    "load_dataset": "cnnviz.core.datasets",
    "ModelSpec": "cnnviz.train.spec",
    "TrainConfig": "cnnviz.train.loop",
    "build_model": "cnnviz.train.spec",
    "train_model": "cnnviz.train.loop",
    "prepare_data": "cnnviz.train.loop",
    "convolve2d": "cnnviz.kernels.ops",
    "pool2d": "cnnviz.kernels.ops",
    "sketch_to_input": "cnnviz.sketch.preprocess",
    "load_default_model": "cnnviz.core.store",
    "filter_gradient": "cnnviz.inside.backprop",
    "diagnose_training": "cnnviz.train.coach",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from cnnviz.core.datasets import load_dataset
    from cnnviz.core.store import load_default_model
    from cnnviz.inside.backprop import filter_gradient
    from cnnviz.kernels.ops import convolve2d, pool2d
    from cnnviz.sketch.preprocess import sketch_to_input
    from cnnviz.train.coach import diagnose_training
    from cnnviz.train.loop import TrainConfig, prepare_data, train_model
    from cnnviz.train.spec import ModelSpec, build_model


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (keeps ``import cnnviz`` light)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'cnnviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


# Spelled out (not built from _PUBLIC) so linters and IDEs can read it; test_package checks they agree.
__all__ = [
    "load_dataset", "ModelSpec", "TrainConfig", "build_model", "train_model", "convolve2d", "pool2d",
    "sketch_to_input", "load_default_model", "prepare_data", "filter_gradient", "diagnose_training",
    "MODELS_DIR", "PROJECT_ROOT", "SHIPPED_MODELS_DIR", "__version__",
]
