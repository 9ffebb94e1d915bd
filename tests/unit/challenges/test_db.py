"""The submissions store on SQLite and on a real PostgreSQL server: storing, ranking, concurrency,
teacher actions, nickname and class-code rules, the rate limit, and clear failures."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from cnnviz.challenges.db import (
    NICKNAME_MAX,
    TEACHER_TOKEN_ENV,
    DatabaseUnavailableError,
    InvalidSubmissionError,
    LeaderboardStore,
    RateLimitedError,
    RateLimiter,
    TeacherActionsDisabledError,
    TeacherTokenError,
    clean_class_code,
    clean_nickname,
    session_hash,
)
from cnnviz.challenges.grading import Grade
from cnnviz.challenges.rules import Measured, get_challenge
from tools.streamlit_server import free_port

TOKEN = "s3cret-teacher"


def graded(challenge_id: str = "mnist-5k", accuracy: float = 0.985, params: int = 4000, epochs: int = 3) -> Grade:
    measured = Measured(accuracy, params, epochs)
    verdict = get_challenge(challenge_id).check(measured)
    return Grade(challenge_id, measured, verdict.passed, verdict.reasons, claimed_accuracy=None, test_images=10_000)


def test_submit_then_leaderboard_in_ranking_order(store: LeaderboardStore) -> None:
    store.submit(class_code="bio7a", nickname="ana", grade=graded(accuracy=0.981), session_key="s1")
    store.submit(class_code="BIO7A", nickname="bo", grade=graded(accuracy=0.990), session_key="s2")
    store.submit(class_code="BIO7A", nickname="cy", grade=graded(accuracy=0.999, params=6000), session_key="s3")
    store.submit(class_code="OTHER", nickname="dee", grade=graded(accuracy=0.995), session_key="s4")
    store.submit(class_code="BIO7A", nickname="eve", grade=graded("fashion-3-epochs", 0.93), session_key="s5")

    board = store.leaderboard("bio7a", "mnist-5k")
    assert [(entry.nickname, entry.passed) for entry in board] == [("bo", True), ("ana", True), ("cy", False)]
    assert board[0].class_code == "BIO7A" and board[0].params == 4000 and board[0].epochs == 3
    assert board[0].session_hash == session_hash("s2") != "s2"
    assert board[0].created_at.tzinfo is not None
    assert [entry.nickname for entry in store.leaderboard("BIO7A", "fashion-3-epochs")] == ["eve"]


def test_eight_threads_submitting_at_once_lose_nothing(store: LeaderboardStore) -> None:
    threads, per_thread, errors = 8, 15, []

    def work(thread: int) -> None:
        try:
            for index in range(per_thread):
                store.submit(
                    class_code="RACE1",
                    nickname=f"t{thread}-{index}",
                    grade=graded(accuracy=0.98 + index / 1000),
                    session_key=f"{thread}-{index}",
                )
        except Exception as error:  # noqa: BLE001 - collected and reported below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(thread,)) for thread in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    board = store.leaderboard("RACE1", "mnist-5k", best_per_nickname=False)
    assert len(board) == threads * per_thread
    assert {entry.nickname for entry in board} == {f"t{t}-{i}" for t in range(threads) for i in range(per_thread)}
    assert len({entry.id for entry in board}) == threads * per_thread


def test_teacher_exports_then_clears_one_class(store: LeaderboardStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEACHER_TOKEN_ENV, TOKEN)
    store.submit(class_code="BIO7A", nickname="=HYPERLINK(1)", grade=graded(), session_key="a")
    store.submit(class_code="BIO7A", nickname="bo, the 2nd", grade=graded("fashion-3-epochs", 0.8), session_key="b")
    store.submit(class_code="CHEM2", nickname="keep me", grade=graded(), session_key="c")

    rows = list(csv.DictReader(io.StringIO(store.export_csv("bio7a", TOKEN))))
    assert [row["nickname"] for row in rows] == ["'=HYPERLINK(1)", "bo, the 2nd"]  # a formula is not run
    assert rows[0] | {"submitted_at": ""} == {
        "submitted_at": "", "challenge": "mnist-5k", "nickname": "'=HYPERLINK(1)",
        "accuracy": "0.9850", "params": "4000", "epochs": "3", "passed": "yes",
    }
    assert rows[1]["passed"] == "no"

    with pytest.raises(TeacherTokenError):
        store.clear_class("BIO7A", "wrong")
    assert store.count("BIO7A") == 2
    assert store.clear_class("BIO7A", TOKEN) == 2
    assert store.count("BIO7A") == 0 and store.count("CHEM2") == 1


def test_teacher_actions_are_off_without_a_configured_token(store: LeaderboardStore, monkeypatch) -> None:
    monkeypatch.delenv(TEACHER_TOKEN_ENV, raising=False)
    with pytest.raises(TeacherActionsDisabledError, match=TEACHER_TOKEN_ENV):
        store.export_csv("BIO7A", "")
    monkeypatch.setenv(TEACHER_TOKEN_ENV, "   ")  # blank counts as unset, so "" never matches it
    with pytest.raises(TeacherActionsDisabledError):
        store.clear_class("BIO7A", "   ")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),  # kept as typed: shown as text
        ("**b** [x](javascript:alert(1))", "**b** [x](javascript:alert(1))"),
        ("  ana\n\tlee  ", "ana lee"),
        ("evil\u202eexe.txt", "evilexe.txt"),  # a right-to-left override would reverse the row
        ("zero\u200bwidth\x00\x07", "zerowidth"),
        ("é" * NICKNAME_MAX, "é" * NICKNAME_MAX),  # the limit counts characters, not bytes
    ],
)
def test_nicknames_lose_control_characters_only(typed: str, stored: str) -> None:
    assert clean_nickname(typed) == stored


@pytest.mark.parametrize("typed", ["", "   ", "\u200b\u202e", "x" * (NICKNAME_MAX + 1)])
def test_empty_or_long_nicknames_are_refused(typed: str) -> None:
    with pytest.raises(InvalidSubmissionError, match="nickname"):
        clean_nickname(typed)


def test_class_codes_are_short_alphanumeric_in_capitals() -> None:
    assert clean_class_code(" bio7a ") == "BIO7A"
    for bad in ["ab", "x" * 13, "bio-7", "bio 7", "ÄBC", "'; drop table submissions; --"]:
        with pytest.raises(InvalidSubmissionError, match="3 to 12 letters or digits"):
            clean_class_code(bad)


def test_the_store_refuses_bad_input_before_writing(store: LeaderboardStore) -> None:
    with pytest.raises(InvalidSubmissionError):
        store.submit(class_code="no!", nickname="ana", grade=graded(), session_key="s")
    with pytest.raises(InvalidSubmissionError):
        store.submit(class_code="BIO7A", nickname="", grade=graded(), session_key="s")
    assert store.count() == 0


def test_rate_limit_per_session_interval_and_hourly_cap() -> None:
    now = [1000.0]
    limiter = RateLimiter(min_interval_s=10, per_hour=3, clock=lambda: now[0])
    limiter.acquire("a")
    with pytest.raises(RateLimitedError, match="try again in 10 s") as refused:
        limiter.acquire("a")
    assert refused.value.retry_after_s == pytest.approx(10)
    limiter.acquire("b")  # another session is not slowed down
    now[0] += 10
    limiter.check("a")  # check records nothing
    limiter.acquire("a")
    now[0] += 10
    limiter.acquire("a")
    now[0] += 10
    with pytest.raises(RateLimitedError) as capped:  # the fourth within the hour
        limiter.acquire("a")
    assert capped.value.retry_after_s == pytest.approx(3600 - 30)
    now[0] += 3600 - 30
    limiter.acquire("a")


def test_the_store_applies_the_rate_limit_to_a_session(tmp_path: Path) -> None:
    store = LeaderboardStore(f"sqlite:///{tmp_path / 'l.db'}", limiter=RateLimiter(min_interval_s=60, per_hour=20))
    store.submit(class_code="BIO7A", nickname="ana", grade=graded(), session_key="same")
    with pytest.raises(RateLimitedError):
        store.submit(class_code="BIO7A", nickname="ana again", grade=graded(), session_key="same")
    store.submit(class_code="BIO7A", nickname="bo", grade=graded(), session_key="other")
    assert store.count() == 2
    store.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    store = LeaderboardStore(f"sqlite:///{tmp_path / 'nested' / 'l.db'}")  # the folder is created
    with store.engine().connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    store.dispose()


def test_a_corrupt_database_file_gives_a_clear_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "cnnviz.db"
    path.write_bytes(b"this is not SQLite " * 500)
    store = LeaderboardStore(f"sqlite:///{path}")
    with pytest.raises(DatabaseUnavailableError) as failed:
        store.leaderboard("BIO7A", "mnist-5k")
    message = str(failed.value)
    assert str(path) in message and "file is not a database" in message
    assert "move it away" in message and "Everything else in the studio works" in message
    path.unlink()  # once the file is moved away, the same store works again with a new, empty table
    assert store.leaderboard("BIO7A", "mnist-5k") == []
    store.dispose()


def test_an_unwritable_database_path_gives_a_clear_typed_error(tmp_path: Path) -> None:
    # A path below a regular file cannot be created, even by root (CI runs as root, so chmod would not do).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    store = LeaderboardStore(f"sqlite:///{blocker / 'cnnviz.db'}")
    with pytest.raises(DatabaseUnavailableError, match="cannot be opened or written.*CNNVIZ_DB_PATH"):
        store.submit(class_code="BIO7A", nickname="ana", grade=graded(), session_key="s")


def test_an_unreachable_postgresql_server_gives_a_clear_typed_error_without_its_password() -> None:
    store = LeaderboardStore(f"postgresql+psycopg://teacher:hunter2@127.0.0.1:{free_port()}/nothing")
    with pytest.raises(DatabaseUnavailableError) as failed:
        store.leaderboard("BIO7A", "mnist-5k")
    assert "hunter2" not in str(failed.value) and "127.0.0.1" in str(failed.value)


def test_importing_the_feature_opens_no_database(tmp_path: Path) -> None:
    path = tmp_path / "never.db"
    script = "import cnnviz.challenges.db, cnnviz.challenges.grading, cnnviz.challenges.rules, sys; " \
        "assert 'keras' not in sys.modules and 'streamlit' not in sys.modules"
    env = {**os.environ, "CNNVIZ_DB_PATH": str(path)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    assert not path.exists()
