"""The package's promises: a stable public API at the root, cheap to import, and the shipped models from it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.support.paths import REPO_ROOT

PUBLIC_API = [
    "load_dataset", "ModelSpec", "TrainConfig", "build_model", "train_model", "convolve2d", "pool2d",
    "sketch_to_input", "load_default_model", "prepare_data", "filter_gradient", "diagnose_training",
]
#: Modules a learner or a page imports without wanting TensorFlow's start-up (seconds) or Streamlit.
LIGHT_MODULES = ["cnnviz.core.datasets", "cnnviz.data.stats", "cnnviz.kernels.ops", "cnnviz.sketch.preprocess"]
HEAVY = ("tensorflow", "keras", "streamlit")
#: Streamlit modules the router imports: Streamlit of course, but still no TensorFlow.
UI_MODULES = ["cnnviz.ui.pages", "cnnviz.ui.layout", "cnnviz.ui.links"]


def _fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return what it printed."""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_the_public_api_imports_from_the_root_without_tensorflow_or_streamlit() -> None:
    # One fresh interpreter: `import cnnviz`, then every public name, then the light modules, then the router's
    # ui modules, noting after each step which heavy packages had been imported by then.
    code = f"""
import importlib, json, sys
heavy = {HEAVY!r}
seen = {{}}
import cnnviz
seen["import cnnviz"] = [name for name in heavy if name in sys.modules]
from cnnviz import {", ".join(PUBLIC_API)}
seen["from cnnviz import ..."] = [name for name in heavy if name in sys.modules]
for module in {LIGHT_MODULES!r}:
    importlib.import_module(module)
    seen[module] = [name for name in heavy if name in sys.modules]
for module in {UI_MODULES!r}:
    importlib.import_module(module)
    seen[module] = [name for name in heavy if name in sys.modules and name != "streamlit"]
print(json.dumps(seen))
"""
    seen = json.loads(_fresh_python(code))
    assert seen == {step: [] for step in seen}, f"imported too early: {seen}"
    assert set(seen) == {"import cnnviz", "from cnnviz import ...", *LIGHT_MODULES, *UI_MODULES}


def test_the_root_names_are_the_feature_modules_objects() -> None:
    import cnnviz
    from cnnviz.core.datasets import load_dataset
    from cnnviz.core.store import load_default_model
    from cnnviz.inside.backprop import filter_gradient
    from cnnviz.kernels.ops import convolve2d, pool2d
    from cnnviz.sketch.preprocess import sketch_to_input
    from cnnviz.train.coach import diagnose_training
    from cnnviz.train.loop import TrainConfig, prepare_data, train_model
    from cnnviz.train.spec import ModelSpec, build_model

    expected = {
        "load_dataset": load_dataset, "ModelSpec": ModelSpec, "TrainConfig": TrainConfig, "build_model": build_model,
        "train_model": train_model, "convolve2d": convolve2d, "pool2d": pool2d, "sketch_to_input": sketch_to_input,
        "load_default_model": load_default_model, "prepare_data": prepare_data, "filter_gradient": filter_gradient,
        "diagnose_training": diagnose_training,
    }
    assert {name: getattr(cnnviz, name) for name in PUBLIC_API} == expected
    assert set(PUBLIC_API) <= set(cnnviz.__all__) and set(PUBLIC_API) <= set(dir(cnnviz))
    assert all(hasattr(cnnviz, name) for name in cnnviz.__all__)


def test_an_unknown_root_name_is_an_attribute_error() -> None:
    import cnnviz

    with pytest.raises(AttributeError, match="no_such_thing"):
        cnnviz.no_such_thing  # noqa: B018 - the lookup is the test


def test_load_default_model_from_the_package_root(four_images: np.ndarray) -> None:
    import cnnviz

    model = cnnviz.load_default_model("mnist")
    probabilities = np.asarray(model.predict_on_batch(four_images[..., None]))
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_no_script_or_module_edits_sys_path() -> None:
    """Issue 10: the package is installed (``pip install -e .``), so nothing reaches it by editing ``sys.path``."""
    import ast

    edits = []
    for path in sorted(REPO_ROOT.glob("**/*.py")):
        relative = path.relative_to(REPO_ROOT)
        if relative.parts[0].startswith(".") or relative.parts[0] in {"test-artifacts", "build"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):  # sys.path.insert(...)
                changed = [node.func.value]
            elif isinstance(node, ast.Assign | ast.AugAssign):  # sys.path = ..., sys.path[:0] = ..., sys.path += ...
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                changed = [target.value if isinstance(target, ast.Subscript) else target for target in targets]
            else:
                continue
            if any(ast.unparse(target) == "sys.path" for target in changed):
                edits.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
    assert not edits, edits
