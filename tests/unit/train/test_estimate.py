"""cnnviz.train.estimate: the time a run will take, known before it starts (issue 16, finding 7)."""

from __future__ import annotations

import pytest

from cnnviz.train.estimate import (
    WARN_TRAINING_S,
    Measured,
    describe_duration,
    estimate_training_s,
    max_training_s,
    multiply_adds,
    warn_training_s,
)
from cnnviz.train.spec import ConvBlockSpec, LayerRow, ModelSpec, layer_table

LARGEST = ModelSpec(conv_blocks=tuple(ConvBlockSpec(filters=128, kernel_size=5, pooling="max") for _ in range(4)),
                    dense_units=(512, 512, 512))


def test_multiply_adds_count_each_conv_output_pixel_and_each_dense_weight() -> None:
    rows = [
        LayerRow("input", "InputLayer", (28, 28, 1), 0),
        LayerRow("conv_1", "Conv2D", (28, 28, 16), 3 * 3 * 1 * 16 + 16),
        LayerRow("pool_1", "MaxPooling2D", (14, 14, 16), 0),
        LayerRow("flatten", "Flatten", (3136,), 0),
        LayerRow("predictions", "Dense", (10,), 3136 * 10 + 10),
    ]
    assert multiply_adds(rows) == 28 * 28 * 16 * 9 + 3136 * 10


def test_the_issues_largest_design_is_flagged_and_the_default_is_not() -> None:
    rows = layer_table(LARGEST, 10)
    assert sum(row.params for row in rows) == 1_829_002
    # 30 epochs on 8,000 images with a 10% validation split: ~14 minutes measured in the issue.
    largest = estimate_training_s(multiply_adds(rows), train_images=7200, validation_images=800, epochs=30)
    assert largest > WARN_TRAINING_S
    assert 12 * 60 <= largest <= 25 * 60  # not below what was measured, not absurdly above
    default = estimate_training_s(multiply_adds(layer_table(ModelSpec(), 10)), train_images=7200,
                                  validation_images=800, epochs=10)
    assert default < WARN_TRAINING_S


@pytest.mark.parametrize("field", ["epochs", "train_images", "validation_images", "multiply_adds_per_image"])
def test_the_estimate_grows_with_epochs_images_and_multiply_adds(field: str) -> None:
    base = {"multiply_adds_per_image": 2_000_000, "train_images": 1000, "validation_images": 100, "epochs": 5}
    times = [estimate_training_s(**{**base, field: base[field] * factor}) for factor in (1, 2, 4)]
    assert times[0] < times[1] < times[2]


def test_more_parameters_in_the_design_mean_a_longer_estimate() -> None:
    small = multiply_adds(layer_table(ModelSpec(), 10))
    large = multiply_adds(layer_table(LARGEST, 10))
    assert small < large
    kwargs = {"train_images": 1000, "validation_images": 0, "epochs": 3}
    assert estimate_training_s(small, **kwargs) < estimate_training_s(large, **kwargs)


def test_a_measured_run_scales_the_estimate_and_a_bad_measurement_is_ignored() -> None:
    kwargs = {"train_images": 1000, "validation_images": 0, "epochs": 2}
    fixed = estimate_training_s(5_000_000, **kwargs)
    # The same design measured at half the cost model's speed takes about twice as long (start-up aside).
    from cnnviz.train.estimate import START_UP_S, seconds_per_image

    slow = Measured(images_per_s=0.5 / seconds_per_image(5_000_000), multiply_adds=5_000_000)
    assert estimate_training_s(5_000_000, measured=slow, **kwargs) - START_UP_S == pytest.approx(
        2 * (fixed - START_UP_S))
    assert estimate_training_s(5_000_000, measured=Measured(0.0, 5_000_000), **kwargs) == fixed


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        estimate_training_s(1, train_images=-1, validation_images=0, epochs=1)


def test_teacher_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNNVIZ_MAX_TRAINING_S", raising=False)
    monkeypatch.delenv("CNNVIZ_WARN_TRAINING_S", raising=False)
    assert max_training_s() is None and warn_training_s() == WARN_TRAINING_S
    monkeypatch.setenv("CNNVIZ_MAX_TRAINING_S", "600")
    monkeypatch.setenv("CNNVIZ_WARN_TRAINING_S", "120")
    assert max_training_s() == 600 and warn_training_s() == 120
    monkeypatch.setenv("CNNVIZ_MAX_TRAINING_S", "-5")
    assert max_training_s() is None


@pytest.mark.parametrize(("seconds", "text"), [(4, "about 10 s"), (44, "about 40 s"), (200, "about 3 min"),
                                               (3900, "about 1 h 05 min")])
def test_durations_read_as_a_learner_would_say_them(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text
