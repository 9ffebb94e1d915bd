"""The playground's other controls: the input image, the pipeline settings and picking a position.

Every widget's value survives a visit to another page through :func:`cnnviz.ui.state.remember`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz.core.figures import last_selected_ints
from cnnviz.kernels.explain import moved_position
from cnnviz.kernels.ops import ACTIVATIONS, POOL_MODES, PipelineConfig, to_unit_image
from cnnviz.ui.state import remember

SOURCES = ("Dataset sample", "Upload an image", "Latest sketch")
#: The extra source offered once a link from the Inside page brought an image (see :func:`use_linked_input`).
LINKED_SOURCE = "From Inside"
SOURCE_HELP = (
    "The image the kernels slide over: a sample from a dataset, a picture of your own (turned grey and "
    "scaled down), or the digit you last drew on the Sketch page."
)
RESOLUTION_HELP = (
    "Uploaded pictures are scaled down so their longest side has this many pixels. MNIST images are 28x28; "
    "bigger images show more detail but make every stage slower to draw."
)
INVERT_HELP = (
    "MNIST-style images are light ink on a dark background. A photo of dark ink on white paper looks "
    "more like them once inverted (255 - value)."
)


@dataclass(frozen=True)
class InputImage:
    """The image the playground works on.

    Attributes:
        image: (H, W) float64 in [0, 1].
        label: where it came from, in words.
    """

    image: np.ndarray
    label: str


def _random_index(key: str, count: int) -> None:
    st.session_state[f"{key}_index"] = int(np.random.default_rng().integers(0, count))


def _dataset_input(key: str) -> InputImage | None:
    from cnnviz.ui.datasets import dataset_picker  # imported here: it loads the dataset layer only when needed

    remember(f"{key}_dataset", "mnist")
    dataset = dataset_picker(f"{key}_dataset", show_source=False)
    if dataset is None:
        return None
    class_key = f"{key}_class"
    remember(class_key, 2)
    if st.session_state.get(class_key) not in range(dataset.num_classes):
        # The tutorial's experiment uses a "2"; start there when the dataset has one.
        st.session_state[class_key] = 2 if dataset.num_classes > 2 else 0
    label = st.selectbox(
        "Class",
        range(dataset.num_classes),
        key=class_key,
        format_func=lambda index: dataset.class_names[index],
        help="Pick which kind of image to look at; the index below chooses one example of it.",
    )
    positions = np.flatnonzero(dataset.y_train == label)
    if positions.size == 0:
        st.warning(f"The training split has no images of class {dataset.class_names[label]}; pick another class.")
        return None
    index_key = f"{key}_index"
    remember(index_key, 0)
    if not isinstance(st.session_state.get(index_key), int) or not 0 <= st.session_state[index_key] < positions.size:
        st.session_state[index_key] = 0
    st.number_input(
        f"Example (0-{positions.size - 1})",
        min_value=0,
        max_value=int(positions.size - 1),
        step=1,
        key=index_key,
        help="Which example of this class to use. Different people write the same digit differently.",
    )
    st.button("Random example", key=f"{key}_random", on_click=_random_index, args=(key, int(positions.size)),
              help="Jump to a random example of this class.")
    index = int(st.session_state[index_key])
    image = to_unit_image(dataset.x_train[positions[index]])
    return InputImage(image, f"{dataset.title}: {dataset.class_names[label]}, example {index}")


def _upload_input(key: str) -> InputImage | None:
    from cnnviz.ui.uploads import picture_upload

    remember(f"{key}_resolution", 64)
    resolution = st.select_slider("Resolution (longest side)", [28, 48, 64, 96], key=f"{key}_resolution",
                                  help=RESOLUTION_HELP)
    remember(f"{key}_invert", True)
    invert = st.checkbox("Invert (dark ink on light paper)", key=f"{key}_invert", help=INVERT_HELP)
    upload = picture_upload(
        "Upload a picture (PNG, JPEG, GIF, BMP, WebP or TIFF)", key=f"{key}_upload", mode="L",
        max_side=int(resolution),
        help="It is turned grey and scaled down. Pictures stay in your browser session; nothing is saved.",
    )
    last_key = f"{key}_last_upload"
    previous = st.session_state.get(last_key)
    if upload.pixels is not None:
        pixels = 255 - upload.pixels if invert else upload.pixels
        previous = st.session_state[last_key] = InputImage(to_unit_image(pixels), f"your picture {upload.file_name}")
    elif not upload.empty and isinstance(previous, InputImage):
        st.caption("Showing your previous picture instead.")
    if not isinstance(previous, InputImage):
        if upload.empty:  # after an unreadable upload its error alone says what to do
            st.info("Upload a picture to apply your kernels to it.")
        return None
    return previous


def use_linked_input(key: str, image: np.ndarray, label: str) -> None:
    """Make ``image`` (H, W) in [0, 1] the input, offered as :data:`LINKED_SOURCE`; call before the picker."""
    st.session_state[f"{key}_linked"] = InputImage(np.asarray(image, dtype=np.float64), label)
    st.session_state[f"{key}_source"] = LINKED_SOURCE


def input_picker(key: str = "kernels_input") -> InputImage | None:
    """Draw the input-image controls and return the chosen image, or ``None`` with a message shown."""
    from cnnviz.ui.state import get_latest_sketch

    linked = st.session_state.get(f"{key}_linked")
    sources = (*SOURCES, LINKED_SOURCE) if isinstance(linked, InputImage) else SOURCES
    remember(f"{key}_source", SOURCES[0], valid=sources)
    source = st.radio("Input image", sources, key=f"{key}_source", horizontal=True,
                      help=SOURCE_HELP + (" From Inside: the image a link from the Inside page brought."
                                          if isinstance(linked, InputImage) else ""))
    if source == LINKED_SOURCE and isinstance(linked, InputImage):
        return linked
    if source == "Dataset sample":
        return _dataset_input(key)
    if source == "Upload an image":
        return _upload_input(key)
    sketch = get_latest_sketch()
    if sketch is None:
        st.info("No sketch yet: draw a digit on the Sketch page, then come back.")
        return None
    return InputImage(to_unit_image(sketch), "your latest sketch")


STRIDE_HELP = (
    "How many pixels the kernel moves between two outputs. Stride 2 skips every other position, "
    "so the output is about half as wide."
)
PADDING_HELP = (
    "'valid' adds no border, so the output shrinks by kernel size - 1. 'same' adds just enough zeros "
    "around the image for the output to keep the input's size (at stride 1). Or choose how many rows of "
    "zeros to add on every side."
)
BIAS_HELP = "A number added to every output value. In a trained CNN each filter learns its own bias."
ACTIVATION_HELP = (
    "The non-linear function applied to every value. ReLU keeps positive evidence and drops negative "
    "values; a threshold keeps only strong responses, as in the line-filter tutorial."
)
THRESHOLD_HELP = "Values above this become 1, the rest 0. The tutorial uses +2 with its line filters."
POOL_HELP = (
    "Pooling shrinks a map by summarising each small window: its maximum, its average or its minimum. "
    "It keeps 'a line was found around here' while forgetting the exact position."
)
POOL_SIZE_HELP = "The side of the square window pooled into one value."
POOL_STRIDE_HELP = "How far the window moves each step. Equal to the size, windows do not overlap (the usual choice)."


def set_layer_settings(key: str, *, bias: float, stride: int | None = None, padding: str | None = None,
                       activation: str | None = None) -> None:
    """Set the pipeline controls to a layer's settings (``None``: leave that control); call before they are drawn."""
    st.session_state[f"{key}_bias"] = float(bias)
    if stride is not None:
        st.session_state[f"{key}_stride"] = int(stride)
    if padding is not None:
        st.session_state[f"{key}_padding"] = padding
    if activation is not None:
        st.session_state[f"{key}_activation"] = activation


