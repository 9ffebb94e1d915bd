"""Sketch: draw a digit (or upload a photo), watch it prepared like MNIST, and see what a model makes of it."""

import streamlit as st

from cnnviz.sketch.sections import drawing_section, model_section
from cnnviz.ui.layout import require_router

require_router()

st.title(":material/draw: Sketch")
st.write(
    "Draw a digit and ask a trained network what it is. Before the network sees it, your drawing is prepared "
    "exactly the way the MNIST images were made; each step is shown below."
)

picked = model_section()
if picked is None:
    st.stop()

drawing_section(picked)  # the canvas, its prediction and preparation: a stroke reruns only this part
