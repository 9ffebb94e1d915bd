"""The Inside page's sections: feature maps, filters, saliency, evaluation, a backprop step on a filter,
nearest training examples and what excites a filter, each a function of its inputs.

Every section takes the picked model (and the test split, or ``None`` when it cannot be used)
as arguments, so it can be run alone with ``AppTest.from_function``. The rules they follow live
in the Streamlit-free modules (:mod:`cnnviz.inside.evaluation`, :mod:`cnnviz.inside.saliency`,
:mod:`cnnviz.inside.captions`, :mod:`cnnviz.inside.backprop`, :mod:`cnnviz.inside.neighbours`,
:mod:`cnnviz.inside.excite`); the figures in :mod:`cnnviz.inside.figures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

import numpy as np
import streamlit as st

from cnnviz.core.datasets import Dataset, DatasetError
from cnnviz.core.figures import image_figure, image_grid_figure, last_selected_ints, probability_figure
from cnnviz.core.images import ModelInputError, to_unit
from cnnviz.core.layers import LayerReadError, conv_layer_names, conv_weights
from cnnviz.core.predict import PredictionError, top_guesses
from cnnviz.core.text import md_escape, plotly_escape
from cnnviz.inside.activations import InspectError, filter_images
from cnnviz.inside.backprop import OPTIMIZERS
from cnnviz.inside.captions import (
    CELL_IMAGES,
    cell_captions,
    cell_note,
    cell_sentence,
    image_label,
    mistake_captions,
    pca_point_title,
    prediction_sentence,
)
from cnnviz.inside.evaluation import (
    Evaluation,
    cell_indices,
    cell_or_most_confused,
    class_count_problem,
    most_confident_mistakes,
)
from cnnviz.inside.figures import (
    backprop_step_figure,
    confusion_matrix_figure,
    dense_activation_figure,
    feature_maps_figure,
    filter_grid_figure,
    gradient_build_figure,
    image_gallery_figure,
    pca_figure,
    receptive_field_figure,
    saliency_figure,
    snapshot_range,
)
from cnnviz.inside.neighbours import NEIGHBOURS, image_features, nearest
from cnnviz.inside.saliency import contrast_class
from cnnviz.inside.widgets import (
    SOURCE_SKETCH,
    SOURCE_TEST,
    ChosenImage,
    PcaResult,
    cached_activations,
    cached_backprop,
    cached_neighbour_index,
    cached_probabilities,
    cached_saliency,
    cached_test_results,
    excitement,
    image_chooser,
)
from cnnviz.ui.charts import cached_figure
from cnnviz.ui.datasets import get_dataset
from cnnviz.ui.layout import explain
from cnnviz.ui.links import back_button, link_button, take_link
from cnnviz.ui.models import PickedModel
from cnnviz.ui.state import get_latest_sketch, remember

SECTIONS = (
    "Feature maps",
    "Filters",
    "Saliency",
    "Evaluation",
    "Backprop on a filter",
    "Nearest examples",
    "What excites a filter",
)
#: What a section can meet with an odd model or image: said in a message, never shown as a traceback.
COMPUTE_ERRORS = (InspectError, ModelInputError, LayerReadError, PredictionError, DatasetError)
#: How many of the most confident mistakes the evaluation shows.
MISTAKES_SHOWN = 12
#: Columns of the mistakes gallery: four leave each two-line caption its own width.
MISTAKE_COLUMNS = 4
#: This page and the Kernels page, as cnnviz.ui.links names them.
INSIDE_PAGE = "pages/inside.py"
KERNELS_PAGE = "pages/kernels.py"
#: Where an image brought by a link is kept: ``{"image": (28, 28) float32 in [0, 1], "source": "sketch"|"photo"|None}``.
LINKED_IMAGE_KEY = "inside_linked_image"
#: The section a within-page link came from (e.g. "Evaluation"), while the way back is offered.
BACK_SECTION_KEY = "inside_back_section"
#: The model picker's option for a saved or shipped model file. cnnviz.ui.models builds it the same way
#: (``_file_option``, private); kept here until ui.models offers it publicly.
FILE_OPTION_PREFIX = "file:"
#: The sections that look at one chosen image; a linked image opens the first unless one of them is showing.
IMAGE_SECTIONS = ("Feature maps", "Saliency", "Backprop on a filter", "Nearest examples")
#: How the per-class table writes a share given in percent points: always one decimal ("99.5%", "99.0%").
PERCENT_FORMAT = "%.1f%%"


def usable_test_split(picked: PickedModel) -> Dataset | None:
    """Return the test split of the dataset the model names, or ``None`` (with a warning) when it cannot be used.

    It cannot be used when it does not load, or when its class count differs from the model's. The dataset
    name comes from the model's sidecar (anyone can write one), so it and any error echoing it are escaped.
    """
    try:
        dataset = get_dataset(picked.dataset)
    except DatasetError as error:
        st.warning(
            f"The {md_escape(picked.dataset)} test split could not be loaded, so only your sketch can be used."
            f"\n\n{md_escape(error)}"
        )
        return None
    problem = class_count_problem(len(picked.class_names), dataset.num_classes, md_escape(picked.dataset))
    if problem is not None:
        st.warning(problem)
        return None
    return dataset


def follow_link() -> None:
    """Open what a link to Inside brings (see :mod:`cnnviz.ui.links`) and offer the way back. Call it first.

    Payloads read (either or both keys):

    * ``{"model": "default_mnist.keras"}``: a saved or shipped model's file name (a saved run): the model
      picker starts on it (a name it does not list leaves the picker as it was, and it says so);
    * ``{"image": (28, 28) array, "source": "sketch" | "photo"}``: pixels in [0, 1] (or uint8): the image
      chooser starts on it, named by its source, in the feature maps unless a section with an image is open.

    A payload that cannot be used gets a warning, never a traceback.
    """
    link = take_link(INSIDE_PAGE)
    if link is not None:
        _open_link(link.payload)
    back_button(INSIDE_PAGE)


def _open_link(payload: Mapping[str, Any]) -> None:
    model = payload.get("model")
    if isinstance(model, str) and model.strip():
        stem = PurePath(model.strip()).name.removesuffix(".keras")  # a name, never a path
        st.session_state["inside_model"] = FILE_OPTION_PREFIX + stem
    if "image" not in payload:
        return
    try:
        image = to_unit(np.asarray(payload["image"]))
    except (ModelInputError, TypeError, ValueError) as error:
        st.warning(f"The image the link brought could not be used: {md_escape(error)}")
        return
    if image.shape != (28, 28):
        st.warning(f"The image the link brought is {image.shape}, not a 28x28 picture, so it is not shown.")
        return
    source = payload.get("source") if payload.get("source") in ("sketch", "photo") else None
    st.session_state[LINKED_IMAGE_KEY] = {"image": image, "source": source}
    st.session_state["inside_image_source"] = SOURCE_SKETCH
    if st.session_state.get("inside_section") not in IMAGE_SECTIONS:
        st.session_state["inside_section"] = IMAGE_SECTIONS[0]


def _own_image() -> tuple[np.ndarray | None, str | None]:
    """The learner's own image and where it came from: a linked one while it is the latest, else the latest sketch."""
    latest = get_latest_sketch()
    linked = st.session_state.get(LINKED_IMAGE_KEY)
    if isinstance(linked, dict) and isinstance(linked.get("image"), np.ndarray):
        if latest is None or np.array_equal(latest, linked["image"]):
            return linked["image"], linked.get("source")
    return latest, None


