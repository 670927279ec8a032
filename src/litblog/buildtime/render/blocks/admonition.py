"""The admonitions drawn on a page; their syntax and parser are ``directives/admonition.py``.

A box (``admonition.html.j2``) holding the author's Markdown (``markdown="1"``: kramdown and
Python-Markdown's md_in_html read it as Markdown), its roles rendered as in the post's text.
"""

from __future__ import annotations

from markupsafe import Markup

from ..page import Page
from ...sources.text import html_text
from .rendering import Rendering
from ...directives.admonition import Admonition

TEMPLATE = "admonition.html.j2"


def render(block: Admonition, page: Page) -> str:
    content = block.content
    notices = page.notices([name for ref in content.references for name in ref.experiments])
    body = Markup(page.substitute(content.text, content.references))  # the author's own prose
    return notices + page.template(TEMPLATE, kind=block.kind, tone=block.tone, title=html_text(block.title),
                                   body=body)


RENDERING = Rendering(Admonition, render)
