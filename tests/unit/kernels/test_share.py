"""cnnviz.kernels.share: the Kernels page's bank, pipeline and image settings as a link."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.kernels.bank import BankState
from cnnviz.kernels.presets import PRESETS, preset_kernel
from cnnviz.kernels.share import KERNELS_TABLE, PRESET_SLUGS, preset_slug

DIAGONAL = [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]]


def _state_after(query: dict[str, str], state: dict | None = None) -> dict:
    values, ignored = KERNELS_TABLE.decode(query)
    assert ignored == []
    return KERNELS_TABLE.updates(values, state or {})


def test_every_preset_has_its_own_short_name():
    assert len(PRESET_SLUGS) == len(PRESETS)
    assert preset_slug("Line: diagonal (\\)") == "line-diagonal"
    assert preset_slug("Sobel x (vertical edges)") == "sobel-x"


def test_the_starting_bank_writes_an_empty_link():
    assert KERNELS_TABLE.encode(KERNELS_TABLE.current({"kernel_bank": BankState.tutorial()})) == {}


def test_a_bank_round_trips_through_the_link():
    bank = BankState.tutorial()
    bank.load(1, np.array([[0.5, 0, -0.5], [1, 0, -1], [1 / 9, 0, 0]]), label="Learned #3")
    bank.choose_preset(2, "Sobel x (vertical edges)")
    bank.count, bank.normalise = 3, True
    query = KERNELS_TABLE.encode(KERNELS_TABLE.current({"kernel_bank": bank}))
    assert query == {"kcount": "3", "knorm": "1", "k2": "0.5_0_-0.5_1_0_-1_0.111111_0_0", "k3": "sobel-x"}
    restored = _state_after(query, {"kernel_bank": bank})["kernel_bank"]
    assert (restored.size, restored.count, restored.normalise) == (3, 3, True)
    np.testing.assert_allclose(restored.kernels[1], bank.kernels[1], atol=1e-6)
    assert restored.presets[2] == "Sobel x (vertical edges)"
    # Every grid restarts: its revision moves past the old bank's.
    assert all(new > old for new, old in zip(restored.revisions, bank.revisions))


def test_the_tutorial_diagonal_filter_with_threshold_and_pooling():
    state = _state_after({"kcount": "1", "k1": "2_-1_-1_-1_2_-1_-1_-1_2", "act": "threshold", "thr": "2",
                          "pool": "max", "psize": "2"})
    np.testing.assert_array_equal(state["kernel_bank"].kernels[0], DIAGONAL)
    assert state["kernel_count"] == 1 and state["kernel_preset_0"] == "Custom (from a link)"
    assert (state["kernels_pipe_activation"], state["kernels_pipe_threshold"]) == ("threshold", 2.0)
    assert (state["kernels_pipe_pool"], state["kernels_pipe_pool_size"]) == ("max", 2)


def test_a_5x5_bank_rebuilds_presets_and_centres_3x3_weights():
    state = _state_after({"ksize": "5", "k1": "box-blur", "k2": "2_-1_-1_-1_2_-1_-1_-1_2"})
    bank = state["kernel_bank"]
    np.testing.assert_array_equal(bank.kernels[0], preset_kernel("Box blur", 5))
    assert bank.kernels[1].shape == (5, 5) and bank.kernels[1][1:4, 1:4].tolist() == DIAGONAL


@pytest.mark.parametrize("text", ["1_2_3", "nope", "1_2_3_4_5_6_7_8_inf", "1e9_0_0_0_0_0_0_0_0", "_" * 9])
def test_bad_kernels_are_ignored(text):
    values, ignored = KERNELS_TABLE.decode({"k1": text})
    assert ignored == ["k1"]
    assert values["kernel_k1"] == "Line: diagonal (\\)"


def test_the_pool_stride_equal_to_the_size_has_a_readable_code():
    assert KERNELS_TABLE.decode({"pstride": "size"})[0]["kernels_pipe_pool_stride"] == "= size"
    assert KERNELS_TABLE.encode({"kernels_pipe_pool_stride": 2}) == {"pstride": "2"}
    assert KERNELS_TABLE.encode({"kernels_input_source": "Latest sketch"}) == {"src": "sketch"}