def choose_section() -> str:
    """The "Look at" control; the chosen section survives a visit to another page."""
    remember("inside_section", SECTIONS[0], valid=SECTIONS)
    section = st.segmented_control(
        "Look at",
        SECTIONS,
        key="inside_section",
        help="Feature maps: what each layer computes for one image. Filters: the weights it learned. "
        "Saliency: which pixels mattered for a decision. Evaluation: how it does on every test image. "
        "Backprop on a filter: how one training step changes one filter's weights. "
        "Nearest examples: the training images the model thinks an image resembles. "
        "What excites a filter: the test patches and the picture each filter responds to most.",
    )
    if section != "Saliency":  # the way back from "Open its saliency" is offered only there
        st.session_state.pop(BACK_SECTION_KEY, None)
    return section or SECTIONS[0]


def show_section(section: str, picked: PickedModel, dataset: Dataset | None) -> None:
    """Draw one of :data:`SECTIONS` for the picked model; a model or image it cannot handle gets a message.

    The section is a fragment (``st.fragment``): a widget inside it reruns only the section, not the model
    picker and the rest of the page above it (issue 11, item 3). A callback that switches section calls
    ``st.rerun()``, which turns its rerun into a full one.
    """
    _section_fragment(section, picked, dataset)


@st.fragment
def _section_fragment(section: str, picked: PickedModel, dataset: Dataset | None) -> None:
    sections = {
        "Feature maps": lambda: feature_maps_section(picked, dataset),
        "Filters": lambda: filters_section(picked.model, picked.trained.filter_snapshots if picked.trained else []),
        "Saliency": lambda: saliency_section(picked, dataset),
        "Evaluation": lambda: evaluation_section(picked, dataset),
        "Backprop on a filter": lambda: backprop_section(picked, dataset),
        "Nearest examples": lambda: neighbours_section(picked, dataset),
        "What excites a filter": lambda: excite_section(picked, dataset),
    }
    try:
        sections.get(section, sections[SECTIONS[0]])()
    except COMPUTE_ERRORS as error:
        st.error(f"This could not be computed for the chosen model and image.\n\n{md_escape(error)}")


def choose_image(dataset: Dataset | None, class_names: Sequence[str]) -> ChosenImage | None:
    """The image chooser (a test image or the learner's own image) beside a picture of the chosen image."""
    own, source = _own_image()
    controls, picture = st.columns([3, 1])
    with controls:
        chosen = image_chooser(
            dataset.x_test if dataset else None,
            dataset.y_test if dataset else None,
            tuple(class_names),
            own,
            key="inside_image",
            sketch_source=source,
        )
    if chosen is not None:
        picture.plotly_chart(
            cached_figure(image_figure, chosen.image, height=200, showscale=False), key="inside_input_image"
        )
    return chosen


