"""```{chart}```: a bar chart comparing one value across experiments, drawn from their results.

```{chart}
experiments: [model1, model2]
value: test.accuracy
baseline: explore.baseline.accuracy   # or a number: a dashed line
format: .1%
```

A chart has no worker: it is drawn here (matplotlib, never TensorFlow) and cached by what it
shows (``Page.drawn``), so a rebuild does not draw it again. Experiments of several seeds
get their mean, error bars (``error: std`` or ``ci95``) and a dot per run, and the caption
says so. A value that cannot be drawn (not finite) is a located warning, not an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from markupsafe import Markup

from ...common.errors import SourceLocation, UserError
from ..render.page import NOT_RUN, Page, missing_inline
from ..sources.schema import Option
from ..results.spread import chart_error, is_number, mean, seeds_statement
from ..sources.text import html_text
from ..sources.yaml_source import YamlDocument
from .base import (Block, Directive, DirectiveSource, Reference, check_labels, check_no_argument, format_spec_problem,
                   named_in)
from .figure import image_values
from .numbering import caption_number, check_name
from ..render.seed_values import MISSING, seed_values


@dataclass(frozen=True)
class ChartDirective(Block):
    """```{chart}``` : a bar chart comparing one value across experiments, drawn from their results."""

    experiments: tuple[str, ...]
    value: str
    labels: tuple[str, ...]
    baseline: Any  # a number, "experiment.value", or None
    baseline_label: str
    value_format: str
    ylabel: str
    caption: str
    caption_references: tuple[Reference, ...]  # its {result} roles
    location: SourceLocation
    options: YamlDocument = field(compare=False, repr=False)
    error: str = "std"  # error bars of experiments of several seeds: "std" or "ci95"
    name: str | None = None  # a target of {ref}: numbered "Figure n", as figures are (numbering.py)

    def numbered(self) -> tuple[str, str, SourceLocation] | None:
        return ("Figure", self.name, self.location) if self.name else None

    @property
    def baseline_reference(self) -> tuple[str, str] | None:
        """(experiment, value) when the baseline names a stored value rather than a number."""
        if isinstance(self.baseline, str):
            experiment, _, value = self.baseline.partition(".")
            return experiment, value
        return None

    def uses(self) -> Iterable[tuple[str, SourceLocation]]:
        uses = [(name, self.options.location("experiments", index)) for index, name in enumerate(self.experiments)]
        if self.baseline_reference:
            uses.append((self.baseline_reference[0], self.options.location("baseline")))
        return [*uses, *named_in(self.caption_references)]


OPTIONS = (
    Option("experiments", "str_list", required=True, help="names of experiments in this post, one bar each"),
    Option("value", "str", required=True, help="what to compare, like test.accuracy or val_accuracy.best"),
    Option("labels", "str_list", None, nullable=True, help="bar labels, one per experiment"),
    Option("baseline", "any", None, nullable=True,
           help="a dashed reference line: a number, or experiment.value like explore.baseline.accuracy"),
    Option("baseline_label", "str", "baseline"),
    Option("format", "str", ".3g", help="format spec of the numbers on the bars, like .1%"),
    Option("ylabel", "str", None, nullable=True, help="the axis label (default: the value's name)"),
    Option("caption", "str", ""),
    Option("error", "str", "std", choices=("std", "ci95"),
           help="error bars of experiments of several seeds: std (±1 standard deviation) or ci95"),
    Option("name", "str", None, nullable=True, help="numbers the chart (as a figure) and makes it a target of {ref}`name`"),
)


def parse(source: DirectiveSource) -> ChartDirective | None:
    options, doc, problems = source.options, source.document, source.problems
    check_no_argument("chart", source, "list the bars under 'experiments:'")
    if not problems:
        check_labels(options["labels"], options["experiments"], "experiments", source)
        baseline = options["baseline"]
        if isinstance(baseline, bool) or not (baseline is None or isinstance(baseline, (int, float))
                                              or (isinstance(baseline, str) and "." in baseline)):
            problems.append(UserError(f"'baseline' is {baseline!r}", doc.location("baseline"),
                                      hint="give a number, or experiment.value"))
        elif isinstance(baseline, (int, float)) and not (math.isfinite(baseline) and abs(baseline) < 1e300):
            problems.append(UserError(f"'baseline' is {baseline!r}, which cannot be drawn", doc.location("baseline"),
                                      hint="give a finite number, or experiment.value"))
        problem = format_spec_problem(options["format"])
        if problem is None:
            try:
                format(0.5, options["format"])  # bars are numbers: a string-only spec will not do
            except (ValueError, TypeError):
                problem = "is not a format spec for numbers"
        if problem:
            problems.append(UserError(f"invalid format spec '{options['format']}': {problem}", doc.location("format"),
                                      hint="use a Python format spec such as .1% or .3f"))
    references = source.references_in("caption")
    check_name(options["name"], doc.location("name"), problems)
    if problems:
        return None
    experiments = tuple(options["experiments"])
    return ChartDirective(experiments, options["value"], tuple(options["labels"] or experiments),
                          options["baseline"], options["baseline_label"], options["format"],
                          options["ylabel"] or options["value"].replace("_", " ").replace(".", " "),
                          options["caption"], references, source.location, doc, options["error"],
                          options["name"])


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


DIRECTIVE = Directive("chart", ChartDirective, OPTIONS, parse, render)


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
    from ...common.figures import comparison_bars, draw_for_page  # matplotlib: only when a drawing is new

    draw_for_page(lambda: comparison_bars(drawing["labels"], drawing["values"], ylabel=drawing["ylabel"],
                                          baseline=drawing["baseline"], baseline_label=drawing["baseline_label"],
                                          value_format=drawing["format"], notes=drawing.get("notes"),
                                          errors=drawing.get("errors"), points=drawing.get("points")), target)
