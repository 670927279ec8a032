"""``{claim}`model3.test.accuracy > model1.test.accuracy```: a comparison checked when the site is built.

``<``, ``>``, ``<=``, ``>=``, or ``~=`` with a tolerance (``a ~= b ± 0.02``); a side is a value,
a number (``0.7``, ``70%``) or a difference ``a - b``; ``(paired)`` at the end compares the runs
seed by seed (paired t) instead of as independent samples (Welch's t). With seeds the means
decide ``<`` and ``>``, and a claim whose 95% interval of the difference includes zero (with
Holm's correction on, whose adjusted p-value is above 5%) is a warning; ``~=`` is decided by an
equivalence test (TOST: the 90% interval of the difference within ± tolerance). A claim that
holds shows a ✓ whose title gives the values and the test; one that does not is an error at its
line. A claim about an experiment without a result is not checked. A post with several claims
gets a note saying how many, and whether they are corrected for multiple comparisons
(front matter ``multiple_comparisons: holm``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from .base import MINUS, PAIRED, Quantity, Role, ValuePath, value_path

CLAIM_OPERATORS = ("<=", ">=", "~=", "<", ">")
CORRECTIONS = ("none", "holm")  # front matter multiple_comparisons: how a post's claims' tests are corrected


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
    paired: bool = False  # "(paired)": runs compared seed by seed

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.experiment for p in (*self.left.paths, *self.right.paths)))

    @property
    def identity(self) -> tuple[str, int, int]:
        return (str(self.location), self.start, self.end)



_CLAIM = re.compile(r"^(?P<left>.+?)\s*(?P<op><=|>=|~=|<|>)\s*(?P<right>.+?)"
                    r"(?:\s*(?:±|\+/-|\+-)\s*(?P<tolerance>\S+))?$", re.S)



_CLAIM_HINT = ("write {claim}`model3.test.accuracy > model1.test.accuracy` (<, >, <=, >=), or "
               "{claim}`model1.test.accuracy ~= model2.test.accuracy ± 0.02`; a side is experiment.value, "
               "a number, or a difference 'a - b'; '(paired)' at the end compares seed by seed")



def parse(content: str, location: SourceLocation, start: int, end: int,
          errors: list[UserError]) -> ClaimReference | None:
    paired = PAIRED.search(content)
    match = _CLAIM.match(content[:paired.start()] if paired else content)
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
    return ClaimReference(left, match["op"], right, tolerance, content, location, start, end, bool(paired))



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



ROLE = Role("claim", ClaimReference, parse)

