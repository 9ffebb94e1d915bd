"""The kernel editor widget: a bank of up to 8 editable 3x3 or 5x5 kernels with presets.

The bank lives in one non-widget session-state entry (``st.session_state[f"{key}_bank"]``, a
:class:`BankState`) so it survives page switches; the widgets only change it. Each kernel is an
``st.data_editor`` grid of text cells, so a learner can type "1/9" and a typo gets a clear
message (row and column named) while the last good kernel is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz.kernels.ops import ACTIVATIONS, MAX_BANK, POOL_MODES, KernelError, PipelineConfig, to_unit_image
from cnnviz.kernels.presets import (
    PRESETS,
    TUTORIAL_PRESETS,
    normalise_kernel,
    parse_kernel_cells,
    preset_kernel,
    resize_kernel,
)

#: The label shown in a kernel's preset box once its cells have been edited by hand.
CUSTOM = "Custom (edited)"
#: Presets given to kernels added to the bank after the tutorial's four line filters.
EXTRA_PRESETS: tuple[str, ...] = (
    "Sobel x (vertical edges)",
    "Sobel y (horizontal edges)",
    "Laplacian",
    "Sharpen",
)
SIZES = (3, 5)

SIZE_HELP = (
    "How many pixels each kernel looks at. A 3x3 kernel sees a pixel and its 8 neighbours; a 5x5 kernel "
    "sees further but has 25 weights to learn. Small 3x3 kernels are the usual choice in CNNs."
)
COUNT_HELP = (
    "A conv layer applies several kernels (filters) to the same image, each producing its own feature map. "
    "Here you can apply up to 8 at once and compare what each one finds."
)
NORMALISE_HELP = (
    "Scale each kernel so its weights add up to 1 (blurs keep the brightness), or, when they add up to 0 "
    "as for edge and line filters, so their absolute values add up to 1. The output then stays in the "
    "input's range."
)
PRESET_HELP = (
    "Start from a well-known kernel. The four 'Line' filters are the tutorial's: 2 along a line, -1 elsewhere, "
    "so they respond strongly where the image has a line in that direction. Edit any cell afterwards."
)
GRID_HELP = (
    "The kernel's weights. Each output pixel is the sum of the input pixels under the kernel multiplied by "
    "these weights. Type numbers such as -1, 0.5 or fractions like 1/9."
)


@dataclass
class BankState:
    """The editor's state: the last good kernels and how each was made.

    Attributes:
        size: 3 or 5.
        count: how many kernels are in use (1 to 8).
        kernels: MAX_BANK (size, size) float64 kernels; only the first ``count`` are used.
        presets: the preset each kernel came from, or :data:`CUSTOM`.
        revisions: bumped when a kernel is replaced (preset, size, learned), so its grid widget restarts.
        normalise: whether :func:`kernel_editor` returns normalised kernels.
    """

    size: int = 3
    count: int = 4
    kernels: list[np.ndarray] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)
    revisions: list[int] = field(default_factory=list)
    normalise: bool = False


def _default_preset(index: int) -> str:
    names = list(TUTORIAL_PRESETS) + list(EXTRA_PRESETS)
    return names[index % len(names)]


def _state(key: str) -> BankState:
    state = st.session_state.get(f"{key}_bank")
    if not isinstance(state, BankState):
        presets = [_default_preset(index) for index in range(MAX_BANK)]
        state = BankState(
            kernels=[preset_kernel(name, 3) for name in presets],
            presets=presets,
            revisions=[0] * MAX_BANK,
        )
        st.session_state[f"{key}_bank"] = state
    return state


def grid_key(key: str, index: int) -> str:
    """Return the widget key of kernel ``index``'s grid (it changes whenever the kernel is replaced)."""
    return f"{key}_grid_{index}_{_state(key).revisions[index]}"


def _preset_key(key: str, index: int) -> str:
    return f"{key}_preset_{index}"


def _replace(key: str, index: int, kernel: np.ndarray, preset: str) -> None:
    state = _state(key)
    st.session_state.pop(grid_key(key, index), None)
    state.kernels[index] = kernel
    state.presets[index] = preset
    state.revisions[index] += 1
    st.session_state.pop(f"{key}_base_{index}", None)
    st.session_state[_preset_key(key, index)] = preset


