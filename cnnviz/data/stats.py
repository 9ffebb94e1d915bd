"""Summaries of a dataset for the Data page: samples per class, counts, means, histograms.

Pure NumPy; the figures are built in :mod:`cnnviz.data.figures`.
"""

from __future__ import annotations

import numpy as np


def _check_images_labels(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"Expected a non-empty image stack (N, H, W), got shape {images.shape}.")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"Expected {images.shape[0]} labels, got shape {labels.shape}.")
    _check_numeric(images, "images")
    _check_numeric(labels, "labels")
    return images, labels


def _check_numeric(array: np.ndarray, name: str) -> None:
    if array.dtype.kind not in "biuf":
        raise ValueError(f"Expected {name} as numbers, got dtype {array.dtype}.")


def sample_indices_per_class(
    labels: np.ndarray, num_classes: int, per_class: int, *, seed: int = 0
) -> list[np.ndarray]:
    """Pick up to ``per_class`` random indices of each class, reproducibly.

    Returns:
        A list of ``num_classes`` int64 arrays (a class with fewer images gives fewer indices).
    """
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}.")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picks = []
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)
        take = min(per_class, len(members))
        picks.append(np.sort(rng.choice(members, size=take, replace=False)) if take else members[:0])
    return picks


def montage(images: np.ndarray, rows: int, cols: int, *, pad: int = 2, fill: float = 0.0) -> np.ndarray:
    """Tile ``images`` (N, H, W) row by row into one (rows*(H+pad)-pad, cols*(W+pad)-pad) image.

    Missing cells (N < rows*cols) are filled with ``fill``; extra images are an error.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise ValueError(f"Expected images (N, H, W), got shape {images.shape}.")
    count, height, width = images.shape
    if rows < 1 or cols < 1 or count > rows * cols:
        raise ValueError(f"{count} images do not fit a {rows}x{cols} montage.")
    canvas = np.full((rows * (height + pad) - pad, cols * (width + pad) - pad), fill, dtype=np.float32)
    for index in range(count):
        row, col = divmod(index, cols)
        top, left = row * (height + pad), col * (width + pad)
        canvas[top : top + height, left : left + width] = images[index]
    return canvas


def class_montage(
    images: np.ndarray, labels: np.ndarray, num_classes: int, per_class: int = 8, *, seed: int = 0, pad: int = 2
) -> np.ndarray:
    """One row per class with ``per_class`` random samples: (num_classes*(28+pad)-pad, per_class*(28+pad)-pad)."""
    images, labels = _check_images_labels(images, labels)
    picks = sample_indices_per_class(labels, num_classes, per_class, seed=seed)
    tiles = np.zeros((num_classes * per_class, *images.shape[1:]), dtype=np.float32)
    for label, indices in enumerate(picks):
        tiles[label * per_class : label * per_class + len(indices)] = images[indices]
    return montage(tiles, num_classes, per_class, pad=pad, fill=np.nan)


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """How many labels fall in each class: int64 (num_classes,)."""
    labels = np.asarray(labels)
    _check_numeric(labels, "labels")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}.")
    return np.bincount(labels.astype(np.int64), minlength=num_classes)


def mean_images(images: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """The average image of each class: float32 (num_classes, H, W), NaN for an empty class."""
    images, labels = _check_images_labels(images, labels)
    means = np.full((num_classes, *images.shape[1:]), np.nan, dtype=np.float32)
    for label in range(num_classes):
        members = images[labels == label]
        if len(members):
            means[label] = members.mean(axis=0, dtype=np.float64)
    return means


def pixel_histogram(images: np.ndarray, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of pixel intensities 0..255: ``(counts (bins,), edges (bins+1,))``."""
    images = np.asarray(images)
    _check_numeric(images, "images")
    if images.size == 0:
        raise ValueError("Expected at least one pixel for a histogram, got an empty array.")
    if not 1 <= bins <= 256 or 256 % bins:
        raise ValueError(f"bins must divide 256 (1, 2, 4, ..., 256), got {bins}.")
    if images.dtype == np.uint8:
        # bincount over the 256 possible values is ~10x faster than np.histogram on millions of pixels.
        per_value = np.bincount(images.ravel(), minlength=256)
        counts = per_value.reshape(bins, 256 // bins).sum(axis=1)
        return counts, np.linspace(0, 256, bins + 1)
    counts, edges = np.histogram(images, bins=bins, range=(0, 256))
    return counts, edges


#: Intensities from this value up count as ink (the bright half of 0..255) for :func:`intensity_summary`.
INK_FROM = 128


def intensity_summary(counts: np.ndarray, edges: np.ndarray) -> str:
    """Describe a pixel histogram in one sentence computed from it (the Data page's caption).

    MNIST's ink peaks near 255 but Fashion-MNIST's near 210: a fixed sentence was wrong for one of them.

    Args:
        counts: (bins,) pixel counts, from :func:`pixel_histogram`.
        edges: (bins + 1,) bin edges over 0..256.

    Returns:
        e.g. "81% of the pixels are background (below 8); among the bright pixels (128 and above) the most
        common value is near 252, and they are 10% of all pixels."

    Raises:
        ValueError: for mismatched shapes or a histogram without pixels.
    """
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if counts.ndim != 1 or edges.shape != (counts.size + 1,):
        raise ValueError(f"Expected counts (bins,) and edges (bins + 1,), got {counts.shape} and {edges.shape}.")
    total = float(counts.sum())
    if total <= 0:
        raise ValueError("The histogram holds no pixels.")
    background = counts[0] / total
    centres = (edges[:-1] + edges[1:]) / 2
    bright = centres >= INK_FROM
    text = f"{background:.0%} of the pixels are background (below {edges[1]:.0f})"
    if not bright.any() or counts[bright].sum() == 0:
        return text + f"; no pixel reaches {INK_FROM}."
    peak = centres[bright][int(np.argmax(counts[bright]))]
    share = counts[bright].sum() / total
    return (
        text + f"; among the bright pixels ({INK_FROM} and above) the most common value is near {peak:.0f}, "
        f"and they are {share:.0%} of all pixels."
    )
