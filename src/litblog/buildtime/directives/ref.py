"""``{ref}`fig-curves```: a link to a named figure, chart or table, shown as its number ("Figure 3").

``{ref}`the curves <fig-curves>``` shows the author's words instead. The target is a block
with ``name: fig-curves`` in the same post (``numbering.py``); a name no block has is an error
at the reference's line. (MyST's ``{ref}`` to a figure shows its caption; litblog's shows its
number, as Quarto's ``@fig-`` does, which reads better in prose about results.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from .base import Role
from .numbering import NAME, NAME_HELP


_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<name>[^<>]+)>$", re.S)



@dataclass(frozen=True)
class NameReference:
    """A ``{ref}`` or ``{numref}`` role: the name it points to and, when given, its own words."""

    name: str
    text: str | None  # {ref}: the words shown; {numref}: a pattern where %s is the number
    location: SourceLocation
    start: int
    end: int

    @property
    def experiments(self) -> tuple[str, ...]:
        return ()



def parse_name(role: str, content: str, location: SourceLocation, start: int, end: int,
               errors: list[UserError]) -> NameReference | None:
    """``name`` or ``words <name>``, as MyST writes both."""
    explicit = _EXPLICIT.match(content)
    name, text = (explicit["name"].strip(), explicit["text"].strip() or None) if explicit else (content.strip(), None)
    if not NAME.match(name):
        errors.append(UserError(f"{{{role}}} names '{name}', which is no figure or table name", location,
                                hint=f"write {{{role}}}`fig-curves` for a block with {NAME_HELP}"))
        return None
    return NameReference(name, text, location, start, end)



def parse(content: str, location: SourceLocation, start: int, end: int,
          errors: list[UserError]) -> NameReference | None:
    return parse_name("ref", content, location, start, end, errors)



ROLE = Role("ref", NameReference, parse, in_captions=True)

