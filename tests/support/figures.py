"""Figures a test measured, kept for the reliability report (``python -m tools.reliability_report``)."""

from __future__ import annotations

import fcntl
import json
import os
from typing import Any

from tests.support.paths import ARTIFACTS


def record_figure(name: str, payload: dict[str, Any], *, file: str = "faults.json") -> None:
    """Merge ``{name: payload}`` into ``test-artifacts/<file>`` (created when missing).

    Safe when several test processes record at once (``make test`` runs two): the merge holds a lock on
    ``<file>.lock`` and the file is replaced whole, so no reader sees half of it and no figure is lost.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / file
    with open(ARTIFACTS / f"{file}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(target.read_text()) if target.is_file() else {}
        data[name] = payload
        partial = target.with_name(f".{file}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(partial, target)
