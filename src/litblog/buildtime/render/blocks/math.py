"""The math directive drawn on a page: ``$$`` on lines of their own, display math for kramdown and
the preview alike; its syntax and parser are ``directives/math.py``."""

from __future__ import annotations

from ..page import Page
from ..targets import has_liquid
from .rendering import Rendering
from ...directives.math import MathDirective


def render(block: MathDirective, page: Page) -> str:
    math = f"$$\n{block.latex}\n$$"
    # Braces are LaTeX's: on the Jekyll target, Liquid must not read {{ or {% in them.
    return page.target.verbatim(math, block=True) if has_liquid(math) else math


RENDERING = Rendering(MathDirective, render)
