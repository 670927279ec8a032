"""The ``{math}`` role drawn on a page: ``$$...$$`` inside the paragraph, inline math for kramdown
and the preview alike; its syntax and parser are ``directives/inline_math.py``."""

from __future__ import annotations

from ..page import Page
from ..targets import has_liquid
from .rendering import Rendering
from ...directives.inline_math import InlineMath


def render(math: InlineMath, page: Page, links: bool) -> str:
    text = f"$${math.latex}$$"
    return page.target.verbatim(text) if has_liquid(text) else text


RENDERING = Rendering(InlineMath, render)
