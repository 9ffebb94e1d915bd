"""Keep Keras's state in the studio's server across Streamlit script runs.

After every script run, fragment runs included, Streamlit calls ``keras.backend.clear_session()`` as soon as
Keras is imported (``_clean_problem_modules`` in its script runner, meant for apps that build a new model on
every rerun). In Keras 3 that call replaces Keras's global state for *every thread* of the process, clears
TensorFlow's kernel cache and runs a full garbage collection. The studio's server keeps its models in caches and
sessions and builds new ones only in training job threads, so the call only costs, and it costs a lot: while a
training runs, its page reruns its live charts twice a second and its sidebar once a second, and on this 2-core
machine a default run took 53-69 s from the click in Chromium (py-spy: over 40% of the server's samples in that
call) against 14-15 s without the page. It also resets the global state of a model being built in a job thread at
that moment.

Streamlit has no setting for it, so :func:`keep_keras_state` replaces that one function of its script runner with
one that does the rest of it (closing Matplotlib figures; cnnviz draws none). A test checks that the function is
still there, so that a Streamlit upgrade that renames it fails the suite instead of silently bringing the cost
back. Streamlit's other post-run step, a full garbage collection, is switched off with its own setting
(``runner.postScriptGC = false`` in ``.streamlit/config.toml``); Python's automatic collection still runs.
"""

from __future__ import annotations

import sys
from typing import Any

from streamlit.runtime.scriptrunner import script_runner


def _close_matplotlib_figures() -> None:
    """What Streamlit's clean-up does besides clearing Keras: close every Matplotlib figure, if pyplot is loaded."""
    pyplot: Any = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def keep_keras_state() -> bool:
    """Stop Streamlit from clearing Keras after every script run (see the module docstring); idempotent.

    Returns:
        Whether Streamlit's clean-up function was found and replaced.
    """
    if not hasattr(script_runner, "_clean_problem_modules"):
        return False
    script_runner._clean_problem_modules = _close_matplotlib_figures
    return True
