"""What a reader is told about an experiment without a result: one sentence, the author's details folded.

The sentence says what is missing and why, in the reader's words ("`model4` needs the ImageNet
weights for MobileNetV2, which were not available when this site was built."); the details
(the exception, URLs, how to provide the files: what the console printed) are for the author
and go in a folded ``<details>`` under it. A page shows one notice per experiment
(``Page.notice``), and details it already showed for another experiment are not repeated.
"""

from __future__ import annotations

import re

from ...common.protocol import RunStatus
from ..execute.outcomes import BLOCKED, NOT_RUN, STALE, ExperimentOutcome, SeedOutcome

# pretrained.py's message starts "ImageNet weights for MobileNetV2 are not available: ...".
_UNAVAILABLE = re.compile(r"^(?P<what>[^:.]{3,120}?) (?P<verb>is|are) not available\b")
_FAILED = {
    RunStatus.FAILED.value: "stopped with an error when this site was built",
    RunStatus.DATASET.value: "found no data when this site was built",
    RunStatus.TIMEOUT.value: "ran out of time when this site was built",
    RunStatus.CANCELLED.value: "was cancelled when this site was built",
    RunStatus.BLOCKED.value: "could not start when this site was built: a file it needs was missing",
}


def _reason(run: SeedOutcome) -> str:
    """Why ``run`` has no result, as the rest of a sentence whose subject is the experiment."""
    if run.why == BLOCKED or run.why == RunStatus.BLOCKED.value:
        # The plan's record ("It could not run: ...") or this build's failure ("The run could not start: ...").
        message = run.experiment.blocked or re.sub(r"^[^:]{0,40}: ", "", run.failure or "")
        found = _UNAVAILABLE.match(message)
        if found:
            was = "was" if found["verb"] == "is" else "were"
            return f"needs the {found['what']}, which {was} not available when this site was built"
        return _FAILED[RunStatus.BLOCKED.value]
    if run.why == STALE:
        if run.experiment.reason == "no result yet":  # plan._why_missing: nothing of its recipe was ever stored
            return "has not been run yet"
        return "has not been run since its code or settings changed"
    if run.why in _FAILED:
        return _FAILED[run.why]  # type: ignore[index]
    if run.why is None and run.failure:  # a failure recorded without its status: still a failure
        return _FAILED[RunStatus.FAILED.value]
    return "has not been run yet" if run.why in (NOT_RUN, None) else "has no result"


def sentence(outcome: ExperimentOutcome) -> str:
    """The rest of the reader's sentence after the experiment's name (plain text)."""
    missing = [run for run in outcome.runs if run.result is None]
    reason = _reason(missing[0])
    if not outcome.several:
        return f"{reason}."
    total = len(outcome.runs)
    if len(missing) == total:
        return f"({'both' if total == 2 else 'all ' + str(total)} seeds) {reason}."
    seeds = ", ".join(str(run.seed) for run in missing)
    word = "seed" if len(missing) == 1 else "seeds"
    return (f"is shown without {word} {seeds} of its {total}: {'it' if len(missing) == 1 else 'they'} "
            f"{_plural(reason, len(missing))}.")


def _plural(reason: str, count: int) -> str:
    """``reason``, whose subject is one experiment, for ``count`` runs ("has" -> "have")."""
    if count == 1:
        return reason
    return re.sub(r"^(has|was)\b", lambda m: {"has": "have", "was": "were"}[m.group(1)], reason)


def details(outcome: ExperimentOutcome) -> str | None:
    """The author's details: what the runs without a result said (exception, URLs, what to do);
    None when the sentence says it all (a run that has simply not been made)."""
    if all(run.why == NOT_RUN or (run.why is None and not run.failure) for run in outcome.runs if run.result is None):
        return None
    return outcome.failure