def pipeline_controls(key: str = "kernels_pipe") -> PipelineConfig:
    """Draw the convolution / activation / pooling settings and return them."""
    conv_col, act_col, pool_col = st.columns(3)
    with conv_col:
        remember(f"{key}_stride", 1)
        stride = st.select_slider("Stride", [1, 2, 3], key=f"{key}_stride", help=STRIDE_HELP)
        remember(f"{key}_padding", "valid")
        padding_choice = st.radio("Padding", ["valid", "same", "zeros"], key=f"{key}_padding", horizontal=True,
                                  format_func=lambda p: "explicit zeros" if p == "zeros" else p, help=PADDING_HELP)
        padding: str | int = padding_choice
        if padding_choice == "zeros":
            remember(f"{key}_pad_width", 1)
            padding = int(st.number_input("Zero rows on every side", 0, 5, key=f"{key}_pad_width",
                                          help="How many rows and columns of zeros to add around the image."))
        remember(f"{key}_bias", 0.0)
        bias = st.number_input("Bias", -10.0, 10.0, step=0.5, key=f"{key}_bias", help=BIAS_HELP)
    with act_col:
        remember(f"{key}_activation", "none")
        activation = st.selectbox("Activation", list(ACTIVATIONS), key=f"{key}_activation",
                                  format_func=lambda name: ACTIVATIONS[name], help=ACTIVATION_HELP)
        threshold = 2.0
        if activation == "threshold":
            remember(f"{key}_threshold", 2.0)
            threshold = st.number_input("Threshold", -20.0, 20.0, step=0.5, key=f"{key}_threshold",
                                        help=THRESHOLD_HELP)
    with pool_col:
        remember(f"{key}_pool", "none")
        pool_mode = st.selectbox("Pooling", list(POOL_MODES), key=f"{key}_pool", format_func=lambda m: POOL_MODES[m],
                                 help=POOL_HELP)
        pool_size, pool_stride = 2, None
        if pool_mode != "none":
            remember(f"{key}_pool_size", 2)
            pool_size = st.select_slider("Pool size", [2, 3, 4], key=f"{key}_pool_size",
                                         help=POOL_SIZE_HELP)
            remember(f"{key}_pool_stride", "= size")
            stride_choice = st.select_slider("Pool stride", ["= size", 1, 2, 3, 4],
                                             key=f"{key}_pool_stride", help=POOL_STRIDE_HELP)
            pool_stride = None if stride_choice == "= size" else int(stride_choice)
    return PipelineConfig(
        stride=int(stride),
        padding=padding,  # type: ignore[arg-type]
        bias=float(bias),
        activation=activation,
        threshold=float(threshold),
        pool_mode=pool_mode,
        pool_size=int(pool_size),
        pool_stride=pool_stride,
    )


