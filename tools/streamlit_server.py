"""Start and stop a real ``streamlit run app.py`` server, for the browser tests and the load test."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_TIMEOUT_S = 120
#: The servers started here and not stopped yet, with their logs: a failed browser test dumps their threads' stacks.
LIVE_SERVERS: dict[subprocess.Popen, Path] = {}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_streamlit(models_dir: Path, log_path: Path, *, env: dict[str, str] | None = None,
                    timeout_s: float = SERVER_START_TIMEOUT_S) -> tuple[subprocess.Popen, str]:
    """Start the app on a free port with its own models folder; return the process once it answers.

    Args:
        models_dir: the server's ``CNNVIZ_MODELS_DIR``.
        log_path: where the server's output goes (its tail is in the error if it fails to start).
        env: extra environment variables for the server.
        timeout_s: how long to wait for ``/_stcore/health``.

    Returns:
        The server process and its base URL, ``http://127.0.0.1:PORT``.
    """
    port = free_port()
    server_env = {**os.environ, "CNNVIZ_MODELS_DIR": str(models_dir), "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]
    with open(log_path, "w") as log:  # the server keeps its own copy of the file descriptor
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    LIVE_SERVERS[process] = log_path
                    return process, url
        except OSError:
            pass
        time.sleep(0.5)
    stop_streamlit(process)
    raise RuntimeError(f"streamlit did not answer within {timeout_s:.0f} s:\n{log_path.read_text()[-4000:]}")


def stop_streamlit(process: subprocess.Popen) -> None:
    """Ask the server to stop (SIGTERM); kill it if it has not stopped within 20 s."""
    LIVE_SERVERS.pop(process, None)
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


#: The innermost frame of a thread that is only waiting for work (Python's faulthandler format).
IDLE_FRAMES = re.compile(
    r'File ".*/(threading|queue|selectors|polling_path_watcher)\.py", line \d+ in (wait|get|select|task)$'
)


def busy_threads(dump: str) -> str:
    """The threads of a faulthandler dump that are not just waiting (for a lock, a queue, a socket or a timer).

    A Streamlit server has a dozen such threads; left in, they push a report's useful end out of CI's view.

    Args:
        dump: faulthandler's text: blocks of ``Thread 0x... (most recent call first):`` and indented frames,
            separated by blank lines.

    Returns:
        The busy blocks, then one line counting the idle threads left out.
    """
    blocks = [block for block in dump.strip().split("\n\n") if block.strip()]
    busy = []
    for block in blocks:
        frames = [line.strip() for line in block.splitlines()[1:] if line.strip().startswith("File ")]
        if not frames or not IDLE_FRAMES.search(frames[0]):
            busy.append(block)
    return "\n\n".join([*busy, f"({len(blocks) - len(busy)} idle threads left out)"])


def server_stacks(process: subprocess.Popen, log_path: Path, *, wait_s: float = 2.0, tail_chars: int = 12_000) -> str:
    """The busy threads' stacks of a running server (``kill -USR1``, :mod:`cnnviz.core.diagnostics`), from its log.

    Returns the log written after the signal (its last ``tail_chars`` characters) with idle threads left out
    (:func:`busy_threads`), or a line saying why there is none (the server has ended).
    """
    if process.poll() is not None:
        return f"(the server had ended with {process.returncode}; its log ends:)\n{log_path.read_text()[-tail_chars:]}"
    before = log_path.stat().st_size if log_path.exists() else 0
    process.send_signal(signal.SIGUSR1)
    time.sleep(wait_s)
    with open(log_path, errors="replace") as log:
        log.seek(before)
        return busy_threads(log.read())[-tail_chars:]


@contextlib.contextmanager
def running_server(models_dir: Path, log_path: Path, *, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free port with ``models_dir`` for the block; yield its base URL."""
    process, url = start_streamlit(models_dir, log_path, env=env)
    try:
        yield url
    finally:
        stop_streamlit(process)
