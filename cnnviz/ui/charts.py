"""Built Plotly figures, kept so that a rerun does not build the same figure again.

Building a Plotly figure is the slowest part of most reruns: Plotly validates every property as it
is set, so a grid of 16 small heatmaps takes about 0.1 s of CPU to build and 0.01 s to send (issue 11:
an Inside rerun spent most of its second building figures it had built on the previous run).
:func:`cached_figure` builds a figure once per builder and arguments and hands back the same object
afterwards, to every session.

The figure is shared and not copied (``st.cache_resource``), which is safe because ``st.plotly_chart``
only reads it (it serialises a copy) and callers must not change a figure they got from here. Copying
it (``st.cache_data`` pickles it) would cost a third of building it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

#: Most figures kept built at once (oldest dropped); a figure of a few thousand pixels is a few hundred kB.
MAX_CACHED_FIGURES = 128
#: Most large figures kept (see :func:`cached_large_figure`): a 784-frame animation holds ~18 MB.
MAX_CACHED_LARGE_FIGURES = 4
#: Seconds a figure stays kept after it was built (a class's session rarely lasts longer).
FIGURE_TTL_S = 2 * 60 * 60


@st.cache_resource(max_entries=MAX_CACHED_FIGURES, ttl=FIGURE_TTL_S, show_spinner=False)
def _built(
    name: str, _build: Callable[..., go.Figure], args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
) -> go.Figure:
    del name  # The builder's key: Streamlit does not hash functions.
    return _build(*args, **dict(kwargs))


@st.cache_resource(max_entries=MAX_CACHED_LARGE_FIGURES, ttl=FIGURE_TTL_S, show_spinner=False)
def _built_large(
    name: str, _build: Callable[..., go.Figure], args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
) -> go.Figure:
    del name  # The builder's key: Streamlit does not hash functions.
    return _build(*args, **dict(kwargs))


def cached_figure(build: Callable[..., go.Figure], *args: Any, **kwargs: Any) -> go.Figure:
    """Return ``build(*args, **kwargs)``, built once for these arguments and shared afterwards.

    The key is the builder and the values of its arguments (arrays by content, dataclasses by their
    fields), so a figure of changed data is built anew, never served stale. Pass only what the figure is
    drawn from; the returned figure is shared: hand it to ``st.plotly_chart`` and do not change it.

    Args:
        build: a pure function returning a ``go.Figure`` (e.g. :func:`cnnviz.core.figures.image_figure`).
        args, kwargs: its arguments; each must be hashable by Streamlit (numbers, text, arrays, tuples,
            dataclasses of those).
    """
    name = f"{build.__module__}.{build.__qualname__}"
    return _built(name, build, args, tuple(sorted(kwargs.items())))


def cached_large_figure(build: Callable[..., go.Figure], *args: Any, **kwargs: Any) -> go.Figure:
    """:func:`cached_figure` for figures of many megabytes (animations): only a few are kept at once."""
    name = f"{build.__module__}.{build.__qualname__}"
    return _built_large(name, build, args, tuple(sorted(kwargs.items())))
