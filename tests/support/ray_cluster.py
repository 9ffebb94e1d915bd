"""The ``ray_cluster`` fixture: a throwaway local Ray cluster (:func:`tools.ray_cluster.running_ray_cluster`).

It starts one head node per test module that imports it, 2 CPUs, and points the test process at it through
``os.environ`` while the fixture lives; at the end this process disconnects and the cluster is stopped.

Module scope, not session: a fixture imported into two test modules is two fixtures to pytest, and a session
one would keep the first module's cluster (its CPUs and memory) alive through the rest of the run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from tools.ray_cluster import RayCluster, running_ray_cluster

__all__ = ["RayCluster", "ray_cluster"]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """A local Ray cluster for this test module, the test process pointed at it (see the module docstring)."""
    with running_ray_cluster() as cluster:
        saved = {name: os.environ.get(name) for name in cluster.env}
        os.environ.update(cluster.env)
        try:
            yield cluster
        finally:
            if "ray" in sys.modules:
                sys.modules["ray"].shutdown()  # disconnect before the cluster goes, or Ray retries for minutes
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
