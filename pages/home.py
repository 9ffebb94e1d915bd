"""Home: what the studio teaches, and where each idea lives."""

import streamlit as st

from cnnviz.ui.home import render_concepts, render_page_cards
from cnnviz.ui.layout import require_router

require_router()

st.title(":material/neurology: cnnviz: see a convolutional neural network learn")
st.write(
    "You have read a *build your first CNN in Keras* tutorial. Here you can **see** every step of it: "
    "look at the images, design a small CNN with sliders, watch it train epoch by epoch, slide your own "
    "kernels over real images, look inside the trained network and sketch a digit for it to recognise."
)

st.subheader("The pages")
render_page_cards()

st.subheader("The ideas, in one paragraph each")
render_concepts()
