"""The chart directive drawn on a page; its syntax, options and parser are ``directives/chart.py``.

```{chart}```: a bar chart comparing one value across experiments, drawn from their results.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ....common.errors import SourceLocation, UserError
from ..page import NOT_RUN, Page, missing_inline
from ...results.spread import chart_error, is_number, mean, seeds_statement
from ...sources.text import html_text
from .rendering import Rendering
from .figure import image_values
from ...directives.numbering import caption_number
from .seed_values import MISSING, seed_values
from ...directives.chart import ChartDirective


def render(chart: ChartDirective, page: Page) -> str:
    notices = page.notices(chart.experiments)
    values: list[float | None] = []
    notes: list[str | None] = []  # why a bar is missing, when it is not "no result"
    spreads: list[list[float]] = []  # each bar's runs, for experiments of several seeds
    for index, name in enumerate(chart.experiments):
        outcome = page.outcomes[name]
        location = chart.options.location("experiments", index)
        runs = [] if outcome.result is None else _numbers(page, name, chart.value, location)
        value = None if not runs else runs[0] if not outcome.several else mean(runs)
        note = NOT_RUN if outcome.result is None else None  # a labelled gap, not an empty bar
        if value is not None and not math.isfinite(value):
            note = f"not finite ({value})"
            page.logged.append(f"{location}: {name}.{chart.value} is {value}: its bar is drawn as not finite")
            value = None
        values.append(value)
        notes.append(note)
        spreads.append(runs if len(runs) > 1 and value is not None else [])
    baseline = chart.baseline
    if chart.baseline_reference:
        experiment, name = chart.baseline_reference
        runs = [] if page.outcomes[experiment].result is None else \
            _numbers(page, experiment, name, chart.options.location("baseline"))
        baseline = mean(runs) if runs else None
    if baseline is not None and not math.isfinite(baseline):
        page.logged.append(f"{chart.options.location('baseline')}: the baseline is {baseline}: "
                           "it is left out of the chart")
        baseline = None
    try:
        format(0.5, chart.value_format)
    except (ValueError, TypeError):
        page.errors.append(UserError(f"format '{chart.value_format}' does not fit a number",
                                     chart.options.location("format"), hint="use a spec like .1% or .3f"))
    if page.errors:
        return ""  # the page will not be written: nothing to draw
    drawing: dict[str, Any] = {"labels": list(chart.labels), "values": values, "baseline": baseline,
                               "baseline_label": chart.baseline_label, "format": chart.value_format,
                               "ylabel": chart.ylabel}
    if any(notes):
        drawing["notes"] = notes  # only then: the digests of existing charts stay as they were
    statement = ""
    if any(spreads):
        drawing["points"] = spreads
        drawing["errors"] = [chart_error(runs, chart.error) if runs else None for runs in spreads]
        statement = seeds_statement([len(runs) for runs in spreads if runs], chart.error)
    svg = page.drawn(drawing, _draw_chart)
    image = image_values(page, f"assets/{page.post.slug}/chart-{svg.stem}", svg)
    caption = page.caption(chart.caption, chart.caption_references)
    if statement:
        caption = Markup(f"{caption} {html_text(statement)}") if caption else html_text(statement)
    missing = [Markup(missing_inline(name, text=label)) for name, label in zip(chart.experiments, chart.labels)
               if page.outcomes[name].result is None]
    caption = Markup(caption_number(page.numbers.get(chart.name or ""), caption))
    return notices + page.template("figure.html.j2", **image, alt=html_text(chart_alt(chart, values, statement)),
                                   width=None, caption_html=caption, missing=missing, anchor=chart.name)



def chart_alt(chart: ChartDirective, values: list[float | None], statement: str) -> str:
    """What a chart shows, bar by bar: "Bar chart of test accuracy: small CNN 71.2%, ...", seeds said."""
    bars = ", ".join(f"{label} {format(value, chart.value_format) if value is not None else 'no result'}"
                     for label, value in zip(chart.labels, values))
    return f"Bar chart of {chart.ylabel}: {bars}" + (f" ({statement.rstrip('.')})" if statement else "")



def _numbers(page: Page, experiment: str, path: str, location: SourceLocation) -> list[float]:
    """``path`` in each run of ``experiment`` that has a result, as numbers (none after an error)."""
    found = seed_values(page, experiment, path, location)
    if found is None or found is MISSING:
        return []
    values, statistic = found  # type: ignore[misc]
    if statistic is not None:
        value = values.statistic(statistic)
        if not is_number(value):
            page.errors.append(UserError(f"{experiment}.{path} is {value!r}, not a number to chart", location))
            return []
        return [float(value)]
    if not values.numeric:
        bad = next(v for _, v in values.values if not is_number(v))
        page.errors.append(UserError(f"{experiment}.{path} is {bad!r}, not a number to chart", location))
        return []
    return values.numbers



def _draw_chart(drawing: dict[str, Any], target: Path) -> None:
    from ....common.figures import comparison_bars, draw_for_page  # matplotlib: only when a drawing is new

    draw_for_page(lambda: comparison_bars(drawing["labels"], drawing["values"], ylabel=drawing["ylabel"],
                                          baseline=drawing["baseline"], baseline_label=drawing["baseline_label"],
                                          value_format=drawing["format"], notes=drawing.get("notes"),
                                          errors=drawing.get("errors"), points=drawing.get("points")), target)


RENDERING = Rendering(ChartDirective, render)
