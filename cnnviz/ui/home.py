"""Content of the Home page: the concepts the studio teaches and a card per page."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui.pages import PAGES

#: (concept, one-paragraph explanation in the words of the tutorials our users read).
CONCEPTS: list[tuple[str, str]] = [
    ("Convolution", "A small grid of weights (a *kernel* or *filter*, often 3x3) slides over the image; at each "
     "position it multiplies the pixels under it by its weights and adds them up. The result, a *feature map*, "
     "is bright where the image looks like the kernel: an edge, a line, a corner."),
    ("Filters", "A convolution layer learns many kernels at once (for example 32). Each produces its own "
     "feature map, so the layer turns one grey image into 32 maps of different features."),
    ("ReLU", "The activation max(0, x) keeps positive responses and zeroes negative ones. It is cheap and keeps "
     "gradients alive, which is why it replaced sigmoid and tanh in most CNNs."),
    ("Pooling", "Max pooling keeps the largest value in each 2x2 window and halves the width and height: the "
     "network keeps *whether* a feature is there and forgets exactly where, and later layers see a wider area."),
    ("Flatten and dense layers", "After the conv blocks the feature maps are unrolled into one long vector; "
     "dense (fully connected) layers combine all of those features to decide on a class."),
    ("Dropout", "During training a random share of activations is set to zero at every step, so the network "
     "cannot rely on any single feature. It reduces overfitting; at prediction time nothing is dropped."),
    ("Softmax", "The last layer gives one score per class; softmax turns the scores into probabilities that sum "
     "to 1. The prediction is the class with the largest probability (the argmax)."),
    ("Training", "The optimizer (Adam, SGD, ...) repeatedly nudges every weight to lower the *loss* (how wrong "
     "the predictions are) on small batches of training images. One pass over the data is an *epoch*; the "
     "validation images, never trained on, show whether the network generalises or just memorises."),
]


def render_concepts() -> None:
    """Two columns of short concept explanations."""
    left, right = st.columns(2)
    for index, (concept, text) in enumerate(CONCEPTS):
        with (left if index % 2 == 0 else right):
            st.markdown(f"**{concept}.** {text}")


def render_page_cards() -> None:
    """One bordered card per page (except Home), with a link to it."""
    cards = [info for info in PAGES if info.path != "pages/home.py"]
    columns = st.columns(min(3, max(1, len(cards))))
    for index, info in enumerate(cards):
        with columns[index % len(columns)].container(border=True):
            st.markdown(f"#### {info.icon} {info.title}")
            st.write(info.summary)
            st.page_link(info.path, label=f"Open {info.title}", icon=":material/arrow_forward:")