def feature_maps_section(picked: PickedModel, dataset: Dataset | None) -> None:
    """Every layer's output for one image: feature-map grids, dense bars and the softmax output."""
    class_names = picked.class_names
    chosen = choose_image(dataset, class_names)
    if chosen is None:
        return
    conv_names = conv_layer_names(picked.model)
    first_conv = conv_names[0] if conv_names else None
    max_maps = st.slider(
        "Feature maps per layer",
        min_value=4,
        max_value=64,
        value=16,
        step=4,
        key="inside_max_maps",
        help="A conv layer with 32 filters makes 32 feature maps: one picture per filter of where it "
        "found its pattern. Show fewer to keep the page quick.",
    )
    activations = cached_activations(picked.model, picked.version, chosen.image)
    st.markdown(prediction_sentence(activations[-1].values, class_names, chosen.label_md, chosen.true_class))
    explain(
        "What am I looking at?",
        "Each small square is a **feature map**: the output of one filter, slid over the previous layer. "
        "Bright means the filter found its pattern there (after ReLU, negative responses become 0, so "
        "dark means 'not here'). The first conv layer's maps look like the digit with some edges "
        "highlighted; **pooling** halves the size and keeps the strongest response in each 2x2 patch; "
        "deeper maps are smaller and respond to larger, more abstract parts. All maps of one layer share "
        "one colour scale, so a dark map really responded weakly. Hover to read the numbers. The "
        "**dense** layers are drawn as bars (one per unit), and the last bars are the **softmax** "
        "output: the model's probability for each class.",
    )
    for activation in activations:
        if activation.is_spatial:
            figure = cached_figure(feature_maps_figure, activation, max_maps=max_maps)
        elif activation.kind == "output":
            figure = cached_figure(
                probability_figure,
                activation.values,
                class_names,
                title=f"{plotly_escape(activation.name)} (softmax output) · {len(class_names)} probabilities",
                true_class=chosen.true_class,
            )
        else:
            figure = cached_figure(dense_activation_figure, activation)
        st.plotly_chart(figure, key=f"inside_fm_{activation.name}")
        if activation.kind == "conv" and activation.name == first_conv:
            _kernel_link(picked, chosen, activation.name)


#: Kernel sizes the Kernels page's playground offers.
PLAYGROUND_KERNELS = (3, 5)


def _input_channel_slider(layer: str, channels: int, *, key: str) -> int:
    """Which input channel's slice of a deeper layer's filters to show (0 without asking for one channel)."""
    if channels <= 1:
        return 0
    return st.slider(
        "Input channel",
        min_value=0,
        max_value=channels - 1,
        value=0,
        key=key,
        help=f"A filter of {md_escape(layer)} has one slice per feature map of the layer before it ({channels} of "
        "them); pick which slice to show.",
    )


def _kernel_link(picked: PickedModel, chosen: ChosenImage, layer: str) -> None:
    """Open one first-layer filter on the Kernels page, applied to the same image.

    The payload (read by the Kernels page): ``kernel`` (k, k) list of floats (k = 3 or 5), ``bias`` float,
    ``image`` (28, 28) float32 in [0, 1], ``test_index`` (int or None) and ``dataset`` (the model's dataset
    name), ``layer``/``filter`` (where the kernel came from), ``stride`` int, ``padding`` "valid"/"same",
    ``activation`` (the layer's, e.g. "relu").
    """
    weights = conv_weights(picked.model, layer)
    kh, kw, channels, filters = weights.kernel.shape
    if channels != 1 or kh != kw or kh not in PLAYGROUND_KERNELS:
        st.caption(
            f"The Kernels page plays with one 3x3 or 5x5 kernel on a grey image; {md_escape(layer)}'s "
            f"filters are {kh}x{kw} over {channels} channel(s), so they cannot be opened there."
        )
        return
    remember("inside_kernel_link_filter", 0, valid=range(filters))
    if st.session_state["inside_kernel_link_filter"] not in range(filters):  # another model, fewer filters
        st.session_state["inside_kernel_link_filter"] = 0
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    index = int(
        left.number_input(
            f"Feature map of {md_escape(layer)} (0 to {filters - 1})",
            min_value=0,
            max_value=filters - 1,
            step=1,
            key="inside_kernel_link_filter",
            help="Each feature map above is one filter slid over the image. Open that filter's 3x3 or 5x5 "
            "kernel on the Kernels page to change its weights by hand and see the map change.",
        )
    )
    config = picked.model.get_layer(layer).get_config()
    strides = config.get("strides", 1)
    payload = {
        "kernel": weights.kernel[:, :, 0, index].astype(float).tolist(),
        "bias": float(weights.bias[index]),
        "image": to_unit(chosen.image),
        "test_index": chosen.test_index,
        "dataset": picked.dataset,
        "layer": layer,
        "filter": index,
        "stride": int(strides[0] if isinstance(strides, (list, tuple)) else strides),
        "padding": str(config.get("padding", "valid")),
        "activation": str(config.get("activation", "linear")),
    }
    with right:
        link_button(
            "Open this kernel on Kernels",
            KERNELS_PAGE,
            payload,
            origin=INSIDE_PAGE,
            key="inside_kernel_link",
            help=f"Shows filter {index}'s learned kernel in the Kernel playground, applied to the same image, "
            "where you can change its weights. 'Back to Inside' brings you back here.",
        )


