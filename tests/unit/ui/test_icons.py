"""Icons are Streamlit's bundled Material icons: emoji render as empty boxes without an emoji font."""

from __future__ import annotations

import re
import unicodedata

import pytest
from streamlit.material_icon_names import ALL_MATERIAL_ICONS

from cnnviz.ui.pages import PAGES
from tests.support.paths import REPO_ROOT

MATERIAL = re.compile(r":material/([a-z0-9_]+):")


def _emoji(text: str) -> list[str]:
    """Pictographs (symbol-other above U+2000, e.g. 🧠 ✏ ⚠) and emoji presentation selectors in ``text``."""
    return [
        char for char in text
        if char == "\ufe0f" or (ord(char) > 0x2000 and unicodedata.category(char) == "So") or char == "\u2139"
    ]


def test_every_page_has_a_bundled_material_icon() -> None:
    for info in PAGES:
        match = MATERIAL.fullmatch(info.icon)
        assert match, f"{info.title}: {info.icon!r} is not a :material/...: icon"
        assert match.group(1) in ALL_MATERIAL_ICONS, f"{info.title}: no bundled icon {match.group(1)!r}"


@pytest.mark.parametrize(
    "path", ["app.py", *sorted(str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "cnnviz" / "ui").glob("*.py"))]
)
def test_the_router_and_shared_widgets_use_no_emoji(path: str) -> None:
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    assert not _emoji(text), f"{path}: {sorted(set(_emoji(text)))}"
    for name in MATERIAL.findall(text):
        assert name in ALL_MATERIAL_ICONS, f"{path}: no bundled Material icon {name!r}"


def test_the_emoji_check_sees_emoji() -> None:
    # The control: the check above must be able to fail.
    assert _emoji('icon="🧠"') and _emoji('icon="✏️"') and _emoji('icon="ℹ️"') and not _emoji("お (o) → x")
