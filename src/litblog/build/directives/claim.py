"""``{claim}`model3.test.accuracy > model1.test.accuracy```: a comparison checked when the site is built.

``<``, ``>``, ``<=``, ``>=``, or ``~=`` with a tolerance (``a ~= b ± 0.02``); a side is a value,
a number (``0.7``, ``70%``) or a difference ``a - b``. With seeds the means decide. A claim
that holds shows a ✓ whose title gives the values; one that does not is an error at its line;
one that holds for the means while the 95% interval of the difference includes zero is a
warning. A claim about an experiment without a result is not checked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from ..page import Page, missing_inline
from ..spread import check_claim, describe_claim
from ..text import html_text, markdown_text
from .base import MINUS, Quantity, Role, ValuePath, value_path
from .seed_values import MISSING, terms

CLAIM_OPERATORS = ("<=", ">=", "~=", "<", ">")


@dataclass(frozen=True)
class ClaimReference:
    """An inline ``{claim}`model3.test.accuracy > model1.test.accuracy``` checked at build time.

    ``~=`` (about equal) takes a tolerance: ``a ~= b ± 0.02``.
    """

    left: Quantity
    operator: str
    right: Quantity
    tolerance: float | None
    text: str
    location: SourceLocation
    start: int
    end: int

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.experiment for p in (*self.left.paths, *self.right.paths)))


_CLAIM = re.compile(r"^(?P<left>.+?)\s*(?P<op><=|>=|~=|<|>)\s*(?P<right>.+?)"
                    r"(?:\s*(?:±|\+/-|\+-)\s*(?P<tolerance>\S+))?$", re.S)
_CLAIM_HINT = ("write {claim}`model3.test.accuracy > model1.test.accuracy` (<, >, <=, >=), or "
               "{claim}`model1.test.accuracy ~= model2.test.accuracy ± 0.02`; a side is experiment.value, "
               "a number, or a difference 'a - b'")


def parse(content: str, location: SourceLocation, start: int, end: int,
          errors: list[UserError]) -> ClaimReference | None:
    match = _CLAIM.match(content)
    sides = None if match is None else (_quantity(match["left"]), _quantity(match["right"]))
    if match is None or sides is None or None in sides:
        errors.append(UserError(f"claim '{content}' is not a comparison", location, hint=_CLAIM_HINT))
        return None
    left, right = sides
    assert left is not None and right is not None
    tolerance = None
    if match["tolerance"] is not None:
        tolerance = _number(match["tolerance"])
        if match["op"] != "~=":
            errors.append(UserError(f"claim '{content}': only '~=' takes a tolerance", location, hint=_CLAIM_HINT))
            return None
        if tolerance is None or tolerance < 0:
            errors.append(UserError(f"claim '{content}': the tolerance '{match['tolerance']}' is not a number "
                                    f"of at least 0", location, hint=_CLAIM_HINT))
            return None
    elif match["op"] == "~=":
        errors.append(UserError(f"claim '{content}': '~=' needs a tolerance, like '± 0.02'", location,
                                hint=_CLAIM_HINT))
        return None
    if not left.paths and not right.paths:
        errors.append(UserError(f"claim '{content}' names no experiment's value", location, hint=_CLAIM_HINT))
        return None
    return ClaimReference(left, match["op"], right, tolerance, content, location, start, end)


def _quantity(text: str) -> Quantity | None:
    operands: list[ValuePath | float] = []
    for operand in MINUS.split(text.strip()):
        number = _number(operand)
        value = number if number is not None else value_path(operand)
        if value is None:
            return None
        operands.append(value)
    if len(operands) > 2:
        return None
    return Quantity(operands[0], operands[1] if len(operands) == 2 else None)


def _number(text: str) -> float | None:
    """``0.7``, ``-3``, ``70%`` as a number, or None."""
    text = text.strip()
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        value = float(text)
    except ValueError:
        return None
    return value * scale if math.isfinite(value) else None


def render(claim: ClaimReference, page: Page, links: bool) -> str:
    """A checked claim: a mark with the values in its title; a located error when it does not hold."""
    sides = [terms(page, side, claim.location) for side in (claim.left, claim.right)]
    if any(side is MISSING for side in sides):
        return "?"
    if any(side is None for side in sides):
        name = next(n for n in claim.experiments if page.outcomes[n].result is None)
        return missing_inline(name, "(claim not checked: no result)") if links else "(claim not checked)"
    verdict = check_claim(claim.operator, sides[0], sides[1], claim.tolerance)  # type: ignore[arg-type]
    described = describe_claim(claim.operator, sides[0], sides[1], claim.tolerance)  # type: ignore[arg-type]
    if not verdict.holds:
        page.errors.append(UserError(f"claim does not hold: {described}", claim.location, hint=verdict.detail or None))
    elif verdict.includes_zero:
        page.warnings.append(f"{claim.location}: claim '{claim.text}' holds for the means, but {verdict.detail}")
    title = f"Checked when the site was built: {described}" + (f"; {verdict.detail}" if verdict.detail else "")
    if not links:
        return markdown_text("✓")
    return f'<span class="litblog-claim" title="{html_text(title)}">✓</span>'


ROLE = Role("claim", ClaimReference, parse, render)