def filters_section(model: object, snapshots: Sequence[np.ndarray]) -> None:
    """The learned kernels of any conv layer, and the first layer's kernels replayed epoch by epoch.

    Args:
        model: the Keras model.
        snapshots: conv_1's kernel (kh, kw, 1, filters) after each epoch of this session's training, or empty.
    """
    names = conv_layer_names(model)
    if not names:
        st.info("This model has no convolution layer, so it has no filters to show.")
        return
    layer = st.selectbox(
        "Conv layer",
        names,
        key="inside_filter_layer",
        help="Each conv layer holds a stack of small filters (kernels). The first layer's filters look at "
        "the pixels; deeper filters look at the previous layer's feature maps.",
    )
    kernel = conv_weights(model, layer).kernel
    kh, kw, channels, filters = kernel.shape
    channel = _input_channel_slider(layer, channels, key="inside_filter_channel")
    title = f"{plotly_escape(layer)}: {filters} filters of {kh}×{kw}"
    title += f", input channel {channel}" if channels > 1 else ""
    st.plotly_chart(
        cached_figure(filter_grid_figure, filter_images(kernel, channel), title=title), key="inside_filters"
    )
    explain(
        "What am I looking at?",
        "Each square is one filter's weights. **Red** weights add the pixel under them, **blue** ones "
        "subtract it, white ones ignore it. A filter with red on one side and blue on the other is an "
        "**edge detector**: it responds where brightness changes in that direction. Hover for the exact "
        "weights. Deeper layers' filters combine feature maps, so one picture shows only the slice for one "
        "input channel.",
    )
    st.subheader("Watch the filters learn")
    if not snapshots:
        st.info(
            "Snapshots of the first layer's filters are kept after every epoch while a model trains on the "
            "**Train** page. Train a model in this session (and pick it above) to replay them here."
        )
        return
    epoch = len(snapshots)
    if len(snapshots) > 1:
        epoch = st.slider(
            "After epoch",
            min_value=1,
            max_value=len(snapshots),
            value=len(snapshots),
            key="inside_snapshot_epoch",
            help="Slide back to epoch 1 and forward again: the filters start as random noise and turn into "
            "edge and blob detectors as training goes on.",
        )
    st.plotly_chart(
        cached_figure(
            filter_grid_figure,
            filter_images(snapshots[epoch - 1], 0),
            title=f"conv_1 after epoch {epoch} of {len(snapshots)}",
            value_range=snapshot_range(snapshots),
        ),
        key="inside_snapshot",
    )
    st.caption("Every epoch is drawn on the same colour scale, so a filter that grows stronger gets darker colours.")


def saliency_section(picked: PickedModel, dataset: Dataset | None) -> None:
    """Gradient saliency and Grad-CAM of one image, for the predicted class and one chosen class."""
    class_names = picked.class_names
    back = st.session_state.get(BACK_SECTION_KEY)
    if back in SECTIONS:
        st.button(
            f"Back to the {back.lower()}",
            key="inside_back_to_section",
            icon=":material/arrow_back:",
            on_click=_go_to_section,
            args=(back,),
            help="Return to where you opened this image, as you left it.",
        )
    chosen = choose_image(dataset, class_names)
    if chosen is None:
        return
    probabilities = cached_probabilities(picked.model, picked.version, chosen.image)
    predicted = top_guesses(probabilities, class_names, k=1)[0].index
    other = st.selectbox(
        "Also explain class",
        range(len(class_names)),
        index=contrast_class(predicted, chosen.true_class, len(class_names)),
        format_func=lambda index: f"{class_names[index]} ({probabilities[index]:.1%})",
        key="inside_saliency_class",
        help="Ask why the model might (or might not) see another class: which pixels would raise that "
        "class's score? Try the true class when the model is wrong.",
    )
    explain(
        "What am I looking at?",
        "**Gradient saliency** asks, for every pixel: if this pixel were a bit brighter, how much would "
        "the class's score change? Bright pixels matter most. It is sharp but noisy. **Grad-CAM** looks "
        "at the last conv layer instead: it weights each feature map by how much it raises the class's "
        "score and keeps the positive total, so it is coarser (the conv layer's resolution, stretched to "
        "28x28) but shows *regions* the model used. Both explain the class's score before softmax.",
    )
    for class_index, heading in ((predicted, "Predicted class"), (int(other), "Chosen class")):
        pair = cached_saliency(picked.model, picked.version, chosen.image, class_index)
        maps = {"Gradient saliency": pair.gradient.heatmap}
        if pair.grad_cam is not None:
            maps["Grad-CAM"] = pair.grad_cam.heatmap
        name, label = plotly_escape(class_names[class_index]), plotly_escape(chosen.label)
        title = f"{heading}: {name} ({pair.gradient.probability:.1%}) for {label}"
        st.plotly_chart(
            cached_figure(saliency_figure, chosen.image, maps, title=title), key=f"inside_saliency_{heading}"
        )
        if pair.grad_cam is None:
            st.caption(f"No Grad-CAM: {md_escape(pair.grad_cam_problem)}")


def _go_to_section(section: str) -> None:
    st.session_state["inside_section"] = section
    st.session_state.pop(BACK_SECTION_KEY, None)
    st.rerun()  # from a callback in a section (a fragment): rerun the whole page, the section control too


def _open_saliency(index: int) -> None:
    """Switch to the saliency section on test image ``index``; it offers the way back to the evaluation."""
    st.session_state["inside_section"] = "Saliency"
    st.session_state["inside_image_source"] = SOURCE_TEST
    st.session_state["inside_image_index"] = int(index)
    st.session_state[BACK_SECTION_KEY] = "Evaluation"
    st.rerun()  # from a callback in a section (a fragment): rerun the whole page, the section control too


def _saliency_link(indices: np.ndarray, captions: Sequence[str], key: str) -> None:
    """Pick one of the test images shown above and open it in the Saliency section."""
    if len(indices) == 0:
        return
    if st.session_state.get(f"{key}_pick") not in range(len(indices)):  # another cell with fewer images
        st.session_state[f"{key}_pick"] = 0
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    position = left.selectbox(
        "Which pixels made it decide?",
        range(len(indices)),
        format_func=lambda row: f"test image #{int(indices[row])}: {captions[row]}".replace("\n", " "),
        key=f"{key}_pick",
        help="Saliency colours the pixels that mattered most for the model's answer. Pick one of the images "
        "above and open it there.",
    )
    right.button(
        "Open its saliency",
        key=f"{key}_open",
        icon=":material/visibility:",
        on_click=_open_saliency,
        args=(int(indices[int(position)]),),
        help="Switches to the Saliency section with this test image chosen. 'Back to the evaluation' "
        "returns here as you left it.",
    )


