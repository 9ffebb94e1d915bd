"""cnnviz entry point: page config, shared sidebar and navigation. Nothing else.

Run with ``streamlit run app.py`` (or ``make run``). Pages are listed in
``cnnviz/ui/pages.py``; add new ones there.
"""

from pathlib import Path

import streamlit as st

from cnnviz.core.diagnostics import enable_stack_dumps
from cnnviz.train.job_widgets import job_sidebar
from cnnviz.ui.layout import render_sidebar
from cnnviz.ui.pages import streamlit_pages
from cnnviz.ui.runtime import keep_keras_state

enable_stack_dumps()  # `kill -USR1 <server pid>` writes every thread's stack to the log
keep_keras_state()  # Streamlit would clear Keras after every rerun: costly while a training runs (cnnviz.ui.runtime)
# The tab icon is a file of ours: a ":material/..." page icon makes the browser fetch it from fonts.gstatic.com,
# which fails offline (a console error on every page) and tells Google about every visit.
FAVICON = Path(__file__).parent / "cnnviz" / "ui" / "favicon.png"
st.set_page_config(page_title="cnnviz: see a CNN learn", page_icon=str(FAVICON), layout="wide")

page = st.navigation(streamlit_pages())
render_sidebar()
job_sidebar()  # this session's training job and the server's queue, on every page
page.run()
