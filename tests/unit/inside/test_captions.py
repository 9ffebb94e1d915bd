"""Tests for cnnviz.inside.captions: the sentences and captions the Inside page shows for its numbers."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.predict import PredictionError
from cnnviz.inside.captions import (
    cell_captions,
    cell_note,
    cell_sentence,
    image_label,
    mistake_captions,
    pca_point_title,
    prediction_sentence,
)
from cnnviz.inside.evaluation import evaluate_predictions

NAMES = ("zero", "one", "two")


@pytest.fixture(scope="module")
def evaluation():
    labels = np.array([0, 0, 1, 2])
    probabilities = np.array([[0.9, 0.1, 0.0], [0.3, 0.7, 0.0], [0.2, 0.8, 0.0], [0.05, 0.05, 0.9]], np.float32)
    return evaluate_predictions(labels, probabilities, NAMES)


def test_the_prediction_sentence_names_the_top_class_and_says_right_or_wrong() -> None:
    probabilities = np.array([0.1, 0.7, 0.2])
    assert prediction_sentence(probabilities, NAMES, "test image #4 (true class: one)", 1) == (
        "The model says **one** (70%) for test image #4 (true class: one). Right."
    )
    assert prediction_sentence(probabilities, NAMES, "test image #5", 2).endswith("test image #5. Wrong.")
    assert prediction_sentence(probabilities, NAMES, "your sketch", None).endswith("for your sketch.")
    with pytest.raises(PredictionError):
        prediction_sentence(np.array([0.5, 0.5]), NAMES, "your sketch", None)


def test_a_cells_sentence_and_captions_say_which_probabilities_are_shown(evaluation) -> None:
    assert cell_sentence(2, 0, 1, NAMES) == (
        "**2** test images of **zero** predicted as **one** (mistakes), most confident first."
    )
    assert "(correct)" in cell_sentence(5, 2, 2, NAMES)
    # A mistake's caption gives the predicted class's probability, then the true class's.
    assert cell_captions(evaluation, [1], 0, 1, NAMES) == ["#1: one 70%, zero 30%"]
    assert cell_captions(evaluation, [0], 0, 0, NAMES) == ["#0: zero 90%"]
    assert cell_note(16, 40, correct=False).endswith("and for the true class. Showing the 16 most confident of 40.")
    assert cell_note(3, 3, correct=True).endswith("for the predicted class.")


def test_mistakes_and_a_pca_point_are_named_by_true_and_predicted_class(evaluation) -> None:
    assert mistake_captions(evaluation, [1], NAMES) == ["zero → one 70%"]
    assert mistake_captions(evaluation, [1], NAMES, line_break=True) == ["zero → one\n70%"]  # own line
    assert pca_point_title(evaluation, 3, NAMES) == "#3: a two, predicted two"


HOSTILE = ("[x](https:evil.example)", "**b**", "<b>x</b>")


def _rendered(markdown: str) -> str:
    """CommonMark's HTML for ``markdown`` (Streamlit's Markdown follows CommonMark)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(markdown)


def test_class_names_from_a_sidecar_stay_text_in_sentences_and_titles() -> None:
    labels = np.array([0, 1, 2])
    probabilities = np.array([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]], np.float32)
    hostile = evaluate_predictions(labels, probabilities, HOSTILE)
    label = image_label(0, HOSTILE[0], markdown=True)
    # Only the sentence's own bold survives: one in the prediction, three (count and two classes) in a cell's.
    sentences = [(prediction_sentence(probabilities[0], HOSTILE, label, 0), 1), (cell_sentence(1, 0, 1, HOSTILE), 3)]
    for markdown, bold in sentences:
        html = _rendered(markdown)
        assert "<a " not in html and "<b>" not in html and html.count("<strong>") == bold, html
    assert "[x](https:evil.example)" in _rendered(label).replace("\\", "")
    assert image_label(0, HOSTILE[2]) == "test image #0 (true class: <b>x</b>)"  # plain text for a selectbox
    assert "<" not in pca_point_title(hostile, 2, HOSTILE)
    assert "&lt;b&gt;x&lt;/b&gt;" in pca_point_title(hostile, 2, HOSTILE)
