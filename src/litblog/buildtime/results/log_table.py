"""A training log as a reader wants it: one row per epoch, built from ``history.json``.

The values come from the stored history (what the curves draw); the seconds of each epoch
from Keras' ``verbose=2`` lines in ``log.txt`` (``Epoch 3/20`` then ``63/63 - 130s - ...``),
when the log has them. ``ctx.evaluate`` labels its line (``Evaluate on test (name 'test'):``
before Keras' own); such labelled evaluations are listed under the table. Logs written
before the labels existed give no evaluation rows: the raw log, folded below the table,
still shows their lines as they are. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_EPOCH = re.compile(r"^Epoch (\d+)/\d+\s*$")
# Keras 3, verbose=2: "63/63 - 130s - 2s/step - accuracy: 0.7035 - loss: 0.5465"
_STEPS = re.compile(r"^\s*\d+/\d+ - (?P<time>\d+(?:\.\d+)?(?:ms|s|m|h|us|µs))\b(?P<rest>.*)$")
_LABEL = re.compile(r"^Evaluate(?: on (?P<split>[\w-]+))? \(name (?P<name>'[^']*'|\"[^\"]*\")\):\s*$")
_VALUE = re.compile(r" - (?P<name>[A-Za-z_][\w.]*): (?P<value>[-+0-9.eE]+|nan|inf|-inf)")
_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 epoch``, ``2 epochs``, ``1,000 lines``: a count and its noun, agreeing."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


@dataclass(frozen=True)
class Evaluation:
    """One labelled ``ctx.evaluate`` line: the split (None when the data was not a split), the
    name values are recorded under, the metrics Keras printed and its seconds."""

    split: str | None
    name: str
    values: tuple[tuple[str, float], ...]
    seconds: float | None

    @property
    def label(self) -> str:
        if self.split is None:
            return self.name
        return self.split if self.split == self.name else f"{self.split} (as {self.name})"


@dataclass(frozen=True)
class EpochTable:
    """``columns``: the metric names of ``rows``' values (training, then validation); each row is
    (epoch, seconds or None, values); ``phases`` (name, first epoch) when there are several."""

    columns: tuple[str, ...]
    rows: tuple[tuple[int, float | None, tuple[float | None, ...]], ...]
    phases: tuple[tuple[str, int], ...]
    evaluations: tuple[Evaluation, ...]

    @property
    def total_seconds(self) -> float | None:
        seconds = [row[1] for row in self.rows if row[1] is not None]
        return sum(seconds) if len(seconds) == len(self.rows) and seconds else None


def _seconds(text: str) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|us|µs)", text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def epoch_seconds(log_text: str) -> dict[int, float]:
    """Seconds of each epoch from Keras' ``verbose=2`` lines; the last one wins (a resumed run)."""
    seconds: dict[int, float] = {}
    epoch: int | None = None
    for line in log_text.splitlines():
        started = _EPOCH.match(line)
        if started:
            epoch = int(started.group(1))
            continue
        steps = _STEPS.match(line)
        if steps and epoch is not None:
            value = _seconds(steps.group("time"))
            if value is not None:
                seconds[epoch] = value
            epoch = None
    return seconds


def evaluations(log_text: str) -> list[Evaluation]:
    """The labelled evaluations of a log: a label line, then Keras' line of values."""
    found: list[Evaluation] = []
    label: re.Match[str] | None = None
    for line in log_text.splitlines():
        labelled = _LABEL.match(line)
        if labelled:
            label = labelled
            continue
        steps = _STEPS.match(line)
        if steps and label is not None:
            values = tuple((m.group("name"), float(m.group("value"))) for m in _VALUE.finditer(steps.group("rest"))
                           if not m.group("name").endswith("/step"))
            found.append(Evaluation(label.group("split"), label.group("name")[1:-1], values,
                                    _seconds(steps.group("time"))))
        label = None
    return found


def _ordered(names: list[str]) -> list[str]:
    """Loss first, then the other metrics in the history's order."""
    return sorted(names, key=lambda name: (name.removeprefix("val_") != "loss", names.index(name)))


