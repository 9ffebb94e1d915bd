"""How robust is the model's reading of a drawing? Sweeps of shift, rotation, scale and stroke width, and familiarity.

A sweep changes the prepared 28x28 drawing step by step (moved 1 pixel at a time, turned 5 degrees at a
time, ...) and asks the model about every changed copy in one batched call, so a chart can show every
class's probability along the way. The unchanged drawing is one point of every sweep: the very array the
page predicted, so that point gives the page's answer; its probabilities agree with the page's to float32
round-off (oneDNN picks its convolution algorithm by batch size: measured differences up to 1.2e-7, far
below the 0.1% the page shows).

Why it matters: MNIST digits were centred by their centre of mass and scaled into a 20x20 box, so a
network trained on them has seen few digits off-centre, turned or of another size. Its two 2x2
poolings give it only a little tolerance to shifts (a pixel or two); beyond that the answer falls apart.

The familiarity reading asks a second question: does the model see the drawing like any of its
training images? It is the mean cosine distance, in the penultimate layer, from the drawing to its
nearest training images (:mod:`cnnviz.core.embedding`), compared with the same distance for test
images of the dataset: a drawing farther away than nearly all test images is out of distribution, and
the model's answer, even a confident one, means little.

The image operations are scipy.ndimage's (shift, rotate, affine_transform, grey erosion and dilation,
all with linear interpolation and a black border): scipy comes with scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from cnnviz.core.embedding import (
    MAX_INDEX_IMAGES,
    NeighbourIndex,
    image_features,
    neighbour_distance,
    penultimate_features,
    sample_rows,
    training_index,
)
from cnnviz.core.images import IMAGE_SIDE, to_model_batch, to_unit

#: The centre of the 28x28 image (pixel centres at 0..27), around which rotation and scaling turn.
CENTRE = (IMAGE_SIDE - 1) / 2.0
#: A 3x3 cross: one erosion or dilation with it removes or adds one pixel around every stroke.
_CROSS = ndimage.generate_binary_structure(2, 1)
#: Nearest training images whose mean distance measures how familiar a drawing is.
FAMILIARITY_NEIGHBOURS = 9
#: Test images whose distances give the reference (a seeded sample beyond that).
REFERENCE_TEST_IMAGES = 1000
#: A drawing farther from the training images than this share of test images is called out of distribution.
OUT_OF_DISTRIBUTION_SHARE = 0.95
#: ... and farther than this share, unusual.
UNUSUAL_SHARE = 0.75


class RobustnessError(ValueError):
    """A sweep that cannot be made: an unknown kind, or an image that is not the 28x28 model input."""


def _prepared(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.shape != (IMAGE_SIDE, IMAGE_SIDE):
        raise RobustnessError(
            f"Expected the prepared (28, 28) drawing, got shape {array.shape}. Prepare it with "
            "cnnviz.sketch.preprocess.sketch_to_input first."
        )
    return to_unit(array)


def shift(image: np.ndarray, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """Move the drawing ``dx`` pixels right and ``dy`` pixels down (negative: left, up); ink moved out is lost."""
    return ndimage.shift(image, (dy, dx), order=1, mode="constant", cval=0.0, prefilter=False)


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Turn the drawing around the image centre, anticlockwise as shown for positive ``degrees``."""
    return ndimage.rotate(image, degrees, reshape=False, order=1, mode="constant", cval=0.0, prefilter=False)


def scale(image: np.ndarray, factor: float) -> np.ndarray:
    """Grow (``factor`` > 1) or shrink the drawing around the image centre; ink grown past the border is lost."""
    if factor <= 0:
        raise RobustnessError(f"Expected a scale factor above 0, got {factor}.")
    # Output pixel o shows input pixel c + (o - c) / factor.
    offset = CENTRE - CENTRE / factor
    return ndimage.affine_transform(
        image, np.eye(2) / factor, offset=offset, order=1, mode="constant", cval=0.0, prefilter=False
    )


def _morph(image: np.ndarray, steps: int) -> np.ndarray:
    operation = ndimage.grey_dilation if steps > 0 else ndimage.grey_erosion
    result = image
    for _ in range(abs(steps)):
        result = operation(result, footprint=_CROSS, mode="constant", cval=0.0)
    return result


