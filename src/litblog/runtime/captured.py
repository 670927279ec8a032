"""What a run has captured so far, and writing it into the run's output folder.

:class:`Capture` is the record ``ctx`` keeps: the joined history and its phases, the model
summaries (text and table), recorded values, saved figures and predictions, time trained.
:meth:`Capture.write` is what :meth:`litblog.runtime.context.RecipeContext.save` does.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..common.fsutil import atomic_write_text
from .recorded import plain, slug
from .resume import FitRecord
from .summaries import summary_table, summary_text, weight_counts

if TYPE_CHECKING:  # pragma: no cover
    import keras
    from matplotlib.figure import Figure


@dataclass
class Phase:
    name: str
    first_epoch: int
    last_epoch: int
    epochs: int  # how many epochs the phase trained (last_epoch - first_epoch + 1 for one fit)


@dataclass
class Capture:
    """What a run has captured so far; written out by :meth:`write`."""

    epochs: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)
    summaries: list[tuple[str, str]] = field(default_factory=list)
    summary_tables: list[dict[str, Any] | None] = field(default_factory=list)  # parallel to summaries
    figures: dict[str, dict[str, str]] = field(default_factory=dict)
    predictions: dict[str, dict[str, str]] = field(default_factory=dict)
    recorded: dict[str, Any] = field(default_factory=dict)
    train_seconds: float = 0.0
    summarised: set[int] = field(default_factory=set)  # id() of every model summarised so far

    def record(self, name: str, value: Any) -> None:
        """Store a value under a dotted name (``ctx.record``)."""
        target = self.recorded
        *parents, leaf = name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"cannot record '{name}': '{part}' already holds a value")
        target[leaf] = plain(value)

    def add_figure(self, output_dir: Path, name: str, fig: "Figure | None", caption: str) -> Path:
        """Save a matplotlib figure (the current one by default) as ``figures/<name>.png`` (``ctx.figure``)."""
        import matplotlib.pyplot as plt

        from ..common.figures import save_figure

        if not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"figure name {name!r}: use letters, digits, '_' and '-'")
        relative = f"figures/{name}.png"
        path = output_dir / relative
        save_figure(fig or plt.gcf(), path)
        self.figures[name] = {"file": relative, "caption": caption}
        return path

    def add_summary(self, model: "keras.Model", phase: str | None) -> str:
        """Capture the model's summary text and table, recording its parameter counts (``ctx.summary``)."""
        first_of_model = id(model) not in self.summarised
        if phase is None and self.phases:
            phase = self.phases[-1].name
        text = summary_text(model)
        self.summaries.append((model.name, text))
        try:
            table: dict[str, Any] | None = summary_table(model, phase)
        except Exception as exc:  # noqa: BLE001 - a page table is never worth a failed run
            print(f"(no summary table for {getattr(model, 'name', '?')}: {type(exc).__name__}: {exc})",
                  file=sys.stderr)
            table = None
        self.summary_tables.append(table)
        self.summarised.add(id(model))
        trainable, frozen = weight_counts(model)
        if first_of_model:
            self.record(f"model.{slug(model.name)}.total_params", trainable + frozen)
            self.record(f"model.{slug(model.name)}.trainable_params", trainable)
            self.record(f"model.{slug(model.name)}.non_trainable_params", frozen)
        if len(self.summaries) == 1:
            self.record("model.total_params", trainable + frozen)
            self.record("model.trainable_params", trainable)
            self.record("model.non_trainable_params", frozen)
        return text

    @property
    def history(self) -> dict[str, list[float]]:
        """The joined history so far: metric name -> one value per epoch."""
        return {name: list(values) for name, values in self.metrics.items()}

    def add_fit(self, record: FitRecord) -> None:
        """Join one fit's epochs to the history as a phase."""
        if record.epochs:
            self._add_history(list(record.epochs), record.metrics)
            self.phases.append(Phase(record.phase, record.epochs[0], record.epochs[-1], len(record.epochs)))

    def _add_history(self, epochs: list[int], metrics: dict[str, list[float]]) -> None:
        if self.epochs and epochs[0] <= self.epochs[-1]:
            # A fit that starts over (initial_epoch=0 again) replaces the overlapping epochs.
            keep = [i for i, e in enumerate(self.epochs) if e < epochs[0]]
            self.epochs = [self.epochs[i] for i in keep]
            self.metrics = {n: [v[i] for i in keep] for n, v in self.metrics.items()}
            self.phases = [p for p in self.phases if p.first_epoch < epochs[0]]
        length = len(self.epochs)
        for name, values in metrics.items():
            series = self.metrics.setdefault(name, [float("nan")] * length)
            series.extend(float(v) for v in values)
        self.epochs.extend(epochs)
        for series in self.metrics.values():
            series.extend([float("nan")] * (len(self.epochs) - len(series)))

    def write(self, out: Path, log_text: str, scrub: Callable[[str], str]) -> dict[str, Any]:
        """Write history, metrics, log and summaries into ``out``; returns the manifest entries."""
        out.mkdir(parents=True, exist_ok=True)
        history = {
            "epochs": self.epochs,
            "metrics": self.metrics,
            "phases": [vars(p) for p in self.phases],
        }
        atomic_write_text(out / "history.json", json.dumps(history, indent=1, allow_nan=True) + "\n")
        atomic_write_text(out / "metrics.json", json.dumps(self.recorded, indent=1, sort_keys=True) + "\n")
        atomic_write_text(out / "log.txt", scrub(log_text))
        summaries = []
        for index, (model_name, text) in enumerate(self.summaries):
            relative = "summary.txt" if index == 0 else f"summary-{index + 1}.txt"
            atomic_write_text(out / relative, text)
            entry = {"model": model_name, "file": relative}
            table = self.summary_tables[index] if index < len(self.summary_tables) else None
            if table is not None:
                entry["table"] = relative[: -len(".txt")] + ".json"
                atomic_write_text(out / entry["table"], json.dumps(table, indent=1) + "\n")
            summaries.append(entry)
        return {
            "summaries": summaries,
            "figures": self.figures,
            "predictions": self.predictions,
            "phases": history["phases"],
            "train_seconds": round(self.train_seconds, 3),
        }
