"""Where a build's runs happen: one registry entry per executor (``--executor NAME``).

Every executor takes the runs the plan needs and returns a :class:`~litblog.buildtime.execute.execute.RunOutcome`
for each, storing results in the project's store; all start their workers with
:func:`litblog.buildtime.execute.launch.launch_worker`. Adding one is a function and a line in
:data:`EXECUTORS`; the command line offers the names this registry has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..sources.config import SiteConfig
from .execute import Reporter, RunOutcome, run_experiments
from ..plan.plan import PlannedExperiment
from ...common.store import ResultStore


@dataclass(frozen=True)
class ExecutorOptions:
    """What a build asks of its executor."""

    jobs: int
    keep_going: bool
    scheduler: str | None = None  # a cluster's address, for executors that need one
    resources: dict[str, float] = field(default_factory=dict)  # what each run needs of a cluster worker
    adaptive_jobs: bool = False  # jobs was not chosen: widen it once runs prove small (execute.py)


RunAll = Callable[[list[PlannedExperiment], SiteConfig, ResultStore, Reporter, ExecutorOptions], list[RunOutcome]]


@dataclass(frozen=True)
class Executor:
    name: str
    help: str
    run: RunAll
    needs_scheduler: bool = False


def _local(experiments: list[PlannedExperiment], config: SiteConfig, store: ResultStore, reporter: Reporter,
           options: ExecutorOptions) -> list[RunOutcome]:
    return run_experiments(experiments, config, store, reporter, jobs=options.jobs, keep_going=options.keep_going,
                           adaptive=options.adaptive_jobs)


def _dask(experiments: list[PlannedExperiment], config: SiteConfig, store: ResultStore, reporter: Reporter,
          options: ExecutorOptions) -> list[RunOutcome]:
    from .dask_executor import run_experiments_on_dask  # Dask is optional

    return run_experiments_on_dask(experiments, config, store, reporter, scheduler=options.scheduler or "",
                                   keep_going=options.keep_going, resources=options.resources)


EXECUTORS: dict[str, Executor] = {executor.name: executor for executor in (
    Executor("local", "local worker processes, warm where possible (default)", _local),
    Executor("dask", "a Dask cluster at --scheduler", _dask, needs_scheduler=True),
)}
