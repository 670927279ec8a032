"""Where a post's code blocks lie, found by CommonMark's block rules (markdown-it-py).

kramdown (GitHub Pages) finds a code block inside a blockquote (``> ~~~``), a list item or any
nesting of them, and so does a CommonMark parser; a scanner of lines starting with a fence does
not. This module asks markdown-it-py, the parser MyST uses, for the block structure once per
post (inline parsing off: only blocks are needed) and reports each fenced or indented code
block with its lines in the body, its content without the containers' markers and the
containers around it. The scanner decides what each one is (a directive fence, or code passed
through unevaluated); everything else stays the author's text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# A list marker in a line's container prefix: continuation lines carry spaces of its width.
_LIST_MARKER = re.compile(r"[-+*]|\d{1,9}[.)]")
_CONTAINERS = {"blockquote_open": "blockquote", "list_item_open": "list item"}


@dataclass(frozen=True)
class CodeSpan:
    """A fenced or indented code block of a post's body: lines ``start`` to ``end`` (0-based,
    ``end`` excluded), as markdown-it-py's line map gives them."""

    start: int
    end: int
    fence: str  # the opening fence (```` ``` ````, ``~~~~``); "" for indented code
    info: str  # the fence's info string, as written after the fence; "" for indented code
    content: str  # the code, the containers' markers and the fence's indentation removed
    closed: bool  # a closing fence ends it (not the end of its container or of the body)
    containers: tuple[str, ...]  # "blockquote", "list item", outermost first; () at top level
    prefix: str  # what precedes the fence on its first line: container markers and indentation

    @property
    def continuation(self) -> str:
        """The prefix that keeps a line after the first inside the same containers: the first
        line's, with list markers as spaces (``> 1. `` → ``>    ``)."""
        return _LIST_MARKER.sub(lambda m: " " * len(m.group(0)), self.prefix)


@dataclass(frozen=True)
class Structure:
    """What the scanner needs of a post's block structure."""

    code: tuple[CodeSpan, ...]  # its code blocks, in order
    html: tuple[range, ...]  # the lines of its HTML blocks (0-based), in order


@functools.cache
def _parser() -> MarkdownIt:
    """CommonMark block rules with HTML blocks on, as kramdown reads raw HTML; no inline parsing.
    Made when a post is parsed: a rebuild whose posts all come from the parse cache never imports it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).disable(["inline", "text_join"])


_UNDERLINE = re.compile(r"^ {0,3}(?:-+|=+)[ \t]*$")


def setext_headings(text: str) -> dict[int, int]:
    """The top-level setext headings of ``text`` (``Title`` over a line of ``-`` or ``=``) whose
    title is one line after a blank one (or the first line), as every converter reads them
    (CommonMark, kramdown, Python-Markdown): the title's line (0-based) -> level (2 or 1)."""
    lines = text.split("\n")
    candidates = [index - 1 for index in range(1, len(lines))
                  if _UNDERLINE.match(lines[index]) and lines[index - 1].strip()
                  and (index == 1 or not lines[index - 2].strip())]
    if not candidates:
        return {}  # most prose has none: no parse
    found: dict[int, int] = {}
    level = 0
    for token in _parser().parse(text.replace("\r", " ")):
        if token.type == "heading_open" and level == 0 and token.map is not None and token.markup[:1] in "-=":
            start, end = token.map
            if end - start == 2 and start in candidates:
                found[start] = int(token.tag[1])
        level += token.nesting if token.type.endswith(("_open", "_close")) else 0
    return found


def code_spans(body: str) -> list[CodeSpan]:
    """The code blocks of ``body`` in order, as a CommonMark parser (and kramdown) reads them."""
    return list(read_structure(body).code)


def read_structure(body: str) -> Structure:
    """The code and HTML blocks of ``body``, as a CommonMark parser (and kramdown) reads them."""
    # markdown-it-py ends a line at a lone "\r" too; a space keeps its lines the body's lines.
    tokens = _parser().parse(body.replace("\r", " "))
    lines = body.split("\n")
    spans: list[CodeSpan] = []
    html: list[range] = []
    open_containers: list[str] = []
    for token in tokens:
        if token.type in _CONTAINERS:
            open_containers.append(_CONTAINERS[token.type])
        elif token.type in ("blockquote_close", "list_item_close"):
            open_containers.pop()
        elif token.type == "html_block" and token.map is not None:
            html.append(range(*token.map))
        elif token.type in ("fence", "code_block") and token.map is not None:
            start, end = token.map
            first = lines[start] if start < len(lines) else ""
            if token.type == "fence":
                at = first.find(token.markup)
                prefix, info = (first[:at], first[at + len(token.markup):].strip()) if at >= 0 else ("", token.info)
                # A closed fence has two fence lines around its content, an unclosed one only the first.
                closed = token.content.count("\n") == end - start - 2
                spans.append(CodeSpan(start, end, token.markup, info, token.content, closed,
                                      tuple(open_containers), prefix))
            else:
                prefix = first[:len(first) - len(first.lstrip(" \t>"))] if open_containers else ""
                spans.append(CodeSpan(start, end, "", "", token.content, True, tuple(open_containers), prefix))
    return Structure(tuple(spans), tuple(html))
