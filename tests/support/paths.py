"""Where the tests find the repository and the offline data."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The offline dataset folder: $CNNVIZ_DATA_DIR when set (CI sets it), else ../shared/data.
SHARED_DATA = Path(os.environ.get("CNNVIZ_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")
#: Where tests leave screenshots, logs and figures for a person to look at.
ARTIFACTS = REPO_ROOT / "test-artifacts"
