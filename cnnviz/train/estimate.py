"""How long a training will take, before it starts, and the server's limits on training time (issue 16, finding 7).

A training holds the server's only training slot, so a learner should know beforehand that a design will
take a quarter of an hour. :func:`estimate_training_s` predicts the time from the design's multiply-adds per
image (:func:`multiply_adds`, from the layer table) and the run's images and epochs, with a per-image cost
model fitted to two runs on 2 shared CPU cores and rounded to the slow side:

* the Train page's default design (~2.0 M multiply-adds per image) trained at about 720 images/s,
  start-up and validation included;
* the largest design of issue 16 (4 blocks x 128 filters 5x5, 3 dense layers of 512: 1,829,002 parameters,
  ~107 M multiply-adds per image) trained at 254 images/s.

Training an image costs one forward and one backward pass, validating it a forward pass only (a third).
When this server has measured a run (its images per second and its design), the estimate scales that
measurement instead of the fixed speeds.

Teacher settings, read from the server's environment: ``CNNVIZ_WARN_TRAINING_S`` (warn above this
estimate, default :data:`WARN_TRAINING_S`) and ``CNNVIZ_MAX_TRAINING_S`` (stop a training after this many
seconds, keeping its finished epochs; unset: no limit).

Streamlit-free and TensorFlow-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnviz.train.loop import positive_seconds_from_env
from cnnviz.train.spec import LayerRow

#: Seconds of fixed cost per training image besides its multiply-adds (data movement, Keras's step overhead).
SECONDS_PER_IMAGE = 1.0e-3
#: Multiply-adds of the forward pass per second while training (forward and backward), on 2 shared CPU cores.
MULTIPLY_ADDS_PER_S = 30e9
#: A validation image costs a forward pass only: this fraction of a training image.
VALIDATION_SHARE = 1 / 3
#: Seconds to start the training process (an interpreter and a TensorFlow import) and test the model.
START_UP_S = 12.0
#: Default of ``CNNVIZ_WARN_TRAINING_S``: warn when a run is estimated to take longer than this.
WARN_TRAINING_S = 300.0


def multiply_adds(rows: Sequence[LayerRow]) -> int:
    """Multiply-adds of one image's forward pass through the conv and dense layers of a layer table.

    A Conv2D layer with F filters of k x k x C weights and an (H, W, F) output does H*W*F*k*k*C; its
    parameters are k*k*C*F + F, so that is H*W*(params - F). A Dense layer with n inputs and m units does n*m,
    its parameters minus its m biases. Pooling, activations and batch normalisation are cheap beside them
    and are left out.
    """
    total = 0
    for row in rows:
        if row.kind == "Conv2D" and len(row.output_shape) == 3:
            height, width, filters = row.output_shape
            total += height * width * max(row.params - filters, 0)
        elif row.kind == "Dense" and row.output_shape:
            total += max(row.params - row.output_shape[-1], 0)
    return total


def seconds_per_image(multiply_adds_per_image: float) -> float:
    """Seconds to train one image of a design with this many forward multiply-adds, at the fixed speeds."""
    return SECONDS_PER_IMAGE + multiply_adds_per_image / MULTIPLY_ADDS_PER_S


@dataclass(frozen=True)
class Measured:
    """A run this server measured: its training images per second and its design's multiply-adds per image."""

    images_per_s: float
    multiply_adds: int


def estimate_training_s(multiply_adds_per_image: int, *, train_images: int, validation_images: int, epochs: int,
                        measured: Measured | None = None) -> float:
    """Estimated seconds for a whole run: start-up, then every epoch's training and validation images.

    Args:
        multiply_adds_per_image: from :func:`multiply_adds`, >= 0.
        train_images, validation_images: images per epoch, >= 0.
        epochs: planned epochs, >= 0 (early stopping may end sooner: the estimate is for all of them).
        measured: a run on this server; its speed is scaled by the cost model from its design to this one.
            Ignored when its speed is not a positive number.

    Returns:
        Seconds, increasing with the epochs, the images and the multiply-adds.

    Raises:
        ValueError: a count is negative.
    """
    if min(multiply_adds_per_image, train_images, validation_images, epochs) < 0:
        raise ValueError("multiply-adds, image counts and epochs must not be negative")
    per_image = seconds_per_image(multiply_adds_per_image)
    if measured is not None and measured.images_per_s > 0:
        per_image *= (1 / measured.images_per_s) / seconds_per_image(measured.multiply_adds)
    per_epoch = per_image * (train_images + VALIDATION_SHARE * validation_images)
    return START_UP_S + epochs * per_epoch


def warn_training_s() -> float:
    """Estimated seconds above which the Train page warns: ``CNNVIZ_WARN_TRAINING_S`` or :data:`WARN_TRAINING_S`."""
    return positive_seconds_from_env("CNNVIZ_WARN_TRAINING_S", WARN_TRAINING_S) or WARN_TRAINING_S


def max_training_s() -> float | None:
    """The server's limit on one training's seconds (``CNNVIZ_MAX_TRAINING_S``), or ``None`` for no limit."""
    return positive_seconds_from_env("CNNVIZ_MAX_TRAINING_S", None)


def describe_duration(seconds: float) -> str:
    """``"about 40 s"``, ``"about 3 min"`` or ``"about 1 h 05 min"``, for a learner."""
    if seconds < 90:
        return f"about {max(round(seconds / 10) * 10, 10):.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"