def _on_preset(key: str, index: int) -> None:
    name = st.session_state[_preset_key(key, index)]
    if name in PRESETS:
        _replace(key, index, preset_kernel(name, _state(key).size), name)


def _on_size(key: str) -> None:
    state = _state(key)
    size = int(st.session_state[f"{key}_size"])
    if size == state.size:
        return
    state.size = size
    for index in range(MAX_BANK):
        name = state.presets[index]
        kernel = preset_kernel(name, size) if name in PRESETS else resize_kernel(state.kernels[index], size)
        _replace(key, index, kernel, name)


def _on_count(key: str) -> None:
    _state(key).count = int(st.session_state[f"{key}_count"])


def _on_normalise(key: str) -> None:
    _state(key).normalise = bool(st.session_state[f"{key}_normalise"])


def load_kernel(key: str, index: int, kernel: np.ndarray, label: str = CUSTOM) -> None:
    """Put ``kernel`` into slot ``index`` of the editor ``key`` (for "load into editor" buttons).

    Call it from a button's ``on_click`` so the editor shows the new kernel in the same run.
    A kernel of another odd size switches the whole bank to that size (3 or 5).

    Raises:
        KernelError: for a kernel that is not 3x3 or 5x5, or an index outside the bank.
    """
    array = np.asarray(kernel, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] not in SIZES:
        raise KernelError(f"The editor holds 3x3 or 5x5 kernels; this kernel is {array.shape}.")
    if not 0 <= index < MAX_BANK:
        raise KernelError(f"Kernel slot {index + 1} does not exist; the bank has slots 1 to {MAX_BANK}.")
    state = _state(key)
    if array.shape[0] != state.size:
        st.session_state[f"{key}_size"] = array.shape[0]
        _on_size(key)
    state.count = max(state.count, index + 1)
    st.session_state[f"{key}_count"] = state.count
    _replace(key, index, array.copy(), label)


def _cells(kernel: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        [[f"{value:.6g}" for value in row] for row in kernel],
        columns=[str(col + 1) for col in range(kernel.shape[1])],
    )


def _edit_one(key: str, index: int) -> None:
    """Draw kernel ``index``'s grid and preset box; keep a good edit, explain a bad one."""
    state = _state(key)
    widget = grid_key(key, index)
    base_key = f"{key}_base_{index}"
    if widget not in st.session_state or base_key not in st.session_state:
        # A fresh grid (first view, replaced kernel, or back from another page) starts from the last good kernel.
        st.session_state[base_key] = _cells(state.kernels[index])
    edited = st.data_editor(
        st.session_state[base_key],
        key=widget,
        hide_index=True,
        num_rows="fixed",
        width="stretch",
        column_config={
            column: st.column_config.TextColumn(column, help=GRID_HELP, width="small")
            for column in st.session_state[base_key].columns
        },
    )
    try:
        # Every cell is text, so a missing value (None or pandas' NaN) can only be a cleared cell.
        cells = [[None if pd.isna(value) else value for value in row] for row in edited.to_numpy(dtype=object)]
        kernel = parse_kernel_cells(cells)
    except KernelError as error:
        st.error(f"{error} Kernel {index + 1} keeps its previous values until this is fixed.", icon="⚠️")
    else:
        if kernel.shape == state.kernels[index].shape and not np.allclose(kernel, state.kernels[index], atol=1e-9):
            state.kernels[index] = kernel
            state.presets[index] = CUSTOM
            st.session_state[_preset_key(key, index)] = CUSTOM
    options = [*PRESETS, CUSTOM]
    if state.presets[index] not in options:
        options.append(state.presets[index])  # e.g. "Learned #3"
    if st.session_state.get(_preset_key(key, index)) not in options:
        st.session_state[_preset_key(key, index)] = state.presets[index]
    st.selectbox(
        "Preset",
        options,
        key=_preset_key(key, index),
        on_change=_on_preset,
        args=(key, index),
        help=PRESET_HELP,
    )


