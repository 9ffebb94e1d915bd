"""The data lab: damage the training data on purpose and see what it does to the network.

Learners meet bad data more often than bad architectures (Farhana et al., FIE 2024), so the Train page
lets them break the data in two controlled ways and watch the curves, the test accuracy and the
confusion matrix change:

* **label noise**: a share of the training labels is replaced, at random, with a *different* class
  (:func:`noisy_labels`); exactly ``round(share * n)`` labels change;
* **class imbalance**: of the chosen classes, only a share of their training images is kept
  (:func:`imbalanced_indices`); ``round(keep * count)`` images of each chosen class stay, every other
  class keeps all of its images.

The third setting of the lab, the training-set size, is :attr:`cnnviz.train.loop.TrainConfig.train_size`.

:func:`damage_training_data` applies both to the *training part only*, after the validation part was
split off (:func:`cnnviz.train.loop.prepare_data`): the validation and test images measure how well the
network learned the *true* task, so they keep their true labels and their class balance. Damaging them
too would hide the damage: a network trained on noisy labels would be graded against the same noise.

Everything is reproducible: the same seed, settings and labels give the same damage. The three
functions use only NumPy and raise plain ``ValueError`` because the generated Keras script
(:mod:`cnnviz.train.script`) copies their source, so the learner's script damages the data exactly as
the studio does (``tests/unit/train/test_script.py`` checks it byte for byte).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnviz.core.records import describe_datalab


def noisy_labels(labels: np.ndarray, share: float, num_classes: int, seed: int) -> np.ndarray:
    """Return a copy of ``labels`` in which exactly ``round(share * len(labels))`` labels are wrong.

    The labels to change are drawn at random without replacement; each one moves to a class drawn
    uniformly from the ``num_classes - 1`` *other* classes (never to its own), so the changed share is
    exactly the requested one.

    Args:
        labels: int (N,) class indices in ``[0, num_classes)``.
        share: the fraction of labels to change, 0..1.
        num_classes: how many classes there are (at least 2).
        seed: seeds the choice; the same seed and labels give the same result.

    Returns:
        int64 (N,) labels.

    Raises:
        ValueError: ``share`` is outside 0..1, fewer than 2 classes, or a label outside ``[0, num_classes)``.
    """
    labels = np.asarray(labels).astype(np.int64)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"Label noise must be a share from 0 to 1, got {share!r}.")
    if num_classes < 2:
        raise ValueError(f"Label noise needs at least 2 classes to swap between, got {num_classes!r}.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}.")
    # A stream of its own (entropy [seed, 1]), so that the choice does not repeat the subset's shuffle.
    rng = np.random.default_rng([seed, 1])
    count = int(round(share * len(labels)))
    chosen = rng.choice(len(labels), size=count, replace=False)
    # Adding 1..num_classes-1 modulo num_classes reaches every other class with equal chance, never the same one.
    shifts = rng.integers(1, num_classes, size=count)
    noisy = labels.copy()
    noisy[chosen] = (labels[chosen] + shifts) % num_classes
    return noisy


def imbalanced_indices(labels: np.ndarray, classes: Sequence[int], keep: float, seed: int) -> np.ndarray:
    """Return the sorted indices of the images kept when each of ``classes`` keeps only a share of its images.

    Of each class in ``classes``, ``round(keep * count)`` of its images are kept, chosen at random;
    every image of the other classes is kept. The kept images stay in their original order.

    Args:
        labels: int (N,) class indices.
        classes: the classes to thin out (a class with no images is ignored).
        keep: the share of their images to keep, 0..1 (0 removes those classes entirely).
        seed: seeds the choice; the same seed and labels give the same result.

    Returns:
        int64 indices into ``labels``, ascending.

    Raises:
        ValueError: ``keep`` is outside 0..1.
    """
    labels = np.asarray(labels)
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"The share of images to keep must be from 0 to 1, got {keep!r}.")
    rng = np.random.default_rng([seed, 2])
    kept = np.ones(len(labels), dtype=bool)
    for label in sorted(set(int(label) for label in classes)):
        members = np.flatnonzero(labels == label)
        kept[rng.permutation(members)[int(round(keep * len(members))):]] = False
    return np.flatnonzero(kept).astype(np.int64)


def damage_training_data(
    x: np.ndarray,
    y: np.ndarray,
    *,
    label_noise: float,
    imbalance_classes: Sequence[int],
    imbalance_keep: float,
    num_classes: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the training images and labels damaged as the data lab's settings say.

    First the imbalance thins out the chosen classes by their *true* labels (:func:`imbalanced_indices`),
    then label noise changes a share of the remaining labels (:func:`noisy_labels`). Call it on the
    training part only: validation and test data must keep the truth they measure against.

    Args:
        x: the training images, any shape (N, ...); y: their int (N,) labels in ``[0, num_classes)``.
        label_noise: share of labels to change, 0..1 (0: none).
        imbalance_classes: classes to thin out (empty: none); imbalance_keep: share of their images kept, 0..1.
        num_classes: how many classes the task has.
        seed: the training's seed.

    Returns:
        ``(x, y)``: the kept images and their (possibly wrong) int64 labels. With every setting off, the
        inputs themselves (no copy).

    Raises:
        ValueError: a setting is out of range, a chosen class is not one of the task's, or nothing is left to
            train on.
    """
    unknown = sorted(int(label) for label in imbalance_classes if not 0 <= int(label) < num_classes)
    if unknown:
        raise ValueError(f"Classes to thin out must be in [0, {num_classes}), got {unknown}.")
    if len(imbalance_classes) and imbalance_keep < 1.0:
        keep = imbalanced_indices(y, imbalance_classes, imbalance_keep, seed)
        x, y = x[keep], y[keep]
        if len(y) == 0:
            raise ValueError("Keeping that share of those classes leaves no training images; keep more of them.")
    if label_noise > 0:
        y = noisy_labels(y, label_noise, num_classes, seed)
    return x, y


def datalab_active(config: object) -> bool:
    """Whether a :class:`cnnviz.train.loop.TrainConfig` damages its training data at all."""
    return bool(getattr(config, "label_noise", 0.0) > 0
                or (getattr(config, "imbalance_classes", ()) and getattr(config, "imbalance_keep", 1.0) < 1.0))


__all__ = ["damage_training_data", "datalab_active", "describe_datalab", "imbalanced_indices", "noisy_labels"]
