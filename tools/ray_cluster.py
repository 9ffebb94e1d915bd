"""A throwaway local Ray head for tests and the load test: ``ray start --head --block`` in a temp folder.

:func:`running_ray_cluster` starts one head node as ``make cluster`` does: local-only (every Ray server bound to
127.0.0.1), token authentication on (a fresh token, passed by environment variable, so nothing is written to
``~/.ray``), no dashboard, free ports. It yields a :class:`RayCluster` whose ``env`` points a subprocess (the CLI,
a Streamlit server) at it. At the end the cluster's whole process group (head, raylet, workers) is stopped and its
folder deleted; nothing else on the machine (another Ray) is touched. The tests' ``ray_cluster`` fixture
(tests/support/ray_cluster.py) and ``benchmarks/load_test.py --backend ray`` both use it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools.streamlit_server import free_port

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 3


@dataclass
class RayCluster:
    """A running test cluster: its address and the environment variables that reach it."""

    address: str
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    client_address: str = ""  # ray://127.0.0.1:PORT, its Ray Client server


def _ray_command() -> str:
    """The ``ray`` command of this interpreter's environment (the venv's, not whatever is on PATH)."""
    beside = Path(sys.executable).parent / "ray"
    return str(beside) if beside.exists() else (shutil.which("ray") or "ray")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def running_ray_cluster(num_cpus: int = 2) -> Iterator[RayCluster]:
    """Start a local-only head node with ``num_cpus`` CPUs; yield it; stop its process group and delete its folder."""
    folder = Path(tempfile.mkdtemp(prefix="cnnviz-ray-"))  # short: Ray's unix sockets live in it
    log_path = folder / "ray-start.log"
    port, client_port = free_port(), free_port()
    env = {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # local-only: Ray binds 127.0.0.1 instead of every interface
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    command = [
        _ray_command(), "start", "--head", "--block", "--port", str(port), "--node-ip-address", "127.0.0.1",
        "--num-cpus", str(num_cpus), "--include-dashboard", "false", "--disable-usage-stats",
        "--ray-client-server-port", str(client_port), "--dashboard-agent-listen-port", str(free_port()),
        "--object-store-memory", str(200 * 1024 * 1024), "--temp-dir", str(folder),
    ]
    process = None
    try:
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Ray runtime started" not in log_path.read_text():
            if process.poll() is not None:
                raise RuntimeError(f"ray start exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"ray start did not finish in {START_TIMEOUT_S} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.3)
        # `ray start` reports the runtime started before its Ray Client server listens: wait for that too.
        while not _listening(client_port):
            if process.poll() is not None:
                raise RuntimeError(f"ray start exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Ray's client server did not listen on {client_port} in {START_TIMEOUT_S} s")
            time.sleep(0.3)
        address = f"127.0.0.1:{port}"
        yield RayCluster(address, {**env, "CNNVIZ_RAY_ADDRESS": address}, log_path, f"ray://127.0.0.1:{client_port}")
    finally:
        if process is not None:
            # The head, the raylet and every worker share the process group that start_new_session made.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # what SIGTERM left (the GCS server takes its time)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(folder, ignore_errors=True)