def _on_cell_click() -> None:
    cell = last_selected_ints(st.session_state.get("inside_confusion"), 2)
    if cell is not None:
        st.session_state["inside_cell_true"], st.session_state["inside_cell_predicted"] = cell


def _on_pca_select() -> None:
    point = last_selected_ints(st.session_state.get("inside_pca"), 1)
    if point is not None:
        st.session_state["inside_pca_index"] = point[0]


def evaluation_section(picked: PickedModel, dataset: Dataset | None) -> None:
    """Accuracy, the per-class table, a clickable confusion matrix, the worst mistakes and a PCA of the last layer."""
    if dataset is None:
        st.info("The evaluation needs the test split, which could not be loaded.")
        return
    class_names = picked.class_names
    evaluation, pca = cached_test_results(picked.model, picked.version, picked.dataset)
    first, second, third = st.columns(3)
    first.metric("Test accuracy", f"{evaluation.accuracy:.2%}", help="The share of test images classified correctly.")
    second.metric("Test images", f"{len(evaluation.y_true):,}", help="Images the model never saw while training.")
    third.metric("Mistakes", f"{evaluation.mistakes:,}", help="Test images whose most probable class is wrong.")
    st.caption(f"**Data source:** {md_escape(dataset.source)}")
    _per_class_table(evaluation, class_names)
    _confusion_matrix(evaluation, class_names, dataset)
    _most_confident_mistakes(evaluation, class_names, dataset)
    _pca(evaluation, pca, class_names, dataset)


def _per_class_table(evaluation: Evaluation, class_names: Sequence[str]) -> None:
    st.subheader("Per class")
    metrics = evaluation.per_class
    # Percent points with one fixed decimal: Streamlit's "percent" format drops trailing zeros, so one
    # column read "99.5%" beside "99.49%". Numbers (not strings) keep the columns sortable.
    st.dataframe(
        {
            "class": list(class_names),
            "precision": np.asarray(metrics.precision, dtype=np.float64) * 100,
            "recall": np.asarray(metrics.recall, dtype=np.float64) * 100,
            "F1": np.asarray(metrics.f1, dtype=np.float64) * 100,
            "test images": metrics.support,
        },
        column_config={
            name: st.column_config.NumberColumn(name, format=PERCENT_FORMAT) for name in ("precision", "recall", "F1")
        },
        hide_index=True,
        key="inside_metrics_table",
    )
    explain(
        "What do precision, recall and F1 mean?",
        "**Precision** of a class: of the images the model *called* that class, the share that really are. "
        "**Recall**: of the images that really *are* that class, the share the model found. "
        "**F1** is their harmonic mean: high only when both are high.",
    )


@st.fragment
def _confusion_matrix(evaluation: Evaluation, class_names: Sequence[str], dataset: Dataset) -> None:
    """The clickable confusion matrix and the chosen cell's images: a fragment inside the section's, so that a
    click on a cell reruns only this (issue 11), not the PCA and the mistakes below."""
    st.subheader("Confusion matrix")
    keys = ("inside_cell_true", "inside_cell_predicted")
    for key in keys:  # the cell survives a visit to the saliency (or any other) section
        remember(key, None)
    cell = cell_or_most_confused((st.session_state.get(keys[0]), st.session_state.get(keys[1])), evaluation.confusion)
    for key, value in zip(keys, cell, strict=True):
        if st.session_state.get(key) != value:
            st.session_state[key] = value
    matrix_column, cell_column = st.columns([3, 2])
    with matrix_column:
        st.plotly_chart(
            cached_figure(confusion_matrix_figure, evaluation.confusion, class_names, selected=cell),
            key="inside_confusion",
            on_select=_on_cell_click,
            selection_mode="points",
        )
        st.caption(
            "Rows are the true classes, columns what the model predicted; the diagonal holds the correct "
            "answers and the colour is each cell's share of its row. **Click a cell** (or use the two boxes "
            "beside it) to see its images. It starts on the most common mistake."
        )
    with cell_column:
        left, right = st.columns(2)
        true_class = left.selectbox(
            "True class",
            range(len(class_names)),
            format_func=lambda index: class_names[index],
            key=keys[0],
            help="The row of the confusion matrix: what the images really are.",
        )
        predicted_class = right.selectbox(
            "Predicted class",
            range(len(class_names)),
            format_func=lambda index: class_names[index],
            key=keys[1],
            help="The column: what the model said they are.",
        )
        true_class, predicted_class = int(true_class), int(predicted_class)
        indices = cell_indices(evaluation, true_class, predicted_class)
        st.markdown(cell_sentence(len(indices), true_class, predicted_class, class_names))
        if len(indices):
            shown = indices[:CELL_IMAGES]
            captions = cell_captions(evaluation, shown, true_class, predicted_class, class_names)
            st.plotly_chart(
                cached_figure(image_gallery_figure, dataset.x_test[shown], captions, cols=4), key="inside_cell_images"
            )
            st.caption(cell_note(len(shown), len(indices), correct=true_class == predicted_class))
            _saliency_link(shown, captions, "inside_cell_saliency")


