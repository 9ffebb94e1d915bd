"""The Sketch page's sections: the model, the drawing with its prediction, how it was prepared and how robust it is.

``pages/sketch.py`` calls them in order: the model (it stops when there is none), then the drawing with its
prediction, preparation and robustness, one fragment that a stroke reruns alone. A drawing that is missing or
cannot be read ends it early with a message saying why.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import numpy as np
import streamlit as st

from cnnviz.core.datasets import DatasetError
from cnnviz.core.embedding import EmbeddingError
from cnnviz.core.figures import probability_figure
from cnnviz.core.images import ModelInputError
from cnnviz.core.predict import UNSURE_BELOW, PredictionError, is_unsure, predict_probabilities, top_guesses
from cnnviz.core.text import md_escape
from cnnviz.sketch.figures import model_input_figure, steps_figure, sweep_figure, sweep_images_figure
from cnnviz.sketch.live import LiveFrameError, decode_live_frame, live_model_input
from cnnviz.sketch.preprocess import (
    TOO_LITTLE_INK,
    EmptySketchError,
    Preprocessed,
    SketchInputError,
    framing_for,
    preprocess_steps,
    too_little_ink,
)
from cnnviz.sketch.robustness import (
    SWEEPS,
    Familiarity,
    FamiliarityReference,
    RobustnessError,
    Sweep,
    drawing_familiarity,
    familiarity_reference,
    familiarity_sentence,
    held_sentence,
    sweep,
)
from cnnviz.sketch.widgets import PHOTO_KEY, live_canvas_frame, park_canvas, photo_input, sketch_canvas
from cnnviz.ui.datasets import get_dataset
from cnnviz.ui.layout import explain
from cnnviz.ui.links import back_button, link_button, take_link
from cnnviz.ui.models import PickedModel, model_picker
from cnnviz.ui.state import get_session_model, set_latest_sketch

#: The shipped model the page starts with when this session has not trained one.
DEFAULT_CHOICE = "file:default_mnist"
#: The model picker's widget key; a saved model's option is ``"file:<name>"`` (see ``cnnviz.ui.models``).
MODEL_KEY = "sketch_model"
FILE_OPTION_PREFIX = "file:"
#: This page's path and the Inside page's, as links name them.
SKETCH_PAGE, INSIDE_PAGE = "pages/sketch.py", "pages/inside.py"
#: What to draw for a model trained on each dataset.
WHAT_TO_DRAW = {
    "mnist": "a digit from 0 to 9",
    "digits": "a digit from 0 to 9",
    "fashion_mnist": "a piece of clothing: a T-shirt, trousers, a shoe, a bag...",
    "kmnist": "one of ten hiragana characters (お き す つ な は ま や れ を)",
}
#: Short dataset names for sentences ("How MNIST-like is this drawing?").
SHORT_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "kmnist": "Kuzushiji-MNIST", "digits": "digits"}
#: The one line that explains the reading while drawing.
LIVE_CAPTION = (
    "**While you draw**, the page reads the canvas about five times a second, prepares it like a finished stroke "
    "and asks the model, so you see its answer change as the digit takes shape; the prediction beside the canvas, "
    "made when you release the mouse, is the one that counts."
)
#: What the robustness section turns into a message instead of a traceback.
ROBUSTNESS_ERRORS = (RobustnessError, EmbeddingError, ModelInputError, PredictionError, DatasetError)


def _open_link(payload: object) -> None:
    """A link that names a saved model (``{"model": "<file name>"}``) selects it, before the picker is drawn."""
    model = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(model, str) or not model.strip():
        st.warning("The link named no model, so the page shows the model you had.")
        return
    stem = PurePath(model.strip()).name.removesuffix(".keras")  # a file name, never a path
    st.session_state[MODEL_KEY] = FILE_OPTION_PREFIX + stem


def model_section() -> PickedModel | None:
    """Pick the model that reads the drawing (this session's, else the shipped MNIST one) and say what to draw.

    A link from another page (:mod:`cnnviz.ui.links`) with ``{"model": "<saved model file name>"}`` selects
    that model first and offers the way back; a model that is not there is reported by the picker.
    """
    link = take_link(SKETCH_PAGE)
    if link is not None:
        _open_link(dict(link.payload))
    back_button(SKETCH_PAGE)
    if MODEL_KEY not in st.session_state and get_session_model() is None:
        st.session_state[MODEL_KEY] = DEFAULT_CHOICE
    picked = model_picker(
        MODEL_KEY,
        label="Model",
        help="The network that reads your drawing. The shipped MNIST model reads digits; a Fashion-MNIST or "
        "Kuzushiji-MNIST model will try to read your drawing as clothing or as a hiragana character.",
    )
    if picked is not None:
        # The dataset and class names come from the model's sidecar (user-written): shown as typed.
        st.caption(
            f"This model was trained on **{md_escape(picked.dataset)}**: "
            f"draw {WHAT_TO_DRAW.get(picked.dataset, 'something')}. "
            f"Its classes: {', '.join(md_escape(name) for name in picked.class_names)}."
        )
    return picked


def _drawing(picked: PickedModel) -> tuple[object, bool]:
    """The canvas or the photo upload; returns (uint8 image or None, whether it is a photo)."""
    source = st.radio(
        "Input",
        ["Draw", "Upload a photo"],
        horizontal=True,
        key="sketch_source",
        help="Draw with the mouse (or a finger) on the canvas, or upload a photo of a digit written on paper.",
    )
    if source != "Draw":
        park_canvas("sketch")  # the drawing comes back when the learner returns to Draw
        return photo_input(PHOTO_KEY), True
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
    live_section(picked)
    return image, False


def live_section(picked: PickedModel) -> None:
    """The model's reading of the stroke while it is drawn, under the canvas; each frame reruns the drawing.

    The frames come from the canvas's companion script (:func:`cnnviz.sketch.widgets.live_canvas_frame`) and go
    through the same preprocessing as a released stroke. A frame that cannot be read, or a model that cannot
    answer, shows nothing here: the released stroke's prediction says what is wrong.

    Not a fragment nested in the drawing's fragment: Streamlit's browser side now and then lost track of a nested
    fragment's block while the drawing reran ("Cannot set a node at a delta path", "Bad delta path index"),
    which blanked the page or left the stroke unread (about 1 in 30-75 clear-then-draw rounds). A frame reruns
    the drawing fragment instead, one frame at a time.
    """
    payload = live_canvas_frame("sketch")
    st.caption(LIVE_CAPTION)
    try:
        frame = decode_live_frame(payload)
    except LiveFrameError:
        return
    if frame is None or frame.image is None:
        return  # nothing drawn yet, or the mouse was released
    try:
        image = live_model_input(frame.image, framing=framing_for(picked.dataset))
        if image is None:
            st.markdown("**While drawing:** too little ink to read yet.")
            return
        probabilities = predict_probabilities(picked.model, image)
    except (SketchInputError, PredictionError):
        return
    best = top_guesses(probabilities, picked.class_names, k=1)[0]
    with st.container(key="sketch_live_reading"):
        st.markdown(f"**While drawing:** {md_escape(best.name)} ({best.probability:.0%}) · update {frame.seq}")
        st.plotly_chart(
            probability_figure(probabilities, picked.class_names, unsure_below=UNSURE_BELOW, height=180),
            key="sketch_live_probabilities",
        )


def sketch_section(picked: PickedModel) -> Preprocessed | None:
    """The drawing on the left, the model's answer on the right; returns the prepared drawing, or ``None``.

    The prepared 28x28 image is kept for the other pages (:func:`cnnviz.ui.state.set_latest_sketch`).
    """
    left, right = st.columns([1, 1.4], gap="large")
    with left:
        image, photo = _drawing(picked)
    if image is None:
        if not photo:
            right.info("Draw a digit on the canvas (or upload a photo): the prediction appears here after each stroke.")
        elif st.session_state.get(PHOTO_KEY) is None:  # a file that could not be read is explained under it
            right.info("Upload a photo of one digit written on paper: the prediction appears here.")
        return None
    try:
        result = preprocess_steps(image, photo=photo, framing=framing_for(picked.dataset))  # type: ignore[arg-type]
    except EmptySketchError as error:
        right.info(str(error))
        return None
    except SketchInputError as error:
        right.error(str(error))
        return None
    if too_little_ink(result):
        right.info(TOO_LITTLE_INK)
        return None
    set_latest_sketch(result.output, source="photo" if photo else "sketch")
    try:
        probabilities = predict_probabilities(picked.model, result.output)
        guesses = top_guesses(probabilities, picked.class_names, k=3)
    except PredictionError as error:
        right.error(f"This model could not make a prediction. {error}")
        return None
    with right:
        best = guesses[0]
        name = md_escape(best.name)  # a class name from the model's sidecar
        if is_unsure(probabilities):
            st.subheader(f"Prediction: unsure (best guess {name})")
            st.warning(
                f"The model is unsure: its best guess, **{name}**, gets only {best.probability:.0%}. "
                "Try drawing larger, more carefully, or in the middle of the canvas."
            )
        else:
            st.subheader(f"Prediction: {name}")
        for rank, (column, guess) in enumerate(zip(st.columns(len(guesses)), guesses, strict=True), start=1):
            column.metric(
                f"Guess {rank}",
                guess.name,
                f"{guess.probability:.1%}",
                delta_color="off",
                delta_arrow="off",
                help="The model's probability for this class: how sure it is, according to its softmax output.",
            )
        st.plotly_chart(
            probability_figure(probabilities, picked.class_names, unsure_below=UNSURE_BELOW, height=320),
            key="sketch_probabilities",
        )
        explain(
            "What am I looking at?",
            "The network's last layer (softmax) turns its scores into one probability per class; they add up to "
            f"100%. The red bar is its answer. Below the dashed line ({UNSURE_BELOW:.0%}) the page calls the model "
            "unsure instead of pretending: a network always picks *something*, even for a scribble.",
        )
        _inside_link(result, photo)
    return result


def _inside_link(result: Preprocessed, photo: bool) -> None:
    """The button that opens the Inside page on this prepared drawing (and on this model when it is a saved one)."""
    payload: dict[str, object] = {"image": result.output, "source": "photo" if photo else "sketch"}
    choice = st.session_state.get(MODEL_KEY)
    if isinstance(choice, str) and choice.startswith(FILE_OPTION_PREFIX):
        payload["model"] = choice.removeprefix(FILE_OPTION_PREFIX)
    if not photo and st.session_state.get("sketch_inside_link"):
        park_canvas("sketch")  # clicked: the drawing is given back to the canvas on the way back
    link_button(
        "Look inside the network with this drawing",
        INSIDE_PAGE,
        payload,
        origin=SKETCH_PAGE,
        key="sketch_inside_link",
        help="Opens the Inside page on the 28x28 image the model just read, so you can see what each layer "
        "computes from it. 'Back to Sketch' brings you back here.",
    )


@st.fragment
def drawing_section(picked: PickedModel) -> None:
    """The drawing, its prediction and how it was prepared: one fragment, so a stroke reruns only this.

    Drawing used to rerun the whole page (the model picker, which lists and checks the saved models,
    included; issue 11). A change of model above reruns the whole page, this included. No fragment is nested
    in this one (see :func:`live_section`).
    """
    result = sketch_section(picked)
    if result is not None:
        preparation_section(result, picked.dataset)
    robustness_section(picked, None if result is None else result.output)


def preparation_section(result: Preprocessed, dataset: str) -> None:
    """Every preprocessing step as a picture and a sentence, and the 28x28 image the model saw."""
    st.subheader("How your drawing was prepared")
    st.plotly_chart(steps_figure(result.steps), key="sketch_steps")
    st.markdown("\n".join(f"{n}. **{step.title}.** {step.explanation}" for n, step in enumerate(result.steps, 1)))
    explain(
        "Why prepare the drawing at all?",
        "MNIST digits were scanned, cropped to the ink, scaled so the longer side is 20 pixels and placed in a "
        "28x28 image with their centre of mass in the middle. A network trained on them has never seen a digit in "
        "a corner, or filling the whole image, or drawn with a hair-thin line. Without these steps a model that is "
        "98% accurate on MNIST guesses on real sketches. " + framing_for(dataset).description,
    )
    with st.expander("The 28x28 image the model sees"):
        st.plotly_chart(model_input_figure(result.output), key="sketch_model_input")
        st.caption(
            "Hover a pixel to see its value (0 = black background, 1 = full ink). This image is also kept for the "
            "Inside page, so you can look at what each layer does with your own drawing."
        )


@st.cache_data(max_entries=32, show_spinner=False)
def cached_sweep(_model: Any, version: str, image: np.ndarray, key: str) -> Sweep:
    """One robustness sweep of a prepared drawing (see :func:`cnnviz.sketch.robustness.sweep`), per model version."""
    return sweep(_model, image, key)


@st.cache_resource(max_entries=4, show_spinner="Measuring how the model sees its training images (once per model)…")
def cached_familiarity_reference(_model: Any, version: str, dataset_name: str) -> FamiliarityReference:
    """The model's training index and the distances of typical test images, built once per model version.

    A shared resource (read-only arrays, ~5 MB for the shipped models), not a copy per rerun: every stroke
    reads it. See :func:`cnnviz.sketch.robustness.familiarity_reference`.
    """
    dataset = get_dataset(dataset_name)
    return familiarity_reference(_model, dataset.x_train, dataset.y_train, dataset.x_test)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_familiarity(_model: Any, version: str, dataset_name: str, image: np.ndarray) -> Familiarity:
    """How familiar the prepared drawing looks to the model (see :func:`cnnviz.sketch.robustness.familiarity`)."""
    return drawing_familiarity(_model, cached_familiarity_reference(_model, version, dataset_name), image)


def _sweep_chart(picked: PickedModel, image: np.ndarray, class_names: list[str]) -> None:
    """The sweep chooser, its chart, the sentence saying where the answer holds, and the changed drawings."""
    key = st.radio(
        "Change the drawing by",
        list(SWEEPS),
        format_func=lambda option: SWEEPS[option].title,
        horizontal=True,
        key="sketch_sweep",
        help="Each option changes the prepared 28x28 drawing step by step (moving it 1 pixel, turning it 5 degrees, "
        "...) and asks the model again about every changed copy, all in one go.",
    )
    result = cached_sweep(picked.model, picked.version, image, key)
    st.plotly_chart(sweep_figure(result, picked.class_names), key="sketch_sweep_chart")
    st.markdown(held_sentence(result, class_names))
    st.plotly_chart(sweep_images_figure(result, picked.class_names), key="sketch_sweep_images")
    st.caption(
        "Some of the changed drawings, each with the model's answer. The red line above is the class it gives your "
        "drawing as it is (at the dashed line); where another line rises above it, the model changes its mind."
    )


def _familiarity(picked: PickedModel, image: np.ndarray) -> None:
    """How MNIST-like the drawing is to the model, against the dataset's own test images."""
    name = md_escape(SHORT_NAMES.get(picked.dataset, picked.dataset))
    st.markdown(f"**How {name}-like is this drawing?**")
    try:
        result = cached_familiarity(picked.model, picked.version, picked.dataset, image)
    except DatasetError as error:
        st.caption(
            f"This needs the model's training images ({name}), which could not be loaded here: "
            f"{md_escape(str(error))}"
        )
        return
    sentence = familiarity_sentence(result, name)
    (st.warning if result.out_of_distribution else st.info)(sentence)
    explain(
        "How is this measured?",
        "The network's **penultimate layer** turns every image into a list of numbers, the features its last layer "
        "decides from. The page finds the 9 training images whose lists point most nearly the same way as your "
        "drawing's (**cosine** similarity) and measures how far they are on average (1 - similarity: "
        f"{result.distance:.3f} for your drawing). It does the same for 1,000 of the dataset's test images (their "
        f"median is {result.typical:.3f}) and says where your drawing falls among them. A drawing farther than "
        "95% of them is **out of distribution**: the model has no training to go on, and softmax still answers "
        "with confidence.",
    )


def robustness_section(picked: PickedModel, image: np.ndarray | None) -> None:
    """Sweeps of shift, rotation, scale and stroke width, and how familiar the drawing is to the model.

    Part of the drawing's fragment (choosing another sweep reruns the drawing; the sweeps are cached): as a
    fragment nested in it, its block was now and then addressed where the browser no longer had it ("Bad delta
    path index 6 (should be between [0, 2])") while the drawing reran after a stroke or Clear, which blanked the
    page. Without a drawing, one caption says what the section will show.
    """
    if image is None:
        st.caption(
            "**How robust is the reading?** Once there is a digit to read (drawn or from a photo), the page moves, "
            "turns, resizes and thickens it to show when the model changes its mind."
        )
        return
    st.subheader("How robust is the reading?")
    class_names = [md_escape(name) for name in picked.class_names]  # names from the model's sidecar
    st.write(
        "Would the model still give the same answer if you had drawn a little to the left, tilted, smaller or "
        "bolder? Pick a change: the chart shows every class's probability as the drawing changes step by step."
    )
    try:
        _sweep_chart(picked, image, class_names)
        explain(
            "Why do CNNs fail when a digit is off-centre or turned?",
            "Every MNIST digit was scaled into a 20x20 box and centred by its centre of mass, so the network learned "
            "from digits that are always in the same place, upright and of one size. A convolution finds a stroke "
            "wherever it is, but the dense layers at the end read *where* each feature was found, and each 2x2 "
            "pooling forgives only about a pixel of shift. So a 7 drawn higher, or turned by 30 degrees, can "
            "become something else. That is why the page prepares your drawing the MNIST way first, and why "
            "training with shifted and rotated copies (data augmentation) makes a model sturdier.",
        )
        _familiarity(picked, image)
    except ROBUSTNESS_ERRORS as error:
        st.error(f"The robustness of this reading could not be measured. {md_escape(str(error))}")
