"""The training coach: read a training's history (and cheap probes of the model) and name what went wrong.

:func:`diagnose_training` reads a Keras-style history (``{"loss": [...], "val_loss": [...], ...}``,
one value per finished epoch) and returns :class:`Diagnosis` objects, most urgent first, each with the
numbers that show it and one suggested change of the Train page's settings (``TrainConfig`` and
``ModelSpec`` field names, e.g. ``{"learning_rate": 0.001}``). The kinds:

* ``diverging``: a NaN, a training loss far worse than guessing, or a training loss going up;
* ``overfitting``: validation loss rising while training loss falls, or a wide accuracy gap;
* ``underfitting``: training and validation accuracy both low and no longer improving;
* ``too_slow``: the loss falls every epoch at a steady pace, but the model is still far from good;
* ``plateau``: the monitored loss stopped improving while there is still room to learn;
* ``dead_units`` and ``saturated``: from :func:`probe_model` (ReLU units that never fire; sigmoid or
  tanh units stuck where their slope is nearly zero);
* ``healthy``: none of the above.

A run that trained on data damaged on purpose (the data lab's label noise or class imbalance, in ``config``)
says so in its evidence; with noisy labels, a low and flat training accuracy is what the noise allows, so the
suggestion for ``underfitting`` and ``plateau`` is then to train once on clean labels.

:func:`probe_model` measures, on one batch of held-out images (at most :data:`PROBE_IMAGES`), the share
of dead ReLU units and saturated sigmoid/tanh units of every Conv2D and Dense layer, and the gradient
norm of every such layer's weights. It costs one forward and one backward pass.

The thresholds are named constants below, each with the reason for its value. This module does not
import Streamlit; Keras and TensorFlow are imported inside :func:`probe_model` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cnnviz.core.images import to_model_batch
from cnnviz.core.records import describe_datalab

#: Every kind a diagnosis can have, most urgent first (the order :func:`diagnose_training` returns them in).
KINDS = ("diverging", "overfitting", "underfitting", "too_slow", "plateau", "dead_units", "saturated", "healthy")

# --- Thresholds (why each value) --------------------------------------------------------------------------

#: A training loss above this multiple of the guessing loss ln(classes) is "confidently wrong": an untrained
#: network starts near ln(classes), so only steps that overshoot push the loss far above it.
WORSE_THAN_GUESSING = 1.5
#: The training loss rising by more than this share from its lowest epoch means the steps overshoot (training
#: loss, unlike validation loss, should never rise for long with a sensible learning rate).
LOSS_RISE = 0.25
#: Validation loss this much above its best epoch, at least :data:`OVERFIT_EPOCHS` epochs later, while the
#: training loss kept falling, is overfitting; 10% is far above the epoch-to-epoch noise of a validation split.
VAL_LOSS_RISE = 0.10
OVERFIT_EPOCHS = 2
#: Training accuracy this many points above validation accuracy is overfitting even if the validation loss has
#: not risen yet (10 points: dropout usually keeps the two within a few points, often validation above).
ACCURACY_GAP = 0.10
#: "Low" accuracy: less than this share of the way from guessing (1 / classes) to perfect (55% for 10 classes).
LOW_ACCURACY_SHARE = 0.5
#: "Good" accuracy, above which a steadily falling loss is not a problem (90% is where MNIST-like data becomes
#: easy; a model below it that is still improving steadily needs a larger step or more epochs).
GOOD_ACCURACY = 0.9
#: A loss falling "steadily": the last drop is at least this share of the average earlier drop (a curve that
#: has not started to bend yet; a converging curve's drops shrink much faster).
STEADY_DROP = 0.5
#: Epochs looked at for a plateau or flat curve, and the relative improvement below which they count as flat
#: (1% over 3 epochs: less than the learner could see on the chart).
PLATEAU_EPOCHS = 3
PLATEAU_GAIN = 0.01
#: Training accuracy from which a flat loss is "done", not a plateau (nothing left to learn on these images).
LEARNED_ACCURACY = 0.99
#: A layer with at least this share of dead ReLU units (or saturated sigmoid/tanh units) is worth a word:
#: a quarter of a layer doing nothing is capacity thrown away, and it usually gets worse, not better.
DEAD_SHARE = 0.25
SATURATED_SHARE = 0.25
#: A sigmoid/tanh unit is saturated when its slope is below this share of its largest slope (sigmoid: output
#: below 0.013 or above 0.987; tanh: |output| above 0.975) on at least :data:`SATURATED_INPUTS` of its inputs.
SATURATED_SLOPE = 0.05
SATURATED_INPUTS = 0.9
#: Images :func:`probe_model` looks at: one batch, enough to see a unit fire, cheap on 2 CPU cores.
PROBE_IMAGES = 256
#: Usual starting learning rates per optimizer (Keras guides; Adadelta was designed around 1.0), the target of
#: a suggestion when the current rate is above them.
USUAL_LEARNING_RATES = {"adam": 0.001, "sgd": 0.01, "rmsprop": 0.001, "adadelta": 1.0}
#: The most epochs a suggestion asks for (the Train page's slider maximum).
MAX_SUGGESTED_EPOCHS = 30


class CoachError(ValueError):
    """Input the coach cannot read; the message says what was received and what was expected."""


@dataclass(frozen=True)
class Diagnosis:
    """One thing the coach sees in a training.

    Attributes:
        kind: one of :data:`KINDS`.
        title: a few words for a heading, e.g. "The loss is diverging".
        evidence: a sentence with the numbers that show it.
        suggestion: the settings to change, by ``TrainConfig`` / ``ModelSpec`` field name (``"activation"``
            means every conv block's activation), e.g. ``{"learning_rate": 0.001}``; empty when nothing to change.
        explanation: one or two sentences for a learner on what this means.
    """

    kind: str
    title: str
    evidence: str
    suggestion: dict[str, Any] = field(default_factory=dict)
    explanation: str = ""


@dataclass(frozen=True)
class LayerProbe:
    """What :func:`probe_model` measured in one Conv2D or Dense layer.

    Attributes:
        name: the layer's name; ``kind`` ``"conv"`` or ``"dense"``; ``activation`` its activation's name.
        units: filters (conv) or units (dense).
        dead_share: share of units whose ReLU output is 0 on every probe image and position (``None`` if not ReLU).
        saturated_share: share of sigmoid/tanh units saturated (see :data:`SATURATED_SLOPE`), else ``None``.
        gradient_norm: L2 norm of the loss's gradient with respect to the layer's weights and bias.
    """

    name: str
    kind: str
    activation: str
    units: int
    dead_share: float | None
    saturated_share: float | None
    gradient_norm: float


@dataclass(frozen=True)
class Probes:
    """:func:`probe_model`'s measurements: one :class:`LayerProbe` per Conv2D/Dense layer, input first.

    Attributes:
        layers: the layers, in forward order (the softmax output layer included, for its gradient norm).
        images: how many images were probed; ``loss`` their mean cross-entropy.
    """

    layers: tuple[LayerProbe, ...]
    images: int
    loss: float


# --- Reading the history ----------------------------------------------------------------------------------


def _series(history: Mapping[str, Sequence[float]], name: str) -> list[float]:
    values = history.get(name)
    if values is None:
        return []
    try:
        return [float(value) for value in values]
    except (TypeError, ValueError) as error:
        raise CoachError(f"History entry {name!r} must be a list of numbers, got {values!r}.") from error


def _finite(values: Sequence[float]) -> bool:
    return all(math.isfinite(value) for value in values)


def _usual_rate(optimizer: str | None) -> float:
    return USUAL_LEARNING_RATES.get(optimizer or "adam", USUAL_LEARNING_RATES["adam"])


def _setting(settings: Mapping[str, Any] | Any | None, name: str, default: Any = None) -> Any:
    """Read a setting from a dict (``to_dict()``), a ``TrainConfig``/``ModelSpec``, or ``None``."""
    if settings is None:
        return default
    if isinstance(settings, Mapping):
        return settings.get(name, default)
    return getattr(settings, name, default)


def _smaller_rate(config: Any) -> dict[str, Any]:
    """The learning-rate change for a training whose steps overshoot."""
    optimizer = _setting(config, "optimizer")
    rate = _setting(config, "learning_rate")
    if rate is None:
        return {"optimizer": "adam", "learning_rate": USUAL_LEARNING_RATES["adam"]}
    usual = _usual_rate(optimizer)
    return {"learning_rate": usual if rate > usual else _nice(rate / 10)}


def _nice(value: float) -> float:
    """Round to one significant figure (0.00031 -> 0.0003), so a suggestion reads like the page's options."""
    if value <= 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(value))
    return round(value, -exponent)


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _rate(value: float) -> str:
    return f"{value:g}"