def _most_confident_mistakes(evaluation: Evaluation, class_names: Sequence[str], dataset: Dataset) -> None:
    st.subheader("Most confident mistakes")
    worst = most_confident_mistakes(evaluation, MISTAKES_SHOWN)
    if len(worst) == 0:
        st.success("The model got every test image right.")
        return
    captions = mistake_captions(evaluation, worst, class_names, line_break=True)
    st.plotly_chart(
        cached_figure(image_gallery_figure, dataset.x_test[worst], captions, cols=MISTAKE_COLUMNS, cell_height=150),
        key="inside_mistakes",
    )
    _saliency_link(worst, captions, "inside_mistake_saliency")
    st.caption(
        "True class → predicted class, with the model's confidence. Some of these are honest mistakes "
        "by the model; some are badly written or mislabelled images that would fool a person too."
    )


def _pca(evaluation: Evaluation, pca: PcaResult, class_names: Sequence[str], dataset: Dataset) -> None:
    st.subheader("What the last layer sees (PCA)")
    subset = pca.indices
    st.plotly_chart(
        cached_figure(
            pca_figure,
            pca.projection.points,
            evaluation.y_true[subset],
            evaluation.y_pred[subset],
            class_names,
            subset,
            explained=pca.projection.explained_variance_ratio,
        ),
        key="inside_pca",
        on_select=_on_pca_select,
        selection_mode="points",
    )
    explain(
        "What am I looking at?",
        f"Every dot is a test image ({len(subset):,} of them), placed by the {pca.feature_size} numbers the "
        "last layer receives, squeezed to 2-D with **principal component analysis** (the two directions "
        "along which those numbers vary most). Colour is the true class; an **x** marks a mistake. If the "
        "network has learned well, each class forms its own cluster; mistakes sit between clusters. "
        "**Click a dot** to see its image.",
    )
    index = st.session_state.get("inside_pca_index")
    if index is None or not 0 <= int(index) < len(evaluation.y_true):
        return
    index = int(index)
    image_column, bars_column = st.columns([1, 3])
    image_column.plotly_chart(
        cached_figure(image_gallery_figure, dataset.x_test[[index]], [f"test image #{index}"], cols=1, cell_height=220),
        key="inside_pca_image",
    )
    bars_column.plotly_chart(
        cached_figure(
            probability_figure,
            evaluation.probabilities[index],
            class_names,
            title=pca_point_title(evaluation, index, class_names),
            true_class=int(evaluation.y_true[index]),
        ),
        key="inside_pca_probs",
    )


#: Learning rates the backprop section offers, small to large.
LEARNING_RATES = (0.0001, 0.001, 0.01, 0.1, 1.0)
#: Below this loss (probability of the right answer above 99%) the section says there is little to learn.
SURE_LOSS = 0.01


def _conv_filter_choice(model: object, key: str, help_layer: str) -> tuple[str, int, int] | None:
    """A conv layer and one of its filters: ``(layer, filter, in_channels)``; None (with a note) without conv layers."""
    names = conv_layer_names(model)
    if not names:
        st.info(
            "This model has no convolution layer, so it has no filters to look at here. "
            "Pick a CNN, or build one on the **Train** page."
        )
        return None
    left, right = st.columns(2)
    layer = left.selectbox("Conv layer", names, key=f"{key}_layer", help=help_layer)
    kernel = conv_weights(model, layer).kernel
    if not 0 <= int(st.session_state.get(f"{key}_filter", 0)) < kernel.shape[3]:  # a layer with fewer filters
        st.session_state[f"{key}_filter"] = 0
    filter_index = right.number_input(
        f"Filter (0 to {kernel.shape[3] - 1})",
        min_value=0,
        max_value=kernel.shape[3] - 1,
        step=1,
        key=f"{key}_filter",
        help="One filter of the layer: a small stack of weights slid over the layer's input.",
    )
    return str(layer), int(filter_index), int(kernel.shape[2])


def _loss_change(after: float, before: float) -> str | None:
    """The change of the loss for a metric's delta, or None (no arrow) when it did not change at all."""
    return None if after == before else f"{after - before:+.3g}"


