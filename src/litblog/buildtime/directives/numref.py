"""``{numref}`fig-curves```: as ``{ref}``, "Figure 3"; ``{numref}`Fig. %s <fig-curves>``` puts the
number where ``%s`` is, as MyST's ``{numref}`` does."""

from __future__ import annotations

from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from .base import Role
from .ref import NameReference, parse_name


@dataclass(frozen=True)
class NumberReference(NameReference):
    """A ``{numref}`` role (its own type: the registry renders each role by its reference's type)."""



def parse(content: str, location: SourceLocation, start: int, end: int,
          errors: list[UserError]) -> NumberReference | None:
    found = parse_name("numref", content, location, start, end, errors)
    return None if found is None else NumberReference(found.name, found.text, location, start, end)



ROLE = Role("numref", NumberReference, parse, in_captions=True)

