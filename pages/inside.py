"""Inside: look inside a trained CNN (feature maps, filters, saliency) and see where it goes wrong."""

from __future__ import annotations

import streamlit as st

from cnnviz.inside.sections import choose_section, follow_link, show_section, usable_test_split
from cnnviz.ui.layout import require_router
from cnnviz.ui.models import model_picker

require_router()

st.title("Inside the network")
st.markdown(
    "Tutorials say that a CNN's early layers find edges and its later layers find larger shapes. "
    "Check it on a real model: follow one image through every layer, look at the filters it learned, "
    "ask which pixels made it decide, and find out where it goes wrong on the test split."
)
follow_link()  # a sketch, a photo or a saved run opened here from another page; "Back to ..." returns

picked = model_picker(
    "inside_model",
    label="Model to look inside",
    help="The model you trained in this session, a model shipped with the studio, or one you saved. "
    "Everything on this page is computed from its weights.",
)
if picked is None:
    st.stop()  # The picker has said why and how to get a model.

dataset = usable_test_split(picked)  # None (with a warning) when its test images cannot be used
show_section(choose_section(), picked, dataset)
