"""What excites each filter? The test-split patches that activate it most, and a picture grown to excite it.

Two classic answers to "what does this filter respond to?":

* **Top patches** (Zeiler and Fergus, 2014): run many real images through the network, and for
  every filter keep the images where it responded most strongly; show the piece of the image its
  strongest output position could see (its **receptive field**, worked out from the kernel sizes,
  strides and padding of every layer before it, see :func:`receptive_field`).
* **Activation maximisation** (Erhan et al., 2009; Olah et al., "Feature Visualization", 2017):
  start from noise and change the *picture* by gradient ascent until the filter's mean output is
  as large as it can get, rolling the picture by a pixel or two at every step (jitter) and blurring
  it now and then, so the result is a pattern rather than high-frequency noise.

Every filter of a layer is optimised at once, one picture per filter in one batch, inside a
``tf.function``. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.core.images import IMAGE_SIDE, to_model_batch
from cnnviz.inside.activations import InspectError, check_model, conv_layer

#: How many of the strongest patches to keep per filter.
TOP_PATCHES = 9
#: Gradient-ascent steps for activation maximisation.
ASCENT_STEPS = 128
#: Pixel step of each ascent step, applied to the gradient divided by its standard deviation.
ASCENT_RATE = 0.05
#: Largest jitter (pixels) in each direction at each step.
JITTER = 2
#: Blur the picture every this many steps.
BLUR_EVERY = 8

#: Slope of the objective where the filter's ReLU is off.
LEAK = 0.05

#: Called with (share done in [0, 1], what is being done) while a long computation runs.
Progress = Callable[[float, str], None]


def _ignore_progress(share: float, text: str) -> None:  # the default: nobody is watching
    del share, text


@dataclass(frozen=True)
class ReceptiveField:
    """Which input pixels one output position of a layer can see, per axis (rows, cols).

    Attributes:
        size: (rh, rw) pixels of the input that reach one output position.
        jump: (jh, jw) input pixels between neighbouring output positions.
        start: (row, col) centre, in input pixels, of output position (0, 0) (may be x.5, or negative
            with "same" padding).
    """

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]

    def window(self, row: int, col: int) -> tuple[int, int, int, int]:
        """The input rows and cols ``(top, left, bottom, right)`` (end exclusive) output (row, col) sees.

        May reach outside the image (where padding supplied zeros).
        """
        top = int(round(self.start[0] + row * self.jump[0] - (self.size[0] - 1) / 2))
        left = int(round(self.start[1] + col * self.jump[1] - (self.size[1] - 1) / 2))
        return top, left, top + self.size[0], left + self.size[1]


def _pair(value: Any) -> tuple[int, int]:
    values = tuple(int(n) for n in (value if isinstance(value, (tuple, list)) else (value, value)))
    return values[0], values[1]


def _same_before(size: int, kernel: int, stride: int) -> int:
    out = -(-size // stride)
    return max((out - 1) * stride + kernel - size, 0) // 2


def receptive_field(model: Any, layer_name: str) -> ReceptiveField:
    """Work out the receptive field of ``layer_name``'s outputs from the layers before it.

    Conv2D and 2-D pooling layers grow it (``size += (effective kernel - 1) * jump``, ``jump *= stride``);
    normalisation, activation and dropout layers leave it as it is.

    Raises:
        InspectError: no such layer, or a layer before it that this arithmetic does not know
            (a model that is not a plain stack of conv and pooling layers).
    """
    import keras

    check_model(model)
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise InspectError(f"Expected a layer of the model, got {layer_name!r}.")
    size, jump, start = [1, 1], [1, 1], [0.0, 0.0]
    passive = (
        keras.layers.InputLayer,
        keras.layers.BatchNormalization,
        keras.layers.Activation,
        keras.layers.ReLU,
        keras.layers.LeakyReLU,
        keras.layers.Dropout,
    )
    for layer in model.layers[: names.index(layer_name) + 1]:
        if isinstance(layer, passive):
            continue
        if isinstance(layer, keras.layers.Conv2D):
            kernel, stride, dilation = _pair(layer.kernel_size), _pair(layer.strides), _pair(layer.dilation_rate)
        elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            kernel, stride, dilation = _pair(layer.pool_size), _pair(layer.strides), (1, 1)
        else:
            raise InspectError(
                f"Cannot work out what {layer_name} sees: layer {layer.name} ({type(layer).__name__}) comes before "
                "it. Top patches need a plain stack of conv and pooling layers."
            )
        in_size = layer.input.shape[1:3]
        for axis in range(2):
            effective = (kernel[axis] - 1) * dilation[axis] + 1
            before = _same_before(int(in_size[axis]), effective, stride[axis]) if layer.padding == "same" else 0
            start[axis] += ((effective - 1) / 2 - before) * jump[axis]
            size[axis] += (effective - 1) * jump[axis]
            jump[axis] *= stride[axis]
    return ReceptiveField(size=(size[0], size[1]), jump=(jump[0], jump[1]), start=(start[0], start[1]))


def crop(image: np.ndarray, field: ReceptiveField, row: int, col: int) -> np.ndarray:
    """The piece of a (28, 28) image that output (row, col) sees: (rh, rw), zeros where it reaches outside."""
    array = np.asarray(image)
    top, left, bottom, right = field.window(row, col)
    out = np.zeros((bottom - top, right - left), dtype=array.dtype)
    rows = slice(max(top, 0), min(bottom, array.shape[0]))
    cols = slice(max(left, 0), min(right, array.shape[1]))
    if rows.start < rows.stop and cols.start < cols.stop:
        out[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] = array[rows, cols]
    return out


def per_image_maxima(activations: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every image's strongest response of every filter, and where it was.

    Args:
        activations: (N, H, W, F) a layer's outputs for N images.

    Returns:
        ``(values, rows, cols)``, each (N, F): the largest output of each filter on each image
        (float32) and its position (int64; the first in reading order when several tie).

    Raises:
        InspectError: not a 4-D array.
    """
    array = np.asarray(activations, dtype=np.float32)
    if array.ndim != 4:
        raise InspectError(f"Expected activations (N, H, W, F), got shape {array.shape}.")
    count, height, width, filters = array.shape
    flat = array.reshape(count, height * width, filters)
    best = np.argmax(flat, axis=1)
    values = np.take_along_axis(flat, best[:, np.newaxis, :], axis=1)[:, 0, :]
    return values, (best // width).astype(np.int64), (best % width).astype(np.int64)


@dataclass(frozen=True)
class TopPatches:
    """For every filter, the images where it responded most and where.

    Attributes:
        images: (F, k) int64 image indices, strongest first.
        rows, cols: (F, k) int64 output positions of that response.
        values: (F, k) float32 the responses.
        field: the layer's :class:`ReceptiveField`, to crop the patches.
    """

    images: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    field: ReceptiveField

    def patches(self, x: np.ndarray, filter_index: int) -> np.ndarray:
        """The receptive-field crops of filter ``filter_index``'s top images in ``x`` (N, 28, 28): (k, rh, rw)."""
        return np.stack(
            [
                crop(x[image], self.field, row, col)
                for image, row, col in zip(
                    self.images[filter_index], self.rows[filter_index], self.cols[filter_index], strict=True
                )
            ]
        )


def top_per_filter(
    values: np.ndarray, rows: np.ndarray, cols: np.ndarray, field: ReceptiveField, k: int = TOP_PATCHES
) -> TopPatches:
    """Keep, for every filter, the ``k`` images with the largest response (ties: the earlier image first).

    Args:
        values, rows, cols: (N, F) from :func:`per_image_maxima`.
        field: the layer's receptive field.
    """
    order = np.argsort(-np.asarray(values), axis=0, kind="stable")[: max(0, k)].T  # (F, k)
    pick = np.arange(order.shape[0])[:, np.newaxis]
    return TopPatches(
        images=order.astype(np.int64),
        rows=np.asarray(rows)[order, pick],
        cols=np.asarray(cols)[order, pick],
        values=np.asarray(values, dtype=np.float32)[order, pick],
        field=field,
    )


def top_patches(
    model: Any,
    layer_name: str,
    images: np.ndarray,
    *,
    k: int = TOP_PATCHES,
    batch_size: int = 500,
    on_progress: Progress = _ignore_progress,
) -> TopPatches:
    """Run ``images`` through the model and keep, for every filter of a conv layer, its ``k`` strongest images.

    Only each image's maximum per filter is kept, so memory stays small for the whole test split.

    Args:
        model: a Functional ``keras.Model`` (input (28, 28, 1) in [0, 1]).
        layer_name: one of its Conv2D layers.
        images: (N, 28, 28) uint8 (or float in [0, 1]).
        on_progress: told the share of images done.

    Raises:
        cnnviz.core.images.ModelInputError: not a batch of 28x28 images.
        InspectError: no such conv layer, or one :func:`receptive_field` cannot follow.
    """
    import keras

    layer = conv_layer(model, layer_name, purpose="to excite")
    field = receptive_field(model, layer_name)
    batch = to_model_batch(images)
    extractor = keras.Model(model.inputs[0], layer.output, name="excite_extractor")
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, batch.shape[0], batch_size):
        output = extractor.predict_on_batch(batch[start : start + batch_size])  # the compiled graph: faster
        parts.append(per_image_maxima(np.asarray(output)))
        on_progress(min(1.0, (start + batch_size) / batch.shape[0]), f"{layer_name}: strongest test patches")
    values, rows, cols = (np.concatenate([part[index] for part in parts]) for index in range(3))
    return top_per_filter(values, rows, cols, field, k)