_NAMES = {"loss": "the training loss", "val_loss": "the validation loss", "accuracy": "the training accuracy",
          "val_accuracy": "the validation accuracy"}


def _diverging(loss: list[float], others: Mapping[str, list[float]], *, nan_detected: bool, guessing: float,
               config: Any) -> Diagnosis | None:
    rate = _setting(config, "learning_rate")
    at_rate = f" at learning rate {_rate(rate)}" if rate is not None else ""
    explanation = ("Each step overshoots the valley it is meant to go down, so the weights fly off instead of "
                   "settling. A smaller learning rate takes smaller steps.")
    suggestion = _smaller_rate(config)
    bad = [name for name, values in {"loss": loss, **others}.items() if not _finite(values)]
    if nan_detected or bad:
        finite = [value for value in loss if math.isfinite(value)]
        where = (f"after {len(finite)} finished epochs (last finite training loss {finite[-1]:.3g})" if finite
                 else "before the first epoch finished")
        names = " and ".join(_NAMES[name] for name in bad) if bad else _NAMES["loss"]
        return Diagnosis("diverging", "The training diverged (NaN)",
                         f"{names[0].upper() + names[1:]} became NaN (not a number){at_rate}, {where}.",
                         suggestion, explanation)
    if not loss:
        return None
    worst = max(loss)
    if worst > WORSE_THAN_GUESSING * guessing:
        return Diagnosis(
            "diverging", "The loss is diverging",
            f"The training loss reached {worst:.3g}{at_rate}, more than {WORSE_THAN_GUESSING:g} times the "
            f"{guessing:.2f} of guessing at random: the model is confidently wrong.", suggestion, explanation,
        )
    lowest = min(loss)
    best_epoch = loss.index(lowest)
    if best_epoch < len(loss) - 1 and loss[-1] > lowest * (1 + LOSS_RISE):
        return Diagnosis(
            "diverging", "The loss is going up",
            f"The training loss rose from {lowest:.3g} (epoch {best_epoch + 1}) to {loss[-1]:.3g} (epoch "
            f"{len(loss)}){at_rate}; with a good learning rate it only goes down.", suggestion, explanation,
        )
    return None


