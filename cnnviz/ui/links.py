"""Links between pages: open another page with a payload, and come back to where the learner was.

Streamlit's ``st.switch_page`` opens a page but carries nothing with it, and the page left behind
forgets its widgets. This module adds the two missing parts:

* a **handoff**: :func:`link_button` stores a :class:`Link` (the target page, a payload, where it came
  from) in the session and switches page; the target reads it **once** with :func:`take_link`, so a
  later visit (through the navigation, say) starts as usual;
* a **way back**: after :func:`take_link`, :func:`back_button` on the target offers "Back to <origin>",
  which switches back. The origin finds its place again because it keeps its widgets with
  :func:`cnnviz.ui.state.remember` (the section radio, the chosen image...), which it must do anyway
  for the learner's place to survive any page switch.

How a feature uses it (only ``sections``/``widgets`` modules, never a page script)::

    # Origin, e.g. cnnviz/inside/sections.py, beside a feature map. The payload holds plain data
    # (numbers, lists, NumPy arrays, short strings), never a widget value the target does not own.
    from cnnviz.ui.links import link_button

    link_button(
        "Open this kernel on Kernels",
        "pages/kernels.py",
        {"kernel": weights.tolist(), "image": image},
        origin="pages/inside.py",
        key=f"inside_kernel_link_{layer}_{index}",
        help="Shows this learned 3x3 kernel in the Kernel playground, applied to the same image.",
    )

    # Target, e.g. cnnviz/kernels/sections.py, at the top of its first section, BEFORE its widgets
    # are created (a widget's value can only be set before it is drawn in a run):
    from cnnviz.ui.links import back_button, take_link

    link = take_link("pages/kernels.py")
    if link is not None:
        st.session_state["kernels_kernel_0"] = link.payload["kernel"]  # the target's own widget keys
    back_button("pages/kernels.py")  # "Back to Inside", only after arriving by a link

Page paths are the ones in :data:`cnnviz.ui.pages.PAGES` (``"pages/kernels.py"``); the back button's
label uses that page's title.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from cnnviz.ui.pages import PAGES

#: The link on its way to its target page (a :class:`Link`), until the target takes it.
LINK_KEY = "cnnviz_link"
#: Where each page that was opened by a link goes back to: ``{target page: Link}``.
BACK_KEY = "cnnviz_link_back"
#: The key of the link or back button clicked in the previous run, whose page switch is still to happen.
PENDING_KEY = "cnnviz_link_pending"


@dataclass(frozen=True)
class Link:
    """A request to show ``page`` with ``payload``, made on ``origin``.

    Attributes:
        page: the target page's script path, e.g. ``"pages/kernels.py"``.
        payload: what the target needs (plain data); read-only by convention.
        origin: the script path of the page the link was followed from.
    """

    page: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""


def page_title(page: str) -> str:
    """The title of ``page`` in :data:`PAGES` (``"pages/inside.py"`` -> ``"Inside"``), else its file stem."""
    for info in PAGES:
        if info.path == page:
            return info.title
    return page.rsplit("/", 1)[-1].removesuffix(".py").replace("_", " ").title()


def link_button(
    label: str,
    page: str,
    payload: Mapping[str, Any] | None = None,
    *,
    origin: str,
    key: str,
    help: str | None = None,
    icon: str | None = ":material/open_in_new:",
) -> bool:
    """A button that opens ``page`` with ``payload`` (see the module docstring).

    Args:
        label: the button's text (plain words; it is Markdown, so escape user text with
            :func:`cnnviz.core.text.md_escape`).
        page: the target page's script path, as in :data:`cnnviz.ui.pages.PAGES`.
        payload: what the target reads with :func:`take_link` (``{}`` if ``None``).
        origin: the script path of the page this button is on (for the way back).
        key: a widget key unique on the page.
        help: the tooltip: say what the learner will see there.
        icon: a Material icon (``":material/open_in_new:"``) or ``None``.

    Returns:
        ``False`` when not clicked; when clicked, the page switches and this call does not return.
        The click is recorded by a callback, so a rerun before the button is reached (the router's
        first-visit rerun, another widget's) does not lose it.
    """
    link = Link(page=page, payload=dict(payload or {}), origin=origin)
    st.button(label, key=key, help=help, icon=icon, on_click=_clicked, args=(key, link))
    return _switch_if_clicked(key, page)


def _clicked(key: str, link: Link | None) -> None:
    # A callback, not `if st.button(...)`: the click is recorded before the script runs, so it survives
    # a rerun that happens before the button is reached (require_router's, say); the switch waits for
    # the button's next run, as st.switch_page cannot be called from a callback.
    if link is not None:
        st.session_state[LINK_KEY] = link
    st.session_state[PENDING_KEY] = key


def _switch_if_clicked(key: str, page: str) -> bool:
    if st.session_state.get(PENDING_KEY) != key:
        return False
    del st.session_state[PENDING_KEY]
    st.switch_page(page)
    return True  # pragma: no cover - st.switch_page stops the script


def take_link(page: str) -> Link | None:
    """The link that opened ``page``, once: the next call (another rerun, a later visit) gets ``None``.

    A link meant for another page is left alone. Taking a link also records the way back for
    :func:`back_button`.

    Args:
        page: this page's script path.

    Returns:
        The :class:`Link` with its ``payload``, or ``None`` when the page was not opened by a link.
    """
    link = st.session_state.get(LINK_KEY)
    if not isinstance(link, Link) or link.page != page:
        return None
    del st.session_state[LINK_KEY]
    backs = st.session_state.setdefault(BACK_KEY, {})
    backs[page] = link
    return link


def came_from(page: str) -> Link | None:
    """The link ``page`` was last opened by while the way back is still offered, else ``None``."""
    link = st.session_state.get(BACK_KEY, {}).get(page)
    return link if isinstance(link, Link) and link.origin else None


def _forget_back(page: str) -> None:
    st.session_state.get(BACK_KEY, {}).pop(page, None)


def back_button(page: str, *, key: str | None = None, label: str | None = None) -> bool:
    """Offer "Back to <origin>" on ``page`` when it was opened by a link; nothing otherwise.

    The origin comes back as the learner left it when its widgets use :func:`cnnviz.ui.state.remember`.
    The way back is offered until it is used or another link opens this page.

    Args:
        page: this page's script path.
        key: the widget key (default: derived from ``page``).
        label: the button text (default: "Back to <origin title>").

    Returns:
        ``False`` when there is no way back or it was not clicked (a click switches page).
    """
    link = came_from(page)
    if link is None:
        return False
    key = key or f"cnnviz_back_{page_title(page).lower().replace(' ', '_')}"
    text = label or f"Back to {page_title(link.origin)}"
    st.button(text, key=key, icon=":material/arrow_back:", on_click=_clicked, args=(key, None),
              help=f"Return to the {page_title(link.origin)} page where you followed the link.")
    if st.session_state.get(PENDING_KEY) == key:
        _forget_back(page)
    return _switch_if_clicked(key, link.origin)


__all__ = [
    "BACK_KEY", "LINK_KEY", "PENDING_KEY", "Link", "back_button", "came_from", "link_button", "page_title", "take_link",
]