@dataclass(frozen=True)
class FilterPictures:
    """Pictures grown by gradient ascent, one per filter.

    Attributes:
        images: (F, 28, 28) float32 in [0, 1].
        start_activation: (F,) float32 each filter's mean output on the noise it started from.
        end_activation: (F,) float32 its mean output on the finished picture.
    """

    images: np.ndarray
    start_activation: np.ndarray
    end_activation: np.ndarray


def starting_noise(count: int, seed: int = 0) -> np.ndarray:
    """The pictures activation maximisation starts from: (count, 28, 28) float32, uniform noise in [0, 0.2].

    Dark, like the background of the datasets' images (ink is bright), so the picture has to grow strokes.
    """
    rng = np.random.default_rng(seed)
    return (0.2 * rng.random((count, IMAGE_SIDE, IMAGE_SIDE))).astype(np.float32)


def mean_activations(model: Any, layer_name: str, pictures: np.ndarray) -> np.ndarray:
    """Filter ``i``'s mean output (over positions) on picture ``i``: (F,) float32 for F pictures (F, 28, 28)."""
    import keras

    layer = conv_layer(model, layer_name, purpose="to excite")
    batch = to_model_batch(pictures)
    extractor = keras.Model(model.inputs[0], layer.output, name="excite_extractor")
    output = np.asarray(keras.ops.convert_to_numpy(extractor(batch, training=False)), dtype=np.float32)
    if batch.shape[0] > output.shape[-1]:
        raise InspectError(f"Expected at most {output.shape[-1]} pictures (one per filter), got {batch.shape[0]}.")
    means = output.mean(axis=(1, 2))
    return means[np.arange(batch.shape[0]), np.arange(batch.shape[0])]


