"""Cached computations for the Inside page, keyed on the model's version.

Each function takes the model as ``_model`` (not hashed: Streamlit cannot hash a Keras
model) and its ``version`` (``PickedModel.version``: unique per training, or per file
path + modification time for saved models), so a rerun never recomputes and a retrained
model never gets stale results. Only arrays are cached (``st.cache_data`` keeps copies),
never the model itself.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from cnnviz.core.predict import predict_probabilities
from cnnviz.core.text import md_escape
from cnnviz.inside.activations import InspectError, LayerActivation, compute_activations
from cnnviz.inside.backprop import BackpropStep, GradientBuild, gradient_build, optimizer_step
from cnnviz.inside.captions import image_label
from cnnviz.inside.evaluation import (
    Evaluation,
    Projection,
    evaluate_predictions,
    pca_2d,
    predict_with_features,
    sample_indices,
)
from cnnviz.inside.excite import FilterPictures, TopPatches, activation_maximisation, top_patches
from cnnviz.inside.neighbours import NeighbourIndex, training_index
from cnnviz.inside.saliency import SaliencyMap, grad_cam, gradient_saliency
from cnnviz.ui.datasets import get_dataset
from cnnviz.ui.state import remember

#: How many test images the PCA scatter shows at most (a browser draws a few thousand points smoothly).
MAX_PCA_POINTS = 2000


@st.cache_data(max_entries=64, show_spinner=False)
def cached_activations(_model: Any, version: str, image: np.ndarray) -> list[LayerActivation]:
    """Every inspectable layer's output for one (28, 28) image.

    See :func:`cnnviz.inside.activations.compute_activations`.
    """
    return compute_activations(_model, image)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_probabilities(_model: Any, version: str, image: np.ndarray) -> np.ndarray:
    """The model's class probabilities for one (28, 28) image, (num_classes,) float64.

    See :func:`cnnviz.core.predict.predict_probabilities`.
    """
    return predict_probabilities(_model, image)


@dataclass(frozen=True)
class SaliencyPair:
    """Gradient saliency and Grad-CAM for one image and class; ``grad_cam`` is None without a conv layer."""

    gradient: SaliencyMap
    grad_cam: SaliencyMap | None
    grad_cam_problem: str = ""


@st.cache_data(max_entries=64, show_spinner="Computing saliency…")
def cached_saliency(_model: Any, version: str, image: np.ndarray, class_index: int | None) -> SaliencyPair:
    """Both saliency maps for one image and class (``None``: the predicted class)."""
    gradient = gradient_saliency(_model, image, class_index)
    try:
        cam = grad_cam(_model, image, gradient.class_index)
    except InspectError as error:
        return SaliencyPair(gradient=gradient, grad_cam=None, grad_cam_problem=str(error))
    return SaliencyPair(gradient=gradient, grad_cam=cam)


@st.cache_data(max_entries=32, show_spinner="Taking one optimizer step on a copy of the model…")
def cached_backprop(
    _model: Any,
    version: str,
    image: np.ndarray,
    label: int,
    layer_name: str,
    filter_index: int,
    optimizer: str,
    learning_rate: float,
) -> tuple[BackpropStep, GradientBuild]:
    """One optimizer step seen through one filter, and how its gradient is built.

    See :func:`cnnviz.inside.backprop.optimizer_step` and :func:`cnnviz.inside.backprop.gradient_build`.
    """
    step = optimizer_step(
        _model, image, label, layer_name, filter_index, optimizer=optimizer, learning_rate=learning_rate
    )
    return step, gradient_build(_model, image, label, layer_name, filter_index)


@dataclass(frozen=True)
class PcaResult:
    """The PCA of the penultimate layer on a sample of test images; ``indices`` index the test split."""

    projection: Projection
    indices: np.ndarray
    feature_size: int


@st.cache_data(max_entries=16, show_spinner="Predicting every test image…")
def cached_test_results(
    _model: Any, version: str, dataset_name: str, max_points: int = MAX_PCA_POINTS
) -> tuple[Evaluation, PcaResult]:
    """The model's evaluation on ``dataset_name``'s test split and the PCA of its penultimate layer.

    One forward pass gives both; the PCA uses a fixed sample of up to ``max_points`` images.
    """
    dataset = get_dataset(dataset_name)
    indices = sample_indices(dataset.y_test, max_points, seed=0)
    probabilities, features = predict_with_features(_model, dataset.x_test, feature_rows=indices)
    evaluation = evaluate_predictions(dataset.y_test, probabilities, dataset.class_names)
    pca = PcaResult(projection=pca_2d(features), indices=indices, feature_size=int(features.shape[1]))
    return evaluation, pca


@st.cache_data(max_entries=8, show_spinner="Indexing what the model sees in the training images (once per model)…")
def cached_neighbour_index(_model: Any, version: str, dataset_name: str) -> NeighbourIndex:
    """The penultimate features of (a stratified sample of) ``dataset_name``'s training split.

    See :func:`cnnviz.inside.neighbours.training_index`.
    """
    dataset = get_dataset(dataset_name)
    return training_index(_model, dataset.x_train, dataset.y_train)


#: How many results of "What excites a filter" are kept (one per model version, dataset and layer).
MAX_EXCITEMENT_RESULTS = 8
#: Most test images searched for each filter's strongest patches (a seeded sample beyond that): the whole
#: test split of the studio's datasets. Searching it is the smaller part of the time (activation
#: maximisation is the larger).
MAX_PATCH_IMAGES = 10_000


@dataclass(frozen=True)
class Excitement:
    """What excites every filter of one conv layer.

    Attributes:
        pictures: the activation-maximisation pictures, one per filter.
        top: each filter's strongest test patches, or None without a usable test split.
        image_rows: (M,) int64 test-split rows that were searched (``top.images`` index into them).
        seconds: how long the computation took.
    """

    pictures: FilterPictures
    top: TopPatches | None
    image_rows: np.ndarray
    seconds: float


@st.cache_resource(show_spinner=False)
def _excitement_store() -> tuple[OrderedDict[tuple[str, str, str], Excitement], threading.Lock]:
    """Results shared by every session, newest last, and the lock that guards them."""
    return OrderedDict(), threading.Lock()


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)  # shared between sessions: nobody may change them
    return array


def excitement(_model: Any, version: str, dataset_name: str | None, layer_name: str) -> Excitement:
    """What excites each filter of ``layer_name``: computed once per model version, with a progress bar.

    Not ``st.cache_data``: a progress bar drawn by a cached function would be replayed, full, on every
    later run, and one drawn outside it cannot be updated from inside. So the results are kept in a small
    store shared by all sessions (:data:`MAX_EXCITEMENT_RESULTS`, oldest dropped), with read-only arrays.

    Args:
        dataset_name: the dataset whose test split gives the patches, or None for the pictures only.

    Raises:
        InspectError, ModelInputError: see :func:`cnnviz.inside.excite.top_patches` and
            :func:`cnnviz.inside.excite.activation_maximisation`.
    """
    store, lock = _excitement_store()
    key = (version, dataset_name or "", layer_name)
    with lock:
        if key in store:
            store.move_to_end(key)
            return store[key]
    started = time.perf_counter()
    bar = st.progress(0.0, text=f"{layer_name}: starting…")
    try:
        top, rows = None, np.zeros(0, dtype=np.int64)
        patch_share = 0.0
        if dataset_name is not None:
            dataset = get_dataset(dataset_name)
            rows = sample_indices(dataset.y_test, MAX_PATCH_IMAGES, seed=0)
            patch_share = 0.3
            top = top_patches(
                _model,
                layer_name,
                dataset.x_test[rows],
                on_progress=lambda share, text: bar.progress(patch_share * share, text=text),
            )
        pictures = activation_maximisation(
            _model,
            layer_name,
            on_progress=lambda share, text: bar.progress(patch_share + (1 - patch_share) * share, text=text),
        )
    finally:
        bar.empty()
    for array in (pictures.images, pictures.start_activation, pictures.end_activation, rows):
        _read_only(array)
    if top is not None:
        for array in (top.images, top.rows, top.cols, top.values):
            _read_only(array)
    result = Excitement(pictures=pictures, top=top, image_rows=rows, seconds=time.perf_counter() - started)
    with lock:
        store[key] = result
        while len(store) > MAX_EXCITEMENT_RESULTS:
            store.popitem(last=False)
    return result


@dataclass(frozen=True)
class ChosenImage:
    """The image the Inside page explains.

    Attributes:
        image: (28, 28) uint8 (a test image) or float32 in [0, 1] (the sketch).
        label: what it is, in plain words ("test image #12 (true class: 7)", "your sketch"); it can hold a
            class name from a sidecar, so escape it where it is shown.
        true_class: the class index if known (test images), else None.
        label_md: the same label as Markdown with its user text escaped (default: all of ``label`` escaped).
        test_index: its position in the test split, for a test image; else None.
    """

    image: np.ndarray
    label: str
    true_class: int | None
    label_md: str = ""
    test_index: int | None = None

    def __post_init__(self) -> None:
        if not self.label_md:
            object.__setattr__(self, "label_md", md_escape(self.label))


SOURCE_TEST = "A test image"
#: The Sketch page keeps its latest input, drawn or uploaded; without word of which, Inside names both.
SOURCE_SKETCH = "Your latest drawing or photo"
#: How the latest input is called in sentences, by where it came from (``None``: not known).
SKETCH_LABELS = {"sketch": "your sketch", "photo": "your photo", None: "your latest drawing or photo"}


def _random_index(key: str, size: int) -> None:
    st.session_state[key] = int(np.random.default_rng().integers(0, size))


def image_chooser(
    x_test: np.ndarray | None,
    y_test: np.ndarray | None,
    class_names: tuple[str, ...],
    sketch: np.ndarray | None,
    *,
    key: str = "inside_image",
    sketch_source: str | None = None,
) -> ChosenImage | None:
    """Let the user pick a test image (by number, or at random) or the latest image from the Sketch page.

    Args:
        x_test: (N, 28, 28) uint8 test images, or None when the dataset could not be loaded.
        y_test: (N,) labels matching ``x_test``.
        sketch: the Sketch page's latest input, drawn or uploaded, preprocessed: (28, 28) float32 in [0, 1], or None.
        key: prefix of this widget's session-state keys.
        sketch_source: ``"sketch"`` or ``"photo"`` when it is known where ``sketch`` came from (it is named so),
            else None ("your latest drawing or photo").

    Returns:
        The chosen image, or None when neither a dataset nor a sketch is available.
    """
    sources = ([SOURCE_TEST] if x_test is not None and len(x_test) else []) + (
        [SOURCE_SKETCH] if sketch is not None else []
    )
    if not sources:
        st.info("No image to look at: the dataset could not be loaded and there is no sketch yet.")
        return None
    # Widget state is dropped when a section stops drawing this widget; remember() brings the choice back.
    remember(f"{key}_source", sources[0], valid=sources)
    source = st.radio(
        "Image",
        sources,
        key=f"{key}_source",
        horizontal=True,
        help="Follow one image through the network: a picture from the test split (which the model never "
        "trained on) or the digit you last drew or uploaded on the Sketch page.",
    )
    if sketch is None:
        st.caption("Draw a digit (or upload a photo of one) on the **Sketch** page to look at your own image here.")
    if source == SOURCE_SKETCH and sketch is not None:
        return ChosenImage(image=sketch, label=SKETCH_LABELS.get(sketch_source, SKETCH_LABELS[None]), true_class=None)
    if x_test is None or y_test is None:  # unreachable: `sources` offers test images only when present
        return None
    size = len(x_test)
    index_key = f"{key}_index"
    remember(index_key, 0)
    if not 0 <= int(st.session_state[index_key]) < size:  # another dataset with fewer test images
        st.session_state[index_key] = 0
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    index = left.number_input(
        f"Test image number (0 to {size - 1})",
        min_value=0,
        max_value=size - 1,
        step=1,
        key=index_key,
        help="Which picture of the test split to send through the network.",
    )
    right.button(
        "Random image",
        key=f"{key}_random",
        on_click=_random_index,
        args=(index_key, size),
        help="Pick another test image at random.",
    )
    true_class = int(y_test[int(index)])
    return ChosenImage(
        image=np.asarray(x_test[int(index)]),
        label=image_label(int(index), class_names[true_class]),
        true_class=true_class,
        label_md=image_label(int(index), class_names[true_class], markdown=True),
        test_index=int(index),
    )
