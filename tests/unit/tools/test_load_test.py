"""The classroom load test's own plumbing (the run itself takes 20 minutes: ``benchmarks/load_test.py``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import ModuleType

from tests.support.paths import REPO_ROOT


def _load_test() -> ModuleType:
    """``benchmarks/load_test.py`` as a module (benchmarks/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("load_test", REPO_ROOT / "benchmarks" / "load_test.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_local_backend_environment_is_a_context_and_a_started_process_is_stopped() -> None:
    """Both broke the whole run at its first line once (a decorator slid onto a copy of ``stop_streamlit``)."""
    load_test = _load_test()
    with load_test.backend_environment("local", 1) as (env, ray_folder):
        assert env == {"CNNVIZ_RAY_ADDRESS": ""} and ray_folder is None
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    load_test.stop_streamlit(process)  # the one the load test uses for both of its servers
    assert process.poll() is not None