def _overfitting(loss: list[float], accuracy: list[float], val_loss: list[float], val_accuracy: list[float],
                 low: float, spec: Any, config: Any) -> Diagnosis | None:
    if not val_loss or not loss:
        return None
    gap = accuracy[-1] - val_accuracy[-1] if accuracy and val_accuracy else None
    gap_text = (f" Training accuracy {_percent(accuracy[-1])} vs validation {_percent(val_accuracy[-1])}: a gap of "
                f"{gap * 100:.1f} points." if gap is not None else "")
    best = int(np.argmin(val_loss))
    rising = (len(val_loss) - 1 - best >= OVERFIT_EPOCHS and val_loss[-1] > val_loss[best] * (1 + VAL_LOSS_RISE)
              and loss[-1] < loss[best])
    if rising:
        evidence = (f"Validation loss rose from {val_loss[best]:.3f} (epoch {best + 1}) to {val_loss[-1]:.3f} "
                    f"(epoch {len(val_loss)}) while training loss fell from {loss[best]:.3f} to {loss[-1]:.3f}."
                    + gap_text)
    elif gap is not None and gap >= ACCURACY_GAP and accuracy[-1] >= low:  # a poor model memorises nothing yet
        evidence = gap_text.strip()
    else:
        return None
    suggestion: dict[str, Any] = {}
    dropout = _setting(spec, "dropout")
    if dropout is None or dropout < 0.5:
        suggestion["dropout"] = round(min((dropout or 0.0) + 0.2, 0.5), 2)
    if config is not None and not _setting(config, "early_stopping", True) and _setting(config, "validation_split"):
        suggestion["early_stopping"] = True
    if not suggestion:
        size = _setting(config, "train_size")
        suggestion = {"train_size": int(size) * 2} if size else {"train_size": 20000}
    return Diagnosis(
        "overfitting", "The network is memorising (overfitting)", evidence, suggestion,
        "It learns its training images by heart instead of what makes a digit a digit, so it does worse on images "
        "it has not seen. Dropout, early stopping or more training images make memorising harder.",
    )