def position_picker(key: str, shape: tuple[int, int], *, label: str = "output") -> tuple[int, int]:
    """Draw row/column sliders for a position in a (H, W) map; a click on chart ``f"{key}_chart"`` moves them.

    The chart must be drawn *after* this call with ``st.plotly_chart(..., key=f"{key}_chart",
    on_select="rerun", selection_mode="points")`` and a :func:`cnnviz.kernels.figures.clickable_map_figure`.

    Returns:
        (row, col) inside ``shape``.
    """
    row_key, col_key, seen_key = f"{key}_row", f"{key}_col", f"{key}_seen_click"
    remember(row_key, shape[0] // 2)
    remember(col_key, shape[1] // 2)
    clicked = last_selected_ints(st.session_state.get(f"{key}_chart"), 2, fields=("y", "x"))
    if clicked is None:
        # Nothing selected (or the selection was cleared): the next click, even on the same pixel, is new.
        st.session_state[seen_key] = None
    elif clicked != st.session_state.get(seen_key):
        # A new click: move the sliders there (once, so the sliders stay usable afterwards).
        st.session_state[seen_key] = clicked
        st.session_state[row_key], st.session_state[col_key] = clicked
    shape_key = f"{key}_shape"
    previous = st.session_state.get(shape_key)
    row, col = st.session_state.get(row_key), st.session_state.get(col_key)
    if isinstance(previous, tuple) and previous != tuple(shape) and isinstance(row, int) and isinstance(col, int):
        # The map changed size (a 5x5 kernel, another stride): keep the same place in the image, not (0, 0).
        row, col = moved_position((row, col), previous, shape)
    st.session_state[shape_key] = tuple(shape)
    for slider_key, value, limit in ((row_key, row, shape[0]), (col_key, col, shape[1])):
        if not isinstance(value, int) or not 0 <= value < limit:
            value = limit // 2
        # Written back on every run: a slider whose range changed is a new widget, and Streamlit would
        # otherwise start it at its minimum.
        st.session_state[slider_key] = value
    row_col, col_col = st.columns(2)
    with row_col:
        row = st.slider(f"{label.capitalize()} row", 0, max(shape[0] - 1, 1), key=row_key, disabled=shape[0] == 1,
                        help=f"Which row of the {label} to explain (0 is the top). Or click a pixel of the map.")
    with col_col:
        col = st.slider(f"{label.capitalize()} column", 0, max(shape[1] - 1, 1), key=col_key, disabled=shape[1] == 1,
                        help=f"Which column of the {label} to explain (0 is the left). Or click a pixel of the map.")
    return min(int(row), shape[0] - 1), min(int(col), shape[1] - 1)
