"""The Challenges page in AppTest: a learner submits this session's model (graded by the server, stored, shown
as plain text), the rate limit answers a second click, teacher tools export and clear with the token, and a
broken database is a message, not an exception."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnviz.challenges.db import TEACHER_TOKEN_ENV, LeaderboardStore
from cnnviz.challenges.grading import Grade
from cnnviz.challenges.rules import Measured
from cnnviz.core.datasets import DIGIT_NAMES, load_dataset
from cnnviz.core.records import TrainedModel
from cnnviz.ui.state import SESSION_MODEL_KEY
from tests.support.apptest import app_test
from tests.support.models import tiny_cnn

PAGE = "pages/challenges.py"
INJECTION = "<img src=x onerror=alert(1)>"


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "leaderboard.db"
    monkeypatch.setenv("CNNVIZ_DB_PATH", str(path))
    monkeypatch.delenv("CNNVIZ_DB_URL", raising=False)
    return path


def _texts(app) -> str:
    return " ".join(str(element.value) for element in [*app.markdown, *app.caption, *app.info, *app.success,
                                                       *app.warning, *app.error])


def _open(*, class_code: str | None = "bio7a", trained: TrainedModel | None = None):
    app = app_test(PAGE)
    if trained is not None:
        app.session_state[SESSION_MODEL_KEY] = trained
    app.run()
    assert not app.exception, [element.value for element in app.exception]
    if class_code is not None:
        app.text_input(key="challenge_class_code").input(class_code).run()
        assert not app.exception, [element.value for element in app.exception]
    return app


def test_without_a_class_code_or_a_model_the_page_says_what_to_do(db_path: Path) -> None:
    app = _open(class_code=None)
    assert "Type your class code" in _texts(app)
    assert "98% on MNIST with at most 5,000 parameters" in _texts(app)  # the cards come before the class code
    app.text_input(key="challenge_class_code").input("bio7a").run()
    assert "Train a model on the **Train** page first" in _texts(app)
    assert app.button(key="challenge_submit").disabled
    assert "No submissions yet" in _texts(app)
    assert not db_path.exists() or LeaderboardStore(f"sqlite:///{db_path}").count() == 0


def test_submit_is_graded_by_the_server_stored_and_listed_as_plain_text(
    db_path: Path, official_test_splits_only: Path
) -> None:
    model = tiny_cnn(seed=3)
    record = TrainedModel(
        model=model,
        dataset="mnist",
        class_names=DIGIT_NAMES,
        history={"loss": [2.0, 1.5], "accuracy": [0.3, 0.5]},
        test_metrics={"accuracy": 0.99, "loss": 0.02},  # what the record claims; the server does not believe it
    )
    dataset = load_dataset("mnist")
    predicted = np.argmax(model.predict(dataset.x_test[..., None].astype(np.float32) / 255.0, verbose=0), axis=1)
    expected_accuracy = float(np.mean(predicted == dataset.y_test))  # the oracle: Keras predict + NumPy
    assert abs(expected_accuracy - 0.99) > 0.5

    app = _open(trained=record)
    app.text_input(key="challenge_nickname").input(INJECTION)
    app.button(key="challenge_submit").click().run()
    assert not app.exception, [element.value for element in app.exception]

    stored = LeaderboardStore(f"sqlite:///{db_path}").leaderboard("BIO7A", "mnist-5k")
    assert len(stored) == 1
    entry = stored[0]
    assert entry.nickname == INJECTION
    assert entry.accuracy == pytest.approx(expected_accuracy, abs=1e-9)
    assert (entry.params, entry.epochs, entry.passed) == (model.count_params(), 2, False)
    messages = _texts(app)
    assert f"{expected_accuracy:.2%}" in messages and "Not yet" in messages
    assert "record says 99.00%" in messages
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>" in messages  # escaped wherever Markdown shows it

    board = app.dataframe[0].value
    assert list(board["Nickname"]) == [INJECTION]  # a plain text cell, exactly as typed
    assert list(board["Test accuracy"]) == [f"{expected_accuracy:.2%}"]

    app.text_input(key="challenge_nickname").input("again")
    app.button(key="challenge_submit").click().run()  # within 10 s: refused before grading
    assert not app.exception
    assert any("try again in" in element.value for element in app.error)
    assert LeaderboardStore(f"sqlite:///{db_path}").count() == 1


def _seed(db_path: Path) -> None:
    store = LeaderboardStore(f"sqlite:///{db_path}")
    for index, (code, name) in enumerate([("BIO7A", "ana"), ("BIO7A", "bo"), ("CHEM2", "cy")]):
        measured = Measured(0.98 + index / 1000, 4000, 3)
        grade = Grade("mnist-5k", measured, True, ("goal met",), None, 10_000)
        store.submit(class_code=code, nickname=name, grade=grade, session_key=f"seed-{index}")
    store.dispose()


def test_teacher_exports_and_clears_a_class_with_the_token(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEACHER_TOKEN_ENV, "let-me-in")
    _seed(db_path)
    app = _open()
    assert list(app.dataframe[0].value["Nickname"]) == ["bo", "ana"]

    app.text_input(key="challenge_teacher_token").input("guess").run()
    app.button(key="challenge_export").click().run()
    assert any("not the one configured" in element.value for element in app.error)
    assert not app.get("download_button")

    app.text_input(key="challenge_teacher_token").input("let-me-in").run()
    app.button(key="challenge_export").click().run()
    assert not app.exception
    assert len(app.get("download_button")) == 1

    assert app.button(key="challenge_clear").disabled  # only after confirming
    app.checkbox(key="challenge_confirm_clear").check().run()
    app.button(key="challenge_clear").click().run()
    assert any("Deleted 2 submissions of class BIO7A" in element.value for element in app.success)
    store = LeaderboardStore(f"sqlite:///{db_path}")
    assert store.count("BIO7A") == 0 and store.count("CHEM2") == 1


def test_teacher_tools_are_off_without_a_configured_token(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TEACHER_TOKEN_ENV, raising=False)
    app = _open()
    assert any(TEACHER_TOKEN_ENV in element.value and "switched off" in element.value for element in app.info)
    with pytest.raises(KeyError):
        app.text_input(key="challenge_teacher_token")


def test_a_corrupt_database_is_a_message_and_the_page_still_works(db_path: Path) -> None:
    db_path.write_bytes(b"garbage, not SQLite " * 300)
    app = _open()
    assert not app.exception
    assert any("file is not a database" in element.value for element in app.warning)
    assert "98% on MNIST with at most 5,000 parameters" in _texts(app)  # the cards still show
