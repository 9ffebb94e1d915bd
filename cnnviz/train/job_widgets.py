"""This session's training job in the sidebar of every page, and the session's link to the job manager.

A training is a job of the server (:mod:`cnnviz.train.jobs`), not of a page script: it keeps running while the
learner opens other pages. ``app.py`` calls :func:`job_sidebar` once for every page: it shows the session's
job (its place in the queue or its progress) and how many trainings the server runs and queues. While the job
is active, a fragment redraws that every :data:`SIDEBAR_REFRESH_S` seconds, touches the session's heartbeat (a
tab that stops touching it is taken as closed, see :mod:`cnnviz.train.jobs`) and records finished epochs in the
session (:meth:`cnnviz.train.session.TrainSession.follow_job`), so Sketch and Inside use the newest epoch.
When the job ends, the fragment reruns the whole page once, so the page sees the result.
"""

from __future__ import annotations

import uuid

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cnnviz.train.jobs import QUEUED, Job, job_manager
from cnnviz.train.session import TrainSession
from cnnviz.ui.state import RUNS_KEY, SESSION_MODEL_KEY

#: Session-state key: the id this browser session's jobs are submitted under.
OWNER_KEY = "cnnviz_job_owner"
#: Seconds between two redraws of the sidebar while this session's job is active.
SIDEBAR_REFRESH_S = 1.0


#: Job-owner id -> the Streamlit session id of its tab, for :func:`tab_connected` (any thread reads it). One
#: short entry per browser session the server has seen (about 100 bytes), kept for the server's life.
_SESSION_IDS: dict[str, str] = {}


def session_owner() -> str:
    """This browser session's job-owner id (made on first use, kept in its session state)."""
    owner = st.session_state.get(OWNER_KEY)
    if not isinstance(owner, str):
        owner = uuid.uuid4().hex
        st.session_state[OWNER_KEY] = owner
    context = get_script_run_ctx()
    if context is not None:
        _SESSION_IDS[owner] = context.session_id
    return owner


def tab_connected(owner: str) -> bool | None:
    """Whether the browser tab of job owner ``owner`` is still connected to this server; ``None`` when unknown.

    Thread-safe (Streamlit's own check); the job manager asks it before taking a silent session as closed.
    """
    session_id = _SESSION_IDS.get(owner)
    if session_id is None or not runtime.exists():
        return None  # scripts, or a session this server never saw: the heartbeat alone decides
    return runtime.get_instance().is_active_session(session_id)


def session_job() -> Job | None:
    """This session's latest training job, or ``None``; the session counts as open (heartbeat) from now."""
    manager = job_manager()
    manager.set_session_check(tab_connected)
    owner = session_owner()
    manager.touch(owner)
    return manager.job_of(owner)


def train_session() -> TrainSession:
    """The Train page's run bookkeeping over this session's state."""
    return TrainSession(st.session_state, model_key=SESSION_MODEL_KEY, runs_key=RUNS_KEY)


def follow_session_job() -> Job | None:
    """Record in the session what its job did since the last call; return the job (``None``: there is none).

    An ended job is recorded once, then the manager forgets it (this session now holds its models and runs).
    """
    job = session_job()
    if job is not None and train_session().follow_job(job):
        job_manager().forget(session_owner())
    return job


def queue_summary() -> str:
    """``"Trainings on this server: 1 running, 2 waiting."``"""
    manager = job_manager()
    return f"Trainings on this server: {manager.running_count()} running, {manager.queue_length()} waiting."


def job_progress(job: Job) -> tuple[float, str]:
    """``(fraction done, one line)`` about an active job, for a progress bar."""
    if job.state == QUEUED:
        place = job_manager().place(job)
        return 0.0, "Your training waits in the queue" + (f": {place.describe()}." if place is not None else ".")
    if not job.runs:
        return 0.0, "Your training is starting…"
    run = job.runs[-1]
    runs = f"run {len(job.runs)} of {job.request.repeats}, " if job.request.repeats > 1 else ""
    progress = run.batch
    if progress is None:
        return 0.0, f"Your training ({runs}starting the training process)…"
    done = (progress.epoch * progress.steps + progress.step) / max(progress.epochs * progress.steps, 1)
    return min(done, 1.0), f"Your training: {runs}epoch {progress.epoch + 1}/{progress.epochs}, {done:.0%}."


def job_sidebar() -> None:
    """In the sidebar of every page: this session's job and the server's queue (see the module docstring)."""
    job = follow_session_job()
    with st.sidebar:
        if job is not None and job.active:
            _job_sidebar_fragment()
        else:
            st.caption(queue_summary(), help="Trainings run one after the other on this server (or a few at once, "
                       "as its teacher set it up), in the order they were started; each tab trains one at a time.")


@st.fragment(run_every=SIDEBAR_REFRESH_S)
def _job_sidebar_fragment() -> None:
    job = follow_session_job()
    if job is None or not job.active:
        st.rerun()  # it ended: the whole page runs once more and shows the result (the fragment is not called again)
    fraction, text = job_progress(job)
    st.progress(fraction, text=text)
    st.caption(queue_summary() + " Your training keeps running while you look at other pages; the Train page "
               "shows its charts and its Stop button.")
