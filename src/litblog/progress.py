"""What the build tells its user while it runs: plan, live progress of runs, warnings, outcome."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .execute import RunOutcome
from .plan import Plan, PlannedExperiment

QUIET, NORMAL, VERBOSE = 0, 1, 2


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ConsoleReporter:
    """Plain line-per-event output: one line per finished epoch, which reads well in CI logs."""

    def __init__(self, stream: TextIO | None = None, verbosity: int = NORMAL, root: Path | None = None) -> None:
        self.stream = stream or sys.stderr
        self.verbosity = verbosity
        self.root = root
        self._started: dict[str, float] = {}

    def _say(self, text: str, level: int = NORMAL) -> None:
        if self.verbosity >= level:
            print(text, file=self.stream, flush=True)

    def _rel(self, path: Path) -> str:
        if self.root is not None:
            try:
                return path.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                pass
        return str(path)

    def info(self, text: str) -> None:
        self._say(text)

    def detail(self, text: str) -> None:
        self._say(text, VERBOSE)

    def warning(self, text: str) -> None:
        self._say(f"warning: {text}", QUIET)

    def error(self, text: str) -> None:
        self._say(text, QUIET)

    def plan(self, plan: Plan, *, listing: bool = False) -> None:
        """Summarise the plan; with ``listing``, one line per experiment and why it would run."""
        experiments = list(plan.experiments.values())
        to_run = plan.to_run()
        if listing:
            for experiment in experiments:
                uses = ", ".join(f"{u.location}" for u in experiment.uses)
                state = f"run: {experiment.reason}" if experiment.needs_run else "cached"
                self._say(f"{experiment.label:<16} {experiment.recipe.reference:<32} {state}  [{uses}]", QUIET)
            self._say(f"{len(to_run)} of {len(experiments)} experiments would run.", QUIET)
            return
        self._say(f"{len(experiments)} experiments, {len(experiments) - len(to_run)} cached, {len(to_run)} to run")
        for experiment in to_run:
            self._say(f"  {experiment.label} ({experiment.recipe.reference}): {experiment.reason}")

    def run_started(self, experiment: PlannedExperiment, log_path: Path) -> None:
        self._started[experiment.key] = time.monotonic()
        self._say(f"[{experiment.label}] started; full log: {self._rel(log_path)}")

    def run_event(self, experiment: PlannedExperiment, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "epoch_end":
            logs = "  ".join(f"{k} {v:.4f}" for k, v in event.get("logs", {}).items())
            self._say(f"[{experiment.label}] epoch {event['epoch']}/{event['epochs']}  {logs}  "
                      f"({duration(event.get('seconds', 0))})")
        elif kind == "phase" and event.get("first_epoch", 1) > 1:
            self._say(f"[{experiment.label}] phase '{event['name']}' from epoch {event['first_epoch']}")
        elif kind == "batch":
            pass  # the live display of a terminal shows batches; lines would be noise

    def run_finished(self, outcome: RunOutcome) -> None:
        label = outcome.experiment.label
        if outcome.ok:
            self._say(f"[{label}] stored in {duration(outcome.seconds)}")
            return
        if outcome.status == "cancelled":
            self._say(f"[{label}] {outcome.message}", QUIET)
            return
        where = outcome.experiment.uses[0].location
        lines = [f"{where}: experiment '{label}' {_status_words(outcome.status)}: {outcome.message}"]
        if outcome.traceback_tail:
            lines += ["  " + line for line in outcome.traceback_tail.splitlines()]
        lines.append(f"  full log: {self._rel(outcome.log_path)}")
        self._say("\n".join(lines), QUIET)


def _status_words(status: str) -> str:
    return {"failed": "failed", "timeout": "timed out", "dataset": "has no data"}.get(status, status)
