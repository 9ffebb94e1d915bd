"""Run one Inside section alone with ``AppTest.from_function`` (cheaper than the page)."""

from __future__ import annotations

from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

from cnnviz.ui.models import PickedModel
from cnnviz.ui.state import SKETCH_KEY
from tests.support.apptest import APP_TIMEOUT_S

#: The built-in digits' class names.
DIGITS = tuple(str(digit) for digit in range(10))


def _section_script(name, *args):  # no annotations: the body runs as a script
    import cnnviz.inside.sections as sections

    getattr(sections, name)(*args)


def run_section(name: str, *args: Any, sketch: np.ndarray | None = None) -> AppTest:
    """Run ``cnnviz.inside.sections.<name>(*args)`` as a script (with ``sketch`` as the latest sketch)."""
    app = AppTest.from_function(_section_script, args=(name, *args), default_timeout=APP_TIMEOUT_S)
    if sketch is not None:
        app.session_state[SKETCH_KEY] = sketch
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def picked(model: Any, class_names: tuple[str, ...] = DIGITS, version: str = "v1") -> PickedModel:
    """A picked model as the model picker would give it, on the built-in digits."""
    return PickedModel(model=model, label="test model", dataset="digits", class_names=class_names, version=version)
