"""What the Inside page says about its numbers: sentences and image captions, built without Streamlit.

Each function turns results of :mod:`cnnviz.inside.evaluation` (or a prediction) into the
words a learner reads, so the sections only place them on the page. Class names come from
sidecars anyone can write: a sentence meant for Markdown escapes them with
:func:`cnnviz.core.text.md_escape`, a Plotly title with :func:`cnnviz.core.text.plotly_escape`; the
captions are plain text (the figure or widget showing them escapes them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnviz.core.predict import PredictionError, top_guesses
from cnnviz.core.text import md_escape, plotly_escape
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
        label: the image in words, as Markdown with any user text already escaped
            ("test image #0 (true class: 7)", "your sketch"); see :func:`image_label`.
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
    return f"The model says **{md_escape(top.name)}** ({top.probability:.0%}) for {label}.{verdict}"


def image_label(index: int, class_name: str, *, markdown: bool = False) -> str:
    """Return ``"test image #12 (true class: 7)"``; with ``markdown`` the class name is Markdown-escaped."""
    name = md_escape(class_name) if markdown else str(class_name)
    return f"test image #{index} (true class: {name})"


def cell_sentence(count: int, true_class: int, predicted_class: int, class_names: Sequence[str]) -> str:
    """Return the Markdown sentence above a confusion-matrix cell's images: how many, which cell, correct or not."""
    verdict = "correct" if true_class == predicted_class else "mistakes"
    return (
        f"**{count}** test images of **{md_escape(class_names[true_class])}** predicted as "
        f"**{md_escape(class_names[predicted_class])}** ({verdict}), most confident first."
    )


def cell_captions(
    evaluation: Evaluation,
    indices: Sequence[int] | np.ndarray,
    true_class: int,
    predicted_class: int,
    names: Sequence[str],
) -> list[str]:
    """Return one plain-text caption per image of a cell: ``"#12: 7 93%"``, plus the true class's probability for a
    mistake.

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
    evaluation: Evaluation, indices: Sequence[int] | np.ndarray, names: Sequence[str], *, line_break: bool = False
) -> list[str]:
    """Return plain ``"true → predicted confidence"`` for each of the given test images, e.g. ``"4 → 9 87%"``.

    With ``line_break`` the confidence goes on a second line (``"4 → 9\n87%"``), for captions above
    images that would otherwise run into their neighbours' (see :func:`cnnviz.inside.figures.image_gallery_figure`).
    """
    separator = "\n" if line_break else " "
    return [
        f"{names[evaluation.y_true[i]]} → {names[evaluation.y_pred[i]]}{separator}{evaluation.confidence[i]:.0%}"
        for i in indices
    ]


def pca_point_title(evaluation: Evaluation, index: int, names: Sequence[str]) -> str:
    """Return the Plotly title of one PCA point's probabilities, e.g. ``"#12: a 4, predicted 9"`` (names escaped)."""
    true_name, predicted_name = names[evaluation.y_true[index]], names[evaluation.y_pred[index]]
    return f"#{index}: a {plotly_escape(true_name)}, predicted {plotly_escape(predicted_name)}"
