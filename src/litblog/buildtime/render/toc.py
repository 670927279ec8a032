"""A table of contents for long posts: the post's section headings as links, at the top of the page.

A post gets one when its front matter says ``toc: true``, or, without ``toc:``, when it has
:data:`AUTO_MINIMUM` or more headings of levels 2 and 3 (``toc: false`` turns it off): ATX
headings (``## Results``) and setext ones (``Results`` over ``-------``, level 2) whose title is
one line after a blank one, as every converter reads them. Each listed heading gets an explicit ``{#id}`` (kramdown and
Python-Markdown's ``attr_list`` both read it), so the anchors are the same in the Jekyll tree and
the preview rather than two converters' own rules; the id follows kramdown's GFM auto ids
(lower case, punctuation dropped, spaces as ``-``; ASCII, as kramdown's ``{#id}`` requires).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from ...common.errors import SourceLocation, UserError
from ..directives.base import Block, TextBlock
from ..directives.structure import setext_headings
from ..sources.posts import Post
from ..sources.text import html_text

FRONT_MATTER_KEY = "toc"
AUTO_MINIMUM = 4
LEVELS = (2, 3)
TEMPLATE = "toc.html.j2"
RESERVED = ("litblog-references", "markdown-toc")  # ids litblog or kramdown give elements of their own
_ATX = re.compile(r"^ {0,3}(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*$")
_OWN_ID = re.compile(r"\{:?\s*#[A-Za-z][\w:-]*\s*\}\s*$")
_ROLE = re.compile(r"\{[A-Za-z][\w:-]*\}(`+)(.+?)\1")


@dataclass
class Heading:
    level: int
    text: str  # plain text, for the contents
    anchor: str
    line: int  # file line
    children: list["Heading"] = field(default_factory=list)


def plain(text: str) -> str:
    """A heading's Markdown as the plain text a reader sees (roles show their content)."""
    text = _ROLE.sub(lambda m: m.group(2), text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[`*_]+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def slug(text: str) -> str:
    """kramdown's GFM auto id of a heading's text, in ASCII."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    word = re.sub(r"[^\w\- ]", "", ascii_text.lower()).replace(" ", "-")
    word = re.sub(r"^[^a-z]+", "", word)
    return word or "section"


def headings(blocks: Iterable[Block], taken: Iterable[str] = ()) -> list[Heading]:
    """The headings of levels 2 and 3 in the post's text blocks, with unique anchors (not in ``taken``).

    Headings in a directive's prose (an admonition's) are not listed, but the ids the converters
    give them are kept from the listed ones, so that no two elements of the page share an id."""
    used = set(taken)
    blocks = list(blocks)
    for block in blocks:
        if not isinstance(block, TextBlock):
            used.update(slug(plain(text)) for inner in block.prose() for _, text, _ in _found(inner))
    found = []
    for block in blocks:
        if not isinstance(block, TextBlock):
            continue
        for level, text, index in _found(block):
            if level not in LEVELS:
                continue
            text = plain(text)
            base = slug(text)
            anchor, count = base, 0
            while anchor in used:
                count += 1
                anchor = f"{base}-{count}"
            used.add(anchor)
            found.append(Heading(level, text, anchor, block.line + index))
    return found


def _found(block: TextBlock) -> list[tuple[int, str, int]]:
    """(level, Markdown text, line index in the block) of each heading of ``block`` without an id of its own."""
    setext = setext_headings(block.text)
    found = []
    for index, line in enumerate(block.text.split("\n")):
        match = _ATX.match(line)
        level, text = (len(match["hashes"]), match["text"]) if match else (setext.get(index), line.strip())
        if level is not None and not _OWN_ID.search(text):
            found.append((level, text, index))
    return found


def wanted(post: Post, count: int) -> bool:
    """Whether ``post`` gets a table of contents: its ``toc:``, else :data:`AUTO_MINIMUM` headings."""
    value = post.front_matter.get(FRONT_MATTER_KEY)
    if value is None:
        return count >= AUTO_MINIMUM
    if not isinstance(value, bool):
        doc = post.front_matter_doc
        raise UserError(f"'toc' must be true or false, got {value!r}",
                        doc.location(FRONT_MATTER_KEY) if doc is not None else SourceLocation(post.path, 1),
                        hint="toc: true shows a table of contents; toc: false never does")
    return value


def tree(found: list[Heading]) -> list[Heading]:
    """Level-3 headings under the level-2 heading before them."""
    top: list[Heading] = []
    for heading in found:
        if heading.level == LEVELS[0] or not top:
            top.append(Heading(heading.level, heading.text, heading.anchor, heading.line))
        else:
            top[-1].children.append(heading)
    return top


def with_anchors(text: str, first_line: int, anchors: dict[int, str], contents: str = "") -> str:
    """A text block's rendered Markdown with ``{#id}`` after each listed heading (lines are kept one for one),
    and ``contents`` (the table of contents, HTML) before the first listed heading when it is in this block."""
    if not anchors:
        return text
    first = min(anchors)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        anchor = anchors.get(first_line + index)
        if anchor is not None and line.strip():  # an ATX heading, or a setext heading's title
            heading = line.rstrip() + " {#" + anchor + "}"
            # After the introduction, not above it: the first paragraph stays the post's excerpt
            # (Jekyll's feed and SEO description), as a lead section comes before a contents list.
            lines[index] = f"{contents.strip()}\n\n{heading}" if contents and first_line + index == first else heading
    return "\n".join(lines)


def entries(found: list[Heading]) -> list[dict[str, object]]:
    """What ``toc.html.j2`` shows: text (escaped), anchor and children."""
    return [{"text": html_text(h.text), "anchor": h.anchor, "children": entries(h.children)} for h in tree(found)]
