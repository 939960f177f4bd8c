"""Making arbitrary text safe for markdown, HTML blocks, XML and terminals.

Gate messages, test names and test output come from the user's code: they may hold
pipes, backticks, HTML, CDATA terminators, ANSI escapes or bytes that are not text.
Every renderer passes user strings through one of these helpers.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls except tab/newline/CR, DEL and C1 controls (terminal escapes), lone
# surrogates (undecodable bytes) and the two non-characters XML 1.0 forbids.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MARKDOWN_SPECIAL = re.compile(r"([\\|`\[\]])")
# "@name" at a word start would notify a GitHub user or team from a bot comment.
_MENTION = re.compile(r"(?<![\w@])@(?=[A-Za-z0-9])")


def strip_control(text: str) -> str:
    """Remove characters that XML 1.0, UTF-8 files and terminals cannot take."""
    return _CONTROL.sub("", text)


def strip_surrogates(text: str) -> str:
    """Remove lone surrogates, which undecodable bytes become and UTF-8 cannot encode."""
    return _SURROGATE.sub("", text)


def one_line(value: Any, limit: int) -> str:
    """``value`` as one line of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = strip_control(str(value)).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = text.replace("\t", " ")
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def cell(value: Any, limit: int = 300) -> str:
    """Markdown inline text, safe in a table cell: one line, no table break, no raw HTML,
    no code span, no link, no @-mention."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(value, limit))
    return _MENTION.sub("@&#8203;", text.replace("<", "&lt;"))


def html(value: Any, limit: int = 200) -> str:
    """Text inside an HTML block such as ``<summary>``, where markdown escapes do not apply
    (entities do; ``[`` too, in case a renderer parses markdown there after all)."""
    text = one_line(value, limit).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("[", "&#91;")
    return _MENTION.sub("@&#8203;", text)


def code(value: Any, limit: int = 200, *, in_table: bool = False) -> str:
    """An inline code span holding ``value`` verbatim, whatever backticks it contains."""
    text = one_line(value, limit) or " "
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "  # CommonMark strips one space on each side
    if in_table:
        text = text.replace("|", "\\|")  # GFM unescapes \| inside code spans in tables
    return f"{ticks}{text}{ticks}"


def fence(text: str, lang: str = "text", limit: int = 4000) -> str:
    """A fenced code block whose fence is longer than any backtick run inside.

    Keeps the *last* ``limit`` characters: for test output the end is what matters.
    """
    body = strip_control(text).rstrip("\n")
    if len(body) > limit:
        body = "…" + body[-(limit - 1) :]
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{lang}\n{body}\n{marks}"


# What mermaid 11 cannot show as itself inside a quoted label, and the nearest look-alike:
# a quote ends the label (there is no escape), and ``<`` comes out as ``&lt;`` (its
# DOMPurify pass escapes it, then the text node shows the entity).
_MERMAID_LOOKALIKE = str.maketrans({'"': "\u02ba", "<": "\u2039"})
# ``#name;`` is an entity code to mermaid and ``%%`` starts a comment or an init
# directive: a zero-width space after ``#`` / between the ``%`` keeps them plain text.
_MERMAID_ENTITY = re.compile(r"#(?=\w+;)")


def mermaid_text(value: Any, limit: int = 40) -> str:
    """Text as mermaid draws it verbatim inside a quoted label or a pie title (one line);
    markdown escapes do not apply in a mermaid block, so ``|``, ``@`` and ``&`` stay."""
    text = one_line(value, limit).translate(_MERMAID_LOOKALIKE)
    return _MERMAID_ENTITY.sub("#\u200b", text).replace("%%", "%\u200b%")


def mermaid_label(value: Any, limit: int = 40) -> str:
    """A quoted mermaid label that renders as ``value`` (see ``mermaid_text``)."""
    return f'"{mermaid_text(value, limit)}"'


def marker_name(name: str) -> str:
    """A model name as it can appear inside an HTML comment (never ``-->``)."""
    return re.sub(r"[^A-Za-z0-9._/@:+-]", "_", name)[:200]
