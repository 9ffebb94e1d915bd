"""One backpropagation step on one real conv filter: the loss, dL/dW, how it is built, and the optimizer's step.

For one image with a known class, the loss is the cross-entropy ``-log p[label]`` of the model's
softmax output, computed in inference mode (dropout off, batch normalisation with its moving
averages), exactly as :func:`filter_gradient` differentiates it.

The gradient of a convolution is itself a convolution: with ``z = conv(x, W) + b`` the filter's
pre-activation output and ``g = dL/dz`` the gradient arriving at each output position,

    dL/dW[u, v, c] = sum over positions (i, j) of g[i, j] * patch(i, j)[u, v, c]

where ``patch(i, j)`` is the (k, k, C) piece of the (padded) layer input the filter saw at (i, j).
:func:`gradient_build` returns those patches and ``g``, so the page can show the sum.

The optimizer step is Keras's own: :func:`optimizer_step` clones the model, computes the gradient of
every trainable weight on this one image and calls ``optimizer.apply_gradients`` on the clone; the
picked model is never changed. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.inside.activations import InspectError, check_model, conv_layer, one_image_batch

#: The optimizers a learner can try, by the name the page shows: Keras's own classes.
OPTIMIZERS = ("SGD", "Adam", "RMSprop")


@dataclass(frozen=True)
class ConvLayerInfo:
    """What the backprop maths needs to know about one Conv2D layer.

    Attributes:
        name: the layer's name.
        kernel_size: (kh, kw).
        strides: (sh, sw).
        dilation: (dh, dw).
        padding: ``"valid"`` or ``"same"``.
        in_channels: C, the number of feature maps (or image channels) the layer reads.
        filters: how many filters it has.
    """

    name: str
    kernel_size: tuple[int, int]
    strides: tuple[int, int]
    dilation: tuple[int, int]
    padding: str
    in_channels: int
    filters: int


def conv_layer_info(model: Any, layer_name: str) -> ConvLayerInfo:
    """Describe the Conv2D layer ``layer_name`` of ``model``.

    Raises:
        InspectError: not a Keras model, no such layer, or the layer is not a 2-D convolution
            (a dense-only model has no filter to differentiate).
    """
    layer = conv_layer(model, layer_name, purpose="to follow through a backprop step")
    kernel_shape = tuple(int(n) for n in layer.kernel.shape)
    return ConvLayerInfo(
        name=layer_name,
        kernel_size=(kernel_shape[0], kernel_shape[1]),
        strides=tuple(int(n) for n in layer.strides),  # type: ignore[arg-type]
        dilation=tuple(int(n) for n in layer.dilation_rate),  # type: ignore[arg-type]
        padding=str(layer.padding).lower(),
        in_channels=kernel_shape[2],
        filters=kernel_shape[3],
    )


def _check_filter(info: ConvLayerInfo, filter_index: int) -> int:
    if not 0 <= int(filter_index) < info.filters:
        raise InspectError(f"Expected a filter index from 0 to {info.filters - 1} of {info.name}, got {filter_index}.")
    return int(filter_index)


def _check_label(model: Any, label: int) -> int:
    classes = int(model.outputs[0].shape[-1])
    if not 0 <= int(label) < classes:
        raise InspectError(f"Expected a class label from 0 to {classes - 1}, got {label}.")
    return int(label)


def _cross_entropy(probabilities: Any, label: int) -> Any:
    import keras

    return keras.losses.sparse_categorical_crossentropy(np.array([label]), probabilities)[0]


def cross_entropy(model: Any, image: np.ndarray, label: int) -> float:
    """Return the cross-entropy ``-log p[label]`` of the model's output for one image, in inference mode.

    Args:
        model: a Functional ``keras.Model`` with a softmax output (N, classes).
        image: (28, 28) uint8, or float32 in [0, 1].
        label: the true class index.

    Raises:
        cnnviz.core.images.ModelInputError: not a 28x28 image.
        InspectError: not a Keras model, or a label outside the model's classes.
    """
    import keras

    check_model(model)
    label = _check_label(model, label)
    probabilities = model(one_image_batch(image), training=False)
    return float(keras.ops.convert_to_numpy(_cross_entropy(probabilities, label)))


def _filter_slice(kernel_gradient: np.ndarray, filter_index: int) -> np.ndarray:
    block = np.asarray(kernel_gradient, dtype=np.float32)[:, :, :, filter_index]
    return block[:, :, 0].copy() if block.shape[2] == 1 else block.copy()


def filter_gradient(model: Any, image: np.ndarray, label: int, layer_name: str, filter_index: int) -> np.ndarray:
    """Return dL/dW: the gradient of the cross-entropy for ``label`` with respect to one filter's weights.

    The loss is computed in inference mode (dropout off), as :func:`cross_entropy` does.

    Args:
        model: a Functional ``keras.Model`` (input (28, 28, 1) in [0, 1], softmax output).
        image: (28, 28) uint8, or float32 in [0, 1].
        label: the image's true class index.
        layer_name: a Conv2D layer of the model.
        filter_index: which of its filters.

    Returns:
        float32 of shape (k, k) when the layer reads one channel (the first layer on grey images),
        else (k, k, in_channels): one (k, k) slice per feature map of the layer before.

    Raises:
        cnnviz.core.images.ModelInputError: not a 28x28 image.
        InspectError: no such conv layer (or none at all), a filter or label out of range.
    """
    import tensorflow as tf

    info = conv_layer_info(model, layer_name)
    filter_index = _check_filter(info, filter_index)
    label = _check_label(model, label)
    kernel = model.get_layer(layer_name).kernel
    batch = tf.convert_to_tensor(one_image_batch(image))
    with tf.GradientTape() as tape:
        loss = _cross_entropy(model(batch, training=False), label)
    gradient = tape.gradient(loss, kernel)
    if gradient is None:  # the layer does not reach the output (an unusual graph)
        raise InspectError(f"The loss does not depend on {layer_name}, so its filters get no gradient.")
    return _filter_slice(np.asarray(gradient), filter_index)


@dataclass(frozen=True)
class GradientBuild:
    """How dL/dW of one filter is assembled from input patches and the gradient arriving at each output.

    Attributes:
        patches: (Ho, Wo, kh, kw, C) float32, the piece of the layer's (padded) input under the filter at
            each output position.
        output_gradient: (Ho, Wo) float32, dL/dz: the gradient of the loss with respect to the filter's
            output before its activation function, at every position.
        layer_input: (H, W, C) float32, what the layer received (the image itself for the first layer).
    """

    patches: np.ndarray
    output_gradient: np.ndarray
    layer_input: np.ndarray

    @property
    def weighted_sum(self) -> np.ndarray:
        """sum_ij output_gradient[i, j] * patches[i, j]: (kh, kw) for one channel, else (kh, kw, C); float32."""
        total = np.einsum("ij,ijuvc->uvc", self.output_gradient.astype(np.float64), self.patches.astype(np.float64))
        return (total[:, :, 0] if total.shape[2] == 1 else total).astype(np.float32)

    def strongest_positions(self, count: int) -> np.ndarray:
        """The ``count`` output positions that add most to dL/dW, largest first: (count, 2) int64 (row, col).

        A position's share is ``|dL/dz| * ||patch||``: a large gradient over a blank patch adds nothing.
        """
        sizes = np.sqrt(np.sum(np.square(self.patches.astype(np.float64)), axis=(2, 3, 4)))
        flat = (np.abs(self.output_gradient.astype(np.float64)) * sizes).ravel()
        order = np.argsort(-flat, kind="stable")[: max(0, count)]
        return np.stack(np.unravel_index(order, self.output_gradient.shape), axis=1).astype(np.int64)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's "same" padding: the output has ceil(size / stride) positions; the extra pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def extract_patches(values: np.ndarray, info: ConvLayerInfo) -> np.ndarray:
    """Return the patch of ``values`` (H, W, C) under the filter at every output position of the layer.

    Returns:
        (Ho, Wo, kh, kw, C) float32, with zeros where "same" padding reaches outside the input.

    Raises:
        InspectError: not a 3-D array with the layer's channel count.
    """
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 3 or array.shape[2] != info.in_channels:
        raise InspectError(f"Expected the layer's input (H, W, {info.in_channels}), got shape {array.shape}.")
    (kh, kw), (sh, sw), (dh, dw) = info.kernel_size, info.strides, info.dilation
    if info.padding == "same":
        pads = (_same_padding(array.shape[0], kh, sh, dh), _same_padding(array.shape[1], kw, sw, dw))
        array = np.pad(array, (pads[0], pads[1], (0, 0)))
    out_h = (array.shape[0] - (kh - 1) * dh - 1) // sh + 1
    out_w = (array.shape[1] - (kw - 1) * dw - 1) // sw + 1
    patches = np.zeros((out_h, out_w, kh, kw, array.shape[2]), dtype=np.float32)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u * dh, u * dh + (out_h - 1) * sh + 1, sh)
            cols = slice(v * dw, v * dw + (out_w - 1) * sw + 1, sw)
            patches[:, :, u, v, :] = array[rows, cols, :]
    return patches


def gradient_build(model: Any, image: np.ndarray, label: int, layer_name: str, filter_index: int) -> GradientBuild:
    """Return the pieces of dL/dW for one filter: input patches and the gradient arriving at each output.

    ``GradientBuild.weighted_sum`` equals :func:`filter_gradient` (the tests check it). The output
    gradient is taken before the activation: dL/dz = dL/da * (derivative of the activation at z).

    Args:
        model, image, label, layer_name, filter_index: as for :func:`filter_gradient`.

    Raises:
        cnnviz.core.images.ModelInputError: not a 28x28 image.
        InspectError: as for :func:`filter_gradient`.
    """
    import keras
    import tensorflow as tf

    info = conv_layer_info(model, layer_name)
    filter_index = _check_filter(info, filter_index)
    label = _check_label(model, label)
    layer = model.get_layer(layer_name)
    extractor = keras.Model(model.inputs[0], [layer.input, layer.output, model.outputs[0]], name="backprop_extractor")
    batch = tf.convert_to_tensor(one_image_batch(image))
    with tf.GradientTape() as tape:
        layer_input, layer_output, probabilities = extractor(batch, training=False)
        loss = _cross_entropy(probabilities, label)
    after_activation = tape.gradient(loss, layer_output)
    if after_activation is None:
        raise InspectError(f"The loss does not depend on {layer_name}, so its filters get no gradient.")
    # z = conv(x, W) + b, the filter's output before its activation; the activation acts on each number alone.
    pre_activation = layer.convolution_op(layer_input, layer.kernel)
    if layer.use_bias:
        pre_activation = pre_activation + layer.bias
    with tf.GradientTape() as activation_tape:
        activation_tape.watch(pre_activation)
        activated = layer.activation(pre_activation)
    before_activation = activation_tape.gradient(activated, pre_activation, output_gradients=after_activation)
    values = np.asarray(layer_input, dtype=np.float32)[0]
    return GradientBuild(
        patches=extract_patches(values, info),
        output_gradient=np.asarray(before_activation, dtype=np.float32)[0, :, :, filter_index],
        layer_input=values,
    )


@dataclass(frozen=True)
class BackpropStep:
    """One optimizer step on one image, seen through one filter.

    Attributes:
        loss_before: the cross-entropy before the step.
        gradient: dL/dW of the filter, (k, k) or (k, k, C) (see :func:`filter_gradient`).
        weights_before: the filter's weights before the step, same shape as ``gradient``.
        weights_after: the filter's weights after the optimizer's step, same shape.
        loss_after: the cross-entropy after the step (every weight of the model moved).
        loss_filter_only: the cross-entropy if only this filter had moved (every other weight as before).
        optimizer: the optimizer's name, e.g. ``"SGD"``.
        learning_rate: the learning rate used.
    """

    loss_before: float
    gradient: np.ndarray
    weights_before: np.ndarray
    weights_after: np.ndarray
    loss_after: float
    loss_filter_only: float
    optimizer: str
    learning_rate: float

    @property
    def update(self) -> np.ndarray:
        """The step itself: ``weights_after - weights_before``."""
        return self.weights_after - self.weights_before


def make_optimizer(name: str, learning_rate: float) -> Any:
    """Return a fresh Keras optimizer (one of :data:`OPTIMIZERS`) with ``learning_rate``.

    Raises:
        InspectError: an unknown name, or a learning rate that is not a positive finite number.
    """
    import keras

    classes = {"SGD": keras.optimizers.SGD, "Adam": keras.optimizers.Adam, "RMSprop": keras.optimizers.RMSprop}
    if name not in classes:
        raise InspectError(f"Expected an optimizer from {list(OPTIMIZERS)}, got {name!r}.")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise InspectError(f"Expected a positive learning rate, got {learning_rate}.")
    return classes[name](learning_rate=float(learning_rate))


def copy_model(model: Any) -> Any:
    """Return an independent copy of a Functional model with the same weights (the original is never trained)."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def optimizer_step(
    model: Any,
    image: np.ndarray,
    label: int,
    layer_name: str,
    filter_index: int,
    *,
    optimizer: str = "SGD",
    learning_rate: float = 0.01,
) -> BackpropStep:
    """Apply one step of ``optimizer`` on this one image to a copy of the model and report it for one filter.

    The step is Keras's own ``optimizer.apply_gradients`` on the gradients of every trainable weight
    (computed in inference mode, as :func:`filter_gradient`); ``model`` itself is left unchanged.

    Args:
        model, image, label, layer_name, filter_index: as for :func:`filter_gradient`.
        optimizer: one of :data:`OPTIMIZERS`.
        learning_rate: a positive number.

    Raises:
        cnnviz.core.images.ModelInputError: not a 28x28 image.
        InspectError: as for :func:`filter_gradient` and :func:`make_optimizer`.
    """
    import tensorflow as tf

    info = conv_layer_info(model, layer_name)
    filter_index = _check_filter(info, filter_index)
    label = _check_label(model, label)
    keras_optimizer = make_optimizer(optimizer, learning_rate)
    clone = copy_model(model)
    batch = tf.convert_to_tensor(one_image_batch(image))
    variables = clone.trainable_variables
    with tf.GradientTape() as tape:
        loss = _cross_entropy(clone(batch, training=False), label)
    gradients = tape.gradient(loss, variables)
    kernel = clone.get_layer(layer_name).kernel
    position = next(index for index, variable in enumerate(variables) if variable is kernel)
    before = np.asarray(kernel.numpy(), dtype=np.float32).copy()
    pairs = [(grad, variable) for grad, variable in zip(gradients, variables, strict=True) if grad is not None]
    keras_optimizer.apply_gradients(pairs)
    after = np.asarray(kernel.numpy(), dtype=np.float32).copy()
    loss_after = cross_entropy(clone, image, label)
    # Only this filter moved: the original weights everywhere else.
    clone.set_weights(model.get_weights())
    only = before.copy()
    only[..., filter_index] = after[..., filter_index]
    kernel.assign(only)
    return BackpropStep(
        loss_before=float(np.asarray(loss)),
        gradient=_filter_slice(np.asarray(gradients[position]), filter_index),
        weights_before=_filter_slice(before, filter_index),
        weights_after=_filter_slice(after, filter_index),
        loss_after=loss_after,
        loss_filter_only=cross_entropy(clone, image, label),
        optimizer=optimizer,
        learning_rate=float(learning_rate),
    )