def _steady(loss: list[float]) -> bool:
    """The loss fell in each of its last epochs and its last drop is not much smaller than the earlier ones."""
    drops = [before - after for before, after in zip(loss, loss[1:], strict=False)]
    recent = drops[-PLATEAU_EPOCHS:]
    if not recent or min(recent) <= 0:
        return False
    earlier = drops[:-1]
    return not earlier or drops[-1] >= STEADY_DROP * (sum(earlier) / len(earlier))


def _flat(values: list[float]) -> bool:
    """The last :data:`PLATEAU_EPOCHS` epochs improved the loss by less than :data:`PLATEAU_GAIN` of it."""
    if len(values) <= PLATEAU_EPOCHS:
        return False
    before = min(values[:-PLATEAU_EPOCHS])
    return min(values[-PLATEAU_EPOCHS:]) > before * (1 - PLATEAU_GAIN)


def _underfitting(loss: list[float], accuracy: list[float], val_accuracy: list[float], low: float, spec: Any,
                  config: Any) -> Diagnosis | None:
    if len(loss) < 2 or not accuracy or _steady(loss):
        return None
    final = accuracy[-1]
    val_final = val_accuracy[-1] if val_accuracy else None
    if final >= low or (val_final is not None and val_final >= low):
        return None
    span = min(PLATEAU_EPOCHS, len(accuracy) - 1)
    per_epoch = (accuracy[-1] - accuracy[-1 - span]) / span * 100
    both = (f"Training accuracy {_percent(final)}" + (f" and validation {_percent(val_final)}" if val_final is not
                                                       None else ""))
    evidence = (f"{both} after {len(loss)} epochs, both below {_percent(low)}, improving by only "
                f"{per_epoch:.1f} points per epoch over the last {span} (training loss {loss[-1]:.3f}).")
    optimizer = _setting(config, "optimizer")
    rate = _setting(config, "learning_rate")
    dropout = _setting(spec, "dropout") or 0.0
    if config is None or optimizer != "adam" or rate != USUAL_LEARNING_RATES["adam"]:
        suggestion: dict[str, Any] = {"optimizer": "adam", "learning_rate": USUAL_LEARNING_RATES["adam"]}
    elif dropout > 0.3:
        suggestion = {"dropout": round(dropout - 0.2, 2)}
    elif not _setting(spec, "batch_norm", False):
        suggestion = {"batch_norm": True}
    else:
        suggestion = {}  # nothing left among the usual settings: the explanation says what else holds it back
    return Diagnosis(
        "underfitting", "The network is not learning enough (underfitting)", evidence, suggestion,
        "Even on its own training images it stays poor and has stopped improving: the settings keep it from "
        "learning. Adam at 0.001 is the reliable starting point; strong dropout or a tiny network also hold it back.",
    )


def _too_slow(loss: list[float], accuracy: list[float], val_accuracy: list[float], low: float,
              config: Any) -> Diagnosis | None:
    final = accuracy[-1] if accuracy else None
    if len(loss) == 1 and final is not None and final < low:
        # One epoch shows no trend, but a low accuracy after it is not "healthy": the start is slow.
        validation = f" (validation {_percent(val_accuracy[-1])})" if val_accuracy else ""
        evidence = (f"After only 1 epoch, training accuracy is {_percent(final)}{validation}, below {_percent(low)}; "
                    "one epoch is too early to tell a slow start from a stuck one.")
    elif len(loss) < 2 or not _steady(loss) or (final is not None and final >= GOOD_ACCURACY):
        return None
    else:
        span = len(loss) - 1
        per_epoch = (loss[0] - loss[-1]) / span / loss[0]
        accuracy_text = f"; training accuracy is {_percent(final)}" if final is not None else ""
        evidence = (f"The training loss fell in every epoch, from {loss[0]:.3f} to {loss[-1]:.3f} over {len(loss)} "
                    f"epochs ({per_epoch:.1%} per epoch), and is still falling at the same pace{accuracy_text}.")
    rate = _setting(config, "learning_rate")
    usual = _usual_rate(_setting(config, "optimizer"))
    epochs = _setting(config, "epochs", len(loss))
    if rate is not None and rate < usual:
        suggestion: dict[str, Any] = {"learning_rate": _nice(min(rate * 10, usual))}
        why = "The steps are small: a larger learning rate gets there in fewer epochs."
    else:
        suggestion = {"epochs": int(min(max(2 * int(epochs), len(loss) + 2), MAX_SUGGESTED_EPOCHS))}
        why = "It has not finished learning: more epochs let it continue."
    return Diagnosis(
        "too_slow", "Learning, but slowly", evidence, suggestion,
        ("It has learned little so far. " if len(loss) == 1 else
         "The network is improving steadily and shows no sign of having finished. ") + why,
    )


