"""Trainings are jobs of the session (issue 12): they outlive the page, queue fairly and say where they stand.

The backend is tests.support.jobs.GatedBackend (epoch 1 at once, then it trains until the test releases it), so
what the page shows is checked at known moments; the job manager, the session bookkeeping and the pages are real.
"""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from cnnviz.train.job_widgets import OWNER_KEY
from cnnviz.train.jobs import QUEUED, RUNNING, STOPPED
from cnnviz.ui.state import RUNS_KEY, SESSION_MODEL_KEY
from tests.support.apptest import APP_TIMEOUT_S, app_test
from tests.support.jobs import GatedBackend, install_job_manager, run_until_trained
from tests.support.jobs import small_settings as _small_settings

SEED = 42  # the page's default seed: the gate of a session's training


def small_settings(app):
    """The digits, one small conv block, no dense layer, 3 epochs on 200 images."""
    return _small_settings(app, epochs=3)


def job_of(manager, app):
    return manager.job_of(app.session_state[OWNER_KEY])


def sidebar_script() -> None:
    from cnnviz.train.job_widgets import job_sidebar

    job_sidebar()


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_training_keeps_running_on_other_pages_and_the_train_page_shows_it_again(monkeypatch):
    import cnnviz.ui.layout

    # Under app.py in AppTest, require_router finds the legacy-pages flag set again on every run and reruns at
    # once, which swallows a click on the page; the router is app.py here, so the check has nothing to do.
    monkeypatch.setattr(cnnviz.ui.layout, "require_router", lambda: None)
    backend = GatedBackend()
    manager = install_job_manager(monkeypatch, backend, name="local")
    app = app_test("app.py").run()
    app.switch_page("pages/train.py").run()
    small_settings(app)
    app.button(key="train_start").click().run()
    job = job_of(manager, app)
    wait_for(lambda: job.runs and job.runs[0].epochs)

    app.switch_page("pages/data.py").run()  # today this stopped the training; now it goes on
    assert not app.exception, [e.value for e in app.exception]
    assert job.state == RUNNING and not job.stop_requested
    # AppTest runs a page's script alone after switch_page (no app.py, so no sidebar): the sidebar is run by itself.
    sidebar = AppTest.from_function(sidebar_script, default_timeout=APP_TIMEOUT_S)
    sidebar.session_state[OWNER_KEY] = app.session_state[OWNER_KEY]
    sidebar.run()
    bars = [bar.proto.text for bar in sidebar.sidebar.get("progress")]
    assert any(text.startswith("Your training: epoch 1/3") for text in bars), bars
    assert any("1 running, 0 waiting" in caption.value for caption in sidebar.sidebar.caption)

    app.switch_page("pages/train.py").run()
    assert not app.exception, [e.value for e in app.exception]
    trained = app.session_state[SESSION_MODEL_KEY]  # epoch 1 is this session's model: other pages can use it
    assert len(trained.history["loss"]) == 1 and app.session_state[RUNS_KEY][-1].status == "running"
    assert any("Training Run 1 on" in info.value and "(local backend)" in info.value for info in app.info)
    assert app.button(key="train_stop").label == "Stop"
    assert len(app.get("plotly_chart")) >= 2  # the live loss and accuracy charts, redrawn from the job

    app.button(key="train_stop").click().run()  # only Stop stops it; the finished epoch is kept
    run_until_trained(app)
    assert job.state == STOPPED
    warnings = [warning.value for warning in app.warning]
    assert any("Run 1 stopped after 1 of 3 epochs" in text for text in warnings), warnings
    assert app.session_state[RUNS_KEY][-1].status == "stopped"
    assert [metric.label for metric in app.metric][1:3] == ["Test accuracy", "Test loss"]


def test_three_sessions_see_their_places_a_second_training_and_a_full_queue_are_refused(monkeypatch):
    backend = GatedBackend()
    manager = install_job_manager(monkeypatch, backend, limit=2)
    apps = [small_settings(app_test("pages/train.py").run()) for _ in range(4)]
    first, second, third, fourth = apps
    for app in (first, second, third):
        app.button(key="train_start").click().run()
        assert not app.exception, [e.value for e in app.exception]
    jobs = [job_of(manager, app) for app in (first, second, third)]
    assert [job.state for job in jobs] == [RUNNING, QUEUED, QUEUED]
    infos = {name: [info.value for info in app.info] for name, app in (("second", second), ("third", third))}
    assert any("waits in the queue: 1 training ahead of yours" in text for text in infos["second"]), infos
    assert any("waits in the queue: 2 trainings ahead of yours" in text for text in infos["third"]), infos
    assert third.button(key="train_stop").label == "Leave the queue"

    fourth.button(key="train_start").click().run()  # the queue holds 2
    assert any("Training did not start" in error.value and "queue is full" in error.value for error in fourth.error)
    first.button(key="train_start").click().run()  # one training per session
    assert any("Training did not start" in error.value and "still running" in error.value for error in first.error)

    third.button(key="train_stop").click().run()  # leaving the queue: the next one moves up
    run_until_trained(third)
    assert any("left the queue" in warning.value for warning in third.warning)
    assert not third.session_state[RUNS_KEY]
    backend.release(SEED)  # the same default seed: both remaining trainings may finish
    for app in (first, second):
        run_until_trained(app)
        assert any("Run 1 finished 3 epochs" in message.value for message in app.success)
    assert jobs[1].waited_s > 0 and manager.queue_length() == 0


def test_a_closed_tab_stops_its_running_training(monkeypatch):
    backend = GatedBackend()
    manager = install_job_manager(monkeypatch, backend, orphan_after_s=3.0)
    app = small_settings(app_test("pages/train.py").run())
    app.button(key="train_start").click().run()
    job = job_of(manager, app)
    wait_for(lambda: job.runs and job.runs[0].epochs)
    # The tab is gone: nothing touches the session's heartbeat any more.
    wait_for(lambda: not job.active, timeout=30)
    assert job.state == STOPPED and job.stop_reason == "closed" and job.runs[0].result.epochs_done == 1
