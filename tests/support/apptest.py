"""Helpers for Streamlit AppTest tests: scripts are addressed from the repository root."""

from __future__ import annotations

import functools
from pathlib import Path

from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from tests.support.paths import REPO_ROOT

#: Generous per-run timeout: the first run of a page imports TensorFlow on a 2-core machine.
APP_TIMEOUT_S = 180


def app_test(script: str, timeout: float = APP_TIMEOUT_S) -> AppTest:
    """An AppTest for ``script`` given relative to the repository root, e.g. ``"pages/data.py"``."""
    return AppTest.from_file(str(Path(REPO_ROOT) / script), default_timeout=timeout)


def scan_installed_components_once() -> bool:
    """Make every AppTest of this process reuse one scan of the installed Streamlit components.

    Each new ``AppTest`` scans the metadata of every installed distribution for component manifests (Streamlit's
    ``scan_component_manifests``, 150-170 ms here, about 250 distributions); the suite creates a few hundred, and
    under py-spy the scans were 14% of ``make test-fast``'s CPU. The installed packages do not change while the
    tests run, so the first scan's answer holds for all. The server scans once at start-up, so this is what it does.
    Streamlit imports the function from its module at each call, so replacing the module attribute is enough; a
    test in tests/app checks that it still takes effect.

    Returns:
        Whether the scan function was found (and is now shared).
    """
    scan = getattr(manifest_scanner, "scan_component_manifests", None)
    if scan is None:
        return False
    if not hasattr(scan, "cache_info"):  # not yet shared
        manifest_scanner.scan_component_manifests = functools.cache(scan)
    return True