def _plateau(loss: list[float], accuracy: list[float], val_loss: list[float], config: Any) -> Diagnosis | None:
    watched, name = (val_loss, "validation loss") if val_loss else (loss, "training loss")
    if not _flat(watched) or (accuracy and accuracy[-1] >= LEARNED_ACCURACY):
        return None
    before = min(watched[:-PLATEAU_EPOCHS])
    recent = min(watched[-PLATEAU_EPOCHS:])
    evidence = (f"The {name} has not improved by more than {PLATEAU_GAIN:.0%} in the last {PLATEAU_EPOCHS} epochs "
                f"(best before {before:.3f}, best since {recent:.3f})"
                + (f" while training accuracy is {_percent(accuracy[-1])}." if accuracy else "."))
    rate = _setting(config, "learning_rate")
    suggestion: dict[str, Any] = {"learning_rate": _nice(rate / 3)} if rate is not None else {}
    if config is not None and not _setting(config, "early_stopping", True) and val_loss:
        suggestion["early_stopping"] = True
    return Diagnosis(
        "plateau", "The loss has levelled off (plateau)", evidence, suggestion,
        "The steps now jump around the bottom of the valley instead of going further down. A smaller learning "
        "rate can settle lower; early stopping ends the run when nothing more is gained.",
    )


def _dead_units(probes: Probes, config: Any, spec: Any) -> Diagnosis | None:
    layers = [layer for layer in probes.layers if layer.dead_share is not None and layer.dead_share >= DEAD_SHARE]
    if not layers:
        return None
    parts = ", ".join(f"{layer.name} {layer.dead_share:.0%} of {layer.units}" for layer in layers)
    suggestion = _smaller_rate(config) if config is not None else {}
    if not _setting(spec, "batch_norm", False):
        suggestion["batch_norm"] = True
    return Diagnosis(
        "dead_units", "Some ReLU units are dead",
        f"Units that output 0 for every one of {probes.images} held-out images: {parts}.", suggestion,
        "A ReLU unit whose input is always negative outputs 0 and gets no gradient, so it never learns again; "
        "large learning-rate steps often knock units there. A smaller learning rate or batch normalisation helps.",
    )


def _saturated(probes: Probes, spec: Any) -> Diagnosis | None:
    layers = [layer for layer in probes.layers
              if layer.saturated_share is not None and layer.saturated_share >= SATURATED_SHARE]
    if not layers:
        return None
    parts = ", ".join(f"{layer.name} ({layer.activation}) {layer.saturated_share:.0%} of {layer.units}"
                      for layer in layers)
    gradients = ""
    output = probes.layers[-1]
    first = probes.layers[0]
    if output.gradient_norm > 0 and first is not output:
        ratio = first.gradient_norm / output.gradient_norm
        gradients = (f" The gradient reaching {first.name} is {first.gradient_norm:.2g}, {ratio:.2g} times the "
                     f"{output.gradient_norm:.2g} at {output.name}.")
    suggestion: dict[str, Any] = {}
    if any(layer.kind == "conv" for layer in layers):
        suggestion["activation"] = "relu"
    if any(layer.kind == "dense" for layer in layers):
        suggestion["dense_activation"] = "relu"
    if spec is not None and not _setting(spec, "batch_norm", False):
        suggestion["batch_norm"] = True
    return Diagnosis(
        "saturated", "Sigmoid or tanh units are saturated",
        f"Units stuck at the flat ends of their curve on at least {SATURATED_INPUTS:.0%} of {probes.images} "
        f"held-out images: {parts}.{gradients}", suggestion,
        "Where sigmoid or tanh is flat, its slope is almost 0, so almost no gradient passes back through it and the "
        "layers before it stop learning. ReLU does not flatten for positive inputs.",
    )


