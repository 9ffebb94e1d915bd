"""The Kernel playground's sections: each draws one numbered part of the page from explicit arguments.

``pages/kernels.py`` only calls these in order: input, the playground (kernels, pipeline, the animation,
one value explained: one fragment, so an edit there reruns only it), learned kernels.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.core.layers import LayerReadError, conv_weights
from cnnviz.core.text import md_code, md_escape, plotly_escape
from cnnviz.kernels.animation import MAX_ANIMATED_SIDE, animate_convolution, animate_pooling
from cnnviz.kernels.controls import (
    InputImage,
    input_picker,
    pipeline_controls,
    position_picker,
    set_layer_settings,
    use_linked_input,
)
from cnnviz.kernels.editor import kernel_editor, kernel_labels, load_kernel, show_only
from cnnviz.kernels.explain import explain_output, explain_pool, format_sum, magnitude_warnings, pipeline_formulas
from cnnviz.kernels.figures import (
    animation_figure,
    arithmetic_figure,
    bank_figure,
    clickable_map_figure,
    input_figure,
    pipeline_figure,
    pool_window_figure,
    stage_range,
)
from cnnviz.kernels.linked import BIAS_LIMIT, read_kernel_link
from cnnviz.kernels.ops import MAX_BANK, KernelError, PipelineResult, apply_activation, padding_amounts, run_pipeline
from cnnviz.kernels.presets import learned_kernels
from cnnviz.kernels.share import KERNELS_TABLE
from cnnviz.ui.charts import cached_figure, cached_large_figure
from cnnviz.ui.layout import explain
from cnnviz.ui.links import back_button, take_link
from cnnviz.ui.sharing import share_bar
from cnnviz.ui.state import remember

#: The last pipeline result that worked, shown again while the settings are broken.
RESULT_KEY = "kernels_last_result"
#: The session-state prefix of the page's kernel editor.
EDITOR_KEY = "kernel"
#: Click events of a Plotly map, in the browser's selection format (see ``position_picker``).
CLICKS = {"on_select": "rerun", "selection_mode": "points", "config": {"displayModeBar": False}}
#: This page's path, as links name it.
KERNELS_PAGE = "pages/kernels.py"
#: The prefixes of the input picker's and the pipeline controls' widget keys.
INPUT_KEY, PIPE_KEY = "kernels_input", "kernels_pipe"


def _open_link(payload: object) -> None:
    """Load a linked learned kernel, its bias and layer settings, and its image, before any widget is drawn."""
    try:
        link = read_kernel_link(payload)  # type: ignore[arg-type]
    except KernelError as error:
        st.warning(f"The link could not be used, so the page shows your own settings. {md_escape(error)}")
        return
    title = md_escape(link.title)
    show_only(EDITOR_KEY, link.kernel, label=f"Inside: {link.title}")
    set_layer_settings(PIPE_KEY, bias=link.bias, stride=link.stride, padding=link.padding,
                       activation=link.activation)
    use_linked_input(INPUT_KEY, link.image, link.image_label)
    note = (f"Opened from Inside: **{title}**, with its bias, applied to the same image. "
            "Change its weights below and watch the map change.")
    if link.bias_clipped:
        note += f" Its bias was outside ±{BIAS_LIMIT:g} and is shown clipped."
    st.info(note, icon=":material/link:")


def input_section() -> InputImage | None:
    """Section 1: pick the input image and show it; returns it, or ``None`` with a message shown.

    A link from the Inside page (:mod:`cnnviz.ui.links`) is read here, first: its kernel becomes the
    bank's only kernel, its bias and layer settings the pipeline's, its image the input ("From Inside"),
    and "Back to Inside" is offered. A payload that cannot be used is ignored with a short note.
    """
    link = take_link(KERNELS_PAGE)
    if link is not None:
        _open_link(link.payload)
    back_button(KERNELS_PAGE)
    controls, picture = st.columns([1, 2])
    with controls:
        picked = input_picker(INPUT_KEY)
    if picked is not None:
        image = picked.image
        with picture:
            # The label can hold an uploaded file's name, which Plotly would read as HTML (<b>, <a>).
            title = plotly_escape(f"{picked.label} ({image.shape[0]}×{image.shape[1]})")
            st.plotly_chart(cached_figure(input_figure, image, title=title, height=320), key="kernels_input_plot")
            st.caption("Grey values from 0 (black) to 1 (white); hover a pixel to read its value.")
    return picked


def kernels_section() -> tuple[np.ndarray, list[str]]:
    """Section 2: the kernel bank editor; returns the kernels to apply, (N, k, k), and a label per kernel."""
    return kernel_editor(EDITOR_KEY), kernel_labels(EDITOR_KEY)


def pipeline_section(picked: InputImage | None, bank: np.ndarray, labels: list[str]) -> PipelineResult | None:
    """Section 3: the pipeline settings and every stage's maps.

    A setting that does not work (a kernel larger than the image, say) is explained and the
    previous result stays on screen until it works again.
    """
    config = pipeline_controls(PIPE_KEY)
    if picked is None:
        st.info("Choose an input image above to run the kernels.")
        return None
    try:
        result = run_pipeline(picked.image, bank, config)
    except KernelError as error:
        st.error(md_escape(str(error)), icon=":material/warning:")
        result = st.session_state.get(RESULT_KEY)
        if not isinstance(result, PipelineResult):
            return None
        st.caption("Showing the previous result until the settings work again.")
    else:
        st.session_state[RESULT_KEY] = result
    for warning in magnitude_warnings(result):
        st.warning(warning, icon=":material/warning:")
    st.markdown("**Output size**, with your numbers (⌊ ⌋ rounds down):")
    st.markdown("\n".join(f"- {line}" for line in pipeline_formulas(result)))
    count = result.conv.shape[0]
    # One figure per kernel: an edit of one kernel changes only its row, and the browser redraws only that figure.
    with st.container(key="kernels_pipeline_plot", gap=None):
        for index in range(count):
            st.plotly_chart(cached_figure(pipeline_figure, result.only(index), labels[index : index + 1],
                                          stage_titles=index == 0),
                            key=f"kernels_pipeline_row_{index}")
    explain(
        "What am I looking at?",
        "Each row is one kernel, each column one stage. **Convolution**: the raw sums of products; red is "
        "positive (the image looks like the kernel there), blue negative, white zero; the bar beside each map "
        "is its colour scale. **+ bias**: the same map "
        "shifted by the bias. **Activation**: the non-linearity (ReLU, sigmoid or the tutorial's threshold). "
        "**Pooling**: each window summarised by one number, so the map shrinks. The shape of each map is in its "
        "title; hover any pixel for its value.",
    )
    return result


@st.fragment
def playground_section(picked: InputImage | None) -> None:
    """Sections 2 to 5, the playground: the kernel bank, the pipeline, the animation and one value explained.

    A Streamlit fragment: editing a kernel cell or any control in here reruns only these sections, not
    the input's dataset loader or the learned kernels' model picker (issue 11: a kernel edit took 1-1.8 s
    when it reran the whole page). A change above (another input image) reruns the whole page, this included.
    """
    st.header("2. Kernels")
    bank, labels = kernels_section()
    st.header("3. Convolution → bias → activation → pooling")
    result = pipeline_section(picked, bank, labels)
    if result is not None:
        st.header("4. Watch the kernel slide")
        animation_section(result, labels)
        st.header("5. Explain one output value")
        explain_section(result, labels)
    # Here, inside the fragment, so that a kernel edit (which reruns only the fragment) updates the URL too.
    share_bar(KERNELS_TABLE, KERNELS_PAGE, "kernels", key="kernels_share")


ANIMATE_HELP = (
    "Play the convolution step by step: the orange window slides over the input, the middle panel multiplies "
    "the pixels under it by the kernel's weights, and their sum becomes one pixel of the output map. Building "
    "the animation takes a second or two, so it is off until you ask for it."
)
ANIMATED_STAGES = ("Convolution", "Pooling")


def _step_by(key: str, delta: int, count: int) -> None:
    st.session_state[key] = min(max(int(st.session_state.get(key, 0)) + delta, 0), count - 1)


def animation_section(result: PipelineResult, labels: list[str]) -> None:
    """Section 4: the kernel window sliding over the input while the output fills in (or the pooling window).

    Play, pause, speed and the step slider run in the browser (Plotly frames); the step buttons
    below move the starting step with a rerun.
    """
    st.markdown(
        "Watch one kernel at work: the window slides over the input one **stride** at a time (across, then "
        "down), the nine pixels under it are multiplied by the nine weights, and the **sum** of those products "
        "is written into the output. Padding is the dotted frame of zeros the window may cover. Press play, "
        "pick a speed, or drag the slider one step at a time."
    )
    remember("kernels_animate", False)
    if not st.toggle("Animate the convolution", key="kernels_animate", help=ANIMATE_HELP):
        return
    config, count = result.config, result.conv.shape[0]
    pick_col, stage_col = st.columns(2)
    with pick_col:
        remember("kernels_anim_which", 0, valid=range(count))
        if st.session_state["kernels_anim_which"] not in range(count):
            st.session_state["kernels_anim_which"] = 0
        which = st.selectbox("Kernel to animate", range(count), key="kernels_anim_which",
                             format_func=lambda i: labels[i] if i < len(labels) else f"Kernel {i + 1}",
                             help="Which kernel of your bank slides over the input.")
    stage = ANIMATED_STAGES[0]
    if result.pooled is not None:
        with stage_col:
            remember("kernels_anim_stage", ANIMATED_STAGES[0])
            stage = st.radio("Animate", ANIMATED_STAGES, key="kernels_anim_stage", horizontal=True,
                             help="Convolution: the kernel over the input. Pooling: the pooling window over the "
                                  "activated map, keeping one value per window.")
    try:
        if stage == "Pooling":
            animation = animate_pooling(result.activated[which], size=config.pool_size, stride=config.pool_stride,
                                        mode=config.pool_mode)  # type: ignore[arg-type]
        else:
            animation = animate_convolution(result.image, result.kernels[which], stride=config.stride,
                                            padding=config.padding)
    except KernelError as error:
        st.error(md_escape(str(error)), icon=":material/warning:")
        return
    steps = len(animation.steps)
    step_key = "kernels_anim_step"
    if not isinstance(st.session_state.get(step_key), int) or not 0 <= st.session_state[step_key] < steps:
        st.session_state[step_key] = 0
    back_col, next_col, _ = st.columns([1, 1, 3])
    back_col.button("◀ Step back", key="kernels_anim_back", on_click=_step_by, args=(step_key, -1, steps),
                    help="Go back one output position.")
    next_col.button("Step ▶", key="kernels_anim_next", on_click=_step_by, args=(step_key, 1, steps),
                    help="Move the window to the next output position.")
    signed = config.activation in ("none", "relu")
    # Kept for the next rerun: a change elsewhere in the playground would otherwise rebuild all its frames.
    figure = cached_large_figure(animation_figure, animation, start=int(st.session_state[step_key]), signed=signed)
    st.plotly_chart(figure, key="kernels_animation_plot")
    if animation.scaled_from is not None:
        height, width = animation.scaled_from
        st.caption(
            f"The {height}×{width} {'image' if stage != 'Pooling' else 'map'} is animated scaled down to "
            f"{animation.source.shape[0]}×{animation.source.shape[1]} (at most {MAX_ANIMATED_SIDE} pixels a side), "
            "so the animation keeps to a few hundred steps; the maps above use the full image."
        )


def _kernel_to_explain(count: int) -> int:
    if count == 1:
        return 0
    # Plain "Kernel n" labels: they stay valid when a kernel's preset changes.
    remember("kernels_which", 0, valid=range(count))
    if st.session_state["kernels_which"] not in range(count):
        st.session_state["kernels_which"] = 0
    return st.selectbox("Kernel to explain", range(count), format_func=lambda i: f"Kernel {i + 1}",
                        key="kernels_which", help="Pick the kernel whose output you want to take apart.")


def explain_section(result: PipelineResult, labels: list[str]) -> None:
    """Section 4: the patch, products and sum behind one output pixel, and one pooling window."""
    which = _kernel_to_explain(result.conv.shape[0])
    st.caption(f"Explaining kernel {labels[which]}.".replace("\\", "\\\\"))  # a lone backslash is a Markdown escape
    config, kernel, out_map = result.config, result.kernels[which], result.biased[which]
    row, col = position_picker("kernels_conv", out_map.shape, label="output")
    explanation = explain_output(result.image, kernel, row, col, stride=config.stride, padding=config.padding,
                                 bias=config.bias)
    top_bottom = padding_amounts(result.image.shape[0], kernel.shape[0], config.stride, config.padding)
    left_right = padding_amounts(result.image.shape[1], kernel.shape[1], config.stride, config.padding)
    left_plot, right_plot = st.columns(2)
    with left_plot:
        st.plotly_chart(
            cached_figure(input_figure, result.image,
                          receptive_field=(explanation.top, explanation.left, *kernel.shape),
                          padding=(*top_bottom, *left_right), title="Input: the kernel's window (receptive field)"),
            key="kernels_field_plot",
        )
    with right_plot:
        st.plotly_chart(cached_figure(clickable_map_figure, out_map, outline=(row, col, 1, 1),
                                      zrange=stage_range(out_map, True),
                                      title=f"Convolution + bias: click a pixel (now row {row}, col {col})"),
                        key="kernels_conv_chart", **CLICKS)
    st.plotly_chart(cached_figure(arithmetic_figure, explanation), key="kernels_arithmetic_plot")
    activated = float(apply_activation(explanation.value, config.activation, threshold=config.threshold))
    st.markdown(f"**Output at row {row}, column {col}:** {format_sum(explanation)}")
    st.markdown(
        f"The map above shows **{out_map[row, col]:.4g}** at this pixel. "
        f"After the activation ({config.activation}) it becomes **{activated:.4g}**."
    )
    explain(
        "What am I looking at?",
        "The orange square on the input is the window the kernel covered for this output pixel (its *receptive "
        "field*); the dotted frame shows any zero padding. Below, the window's pixels are multiplied cell by cell "
        "with the kernel's weights, and the products are added up. Adding the bias gives exactly the value in the "
        "output map. Stride moves the window by that many pixels per output step.",
    )
    if result.pooled is not None:
        _pool_window(result, which)


def _pool_window(result: PipelineResult, which: int) -> None:
    st.subheader("One pooling window")
    config, pooled, activated = result.config, result.pooled[which], result.activated[which]  # type: ignore[index]
    prow, pcol = position_picker("kernels_pool", pooled.shape, label="pooled")
    window = explain_pool(activated, prow, pcol, size=config.pool_size, stride=config.pool_stride,
                          mode=config.pool_mode)  # type: ignore[arg-type]
    signed = config.activation in ("none", "relu")
    # The same colour ranges as the pipeline's activation and pooling columns: the same map, the same colours.
    activated_range, pooled_range = stage_range(activated, signed), stage_range(pooled, signed)
    map_col, window_col, pooled_col = st.columns(3)
    with map_col:
        st.plotly_chart(
            cached_figure(clickable_map_figure, activated, diverging=signed, showscale=False,
                          title="Activated map: the window",
                          outline=(window.top, window.left, config.pool_size, config.pool_size),
                          zrange=activated_range),
            key="kernels_window_plot",
        )
    with window_col:
        st.plotly_chart(cached_figure(pool_window_figure, window, signed=signed, zrange=activated_range),
                        key="kernels_window_values")
    with pooled_col:
        st.plotly_chart(cached_figure(clickable_map_figure, pooled, diverging=signed, outline=(prow, pcol, 1, 1),
                                      title="Pooled map: click a pixel", showscale=False, zrange=pooled_range),
                        key="kernels_pool_chart", **CLICKS)
    st.markdown(
        f"**Pooled value at row {prow}, column {pcol}:** the {window.mode} of the "
        f"{config.pool_size}×{config.pool_size} window = **{window.value:.4g}** "
        f"(the pooled map shows {pooled[prow, pcol]:.4g})."
    )


def _load_learned(kernels: object) -> None:
    # Read the choices from session state: they may have changed in the same run as the click.
    chosen, slot = st.session_state["kernels_learned_pick"], st.session_state["kernels_learned_slot"]
    try:
        load_kernel(EDITOR_KEY, slot, kernels[chosen], label=f"Learned #{chosen + 1}")  # type: ignore[index]
    except KernelError as error:
        st.session_state["kernels_learned_error"] = str(error)


def learned_section() -> None:
    """Section 5: a trained model's first-layer kernels, each loadable into the editor."""
    if not st.toggle("Show a trained model's first-layer kernels", key="kernels_show_learned",
                     help="A CNN learns its kernels from data instead of having them designed. Compare them with "
                          "the presets; loading a model takes a few seconds."):
        return
    from cnnviz.ui.models import model_picker  # imported here: it loads the model store only when asked

    picked_model = model_picker("kernels_model", help="The trained network whose first convolution layer to show.")
    if picked_model is None:
        return
    try:
        learned = learned_kernels(conv_weights(picked_model.model))
    except (LayerReadError, KernelError) as error:
        st.warning(md_escape(str(error)))
        return
    titles = [f"#{index + 1} (bias {bias:.2f})" for index, bias in enumerate(learned.biases)]
    st.plotly_chart(cached_figure(bank_figure, learned.kernels, titles), key="kernels_learned_plot")
    st.caption(
        f"The {len(learned.kernels)} kernels of layer {md_code(learned.layer_name)}, red positive and blue negative "
        "weights. Many look like blurred edge or line detectors."
    )
    pick_col, slot_col, button_col = st.columns(3)
    with pick_col:
        st.selectbox("Learned kernel", range(len(learned.kernels)), key="kernels_learned_pick",
                     format_func=lambda i: titles[i], help="Which learned kernel to copy.")
    with slot_col:
        st.selectbox("Into editor slot", range(MAX_BANK), format_func=lambda i: f"kernel {i + 1}",
                     key="kernels_learned_slot", help="Which kernel of your bank it replaces.")
    with button_col:
        st.button("Load into editor", key="kernels_learned_load", on_click=_load_learned, args=(learned.kernels,),
                  help="Copy this learned kernel into your bank to apply it to the input image.")
    load_error = st.session_state.pop("kernels_learned_error", None)
    if load_error:
        st.error(md_escape(load_error))