def epoch_table(history: dict[str, Any], log_text: str) -> EpochTable | None:
    """The per-epoch table of a run that trained; None for one that did not (or an unreadable history)."""
    epochs = history.get("epochs") if isinstance(history, dict) else None
    metrics = history.get("metrics") if isinstance(history, dict) else None
    if not epochs or not isinstance(epochs, list) or not isinstance(metrics, dict):
        return None
    names = [str(name) for name, series in metrics.items() if isinstance(series, list)]
    training = _ordered([n for n in names if not n.startswith("val_")])
    validation = _ordered([n for n in names if n.startswith("val_")])
    # A validation metric without its training twin still gets its column, after the others.
    columns = [*training, *validation]
    seconds = epoch_seconds(log_text)
    rows = []
    for index, epoch in enumerate(epochs):
        values = []
        for name in columns:
            series = metrics[name]
            value = series[index] if index < len(series) else None
            values.append(float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None)
        try:
            number = int(epoch)
        except (TypeError, ValueError):
            return None
        rows.append((number, seconds.get(number), tuple(values)))
    phases = tuple((str(phase.get("name", "")), int(phase.get("first_epoch", 0)))
                   for phase in history.get("phases", []) or [] if isinstance(phase, dict))
    return EpochTable(tuple(columns), tuple(rows), phases if len(phases) > 1 else (),
                      tuple(evaluations(log_text)))


def metric_heading(name: str) -> str:
    """``val_accuracy`` → ``accuracy`` (its group says validation), ``learning_rate`` → ``learning rate``."""
    return name.removeprefix("val_").replace("_", " ")


def metric_value(value: float | None) -> str:
    """A metric as Keras prints it (four decimals), ``–`` when the epoch has none."""
    if value is None:
        return "–"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-4):
        return f"{value:.4g}"
    return f"{value:.4f}"


@dataclass(frozen=True)
class SeedsTable:
    """The epoch tables of several runs as one: per epoch and metric the mean and sample standard
    deviation over the runs that have the value (``n`` of them); seconds are the mean."""

    seeds: tuple[int, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[int, float | None, tuple[tuple[float, float | None, int] | None, ...]], ...]
    phases: tuple[tuple[str, int], ...]


def seeds_table(tables: list[tuple[int, EpochTable]]) -> SeedsTable | None:
    """One table over the runs of an experiment (seed, its epoch table); None for fewer than two."""
    if len(tables) < 2:
        return None
    columns: list[str] = []
    for _, table in tables:
        columns += [c for c in table.columns if c not in columns]
    by_epoch: dict[int, list[tuple[float | None, dict[str, float | None]]]] = {}
    for _, table in tables:
        for epoch, seconds, values in table.rows:
            by_epoch.setdefault(epoch, []).append((seconds, dict(zip(table.columns, values))))
    rows = []
    for epoch in sorted(by_epoch):
        runs = by_epoch[epoch]
        seconds = [s for s, _ in runs if s is not None]
        cells: list[tuple[float, float | None, int] | None] = []
        for name in columns:
            values = [v for _, row in runs if (v := row.get(name)) is not None and math.isfinite(v)]
            if not values:
                cells.append(None)
                continue
            centre = sum(values) / len(values)
            spread = math.sqrt(sum((v - centre) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
            cells.append((centre, spread, len(values)))
        rows.append((epoch, sum(seconds) / len(seconds) if seconds else None, tuple(cells)))
    return SeedsTable(tuple(seed for seed, _ in tables), tuple(columns), tuple(rows), tables[0][1].phases)


def spread_value(cell: tuple[float, float | None, int] | None, runs: int) -> str:
    """``0.6123 ± 0.0123``; one value alone when only one run has it (``(n = 1)``), ``–`` when none."""
    if cell is None:
        return "–"
    centre, spread, count = cell
    text = metric_value(centre) if spread is None else f"{metric_value(centre)} ± {metric_value(spread)}"
    return text if count == runs else f"{text} (n = {count})"


def text_table(training: list[str], validation: list[str], rows: list[dict[str, Any]]) -> str:
    """An epoch table as preformatted text, columns aligned: what a seed's own table folded under the
    mean ± std one is (a ``<pre>`` is one element where an HTML table is one per cell). ``rows`` as
    ``log.html.j2`` takes them (epoch, time, cells, phase); a phase starts with its own line."""
    headings = ["epoch", "time", *training, *[f"val {name}" for name in validation]]
    body = [[str(row["epoch"]), str(row["time"]), *[str(v) for v in row["cells"]]] for row in rows]
    widths = [max(len(line[i]) for line in [headings, *body]) for i in range(len(headings))]

    def line(cells: list[str]) -> str:
        # every value right-aligned under its heading, two spaces between columns
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths))

    lines = [line(headings)]
    for row, cells in zip(rows, body):
        if row.get("phase"):
            lines.append(f"-- {row['phase']}")
        lines.append(line(cells))
    return "\n".join(lines) + "\n"
