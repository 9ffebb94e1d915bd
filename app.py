"""cnnviz entry point: page config, shared sidebar and navigation. Nothing else.

Run with ``streamlit run app.py`` (or ``make run``).
"""

import streamlit as st

from cnnviz.ui.layout import render_sidebar

st.set_page_config(page_title="cnnviz: see a CNN learn", page_icon="🧠", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/data.py", title="Data", icon="🗂️"),
]

page = st.navigation(PAGES)
render_sidebar()
page.run()
