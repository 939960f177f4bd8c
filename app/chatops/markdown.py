"""The lines of a comment that GitHub shows as plain top-level text, by a CommonMark parser.

GitHub renders comments as GitHub Flavored Markdown (CommonMark plus tables and
strikethrough). Rules over raw lines get its block structure wrong in ways an
attacker can use: ``<!-- /rollback -->`` is invisible on GitHub, and a line right
after a ``>`` quote is a *lazy continuation* that GitHub shows inside the quote.
So the comment is parsed as GitHub parses it and only what a reader sees as an
ordinary top-level paragraph line can hold a command: never HTML (comments
included), code spans or blocks, quotes, lists, tables, headings, or link text.
Pure: a string in, strings out.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["command_lines"]

_BREAKS = ("softbreak", "hardbreak")
# Inline tokens whose visible text is part of the line; everything else (HTML,
# images) is markup or invisible and dropped from the line's text.
_VISIBLE = ("text", "code_inline")


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    # html: True is CommonMark's default (GitHub accepts HTML and hides comments).
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def command_lines(body: str) -> list[str]:
    """Each visible line of each top-level paragraph that starts with plain text, in order.

    A line that starts with a code span, a link, emphasis, an image or inline HTML is
    left out: its first characters are not text the commenter typed as a command."""
    tokens = _parser().parse(body)
    lines: list[str] = []
    for index, token in enumerate(tokens):
        if token.type != "inline" or token.level != 1 or index == 0 or tokens[index - 1].type != "paragraph_open":
            continue  # not a top-level paragraph's text (a quote, list item, table cell, heading...)
        lines += _lines_of(token.children or [])
    return lines


def _lines_of(children: list[Any]) -> list[str]:
    found: list[str] = []
    current: list[Any] = []
    for child in [*children, None]:
        if child is None or child.type in _BREAKS:
            if current and current[0].type == "text" and current[0].content.strip():
                found.append("".join(c.content for c in current if c.type in _VISIBLE).strip())
            current = []
        else:
            current.append(child)
    return found
