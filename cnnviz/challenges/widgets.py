"""The Challenges page's parts: the cards, the class code, the submit form, the live leaderboard, teacher tools.

``pages/challenges.py`` calls them in order. Every number on the leaderboard comes from the server's own
grading (:mod:`cnnviz.challenges.grading`) of the model in this session; the browser sends only a
nickname and a class code. Nicknames are shown only as ``st.dataframe`` text cells or through
:func:`cnnviz.core.text.md_escape`: never as Markdown or HTML (``st.table`` would render Markdown in cells).
A database that cannot be used gives a message here; the rest of the studio never touches it.
"""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from cnnviz.challenges.db import (
    NICKNAME_MAX,
    TEACHER_TOKEN_ENV,
    Entry,
    LeaderboardError,
    clean_class_code,
    clean_nickname,
    default_store,
    session_hash,
    teacher_actions_enabled,
)
from cnnviz.challenges.grading import Grade, GradingError, grade
from cnnviz.challenges.rules import CHALLENGES, Challenge, get_challenge
from cnnviz.core.datasets import DATASETS, DatasetError
from cnnviz.core.text import md_escape
from cnnviz.ui.datasets import get_dataset
from cnnviz.ui.layout import explain
from cnnviz.ui.state import get_session_model, remember

#: Seconds between two refreshes of the leaderboard (it shows classmates' submissions as they arrive).
LEADERBOARD_REFRESH_S = 5
#: A random key per browser session: the rate limit's key (stored only as a hash).
SESSION_KEY = "cnnviz_challenge_session"
#: The latest submission's outcome in this session, as plain data, shown until the next one.
LAST_RESULT_KEY = "cnnviz_challenge_last_result"
#: Widget keys.
CHALLENGE_WIDGET, CLASS_WIDGET, NICKNAME_WIDGET = "challenge_pick", "challenge_class_code", "challenge_nickname"
TOKEN_WIDGET, CONFIRM_WIDGET = "challenge_teacher_token", "challenge_confirm_clear"


def _session_key() -> str:
    return st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex)


def challenge_cards() -> None:
    """The challenges as cards, two per row: title, goal, dataset and why it is worth trying."""
    columns = st.columns(2)
    for index, challenge in enumerate(CHALLENGES):
        with columns[index % 2].container(border=True):
            st.markdown(f"**{challenge.title}**")
            st.write(challenge.goal)
            st.caption(f"{challenge.why} Dataset: {DATASETS[challenge.dataset].title}.")


def challenge_picker() -> Challenge:
    """The challenge to submit to and to show the leaderboard of."""
    ids = [challenge.id for challenge in CHALLENGES]
    remember(CHALLENGE_WIDGET, ids[0], valid=ids)
    chosen = st.selectbox(
        "Challenge",
        ids,
        format_func=lambda challenge_id: get_challenge(challenge_id).title,
        key=CHALLENGE_WIDGET,
        help="The challenge your model is graded for, and whose leaderboard is shown below.",
    )
    return get_challenge(chosen)


def class_code_input() -> str | None:
    """The class code (a teacher hands it out); the cleaned code, or ``None`` with a message when missing or bad."""
    remember(CLASS_WIDGET, "")
    typed = st.text_input(
        "Class code",
        key=CLASS_WIDGET,
        max_chars=12,
        placeholder="e.g. BIO7A",
        help="Your teacher gives the class a short code (3 to 12 letters or digits). Everyone who types the same "
        "code shares one leaderboard; capitals do not matter.",
    )
    if not typed.strip():
        st.info("Type your class code to see your class's leaderboard and to submit a model.", icon=":material/group:")
        return None
    try:
        return clean_class_code(typed)
    except LeaderboardError as error:
        st.error(str(error), icon=":material/error:")  # our own sentence; it does not quote the input
        return None


