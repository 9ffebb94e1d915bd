"""The studio's pages: one entry each, used by the router (app.py) and the Home page's cards.

To add a page, add a :class:`PageInfo` here; app.py and Home pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class PageInfo:
    """A page of the studio: its script, title, icon and a one-line summary for Home.

    ``icon`` is one of Streamlit's bundled Material icons (``":material/home:"``), never an emoji:
    emoji render as empty boxes where the system has no emoji font, the Material font ships with Streamlit.
    """

    path: str
    title: str
    icon: str
    summary: str


PAGES: list[PageInfo] = [
    PageInfo("pages/home.py", "Home", ":material/home:", "What the studio teaches and where to start."),
    PageInfo(
        "pages/data.py",
        "Data",
        ":material/dataset:",
        "Browse MNIST, Fashion-MNIST, Kuzushiji-MNIST and the built-in digits: samples, class counts, "
        "average images and pixel statistics.",
    ),
    PageInfo(
        "pages/train.py",
        "Train",
        ":material/model_training:",
        "Design a CNN with sliders, see its layer shapes and parameters, train it live with epoch-by-epoch "
        "charts, stop it, save it and compare runs.",
    ),
    PageInfo(
        "pages/kernels.py",
        "Kernels",
        ":material/grid_on:",
        "Apply the tutorial's line filters or your own 3x3 kernels to any image and see convolution, "
        "activation and pooling step by step, down to the arithmetic of one output pixel.",
    ),
    PageInfo(
        "pages/sketch.py",
        "Sketch",
        ":material/draw:",
        "Draw a digit (or upload a photo), watch it prepared like MNIST step by step, and see what a model reads.",
    ),
    PageInfo(
        "pages/inside.py",
        "Inside",
        ":material/biotech:",
        "Follow one image through every layer, see the learned filters (and watch them learn), ask which "
        "pixels made the decision, and click into the confusion matrix to see where the model goes wrong.",
    ),
    PageInfo(
        "pages/lessons.py",
        "Lessons",
        ":material/school:",
        "Six guided lessons from the classic tutorials (your first CNN, edges by hand, harder data...): each step "
        "opens its page already set up; predict, train, then reveal with your own numbers.",
    ),
    PageInfo(
        "pages/challenges.py",
        "Challenges",
        ":material/emoji_events:",
        "Meet a goal such as 98% on MNIST with at most 5,000 parameters: the server tests your model itself, "
        "and your class's leaderboard fills up live.",
    ),
]


def streamlit_pages() -> list[st.Page]:
    """The pages as ``st.Page`` objects for ``st.navigation`` (Home is the default)."""
    return [
        st.Page(info.path, title=info.title, icon=info.icon, default=index == 0) for index, info in enumerate(PAGES)
    ]
