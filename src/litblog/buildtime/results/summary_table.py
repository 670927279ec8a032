"""Model summaries as a reader wants them: a compact table from ``summary.json``.

``ctx.summary`` stores each summary twice: Keras' text (``summary.txt``) and a table
(``summary.json``: ``{"model", "class", "phase", "layers": [{"name", "type", "output_shape",
"params", "trainable", "op"}, ...], "total_params", "trainable_params", "non_trainable_params",
"optimizer_params"}``; a nested model's row adds ``trainable_params``,
``non_trainable_params`` and ``children``). This module reads the table of a result's summary
entry, checks its layout, and turns it into rows a template shows. A result without the table
(older runs), or with one that does not have the layout, gets ``None``: the page shows Keras'
text as before. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from ...common.store import StoredResult

log = logging.getLogger(__name__)

_TABLE_FILE = re.compile(r"summary(-\d+)?\.json")
_DEPTH = 4  # nested models shown this deep at most


@dataclass(frozen=True)
class SummaryRow:
    """One layer (or operation, ``op``) of a summary; a nested model has ``children``."""

    name: str
    type: str
    output_shape: str
    params: int
    note: str  # "frozen", "12,345 trainable" or ""
    op: bool
    nested: bool
    children: tuple["SummaryRow", ...]


@dataclass(frozen=True)
class Summary:
    """A summary ready to show: who and when (``label``), rows, totals and Keras' own text."""

    model: str
    model_class: str
    phase: str | None
    rows: tuple[SummaryRow, ...]
    totals: tuple[tuple[str, int], ...]  # (label, count): total, trainable, non-trainable
    optimizer_params: int | None
    text: str

    @property
    def label(self) -> str:
        """``model3 — training``: the model's name and the phase it was captured in."""
        return f"{self.model} — {self.phase}" if self.phase else self.model

    @property
    def ops(self) -> int:
        return sum(1 for row in self.rows if row.op)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _text(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, (str, int, float)):
        raise ValueError(f"not text: {value!r}")
    return str(value)


def _row(data: Any, depth: int) -> SummaryRow:
    if not isinstance(data, dict):
        raise ValueError(f"a layer row is not a mapping: {data!r}")
    params = _count(data.get("params", 0))
    children_data = data.get("children")
    nested = children_data is not None or "trainable_params" in data
    note = ""
    if nested:
        trainable = _count(data.get("trainable_params", 0))
        if params and trainable == 0:
            note = "frozen"
        elif params and trainable != params:
            note = f"{trainable:,} trainable"
    elif params and data.get("trainable") is False:
        note = "frozen"
    children: tuple[SummaryRow, ...] = ()
    if children_data is not None:
        if not isinstance(children_data, list):
            raise ValueError("children is not a list")
        if depth < _DEPTH:
            children = tuple(_row(child, depth + 1) for child in children_data)
    return SummaryRow(_text(data.get("name"), "?"), _text(data.get("type"), "?"), _text(data.get("output_shape"), "?"),
                      params, note, bool(data.get("op", False)), nested, children)


def summary_from_table(data: Any, text: str) -> Summary:
    """A :class:`Summary` from the parsed ``summary.json``; ``ValueError`` when it lacks the layout."""
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise ValueError("a summary table needs 'layers'")
    rows = tuple(_row(layer, 0) for layer in data["layers"])
    totals = (("Total params", _count(data.get("total_params"))),
              ("Trainable params", _count(data.get("trainable_params"))),
              ("Non-trainable params", _count(data.get("non_trainable_params"))))
    optimizer = data.get("optimizer_params")
    return Summary(_text(data.get("model"), "?"), _text(data.get("class"), ""), _text(data.get("phase")) or None,
                   rows, totals, None if optimizer is None else _count(optimizer), text)


def result_summaries(result: StoredResult) -> list[tuple[str, str, Summary | None]]:
    """(model name, Keras' text, table or None) of each summary of ``result``, in order.

    The table is read only when the manifest names it and the result's digests cover it
    (a sealed file of the run); one that does not parse or lacks the layout is None, with a warning.
    """
    files = (result.manifest.get("digests") or {}).get("files") or {}
    found: list[tuple[str, str, Summary | None]] = []
    for (model, text), entry in zip(result.summaries(), result.manifest.get("summaries", [])):
        table_file = entry.get("table") if isinstance(entry, dict) else None
        summary = None
        if isinstance(table_file, str) and _TABLE_FILE.fullmatch(table_file) and table_file in files:
            try:
                data = json.loads((result.folder / table_file).read_text(encoding="utf-8"))
                summary = summary_from_table(data, text)
            except (OSError, ValueError) as exc:
                log.warning("%s: its summary table is not used (%s): the page shows Keras' text",
                            result.folder / table_file, exc)
        found.append((model, text, summary))
    return found
