"""Which pixels made the model decide? Gradient saliency and Grad-CAM for one image.

Both maps answer "what would change this class's score?" for a (28, 28) image:

* **Gradient saliency** (Simonyan et al., 2014): the absolute gradient of the class
  score with respect to every input pixel. Fine-grained, often noisy.
* **Grad-CAM** (Selvaraju et al., 2017): the last conv layer's feature maps, weighted by
  how much the class score grows with each map on average, summed, kept where positive
  and upsampled to 28x28. Coarse (the conv layer's resolution) but usually easier to read.

The class score is the *logit* (the last Dense layer's input times its weights plus
bias, before softmax), because the softmax probability saturates near 1 and its
gradient vanishes exactly when the model is most sure. TensorFlow is imported
inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnviz.inside.activations import InspectError, last_conv_layer_name, one_image_batch


@dataclass(frozen=True)
class SaliencyMap:
    """One saliency picture for one image and one class.

    Attributes:
        method: ``"gradient"`` or ``"gradcam"``.
        class_index: the class whose score was explained.
        heatmap: (28, 28) float32 in [0, 1] (divided by its maximum; all zeros if nothing mattered).
        raw: the map before normalisation: (28, 28) signed gradient for ``"gradient"``,
            (h, w) Grad-CAM at the conv layer's resolution for ``"gradcam"``; float32.
        probability: the model's probability for ``class_index``.
    """

    method: str
    class_index: int
    heatmap: np.ndarray
    raw: np.ndarray
    probability: float


def _normalise(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    peak = float(np.max(array)) if array.size else 0.0
    if not np.isfinite(peak) or peak <= 0.0:
        return np.zeros_like(array, dtype=np.float32)
    return np.clip(array / peak, 0.0, 1.0).astype(np.float32)


def _score_model(model: Any, extra_layer: str | None) -> tuple[Any, Any | None]:
    """Return ``(keras model giving [extra?, pre-output features], dense kernel+bias or None)``.

    When the last layer is a Dense softmax layer its input is returned so that the logit
    can be formed explicitly; otherwise the model output itself is used as the score.
    """
    import keras

    last = model.layers[-1]
    use_logits = isinstance(last, keras.layers.Dense) and getattr(last.activation, "__name__", "") == "softmax"
    outputs = [] if extra_layer is None else [model.get_layer(extra_layer).output]
    outputs.append(last.input if use_logits else model.outputs[0])
    grad_model = keras.Model(inputs=model.inputs[0], outputs=outputs, name="saliency_model")
    return grad_model, (last.kernel, last.bias) if use_logits else None


def _scores(features: Any, dense: Any | None) -> Any:
    import tensorflow as tf

    if dense is None:
        return features
    kernel, bias = dense
    logits = tf.matmul(features, tf.convert_to_tensor(kernel))
    return logits + tf.convert_to_tensor(bias) if bias is not None else logits


def _resolve_class(model: Any, batch: np.ndarray, class_index: int | None) -> tuple[int, float]:
    import keras

    probabilities = np.asarray(keras.ops.convert_to_numpy(model(batch, training=False)))[0]
    if class_index is None:
        class_index = int(np.argmax(probabilities))
    if not 0 <= class_index < probabilities.shape[0]:
        raise InspectError(
            f"Expected a class index from 0 to {probabilities.shape[0] - 1}, got {class_index}."
        )
    return int(class_index), float(probabilities[class_index])


def gradient_saliency(model: Any, image: np.ndarray, class_index: int | None = None) -> SaliencyMap:
    """Return the gradient saliency map of one image for one class.

    Args:
        model: a Functional ``keras.Model``, input (28, 28, 1) float32 in [0, 1].
        image: (28, 28) uint8, or float32 in [0, 1].
        class_index: the class to explain (default: the predicted class).

    Returns:
        A :class:`SaliencyMap` with ``heatmap = |d score / d pixel| / max``.
    """
    import tensorflow as tf

    batch = one_image_batch(image)
    class_index, probability = _resolve_class(model, batch, class_index)
    grad_model, dense = _score_model(model, None)
    inputs = tf.convert_to_tensor(batch)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        features = grad_model(inputs, training=False)
        if isinstance(features, (list, tuple)):
            features = features[-1]
        score = _scores(features, dense)[:, class_index]
    gradient = np.asarray(tape.gradient(score, inputs), dtype=np.float32)[0, :, :, 0]
    return SaliencyMap(
        method="gradient",
        class_index=class_index,
        heatmap=_normalise(np.abs(gradient)),
        raw=gradient,
        probability=probability,
    )


def upsample(values: np.ndarray, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """Bilinearly resize a 2-D map (h, w) to ``size``; returns float32 (H, W)."""
    import tensorflow as tf

    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 2 or array.size == 0:
        raise InspectError(f"Expected a non-empty 2-D map to upsample, got shape {array.shape}.")
    if array.shape == size:
        return array.copy()
    resized = tf.image.resize(array[np.newaxis, :, :, np.newaxis], size, method="bilinear")
    return np.asarray(resized, dtype=np.float32)[0, :, :, 0]


def grad_cam(
    model: Any, image: np.ndarray, class_index: int | None = None, layer_name: str | None = None
) -> SaliencyMap:
    """Return the Grad-CAM map of one image for one class.

    Args:
        model: a Functional ``keras.Model`` with at least one Conv2D layer.
        image: (28, 28) uint8, or float32 in [0, 1].
        class_index: the class to explain (default: the predicted class).
        layer_name: the conv layer to look at (default: the last Conv2D layer).

    Returns:
        A :class:`SaliencyMap`: ``raw = relu(sum_k alpha_k * A_k)`` at the conv layer's
        resolution, with ``alpha_k`` the mean over positions of ``d score / d A_k``;
        ``heatmap`` is ``raw`` upsampled to 28x28 and divided by its maximum.

    Raises:
        InspectError: the model has no conv layer, or the image/class is invalid.
    """
    import tensorflow as tf

    batch = one_image_batch(image)
    layer_name = layer_name or last_conv_layer_name(model)
    class_index, probability = _resolve_class(model, batch, class_index)
    grad_model, dense = _score_model(model, layer_name)
    with tf.GradientTape() as tape:
        feature_maps, features = grad_model(tf.convert_to_tensor(batch), training=False)
        score = _scores(features, dense)[:, class_index]
    gradients = np.asarray(tape.gradient(score, feature_maps), dtype=np.float32)[0]
    maps = np.asarray(feature_maps, dtype=np.float32)[0]
    weights = gradients.mean(axis=(0, 1))
    cam = np.maximum(np.tensordot(maps, weights, axes=([2], [0])), 0.0).astype(np.float32)
    return SaliencyMap(
        method="gradcam",
        class_index=class_index,
        heatmap=_normalise(np.maximum(upsample(cam), 0.0)),
        raw=cam,
        probability=probability,
    )


def contrast_class(predicted: int, true_class: int | None, num_classes: int) -> int:
    """Return the class to explain beside the predicted one: the true class when the model got it wrong.

    Otherwise the first class that is not the predicted one (class 0, or class 1 when 0 was predicted),
    so the page always offers a second picture to compare with.

    Args:
        predicted: the predicted class index.
        true_class: the image's true class, or ``None`` for a sketch.
        num_classes: how many classes the model predicts (at least 1).
    """
    if true_class is not None and true_class != predicted and 0 <= true_class < num_classes:
        return int(true_class)
    return min(1 if predicted == 0 else 0, max(0, num_classes - 1))
