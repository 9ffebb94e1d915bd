"""Challenges: goals for a trained model, graded by the server, and a live leaderboard per class."""

import streamlit as st

from cnnviz.challenges.widgets import (
    challenge_cards,
    challenge_picker,
    class_code_input,
    how_it_works,
    leaderboard_section,
    submit_section,
    teacher_section,
)
from cnnviz.ui.layout import require_router

require_router()

st.title(":material/emoji_events: Challenges")
st.write(
    "Train a model on the Train page, then see whether it meets a goal. The server tests your model itself, "
    "and your class's leaderboard shows everyone's results as they come in."
)

challenge_cards()
how_it_works()
st.divider()

challenge = challenge_picker()
class_code = class_code_input()
if class_code is None:
    st.stop()

submit_section(challenge, class_code)
leaderboard_section(class_code, challenge)
teacher_section(class_code)
