"""The claim role drawn on a page; its syntax, options and parser are ``directives/claim.py``.

``{claim}`model3.test.accuracy > model1.test.accuracy```: a comparison checked when the site is built.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ....common.errors import UserError
from ..page import Page, missing_inline
from ...results.spread import ALPHA, PairingError, Verdict, check_claim, describe_claim, holm, p_words
from ...sources.text import html_text, markdown_text
from .rendering import Rendering
from .seed_values import MISSING, terms
from ...directives.claim import ClaimReference


def correction(page: Page) -> str:
    """The post's correction for multiple comparisons (``posts.py`` checks the front matter)."""
    return str(page.post.front_matter.get("multiple_comparisons") or "none")



def _verdict(claim: ClaimReference, page: Page) -> Verdict | None | object:
    """The claim's verdict; None when a side has no result; MISSING after an error."""
    sides = [terms(page, side, claim.location) for side in (claim.left, claim.right)]
    if any(side is MISSING for side in sides):
        return MISSING
    if any(side is None for side in sides):
        return None
    try:
        return check_claim(claim.operator, sides[0], sides[1], claim.tolerance,  # type: ignore[arg-type]
                           paired=claim.paired)
    except PairingError as exc:
        page.errors.append(UserError(f"claim '{claim.text}': {exc}", claim.location,
                                     hint="leave out '(paired)' for Welch's t, which needs no pairs"))
        return MISSING



def _adjusted(page: Page) -> dict[tuple[str, int, int], tuple[float, int]]:
    """Holm-adjusted p-values of the post's claims that have a test, with the number of tests."""
    if "holm" not in page.claim_tests:
        scratch = replace(page, errors=[], warnings=[], logged=[])  # errors are each claim's own to report
        tested = {}
        for other in page.claims:
            verdict = _verdict(other, scratch)
            if isinstance(verdict, Verdict) and not math.isnan(verdict.p_value):
                tested[other.identity] = verdict.p_value
        adjusted = holm(list(tested.values()))
        page.claim_tests["holm"] = {key: (p, len(tested)) for key, p in zip(tested, adjusted)}
    return page.claim_tests["holm"]



def render(claim: ClaimReference, page: Page, links: bool) -> str:
    """A checked claim: a mark with the values and the test in its title; a located error when it
    does not hold; a warning when only the means carry it."""
    verdict = _verdict(claim, page)
    if verdict is MISSING:
        return "?"
    if verdict is None:
        name = next(n for n in claim.experiments if page.outcomes[n].result is None)
        return missing_inline(name, "(claim not checked: no result)") if links else "(claim not checked)"
    assert isinstance(verdict, Verdict)
    sides = [terms(page, side, claim.location) for side in (claim.left, claim.right)]
    described = describe_claim(claim.operator, sides[0], sides[1], claim.tolerance)  # type: ignore[arg-type]
    if claim.paired:
        described += " (paired)"
    detail, holds, weak = verdict.detail, verdict.holds, verdict.includes_zero
    failure = verdict.bounds
    if correction(page) == "holm" and not math.isnan(verdict.p_value):
        adjusted, tests = _adjusted(page)[claim.identity]
        detail += f"; Holm-adjusted over {tests} tests: {p_words(adjusted)}"
        if claim.operator == "~=":
            holds = adjusted <= ALPHA
            if not holds and not failure:
                failure = (f"equivalence is not shown after Holm's correction over {tests} tests "
                           f"(adjusted {p_words(adjusted)} > {ALPHA:.0%}; {verdict.detail})")
        else:
            weak = holds and adjusted > ALPHA
    if not holds:
        message = f"claim does not hold: {described}" + (f": {failure}" if failure else "")
        page.errors.append(UserError(message, claim.location, hint=None if failure else (detail or None)))
    elif weak:
        page.warnings.append(f"{claim.location}: claim '{claim.text}' holds for the means, but {detail}")
    title = f"Checked when the site was built: {described}" + (f"; {detail}" if detail else "")
    if not links:
        return markdown_text("✓")
    return f'<span class="litblog-claim" title="{html_text(title)}">✓</span>'



def claims_note(page: Page) -> str:
    """For a post with several claims: how many, how many have a test, and whether the tests are
    corrected for multiple comparisons. "" for fewer than two claims."""
    if len(page.claims) < 2:
        return ""
    count = len(page.claims)
    if correction(page) == "holm":
        tests = len(_adjusted(page))
        how = (f"{tests} of them tested; their p-values are corrected for multiple comparisons by Holm's "
               f"method (at most a {ALPHA:.0%} chance that any of them is wrongly supported)")
    else:
        how = (f"each test is at the {ALPHA:.0%} level, not corrected for multiple comparisons, so the "
               "chance that one of them is wrongly supported is larger")
    text = f"This post checks {count} claims when it is built; {how}."
    return f'<p class="litblog-claims-note">{html_text(text)}</p>\n'


RENDERING = Rendering(ClaimReference, render)
