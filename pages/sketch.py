"""Sketch: draw a digit (or upload a photo), watch it prepared like MNIST, and see what a model makes of it."""

import streamlit as st

from cnnviz.sketch.figures import model_input_figure, probabilities_figure, steps_figure
from cnnviz.core.predict import UNSURE_BELOW, PredictionError, is_unsure, predict_probabilities, top_guesses
from cnnviz.sketch.preprocess import EmptySketchError, SketchInputError, framing_for, preprocess_steps
from cnnviz.ui.layout import explain, require_router
from cnnviz.ui.models import model_picker
from cnnviz.sketch.widgets import photo_input, sketch_canvas
from cnnviz.ui.state import get_session_model, set_latest_sketch

require_router()

#: The shipped model the page starts with when this session has not trained one.
DEFAULT_CHOICE = "file:default_mnist"
WHAT_TO_DRAW = {
    "mnist": "a digit from 0 to 9",
    "digits": "a digit from 0 to 9",
    "fashion_mnist": "a piece of clothing: a T-shirt, trousers, a shoe, a bag...",
    "kmnist": "one of ten hiragana characters (お き す つ な は ま や れ を)",
}

st.title("✏️ Sketch")
st.write(
    "Draw a digit and ask a trained network what it is. Before the network sees it, your drawing is prepared "
    "exactly the way the MNIST images were made; each step is shown below."
)

if "sketch_model" not in st.session_state and get_session_model() is None:
    st.session_state["sketch_model"] = DEFAULT_CHOICE
picked = model_picker(
    "sketch_model",
    label="Model",
    help="The network that reads your drawing. The shipped MNIST model reads digits; a Fashion-MNIST or "
    "Kuzushiji-MNIST model will try to read your drawing as clothing or as a hiragana character.",
)
if picked is None:
    st.stop()
framing = framing_for(picked.dataset)
st.caption(
    f"This model was trained on **{picked.dataset}**: draw {WHAT_TO_DRAW.get(picked.dataset, 'something')}. "
    f"Its classes: {', '.join(picked.class_names)}."
)

left, right = st.columns([1, 1.4], gap="large")
with left:
    source = st.radio(
        "Input",
        ["Draw", "Upload a photo"],
        horizontal=True,
        key="sketch_source",
        help="Draw with the mouse (or a finger) on the canvas, or upload a photo of a digit written on paper.",
    )
    if source == "Draw":
        brush = st.slider(
            "Brush width",
            5,
            40,
            20,
            key="sketch_brush",
            help="How thick the pen is, in canvas pixels. MNIST digits were written with a pen about a tenth "
            "as thick as the digit is tall; the preprocessing copes with thinner or thicker strokes.",
        )
        image = sketch_canvas("sketch", brush_width=brush)
        photo = False
    else:
        image = photo_input("sketch_photo")
        photo = True

if image is None:
    with right:
        st.info("Draw a digit on the canvas (or upload a photo): the prediction appears here after each stroke.")
    st.stop()

try:
    result = preprocess_steps(image, photo=photo, framing=framing)
except EmptySketchError as error:
    with right:
        st.info(str(error))
    st.stop()
except SketchInputError as error:
    with right:
        st.error(str(error))
    st.stop()
set_latest_sketch(result.output)

try:
    probabilities = predict_probabilities(picked.model, result.output)
    guesses = top_guesses(probabilities, picked.class_names, k=3)
except PredictionError as error:
    with right:
        st.error(f"This model could not make a prediction. {error}")
    st.stop()

with right:
    best = guesses[0]
    if is_unsure(probabilities):
        st.subheader(f"Prediction: unsure (best guess {best.name})")
        st.warning(
            f"The model is unsure: its best guess, **{best.name}**, gets only {best.probability:.0%}. "
            "Try drawing larger, more carefully, or in the middle of the canvas."
        )
    else:
        st.subheader(f"Prediction: {best.name}")
    columns = st.columns(len(guesses))
    for rank, (column, guess) in enumerate(zip(columns, guesses, strict=True), start=1):
        column.metric(
            f"Guess {rank}",
            guess.name,
            f"{guess.probability:.1%}",
            delta_color="off",
            delta_arrow="off",
            help="The model's probability for this class: how sure it is, according to its softmax output.",
        )
    st.plotly_chart(
        probabilities_figure(probabilities, picked.class_names, unsure_below=UNSURE_BELOW),
        key="sketch_probabilities",
    )
    explain(
        "What am I looking at?",
        "The network's last layer (softmax) turns its scores into one probability per class; they add up to "
        f"100%. The red bar is its answer. Below the dashed line ({UNSURE_BELOW:.0%}) the page calls the model "
        "unsure instead of pretending: a network always picks *something*, even for a scribble.",
    )

st.subheader("How your drawing was prepared")
st.plotly_chart(steps_figure(result.steps), key="sketch_steps")
st.markdown("\n".join(f"{n}. **{step.title}.** {step.explanation}" for n, step in enumerate(result.steps, start=1)))
explain(
    "Why prepare the drawing at all?",
    "MNIST digits were scanned, cropped to the ink, scaled so the longer side is 20 pixels and placed in a "
    "28x28 image with their centre of mass in the middle. A network trained on them has never seen a digit in "
    "a corner, or filling the whole image, or drawn with a hair-thin line. Without these steps a model that is "
    "98% accurate on MNIST guesses on real sketches. " + framing.description,
)

with st.expander("The 28x28 image the model sees"):
    st.plotly_chart(model_input_figure(result.output), key="sketch_model_input")
    st.caption(
        "Hover a pixel to see its value (0 = black background, 1 = full ink). This image is also kept for the "
        "Inside page, so you can look at what each layer does with your own drawing."
    )
