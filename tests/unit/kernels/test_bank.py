"""Unit tests for cnnviz.kernels.bank: the kernel editor's rules, without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.kernels.bank import CUSTOM, BankState
from cnnviz.kernels.ops import MAX_BANK, KernelError
from cnnviz.kernels.presets import TUTORIAL_PRESETS, preset_kernel


def test_a_new_bank_is_the_tutorial_experiment():
    bank = BankState.tutorial()
    assert (bank.size, bank.count, len(bank.kernels)) == (3, 4, MAX_BANK)
    assert bank.labels() == [f"{index + 1}: {name}" for index, name in enumerate(TUTORIAL_PRESETS)]
    np.testing.assert_array_equal(bank.applied()[0], preset_kernel(TUTORIAL_PRESETS[0]))


def test_choosing_a_preset_replaces_the_kernel_and_restarts_its_grid():
    bank = BankState.tutorial()
    bank.choose_preset(0, "Laplacian")
    np.testing.assert_array_equal(bank.kernels[0], preset_kernel("Laplacian"))
    assert bank.presets[0] == "Laplacian" and bank.revisions[:2] == [1, 0]
    bank.choose_preset(0, CUSTOM)  # not a preset: nothing happens
    assert bank.revisions[0] == 1


def test_resizing_rebuilds_presets_and_centres_edited_kernels():
    bank = BankState.tutorial()
    edited = np.arange(9.0).reshape(3, 3)
    assert bank.accept_edit(1, edited)
    bank.resize(5)
    assert bank.size == 5 and all(kernel.shape == (5, 5) for kernel in bank.kernels)
    np.testing.assert_array_equal(bank.kernels[0], preset_kernel(TUTORIAL_PRESETS[0], 5))
    np.testing.assert_array_equal(bank.kernels[1][1:4, 1:4], edited)
    assert bank.presets[1] == CUSTOM and bank.revisions == [1] * MAX_BANK


def test_an_edit_is_kept_only_when_it_changes_the_kernel():
    bank = BankState.tutorial()
    assert not bank.accept_edit(0, bank.kernels[0].copy())
    assert not bank.accept_edit(0, np.zeros((5, 5)))  # a stale grid of the old size
    assert bank.presets[0] == TUTORIAL_PRESETS[0]
    assert bank.accept_edit(0, np.zeros((3, 3)))
    assert bank.presets[0] == CUSTOM and bank.revisions[0] == 0  # the grid the learner typed in stays


def test_loading_a_5x5_kernel_switches_the_bank_and_grows_it():
    bank = BankState.tutorial()
    bank.load(5, np.ones((5, 5)), "Learned #1")
    assert (bank.size, bank.count) == (5, 6)
    np.testing.assert_array_equal(bank.applied()[5], np.ones((5, 5)))
    assert bank.labels()[5] == "6: Learned #1"


@pytest.mark.parametrize(
    "index,kernel,match",
    [(0, np.ones((4, 4)), "3x3 or 5x5"), (0, np.ones((3, 5)), "3x3 or 5x5"), (8, np.ones((3, 3)), "slot 9")],
)
def test_loading_refuses_what_the_editor_cannot_hold(index, kernel, match):
    bank = BankState.tutorial()
    with pytest.raises(KernelError, match=match):
        bank.load(index, kernel)


def test_normalise_applies_to_the_kernels_in_use():
    bank = BankState.tutorial()
    bank.normalise = True
    np.testing.assert_allclose(np.abs(bank.applied()).sum(axis=(1, 2)), np.ones(4))
