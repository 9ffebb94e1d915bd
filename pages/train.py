"""Train: design a CNN with controls, watch it train epoch by epoch, stop it, save it, compare runs."""

import streamlit as st

from cnnviz.train.coach_widgets import show_coach
from cnnviz.train.share import TRAIN_TABLE
from cnnviz.train.widgets import (
    config_controls,
    finish_interrupted_run,
    live_maps_controls,
    live_training,
    repeat_button,
    save_blocker,
    saved_model_links,
    show_design,
    show_outcome,
    show_result,
    show_runs,
    spec_controls,
    train_live,
)
from cnnviz.ui.datasets import dataset_picker, get_dataset
from cnnviz.ui.layout import require_router
from cnnviz.ui.models import save_model_form
from cnnviz.ui.sharing import restore_from_url, share_bar
from cnnviz.ui.state import get_session_model

require_router()
restore_from_url(TRAIN_TABLE, "pages/train.py")  # a shared link or a lesson sets the controls

st.title(":material/model_training: Train")
st.write(
    "Build the kind of network the Keras tutorials build — convolutions, pooling, dropout, dense layers, a "
    "softmax output — with the controls below, then watch it learn one epoch at a time."
)

# This session's training job (it runs on the server, whatever page is open) is recorded first: epochs, its end.
finish_interrupted_run(get_dataset)

dataset = dataset_picker("train_dataset")
if dataset is None:
    st.stop()

design, preview = st.columns(2, gap="large")
with design:
    st.subheader("1. Design the network")
    spec = spec_controls("train")
    st.subheader("2. Choose how to train")
    config = config_controls("train", max_train_size=len(dataset.x_train), class_names=dataset.class_names)

with preview:
    st.subheader("Your network")
    buildable = show_design(spec, config, dataset)
share_bar(TRAIN_TABLE, "pages/train.py", "train", key="train_share")  # the URL follows the controls

start = st.button(
    "Train", key="train_start", type="primary", icon=":material/play_arrow:", disabled=not buildable,
    help="Build a fresh network with these settings and train it; the charts update after every epoch.",
)
repeat = repeat_button(disabled=not buildable)
watch = live_maps_controls(dataset)
if (start or repeat) and buildable:
    train_live(dataset, spec, config, repeat=repeat, watch_image=watch)
live_training()

show_outcome()
show_coach(get_dataset)
trained = get_session_model()
if trained is not None:
    st.subheader("3. Your trained model")
    st.caption(f"{trained.name}, trained on {trained.dataset}. Other pages (Inside, Sketch) can use it right away.")
    show_result(trained)
    st.markdown("**Save it** to find it again later and on other pages, or download it.")
    trained_data = get_dataset(trained.dataset)
    save_model_form(trained, key="train_save", data_note=trained_data.note, split=trained_data.split_sizes(),
                    disabled_reason=save_blocker())
    saved_model_links("train_save")

st.subheader(f"{4 if trained is not None else 3}. Runs in this session")
show_runs()
