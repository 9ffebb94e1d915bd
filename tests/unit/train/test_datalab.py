"""cnnviz.train.datalab: label noise and class imbalance damage exactly what was asked, only in the training part."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from cnnviz.core.records import RunRecord, describe_datalab, runs_table
from cnnviz.train.datalab import damage_training_data, datalab_active, imbalanced_indices, noisy_labels
from cnnviz.train.loop import TrainConfig, TrainingConfigError, prepare_data, train_model, validate_config
from tests.support.training import TinyData, fresh_model, make_tiny

LABELS = np.repeat(np.arange(10), 37)  # 370 labels, 37 per class


@pytest.mark.parametrize("share", [0.0, 0.01, 0.3, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("seed", [0, 7])
def test_label_noise_changes_exactly_the_requested_share_never_to_the_same_class(share: float, seed: int) -> None:
    noisy = noisy_labels(LABELS, share, 10, seed)
    changed = noisy != LABELS
    # Never to the same class: every drawn label moved, so the count of changed labels is exactly round(share * n).
    assert changed.sum() == round(share * len(LABELS))
    assert noisy.dtype == np.int64 and noisy.min() >= 0 and noisy.max() < 10
    np.testing.assert_array_equal(noisy, noisy_labels(LABELS, share, 10, seed))  # reproducible by seed


def test_label_noise_depends_on_the_seed_and_reaches_every_other_class() -> None:
    first, second = noisy_labels(LABELS, 0.5, 10, 1), noisy_labels(LABELS, 0.5, 10, 2)
    assert not np.array_equal(first, second)
    # With many labels of class 0 changed, each of the nine other classes receives some: the swap is uniform.
    zeros = np.zeros(2000, dtype=np.int64)
    targets = np.bincount(noisy_labels(zeros, 0.9, 10, 0), minlength=10)
    assert targets[0] == 200 and all(150 <= count <= 250 for count in targets[1:]), targets


def test_label_noise_leaves_its_input_alone_and_refuses_bad_settings() -> None:
    labels = LABELS.copy()
    noisy_labels(labels, 0.5, 10, 0)
    np.testing.assert_array_equal(labels, LABELS)
    with pytest.raises(ValueError, match="from 0 to 1"):
        noisy_labels(labels, 1.5, 10, 0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        noisy_labels(np.zeros(4, dtype=np.int64), 0.5, 1, 0)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        noisy_labels(LABELS, 0.5, 3, 0)


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_imbalance_keeps_the_right_counts_of_the_chosen_classes_only(keep: float) -> None:
    kept = imbalanced_indices(LABELS, (3, 8), keep, seed=5)
    counts = np.bincount(LABELS[kept], minlength=10)
    expected = np.full(10, 37)
    expected[[3, 8]] = round(keep * 37)
    np.testing.assert_array_equal(counts, expected)
    assert np.all(np.diff(kept) > 0)  # original order, no repeats
    np.testing.assert_array_equal(kept, imbalanced_indices(LABELS, (3, 8), keep, seed=5))
    with pytest.raises(ValueError, match="from 0 to 1"):
        imbalanced_indices(LABELS, (3,), -0.1, seed=0)


def test_damage_thins_first_then_makes_noise_and_returns_the_inputs_when_off() -> None:
    x = np.arange(len(LABELS))  # each "image" is its own index, so we can follow it
    same_x, same_y = damage_training_data(x, LABELS, label_noise=0.0, imbalance_classes=(), imbalance_keep=1.0,
                                          num_classes=10, seed=0)
    assert same_x is x and same_y is LABELS
    damaged_x, damaged_y = damage_training_data(x, LABELS, label_noise=0.2, imbalance_classes=(0,),
                                                imbalance_keep=0.0, num_classes=10, seed=0)
    assert len(damaged_x) == 333 and not np.any(LABELS[damaged_x] == 0)  # class 0's images are all gone
    assert (damaged_y != LABELS[damaged_x]).sum() == round(0.2 * 333)
    with pytest.raises(ValueError, match="no training images"):
        damage_training_data(x, LABELS, label_noise=0.0, imbalance_classes=tuple(range(10)), imbalance_keep=0.0,
                             num_classes=10, seed=0)
    with pytest.raises(ValueError, match=r"in \[0, 10\)"):
        damage_training_data(x, LABELS, label_noise=0.0, imbalance_classes=(12,), imbalance_keep=0.5,
                             num_classes=10, seed=0)


@pytest.fixture(scope="module")
def tiny() -> TinyData:
    return make_tiny(train=200, test=64)


def test_prepare_data_damages_the_training_part_only(tiny: TinyData) -> None:
    clean_config = TrainConfig(train_size=200, validation_split=0.2, seed=3)
    clean = prepare_data(tiny, clean_config)
    damaged = prepare_data(tiny, replace(clean_config, label_noise=0.25, imbalance_classes=(1,), imbalance_keep=0.5))
    for part in ("x_val", "y_val", "x_test", "y_test"):  # validation and test measure the truth
        np.testing.assert_array_equal(getattr(damaged, part), getattr(clean, part))
    ones = int((clean.y_train == 1).sum())
    assert len(damaged.y_train) == len(clean.y_train) - (ones - round(0.5 * ones))
    keep = imbalanced_indices(clean.y_train, (1,), 0.5, 3)
    np.testing.assert_array_equal(damaged.x_train, clean.x_train[keep])
    assert (damaged.y_train != clean.y_train[keep]).sum() == round(0.25 * len(keep))


def test_prepare_data_refuses_a_class_the_dataset_lacks(tiny: TinyData) -> None:
    with pytest.raises(TrainingConfigError, match=r"in \[0, 2\)"):
        prepare_data(tiny, TrainConfig(train_size=50, imbalance_classes=(5,), imbalance_keep=0.5))


@pytest.mark.parametrize(
    "changes",
    [{"label_noise": 1.2}, {"label_noise": -0.1}, {"label_noise": True}, {"imbalance_keep": 2.0},
     {"imbalance_classes": (1, 1)}, {"imbalance_classes": (-1,)}, {"imbalance_classes": [1]},
     {"imbalance_classes": ("3",)}],
)
def test_validate_config_refuses_data_lab_settings_out_of_range(changes: dict) -> None:
    with pytest.raises(TrainingConfigError, match="must be"):
        validate_config(replace(TrainConfig(), **changes))


def test_old_config_dicts_still_load_with_the_data_lab_off_and_new_ones_round_trip_through_json() -> None:
    old = {key: value for key, value in TrainConfig(epochs=3).to_dict().items()
           if key not in ("label_noise", "imbalance_classes", "imbalance_keep")}
    loaded = TrainConfig.from_dict(old)
    assert loaded == TrainConfig(epochs=3) and not datalab_active(loaded)
    assert describe_datalab(old) == "clean"
    config = TrainConfig(label_noise=0.3, imbalance_classes=(3, 5), imbalance_keep=0.1)
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and hash(again) == hash(config) and datalab_active(again)
    validate_config(again)


def test_the_run_record_and_runs_table_say_how_the_data_was_damaged() -> None:
    config = TrainConfig(label_noise=0.3, imbalance_classes=(3, 5), imbalance_keep=0.1)
    assert describe_datalab(config) == "30% labels noisy; classes 3, 5 kept at 10%"
    names = tuple(f"class{index}" for index in range(10))
    assert describe_datalab(config, names) == "30% labels noisy; classes 3 (class3), 5 (class5) kept at 10%"
    assert describe_datalab(TrainConfig(imbalance_classes=(2,), imbalance_keep=1.0)) == "clean"  # keeps all
    runs = [RunRecord(run_id=1, dataset="digits", spec={}, config=config.to_dict()),
            RunRecord(run_id=2, dataset="digits", spec={}, config={"epochs": 5})]  # a record older than the lab
    assert [row["Data lab"] for row in runs_table(runs)] == [describe_datalab(config), "clean"]


@pytest.mark.slow
def test_half_the_labels_wrong_trains_a_worse_model(tiny: TinyData) -> None:
    """On two classes, 50% label noise makes every label a coin flip: the network cannot learn the task."""
    accuracies = {}
    for noise in (0.0, 0.5):
        config = TrainConfig(learning_rate=0.001, lr_schedule="constant", train_size=200, validation_split=0.0,
                             epochs=4, batch_size=16, early_stopping=False, seed=1, label_noise=noise)
        result = train_model(fresh_model(1), prepare_data(tiny, config), config)
        accuracies[noise] = result.test_metrics["accuracy"]
    assert accuracies[0.0] >= 0.9 and accuracies[0.5] <= accuracies[0.0] - 0.2, accuracies
