"""Kernels: apply your own kernels to real images and see convolution, activation and pooling step by step."""

from __future__ import annotations

import streamlit as st

from cnnviz.kernels.sections import input_section, learned_section, playground_section
from cnnviz.kernels.share import KERNELS_TABLE
from cnnviz.ui.layout import require_router
from cnnviz.ui.sharing import restore_from_url

require_router()
restore_from_url(KERNELS_TABLE, "pages/kernels.py")  # a shared link or a lesson sets the controls

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

st.header("1. Input image")
picked = input_section()

playground_section(picked)  # sections 2-5, rerun on their own when a kernel or setting changes

st.header("6. Kernels a network learned")
learned_section()
