"""Figures a test measured, kept for the reliability report (``python -m tools.reliability_report``)."""

from __future__ import annotations

import json
from typing import Any

from tests.support.paths import ARTIFACTS


def record_figure(name: str, payload: dict[str, Any], *, file: str = "faults.json") -> None:
    """Merge ``{name: payload}`` into ``test-artifacts/<file>`` (created when missing)."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / file
    data = json.loads(target.read_text()) if target.is_file() else {}
    data[name] = payload
    target.write_text(json.dumps(data, indent=2, sort_keys=True))
