"""The Lessons page: pick a lesson, follow its steps, predict before you train, then reveal with your own numbers.

A step's button opens its page already set up through the share link (``st.switch_page`` with the step's
query parameters; the target page reads them with :func:`cnnviz.ui.sharing.restore_from_url`). Progress,
answers and reveals are kept in the session, so they are still there after a visit to the Train page.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from cnnviz.core.text import md_escape
from cnnviz.lessons.lessons import LESSONS, Lesson, Step, lesson_by_slug, progress_text
from cnnviz.ui.links import page_title
from cnnviz.ui.sharing import open_link
from cnnviz.ui.state import get_runs, remember

#: Steps the learner opened: ``{lesson slug: [step indices]}``.
PROGRESS_KEY = "cnnviz_lessons_progress"
#: Questions whose answer the learner revealed: a set of ``"slug:index"``.
REVEALED_KEY = "cnnviz_lessons_revealed"
#: The step button clicked in the previous run, whose page switch is still to happen: ``(page, params)``.
PENDING_KEY = "cnnviz_lessons_pending"
#: The lesson picker's widget key.
PICK_KEY = "lessons_pick"

PICK_HELP = ("Each lesson retells one of the classic tutorials in a few steps. A step's button opens the right "
             "page already set up; you can change anything there and come back here for the next step.")
ANSWER_HELP = ("Guess before you try: a prediction you made yourself is what makes the result stick. There is no "
               "score; the reveal uses the numbers of your own run.")


def _progress() -> dict[str, list[int]]:
    return st.session_state.setdefault(PROGRESS_KEY, {})


def _open(slug: str, index: int, page: str, params: Mapping[str, str]) -> None:
    # A callback records the click (and the progress) before the rerun; st.switch_page cannot run in a callback,
    # so the switch happens at the top of the next run (see lessons_page).
    done = _progress().setdefault(slug, [])
    if index not in done:
        done.append(index)
    st.session_state[PENDING_KEY] = (page, dict(params))


def _reveal(name: str) -> None:
    st.session_state.setdefault(REVEALED_KEY, set()).add(name)


def _question(lesson: Lesson, index: int, step: Step) -> bool:
    """Ask the step's question; return whether the learner has answered it (the step's button waits for that)."""
    question = step.question
    if question is None:
        return True
    name = f"{lesson.slug}:{index}"
    key = f"lessons_answer_{lesson.slug}_{index}"
    remember(key, None, valid=(None, *question.choices))
    answer = st.radio(f"**Predict first:** {question.prompt}", question.choices, key=key, index=None,
                      horizontal=True, help=ANSWER_HELP)
    st.button("Reveal", key=f"lessons_reveal_{lesson.slug}_{index}", on_click=_reveal, args=(name,),
              disabled=answer is None, icon=":material/visibility:",
              help="Shows what happened, with the numbers of your latest runs. Answer first.")
    if name in st.session_state.get(REVEALED_KEY, set()) and answer is not None:
        st.info(f"You said: **{md_escape(answer)}**. {question.reveal(list(get_runs()))}", icon=":material/lightbulb:")
    return answer is not None


def _step(lesson: Lesson, index: int, step: Step) -> None:
    with st.container(border=True):
        done = index in _progress().get(lesson.slug, [])
        st.markdown(f"**Step {index + 1}**" + (" :material/check_circle: done" if done else ""))
        st.markdown(step.text)
        answered = _question(lesson, index, step)
        st.button(
            step.button, key=f"lessons_open_{lesson.slug}_{index}", type="primary" if not done else "secondary",
            icon=":material/open_in_new:", on_click=_open, args=(lesson.slug, index, step.page, step.params),
            disabled=not answered,
            help=f"Opens the {page_title(step.page)} page already set up for this step"
            + (" (answer the question above first)." if not answered else ". Come back here for the next step."),
        )


def lessons_page() -> None:
    """The whole Lessons page below its title: a pending step's page switch, the picker, the chosen lesson."""
    pending = st.session_state.pop(PENDING_KEY, None)
    if pending is not None:
        page, params = pending
        open_link(page, params)
    slugs = [lesson.slug for lesson in LESSONS]
    remember(PICK_KEY, slugs[0], valid=slugs)
    progress = _progress()
    slug = st.selectbox(
        "Lesson", slugs, key=PICK_KEY, help=PICK_HELP,
        format_func=lambda s: f"{lesson_by_slug(s).title} ({progress_text(progress, lesson_by_slug(s))})",  # type: ignore[union-attr]
    )
    lesson = lesson_by_slug(slug)
    if lesson is None:  # pragma: no cover - the selectbox offers only known slugs
        return
    st.subheader(lesson.title)
    st.caption(f"After: {lesson.source}. {progress_text(progress, lesson).capitalize()}.")
    st.write(lesson.summary)
    for index, step in enumerate(lesson.steps):
        _step(lesson, index, step)
