"""Text litblog inserts into a page, made safe for both targets, and numbers written for people.

Everything litblog inserts that is not the author's prose (recorded values, params, labels,
notice messages, figure captions from recipes, experiment names) is text: HTML-escaped, with
the characters Markdown, kramdown and Liquid would read (braces, brackets, ``* _ ` ~ $`` and
the backslash) written as character references, so it can neither add markup nor run as
Liquid, in either target.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

# Characters Markdown (Python-Markdown and kramdown), kramdown's extensions ({: } {:: }) or
# Liquid ({{ {%) would read in text litblog inserts, written as character references instead.
_TEXT_REFERENCES = {c: f"&#{ord(c)};" for c in "\\`*_[]{}~$"}
# Quotes too: kramdown would make them typographic ('a' -> ‘a’), and "--" and "..." dashes and ellipses.
_TEXT_REFERENCES.update({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&quot;"})
_TYPOGRAPHIC = re.compile(r"-(?=-)|\.(?=\.\.)")
_BLOCK_START = re.compile(r"^(#|[-+=](?=\s|$)|\d+(?=\.\s))")
# What a code span may hold, as CommonMark reads it: any text but a blank line (in a blockquote,
# a line holding only its markers), which ends the paragraph and so the span.
SPAN_CONTENT = r"(?:[^\n]|\n(?![ \t>]*(?:\n|$)))+?"
# An inline code span: a whole run of backticks (never part of one) closed by a run of the same
# length; a run without one is literal. What is inside is shown, never read.
CODE_SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?P<content>" + SPAN_CONTENT + r")(?<!`)(?P=ticks)(?!`)")


def markdown_text(value: Any) -> str:
    """``value`` as literal text inside Markdown: no markup, no Liquid, on one line."""
    text = re.sub(r"\s*\n\s*", " ", str(value))
    text = "".join(_TEXT_REFERENCES.get(c, c) for c in text)
    text = _TYPOGRAPHIC.sub(lambda m: f"&#{ord(m.group(0))};", text)
    # At the start of a line, '#', '- ' or '1. ' would make a heading or a list.
    return _BLOCK_START.sub(lambda m: "".join(f"&#{ord(c)};" for c in m.group(0)), text)


def html_text(value: Any) -> Markup:
    """``value`` as literal text in HTML (an element or an attribute): escaped, braces as references."""
    return Markup(str(escape(str(value))).replace("{", "&#123;").replace("}", "&#125;"))


def cell(value: str) -> str:
    """``value`` as one cell of a Markdown table."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def fenced(text: str, language: str = "") -> str:
    """``text`` in a fenced code block whose fence is longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def duration(seconds: float | None) -> str:
    """A time span for people: ``4 s``, ``1 min 15 s``, ``1 h 02 min``."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def size(count: int) -> str:
    """A file size for people: ``980 bytes``, ``12.3 KB``."""
    for unit in ("bytes", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return f"{count} GB"
