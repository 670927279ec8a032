"""What a ``{result}`` reference or a table column can name in a stored result.

- ``params`` (all of them) and ``params.<name>``; ``seed``;
- ``epochs``, ``train_seconds``, ``wall_seconds``;
- anything the recipe recorded: ``test.accuracy`` (from ``ctx.evaluate``), ``model.total_params``
  (from ``ctx.fit``), or a custom ``ctx.record("baseline.accuracy", 0.5)``;
- history statistics ``<metric>.<stat>``, stat one of best, last, first, min, max, best_epoch
  (best is the maximum, or the minimum for losses and errors), for the whole history or one
  phase: ``fine_tuning.val_accuracy.last``.

Per-class precision and recall are read from the run's confusion counts where it recorded them:
a precision of a class the run never predicted (a recall of a class the split lacks) is
:class:`Undefined`, never the 0.0 the worker records; over several runs :func:`pooled_rate`
gives the value of the summed counts, which is what the summed confusion matrix shows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

from ...common.store import StoredResult, ValueNotFound

HISTORY_STATS = ("best", "last", "first", "min", "max", "best_epoch")


def lookup(result: StoredResult, path: str) -> Any:
    """The value ``path`` names in ``result``; :class:`ValueNotFound` lists the names there are."""
    manifest = result.manifest
    if path == "params":
        return dict(result.params)
    if path.startswith("params."):
        name = path[len("params."):]
        if name in result.params:
            return result.params[name]
        raise ValueNotFound(f"no param '{name}'", [f"params.{p}" for p in result.params])
    fixed = {
        "seed": manifest["key_inputs"]["seed"],
        "epochs": len(result.history.get("epochs", [])),
        "train_seconds": manifest.get("timings", {}).get("train_seconds"),
        "wall_seconds": manifest.get("timings", {}).get("wall_seconds"),
    }
    if path in fixed:
        return fixed[path]
    recorded = _flatten(result.metrics)
    if path in recorded:
        counts = _rate_counts(recorded, path)
        if counts is not None and counts[1] == 0:
            return Undefined(_UNDEFINED_WHY[counts[2]])  # recorded as 0.0, which it is not
        return recorded[path]
    value = _history_stat(result.history, path)
    if value is not None:
        return value
    raise ValueNotFound(f"no value '{path}'", available_names(result))


class Undefined(float):
    """A value a run does not have, such as the precision of a class it never predicted: NaN as a
    number (statistics leave it out), ``undefined (never predicted)`` in any format."""

    reason: str

    def __new__(cls, reason: str) -> "Undefined":
        value = super().__new__(cls, math.nan)
        value.reason = reason
        return value

    def __format__(self, spec: str) -> str:
        return f"undefined ({self.reason})"

    def __str__(self) -> str:
        return format(self, "")

    __repr__ = __str__


def is_undefined(value: Any) -> bool:
    return isinstance(value, Undefined)


# ``test.per_class.cat.precision``: (name, class, rate)
_PER_CLASS = re.compile(r"^(?:(?P<name>.+)\.)?per_class\.(?P<cls>[^.]+)\.(?P<rate>precision|recall)$")
_UNDEFINED_WHY = {"precision": "never predicted", "recall": "no images of the class"}


@dataclass(frozen=True)
class Pooled:
    """A per-class rate of several runs from their summed confusion counts: ``hits / total``."""

    value: float  # an Undefined when total is 0
    hits: int
    total: int
    rate: str  # "precision" or "recall"


def _rate_counts(recorded_values: dict[str, Any], path: str) -> tuple[int, int, str] | None:
    """(hits, total, rate) of a per-class ``path`` from the confusion counts; None without them."""
    match = _PER_CLASS.match(path)
    if match is None:
        return None
    prefix = f"{match['name']}.confusion." if match["name"] else "confusion."
    cls, rate = match["cls"], match["rate"]
    classes = {name.split(".")[0] for name in (k[len(prefix):] for k in recorded_values if k.startswith(prefix))}
    try:
        hits = int(recorded_values[f"{prefix}{cls}.{cls}"])
        if rate == "precision":
            total = sum(int(recorded_values[f"{prefix}{other}.{cls}"]) for other in classes)
        else:
            total = sum(int(recorded_values[f"{prefix}{cls}.{other}"]) for other in classes)
    except (KeyError, TypeError, ValueError):
        return None
    return hits, total, rate


def pooled_rate(results: Sequence[StoredResult], path: str) -> Pooled | None:
    """A per-class precision or recall over ``results`` from their summed confusion counts; None
    for any other path or when a run lacks the counts."""
    hits = total = 0
    rate = ""
    for result in results:
        counts = _rate_counts(_flatten(result.metrics), path)
        if counts is None:
            return None
        hits, total, rate = hits + counts[0], total + counts[1], counts[2]
    if not results:
        return None
    value = hits / total if total else Undefined(_UNDEFINED_WHY[rate])
    return Pooled(value, hits, total, rate)


def available_names(result: StoredResult) -> list[str]:
    """Every name :func:`lookup` accepts for ``result`` (phase-level statistics left out)."""
    names = ["params", *(f"params.{p}" for p in result.params), "seed", "epochs",
             "train_seconds", "wall_seconds", *_flatten(result.metrics)]
    for metric in result.history.get("metrics", {}):
        names += [f"{metric}.{stat}" for stat in HISTORY_STATS]
    return names


def recorded(result: StoredResult) -> dict[str, Any]:
    """Everything the recipe recorded, flattened to dotted names."""
    return _flatten(result.metrics)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _history_stat(history: dict[str, Any], path: str) -> Any:
    parts = path.split(".")
    if len(parts) == 3:
        phase, metric, stat = parts
        phases = {p["name"].replace("-", "_").replace(" ", "_"): p for p in history.get("phases", [])}
        if phase not in phases:
            return None
        first, last = phases[phase]["first_epoch"], phases[phase]["last_epoch"]
    elif len(parts) == 2:
        metric, stat = parts
        first, last = 1, None
    else:
        return None
    series = history.get("metrics", {}).get(metric)
    if series is None or stat not in HISTORY_STATS:
        return None
    epochs = history.get("epochs", list(range(1, len(series) + 1)))
    pairs = [(e, v) for e, v in zip(epochs, series) if e >= first and (last is None or e <= last)]
    if not pairs:
        return None
    lower_is_better = "loss" in metric or "error" in metric
    if stat == "first":
        return pairs[0][1]
    if stat == "last":
        return pairs[-1][1]
    if stat == "min":
        return min(v for _, v in pairs)
    if stat == "max":
        return max(v for _, v in pairs)
    best = (min if lower_is_better else max)(pairs, key=lambda p: p[1])
    return best[0] if stat == "best_epoch" else best[1]


def format_value(value: Any, spec: str = "") -> str:
    """A value as text: with ``spec`` if given, else numbers to four significant digits."""
    if spec or isinstance(value, Undefined):
        return format(value, spec)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:,.0f}" if abs(value) >= 10000 else f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)
