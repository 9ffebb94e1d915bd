"""The package's promises: cheap to import, and the documented import path for the shipped models."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.support.paths import REPO_ROOT


@pytest.mark.parametrize(
    "module",
    ["cnnviz", "cnnviz.core.datasets", "cnnviz.data.stats", "cnnviz.kernels.ops", "cnnviz.sketch.preprocess",
     "cnnviz.ui.pages"],
)
def test_importing_does_not_pull_in_tensorflow(module: str):
    code = f"import sys, {module}; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_load_default_model_from_the_package_root(four_images: np.ndarray):
    import cnnviz

    model = cnnviz.load_default_model("mnist")
    probabilities = np.asarray(model.predict_on_batch(four_images[..., None]))
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
