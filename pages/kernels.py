"""Kernels: apply your own kernels to real images and see convolution, activation and pooling step by step."""

from __future__ import annotations

import streamlit as st

from cnnviz.kernels.figures import (
    arithmetic_figure,
    bank_figure,
    clickable_map_figure,
    input_figure,
    pipeline_figure,
    pool_window_figure,
)
from cnnviz.core.layers import LayerReadError, conv_weights
from cnnviz.kernels.explain import explain_output, explain_pool, format_sum, pipeline_formulas
from cnnviz.kernels.ops import KernelError, PipelineResult, apply_activation, padding_amounts, run_pipeline
from cnnviz.kernels.presets import learned_kernels
from cnnviz.kernels.widgets import (
    input_picker,
    keep,
    kernel_editor,
    kernel_labels,
    load_kernel,
    pipeline_controls,
    position_picker,
)
from cnnviz.ui.layout import explain, require_router

require_router()

RESULT_KEY = "kernels_last_result"
EDITOR_KEY = "kernel"

st.title("Kernel playground")
st.markdown(
    "A convolution layer slides small grids of weights (**kernels**) over an image. At each position it multiplies "
    "the pixels under the kernel by the weights and adds the products up. Try the tutorial's four line filters on "
    "a handwritten 2, then make your own."
)
st.caption(
    "Note: what deep learning calls a *convolution* is, strictly, a **cross-correlation**: the kernel is not "
    "flipped before it slides. Mathematicians' convolution flips it; TensorFlow, PyTorch and this page do not."
)

# 1. Input ---------------------------------------------------------------------------------------
st.header("1. Input image")
controls, picture = st.columns([1, 2])
with controls:
    picked = input_picker("kernels_input")
image = picked.image if picked is not None else None
with picture:
    if image is not None:
        st.plotly_chart(input_figure(image, title=f"{picked.label} ({image.shape[0]}×{image.shape[1]})", height=320),
                        key="kernels_input_plot")
        st.caption("Grey values from 0 (black) to 1 (white); hover a pixel to read its value.")

# 2. Kernels ---------------------------------------------------------------------------------------
st.header("2. Kernels")
bank = kernel_editor(EDITOR_KEY)
labels = kernel_labels(EDITOR_KEY)

# 3. Pipeline -------------------------------------------------------------------------------------
st.header("3. Convolution → bias → activation → pooling")
config = pipeline_controls("kernels_pipe")

result: PipelineResult | None = None
if image is not None:
    try:
        result = run_pipeline(image, bank, config)
    except KernelError as error:
        st.error(str(error), icon="⚠️")
        previous = st.session_state.get(RESULT_KEY)
        if isinstance(previous, PipelineResult):
            st.caption("Showing the previous result until the settings work again.")
            result = previous
    else:
        st.session_state[RESULT_KEY] = result
else:
    st.info("Choose an input image above to run the kernels.")

