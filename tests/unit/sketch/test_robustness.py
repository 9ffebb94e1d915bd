"""Robustness sweeps and the familiarity reading: transforms against hand-written oracles, the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnviz.core.embedding import build_index, neighbour_distance
from cnnviz.core.predict import predict_probabilities
from cnnviz.core.store import load_default_model
from cnnviz.sketch.preprocess import sketch_to_input
from cnnviz.sketch.robustness import (
    SWEEPS,
    FamiliarityReference,
    RobustnessError,
    Sweep,
    familiarity,
    familiarity_reference,
    familiarity_sentence,
    held_range,
    held_sentence,
    rotate,
    scale,
    shift,
    stroke_width,
    sweep,
    sweep_images,
)
from tests.support.paths import REPO_ROOT
from tools.synthetic import sketch_set

DIGITS = [str(digit) for digit in range(10)]


@pytest.fixture(scope="module")
def shipped_model():
    return load_default_model("mnist", models_dir=REPO_ROOT / "models")


@pytest.fixture(scope="module")
def drawings() -> list[tuple[np.ndarray, int]]:
    """20 synthetic sketches (two of every digit, in every canvas convention), prepared as the page prepares them."""
    return [(sketch_to_input(sample.image), sample.label) for sample in sketch_set(20, seed=5)]


def test_the_unchanged_setting_of_every_sweep_is_the_pages_own_prediction(shipped_model, drawings) -> None:
    for image, _ in drawings[:4]:
        plain = predict_probabilities(shipped_model, image)
        for key in SWEEPS:
            result = sweep(shipped_model, image, key)
            assert result.values[result.neutral_index] == SWEEPS[key].neutral
            np.testing.assert_array_equal(result.images[result.neutral_index], image)  # the very same input
            # The same input in a batch of another size: equal up to float32 round-off (oneDNN picks its
            # convolution algorithm by batch size; measured up to 1.2e-7).
            np.testing.assert_allclose(result.probabilities[result.neutral_index], plain, rtol=0, atol=1e-6)
            assert result.plain_answer == int(np.argmax(plain))
            np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-9)


def test_a_far_shift_lowers_the_shipped_models_confidence_for_most_of_20_digits(shipped_model, drawings) -> None:
    lowered = {"shift_x": 0, "shift_y": 0}
    for image, _ in drawings:
        for key in lowered:
            result = sweep(shipped_model, image, key)
            answer = result.plain_answer
            far = int(np.argmax(np.abs(result.values)))  # -8 pixels
            lowered[key] += result.probabilities[far, answer] < result.probabilities[result.neutral_index, answer]
    assert lowered["shift_x"] >= 15 and lowered["shift_y"] >= 15, lowered


def _zero_filled_shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(image)
    for row in range(28):
        for col in range(28):
            source_row, source_col = row - dy, col - dx
            if 0 <= source_row < 28 and 0 <= source_col < 28:
                out[row, col] = image[source_row, source_col]
    return out


def test_transforms_match_hand_written_oracles() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((28, 28)).astype(np.float32)
    for dx, dy in [(3, 0), (0, -5), (-2, 7)]:
        np.testing.assert_allclose(shift(image, dx=dx, dy=dy), _zero_filled_shift(image, dx, dy), atol=1e-6)
    # A quarter turn about the centre of a 28x28 image is exact: anticlockwise as drawn (row 0 at the top).
    np.testing.assert_allclose(rotate(image, 90), np.rot90(image), atol=1e-5)
    # Linear interpolation reproduces a ramp: growing by 1.25 about the centre maps o to 13.5 + (o - 13.5) / 1.25.
    ramp = np.repeat(np.arange(28, dtype=np.float32)[:, None] / 27.0, 28, axis=1)
    grown = scale(ramp, 1.25)
    expected = (13.5 + (np.arange(28) - 13.5) / 1.25) / 27.0
    np.testing.assert_allclose(grown[:, 14], expected, atol=1e-5)
    np.testing.assert_array_equal(scale(image, 1.0), image)
    with pytest.raises(RobustnessError, match="above 0"):
        scale(image, 0.0)
    # One pixel thicker: each pixel becomes the largest of itself and its four neighbours (thinner: the smallest).
    padded = np.pad(image, 1)
    centre, up, down = padded[1:-1, 1:-1], padded[:-2, 1:-1], padded[2:, 1:-1]
    neighbours = np.stack([centre, up, down, padded[1:-1, :-2], padded[1:-1, 2:]])
    np.testing.assert_allclose(stroke_width(image, 1), neighbours.max(axis=0))
    np.testing.assert_allclose(stroke_width(image, -1), neighbours.min(axis=0))
    np.testing.assert_allclose(stroke_width(image, 0.5), (image + neighbours.max(axis=0)) / 2, atol=1e-6)


def test_sweep_images_are_model_inputs_and_bad_requests_are_refused() -> None:
    image = np.zeros((28, 28), dtype=np.float32)
    image[6:22, 12:16] = 1.0
    for key, kind in SWEEPS.items():
        images = sweep_images(image, key)
        assert images.shape == (len(kind.values), 28, 28) and images.dtype == np.float32
        assert images.min() >= 0.0 and images.max() <= 1.0
    with pytest.raises(RobustnessError, match="one of the sweeps"):
        sweep_images(image, "zoom")
    with pytest.raises(RobustnessError, match=r"\(28, 28\)"):
        sweep_images(np.zeros((20, 20)), "rotation")


def _hand_made_sweep(answers: list[int]) -> Sweep:
    values = np.asarray(SWEEPS["shift_x"].values[4:13])  # -4 .. +4
    probabilities = np.full((len(values), 10), 0.05)
    probabilities[np.arange(len(values)), answers] = 0.55
    return Sweep("shift_x", values, np.zeros((len(values), 28, 28), np.float32), probabilities, neutral_index=4)


def test_the_answer_holds_over_the_unbroken_run_around_the_drawing() -> None:
    result = _hand_made_sweep([1, 7, 7, 7, 7, 7, 3, 7, 7])
    assert held_range(result) == (-3.0, 1.0)
    assert held_range(result, class_index=1) == (0.0, 0.0)  # not the answer at the drawing itself
    sentence = held_sentence(result, DIGITS)
    assert "**7** from -3 px to +1 px" in sentence
    assert "**1** at -4 px" in sentence and "**3** at +2 px" in sentence
    assert "does not fool it" in held_sentence(_hand_made_sweep([7] * 9), DIGITS)


def test_familiarity_places_a_drawing_among_the_test_images() -> None:
    rng = np.random.default_rng(2)
    index = build_index(np.abs(rng.normal(size=(200, 16))), rng.integers(0, 10, 200))
    test_features = np.abs(rng.normal(size=(400, 16)))
    reference = FamiliarityReference(index, np.sort(neighbour_distance(index, test_features, k=5)), k=5)
    query = np.abs(rng.normal(size=16))
    found = familiarity(reference, query)
    distance = neighbour_distance(index, query, k=5)[0]
    assert found.distance == pytest.approx(float(distance))
    assert found.closer_than == pytest.approx(np.mean(reference.test_distances > distance), abs=1 / 400)
    # A test image's own features sit in the middle of the reference, ties counted half.
    middle = familiarity(reference, test_features[int(np.argsort(neighbour_distance(index, test_features, k=5))[200])])
    assert middle.closer_than == pytest.approx(0.5, abs=0.01)
    assert not middle.out_of_distribution and not middle.unusual
    assert "MNIST-like" in familiarity_sentence(middle, "MNIST") and "50%" in familiarity_sentence(middle, "MNIST")
    # Features pointing away from every training image are out of distribution.
    far = familiarity(reference, -np.ones(16))
    assert far.closer_than == 0.0 and far.out_of_distribution
    warning = familiarity_sentence(far, "MNIST")
    assert "Out of distribution" in warning and "over 99%" in warning


def test_the_shipped_model_finds_test_digits_familiar_and_noise_out_of_distribution(
    shipped_model, shared_data: Path
) -> None:
    from cnnviz.core.datasets import load_dataset
    from cnnviz.core.embedding import image_features

    dataset = load_dataset("mnist", data_dir=shared_data)
    reference = familiarity_reference(
        shipped_model, dataset.x_train, dataset.y_train, dataset.x_test, max_index_images=2000, test_images=300
    )
    assert reference.index.size == 2000 and reference.test_distances.shape == (300,)
    # Test images the reference did not sample: most are typical, none would need many to be warned about.
    readings = [familiarity(reference, image_features(shipped_model, image)) for image in dataset.x_test[-40:]]
    assert sum(reading.out_of_distribution for reading in readings) <= 4
    noise = (np.random.default_rng(0).random((28, 28)) > 0.7).astype(np.float32)
    assert familiarity(reference, image_features(shipped_model, noise)).out_of_distribution
