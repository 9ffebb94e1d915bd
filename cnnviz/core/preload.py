"""Import Keras (and so TensorFlow) in the background, before a thread that needs it asks.

A training builds its model in the server's job thread, and importing Keras there at the click costs 10-15 s on
2 cores, far more while the server is busy: a browser test on a busy CI machine waited 240 s at "Preparing…" for
a job thread still importing TensorFlow. The Train page starts this import when it shows the design; by the click
it is done or well under way, and a thread that needs Keras earlier waits for it (Python's import lock) instead of
starting its own. Pages that never need Keras (Data, Lessons, Challenges) never start it.
"""

from __future__ import annotations

import threading
import traceback

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _import_keras() -> None:
    try:
        import keras  # noqa: F401 - imported for its side effect: the module is then in sys.modules
    except Exception:  # noqa: BLE001 - the page that needs Keras reports the failure to the learner
        traceback.print_exc()


def preload_keras() -> threading.Thread:
    """Start importing Keras in a daemon thread, once per process; return that thread at once (idempotent)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_import_keras, name="cnnviz-preload-keras", daemon=True)
            _thread.start()
        return _thread
