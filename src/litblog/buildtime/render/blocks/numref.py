"""The numref role drawn on a page; its syntax, options and parser are ``directives/numref.py``.

``{numref}`fig-curves```: as ``{ref}``, "Figure 3"; ``{numref}`Fig. %s <fig-curves>``` puts the
number where ``%s`` is, as MyST's ``{numref}`` does.
"""

from __future__ import annotations

from ..page import Page
from ...sources.text import html_text
from .rendering import Rendering
from ...directives.numbering import look_up
from .ref import link
from ...directives.numref import NumberReference


def render(reference: NumberReference, page: Page, links: bool) -> str:
    numbered = look_up(page.numbers, reference.name, reference.location, page.errors)
    if numbered is None:
        return html_text(reference.name)
    words = reference.text.replace("%s", str(numbered.number)) if reference.text else numbered.text
    return link(reference, page, links, words)


RENDERING = Rendering(NumberReference, render)
