"""The Lessons page (AppTest): each step's button opens its page with the lesson's settings in its controls."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.core.share import ParamTable
from cnnviz.kernels.share import KERNELS_TABLE
from cnnviz.lessons.lessons import KERNELS, LESSONS, SKETCH, TRAIN, Lesson
from cnnviz.sketch.share import SKETCH_TABLE
from cnnviz.train.share import TRAIN_TABLE
from tests.support.apptest import APP_TIMEOUT_S
from tests.support.paths import REPO_ROOT

TABLES: dict[str, ParamTable] = {TRAIN: TRAIN_TABLE, KERNELS: KERNELS_TABLE, SKETCH: SKETCH_TABLE}


def _lessons_page() -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=APP_TIMEOUT_S).run()
    app.switch_page("pages/lessons.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _state(app: AppTest) -> dict[str, Any]:
    return app.session_state.to_dict()


def _open_step(app: AppTest, lesson: Lesson, index: int) -> AppTest:
    app.selectbox(key="lessons_pick").set_value(lesson.slug).run()
    step = lesson.steps[index]
    if step.question is not None:
        open_button = app.button(key=f"lessons_open_{lesson.slug}_{index}")
        assert open_button.disabled, "a step with a question opens only once the learner has answered"
        app.radio(key=f"lessons_answer_{lesson.slug}_{index}").set_value(step.question.choices[0]).run()
    app.button(key=f"lessons_open_{lesson.slug}_{index}").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_the_page_lists_six_lessons_of_three_to_six_steps():
    app = _lessons_page()
    assert len(app.selectbox(key="lessons_pick").options) == len(LESSONS) == 6
    assert all(3 <= len(lesson.steps) <= 6 for lesson in LESSONS)
    widgets = [*app.selectbox, *app.button, *app.radio]
    assert all(widget.help for widget in widgets), [widget.label for widget in widgets if not widget.help]


SET_UP_STEPS = [(lesson, index) for lesson in LESSONS for index, step in enumerate(lesson.steps)
                if step.page in (TRAIN, KERNELS)]


@pytest.mark.parametrize(("lesson", "index"), SET_UP_STEPS,
                         ids=[f"{lesson.slug}-{index + 1}" for lesson, index in SET_UP_STEPS])
def test_each_step_opens_its_page_with_the_lessons_settings(lesson: Lesson, index: int):
    step = lesson.steps[index]
    table = TABLES[step.page]
    app = _open_step(_lessons_page(), lesson, index)
    expected, ignored = table.decode(step.params)
    assert ignored == [], "a lesson's link holds only settings the page can read"
    shown = table.encode(table.current(_state(app)))
    assert app.query_params == shown, "the page's URL says what its controls show"
    wanted = table.encode(expected)
    if step.page == TRAIN and "n" in wanted:
        # More training images than this machine's copy of the dataset has: the slider stops at all of them.
        slider = app.slider(key="train_train_size")
        assert slider.value == min(int(wanted.pop("n")), slider.max)
        shown.pop("n", None)
    assert shown == wanted

def test_progress_and_answers_survive_a_visit_to_the_page_a_step_opened():
    lesson = LESSONS[0]
    app = _open_step(_lessons_page(), lesson, 1)  # answers the question, opens Train
    app.switch_page("pages/lessons.py").run()
    app.selectbox(key="lessons_pick").set_value(lesson.slug).run()
    assert "Your first CNN (1 of 4 steps done)" in app.selectbox(key="lessons_pick").options
    assert app.radio(key=f"lessons_answer_{lesson.slug}_1").value == lesson.steps[1].question.choices[0]
    app.button(key=f"lessons_reveal_{lesson.slug}_1").click().run()
    reveal = [info.value for info in app.info if info.value.startswith("You said")]
    assert reveal and "no finished run yet" in reveal[0]


def test_the_reveal_reads_the_learners_own_run():
    from cnnviz.core.records import RunRecord
    from cnnviz.ui.state import RUNS_KEY

    app = _lessons_page()
    run = RunRecord(run_id=1, dataset="mnist", spec={"dropout": 0.25}, config={"epochs": 12},
                    history={"accuracy": [0.9, 0.95], "val_accuracy": [0.97, 0.981]}, test_metrics={"accuracy": 0.979},
                    status="finished")
    app.session_state[RUNS_KEY] = [run]
    app.radio(key="lessons_answer_first-cnn_1").set_value("Below").run()
    app.button(key="lessons_reveal_first-cnn_1").click().run()
    reveal = [info.value for info in app.info if info.value.startswith("You said")][0]
    for number in ("95.0%", "98.1%", "97.9%", "3.1 points", "below"):
        assert number in reveal