def _healthy(loss: list[float], accuracy: list[float], val_loss: list[float],
             val_accuracy: list[float]) -> Diagnosis:
    parts = [f"training loss {loss[0]:.3f} to {loss[-1]:.3f} over {len(loss)} epochs" if len(loss) > 1
             else f"training loss {loss[-1]:.3f} after 1 epoch"]
    if val_accuracy:
        parts.append(f"validation accuracy {_percent(val_accuracy[-1])}")
        if accuracy:
            gap = (val_accuracy[-1] - accuracy[-1]) * 100
            parts.append(f"{abs(gap):.1f} points {'above' if gap >= 0 else 'below'} training")
    elif accuracy:
        parts.append(f"training accuracy {_percent(accuracy[-1])} (no validation split to compare with)")
    early = " One epoch is too early to see a trend; train longer to learn more." if len(loss) == 1 else ""
    return Diagnosis(
        "healthy", "Training looks healthy", f"Nothing wrong to see: {', '.join(parts)}.{early}", {},
        "The loss falls, validation follows training and no layer is stuck. To learn more, change one setting at "
        "a time and compare the runs.",
    )


def diagnose_training(
    history: Mapping[str, Sequence[float]],
    *,
    probes: Probes | None = None,
    config: Any = None,
    spec: Any = None,
    nan_detected: bool = False,
    num_classes: int = 10,
) -> list[Diagnosis]:
    """Name what a training's history (and optional probes of its model) shows, most urgent first.

    Args:
        history: Keras-style, one float per finished epoch: ``"loss"`` and optionally ``"accuracy"``,
            ``"val_loss"``, ``"val_accuracy"``. Any length (an empty history gives no diagnosis unless
            ``nan_detected``); NaN values mean the training diverged.
        probes: :func:`probe_model` of the trained model, for ``dead_units`` and ``saturated``.
        config: the training settings (``TrainConfig`` or its ``to_dict()``); suggestions are then relative to
            them (e.g. a learning rate 10 times smaller). ``None``: suggestions use the usual values.
        spec: the architecture (``ModelSpec`` or its ``to_dict()``), for dropout and batch-norm suggestions.
        nan_detected: the training stopped at a NaN loss (its history holds only the finished epochs before it).
        num_classes: classes of the dataset, for the loss and accuracy of guessing (ln(classes), 1/classes).

    Returns:
        A list of :class:`Diagnosis`, kinds in the order of :data:`KINDS`. A diverging training gets that one
        diagnosis only (the other readings mean little once the weights blew up); a training with nothing wrong
        gets one ``healthy`` diagnosis.

    Raises:
        CoachError: a history entry is not a list of numbers, or ``num_classes`` is below 2.
    """
    if not isinstance(history, Mapping):
        raise CoachError(f"Expected the history as a dict of lists, e.g. {{'loss': [...]}}, got {type(history)}.")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise CoachError(f"num_classes must be a whole number of at least 2, got {num_classes!r}.")
    loss, accuracy = _series(history, "loss"), _series(history, "accuracy")
    val_loss, val_accuracy = _series(history, "val_loss"), _series(history, "val_accuracy")
    guessing = math.log(num_classes)
    diverging = _diverging(loss, {"val_loss": val_loss, "accuracy": accuracy, "val_accuracy": val_accuracy},
                           nan_detected=nan_detected, guessing=guessing, config=config)
    if diverging is not None:
        return [diverging]
    if not loss:
        return []
    chance = 1 / num_classes
    low = chance + LOW_ACCURACY_SHARE * (1 - chance)
    found: list[Diagnosis] = []
    overfitting = _overfitting(loss, accuracy, val_loss, val_accuracy, low, spec, config)
    underfitting = _underfitting(loss, accuracy, val_accuracy, low, spec, config)
    too_slow = _too_slow(loss, accuracy, val_accuracy, low, config) if underfitting is None else None
    plateau = (_plateau(loss, accuracy, val_loss, config)
               if overfitting is None and underfitting is None and too_slow is None else None)
    found += [item for item in (overfitting, underfitting, too_slow, plateau) if item is not None]
    found = [_with_damage(item, config) for item in found]
    if probes is not None:
        found += [item for item in (_dead_units(probes, config, spec), _saturated(probes, spec)) if item is not None]
    return found or [_with_damage(_healthy(loss, accuracy, val_loss, val_accuracy), config)]


