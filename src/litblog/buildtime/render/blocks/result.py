"""The result role drawn on a page; its syntax, options and parser are ``directives/result.py``.

``{result}`experiment.value:format```: a stored value in prose or a caption.

``{result}`model1.test.accuracy:.1%``` renders ``68.0%`` (``68.0% ± 1.4%`` over seeds, see
``seed_values.py``); ``{result}`model3.test.accuracy - model1.test.accuracy:+.1%``` renders the
difference of two values, with its 95% interval when a side has several runs (Welch's t, or a
paired t with ``(paired)`` after the difference: ``{result}`a.x - b.x (paired):+.1%```).
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
