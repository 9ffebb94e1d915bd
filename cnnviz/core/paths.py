"""Where the studio keeps its files: the shipped models and the folder trained models are saved to."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root (the folder holding ``app.py``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Where the shipped, pre-trained models live (in the repository).
SHIPPED_MODELS_DIR = PROJECT_ROOT / "models"

#: Where trained models are written and listed: ``$CNNVIZ_MODELS_DIR`` if set (tests point it at a
#: temporary folder), else the repository's ``models/``.
MODELS_DIR = Path(os.environ["CNNVIZ_MODELS_DIR"]) if os.environ.get("CNNVIZ_MODELS_DIR") else SHIPPED_MODELS_DIR