def backprop_section(picked: PickedModel, dataset: Dataset | None) -> None:
    """One training step on one image, followed through one filter: loss, dL/dW, how it is built, the step."""
    class_names = picked.class_names
    choice = _conv_filter_choice(
        picked.model,
        "inside_backprop",
        "The first layer's filters look at the pixels, so their gradient is easiest to read; deeper filters "
        "look at the previous layer's feature maps.",
    )
    if choice is None:
        return
    layer, filter_index, channels = choice
    chosen = _mistake_or_chosen(picked, dataset, "inside_backprop")
    if chosen is None:
        return
    probabilities = cached_probabilities(picked.model, picked.version, chosen.image)
    default = chosen.true_class if chosen.true_class is not None else int(np.argmax(probabilities))
    label_key = "inside_backprop_label"
    if st.session_state.get(label_key) not in range(len(class_names)) or chosen.true_class is not None:
        st.session_state[label_key] = default
    optimizer_column, rate_column, label_column = st.columns(3)
    label = label_column.selectbox(
        "Correct answer (label)",
        range(len(class_names)),
        format_func=lambda index: f"{class_names[index]} ({probabilities[index]:.1%})",
        key=label_key,
        disabled=chosen.true_class is not None,
        help="Training compares the output with the right answer. A test image brings its label; for your "
        "sketch, say what you drew (it starts on the model's guess).",
    )
    optimizer = optimizer_column.selectbox(
        "Optimizer",
        OPTIMIZERS,
        key="inside_backprop_optimizer",
        help="The rule that turns the gradient into a change of the weights. SGD steps by learning rate × "
        "gradient; Adam and RMSprop divide by a running size of the gradient, so their first step moves every "
        "weight by about the learning rate.",
    )
    learning_rate = rate_column.select_slider(
        "Learning rate",
        LEARNING_RATES,
        value=0.01,
        key="inside_backprop_rate",
        help="How far one step goes. Too small and training crawls; too large and the loss can go up instead of down.",
    )
    step, build = cached_backprop(
        picked.model, picked.version, chosen.image, int(label), layer, filter_index, optimizer, float(learning_rate)
    )
    first, second, third = st.columns(3)
    first.metric(
        "Loss before",
        f"{step.loss_before:.4g}",
        help="Cross-entropy: -log of the probability the model gives the correct answer. 0 when it is sure "
        "and right; large when it is sure and wrong.",
    )
    second.metric(
        "Loss after the step",
        f"{step.loss_after:.4g}",
        delta=_loss_change(step.loss_after, step.loss_before),
        delta_color="inverse",
        help="After one step of the optimizer on every weight of the model (on a copy: the model you picked "
        "does not change).",
    )
    third.metric(
        "If only this filter moved",
        f"{step.loss_filter_only:.4g}",
        delta=_loss_change(step.loss_filter_only, step.loss_before),
        delta_color="inverse",
        help="The same step applied to this filter alone, every other weight as before: its share of the change.",
    )
    if step.loss_before < SURE_LOSS:
        st.info(
            f"The model is already sure of the right answer (probability {np.exp(-step.loss_before):.2%}), so "
            "the loss is tiny and so is every gradient: there is almost nothing to learn from this image. "
            "Try one of its mistakes, or tell it your sketch is another class."
        )
    channel = _input_channel_slider(layer, channels, key="inside_backprop_channel")
    title = f"{plotly_escape(layer)}, filter {filter_index}" + (f", input channel {channel}" if channels > 1 else "")
    st.plotly_chart(cached_figure(backprop_step_figure, step, channel=channel, title=title), key="inside_backprop_step")
    explain(
        "What am I looking at?",
        "**Backpropagation** asks, for every weight: if it grew a little, how much would the loss grow? That "
        "number is the **gradient dL/dW**. Red means 'growing this weight raises the loss', so the optimizer "
        "moves it the other way: the **step** is mostly the opposite colour of the gradient. One step on one "
        "image changes the weights only a little; training repeats it for thousands of images.",
    )
    st.subheader("Where dL/dW comes from")
    st.plotly_chart(
        cached_figure(gradient_build_figure, build, channel=channel, title=f"{title}: dL/dW = Σ dL/dz × input patch"),
        key="inside_backprop_build",
    )
    difference = float(np.abs(build.weighted_sum - step.gradient).max())
    st.caption(
        f"Adding up all {build.output_gradient.size} weighted patches gives dL/dW again "
        f"(largest difference {difference:.1e}, rounding)."
    )
    explain(
        "Why patches?",
        "While the filter slides over its input it meets one patch per output position. Backprop sends a "
        "number **dL/dz** back to every output position: how much the loss would change if that output "
        "grew. Each weight's gradient is the sum, over all positions, of dL/dz times the input pixel that "
        "weight was multiplied by there. So the gradient of a convolution is itself a convolution: the input "
        "slid against dL/dz. Positions where ReLU was off pass no gradient back (dL/dz = 0).",
    )


def _mistake_or_chosen(picked: PickedModel, dataset: Dataset | None, key: str) -> ChosenImage | None:
    """The image chooser, or (when asked) one of the model's most confident mistakes on the test split.

    ``key`` prefixes the toggle's and the mistake picker's session-state keys (``{key}_mistakes``, ``{key}_mistake``).
    """
    if dataset is None or not st.toggle(
        "Start from one of the model's mistakes",
        key=f"{key}_mistakes",
        help="A test image the model got wrong, most confident first: its neighbours often show why.",
    ):
        return choose_image(dataset, picked.class_names)
    evaluation, _ = cached_test_results(picked.model, picked.version, picked.dataset)
    worst = most_confident_mistakes(evaluation, MISTAKES_SHOWN)
    if len(worst) == 0:
        st.success("The model got every test image right, so there is no mistake to start from.")
        return None
    captions = mistake_captions(evaluation, worst, picked.class_names)
    position = st.selectbox(
        "Mistake",
        range(len(worst)),
        format_func=lambda row: f"test image #{int(worst[row])}: {captions[row]}",
        key=f"{key}_mistake",
        help="True class → what the model said, with its confidence.",
    )
    index = int(worst[int(position)])
    true_class = int(evaluation.y_true[index])
    st.plotly_chart(
        cached_figure(image_figure, dataset.x_test[index], height=200, showscale=False), key=f"{key}_mistake_image"
    )
    return ChosenImage(
        image=np.asarray(dataset.x_test[index]),
        label=image_label(index, picked.class_names[true_class]),
        true_class=true_class,
        label_md=image_label(index, picked.class_names[true_class], markdown=True),
        test_index=index,
    )


