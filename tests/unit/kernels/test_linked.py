"""cnnviz.kernels.linked: a link's payload from Inside is checked before the Kernels page uses it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cnnviz.kernels.linked import BIAS_LIMIT, read_kernel_link
from cnnviz.kernels.ops import KernelError


def _payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "kernel": [[0.1, 0.2, 0.3], [0.0, -0.5, 0.25], [1.0, 0.0, -1.0]],
        "bias": 0.125,
        "image": np.linspace(0.0, 1.0, 28 * 28).reshape(28, 28).tolist(),
        "layer": "conv_1",
        "filter": 3,
        "test_index": 12,
        "stride": 1,
        "padding": "same",
        "activation": "relu",
    }
    payload.update(changes)
    return payload


def test_inside_payload_becomes_kernel_bias_image_and_layer_settings() -> None:
    link = read_kernel_link(_payload())
    np.testing.assert_array_equal(link.kernel, np.array(_payload()["kernel"]))
    assert link.bias == 0.125 and not link.bias_clipped
    assert link.image.shape == (28, 28) and link.image[-1, -1] == 1.0
    assert link.title == "conv_1, filter 3"
    assert link.image_label == "from Inside: test image 12"
    assert (link.stride, link.padding, link.activation) == (1, "same", "relu")


def test_a_given_title_wins_and_keras_linear_is_the_playgrounds_none() -> None:
    link = read_kernel_link(_payload(title="My filter", activation="linear", kernel=np.eye(5)))
    assert link.title == "My filter"
    assert link.activation == "none"
    assert link.kernel.shape == (5, 5)


def test_settings_the_playground_lacks_are_left_alone() -> None:
    link = read_kernel_link(_payload(stride=4, padding="causal", activation="gelu"))
    assert (link.stride, link.padding, link.activation) == (None, None, None)


def test_uint8_image_is_scaled_and_a_large_bias_clipped() -> None:
    link = read_kernel_link(_payload(image=np.full((28, 28), 255, dtype=np.uint8), bias=-42.0))
    assert link.image.max() == 1.0
    assert link.bias == -BIAS_LIMIT and link.bias_clipped


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"kernel": [[1, 2], [3, 4]]}, "3x3 or 5x5"),
        ({"kernel": "not a kernel"}, "not numbers"),
        ({"kernel": [[float("nan")] * 3] * 3}, "NaN"),
        ({"bias": "big"}, "bias"),
        ({"image": [[0.5] * 28] * 2}, "pixels a side"),
        ({"image": [[2.0] * 28] * 28}, "range 0 to 1"),
        ({"image": [1, 2, 3]}, "grayscale"),
    ],
)
def test_malformed_payload_says_what_is_wrong(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(KernelError, match=words):
        read_kernel_link(_payload(**changes))


def test_missing_image_or_kernel_is_refused() -> None:
    payload = _payload()
    del payload["image"]
    with pytest.raises(KernelError, match="no image"):
        read_kernel_link(payload)
    with pytest.raises(KernelError):
        read_kernel_link({"image": [[0.0] * 28] * 28})
