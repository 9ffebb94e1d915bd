"""The training coach: every kind from a synthetic history, probes on tiny models, and real short trainings."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from cnnviz.train.coach import (
    KINDS,
    CoachError,
    LayerProbe,
    Probes,
    diagnose_training,
    probe_model,
)
from cnnviz.train.loop import TrainConfig
from cnnviz.train.spec import ModelSpec

#: One synthetic history per kind read from the curves, with the settings it was trained with.
HISTORIES = {
    "diverging": {"loss": [2.0, 1.5, 3.5, 9.0], "accuracy": [0.3, 0.4, 0.2, 0.1]},
    "overfitting": {
        "loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05], "accuracy": [0.7, 0.85, 0.9, 0.95, 0.98, 0.99],
        "val_loss": [1.0, 0.6, 0.5, 0.55, 0.65, 0.8], "val_accuracy": [0.7, 0.82, 0.85, 0.85, 0.84, 0.83],
    },
    "underfitting": {
        "loss": [2.2, 1.9, 1.85, 1.84, 1.84], "accuracy": [0.2, 0.3, 0.32, 0.33, 0.33],
        "val_loss": [2.1, 1.9, 1.86, 1.85, 1.85], "val_accuracy": [0.2, 0.29, 0.31, 0.31, 0.32],
    },
    "too_slow": {
        "loss": [2.285, 2.282, 2.28, 2.278, 2.276], "accuracy": [0.19, 0.19, 0.19, 0.2, 0.2],
        "val_loss": [2.307, 2.305, 2.304, 2.302, 2.3], "val_accuracy": [0.13] * 5,
    },
    "plateau": {
        "loss": [0.8, 0.5, 0.45, 0.44, 0.44, 0.44], "accuracy": [0.8, 0.85, 0.86, 0.86, 0.86, 0.86],
        "val_loss": [0.6, 0.5, 0.48, 0.48, 0.481, 0.479], "val_accuracy": [0.84, 0.85, 0.85, 0.85, 0.85, 0.85],
    },
    "healthy": {
        "loss": [0.5, 0.2, 0.1, 0.07, 0.06], "accuracy": [0.85, 0.94, 0.97, 0.98, 0.985],
        "val_loss": [0.25, 0.12, 0.09, 0.08, 0.075], "val_accuracy": [0.93, 0.96, 0.97, 0.975, 0.978],
    },
}
CONFIG = TrainConfig(optimizer="adam", learning_rate=0.001, epochs=5, early_stopping=False)
SPEC = ModelSpec(dropout=0.0)


def _probes(*layers: LayerProbe) -> Probes:
    return Probes(layers=layers, images=256, loss=0.5)


def _layer(name: str, kind: str = "conv", activation: str = "relu", dead: float | None = 0.0,
           saturated: float | None = None, norm: float = 1.0) -> LayerProbe:
    return LayerProbe(name=name, kind=kind, activation=activation, units=32, dead_share=dead,
                      saturated_share=saturated, gradient_norm=norm)


@pytest.mark.parametrize("kind", list(HISTORIES))
def test_each_kind_is_named_from_its_history_with_numbers_and_a_valid_suggestion(kind: str) -> None:
    diagnoses = diagnose_training(HISTORIES[kind], config=CONFIG, spec=SPEC)
    assert [diagnosis.kind for diagnosis in diagnoses] == [kind]
    diagnosis = diagnoses[0]
    assert any(character.isdigit() for character in diagnosis.evidence)
    assert diagnosis.title and diagnosis.explanation
    fields = set(TrainConfig.__dataclass_fields__) | set(ModelSpec.__dataclass_fields__) | {"activation"}
    assert set(diagnosis.suggestion) <= fields
    assert bool(diagnosis.suggestion) == (kind != "healthy")


def test_suggestions_are_relative_to_the_settings() -> None:
    fast = TrainConfig(optimizer="sgd", learning_rate=10.0)
    assert diagnose_training(HISTORIES["diverging"], config=fast)[0].suggestion == {"learning_rate": 0.01}
    assert diagnose_training(HISTORIES["diverging"], config=TrainConfig(learning_rate=0.001))[0].suggestion == {
        "learning_rate": 0.0001}
    slow = TrainConfig(learning_rate=1e-5)
    assert diagnose_training(HISTORIES["too_slow"], config=slow)[0].suggestion == {"learning_rate": 0.0001}
    # At the usual rate a steadily falling loss asks for more epochs instead.
    assert diagnose_training(HISTORIES["too_slow"], config=CONFIG)[0].suggestion == {"epochs": 10}
    # Underfitting at the usual Adam settings suggests batch norm, and nothing it already has.
    assert diagnose_training(HISTORIES["underfitting"], config=CONFIG, spec=SPEC)[0].suggestion == {"batch_norm": True}
    tuned = ModelSpec(dropout=0.0, batch_norm=True)
    assert diagnose_training(HISTORIES["underfitting"], config=CONFIG, spec=tuned)[0].suggestion == {}
    overfit = diagnose_training(HISTORIES["overfitting"], config=CONFIG, spec=SPEC)[0]
    assert overfit.suggestion == {"dropout": 0.2, "early_stopping": True}
    assert "0.500 (epoch 3) to 0.800 (epoch 6)" in overfit.evidence and "16.0 points" in overfit.evidence


def test_an_accuracy_gap_alone_is_overfitting() -> None:
    history = {"loss": [1.0, 0.3, 0.1], "accuracy": [0.7, 0.95, 1.0], "val_loss": [1.0, 0.6, 0.55],
               "val_accuracy": [0.7, 0.85, 0.87]}
    diagnosis = diagnose_training(history)[0]
    assert diagnosis.kind == "overfitting" and "13.0 points" in diagnosis.evidence
    # A gap in a model that has learned little is noise on a small validation split, not memorising.
    poor = {"loss": [2.275, 2.207], "accuracy": [0.159, 0.215], "val_loss": [2.268, 2.203],
            "val_accuracy": [0.133, 0.1]}
    assert "overfitting" not in [d.kind for d in diagnose_training(poor)]


@pytest.mark.parametrize("history", [
    {"loss": [1.0, float("nan")]},
    {"loss": [1.0, 0.5], "val_loss": [0.9, float("nan")]},
])
def test_a_nan_anywhere_is_diverging(history: dict[str, list[float]]) -> None:
    diagnoses = diagnose_training(history)
    assert [d.kind for d in diagnoses] == ["diverging"] and "NaN" in diagnoses[0].evidence


def test_a_nan_that_ended_the_first_epoch_is_diverging_with_the_rate() -> None:
    diagnoses = diagnose_training({}, nan_detected=True, config=TrainConfig(optimizer="sgd", learning_rate=10.0))
    assert [d.kind for d in diagnoses] == ["diverging"]
    assert "learning rate 10" in diagnoses[0].evidence and "before the first epoch" in diagnoses[0].evidence
    assert diagnoses[0].suggestion == {"learning_rate": 0.01}


def test_any_length_and_no_validation_keys() -> None:
    assert diagnose_training({}) == []
    one = diagnose_training({"loss": [0.4], "accuracy": [0.9]})
    assert [d.kind for d in one] == ["healthy"] and "1 epoch" in one[0].evidence
    # A low accuracy after one epoch is a slow start, never "healthy" (seen on the page: 18% after 1 epoch).
    slow_start = diagnose_training({"loss": [2.305], "accuracy": [0.11], "val_loss": [2.29], "val_accuracy": [0.18]},
                                   config=TrainConfig(optimizer="sgd", learning_rate=0.01, epochs=1))
    assert [d.kind for d in slow_start] == ["too_slow"] and slow_start[0].suggestion == {"epochs": 3}
    assert "After only 1 epoch, training accuracy is 11.0% (validation 18.0%)" in slow_start[0].evidence
    no_validation = diagnose_training({"loss": [2.2, 1.9, 1.85, 1.84, 1.84], "accuracy": [0.2, 0.3, 0.32, 0.33, 0.33]})
    assert [d.kind for d in no_validation] == ["underfitting"]
    # Settings as dicts (what a run record keeps) work as well as the dataclasses.
    as_dicts = diagnose_training(HISTORIES["overfitting"], config=CONFIG.to_dict(), spec=SPEC.to_dict())
    assert as_dicts == diagnose_training(HISTORIES["overfitting"], config=CONFIG, spec=SPEC)


def test_the_guessing_loss_follows_the_number_of_classes() -> None:
    history = {"loss": [1.2, 1.1]}  # above 1.5 ln 2 = 1.04: worse than guessing between two classes
    assert diagnose_training(history, num_classes=2)[0].kind == "diverging"
    assert diagnose_training(history, num_classes=10)[0].kind != "diverging"


@pytest.mark.parametrize("bad, message", [
    ({"loss": ["a lot"]}, "list of numbers"),
    ([0.1, 0.2], "dict of lists"),
])
def test_unreadable_history_is_a_clear_error(bad, message: str) -> None:
    with pytest.raises(CoachError, match=message):
        diagnose_training(bad)


def test_too_few_classes_is_a_clear_error() -> None:
    with pytest.raises(CoachError, match="at least 2"):
        diagnose_training({"loss": [1.0]}, num_classes=1)


def test_probes_add_dead_units_and_saturated_to_a_healthy_history() -> None:
    probes = _probes(_layer("conv_1", dead=0.5), _layer("dense_1", "dense", "sigmoid", dead=None, saturated=0.75,
                                                            norm=1e-4),
                     _layer("predictions", "dense", "softmax", dead=None, norm=2.0))
    diagnoses = diagnose_training(HISTORIES["healthy"], probes=probes, config=CONFIG, spec=SPEC)
    assert [d.kind for d in diagnoses] == ["dead_units", "saturated"]
    dead, saturated = diagnoses
    assert "conv_1 50% of 32" in dead.evidence and dead.suggestion["batch_norm"] is True
    assert "dense_1 (sigmoid) 75% of 32" in saturated.evidence
    assert saturated.suggestion == {"dense_activation": "relu", "batch_norm": True}
    with_batch_norm = diagnose_training(HISTORIES["healthy"], probes=probes, config=CONFIG, spec=ModelSpec(
        batch_norm=True))
    assert with_batch_norm[0].suggestion == {"learning_rate": 0.0001}  # batch norm is on already: not suggested
    quiet = _probes(_layer("conv_1", dead=0.1), _layer("predictions", "dense", "softmax", dead=None))
    assert [d.kind for d in diagnose_training(HISTORIES["healthy"], probes=quiet)] == ["healthy"]


def test_kinds_come_in_the_documented_order() -> None:
    probes = _probes(_layer("conv_1", dead=0.9), _layer("predictions", "dense", "softmax", dead=None))
    kinds = [d.kind for d in diagnose_training(HISTORIES["overfitting"], probes=probes)]
    assert kinds == sorted(kinds, key=KINDS.index) == ["overfitting", "dead_units"]


# --- Probes on tiny real models -------------------------------------------------------------------------


def _tiny_model(activation: str = "relu", conv_bias: float = 0.0, dense_scale: float = 1.0, seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, 1), name="input")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_1")(inputs)
    x = keras.layers.MaxPooling2D(4, name="pool_1")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(8, activation=activation, name="dense_1")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="tiny")
    kernel, bias = model.get_layer("conv_1").get_weights()
    model.get_layer("conv_1").set_weights([kernel, np.full_like(bias, conv_bias)])
    kernel, bias = model.get_layer("dense_1").get_weights()
    model.get_layer("dense_1").set_weights([kernel * dense_scale, bias])
    return model


@pytest.fixture(scope="module")
def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (40, 28, 28)).astype(np.uint8), rng.integers(0, 3, 40)


def test_a_layer_with_a_huge_negative_bias_is_all_dead(batch) -> None:
    x, y = batch
    alive = probe_model(_tiny_model(), x, y)
    dead = probe_model(_tiny_model(conv_bias=-1000.0), x, y)
    assert [layer.name for layer in dead.layers] == ["conv_1", "dense_1", "predictions"]
    assert dead.layers[0].dead_share == 1.0 and alive.layers[0].dead_share < 0.5
    assert dead.layers[0].gradient_norm == 0.0  # a dead layer gets no gradient at all
    assert dead.layers[2].dead_share is None and dead.layers[2].saturated_share is None  # softmax: neither
    assert dead.images == 40 and math.isfinite(dead.loss)
    assert "dead_units" in [d.kind for d in diagnose_training(HISTORIES["healthy"], probes=dead)]


def test_sigmoid_units_with_huge_weights_are_saturated(batch) -> None:
    x, y = batch
    calm = probe_model(_tiny_model("sigmoid", dense_scale=0.001), x, y).layers[1]
    stuck = probe_model(_tiny_model("sigmoid", dense_scale=1e4), x, y).layers[1]
    assert calm.activation == "sigmoid" and calm.saturated_share == 0.0 and calm.dead_share is None
    assert stuck.saturated_share >= 0.75


def test_the_output_layers_gradient_norm_matches_the_textbook_formula(batch) -> None:
    # For softmax + cross-entropy, dL/dW = h^T (p - onehot(y)) / N and dL/db = mean(p - onehot(y)), with h the
    # inputs of the output layer: an oracle computed with NumPy from the model's own activations.
    import keras

    x, y = batch
    model = _tiny_model()
    hidden = keras.Model(model.inputs[0], model.get_layer("dense_1").output)
    from cnnviz.core.images import to_model_batch

    h = np.asarray(hidden(to_model_batch(x), training=False), dtype=np.float64)
    p = np.asarray(model(to_model_batch(x), training=False), dtype=np.float64)
    delta = (p - np.eye(3)[y]) / len(y)
    expected = math.sqrt(np.sum((h.T @ delta) ** 2) + np.sum(delta.sum(axis=0) ** 2))
    measured = probe_model(model, x, y).layers[-1].gradient_norm
    assert measured == pytest.approx(expected, rel=1e-4)


def test_probes_look_at_one_batch_at_most(batch) -> None:
    from cnnviz.train.coach import PROBE_IMAGES

    x = np.zeros((PROBE_IMAGES + 50, 28, 28), np.uint8)
    y = np.zeros(PROBE_IMAGES + 50, np.int64)
    assert probe_model(_tiny_model(), x, y).images == PROBE_IMAGES


def test_probing_refuses_mismatched_labels_and_models_without_layers(batch) -> None:
    import keras

    x, y = batch
    with pytest.raises(CoachError, match="one integer label per image"):
        probe_model(_tiny_model(), x, y[:10])
    inputs = keras.Input((28, 28, 1))
    bare = keras.Model(inputs, keras.layers.Flatten()(inputs))
    with pytest.raises(CoachError, match="no Conv2D or Dense"):
        probe_model(bare, x, y)


# --- Real short trainings (the built-in digits, so no files are needed) ---------------------------------


def _train(spec: ModelSpec, config: TrainConfig):
    from cnnviz.core.datasets import load_dataset
    from cnnviz.train.loop import prepare_data, train_model
    from cnnviz.train.spec import build_model

    dataset = load_dataset("digits")
    model = build_model(spec, 10, seed=config.seed)
    started = time.perf_counter()
    result = train_model(model, prepare_data(dataset, config), config)
    probes = probe_model(model, dataset.x_test, dataset.y_test) if result.epochs_done else None
    kinds = [d.kind for d in diagnose_training(result.history, probes=probes, config=config, spec=spec,
                                               nan_detected=result.nan_detected)]
    return kinds, time.perf_counter() - started


SMALL = ModelSpec(conv_blocks=ModelSpec().conv_blocks[:1], dropout=0.0, dense_units=(32,))


@pytest.mark.slow
def test_sgd_at_learning_rate_10_is_diagnosed_diverging() -> None:
    config = TrainConfig(optimizer="sgd", learning_rate=10.0, epochs=2, train_size=300, validation_split=0.2,
                         early_stopping=False)
    kinds, seconds = _train(SMALL, config)
    assert kinds == ["diverging"] and seconds < 20


@pytest.mark.slow
def test_no_dropout_on_300_images_for_30_epochs_is_diagnosed_overfitting() -> None:
    config = TrainConfig(epochs=30, train_size=300, validation_split=0.2, early_stopping=False)
    kinds, seconds = _train(SMALL, config)
    assert kinds[0] == "overfitting" and seconds < 20


@pytest.mark.slow
def test_learning_rate_1e_5_is_diagnosed_too_slow() -> None:
    config = TrainConfig(learning_rate=1e-5, lr_schedule="constant", batch_size=32, epochs=5, train_size=300,
                         validation_split=0.2, early_stopping=False)
    kinds, seconds = _train(SMALL, config)
    assert kinds[0] == "too_slow" and seconds < 20


def test_damaged_data_is_named_and_noisy_labels_are_the_suggested_change() -> None:
    noisy = TrainConfig(learning_rate=0.001, early_stopping=False, label_noise=0.3, imbalance_classes=(3,),
                        imbalance_keep=0.1)
    underfit = diagnose_training(HISTORIES["underfitting"], config=noisy, spec=SPEC)[0]
    assert underfit.kind == "underfitting" and underfit.suggestion == {"label_noise": 0.0}
    assert "(30% labels noisy; class 3 kept at 10%)" in underfit.evidence and "about 70%" in underfit.explanation
    overfit = diagnose_training(HISTORIES["overfitting"], config=noisy, spec=SPEC)[0]
    assert "30% labels noisy" in overfit.evidence and overfit.suggestion == {"dropout": 0.2, "early_stopping": True}
    clean = diagnose_training(HISTORIES["healthy"], config=CONFIG)[0]
    assert "damaged" not in clean.evidence
