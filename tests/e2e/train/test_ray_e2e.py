"""The Train page in Chromium trains on a real Ray cluster: a server started with CNNVIZ_RAY_ADDRESS pointing at a
local test cluster (tests/support/ray_cluster.py) hands the training to Ray and says so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.ray_cluster import RayCluster, ray_cluster  # noqa: F401 - the fixture
from tools.browser import assert_no_exception, open_page, wait_for_idle
from tools.streamlit_server import running_server

TRAINING_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def ray_app_server(chromium_executable: str, e2e_models_dir: Path, ray_cluster: RayCluster,  # noqa: F811
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A studio server of its own whose trainings go to the test cluster (no local warm worker)."""
    log_path = tmp_path_factory.mktemp("ray-server") / "streamlit.log"
    with running_server(e2e_models_dir, log_path, env={**ray_cluster.env, "CNNVIZ_WARM_WORKER": "0"}) as url:
        yield url


def test_the_train_page_trains_on_the_ray_cluster_and_says_so(page: Page, ray_app_server: str) -> None:
    # The built-in digits, one conv block of 4 filters, no dense layer, 2 epochs on the fewest images, opened as a
    # share link (the controls themselves are tested in tests/e2e/train/test_train_e2e.py).
    open_page(page, ray_app_server, "train?data=digits&blocks=1&b1f=4&dense=0&epochs=2&n=100",
              timeout_ms=TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    expect(page.locator(".st-key-train_epochs [data-testid='stSliderThumbValue']")).to_have_text("2")

    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Run 1 finished 2 epochs"))).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_idle(page, TRAINING_TIMEOUT_MS)
    assert_no_exception(page)
    expect(page.get_by_text("Trained by the Ray cluster (ray backend)").first).to_be_visible()
    expect(page.get_by_text("Test accuracy").first).to_be_visible()
