"""Tests for cnnviz.core.text: user text shown in Markdown or Plotly stays text (issue 16, finding 5).

The oracle is markdown-it-py, a CommonMark renderer (Streamlit's renderer follows CommonMark and
GitHub Markdown): the escaped text must render as one paragraph holding exactly the original text,
with no link, emphasis, heading, list, code or HTML element.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from cnnviz.core.text import md_code, md_escape, plotly_escape

RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])

HOSTILE = [
    "[click me](https:evil.example).keras",
    "**bold** [x](https:evil.example)",
    "<b>bold</b><a href='https://evil.example'>x</a>",
    "<script>alert(1)</script>",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "`code` and ``more``",
    "_under_ *star* ~~strike~~",
    "![img](https://evil.example/x.png)",
    "<https://evil.example>",
    "&lt;b&gt; &amp; &#60;",
    "a | b\n--|--\nc | d",
    "line one\n# line two",
    "    indented code",
    ":red[coloured] :material/home: $x^2$",
    "back\\slash\\",
]


def _rendered_text(markdown: str) -> str:
    """The text of the single paragraph ``markdown`` renders to (fails if it renders anything else)."""
    rendered = RENDERER.render(markdown)
    match = re.fullmatch(r"<p>(.*)</p>\n", rendered, flags=re.DOTALL)
    assert match, rendered
    inner = match.group(1)
    assert "<" not in inner, f"an element was rendered: {rendered}"
    return html.unescape(inner)


@pytest.mark.parametrize("text", HOSTILE)
def test_md_escape_renders_as_the_text_typed(text: str) -> None:
    expected = " ".join(text.replace("\n", " ").split(" ")).strip()
    assert _rendered_text(md_escape(text)) == expected


@pytest.mark.parametrize("text", HOSTILE)
def test_md_escape_leaves_no_streamlit_directive_or_maths(text: str) -> None:
    escaped = md_escape(text)
    # Streamlit's own syntax (":red[...]", ":material/x:", "$...$") is only recognised unescaped.
    assert not re.search(r"(?<!\\)[:$\[]", escaped), escaped


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40))
def test_md_escape_renders_any_text_literally(text: str) -> None:
    stripped = text.strip()
    if not stripped:
        return
    assert _rendered_text(md_escape(text)) == stripped


@pytest.mark.parametrize("text", ["plain", "a`b", "``x``", "`", "[x](https://e.example) **b** <b>"])
def test_md_code_shows_the_text_as_code(text: str) -> None:
    rendered = RENDERER.render(md_code(text))
    match = re.fullmatch(r"<p><code>(.*)</code></p>\n", rendered, flags=re.DOTALL)
    assert match, rendered
    assert html.unescape(match.group(1)).strip() == text.strip()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<b>x</b>.png", "&lt;b&gt;x&lt;/b&gt;.png"),
        ("<a href='https://evil.example'>x</a>", "&lt;a href='https://evil.example'&gt;x&lt;/a&gt;"),
        ("&lt;", "&amp;lt;"),
        ("plain name.png", "plain name.png"),
    ],
)
def test_plotly_escape(text: str, expected: str) -> None:
    assert plotly_escape(text) == expected
    assert html.unescape(plotly_escape(text)) == text
