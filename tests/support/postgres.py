"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` from Debian's package, in a temp folder.

The ``postgres_url`` fixture starts one cluster per test session on a free port of 127.0.0.1
(trust authentication, nothing kept afterwards) and yields its SQLAlchemy URL
(``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``). PostgreSQL refuses to run as root,
so under root (as CI runs) the cluster belongs to the ``postgres`` system user and is started
with ``runuser``. The tests skip only where the binaries are missing and ``CI`` is unset; under CI
a missing server is a failure (``.ci/run`` installs the ``postgresql`` package).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.streamlit_server import free_port

#: Where Debian puts each major version's server binaries.
BIN_GLOB = "/usr/lib/postgresql/*/bin"
START_TIMEOUT_S = 60


def postgres_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl``, or ``None``."""
    found = [
        Path(folder)
        for folder in glob.glob(BIN_GLOB)
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists()
    ]
    return max(found, key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0, default=None)


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` run as the ``postgres`` user when we are root (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("Running as root needs runuser (util-linux) to start PostgreSQL as the postgres user.")
    return [runuser, "-u", "postgres", "--", *command]


def _run(command: list[str]) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True, timeout=START_TIMEOUT_S)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def running_postgres(bin_dir: Path) -> Iterator[str]:
    """Start a fresh cluster with the binaries in ``bin_dir``; yield its URL; stop it and delete its folder."""
    folder = Path(tempfile.mkdtemp(prefix="cnnviz-pg-"))
    data, log = folder / "data", folder / "server.log"
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    port = free_port()
    started = False
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"])
        started = True
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            with contextlib.suppress(Exception):
                _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL server for this test session (see the module docstring)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        message = f"PostgreSQL's server binaries are not installed ({BIN_GLOB}; apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the PostgreSQL tests.")
        pytest.skip(message)
    with running_postgres(bin_dir) as url:
        yield url
