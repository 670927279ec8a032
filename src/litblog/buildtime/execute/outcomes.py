"""What rendering knows of each experiment: its runs (one per seed), their results or why there are none.

``pipeline.py`` makes them from the plan and the executed runs; block renderers read them
through :class:`~litblog.buildtime.render.page.Page`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the plan imports the directives, whose renderers import this module
    from ..plan.plan import PlannedExperiment
    from ...common.store import StoredResult


@dataclass(frozen=True)
class SeedOutcome:
    """One run of an experiment: its seed, its plan, and its result or why there is none."""

    seed: int
    experiment: PlannedExperiment
    result: StoredResult | None
    failure: str | None = None
    why: str | None = None  # without a result: one of WHY (notices.py words it for readers)


# Why a run has no result: its RunStatus value when it ran and failed this build, or one of these.
BLOCKED, STALE, NOT_RUN = "blocked", "stale", "not-run"


@dataclass(frozen=True)
class ExperimentOutcome:
    """What rendering knows of one experiment: its plan, and its result or why there is none.

    An experiment of several seeds (:meth:`of_seeds`) has one :class:`SeedOutcome` per seed in
    ``seeds``; then ``experiment`` is its first run's plan (recipe, params), ``result`` the first
    result there is (for the model summary) and ``failure`` what the runs without one say.
    """

    experiment: PlannedExperiment
    result: StoredResult | None
    failure: str | None = None
    seeds: tuple[SeedOutcome, ...] = ()  # set only for more than one seed
    why: str | None = None  # one run without a result: why (SeedOutcome.why)

    @classmethod
    def of_seeds(cls, runs: tuple[SeedOutcome, ...] | list[SeedOutcome]) -> "ExperimentOutcome":
        runs = tuple(runs)
        if len(runs) == 1:
            return cls(runs[0].experiment, runs[0].result, runs[0].failure, why=runs[0].why)
        results = [r.result for r in runs if r.result is not None]
        missing = [r for r in runs if r.result is None]
        failure = None
        if missing:
            messages = {r.failure or "It has not been run." for r in missing}
            if len(missing) == len(runs) and len(messages) == 1:
                failure = f"None of its {len(runs)} seeds has a result. {messages.pop()}"
            else:
                failure = (f"{len(missing)} of its {len(runs)} seeds {'has' if len(missing) == 1 else 'have'} "
                           "no result. ") + " ".join(
                    f"Seed {r.seed}: {r.failure or 'It has not been run.'}" for r in missing)
        return cls(runs[0].experiment, results[0] if results else None, failure, runs)

    @property
    def several(self) -> bool:
        return len(self.seeds) > 1

    @property
    def runs(self) -> tuple[SeedOutcome, ...]:
        return self.seeds or (SeedOutcome(self.experiment.seed, self.experiment, self.result, self.failure, self.why),)

    @property
    def results(self) -> list[tuple[int, StoredResult]]:
        """(seed, result) of each run that has one."""
        return [(r.seed, r.result) for r in self.runs if r.result is not None]

    @property
    def missing(self) -> tuple[int, ...]:
        """The seeds without a result."""
        return tuple(r.seed for r in self.runs if r.result is None)

    @property
    def incomplete(self) -> bool:
        """Some run has no result: the page shows the experiment's notice."""
        return any(r.result is None for r in self.runs)
