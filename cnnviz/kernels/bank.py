"""The rules of the kernel editor's bank, without Streamlit: what a preset, a resize or a load does.

The editor (:mod:`cnnviz.kernels.editor`) keeps one :class:`BankState` per editor in session
state and only translates widget events into the methods below, so every rule can be tested
with plain NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnviz.kernels.ops import MAX_BANK, KernelError
from cnnviz.kernels.presets import PRESETS, TUTORIAL_PRESETS, normalise_kernel, preset_kernel, resize_kernel

#: The label shown in a kernel's preset box once its cells have been edited by hand.
CUSTOM = "Custom (edited)"
#: Presets given to kernels added to the bank after the tutorial's four line filters.
EXTRA_PRESETS: tuple[str, ...] = (
    "Sobel x (vertical edges)",
    "Sobel y (horizontal edges)",
    "Laplacian",
    "Sharpen",
)
#: The kernel sizes the editor offers.
SIZES = (3, 5)


def default_preset(index: int) -> str:
    """The preset slot ``index`` starts with: the tutorial's four line filters, then four classic edge filters."""
    names = list(TUTORIAL_PRESETS) + list(EXTRA_PRESETS)
    return names[index % len(names)]


@dataclass
class BankState:
    """The editor's state: the last good kernels and how each was made.

    Attributes:
        size: 3 or 5.
        count: how many kernels are in use (1 to :data:`MAX_BANK`).
        kernels: MAX_BANK (size, size) float64 kernels; only the first ``count`` are used.
        presets: the preset each kernel came from, :data:`CUSTOM`, or a label such as "Learned #3".
        revisions: bumped when a kernel is replaced (preset, size, learned), so its grid widget restarts.
        normalise: whether :meth:`applied` returns normalised kernels.
    """

    size: int = 3
    count: int = 4
    kernels: list[np.ndarray] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)
    revisions: list[int] = field(default_factory=list)
    normalise: bool = False

    @classmethod
    def tutorial(cls) -> BankState:
        """The bank a learner starts with: four line filters in use, four edge filters waiting, all 3x3."""
        presets = [default_preset(index) for index in range(MAX_BANK)]
        return cls(kernels=[preset_kernel(name, 3) for name in presets], presets=presets, revisions=[0] * MAX_BANK)

    def replace(self, index: int, kernel: np.ndarray, preset: str) -> None:
        """Put ``kernel`` (made by ``preset``) in slot ``index``; its grid restarts from it."""
        self.kernels[index] = kernel
        self.presets[index] = preset
        self.revisions[index] += 1

    def choose_preset(self, index: int, name: str) -> None:
        """Replace slot ``index`` by the preset ``name`` at the bank's size (other names, e.g. CUSTOM, do nothing)."""
        if name in PRESETS:
            self.replace(index, preset_kernel(name, self.size), name)

    def resize(self, size: int) -> None:
        """Switch every slot to ``size``: presets are rebuilt at that size, other kernels centred or cropped."""
        if size == self.size:
            return
        self.size = size
        for index in range(MAX_BANK):
            name = self.presets[index]
            kernel = preset_kernel(name, size) if name in PRESETS else resize_kernel(self.kernels[index], size)
            self.replace(index, kernel, name)

    def load(self, index: int, kernel: np.ndarray, label: str = CUSTOM) -> None:
        """Put an outside kernel (e.g. a learned one) into slot ``index``, growing the bank to show it.

        A kernel of the other size switches the whole bank to that size.

        Raises:
            KernelError: for a kernel that is not 3x3 or 5x5, or an index outside the bank.
        """
        array = np.asarray(kernel, dtype=np.float64)
        if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] not in SIZES:
            raise KernelError(f"The editor holds 3x3 or 5x5 kernels; this kernel is {array.shape}.")
        if not 0 <= index < MAX_BANK:
            raise KernelError(f"Kernel slot {index + 1} does not exist; the bank has slots 1 to {MAX_BANK}.")
        self.resize(array.shape[0])
        self.count = max(self.count, index + 1)
        self.replace(index, array.copy(), label)

    def accept_edit(self, index: int, kernel: np.ndarray) -> bool:
        """Keep a hand-edited kernel; return True when it changed slot ``index`` (which becomes :data:`CUSTOM`).

        A grid of another shape (a stale grid from before a resize) is ignored.
        """
        current = self.kernels[index]
        if kernel.shape != current.shape or np.allclose(kernel, current, atol=1e-9):
            return False
        self.kernels[index] = kernel
        self.presets[index] = CUSTOM
        return True

    def applied(self) -> np.ndarray:
        """The kernels in use, (count, size, size) float64, normalised when asked."""
        bank = np.stack(self.kernels[: self.count])
        return np.stack([normalise_kernel(kernel) for kernel in bank]) if self.normalise else bank

    def labels(self) -> list[str]:
        """A short label per kernel in use, e.g. "1: Sobel x (vertical edges)"."""
        return [f"{index + 1}: {self.presets[index]}" for index in range(self.count)]
