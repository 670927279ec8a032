"""What the build tells its user while it runs: plan, live progress of runs, warnings, outcome.

The plan ``--plan`` asks for is the command's output and goes to stdout (``build-site --plan |
grep model1``); progress, warnings and errors go to stderr.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from dataclasses import dataclass, field

from .execute import RunOutcome
from ..plan.plan import Plan, PlannedExperiment
from ...common.protocol import RunStatus
from ..sources.text import duration

QUIET, NORMAL, VERBOSE = 0, 1, 2


class ConsoleReporter:
    """Plain line-per-event output: one line per finished epoch, which reads well in CI logs."""

    def __init__(self, stream: TextIO | None = None, verbosity: int = NORMAL, root: Path | None = None,
                 out: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.out = out or sys.stdout  # what a command prints as its result: --plan's listing
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

    def output(self, text: str, level: int = QUIET) -> None:
        """A line of the command's result (the plan), on stdout."""
        if self.verbosity >= level:
            print(text, file=self.out, flush=True)

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
                state = f"run: {experiment.reason}" if experiment.needs_run else experiment.reason
                self.output(f"{experiment.label:<16} {experiment.recipe.reference:<32} {state}  [{uses}]")
                if experiment.blocked:
                    self.output(f"{'':<16} {experiment.blocked}", VERBOSE)
            self.output(f"{len(to_run)} of {len(experiments)} experiments would run.")
            return
        blocked = sum(1 for e in experiments if e.blocked)
        cached = len(experiments) - len(to_run) - blocked
        self._say(f"{len(experiments)} experiments, {cached} cached, " + (f"{blocked} blocked, " if blocked else "")
                  + f"{len(to_run)} to run")
        for experiment in to_run:
            self._say(f"  {experiment.label} ({experiment.recipe.reference}): {experiment.reason}")

    def report(self, rows: list[dict[str, Any]]) -> None:
        """The build report: one line per experiment that ran or failed (cached ones are counted)."""
        ran = [row for row in rows if row["ran"]]
        if not ran:
            return
        self._say("")
        self._say(f"{'experiment':<16} {'status':<10} {'time':>10}  log")
        for row in ran:
            seconds = duration(row["wall_seconds"]) if row["wall_seconds"] is not None else "-"
            self._say(f"{row['experiment']:<16} {row['status']:<10} {seconds:>10}  {row['log']}")
        cached = len(rows) - len(ran)
        if cached:
            self._say(f"(and {cached} cached)")

    def close(self) -> None:
        """Stop any live display."""

    def run_started(self, experiment: PlannedExperiment, log_path: Path) -> None:
        self._started[experiment.key] = time.monotonic()
        self._say(f"[{experiment.label}] started; full log: {self._rel(log_path)}")

    def run_event(self, experiment: PlannedExperiment, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "epoch_end":
            logs = "  ".join(f"{k} {v:.4f}" for k, v in event.get("logs", {}).items())
            self._say(f"[{experiment.label}] epoch {event['epoch']}/{event['epochs']}  {logs}  "
                      f"({duration(event.get('seconds', 0))})")
        elif kind == "phase" and event.get("replayed"):
            self._say(f"[{experiment.label}] '{event['name']}' finished before the interruption: restored")
        elif kind == "phase" and event.get("resumed"):
            self._say(f"[{experiment.label}] resuming '{event['name']}' at epoch {event['first_epoch']}")
        elif kind == "phase" and event.get("first_epoch", 1) > 1:
            self._say(f"[{experiment.label}] phase '{event['name']}' from epoch {event['first_epoch']}")
        elif kind in ("waiting", "notice"):  # a worker waiting for another, or telling what it wrote outside
            self._say(f"[{experiment.label}] {event.get('message', kind)}")
        elif kind == "batch":
            pass  # the live display of a terminal shows batches; lines would be noise

    def run_finished(self, outcome: RunOutcome) -> None:
        label = outcome.experiment.label
        if outcome.ok:
            self._say(f"[{label}] stored in {duration(outcome.seconds)}")
            return
        if outcome.status is RunStatus.CANCELLED:
            self._say(f"[{label}] {outcome.message}", QUIET)
            return
        where = outcome.experiment.uses[0].location
        lines = [f"{where}: experiment '{label}' {outcome.status.console_words}: {outcome.message}"]
        if outcome.traceback_tail:
            lines += ["  " + line for line in outcome.traceback_tail.splitlines()]
        lines.append(f"  full log: {self._rel(outcome.log_path)}")
        self._say("\n".join(lines), QUIET)


@dataclass
class RunProgress:
    """Where one running experiment is: epoch, batch, latest metrics, and an estimate of time left."""

    label: str
    started: float = field(default_factory=time.monotonic)
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    steps: int | None = None
    logs: dict[str, float] = field(default_factory=dict)
    epoch_started: float = field(default_factory=time.monotonic)
    epoch_seconds: list[float] = field(default_factory=list)
    phase: str = ""

    def update(self, event: dict[str, Any], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        kind = event.get("event")
        if kind == "phase":
            self.phase = event.get("name", "")
        elif kind == "epoch_begin":
            self.epoch, self.epochs, self.batch = event["epoch"], event["epochs"], 0
            self.epoch_started = now
        elif kind == "batch":
            self.epoch, self.epochs = event["epoch"], event["epochs"]
            self.batch, self.steps = event["batch"], event.get("steps") or self.steps
            self.logs = event.get("logs", {})
        elif kind == "epoch_end":
            self.logs = event.get("logs", {})
            self.epoch_seconds.append(event.get("seconds", now - self.epoch_started))
            self.batch = self.steps or self.batch

    def seconds_left(self, now: float | None = None) -> float | None:
        """Time to the end of the current fit, from the epochs and batches seen so far."""
        now = time.monotonic() if now is None else now
        if self.epoch_seconds:
            per_epoch = sum(self.epoch_seconds[-3:]) / len(self.epoch_seconds[-3:])
        elif self.batch and self.steps:
            per_epoch = (now - self.epoch_started) / self.batch * self.steps
        else:
            return None
        done_in_epoch = (self.batch / self.steps) if self.steps else 0.0
        return max(0.0, per_epoch * (self.epochs - self.epoch + 1 - done_in_epoch))

    def line(self, now: float | None = None) -> str:
        parts = [f"{self.label:<14}"]
        if not self.epochs:
            parts.append(f"starting ({duration((now or time.monotonic()) - self.started)})")
            return "  ".join(parts)
        parts.append(f"epoch {self.epoch}/{self.epochs}")
        if self.steps:
            parts.append(f"batch {self.batch}/{self.steps}")
        left = self.seconds_left(now)
        if left is not None:
            parts.append(f"~{duration(left)} left")  # before the metrics: a narrow terminal cuts the end
        parts += [f"{k} {v:.4f}" for k, v in list(self.logs.items())[:4]]
        return "  ".join(parts)


class LiveReporter(ConsoleReporter):
    """On a terminal: one live line per running experiment (epoch, batch, metrics, time left)."""

    def __init__(self, stream: TextIO | None = None, verbosity: int = NORMAL, root: Path | None = None,
                 out: TextIO | None = None) -> None:
        super().__init__(stream, verbosity, root, out)
        from rich.console import Console

        self._console = Console(file=self.stream, highlight=False, soft_wrap=True)
        self._live: Any = None
        self._runs: dict[str, RunProgress] = {}

    def _say(self, text: str, level: int = NORMAL) -> None:
        if self.verbosity < level:
            return
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def _render(self) -> Any:
        from rich.text import Text

        now = time.monotonic()
        return Text("\n".join(run.line(now) for run in self._runs.values()))

    def run_started(self, experiment: PlannedExperiment, log_path: Path) -> None:
        super().run_started(experiment, log_path)
        self._runs[experiment.key] = RunProgress(experiment.label)
        if self._live is None and self.verbosity >= NORMAL:
            from rich.live import Live

            self._live = Live(self._render(), console=self._console, refresh_per_second=4, transient=True,
                              get_renderable=self._render)
            self._live.start()

    def run_event(self, experiment: PlannedExperiment, event: dict[str, Any]) -> None:
        if event.get("event") in ("waiting", "notice"):  # rare and worth a line above the live display
            super().run_event(experiment, event)
        run = self._runs.get(experiment.key)
        if run is not None:
            run.update(event)

    def run_finished(self, outcome: RunOutcome) -> None:
        self._runs.pop(outcome.experiment.key, None)
        if not self._runs and self._live is not None:
            self._live.stop()
            self._live = None
        super().run_finished(outcome)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def make_reporter(stream: TextIO, verbosity: int, root: Path | None = None) -> ConsoleReporter:
    """A live display on a terminal, plain lines otherwise (CI logs, pipes)."""
    if stream.isatty() and verbosity >= NORMAL and os.environ.get("TERM") != "dumb":
        try:
            return LiveReporter(stream, verbosity, root)
        except ImportError:  # rich is not installed (an install for `build-site --check` only)
            pass
    return ConsoleReporter(stream, verbosity, root)
