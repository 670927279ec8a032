"""Comparing a re-run with its published run: every recorded value, the history per epoch, the predictions.

Used by ``build-site reproduce`` and copied, as its source text, into each post's notebook (so a
reader's notebook compares exactly as the command does, whatever litblog it installed). It
therefore imports nothing but the standard library.

A run is given as plain data: ``{"metrics": metrics.json, "history": history.json,
"predictions": {name: the parsed file, or its SHA-256}}``. The verdict is ``identical`` (every
value equal, bit for bit), ``within`` (every difference within :data:`RELATIVE_TOLERANCE` of the
published value, or :data:`ABSOLUTE_TOLERANCE` near zero, and every predicted class the same), or
``differs``.
"""

from __future__ import annotations

import math
from typing import Any

IDENTICAL, WITHIN, DIFFERS = "identical", "within", "differs"
RELATIVE_TOLERANCE = 1e-3  # what another TensorFlow/Keras version or another CPU/GPU may move a value by
ABSOLUTE_TOLERANCE = 1e-6  # for values near zero
TOLERANCE_TEXT = f"relative {RELATIVE_TOLERANCE:g} (absolute {ABSOLUTE_TOLERANCE:g} near zero)"
SHOWN = 6  # differences listed per run; the count says how many there are in all


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as ``{"test.accuracy": 0.5, "metrics.loss[1]": 0.7, ...}``."""
    if isinstance(value, dict):
        items: dict[str, Any] = {}
        for key in sorted(value, key=str):
            items.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return items
    if isinstance(value, list):
        items = {}
        for index, item in enumerate(value):
            items.update(flatten(item, f"{prefix}[{index}]"))
        return items
    return {prefix: value}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare_values(published: Any, rerun: Any, where: str) -> list[dict[str, Any]]:
    """Each value that is not bit-for-bit equal: ``{"value", "published", "rerun", "difference", "within"}``."""
    old, new = flatten(published, where), flatten(rerun, where)
    found = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, "(missing)"), new.get(name, "(missing)")
        if a == b and type(a) is type(b) and not (isinstance(a, float) and math.copysign(1, a) != math.copysign(1, b)):
            continue
        if _number(a) and _number(b) and math.isfinite(a) and math.isfinite(b):
            difference = abs(b - a)
            within = difference <= max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * abs(a))
        else:
            difference, within = None, False
        found.append({"value": name, "published": a, "rerun": b, "difference": difference, "within": within})
    return found


def _predictions(published: Any, rerun: Any, name: str) -> list[dict[str, Any]]:
    where = f"predictions.{name}"
    if isinstance(published, str) or isinstance(rerun, str):  # digests: equal or not
        if published == rerun:
            return []
        return [{"value": where, "published": str(published)[:12], "rerun": str(rerun)[:12],
                 "difference": None, "within": False}]
    found = compare_values(published, rerun, where)
    for entry in found:
        # Predicted classes and labels are decisions: any change is a difference, whatever its size.
        if ".scores" not in entry["value"]:
            entry["within"] = False
    return found


def per_epoch(history: dict[str, Any]) -> dict[str, Any]:
    """A history as ``{"accuracy": {"epoch 1": 0.5, ...}, ...}`` (the epoch numbers as recorded), plus its phases."""
    epochs = history.get("epochs") or []
    table: dict[str, Any] = {}
    for metric, values in (history.get("metrics") or {}).items():
        table[metric] = {f"epoch {epochs[i] if i < len(epochs) else i + 1}": value for i, value in enumerate(values)}
    extra = {k: v for k, v in history.items() if k not in ("epochs", "metrics")}
    if extra or not table:
        table["recorded"] = {"epochs": epochs, **extra}
    return table


def compare_runs(published: dict[str, Any], rerun: dict[str, Any]) -> dict[str, Any]:
    """The verdict on one run: ``{"verdict", "differences" (every one), "compared" (values looked at)}``."""
    differences = compare_values(published.get("metrics", {}), rerun.get("metrics", {}), "metrics")
    differences += compare_values(per_epoch(published.get("history", {})), per_epoch(rerun.get("history", {})),
                                  "history")
    old_predictions, new_predictions = published.get("predictions", {}), rerun.get("predictions", {})
    for name in sorted(set(old_predictions) | set(new_predictions)):
        differences += _predictions(old_predictions.get(name, "(missing)"), new_predictions.get(name, "(missing)"),
                                    name)
    compared = len(flatten(published.get("metrics", {}))) + len(flatten(per_epoch(published.get("history", {})))) \
        + len(old_predictions)
    if not differences:
        verdict = IDENTICAL
    elif all(entry["within"] for entry in differences):
        verdict = WITHIN
    else:
        verdict = DIFFERS
    return {"verdict": verdict, "differences": differences, "compared": compared}


def difference_lines(comparison: dict[str, Any], shown: int = SHOWN) -> list[str]:
    """The differences of a comparison in words, the largest first, at most ``shown`` of them."""
    entries = sorted(comparison["differences"], key=lambda e: (e["within"], -(e["difference"] or math.inf)))
    lines = []
    for entry in entries[:shown]:
        by = f" (by {entry['difference']:.3g})" if entry["difference"] is not None else ""
        lines.append(f"{entry['value']}: published {_short(entry['published'])}, re-run {_short(entry['rerun'])}{by}")
    if len(entries) > shown:
        lines.append(f"and {len(entries) - shown} more")
    return lines


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def summary(comparison: dict[str, Any]) -> str:
    """One line: the verdict and how many values it covers."""
    count = len(comparison["differences"])
    if comparison["verdict"] == IDENTICAL:
        return f"identical: all {comparison['compared']} values bit for bit"
    if comparison["verdict"] == WITHIN:
        return f"equal within {TOLERANCE_TEXT}: {count} of {comparison['compared']} values differ slightly"
    return f"differs: {count} of {comparison['compared']} values"
