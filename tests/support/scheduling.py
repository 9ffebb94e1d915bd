"""How ``make test`` shares its test processes: the browser tests as one unit, every other test file as one.

``make test`` runs ``pytest tests -n 2 --dist loadfile``. With plain ``loadfile`` each browser test file would be
a work unit of its own, so both processes could each start a Streamlit server and a Chromium and train in them at
once. :class:`BrowserTestsTogether` makes the whole of ``tests/e2e`` one unit instead: one process runs the
browser tests one at a time against one server (as they were written to), while the other runs the unit and app
test files, one file at a time (so a module's fixtures, a Ray cluster say, start once); then both share the rest.

The browser tests spend about half their time waiting for a page (a timer, a rerun, a training of the server),
so running them beside the CPU-bound unit tests fills the two cores that running them after the unit tests left
half idle: 598-611 s for the whole suite against 724 s on this 2-core machine. They go first (:func:`run_order`):
they are the longest unit, and a long unit started last would be the run's tail. The files that train in child
processes (``*/train/``) come next for the same reason.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadFileScheduling

BROWSER_TESTS = "tests/e2e"
#: Test files that start a Ray cluster of their own run in the browser tests' unit, after them: the browser tests'
#: Ray test starts one too, and in CI a Ray Client connect failed ("Initialization failure from server") while the
#: browser tests, their server and Chromium ran beside it; before this layout such tests never overlapped.
AFTER_THE_BROWSER_TESTS = ("tests/unit/train/test_ray_backend.py",)


def _in_browser_unit(nodeid: str) -> bool:
    return nodeid.startswith(f"{BROWSER_TESTS}/") or nodeid.split("::", 1)[0] in AFTER_THE_BROWSER_TESTS


def _rank(nodeid: str) -> int:
    if nodeid.startswith(f"{BROWSER_TESTS}/"):
        return 0
    if "/train/" in nodeid.split("::", 1)[0]:
        return 1
    return 2


def run_order(nodeids: list[str]) -> list[int]:
    """Indices of ``nodeids`` in the order to run them: browser tests, then training files, then the rest.

    A stable sort, so tests keep their file's order within each rank (every test process sorts its own,
    identical, collection the same way, as xdist requires).
    """
    return sorted(range(len(nodeids)), key=lambda index: _rank(nodeids[index]))


class BrowserTestsTogether(LoadFileScheduling):
    """``--dist loadfile``, except that every test under ``tests/e2e`` is in one work unit, with the files of
    :data:`AFTER_THE_BROWSER_TESTS` after them.

    Work units are handed out in collection order (``loadscopereorder`` off: xdist's default orders them by test
    count, which would put the browser tests, 19 long tests, behind files of many quick ones).
    """

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        return BROWSER_TESTS if _in_browser_unit(nodeid) else super()._split_scope(nodeid)