def _model_summary(trained: Any, challenge: Challenge) -> None:
    epochs = len(trained.history.get("loss", []))
    accuracy = trained.test_metrics.get("accuracy")
    reported = f", test accuracy {accuracy:.2%} as the Train page measured it" if accuracy is not None else ""
    params = trained.model.count_params()
    info = DATASETS.get(trained.dataset)
    trained_on = info.title if info is not None else trained.dataset
    st.caption(
        f"This session's model: trained on {md_escape(trained_on)}, "
        f"{params:,} parameters, {epochs} epoch{'s' if epochs != 1 else ''}{reported}."
    )
    if trained.dataset != challenge.dataset:
        st.warning(
            f"This challenge is played on {DATASETS[challenge.dataset].title}; your model was trained on another "
            "dataset. Train one on the Train page with the dataset above, then come back.",
            icon=":material/swap_horiz:",
        )


def _submit(trained: Any, challenge: Challenge, class_code: str, nickname: str) -> dict[str, Any]:
    """Grade and store; return the outcome as plain data. Raises LeaderboardError, GradingError, DatasetError."""
    clean_nickname(nickname)  # refuse a bad nickname before the (slower) grading
    store = default_store()
    key = _session_key()
    store.limiter.check(session_hash(key))  # refuse early, before grading; submit() records it
    dataset = get_dataset(challenge.dataset)
    with st.spinner(f"Testing your model on the {len(dataset.y_test):,} test images of {dataset.title}…"):
        result: Grade = grade(trained, challenge, dataset)
    entry: Entry = store.submit(class_code=class_code, nickname=nickname, grade=result, session_key=key)
    return {
        "challenge": challenge.id,
        "class_code": entry.class_code,
        "nickname": entry.nickname,
        "accuracy": result.measured.accuracy,
        "params": result.measured.params,
        "epochs": result.measured.epochs,
        "passed": result.passed,
        "reasons": list(result.reasons),
        "claimed": result.claimed_accuracy,
        "test_images": result.test_images,
        "dataset": dataset.title,
    }


def _show_result(outcome: dict[str, Any]) -> None:
    name = md_escape(outcome["nickname"])
    summary = (
        f"Submitted as {name} to class {outcome['class_code']}: the server measured "
        f"**{outcome['accuracy']:.2%}** on {outcome['test_images']:,} test images, "
        f"{outcome['params']:,} parameters, {outcome['epochs']} epoch{'s' if outcome['epochs'] != 1 else ''}."
    )
    reasons = "; ".join(outcome["reasons"])
    if outcome["passed"]:
        st.success(f"{summary} Goal met!", icon=":material/emoji_events:")
    else:
        st.warning(f"{summary} Not yet: {reasons}. Your entry is on the leaderboard below the ones that met the goal.",
                   icon=":material/flag:")
    claimed = outcome.get("claimed")
    if claimed is not None and abs(claimed - outcome["accuracy"]) >= 0.0005:
        st.caption(
            f"Your model's record says {claimed:.2%}; the leaderboard uses the server's own measurement on "
            f"{outcome['dataset']}'s test split, never a number from the record or the browser."
        )


def submit_section(challenge: Challenge, class_code: str) -> None:
    """Submit this session's trained model with a nickname; show what the server measured."""
    st.subheader("Submit your model")
    trained = get_session_model()
    if trained is None:
        st.info(
            "Train a model on the **Train** page first (pick the challenge's dataset there); this page submits "
            "the model trained in this browser session.",
            icon=":material/model_training:",
        )
    else:
        _model_summary(trained, challenge)
    with st.form("challenge_submit_form", border=False):
        nickname = st.text_input(
            "Nickname",
            key=NICKNAME_WIDGET,
            max_chars=NICKNAME_MAX,
            help=f"How the leaderboard names you (at most {NICKNAME_MAX} characters). Classmates see it: "
            "pick a nickname, not your full name.",
        )
        sent = st.form_submit_button(
            "Submit this session's model",
            key="challenge_submit",
            icon=":material/upload:",
            disabled=trained is None,
            help="The server tests the model itself on the dataset's whole test split and reads its parameters "
            "and epochs from the model and its training record; one submission every 10 seconds.",
        )
    if sent and trained is not None:
        try:
            st.session_state[LAST_RESULT_KEY] = _submit(trained, challenge, class_code, nickname)
        except (LeaderboardError, GradingError, DatasetError) as error:
            st.error(md_escape(error), icon=":material/error:")
    outcome = st.session_state.get(LAST_RESULT_KEY)
    if outcome and outcome["challenge"] == challenge.id:
        _show_result(outcome)