if result is not None:
    st.markdown("**Output size**, with your numbers (⌊ ⌋ rounds down):")
    st.markdown("\n".join(f"- {line}" for line in pipeline_formulas(result)))
    st.plotly_chart(pipeline_figure(result, labels[: result.conv.shape[0]]), key="kernels_pipeline_plot")
    explain(
        "What am I looking at?",
        "Each row is one kernel, each column one stage. **Convolution**: the raw sums of products; red is "
        "positive (the image looks like the kernel there), blue negative, white zero. **+ bias**: the same map "
        "shifted by the bias. **Activation**: the non-linearity (ReLU, sigmoid or the tutorial's threshold). "
        "**Pooling**: each window summarised by one number, so the map shrinks. The shape of each map is in its "
        "title; hover any pixel for its value.",
    )

    # 4. Explain one value ------------------------------------------------------------------------
    st.header("4. Explain one output value")
    count = result.conv.shape[0]
    which = 0
    if count > 1:
        # Plain "Kernel n" labels: they stay valid when a kernel's preset changes.
        keep("kernels_which", 0)
        if st.session_state["kernels_which"] not in range(count):
            st.session_state["kernels_which"] = 0
        which = st.selectbox("Kernel to explain", range(count), format_func=lambda i: f"Kernel {i + 1}",
                             key="kernels_which", help="Pick the kernel whose output you want to take apart.")
    st.caption(f"Explaining kernel {labels[which]}.".replace("\\", "\\\\"))  # a lone backslash is a Markdown escape
    kernel = result.kernels[which]
    out_map = result.biased[which]
    row, col = position_picker("kernels_conv", out_map.shape, label="output")
    explanation = explain_output(result.image, kernel, row, col, stride=config.stride, padding=config.padding,
                                 bias=config.bias)
    top_bottom = padding_amounts(result.image.shape[0], kernel.shape[0], config.stride, config.padding)
    left_right = padding_amounts(result.image.shape[1], kernel.shape[1], config.stride, config.padding)
    left_plot, right_plot = st.columns(2)
    with left_plot:
        st.plotly_chart(
            input_figure(result.image, receptive_field=(explanation.top, explanation.left, *kernel.shape),
                         padding=(*top_bottom, *left_right), title="Input: the kernel's window (receptive field)"),
            key="kernels_field_plot",
        )
    with right_plot:
        st.plotly_chart(
            clickable_map_figure(out_map, outline=(row, col, 1, 1),
                                 title=f"Convolution + bias: click a pixel (now row {row}, col {col})"),
            key="kernels_conv_chart",
            on_select="rerun",
            selection_mode="points",
            config={"displayModeBar": False},
        )
    st.plotly_chart(arithmetic_figure(explanation), key="kernels_arithmetic_plot")
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
        st.subheader("One pooling window")
        pooled = result.pooled[which]
        prow, pcol = position_picker("kernels_pool", pooled.shape, label="pooled")
        pool_explanation = explain_pool(result.activated[which], prow, pcol, size=config.pool_size,
                                        stride=config.pool_stride, mode=config.pool_mode)  # type: ignore[arg-type]
        signed = config.activation in ("none", "relu")
        map_col, window_col, pooled_col = st.columns(3)
        with map_col:
            st.plotly_chart(
                clickable_map_figure(result.activated[which], diverging=signed,
                                     outline=(pool_explanation.top, pool_explanation.left, config.pool_size,
                                              config.pool_size), title="Activated map: the window", showscale=False),
                key="kernels_window_plot",
            )
        with window_col:
            st.plotly_chart(pool_window_figure(pool_explanation, signed=signed), key="kernels_window_values")
        with pooled_col:
            st.plotly_chart(
                clickable_map_figure(pooled, diverging=signed, outline=(prow, pcol, 1, 1),
                                     title="Pooled map: click a pixel", showscale=False),
                key="kernels_pool_chart",
                on_select="rerun",
                selection_mode="points",
                config={"displayModeBar": False},
            )
        st.markdown(
            f"**Pooled value at row {prow}, column {pcol}:** the {pool_explanation.mode} of the "
            f"{config.pool_size}×{config.pool_size} window = **{pool_explanation.value:.4g}** "
            f"(the pooled map shows {pooled[prow, pcol]:.4g})."
        )

# 5. Learned kernels ------------------------------------------------------------------------------
st.header("5. Kernels a network learned")
if st.toggle("Show a trained model's first-layer kernels", key="kernels_show_learned",
             help="A CNN learns its kernels from data instead of having them designed. Compare them with the presets; "
                  "loading a model takes a few seconds."):
    from cnnviz.ui.models import model_picker

    picked_model = model_picker("kernels_model", help="The trained network whose first convolution layer to show.")
    if picked_model is not None:
        try:
            learned = learned_kernels(conv_weights(picked_model.model))
        except (LayerReadError, KernelError) as error:
            st.warning(str(error))
        else:
            titles = [f"#{index + 1} (bias {bias:.2f})" for index, bias in enumerate(learned.biases)]
            st.plotly_chart(bank_figure(learned.kernels, titles), key="kernels_learned_plot")
            st.caption(
                f"The {len(learned.kernels)} kernels of layer `{learned.layer_name}`, red positive and blue negative "
                "weights. Many look like blurred edge or line detectors."
            )
            pick_col, slot_col, button_col = st.columns(3)
            with pick_col:
                st.selectbox("Learned kernel", range(len(learned.kernels)), key="kernels_learned_pick",
                                      format_func=lambda i: titles[i], help="Which learned kernel to copy.")
            with slot_col:
                st.selectbox("Into editor slot", range(8), format_func=lambda i: f"kernel {i + 1}",
                                    key="kernels_learned_slot", help="Which kernel of your bank it replaces.")

            def _load(kernels: object) -> None:
                # Read the choices from session state: they may have changed in the same run as the click.
                chosen, slot = st.session_state["kernels_learned_pick"], st.session_state["kernels_learned_slot"]
                try:
                    load_kernel(EDITOR_KEY, slot, kernels[chosen], label=f"Learned #{chosen + 1}")  # type: ignore[index]
                except KernelError as error:
                    st.session_state["kernels_learned_error"] = str(error)

            with button_col:
                st.button("Load into editor", key="kernels_learned_load", on_click=_load, args=(learned.kernels,),
                          help="Copy this learned kernel into your bank to apply it to the input image.")
            load_error = st.session_state.pop("kernels_learned_error", None)
            if load_error:
                st.error(load_error)
