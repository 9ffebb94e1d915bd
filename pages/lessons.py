"""Lessons: the classic tutorials the studio grew from, step by step, each step opening its page already set up."""

import streamlit as st

from cnnviz.lessons.widgets import lessons_page
from cnnviz.ui.layout import require_router

require_router()

st.title(":material/school: Lessons")
st.write(
    "Six short lessons retell the tutorials this studio grew from. Each step's button opens the right page with "
    "the tutorial's settings already chosen; before you train, predict what will happen, then reveal the answer "
    "with the numbers of your own run."
)

lessons_page()
