"""The result role drawn on a page; its syntax, options and parser are ``directives/result.py``.

``{result}`experiment.value:format```: a stored value in prose or a caption.
"""

from __future__ import annotations

from ..page import Page
from .rendering import Rendering
from .seed_values import value_text
from ...directives.result import ValueReference


def render(reference: ValueReference, page: Page, links: bool) -> str:
    return value_text(page, reference.experiment, reference.metric, reference.format_spec, reference.location,
                      links=links, minus=reference.minus, paired=reference.paired)


RENDERING = Rendering(ValueReference, render)
