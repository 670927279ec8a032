"""Numbered figures and tables: a ``name:`` (MyST's option) makes a figure, chart or table a
target of ``{ref}``/``{numref}``, numbered per post in order ("Figure 1", "Table 2"; charts
count as figures).

Only named blocks are numbered (as Quarto numbers only labelled figures), so a post that
names none reads as before. The numbers are worked out once per post, before any block is
rendered, so a reference may come before its figure. The anchor of a named block is its name,
as in MyST's HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ...common.errors import SourceLocation, UserError, did_you_mean, one_of
from ..sources.text import html_text
from .base import Block

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")  # an HTML id that needs no escaping and no Liquid
NAME_HELP = "a name for {ref} such as fig-curves (letters, digits, '-' and '_', starting with a letter)"


@dataclass(frozen=True)
class Numbered:
    """A named block's number: its kind's word ("Figure", "Table") and its place among that kind."""

    kind: str
    number: int
    location: SourceLocation

    @property
    def text(self) -> str:
        return f"{self.kind} {self.number}"


def check_name(name: str | None, location: SourceLocation, problems: list[UserError]) -> None:
    """A ``name:`` option that cannot be an anchor is a problem at its line."""
    if name is not None and not NAME.match(name):
        problems.append(UserError(f"'name' is '{name}', which cannot be a figure's or table's name", location,
                                  hint=NAME_HELP))


def number_blocks(blocks: Iterable[Block]) -> tuple[dict[str, Numbered], list[UserError]]:
    """Every named block's number, by name, in the post's order; a name used twice is an error."""
    numbers: dict[str, Numbered] = {}
    counts: dict[str, int] = {}
    errors: list[UserError] = []
    for block in blocks:
        target = block.numbered()
        if target is None:
            continue
        kind, name, location = target
        if name in numbers:
            errors.append(UserError(f"'{name}' names two blocks", location,
                                    hint=f"the first is at line {numbers[name].location.line}; "
                                         "give this one another name"))
            continue
        counts[kind] = counts.get(kind, 0) + 1
        numbers[name] = Numbered(kind, counts[kind], location)
    return numbers, errors


def look_up(numbers: dict[str, Numbered], name: str, location: SourceLocation,
            errors: list[UserError]) -> Numbered | None:
    """The number of ``name``; a name no block has is an error at ``location``, with a did-you-mean."""
    found = numbers.get(name)
    if found is None:
        errors.append(UserError(f"no figure or table is named '{name}'", location,
                                suggestion=did_you_mean(name, numbers) or one_of(numbers),
                                hint="give the figure, chart or table 'name: " + name + "'"))
    return found


def caption_number(numbered: Numbered | None, caption: str) -> str:
    """``<span class="litblog-number">Figure 1:</span> caption`` (HTML), or ``caption`` when not numbered."""
    if numbered is None:
        return caption
    label = f'<span class="litblog-number">{html_text(numbered.text)}{":" if caption else ""}</span>'
    return f"{label} {caption}" if caption else label
