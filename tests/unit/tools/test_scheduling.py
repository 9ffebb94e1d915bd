"""tests.support.scheduling: how make test shares its processes (the browser tests together, and first)."""

from __future__ import annotations

from types import SimpleNamespace

from tests.support.scheduling import BrowserTestsTogether, run_order

NODEIDS = [
    "tests/app/kernels/test_kernels_page.py::test_a",
    "tests/e2e/sketch/test_sketch_e2e.py::test_draw",
    "tests/unit/train/test_worker.py::test_child",
    "tests/e2e/app/test_navigation_e2e.py::test_pages",
    "tests/unit/core/test_store.py::test_save",
    "tests/app/train/test_train_page.py::test_train[digits]",
    "tests/unit/train/test_ray_backend.py::test_ray",
]


def test_browser_tests_run_first_then_the_training_files_each_in_their_collected_order() -> None:
    assert [NODEIDS[index] for index in run_order(NODEIDS)] == [
        "tests/e2e/sketch/test_sketch_e2e.py::test_draw",
        "tests/e2e/app/test_navigation_e2e.py::test_pages",
        "tests/unit/train/test_worker.py::test_child",
        "tests/app/train/test_train_page.py::test_train[digits]",
        "tests/unit/train/test_ray_backend.py::test_ray",
        "tests/app/kernels/test_kernels_page.py::test_a",
        "tests/unit/core/test_store.py::test_save",
    ]


def test_every_browser_test_is_one_work_unit_with_the_ray_tests_and_other_tests_go_by_file() -> None:
    option = SimpleNamespace(loadscopereorder=True, maxworkerrestart=None, numprocesses=3, tx=["popen"] * 3,
                             dist="loadfile")
    config = SimpleNamespace(option=option, getvalue=lambda name: getattr(option, name))  # what xdist reads
    scheduler = BrowserTestsTogether(config)
    assert config.option.loadscopereorder is False  # units in collection order: the browser tests first
    scopes = [scheduler._split_scope(nodeid) for nodeid in NODEIDS]
    assert scopes == ["tests/app/kernels/test_kernels_page.py", "tests/e2e", "tests/unit/train/test_worker.py",
                      "tests/e2e", "tests/unit/core/test_store.py", "tests/app/train/test_train_page.py", "tests/e2e"]
