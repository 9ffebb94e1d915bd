"""Escaping user-controlled text before it is shown: in Markdown (Streamlit) and in Plotly titles.

File names, model and dataset names read from sidecars, and rejected input echoed in an error
are written by users. Shown as they are, ``[click me](https:evil.example).keras`` becomes a live
link and ``**x**`` bold text (issue 16, finding 5). Every such text goes through one of:

* :func:`md_escape` for ``st.markdown``, ``st.error``, ``st.caption``, labels...: every Markdown
  punctuation character gets a backslash, so links, emphasis, headings, lists, HTML, code,
  Streamlit's ``:color[...]`` directives, ``$`` maths and bare-URL autolinks all show as typed;
* :func:`md_code` to show a name as inline code, whatever backticks it holds;
* :func:`plotly_escape` for Plotly titles, hover text and annotations, which understand a few
  HTML tags (``<b>``, ``<a href>``, ``<br>``) and entities.

Plain functions of text; Streamlit-free.
"""

from __future__ import annotations

import re
from typing import Final

#: Characters with a meaning in CommonMark, GitHub Markdown or Streamlit's Markdown (``:`` starts a
#: directive or emoji, ``$`` maths, ``~`` strike-through, ``|`` tables, ``@``/``:``/``.`` autolinks).
#: CommonMark lets a backslash escape any ASCII punctuation character.
_MARKDOWN_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&@\"'=%^])")
_LINE_BREAKS: Final = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def md_escape(text: object) -> str:
    """Return ``text`` so that Markdown shows it literally, on one line.

    Args:
        text: anything (converted with ``str``); typically a file, model or dataset name, or input
            a user typed that is echoed in a message.

    Returns:
        str: every Markdown punctuation character preceded by a backslash; line breaks and tabs
        become spaces and surrounding whitespace is removed (a name never starts a heading, list
        or indented code block).

    Example:
        ``md_escape("[x](https://e.example) **b**")`` renders as ``[x](https://e.example) **b**``.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)).replace("\t", " ").strip())


def md_code(text: object) -> str:
    """Return ``text`` as a Markdown inline code span that shows it literally, backticks included.

    Inside a code span nothing is interpreted (no links, emphasis or HTML); the fence is one
    backtick longer than the longest run of backticks in ``text`` (CommonMark's rule).

    Args:
        text: anything (converted with ``str``); line breaks become spaces.

    Returns:
        str: e.g. ``md_code("a`b") == "`` a`b ``"``.
    """
    value = _LINE_BREAKS.sub(" ", str(text))
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {value} " if value.startswith("`") or value.endswith("`") or not value.strip() else value
    return f"{fence}{padded}{fence}"


def plotly_escape(text: object) -> str:
    """Return ``text`` for a Plotly title, hover text or annotation: ``&``, ``<`` and ``>`` as entities.

    Plotly renders a few HTML tags (``<b>``, ``<i>``, ``<a href=...>``, ``<br>``) and entities in
    its text; escaped, an upload named ``<b>x</b>.png`` is shown as typed.

    Args:
        text: anything (converted with ``str``).

    Returns:
        str: with ``&`` -> ``&amp;``, ``<`` -> ``&lt;``, ``>`` -> ``&gt;``.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["md_code", "md_escape", "plotly_escape"]
