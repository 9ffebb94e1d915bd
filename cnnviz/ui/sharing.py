"""Share links in Streamlit: a page's controls live in its URL (``st.query_params``) and come back from it.

A page calls, with its :class:`cnnviz.core.share.ParamTable`::

    restore_from_url(TABLE, "pages/train.py")   # at the top, before any widget of the table is drawn
    ...                                          # the page's widgets
    share_bar(TABLE, "pages/train.py", "train", key="train_share")
    # = publish (the URL follows the controls) + copy_link_button ("Copy link": the URL to send to someone)

:func:`restore_from_url` sets the widgets' session-state entries from the URL on the page's first run in
the session, and whenever the URL holds parameters this page never wrote itself (a link from outside), or a
lesson's button asks for it (:func:`open_link`). What the link could not read is named in a short note. A URL that
names none of the table's parameters (the page opened from the navigation) changes nothing, so the
learner's remembered settings stay. :func:`publish` writes only this page's parameters, and only when
they changed.

This module is named ``sharing``, not ``share``: the import contracts hold every ``cnnviz.*.share``
module to "no Streamlit" (the pure tables are ``cnnviz.core.share`` and the features' ``share`` modules).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from cnnviz.core.share import ParamTable, query_string
from cnnviz.core.text import md_escape

#: What each page last wrote to (or read from) the URL: ``{page path: {name: text}}``.
WRITTEN_KEY = "cnnviz_share_written"
#: The parameters the latest link to each page could not read: ``{page path: [names]}``, shown until they change.
IGNORED_KEY = "cnnviz_share_ignored"
#: Every URL each page has written in this session: ``{page path: [query, ...]}`` (see :func:`restore_from_url`).
HISTORY_KEY = "cnnviz_share_history"
#: Pages that must read their URL on their next run whatever it holds: ``{page path}`` (see :func:`open_link`).
FORCE_KEY = "cnnviz_share_force"


def _query() -> dict[str, Any]:
    try:
        return dict(st.query_params.to_dict())
    except Exception:  # noqa: BLE001 - a URL Streamlit cannot parse reads as no parameters
        return {}


def restore_from_url(table: ParamTable, page: str) -> list[str]:
    """Set the controls of ``table`` from the URL, when the URL is new to this page; call before the widgets.

    Settings the URL does not name take their defaults (a link describes the whole page); a URL naming none of
    them changes nothing. Never raises for a bad link.

    Args:
        table: the page's share-link table.
        page: the page's script path (``"pages/train.py"``).

    Returns:
        The names the link could not read (also shown as a note), ``[]`` when nothing was ignored or restored.
    """
    query = _query()
    written = st.session_state.setdefault(WRITTEN_KEY, {})
    ignored_by_page = st.session_state.setdefault(IGNORED_KEY, {})
    forced = page in st.session_state.setdefault(FORCE_KEY, set())
    st.session_state[FORCE_KEY].discard(page)
    # A URL this page wrote itself is never read back: a rerun can carry the browser's previous URL when the
    # learner changes controls faster than the browser applies publish()'s update, and reading it back would undo
    # the newest change (seen as lost slider key presses in Chromium). Links from outside are new URLs, and
    # open_link() forces the read when a lesson's link happens to equal an earlier one.
    if not forced and (written.get(page) == query or query in st.session_state.get(HISTORY_KEY, {}).get(page, [])):
        _show_ignored(ignored_by_page.get(page, []))
        return []
    written[page] = query
    values, ignored = table.decode(query)
    if table.mentions(query):
        for key, value in table.updates(values, st.session_state).items():
            st.session_state[key] = value
    ignored_by_page[page] = ignored
    _show_ignored(ignored)
    return ignored


def _show_ignored(ignored: list[str]) -> None:
    if ignored:
        names = ", ".join(f"`{md_escape(name)}`" for name in ignored[:12])
        more = f" and {len(ignored) - 12} more" if len(ignored) > 12 else ""
        st.info(f"Ignored from the link: {names}{more} (could not read them). Those settings start at their "
                "defaults.", icon=":material/link_off:")


def current_query(table: ParamTable) -> dict[str, str]:
    """The URL parameters of the controls' current values (only those that differ from the defaults)."""
    return table.encode(table.current(st.session_state))


def publish(table: ParamTable, page: str) -> dict[str, str]:
    """Write the controls' current values to the URL (only this page's parameters, only when they changed).

    Returns:
        The parameters now in the URL.
    """
    wanted = current_query(table)
    written = st.session_state.setdefault(WRITTEN_KEY, {})
    if _query() != wanted:
        st.query_params.from_dict(wanted)
        # A new link means the note about the old one no longer applies.
        st.session_state.setdefault(IGNORED_KEY, {})[page] = []
    written[page] = dict(wanted)
    history = st.session_state.setdefault(HISTORY_KEY, {}).setdefault(page, [])
    if wanted not in history:
        history.append(dict(wanted))
        del history[:-HISTORY_LIMIT]
    return wanted


#: How many of its own URLs a page remembers (a session's worth of control changes, a few kB).
HISTORY_LIMIT = 200


def open_link(page: str, params: dict[str, str]) -> None:
    """Open ``page`` with the share-link ``params`` and make it read them even if it wrote the same URL before.

    Call outside a callback (``st.switch_page`` stops the script).
    """
    st.session_state.setdefault(FORCE_KEY, set()).add(page)
    st.switch_page(page, query_params=params or None)


def page_url(table: ParamTable, path: str) -> str:
    """The full link of this page with its current settings (``path``: the page's URL path, e.g. ``"train"``).

    The address comes from ``st.context.url`` (the browser's URL without its query); without one (a test), the
    link is relative to the studio's address.
    """
    base = None
    try:
        base = st.context.url
    except Exception:  # noqa: BLE001 - no browser context: fall back to the relative link
        base = None
    if not base:
        base = f"/{path}"
    query = query_string(current_query(table))
    return f"{base}?{query}" if query else base


def copy_link_button(table: ParamTable, path: str, *, key: str) -> None:
    """A "Copy link" control: the page's link with its current settings, with a copy icon.

    Streamlit has no clipboard command, so the link is shown in a code box, whose copy icon copies it.
    """
    with st.popover("Copy link", icon=":material/link:", key=key, help="A link that opens this page with every setting "
                    "you chose, for a classmate, a student or yourself later."):
        url = page_url(table, path)
        st.code(url, language=None, wrap_lines=True)
        st.caption("Click the copy icon at the right of the box, then paste the link anywhere. Whoever opens it "
                   "sees this page with your settings (not your trained model, uploads or drawings).")
        if url.startswith("/"):
            st.caption("Put the studio's address (such as http://localhost:8501) in front of it.")


def share_bar(table: ParamTable, page: str, path: str, *, key: str) -> None:
    """:func:`publish` the page's settings to the URL, then offer :func:`copy_link_button`: one call per page."""
    publish(table, page)
    copy_link_button(table, path, key=key)


__all__ = ["FORCE_KEY", "HISTORY_KEY", "IGNORED_KEY", "WRITTEN_KEY", "copy_link_button", "current_query",
           "open_link", "page_url", "publish", "restore_from_url", "share_bar"]
