"""Fixtures of the challenges tests: a leaderboard store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from cnnviz.challenges.db import LeaderboardStore, RateLimiter, submissions
from tests.support.postgres import postgres_url  # noqa: F401 - the session-wide server, used by `store`


def unlimited() -> RateLimiter:
    """A rate limiter that never refuses (the store tests are about storage, not the limit)."""
    return RateLimiter(min_interval_s=0, per_hour=10**9)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LeaderboardStore]:
    """An empty store on a fresh SQLite file, then on the throwaway PostgreSQL server (emptied first)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leaderboard.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    leaderboard = LeaderboardStore(url, limiter=unlimited())
    with leaderboard.engine().begin() as connection:
        connection.execute(delete(submissions))
    yield leaderboard
    leaderboard.dispose()
