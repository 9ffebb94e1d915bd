"""What the Inside page says about its numbers: sentences and image captions, built without Streamlit.

Each function turns results of :mod:`cnnviz.inside.evaluation` (or a prediction) into the
words a learner reads, so the sections only place them on the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnviz.core.predict import PredictionError, top_guesses
from cnnviz.inside.evaluation import Evaluation

#: How many images of a confusion-matrix cell the page shows.
CELL_IMAGES = 16


def prediction_sentence(
    probabilities: np.ndarray, class_names: Sequence[str], label: str, true_class: int | None
) -> str:
    """Return e.g. ``"The model says **7** (93%) for test image #0 (true class: 7). Right."``.

    Args:
        probabilities: (classes,) the model's probabilities for the image.
        class_names: one name per class.
        label: the image in words ("test image #0 (true class: 7)", "your sketch").
        true_class: the image's class when known; adds "Right." or "Wrong.".

    Raises:
        cnnviz.core.predict.PredictionError: not one probability per class name (or no classes at all).
    """
    guesses = top_guesses(probabilities, class_names, k=1)
    if not guesses:
        raise PredictionError("Expected at least one class, got none.")
    top = guesses[0]
    verdict = ""
    if true_class is not None:
        verdict = " Right." if top.index == true_class else " Wrong."
    return f"The model says **{top.name}** ({top.probability:.0%}) for {label}.{verdict}"


def cell_sentence(count: int, true_class: int, predicted_class: int, class_names: Sequence[str]) -> str:
    """Return the sentence above a confusion-matrix cell's images: how many, which cell, correct or not."""
    verdict = "correct" if true_class == predicted_class else "mistakes"
    return (
        f"**{count}** test images of **{class_names[true_class]}** predicted as "
        f"**{class_names[predicted_class]}** ({verdict}), most confident first."
    )


def cell_captions(
    evaluation: Evaluation,
    indices: Sequence[int] | np.ndarray,
    true_class: int,
    predicted_class: int,
    names: Sequence[str],
) -> list[str]:
    """Return one caption per image of a cell: ``"#12: 7 93%"``, plus the true class's probability for a mistake.

    Args:
        evaluation: the evaluation the indices point into.
        indices: (k,) positions in the evaluated split.
        names: the model's class names.
    """
    captions = []
    for index in indices:
        caption = f"#{index}: {names[predicted_class]} {evaluation.probabilities[index, predicted_class]:.0%}"
        if true_class != predicted_class:
            caption += f", {names[true_class]} {evaluation.probabilities[index, true_class]:.0%}"
        captions.append(caption)
    return captions


def cell_note(shown: int, total: int, *, correct: bool) -> str:
    """Return the note under a cell's images: what the captions say, and how many of the cell are shown."""
    note = "Above each image: its number in the test split, then the model's probability for the predicted class"
    note += "." if correct else " and for the true class."
    if total > shown:
        note += f" Showing the {shown} most confident of {total}."
    return note


def mistake_captions(
    evaluation: Evaluation, indices: Sequence[int] | np.ndarray, names: Sequence[str]
) -> list[str]:
    """Return ``"true → predicted confidence"`` for each of the given test images, e.g. ``"4 → 9 87%"``."""
    return [
        f"{names[evaluation.y_true[i]]} → {names[evaluation.y_pred[i]]} {evaluation.confidence[i]:.0%}"
        for i in indices
    ]


def pca_point_title(evaluation: Evaluation, index: int, names: Sequence[str]) -> str:
    """Return the title of one PCA point's probabilities, e.g. ``"#12: a 4, predicted 9"``."""
    return f"#{index}: a {names[evaluation.y_true[index]]}, predicted {names[evaluation.y_pred[index]]}"
