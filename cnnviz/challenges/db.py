"""The class leaderboard's storage: one ``submissions`` table, with SQLAlchemy Core.

Where it lives (read when first used, never at import):

* ``CNNVIZ_DB_URL``: any SQLAlchemy URL; PostgreSQL through psycopg 3
  (``postgresql+psycopg://user:password@host/db``) when several server replicas share one leaderboard;
* otherwise SQLite at ``CNNVIZ_DB_PATH``, by default ``data/cnnviz.db`` in the project folder
  (git-ignored, beside the datasets). SQLite runs in WAL mode with a busy timeout, so many sessions
  read the leaderboard while one writes, and concurrent writers wait their turn instead of failing.

The table is created on first use. Every database failure (a corrupt file, a folder that cannot be
written, a server that does not answer) becomes a :class:`DatabaseUnavailableError` whose message
says what happened and what to do; the UI shows it and the rest of the studio carries on.

Rules enforced here, whatever the UI does:

* nicknames: at most :data:`NICKNAME_MAX` characters after control and formatting characters are
  removed; otherwise stored as typed. They are user-controlled text: the UI shows them only as plain
  text (``st.dataframe`` cells), and the CSV export neutralises spreadsheet formulas;
* class codes: 3 to 12 ASCII letters or digits, compared case-insensitively (stored in capitals);
* per-session rate limit (:class:`RateLimiter`): kept in this process's memory. A Streamlit session
  lives on one server process for its whole life (it is one websocket), so a per-session count needs
  no shared state, costs no database round trip and adds no read-then-write transaction to SQLite;
* teacher actions (clear a class, export it) need the token set in ``CNNVIZ_TEACHER_TOKEN``,
  compared in constant time; with no token configured they are switched off.

Streamlit-free; the functions take plain values.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import re
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from cnnviz.challenges.grading import Grade
from cnnviz.challenges.rules import get_challenge, rank
from cnnviz.core.paths import PROJECT_ROOT

#: Environment variable naming a SQLAlchemy database URL (PostgreSQL for several replicas).
DB_URL_ENV = "CNNVIZ_DB_URL"
#: Environment variable naming the SQLite file used when no URL is set.
DB_PATH_ENV = "CNNVIZ_DB_PATH"
#: Environment variable holding the teacher token; unset or empty switches teacher actions off.
TEACHER_TOKEN_ENV = "CNNVIZ_TEACHER_TOKEN"
#: The SQLite file used when neither variable is set (``/data/`` is git-ignored).
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "cnnviz.db"
#: Longest nickname, in characters.
NICKNAME_MAX = 32
#: A class code: 3 to 12 ASCII letters or digits (stored in capitals).
CLASS_CODE_PATTERN = re.compile(r"[A-Z0-9]{3,12}")
#: How long a SQLite writer waits for another writer before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 10_000
#: Default rate limit: one submission per this many seconds per session...
MIN_INTERVAL_S = 10.0
#: ... and at most this many per session in any hour.
PER_HOUR = 20

_SQLITE_CORRUPT = ("file is not a database", "malformed", "file is encrypted", "not a database")


class LeaderboardError(Exception):
    """Anything the leaderboard refuses or cannot do; ``str(error)`` is the message for the learner."""


class DatabaseUnavailableError(LeaderboardError):
    """The database cannot be opened, read or written (corrupt file, unwritable folder, server down)."""


class InvalidSubmissionError(LeaderboardError, ValueError):
    """A nickname or class code that breaks the rules; the message says the rule."""


class RateLimitedError(LeaderboardError):
    """Too many submissions from this session; ``retry_after_s`` says how long to wait."""

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TeacherActionsDisabledError(LeaderboardError):
    """No teacher token is configured on this server, so clearing and exporting are switched off."""


class TeacherTokenError(LeaderboardError):
    """The teacher token given does not match the configured one."""


metadata = MetaData()

#: One row per graded submission; every number in it was measured by the server.
submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("class_code", String(12), nullable=False),
    Column("challenge", String(40), nullable=False),
    Column("nickname", String(NICKNAME_MAX), nullable=False),
    Column("accuracy", Float, nullable=False),
    Column("params", Integer, nullable=False),
    Column("epochs", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("session_hash", String(64), nullable=False),
    Index("ix_submissions_class_challenge", "class_code", "challenge"),
)


@dataclass(frozen=True)
class Entry:
    """One stored submission (``created_at`` in UTC)."""

    id: int
    class_code: str
    challenge: str
    nickname: str
    accuracy: float
    params: int
    epochs: int
    passed: bool
    created_at: datetime
    session_hash: str


# ----------------------------------------------------------------------------
# Rules on what learners type
# ----------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")


def clean_nickname(raw: object) -> str:
    """Return the nickname to store: control and formatting characters removed, spaces collapsed.

    Tabs and line breaks become spaces; other control characters, bidirectional overrides and
    zero-width characters (Unicode categories C* and Zl/Zp) are removed, so a name cannot break a
    table row or reverse the text around it. Everything else, ``<``, ``*``, ``[`` included, is kept
    as typed: it is shown as plain text, never interpreted.

    Raises:
        InvalidSubmissionError: empty after cleaning, or longer than :data:`NICKNAME_MAX` characters.
    """
    text = unicodedata.normalize("NFC", str(raw))
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace() or category in ("Zl", "Zp"):
            kept.append(" ")
        elif not category.startswith("C"):
            kept.append(char)
    nickname = _WHITESPACE.sub(" ", "".join(kept)).strip()
    if not nickname:
        raise InvalidSubmissionError("Choose a nickname for the leaderboard (letters, digits, anything printable).")
    if len(nickname) > NICKNAME_MAX:
        raise InvalidSubmissionError(
            f"A nickname has at most {NICKNAME_MAX} characters; this one has {len(nickname)}. Shorten it."
        )
    return nickname


def clean_class_code(raw: object) -> str:
    """Return the class code in capitals.

    Raises:
        InvalidSubmissionError: not 3 to 12 ASCII letters or digits (the input is not echoed back).
    """
    code = str(raw).strip().upper()
    if not CLASS_CODE_PATTERN.fullmatch(code):
        raise InvalidSubmissionError(
            "A class code is 3 to 12 letters or digits (A-Z, 0-9), such as BIO7A; ask your teacher for yours."
        )
    return code


def session_hash(session_key: str) -> str:
    """The value stored for a session: a SHA-256 of its key, so the table never holds the key itself."""
    return hashlib.sha256(str(session_key).encode("utf-8")).hexdigest()[:32]


# ----------------------------------------------------------------------------
# Rate limit
# ----------------------------------------------------------------------------


class RateLimiter:
    """At most one submission per ``min_interval_s`` and ``per_hour`` per hour, per key (a session).

    Thread-safe; held in memory (see the module docstring for why that is enough).

    Args:
        min_interval_s: seconds between two submissions of one key.
        per_hour: submissions of one key in any 3,600 s.
        clock: seconds, monotonic (tests pass a fake clock).
    """

    def __init__(
        self,
        min_interval_s: float = MIN_INTERVAL_S,
        per_hour: int = PER_HOUR,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.min_interval_s = float(min_interval_s)
        self.per_hour = int(per_hour)
        self._clock = clock
        self._lock = threading.Lock()
        self._times: dict[str, deque[float]] = {}

    def _wait_for(self, key: str, now: float) -> float:
        times = self._times.get(key)
        if not times:
            return 0.0
        while times and now - times[0] >= 3600.0:
            times.popleft()
        waits = [0.0]
        if times:
            waits.append(times[-1] + self.min_interval_s - now)
        if len(times) >= self.per_hour:
            waits.append(times[len(times) - self.per_hour] + 3600.0 - now)
        return max(waits)

    def check(self, key: str) -> None:
        """Raise :class:`RateLimitedError` if ``key`` may not submit now; record nothing."""
        with self._lock:
            self._refuse_if_waiting(key, self._clock())

    def acquire(self, key: str) -> None:
        """Record a submission for ``key`` now, or raise :class:`RateLimitedError` (recording nothing)."""
        with self._lock:
            now = self._clock()
            self._refuse_if_waiting(key, now)
            self._times.setdefault(key, deque()).append(now)

    def _refuse_if_waiting(self, key: str, now: float) -> None:
        wait = self._wait_for(key, now)
        if wait > 0:
            raise RateLimitedError(
                f"One submission every {self.min_interval_s:g} s and {self.per_hour} an hour per session: "
                f"try again in {wait:.0f} s.",
                retry_after_s=wait,
            )


# ----------------------------------------------------------------------------
# Configuration and teacher token
# ----------------------------------------------------------------------------


def database_url() -> str:
    """The configured URL: ``$CNNVIZ_DB_URL``, else SQLite at ``$CNNVIZ_DB_PATH`` or :data:`DEFAULT_DB_PATH`."""
    url = os.environ.get(DB_URL_ENV, "").strip()
    if url:
        return url
    path = os.environ.get(DB_PATH_ENV, "").strip() or str(DEFAULT_DB_PATH)
    return f"sqlite:///{Path(path).expanduser()}"


def describe_url(url: str) -> str:
    """The database in words, without a password: ``the SQLite file /x/cnnviz.db`` or ``postgresql://u:***@h/db``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "the configured database (its URL cannot be parsed)"
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database}" if parsed.database else "an in-memory SQLite database"
    return parsed.render_as_string(hide_password=True)


