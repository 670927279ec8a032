"""``{numref}`fig-curves```: as ``{ref}``, "Figure 3"; ``{numref}`Fig. %s <fig-curves>``` puts the
number where ``%s`` is, as MyST's ``{numref}`` does."""

from __future__ import annotations

from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from ..render.page import Page
from ..sources.text import html_text
from .base import Role
from .numbering import look_up
from .ref import NameReference, link, parse_name


@dataclass(frozen=True)
class NumberReference(NameReference):
    """A ``{numref}`` role (its own type: the registry renders each role by its reference's type)."""


def parse(content: str, location: SourceLocation, start: int, end: int,
          errors: list[UserError]) -> NumberReference | None:
    found = parse_name("numref", content, location, start, end, errors)
    return None if found is None else NumberReference(found.name, found.text, location, start, end)


def render(reference: NumberReference, page: Page, links: bool) -> str:
    numbered = look_up(page.numbers, reference.name, reference.location, page.errors)
    if numbered is None:
        return html_text(reference.name)
    words = reference.text.replace("%s", str(numbered.number)) if reference.text else numbered.text
    return link(reference, page, links, words)


ROLE = Role("numref", NumberReference, parse, render, in_captions=True)