def activation_maximisation(
    model: Any,
    layer_name: str,
    *,
    steps: int = ASCENT_STEPS,
    rate: float = ASCENT_RATE,
    seed: int = 0,
    chunk: int = 16,
    on_progress: Progress = _ignore_progress,
) -> FilterPictures:
    """Grow one picture per filter of a conv layer that makes that filter's mean output large.

    Each picture starts as :func:`starting_noise`; every step rolls it by up to :data:`JITTER` pixels,
    takes the gradient of the filter's mean output ``relu(z) + LEAK * z`` (``z`` the output before the
    activation function: where ReLU is off the picture still gets a direction), divides it by its standard
    deviation, steps by
    ``rate`` and keeps the pixels in [0, 1]; every :data:`BLUR_EVERY` steps the picture is blurred with
    a 3x3 Gaussian. Filters are processed ``chunk`` at a time, each one picture of a batch.

    Args:
        model: a Functional ``keras.Model`` (input (28, 28, 1) in [0, 1]).
        layer_name: one of its Conv2D layers.
        steps: gradient-ascent steps (at least 1).
        rate: pixel step size.
        seed: seed of the noise and the jitter.
        chunk: filters per batch.
        on_progress: told the share of filters done.

    Returns:
        A :class:`FilterPictures` with one picture per filter.

    Raises:
        InspectError: no such conv layer, or ``steps``/``chunk`` below 1.
    """
    import keras
    import tensorflow as tf

    layer = conv_layer(model, layer_name, purpose="to excite")
    if steps < 1 or chunk < 1:
        raise InspectError(f"Expected at least one step and one filter per batch, got {steps} and {chunk}.")
    filters = int(layer.kernel.shape[-1])
    before = keras.Model(model.inputs[0], layer.input, name="excite_layer_input")
    blur = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0
    blur_kernel = tf.constant(blur.reshape(3, 3, 1, 1), dtype=tf.float32)
    rng = np.random.default_rng(seed)
    shifts = tf.constant(rng.integers(-JITTER, JITTER + 1, size=(steps, 2)), dtype=tf.int32)

    def objective(pictures: Any, chosen: Any) -> Any:
        z = layer.convolution_op(before(pictures, training=False), layer.kernel)
        if layer.use_bias:
            z = z + layer.bias
        z = tf.reduce_sum(z * chosen[:, tf.newaxis, tf.newaxis, :], axis=-1)
        # ReLU of the output with a small slope where ReLU is off (a leaky ReLU), so a switched-off filter still
        # gets a direction; measured better than the plain output or softplus on the shipped models.
        return tf.reduce_mean(tf.nn.relu(z) + LEAK * z, axis=(1, 2))

    @tf.function(reduce_retracing=True)
    def ascend(pictures: Any, chosen: Any) -> Any:
        for index in tf.range(steps):
            shift = shifts[index]
            moved = tf.roll(pictures, shift=shift, axis=[1, 2])
            with tf.GradientTape() as tape:
                tape.watch(moved)
                total = tf.reduce_sum(objective(moved, chosen))
            gradient = tf.roll(tape.gradient(total, moved), shift=-shift, axis=[1, 2])
            spread = tf.math.reduce_std(gradient, axis=(1, 2, 3), keepdims=True) + 1e-8
            pictures = tf.clip_by_value(pictures + rate * gradient / spread, 0.0, 1.0)
            if index % BLUR_EVERY == BLUR_EVERY - 1:
                pictures = tf.nn.conv2d(pictures, blur_kernel, strides=1, padding="SAME")
        return pictures

    start = starting_noise(filters, seed)
    grown = np.zeros_like(start)
    for first in range(0, filters, chunk):
        last = min(first + chunk, filters)
        chosen = np.eye(filters, dtype=np.float32)[first:last]
        pictures = tf.constant(start[first:last, :, :, np.newaxis])
        grown[first:last] = np.asarray(ascend(pictures, tf.constant(chosen)))[..., 0]
        on_progress(last / filters, f"{layer_name}: growing a picture for filters {first}-{last - 1}")
    return FilterPictures(
        images=grown,
        start_activation=mean_activations(model, layer_name, start),
        end_activation=mean_activations(model, layer_name, grown),
    )