def kernel_editor(key: str = "kernel", *, columns: int = 4) -> np.ndarray:
    """Draw the kernel bank editor and return the kernels to apply.

    Widgets: kernel size (3x3 / 5x5), number of kernels (1-8), normalise, and for each kernel a grid of
    cells and a preset box. Bad cells (text, NaN, inf, empty) show an error naming the cell; the
    kernel keeps its last good values.

    Args:
        key: prefix of every session-state key the editor owns (use different keys for two editors).
        columns: kernels per row.

    Returns:
        (N, size, size) float64, N = the chosen number of kernels, normalised if asked.
    """
    state = _state(key)
    st.session_state.setdefault(f"{key}_size", state.size)
    st.session_state.setdefault(f"{key}_count", state.count)
    st.session_state.setdefault(f"{key}_normalise", state.normalise)
    left, middle, right = st.columns([1, 2, 1])
    with left:
        st.radio(
            "Kernel size",
            SIZES,
            key=f"{key}_size",
            format_func=lambda size: f"{size}x{size}",
            horizontal=True,
            on_change=_on_size,
            args=(key,),
            help=SIZE_HELP,
        )
    with middle:
        st.slider("Kernels in the bank", 1, MAX_BANK, key=f"{key}_count", on_change=_on_count, args=(key,),
                  help=COUNT_HELP)
    with right:
        st.checkbox("Normalise", key=f"{key}_normalise", on_change=_on_normalise, args=(key,), help=NORMALISE_HELP)
    for start in range(0, state.count, columns):
        cells = st.columns(columns)
        for offset, cell in enumerate(cells):
            index = start + offset
            if index >= state.count:
                break
            with cell:
                st.markdown(f"**Kernel {index + 1}**")
                _edit_one(key, index)
    bank = np.stack(state.kernels[: state.count])
    if state.normalise:
        bank = np.stack([normalise_kernel(kernel) for kernel in bank])
    return bank


def kernel_labels(key: str = "kernel") -> list[str]:
    """Return a short label per kernel in use, e.g. "1: Sobel x (vertical edges)"."""
    state = _state(key)
    return [f"{index + 1}: {state.presets[index]}" for index in range(state.count)]


# --------------------------------------------------------------------------------------------
# The playground page's other controls: input image, pipeline settings, picking a position.
# --------------------------------------------------------------------------------------------

#: Non-widget copy of the playground's widget values, so they survive a visit to another page.
KEPT_KEY = "kernels_kept_widgets"


def keep(key: str, default: object) -> None:
    """Call just before creating widget ``key`` (without a ``value=``): its value survives page switches.

    Streamlit forgets a widget's value when its page is left. This copies the current value to a
    non-widget entry on every run and puts it back when the widget comes back.
    """
    kept = st.session_state.setdefault(KEPT_KEY, {})
    if key in st.session_state:
        kept[key] = st.session_state[key]
    else:
        st.session_state[key] = kept.get(key, default)


SOURCES = ("Dataset sample", "Upload an image", "Latest sketch")
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

    keep(f"{key}_dataset", "mnist")
    dataset = dataset_picker(f"{key}_dataset", show_source=False)
    if dataset is None:
        return None
    class_key = f"{key}_class"
    keep(class_key, 2)
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
    keep(index_key, 0)
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
    from cnnviz.core.uploads import ImageUploadError, decode_image

    keep(f"{key}_resolution", 64)
    resolution = st.select_slider("Resolution (longest side)", [28, 48, 64, 96], key=f"{key}_resolution",
                                  help=RESOLUTION_HELP)
    keep(f"{key}_invert", True)
    invert = st.checkbox("Invert (dark ink on light paper)", key=f"{key}_invert", help=INVERT_HELP)
    upload = st.file_uploader(
        "Upload a picture (PNG, JPEG, GIF, BMP, WebP or TIFF)",
        type=["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"],
        key=f"{key}_upload",
        help="It is turned grey and scaled down. Pictures stay in your browser session; nothing is saved.",
    )
    last_key = f"{key}_last_upload"
    if upload is not None:
        try:
            pixels = decode_image(upload.getvalue(), mode="L", max_side=int(resolution))
        except ImageUploadError as error:
            st.error(f"{error}", icon="🖼️")
            if isinstance(st.session_state.get(last_key), InputImage):
                st.caption("Showing your previous picture instead.")
        else:
            if invert:
                pixels = 255 - pixels
            st.session_state[last_key] = InputImage(to_unit_image(pixels), f"your picture {upload.name}")
    previous = st.session_state.get(last_key)
    if not isinstance(previous, InputImage):
        st.info("Upload a picture to apply your kernels to it.")
        return None
    return previous


