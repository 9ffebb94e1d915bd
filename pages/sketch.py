"""Sketch: draw a digit (or upload a photo), watch it prepared like MNIST, and see what a model makes of it."""

import streamlit as st

from cnnviz.sketch.sections import drawing_section, model_section
from cnnviz.sketch.share import SKETCH_TABLE
from cnnviz.ui.layout import require_router
from cnnviz.ui.sharing import restore_from_url, share_bar

require_router()
restore_from_url(SKETCH_TABLE, "pages/sketch.py")  # a shared link or a lesson picks the model

st.title(":material/draw: Sketch")
st.write(
    "Draw a digit and ask a trained network what it is. Before the network sees it, your drawing is prepared "
    "exactly the way the MNIST images were made; each step is shown below."
)

picked = model_section()
share_bar(SKETCH_TABLE, "pages/sketch.py", "sketch", key="sketch_share")  # the URL follows the model
if picked is None:
    st.stop()

drawing_section(picked)  # the canvas, its prediction and preparation: a stroke reruns only this part