def stroke_width(image: np.ndarray, pixels: float) -> np.ndarray:
    """Thicken (``pixels`` > 0) or thin every stroke by about ``pixels`` on each side.

    Whole pixels are grey dilations or erosions with a 3x3 cross; a fraction blends the two whole steps
    around it, so the sweep changes smoothly.
    """
    low = int(np.floor(pixels))
    fraction = float(pixels) - low
    result = _morph(image, low)
    if fraction > 0:
        result = (1.0 - fraction) * result + fraction * _morph(image, low + 1)
    return result


@dataclass(frozen=True)
class SweepKind:
    """One way to change the drawing.

    Attributes:
        key: ``"shift_x"``, ``"shift_y"``, ``"rotation"``, ``"scale"`` or ``"stroke"``.
        title: what the chooser shows.
        axis: the chart's x-axis title, with the unit and the sign convention.
        values: the sweep's settings, the unchanged drawing's included.
        neutral: the setting that leaves the drawing unchanged.
        unit: a short unit for sentences ("px", "°", "x").
        apply: (image, value) -> changed image.
    """

    key: str
    title: str
    axis: str
    values: tuple[float, ...]
    neutral: float
    unit: str
    apply: Callable[[np.ndarray, float], np.ndarray]

    def label(self, value: float) -> str:
        """A setting as a learner reads it: "+3 px", "-15°", "1.25x"."""
        if self.key == "scale":
            return f"{value:g}x"
        sign = "+" if value > 0 else ""
        return f"{sign}{value:g}{self.unit}" if self.unit == "°" else f"{sign}{value:g} {self.unit}"


def _steps(low: float, high: float, step: float) -> tuple[float, ...]:
    count = int(round((high - low) / step)) + 1
    return tuple(float(round(low + n * step, 6)) for n in range(count))


#: Every sweep, in the chooser's order.
SWEEPS: dict[str, SweepKind] = {
    kind.key: kind
    for kind in (
        SweepKind("shift_x", "Shift left / right", "shift to the right (pixels; negative: to the left)",
                  _steps(-8, 8, 1), 0.0, "px", lambda image, value: shift(image, dx=value)),
        SweepKind("shift_y", "Shift up / down", "shift down (pixels; negative: up)",
                  _steps(-8, 8, 1), 0.0, "px", lambda image, value: shift(image, dy=value)),
        SweepKind("rotation", "Rotate", "rotation (degrees, anticlockwise; negative: clockwise)",
                  _steps(-60, 60, 5), 0.0, "°", rotate),
        SweepKind("scale", "Scale", "size (1 = as prepared: the longer side 20 pixels)",
                  _steps(0.5, 1.5, 0.05), 1.0, "x", scale),
        SweepKind("stroke", "Stroke width", "pixels added around each stroke (negative: removed)",
                  _steps(-1, 2, 0.25), 0.0, "px", stroke_width),
    )
}


def sweep_kind(key: str) -> SweepKind:
    """The :class:`SweepKind` called ``key``.

    Raises:
        RobustnessError: no sweep of that name.
    """
    if key not in SWEEPS:
        raise RobustnessError(f"Expected one of the sweeps {list(SWEEPS)}, got {key!r}.")
    return SWEEPS[key]