def _with_damage(diagnosis: Diagnosis, config: Any) -> Diagnosis:
    """Say in the evidence that the run's training data was damaged on purpose (the data lab), and what follows."""
    if config is None:
        return diagnosis
    damage = describe_datalab(config)
    if damage == "clean":
        return diagnosis
    evidence = f"{diagnosis.evidence} This run trained on data damaged on purpose ({damage})."
    noise = float(_setting(config, "label_noise", 0.0) or 0.0)
    if noise > 0 and diagnosis.kind in ("underfitting", "plateau"):
        return replace(
            diagnosis, evidence=evidence, suggestion={"label_noise": 0.0},
            explanation=(f"With {noise:.0%} of the training labels wrong, a network that reads every image right "
                         f"still matches only about {1 - noise:.0%} of them, so training accuracy levels off low. "
                         "Train once on clean labels with the same seed and compare the two runs."),
        )
    return replace(diagnosis, evidence=evidence)


# --- Probing the model ------------------------------------------------------------------------------------


def _activation_name(layer: Any) -> str:
    import keras

    try:
        return str(keras.activations.serialize(layer.activation))
    except (TypeError, ValueError, AttributeError):
        return getattr(getattr(layer, "activation", None), "__name__", "linear")


def _saturated_units(values: np.ndarray, activation: str) -> np.ndarray:
    """Per unit (last axis): whether its slope is below :data:`SATURATED_SLOPE` of its maximum on most inputs."""
    flat = values.reshape(-1, values.shape[-1]).astype(np.float64)
    # sigmoid' = s (1 - s), at most 1/4; tanh' = 1 - t^2, at most 1: both written with the output alone.
    slope = flat * (1 - flat) / 0.25 if activation == "sigmoid" else 1 - flat**2
    return np.mean(slope < SATURATED_SLOPE, axis=0) >= SATURATED_INPUTS


def probe_model(model: Any, x: np.ndarray, y: np.ndarray) -> Probes:
    """Measure dead ReLU units, saturated sigmoid/tanh units and gradient norms on one held-out batch.

    Args:
        model: a Functional ``keras.Model`` (input (28, 28, 1) float32 in [0, 1], softmax output).
        x: images, uint8 (N, 28, 28) or float in [0, 1], (N, 28, 28) or (N, 28, 28, 1); only the first
            :data:`PROBE_IMAGES` are used.
        y: (N,) integer labels.

    Returns:
        :class:`Probes`, one :class:`LayerProbe` per Conv2D and Dense layer. A unit (a filter of a conv layer,
        a neuron of a dense one) is dead when its ReLU output is 0 for every image and position; the gradient
        norm is that of the mean cross-entropy (inference mode: dropout off) with respect to the layer's weights.

    Raises:
        CoachError: the model has no Conv2D or Dense layer, or ``x`` and ``y`` do not match.
        cnnviz.core.images.ModelInputError: ``x`` is not a batch of 28x28 images.
    """
    import keras
    import tensorflow as tf

    images = to_model_batch(np.asarray(x)[:PROBE_IMAGES])
    labels = np.asarray(y).reshape(-1)[:PROBE_IMAGES]
    if len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
        raise CoachError(f"Expected one integer label per image, got {len(labels)} labels of type {labels.dtype} "
                         f"for {len(images)} images.")
    layers = [layer for layer in getattr(model, "layers", [])
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    if not layers:
        raise CoachError("The model has no Conv2D or Dense layer to probe.")
    outputs = keras.Model(model.inputs[0], [layer.output for layer in layers] + [model.outputs[0]],
                          name="coach_probe")
    weights = [layer.trainable_weights for layer in layers]
    with tf.GradientTape() as tape:
        *values, probabilities = outputs(tf.convert_to_tensor(images), training=False)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, probabilities))
    gradients = tape.gradient(loss, weights)
    found = []
    for layer, value, layer_gradients in zip(layers, values, gradients, strict=True):
        array = np.asarray(value)
        activation = _activation_name(layer)
        units = int(array.shape[-1])
        dead = saturated = None
        if activation == "relu":
            dead = float(np.mean(array.reshape(-1, units).max(axis=0) <= 0))
        elif activation in ("sigmoid", "tanh"):
            saturated = float(np.mean(_saturated_units(array, activation)))
        norm = math.sqrt(sum(float(np.sum(np.square(np.asarray(g)))) for g in layer_gradients if g is not None))
        found.append(LayerProbe(
            name=layer.name, kind="conv" if isinstance(layer, keras.layers.Conv2D) else "dense",
            activation=activation, units=units, dead_share=dead, saturated_share=saturated, gradient_norm=norm,
        ))
    return Probes(layers=tuple(found), images=len(images), loss=float(loss))
