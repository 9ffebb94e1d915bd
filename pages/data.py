"""Data: explore a dataset before training on it."""

import streamlit as st

from cnnviz.data.widgets import overview_section, samples_section, summaries_section
from cnnviz.ui.datasets import dataset_picker
from cnnviz.ui.layout import require_router

require_router()

st.title(":material/dataset: Data")
st.write("A network only learns what is in its data. Look at the images before you train on them.")

dataset = dataset_picker("data_dataset")
if dataset is None:
    st.stop()

overview_section(dataset)
samples_section(dataset)
summaries_section(dataset)