def sweep_images(image: np.ndarray, key: str, values: tuple[float, ...] | None = None) -> np.ndarray:
    """The drawing changed by every setting of a sweep: (len(values), 28, 28) float32 in [0, 1].

    The neutral setting gives the drawing itself, bit for bit (no interpolation is applied to it).

    Raises:
        RobustnessError: an unknown sweep, or not a (28, 28) image.
    """
    kind = sweep_kind(key)
    prepared = _prepared(image)
    settings = kind.values if values is None else tuple(float(v) for v in values)
    changed = [prepared if value == kind.neutral else kind.apply(prepared, value) for value in settings]
    return np.clip(np.stack(changed), 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Sweep:
    """A sweep's changed drawings and the model's probabilities for each.

    Attributes:
        key: the :class:`SweepKind`'s key.
        values: (n,) float64 settings.
        images: (n, 28, 28) float32 changed drawings.
        probabilities: (n, classes) float64, each row summing to 1.
        neutral_index: the row of the unchanged drawing.
    """

    key: str
    values: np.ndarray
    images: np.ndarray
    probabilities: np.ndarray
    neutral_index: int

    @property
    def kind(self) -> SweepKind:
        """The sweep's :class:`SweepKind`."""
        return SWEEPS[self.key]

    @property
    def answers(self) -> np.ndarray:
        """(n,) int64: the class the model picks at every setting."""
        return np.argmax(self.probabilities, axis=1)

    @property
    def plain_answer(self) -> int:
        """The class the model picks for the unchanged drawing."""
        return int(self.answers[self.neutral_index])


def batch_probabilities(model: Any, images: np.ndarray) -> np.ndarray:
    """The model's probabilities for a batch (n, 28, 28) in one ``predict_on_batch`` call: (n, classes) float64.

    Each row is normalised exactly as :func:`cnnviz.core.predict.predict_probabilities` does for one image.

    Raises:
        RobustnessError: output that is not (n, classes) or not finite.
    """
    batch = to_model_batch(images)
    predict_on_batch = getattr(model, "predict_on_batch", None)
    output = predict_on_batch(batch) if callable(predict_on_batch) else model(batch, training=False)
    values = np.asarray(output.numpy() if hasattr(output, "numpy") else output, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != batch.shape[0]:
        raise RobustnessError(f"Expected ({batch.shape[0]}, classes) probabilities, got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise RobustnessError("The model returned NaN or infinite probabilities: it may have diverged in training.")
    totals = values.sum(axis=1, keepdims=True)
    return np.divide(values, totals, out=values.copy(), where=totals > 0)


def sweep(model: Any, image: np.ndarray, key: str) -> Sweep:
    """Change the prepared drawing along one sweep and ask the model about every copy in one batched call.

    Args:
        model: a Keras model taking (N, 28, 28, 1) float32 in [0, 1], returning (N, classes) softmax.
        image: the prepared (28, 28) drawing in [0, 1] (what the page predicted).
        key: one of :data:`SWEEPS`.

    Raises:
        RobustnessError: an unknown sweep, not a (28, 28) image, or unusable model output.
    """
    kind = sweep_kind(key)
    images = sweep_images(image, key)
    return Sweep(
        key=key,
        values=np.asarray(kind.values, dtype=np.float64),
        images=images,
        probabilities=batch_probabilities(model, images),
        neutral_index=kind.values.index(kind.neutral),
    )


def held_range(result: Sweep, class_index: int | None = None) -> tuple[float, float]:
    """The settings, from the unchanged drawing outwards, over which the model keeps answering ``class_index``.

    ``class_index`` defaults to the answer for the unchanged drawing. Returns (lowest, highest) setting
    of the unbroken run around the neutral one (both the neutral setting when it is not answered there).
    """
    target = result.plain_answer if class_index is None else int(class_index)
    same = result.answers == target
    low = high = result.neutral_index
    if same[low]:
        while low > 0 and same[low - 1]:
            low -= 1
        while high < len(same) - 1 and same[high + 1]:
            high += 1
    return float(result.values[low]), float(result.values[high])


def held_sentence(result: Sweep, class_names: tuple[str, ...] | list[str]) -> str:
    """One Markdown sentence: over which settings the answer holds, and what the model says beyond them.

    Class names are put in as given: escape names from a sidecar first.
    """
    kind = result.kind
    answer = result.plain_answer
    low, high = held_range(result)
    values = list(result.values)
    if (low, high) == (values[0], values[-1]):
        return (
            f"The model reads **{class_names[answer]}** all the way from {kind.label(low)} to {kind.label(high)}: "
            "this change does not fool it."
        )
    beyond = []
    for edge, step in ((values.index(low), -1), (values.index(high), 1)):
        outside = edge + step
        if 0 <= outside < len(values):
            beyond.append(f"**{class_names[int(result.answers[outside])]}** at {kind.label(values[outside])}")
    return (
        f"The model keeps reading **{class_names[answer]}** from {kind.label(low)} to {kind.label(high)}; "
        f"beyond that it says {' and '.join(beyond)}."
    )


# -------------------------------------------------------------------------------------------------
# How familiar does the drawing look to the model?
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamiliarityReference:
    """What "familiar" means for one model: its training index and the distances of typical test images.

    Attributes:
        index: the penultimate features of (a sample of) the training split.
        test_distances: (M,) float32, sorted: each test image's mean cosine distance to its nearest training images.
        k: how many nearest training images the distance averages over.
    """

    index: NeighbourIndex
    test_distances: np.ndarray
    k: int


def familiarity_reference(
    model: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    *,
    max_index_images: int = MAX_INDEX_IMAGES,
    test_images: int = REFERENCE_TEST_IMAGES,
    k: int = FAMILIARITY_NEIGHBOURS,
    seed: int = 0,
) -> FamiliarityReference:
    """Index the training split and measure how far typical test images are from it. Build once per model.

    Args:
        model: a Functional ``keras.Model`` (input (28, 28, 1) in [0, 1]).
        x_train, y_train: the training split the model learned from, (N, 28, 28) uint8 and (N,) labels.
        x_test: its test split, (M, 28, 28) uint8 (a seeded sample of ``test_images`` is used).

    Raises:
        cnnviz.core.images.ModelInputError: not batches of 28x28 images.
        cnnviz.core.embedding.EmbeddingError: not a Keras model, or labels that do not match the images.
    """
    index = training_index(model, x_train, y_train, max_images=max_index_images, seed=seed)
    rows = sample_rows(np.arange(np.shape(x_test)[0]), test_images, seed=seed)
    if rows.size == 0:
        raise RobustnessError("The test split has no images to compare the drawing with.")
    distances = neighbour_distance(index, penultimate_features(model, np.asarray(x_test)[rows]), k=k)
    return FamiliarityReference(index=index, test_distances=np.sort(distances), k=k)


@dataclass(frozen=True)
class Familiarity:
    """How familiar a drawing looks to the model.

    Attributes:
        distance: the drawing's mean cosine distance to its nearest training images (0: identical features).
        closer_than: the share of reference test images that are farther from the training images, in [0, 1].
        typical: the median test image's distance.
    """

    distance: float
    closer_than: float
    typical: float

    @property
    def out_of_distribution(self) -> bool:
        """True when the drawing is farther from the training images than nearly every test image."""
        return self.closer_than < 1.0 - OUT_OF_DISTRIBUTION_SHARE

    @property
    def unusual(self) -> bool:
        """True when the drawing is farther than most test images (and not out of distribution)."""
        return not self.out_of_distribution and self.closer_than < 1.0 - UNUSUAL_SHARE


def familiarity(reference: FamiliarityReference, features: np.ndarray) -> Familiarity:
    """Compare one drawing's penultimate features (D,) with the reference's test images.

    ``closer_than`` counts ties as half, so a drawing exactly like the median test image gets 0.5.

    Raises:
        cnnviz.core.embedding.EmbeddingError: features of the wrong size.
    """
    distance = float(neighbour_distance(reference.index, features, k=reference.k)[0])
    ordered = reference.test_distances
    farther = ordered.size - np.searchsorted(ordered, distance, side="right")
    ties = np.searchsorted(ordered, distance, side="right") - np.searchsorted(ordered, distance, side="left")
    return Familiarity(
        distance=distance,
        closer_than=float((farther + 0.5 * ties) / ordered.size),
        typical=float(np.median(ordered)),
    )


def drawing_familiarity(model: Any, reference: FamiliarityReference, image: np.ndarray) -> Familiarity:
    """:func:`familiarity` of the prepared (28, 28) drawing, through the model's penultimate layer."""
    return familiarity(reference, image_features(model, _prepared(image)))


def familiarity_sentence(result: Familiarity, dataset_title: str) -> str:
    """A Markdown sentence for learners: how the drawing compares with the dataset's own test images.

    ``dataset_title`` is put in as given: escape a name from a sidecar first.
    """
    share = f"{result.closer_than:.0%}"
    if result.out_of_distribution:
        farther = 1.0 - result.closer_than
        farther_text = "over 99%" if farther > 0.99 else f"{farther:.0%}"
        return (
            f"**Out of distribution.** To the model, your drawing is farther from the {dataset_title} training "
            f"images than {farther_text} of {dataset_title}'s own test images are. It has seen little like it, so "
            "treat its answer, even a confident one, with suspicion. Draw one large character with a steady line."
        )
    if result.unusual:
        return (
            f"Your drawing is **less typical** than most: closer to the {dataset_title} training images than only "
            f"{share} of {dataset_title}'s test images. The model reads it, but from less familiar features."
        )
    return (
        f"Your drawing looks **{dataset_title}-like** to the model: it is closer to the training images than "
        f"{share} of {dataset_title}'s own test images are."
    )
