"""The experiment directive drawn on a page; its syntax, options and parser are ``directives/experiment.py``.

```{experiment} name```: run a recipe, and show what it captured where the directive stands.
"""

from __future__ import annotations

import ast
from typing import Any

from markupsafe import Markup

from ....common.errors import SourceLocation
from ...results.log_table import epoch_table, metric_heading, metric_value, plural, seeds_table, spread_value, text_table
from ...execute.outcomes import ExperimentOutcome
from ..page import Page, missing_block
from ...sources.recipe_source import recipe_listing
from ....common.store import LOG, StoredResult
from ...results.summary_table import result_summaries
from ...sources.text import cell, duration, html_text, markdown_text, size
from ...results.values import format_value, lookup, recorded
from .rendering import Rendering
from .figure import place_figure
from .seed_values import value_text
from ...directives.experiment import ExperimentDirective


LOG_HEAD_LINES = LOG_TAIL_LINES = 150  # a page shows this much of a longer log, and where the rest is



def render(directive: ExperimentDirective, page: Page) -> str:
    outcome = page.outcomes[directive.name]
    experiment, result = outcome.experiment, outcome.result
    parts: list[str] = []
    if outcome.incomplete:
        notice = page.notice(directive.name)
        parts.append(notice if notice or result is not None else missing_block(directive.name))
    for item in directive.show:
        if item == "code":
            recipe = experiment.recipe
            args = ", ".join(["ctx", *(f"{k}={v!r}" for k, v in experiment.params.items())])
            call = html_text(f"{recipe.function}({args})")
            header, source = split_imports(recipe_listing(recipe, directive.code))
            # The import header is shown with the first listing that has it; later ones fold it.
            folded = header if header and header in page.shown_imports else None
            page.shown_imports.add(header)
            parts.append(page.template("code.md.j2", name=directive.name,
                                       source=source if folded else header + source, call=call,
                                       imports=folded.rstrip() if folded else None,
                                       ran=result is not None,
                                       seed=experiment.seed, seeds=[run.seed for run in outcome.runs],
                                       where=recipe.file.name))
        elif result is None:
            continue
        elif item == "summary" and result.summaries():
            parts.append(_summaries(result, page, directive.name))
        elif item == "log" and outcome.several and len(outcome.results) > 1:
            parts.append(_seed_logs(directive.name, outcome.results, page))
        elif item == "log":
            for seed, run in outcome.results:
                parts.append(_log(directive.name, run, seed if outcome.several else None, page))
        elif item == "curves":  # as {figure} name.curves, captioned; nothing for a run that did not train
            parts.append(place_figure(page, directive.name, "curves", directive.location, captioned=True,
                                      required=False))
        elif item == "metrics":
            parts.append(_metrics(directive.name, outcome, directive.location, page))
    return "\n".join(part.rstrip() + "\n" for part in parts if part)



def _summaries(result: StoredResult, page: Page, experiment: str) -> str:
    """Each summary as a table (``summary.json``), or as Keras' text for a result without one."""
    parts = []
    for model, text, summary in result_summaries(result):
        if summary is None:
            parts.append(page.template("summary.md.j2", summaries=[(model, text)], experiment=experiment))
        else:
            parts.append(page.template("summary_table.html.j2", summary=summary, experiment=experiment))
    return "\n".join(part.rstrip() + "\n" for part in parts)



def _log(name: str, result: StoredResult, seed: int | None, page: Page, as_text: bool = False) -> str:
    """The table of the run's epochs (when it trained), then its raw log, folded. ``as_text``: the
    table as aligned preformatted text (a seed's own table, folded under the mean ± std one)."""
    timings = result.manifest.get("timings", {})
    epochs = len(result.history.get("epochs", []))
    detail = ", ".join(x for x in (f"seed {seed}" if seed is not None else "",
                                   plural(epochs, "epoch") if epochs else "",
                                   duration(timings.get("wall_seconds"))) if x)
    log_text = result.log_text.rstrip()
    line_count = log_text.count("\n") + 1 if log_text else 0
    table = epoch_table(result.history, log_text)
    if table is None:
        title = Markup("Log of <code>%s</code>") % name + (f" ({detail})" if detail else "")
        values: dict[str, Any] = {"table": None}
    else:
        lines = ", ".join(x for x in (f"seed {seed}" if seed is not None else "", plural(line_count, "line")) if x)
        title = Markup("Log of <code>%s</code>") % name + f" ({lines})"
        values = _epoch_rows(table)
        values.update(table=True, name=name, detail=detail,
                      table_text=text_table(values["training"], values["validation"], values["rows"]) if as_text else None)
    text, omitted = capped_log(log_text)
    where = html_text(_result_path(result, LOG)) if omitted else None
    return page.template("log.html.j2", text=text, title=title, omitted=omitted, where=where,
                         size=size(len(result.log_text.encode("utf-8"))), lines=line_count, folded=(), **values)



