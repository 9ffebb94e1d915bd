"""cnnviz: the library behind a browser studio for learning convolutional neural networks.

The package is importable without TensorFlow: modules that need Keras import it
inside the functions that use it, because ``import tensorflow`` costs seconds.
"""

from pathlib import Path

__version__ = "0.1.0"

#: The repository root (the folder holding ``app.py``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Where trained models are written and shipped models live.
MODELS_DIR = PROJECT_ROOT / "models"

__all__ = ["MODELS_DIR", "PROJECT_ROOT", "__version__"]
