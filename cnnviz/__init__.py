"""cnnviz: the library behind a browser studio for learning convolutional neural networks.

The package is importable without TensorFlow: modules that need Keras import it
inside the functions that use it, because ``import tensorflow`` costs seconds.
"""

import os
from pathlib import Path

__version__ = "0.1.0"

#: The repository root (the folder holding ``app.py``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Where the shipped, pre-trained models live (in the repository).
SHIPPED_MODELS_DIR = PROJECT_ROOT / "models"

#: Where trained models are written and listed: ``$CNNVIZ_MODELS_DIR`` if set (tests point it at a
#: temporary folder), else the repository's ``models/``.
MODELS_DIR = Path(os.environ["CNNVIZ_MODELS_DIR"]) if os.environ.get("CNNVIZ_MODELS_DIR") else SHIPPED_MODELS_DIR


def load_default_model(dataset: str):  # -> keras.Model (not annotated: keras is not imported here)
    """Load the shipped pre-trained model for ``dataset`` ("mnist", "fashion_mnist" or "kmnist").

    The model takes (N, 28, 28, 1) float32 images in [0, 1] (white ink on black) and
    returns (N, 10) class probabilities. This is :func:`cnnviz.store.load_default_model`,
    re-exported here so that ``import cnnviz`` stays free of TensorFlow until it is called.
    """
    from cnnviz.store import load_default_model as _load_default_model

    return _load_default_model(dataset)


__all__ = ["load_default_model", "MODELS_DIR", "PROJECT_ROOT", "SHIPPED_MODELS_DIR", "__version__"]