def teacher_actions_enabled() -> bool:
    """Whether a teacher token is configured (``$CNNVIZ_TEACHER_TOKEN`` set and not blank)."""
    return bool(os.environ.get(TEACHER_TOKEN_ENV, "").strip())


def check_teacher_token(given: object) -> None:
    """Accept ``given`` if it equals ``$CNNVIZ_TEACHER_TOKEN`` (compared in constant time).

    Raises:
        TeacherActionsDisabledError: no token is configured.
        TeacherTokenError: ``given`` is not the token.
    """
    expected = os.environ.get(TEACHER_TOKEN_ENV, "").strip()
    if not expected:
        raise TeacherActionsDisabledError(
            "Teacher actions are switched off on this server: whoever runs it turns them on by setting "
            f"{TEACHER_TOKEN_ENV} to a secret token."
        )
    if not hmac.compare_digest(str(given).strip().encode("utf-8"), expected.encode("utf-8")):
        raise TeacherTokenError("That teacher token is not the one configured on this server.")


# ----------------------------------------------------------------------------
# The store
# ----------------------------------------------------------------------------


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # WAL's recommended setting: durable at checkpoints
    finally:
        cursor.close()


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(text: str) -> str:
    """A nickname for a CSV cell: one starting like a spreadsheet formula gets a leading apostrophe."""
    return f"'{text}" if text.startswith(_CSV_FORMULA_START) else text


