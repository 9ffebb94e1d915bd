"""The AppTest layer's set-up (tests/app/conftest.py) still takes effect with the installed Streamlit."""

from __future__ import annotations

from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from tests.support.apptest import scan_installed_components_once


def _page() -> None:
    import streamlit as st

    st.write("hello")


def test_apptests_share_one_scan_of_the_installed_components() -> None:
    assert scan_installed_components_once()  # fails if Streamlit renamed or moved its scan
    scan = manifest_scanner.scan_component_manifests
    before = scan.cache_info().misses + scan.cache_info().hits
    for _ in range(2):
        assert not AppTest.from_function(_page).run().exception
    info = scan.cache_info()
    assert info.misses <= 1 and info.misses + info.hits == before + 2  # both AppTests asked; at most one scanned
    assert any(manifest.name == "streamlit-drawable-canvas" for manifest, _ in scan())  # the answer is real