def split_imports(source: str) -> tuple[str, str]:
    """(the listing's leading import statements with the blank lines after them, the rest); ("", source)
    when it does not start with imports (comments before them count as part of the header)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return "", source
    end = 0
    for statement in body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            break
        end = statement.end_lineno or statement.lineno
    if not end:
        return "", source
    lines = source.split("\n")
    while end < len(lines) and not lines[end].strip():
        end += 1
    if end >= len(lines):
        return "", source  # nothing but imports: nothing to fold
    return "\n".join(lines[:end]) + "\n", "\n".join(lines[end:])



def _seed_logs(name: str, results: list[tuple[int, StoredResult]], page: Page) -> str:
    """Several seeds: one table of the mean ± standard deviation per epoch, each seed's own table and
    log folded under it (prose first: one table per experiment, not one per seed)."""
    folded = [Markup(_log(name, result, seed, page, as_text=True).rstrip()) for seed, result in results]
    tables = [(seed, table) for seed, result in results
              if (table := epoch_table(result.history, result.log_text.rstrip())) is not None]
    combined = seeds_table(tables)
    seeds = ", ".join(str(seed) for seed, _ in results)
    summary = f"Each seed's training and log ({plural(len(results), 'seed')}: {seeds})"
    if combined is None:
        return page.template("log.html.j2", table=None, text=None, folded=folded, folded_title=summary)
    starts = {first: phase for phase, first in combined.phases}
    runs = len(combined.seeds)
    rows = [{"epoch": epoch, "time": duration(seconds) if seconds is not None else "–",
             "cells": [spread_value(cell, runs) for cell in cells],
             "phase": (f"{starts[epoch]}, from epoch {epoch}" if epoch in starts else None)}
            for epoch, seconds, cells in combined.rows]
    detail = (f"mean ± standard deviation over seeds {', '.join(str(s) for s in combined.seeds)}; "
              f"{plural(len(rows), 'epoch')}; time: the mean")
    return page.template("log.html.j2", table=True, name=name, detail=detail, rows=rows, evaluations=[], table_text=None,
                         training=[metric_heading(c) for c in combined.columns if not c.startswith("val_")],
                         validation=[metric_heading(c) for c in combined.columns if c.startswith("val_")],
                         text=None, folded=folded, folded_title=summary)



def _metrics(name: str, outcome: ExperimentOutcome, location: SourceLocation, page: Page) -> str:
    names = [k for k in recorded(outcome.result).items() if not k[0].startswith("model.")]
    if not outcome.several:
        # lookup, not the raw record: a precision of a class never predicted is undefined, not 0.0
        values = [(cell(html_text(k)), cell(markdown_text(format_value(lookup(outcome.result, k)))))
                  for k, _ in names]
    else:
        values = [(cell(html_text(k)), cell(value_text(page, name, k, "", location))) for k, _ in names]
    return page.template("metrics.md.j2", values=values, experiment=name) if values else ""



def capped_log(text: str, head: int = LOG_HEAD_LINES, tail: int = LOG_TAIL_LINES) -> tuple[str, int]:
    """``text`` cut to its first ``head`` and last ``tail`` lines; returns it and how many lines were left out."""
    lines = text.split("\n")
    if len(lines) <= head + tail:
        return text, 0
    omitted = len(lines) - head - tail
    return "\n".join([*lines[:head], f"[… {plural(omitted, 'line')} left out …]", *lines[-tail:]]), omitted



def _epoch_rows(table: Any) -> dict[str, Any]:
    """The values ``log.html.j2`` shows of an :class:`~litblog.buildtime.results.log_table.EpochTable`."""
    starts = {first: name for name, first in table.phases}
    rows = [{"epoch": epoch, "time": duration(seconds) if seconds is not None else "–",
             "cells": [metric_value(v) for v in values],
             "phase": (f"{starts[epoch]}, from epoch {epoch}" if epoch in starts else None)}
            for epoch, seconds, values in table.rows]
    evaluations = []
    for evaluation in table.evaluations:
        values = ", ".join(f"{metric_heading(k)} {metric_value(v)}" for k, v in evaluation.values)
        seconds = f" ({duration(evaluation.seconds)})" if evaluation.seconds is not None else ""
        evaluations.append(f"Evaluated on {evaluation.label}: {values}{seconds}.")
    return {"training": [metric_heading(c) for c in table.columns if not c.startswith("val_")],
            "validation": [metric_heading(c) for c in table.columns if c.startswith("val_")],
            "rows": rows, "evaluations": evaluations}



def _result_path(result: StoredResult, name: str) -> str:
    """A result's file as the project names it: ``results/<recipe>/<key>/<name>``."""
    folder = result.folder
    return f"{folder.parent.parent.name}/{folder.parent.name}/{folder.name}/{name}"


RENDERING = Rendering(ExperimentDirective, render)