class LeaderboardStore:
    """The submissions of every class, in one database.

    Args:
        url: a SQLAlchemy URL; ``None`` uses :func:`database_url`.
        limiter: the per-session rate limit (a fresh default :class:`RateLimiter` if ``None``).

    Nothing is opened until the first call; the table is created then if needed.
    """

    def __init__(self, url: str | None = None, *, limiter: RateLimiter | None = None):
        self.url = url if url is not None else database_url()
        self.limiter = limiter if limiter is not None else RateLimiter()
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._ready = False

    @property
    def where(self) -> str:
        """The database in words, without a password."""
        return describe_url(self.url)

    def _failure(self, error: BaseException) -> DatabaseUnavailableError:
        # SQLAlchemy wraps the driver's exception; its first line is the useful part ("file is not a database").
        text = str(getattr(error, "orig", None) or error).strip()
        reason = text.splitlines()[0] if text else type(error).__name__
        corrupt = any(marker in reason.lower() for marker in _SQLITE_CORRUPT)
        if corrupt:
            advice = (
                "The file is damaged or is not a database. Whoever runs this server can move it away "
                f"(a new, empty leaderboard is then created) or point {DB_PATH_ENV} at another file."
            )
            what = "cannot be read"
        else:
            advice = (
                f"Whoever runs this server can make its folder writable, point {DB_PATH_ENV} at a writable file, "
                f"or check the database server named in {DB_URL_ENV}."
            )
            what = "cannot be opened or written"
        return DatabaseUnavailableError(
            f"The leaderboard database ({self.where}) {what}: {reason}. {advice} "
            "Everything else in the studio works as usual."
        )

    def _connect_engine(self) -> Engine:
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        return engine

    def engine(self) -> Engine:
        """The engine, with the table created (on the first call).

        Raises:
            DatabaseUnavailableError: the database cannot be opened, read or written.
        """
        with self._lock:
            try:
                if self._engine is None:
                    self._engine = self._connect_engine()
                if not self._ready:
                    try:
                        metadata.create_all(self._engine, checkfirst=True)
                    except SQLAlchemyError:
                        # Another replica may have created the table between the check and the CREATE.
                        metadata.create_all(self._engine, checkfirst=True)
                    self._ready = True
            except (SQLAlchemyError, OSError, ImportError) as error:
                raise self._failure(error) from error
            return self._engine

    def dispose(self) -> None:
        """Close every pooled connection (tests; a server keeps its store for its whole life)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = None
            self._ready = False

    def submit(self, *, class_code: str, nickname: str, grade: Grade, session_key: str) -> Entry:
        """Store one graded submission and return it as stored.

        Args:
            class_code: the class's code (checked, stored in capitals).
            nickname: as typed (cleaned by :func:`clean_nickname`).
            grade: the server's own grading (:func:`cnnviz.challenges.grading.grade`); its measured numbers
                are what is stored.
            session_key: identifies the submitting session (rate limit; stored only as :func:`session_hash`).

        Raises:
            InvalidSubmissionError: a bad class code or nickname, or an unknown challenge.
            RateLimitedError: this session submitted too recently or too often.
            DatabaseUnavailableError: the database cannot be written.
        """
        code = clean_class_code(class_code)
        name = clean_nickname(nickname)
        try:
            get_challenge(grade.challenge_id)
        except ValueError as error:
            raise InvalidSubmissionError(str(error)) from error
        hashed = session_hash(session_key)
        self.limiter.acquire(hashed)
        row = {
            "class_code": code,
            "challenge": grade.challenge_id,
            "nickname": name,
            "accuracy": float(grade.measured.accuracy),
            "params": int(grade.measured.params),
            "epochs": int(grade.measured.epochs),
            "passed": bool(grade.passed),
            "created_at": datetime.now(UTC),
            "session_hash": hashed,
        }
        engine = self.engine()
        try:
            with engine.begin() as connection:
                result = connection.execute(insert(submissions).values(**row))
                new_id = int(result.inserted_primary_key[0])
        except SQLAlchemyError as error:
            raise self._failure(error) from error
        return Entry(id=new_id, **row)

    def _rows(self, *conditions: Any) -> list[Entry]:
        engine = self.engine()
        try:
            with engine.connect() as connection:
                result = connection.execute(select(submissions).where(*conditions).order_by(submissions.c.id))
                rows = result.mappings().all()
        except SQLAlchemyError as error:
            raise self._failure(error) from error
        return [
            Entry(
                id=row["id"],
                class_code=row["class_code"],
                challenge=row["challenge"],
                nickname=row["nickname"],
                accuracy=float(row["accuracy"]),
                params=int(row["params"]),
                epochs=int(row["epochs"]),
                passed=bool(row["passed"]),
                created_at=_as_utc(row["created_at"]),
                session_hash=row["session_hash"],
            )
            for row in rows
        ]

    def leaderboard(self, class_code: str, challenge_id: str, *, best_per_nickname: bool = True) -> list[Entry]:
        """The class's entries for one challenge in leaderboard order (:func:`cnnviz.challenges.rules.rank`).

        Raises:
            InvalidSubmissionError: a bad class code or an unknown challenge.
            DatabaseUnavailableError: the database cannot be read.
        """
        code = clean_class_code(class_code)
        try:
            challenge = get_challenge(challenge_id)
        except ValueError as error:
            raise InvalidSubmissionError(str(error)) from error
        rows = self._rows(submissions.c.class_code == code, submissions.c.challenge == challenge.id)
        return rank(challenge, rows, best_per_nickname=best_per_nickname)

    def count(self, class_code: str | None = None) -> int:
        """How many submissions are stored (for one class, or in all)."""
        conditions = [] if class_code is None else [submissions.c.class_code == clean_class_code(class_code)]
        return len(self._rows(*conditions))

    def clear_class(self, class_code: str, token: str) -> int:
        """Delete every submission of a class; return how many were deleted.

        Raises:
            TeacherActionsDisabledError, TeacherTokenError: see :func:`check_teacher_token`.
            InvalidSubmissionError: a bad class code.
            DatabaseUnavailableError: the database cannot be written.
        """
        check_teacher_token(token)
        code = clean_class_code(class_code)
        engine = self.engine()
        try:
            with engine.begin() as connection:
                return int(connection.execute(delete(submissions).where(submissions.c.class_code == code)).rowcount)
        except SQLAlchemyError as error:
            raise self._failure(error) from error

    def export_csv(self, class_code: str, token: str) -> str:
        """Every submission of a class as CSV text, oldest first.

        Columns: submitted_at (ISO 8601 UTC), challenge, nickname, accuracy (a fraction), params, epochs, passed.
        A nickname that starts like a spreadsheet formula (``=``, ``+``, ``-``, ``@``) gets a leading
        apostrophe so a spreadsheet shows it instead of running it.

        Raises:
            the same as :meth:`clear_class`.
        """
        check_teacher_token(token)
        code = clean_class_code(class_code)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["submitted_at", "challenge", "nickname", "accuracy", "params", "epochs", "passed"])
        for entry in self._rows(submissions.c.class_code == code):
            writer.writerow(
                [
                    entry.created_at.isoformat(timespec="seconds"),
                    entry.challenge,
                    _csv_safe(entry.nickname),
                    f"{entry.accuracy:.4f}",
                    entry.params,
                    entry.epochs,
                    "yes" if entry.passed else "no",
                ]
            )
        return buffer.getvalue()


# ----------------------------------------------------------------------------
# The server's store, from the configuration
# ----------------------------------------------------------------------------

_stores: dict[str, LeaderboardStore] = {}
_stores_lock = threading.Lock()


def default_store() -> LeaderboardStore:
    """The store for the configured URL, one per URL per process (so its rate limit is shared by all sessions)."""
    url = database_url()
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = LeaderboardStore(url)
        return store


def submit(*, class_code: str, nickname: str, grade: Grade, session_key: str) -> Entry:
    """:meth:`LeaderboardStore.submit` on :func:`default_store`."""
    return default_store().submit(class_code=class_code, nickname=nickname, grade=grade, session_key=session_key)


def leaderboard(class_code: str, challenge_id: str) -> list[Entry]:
    """:meth:`LeaderboardStore.leaderboard` on :func:`default_store`."""
    return default_store().leaderboard(class_code, challenge_id)


def clear_class(class_code: str, token: str) -> int:
    """:meth:`LeaderboardStore.clear_class` on :func:`default_store`."""
    return default_store().clear_class(class_code, token)


def export_csv(class_code: str, token: str) -> str:
    """:meth:`LeaderboardStore.export_csv` on :func:`default_store`."""
    return default_store().export_csv(class_code, token)


__all__ = [
    "BUSY_TIMEOUT_MS",
    "DB_PATH_ENV",
    "DB_URL_ENV",
    "DEFAULT_DB_PATH",
    "NICKNAME_MAX",
    "TEACHER_TOKEN_ENV",
    "DatabaseUnavailableError",
    "Entry",
    "InvalidSubmissionError",
    "LeaderboardError",
    "LeaderboardStore",
    "RateLimitedError",
    "RateLimiter",
    "TeacherActionsDisabledError",
    "TeacherTokenError",
    "check_teacher_token",
    "clean_class_code",
    "clean_nickname",
    "clear_class",
    "database_url",
    "default_store",
    "describe_url",
    "export_csv",
    "leaderboard",
    "session_hash",
    "submissions",
    "submit",
    "teacher_actions_enabled",
]