def input_picker(key: str = "kernels_input") -> InputImage | None:
    """Draw the input-image controls and return the chosen image, or ``None`` with a message shown."""
    from cnnviz.ui.state import get_latest_sketch

    keep(f"{key}_source", SOURCES[0])
    source = st.radio("Input image", SOURCES, key=f"{key}_source", horizontal=True, help=SOURCE_HELP)
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


def pipeline_controls(key: str = "kernels_pipe") -> PipelineConfig:
    """Draw the convolution / activation / pooling settings and return them."""
    conv_col, act_col, pool_col = st.columns(3)
    with conv_col:
        keep(f"{key}_stride", 1)
        stride = st.select_slider("Stride", [1, 2, 3], key=f"{key}_stride", help=STRIDE_HELP)
        keep(f"{key}_padding", "valid")
        padding_choice = st.radio("Padding", ["valid", "same", "zeros"], key=f"{key}_padding", horizontal=True,
                                  format_func=lambda p: "explicit zeros" if p == "zeros" else p, help=PADDING_HELP)
        padding: str | int = padding_choice
        if padding_choice == "zeros":
            keep(f"{key}_pad_width", 1)
            padding = int(st.number_input("Zero rows on every side", 0, 5, key=f"{key}_pad_width",
                                          help="How many rows and columns of zeros to add around the image."))
        keep(f"{key}_bias", 0.0)
        bias = st.number_input("Bias", -10.0, 10.0, step=0.5, key=f"{key}_bias", help=BIAS_HELP)
    with act_col:
        keep(f"{key}_activation", "none")
        activation = st.selectbox("Activation", list(ACTIVATIONS), key=f"{key}_activation",
                                  format_func=lambda name: ACTIVATIONS[name], help=ACTIVATION_HELP)
        threshold = 2.0
        if activation == "threshold":
            keep(f"{key}_threshold", 2.0)
            threshold = st.number_input("Threshold", -20.0, 20.0, step=0.5, key=f"{key}_threshold",
                                        help=THRESHOLD_HELP)
    with pool_col:
        keep(f"{key}_pool", "none")
        pool_mode = st.selectbox("Pooling", list(POOL_MODES), key=f"{key}_pool", format_func=lambda m: POOL_MODES[m],
                                 help=POOL_HELP)
        pool_size, pool_stride = 2, None
        if pool_mode != "none":
            keep(f"{key}_pool_size", 2)
            pool_size = st.select_slider("Pool size", [2, 3, 4], key=f"{key}_pool_size",
                                         help=POOL_SIZE_HELP)
            keep(f"{key}_pool_stride", "= size")
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
    from cnnviz.kernels.figures import selected_pixel  # the charts module pulls in Plotly

    row_key, col_key, seen_key = f"{key}_row", f"{key}_col", f"{key}_seen_click"
    keep(row_key, shape[0] // 2)
    keep(col_key, shape[1] // 2)
    clicked = selected_pixel(st.session_state.get(f"{key}_chart"))
    if clicked is None:
        # Nothing selected (or the selection was cleared): the next click, even on the same pixel, is new.
        st.session_state[seen_key] = None
    elif clicked != st.session_state.get(seen_key):
        # A new click: move the sliders there (once, so the sliders stay usable afterwards).
        st.session_state[seen_key] = clicked
        st.session_state[row_key], st.session_state[col_key] = clicked
    for slider_key, limit in ((row_key, shape[0]), (col_key, shape[1])):
        value = st.session_state.get(slider_key)
        if not isinstance(value, int) or not 0 <= value < limit:
            st.session_state[slider_key] = limit // 2
    row_col, col_col = st.columns(2)
    with row_col:
        row = st.slider(f"{label.capitalize()} row", 0, max(shape[0] - 1, 1), key=row_key, disabled=shape[0] == 1,
                        help=f"Which row of the {label} to explain (0 is the top). Or click a pixel of the map.")
    with col_col:
        col = st.slider(f"{label.capitalize()} column", 0, max(shape[1] - 1, 1), key=col_key, disabled=shape[1] == 1,
                        help=f"Which column of the {label} to explain (0 is the left). Or click a pixel of the map.")
    return min(int(row), shape[0] - 1), min(int(col), shape[1] - 1)