def neighbours_section(picked: PickedModel, dataset: Dataset | None) -> None:
    """The nine training images nearest to an image in the model's penultimate layer, with labels and similarity."""
    if dataset is None:
        st.info("Nearest examples need the model's training images, which could not be loaded.")
        return
    class_names = picked.class_names
    chosen = _mistake_or_chosen(picked, dataset, "inside_neighbours")
    if chosen is None:
        return
    index = cached_neighbour_index(picked.model, picked.version, picked.dataset)
    found = nearest(index, image_features(picked.model, chosen.image), k=NEIGHBOURS)
    probabilities = cached_probabilities(picked.model, picked.version, chosen.image)
    guess = top_guesses(probabilities, class_names, k=1)[0]
    counts = np.bincount(found.labels, minlength=len(class_names))
    common = int(np.argmax(counts))
    st.markdown(
        f"The model says **{md_escape(guess.name)}** ({guess.probability:.1%}) for {chosen.label_md}. "
        f"**{counts[common]} of the {len(found.labels)}** training images it finds most similar are "
        f"**{md_escape(class_names[common])}**."
    )
    captions = [
        f"{class_names[int(label)]} · {float(similarity):.3f}"
        for label, similarity in zip(found.labels, found.similarity, strict=True)
    ]
    st.plotly_chart(
        cached_figure(image_gallery_figure, dataset.x_train[found.indices], captions, cols=NEIGHBOURS, cell_height=150),
        key="inside_neighbours",
    )
    sampled = index.size < len(dataset.y_train)
    share = f" (a sample of the {len(dataset.y_train):,}, each class in its share)" if sampled else ""
    st.caption(
        f"Label · cosine similarity (1 = the model sees the same thing). Searched {index.size:,} training "
        f"images{share}."
    )
    explain(
        "What am I looking at?",
        "Before it decides, the network turns every image into a list of numbers: the output of its "
        f"**penultimate layer** ({index.features.shape[1]} numbers here). Images with similar lists look alike "
        "*to the model*. These are the training images whose lists point most nearly the same way as this "
        "image's (**cosine similarity**: 1 is the same direction, 0 nothing in common). When the neighbours "
        "carry another label than the true one, you see what the model confused the image with.",
    )


def excite_section(picked: PickedModel, dataset: Dataset | None) -> None:
    """For every filter of a conv layer: a picture grown to excite it, and the test patches that excite it most."""
    choice = _conv_filter_choice(
        picked.model,
        "inside_excite",
        "The first layer's filters see 3x3 pixels and respond to edges and spots; deeper filters see more "
        "of the image (their receptive field) and respond to larger parts of strokes.",
    )
    if choice is None:
        return
    layer, filter_index, _ = choice
    result = excitement(picked.model, picked.version, picked.dataset if dataset is not None else None, layer)
    pictures = result.pictures
    count = pictures.images.shape[0]
    st.caption(
        f"Computed once for this model in {result.seconds:.1f} s: {count} pictures"
        + (f" and the strongest patches among {len(result.image_rows):,} test images." if result.top else ".")
    )
    st.plotly_chart(
        cached_figure(
            image_grid_figure,
            pictures.images,
            titles=[str(index) for index in range(count)],
            cols=16,
            cell_height=70,
            shared_scale=True,
            title=f"{plotly_escape(layer)}: the picture that excites each filter most",
        ),
        key="inside_excite_pictures",
    )
    explain(
        "How are these pictures made?",
        "**Activation maximisation**: start from faint random noise and change the *picture* (not the "
        "weights) step by step in the direction that makes the filter's output larger, the same gradient "
        "that training uses, turned around. Each step also shifts the picture by a pixel or two and now and "
        "then blurs it, so the filter's pattern grows instead of pixel noise. Bright strokes are what the "
        "filter looks for; where it is dark, ink would lower its output.",
    )
    st.subheader(f"Filter {filter_index}")
    start, end = float(pictures.start_activation[filter_index]), float(pictures.end_activation[filter_index])
    left, right = st.columns([1, 3])
    left.plotly_chart(
        cached_figure(image_figure, pictures.images[filter_index], zmin=0.0, zmax=1.0, height=220, showscale=False),
        key="inside_excite_picture",
    )
    left.caption(f"Mean output {end:.3g} on this picture, against {start:.3g} on the noise it started from.")
    if result.top is None or dataset is None:
        right.info("The strongest test patches need the test split, which could not be loaded.")
        return
    top, x_test = result.top, dataset.x_test[result.image_rows]
    captions = [
        f"#{int(result.image_rows[image])} · {float(value):.3g}"
        for image, value in zip(top.images[filter_index], top.values[filter_index], strict=True)
    ]
    size = top.field.size
    with right:
        st.plotly_chart(
            cached_figure(
                image_gallery_figure,
                top.patches(x_test, filter_index),
                captions,
                cols=len(captions),
                cell_height=120,
                title=f"The {len(captions)} test patches ({size[0]}x{size[1]} pixels) that excite it most",
            ),
            key="inside_excite_patches",
        )
        windows = [
            top.field.window(int(row), int(col))
            for row, col in zip(top.rows[filter_index], top.cols[filter_index], strict=True)
        ]
        st.plotly_chart(
            cached_figure(
                receptive_field_figure, x_test[top.images[filter_index]], windows, captions, title="Where they are"
            ),
            key="inside_excite_context",
        )
        st.caption("Test image number · the filter's output there. The frame is what that output can see.")
    explain(
        "What are the patches?",
        "Every test image went through the network; for each image we kept the filter's strongest output and "
        f"where it was. These are the images where it was strongest, cropped to the {size[0]}x{size[1]} "
        "pixels that output can see: its **receptive field**, which grows with every conv and pooling layer. "
        "Together with the picture above they tell you what the filter has learned to detect.",
    )