def leaderboard_rows(entries: list[Entry]) -> list[dict[str, Any]]:
    """One plain row per entry for ``st.dataframe``: rank, nickname (plain text), result and when."""
    return [
        {
            "Rank": place,
            "Nickname": entry.nickname,
            "Goal met": "yes" if entry.passed else "no",
            "Test accuracy": f"{entry.accuracy:.2%}",
            "Parameters": entry.params,
            "Epochs": entry.epochs,
            "Submitted (UTC)": entry.created_at.strftime("%H:%M:%S"),
        }
        for place, entry in enumerate(entries, start=1)
    ]


@st.fragment(run_every=LEADERBOARD_REFRESH_S)
def leaderboard_section(class_code: str, challenge: Challenge) -> None:
    """The class's leaderboard for one challenge, refreshed every few seconds as classmates submit."""
    st.subheader(f"Leaderboard of class {class_code}")
    rule = (
        "fewest parameters first (among models at or above the accuracy goal)"
        if challenge.ranking == "fewest_params"
        else "highest test accuracy first (among models that meet the goal)"
    )
    st.caption(
        f"{challenge.title}: {rule}; models that miss the goal come after. Each nickname's best entry is shown. "
        f"Updates every {LEADERBOARD_REFRESH_S} s."
    )
    try:
        entries = default_store().leaderboard(class_code, challenge.id)
    except LeaderboardError as error:
        st.warning(md_escape(error), icon=":material/database:")
        return
    if not entries:
        st.caption("No submissions yet for this challenge in this class. Be the first!")
        return
    st.dataframe(
        leaderboard_rows(entries),
        hide_index=True,
        width="stretch",
        column_config={
            # A TextColumn shows the nickname as typed: no Markdown, no HTML.
            "Nickname": st.column_config.TextColumn("Nickname", help="As the learner typed it."),
            "Parameters": st.column_config.NumberColumn("Parameters", format="localized"),
        },
        key=f"challenge_board_{challenge.id}",
    )


def teacher_section(class_code: str) -> None:
    """For the teacher: export the class's submissions as CSV, or clear them, with the server's teacher token."""
    with st.expander("Teacher tools: export or clear this class"):
        if not teacher_actions_enabled():
            st.info(
                f"Teacher tools are switched off on this server. Whoever runs it turns them on by setting "
                f"{TEACHER_TOKEN_ENV} to a secret token, which the teacher then types here.",
                icon=":material/lock:",
            )
            return
        token = st.text_input(
            "Teacher token",
            type="password",
            key=TOKEN_WIDGET,
            help="The secret set on the server. Without it, nobody can export or clear a class.",
        )
        store = default_store()
        if st.button("Prepare the CSV of this class", key="challenge_export", icon=":material/table:",
                     help="Every submission of the class: time, challenge, nickname, measured accuracy, parameters, "
                     "epochs and whether the goal was met."):
            try:
                data = store.export_csv(class_code, token)
            except LeaderboardError as error:
                st.error(md_escape(error), icon=":material/error:")
            else:
                st.download_button(
                    f"Download cnnviz-{class_code}.csv",
                    data,
                    file_name=f"cnnviz-{class_code}.csv",
                    mime="text/csv",
                    on_click="ignore",
                    key="challenge_download",
                )
        confirmed = st.checkbox(
            f"Yes, delete every submission of class {class_code}",
            key=CONFIRM_WIDGET,
            help="Clearing cannot be undone: export the CSV first if you want to keep the results.",
        )
        if st.button("Clear this class", key="challenge_clear", icon=":material/delete:", disabled=not confirmed):
            try:
                deleted = store.clear_class(class_code, token)
            except LeaderboardError as error:
                st.error(md_escape(error), icon=":material/error:")
            else:
                st.success(f"Deleted {deleted} submission{'s' if deleted != 1 else ''} of class {class_code}.")


def how_it_works() -> None:
    """A short expander: who measures what, and why."""
    explain(
        "How is a submission graded?",
        "The server tests **the model trained in this session** on the challenge dataset's whole test split, "
        "images the model never trained on, and counts its parameters and training epochs itself. The accuracy "
        "your browser shows or the model's record claims is never used, so everybody is measured the same way. "
        "One submission every 10 seconds per session, 20 an hour.",
    )
