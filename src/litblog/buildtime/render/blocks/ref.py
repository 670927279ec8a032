"""The ref role drawn on a page; its syntax, options and parser are ``directives/ref.py``.

``{ref}`fig-curves```: a link to a named figure, chart or table, shown as its number ("Figure 3").
"""

from __future__ import annotations

from ..page import Page
from ...sources.text import html_text
from .rendering import Rendering
from ...directives.numbering import look_up
from ...directives.ref import NameReference


def link(reference: NameReference, page: Page, links: bool, words: str) -> str:
    """``words`` as a link to the block's anchor (an HTML link: the same in kramdown and Python-Markdown)."""
    text = html_text(words)
    return f'<a class="litblog-ref" href="#{reference.name}">{text}</a>' if links else str(text)



def render(reference: NameReference, page: Page, links: bool) -> str:
    numbered = look_up(page.numbers, reference.name, reference.location, page.errors)
    if numbered is None:
        return html_text(reference.name)
    return link(reference, page, links, reference.text or numbered.text)


RENDERING = Rendering(NameReference, render)
