"""cnnviz.lessons.lessons: the six lessons as data, their links and their reveals."""

from __future__ import annotations

from typing import Any

import pytest

from cnnviz.core.records import RunRecord
from cnnviz.kernels.share import KERNELS_TABLE
from cnnviz.lessons.lessons import (
    FIRST_CNN,
    KERNELS,
    LESSONS,
    SKETCH,
    THREE_BLOCKS,
    TRAIN,
    changed_settings,
    lesson_by_slug,
    progress_text,
)
from cnnviz.sketch.share import SKETCH_TABLE
from cnnviz.train.share import TRAIN_TABLE
from cnnviz.train.spec import ConvBlockSpec, ModelSpec, layer_table

TABLES = {TRAIN: TRAIN_TABLE, KERNELS: KERNELS_TABLE, SKETCH: SKETCH_TABLE}
STEPS = [(lesson, step) for lesson in LESSONS for step in lesson.steps]


def _run(run_id: int, dataset: str = "mnist", *, dropout: float = 0.25, accuracy: float = 0.9,
         test: float = 0.95, epochs: int = 3, train_size: int = 8000) -> RunRecord:
    history = {"accuracy": [accuracy] * epochs, "val_accuracy": [0.96] * epochs,
               "loss": [0.3] * epochs, "val_loss": [0.2, 0.1, 0.15][:epochs]}
    return RunRecord(run_id=run_id, dataset=dataset, spec={"dropout": dropout},
                     config={"epochs": 12, "train_size": train_size}, history=history,
                     test_metrics={"accuracy": test}, total_params=60_874, status="finished")


def test_six_lessons_of_three_to_six_steps_with_distinct_slugs():
    assert [lesson.title for lesson in LESSONS] == ["Your first CNN", "Small is enough", "Edges by hand",
                                                    "Callbacks on Kuzushiji-MNIST", "Your own scribble", "Harder data"]
    assert all(3 <= len(lesson.steps) <= 6 for lesson in LESSONS)
    assert len({lesson.slug for lesson in LESSONS}) == 6
    assert lesson_by_slug("edges-by-hand") is LESSONS[2] and lesson_by_slug("nope") is None


@pytest.mark.parametrize(("slug", "facts"), [
    ("first-cnn", ["Conv 32", "Conv 64", "dropout 0.25", "Dense 128", "dropout 0.5", "Adadelta", "12 epochs",
                   "one-hot", "categorical cross-entropy"]),
    ("small-is-enough", ["Conv2D 16", "Conv2D 8", "no pooling", "Adam", "5 epochs", "97.06%"]),
    ("edges-by-hand", ["[[2,-1,-1],[-1,2,-1],[-1,-1,2]]", "threshold of +2", "2x2 max pooling"]),
    ("kmnist-callbacks", ["ten", "hiragana", "48,000", "12,000", "10,000", "EarlyStopping", "ModelCheckpoint", "AUC"]),
    ("own-scribble", ["conv + pooling blocks", "inverted", "cropped", "20x20", "centred"]),
    ("harder-data", ["Fashion-MNIST", "same network"]),
])
def test_each_lesson_states_its_tutorials_facts(slug, facts):
    lesson = lesson_by_slug(slug)
    text = " ".join([lesson.summary, *(step.text for step in lesson.steps)])
    for fact in facts:
        assert fact in text, fact


@pytest.mark.parametrize(("lesson", "step"), STEPS, ids=[f"{lesson.slug}:{step.button}" for lesson, step in STEPS])
def test_every_link_is_read_in_full_by_its_page(lesson, step):
    if step.page in TABLES:
        values, ignored = TABLES[step.page].decode(step.params)
        assert ignored == []
        assert TABLES[step.page].mentions(step.params), "a link must name a setting, or it changes nothing"
    else:
        assert step.params == {}


def _spec(values: dict[str, Any]) -> ModelSpec:
    blocks = tuple(ConvBlockSpec(filters=values[f"train_b{i}_filters"], padding=values[f"train_b{i}_padding"],
                                 pooling=values[f"train_b{i}_pooling"]) for i in range(1, values["train_blocks"] + 1))
    units = tuple(values[f"train_units{i}"] for i in range(1, values["train_dense"] + 1))
    return ModelSpec(conv_blocks=blocks, dropout=values["train_dropout"], dense_units=units)


@pytest.mark.parametrize(("params", "expected"), [(FIRST_CNN, 1_199_882), (THREE_BLOCKS, 60_874)])
def test_the_parameter_counts_the_reveals_quote_are_the_designs(params, expected):
    spec = _spec(TRAIN_TABLE.decode(params)[0])
    assert sum(row.params for row in layer_table(spec)) == expected


@pytest.mark.parametrize("runs", [[], [_run(1)], [_run(1), _run(2, dropout=0.5, accuracy=0.85, test=0.96)],
                                  [_run(1, "fashion_mnist")], ["not a run", _run(1, epochs=1)]])
def test_every_reveal_answers_with_or_without_runs(runs):
    for lesson, step in STEPS:
        if step.question is not None:
            text = step.question.reveal(runs)
            assert isinstance(text, str) and len(text) > 40, (lesson.slug, step.button)


def test_the_dropout_reveal_uses_the_learners_two_runs():
    question = LESSONS[0].steps[2].question
    text = question.reveal([_run(1, accuracy=0.95), _run(2, dropout=0.5, accuracy=0.91)])
    assert "Dropout 0.25 -> 0.5: training accuracy -4.0 points" in text


def test_the_early_stopping_reveal_names_the_best_epoch():
    text = LESSONS[3].steps[1].question.reveal([_run(1, "kmnist")])
    assert "It ran 3 of 12 epochs; its best validation loss was at epoch 2." in text


def test_changed_settings_and_progress():
    assert changed_settings(_run(1), _run(2, "kmnist", train_size=30000)) == [
        "dataset mnist -> kmnist", "train_size 8000 -> 30000"]
    assert progress_text({"first-cnn": [0, 2, 9]}, LESSONS[0]) == "2 of 4 steps done"
    assert progress_text({"first-cnn": [0, 1, 2, 3]}, LESSONS[0]) == "done"
