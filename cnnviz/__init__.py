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

__all__ = ["MODELS_DIR", "PROJECT_ROOT", "SHIPPED_MODELS_DIR", "__version__"]
