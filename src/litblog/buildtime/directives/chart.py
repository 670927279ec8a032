"""```{chart}```: a bar chart comparing one value across experiments, drawn from their results.

```{chart}
experiments: [model1, model2]
value: test.accuracy
baseline: explore.baseline.accuracy   # or a number: a dashed line
format: .1%
```

A chart has no worker: it is drawn at build time (``render/blocks/chart.py``: matplotlib, never TensorFlow) and cached by what it
shows (``Page.drawn``), so a rebuild does not draw it again. Experiments of several seeds
get their mean, error bars (``error: std`` or ``ci95``) and a dot per run, and the caption
says so. A value that cannot be drawn (not finite) is a located warning, not an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from ...common.errors import SourceLocation, UserError
from ..sources.schema import Option
from ..sources.yaml_source import YamlDocument
from .base import (Block, Directive, DirectiveSource, Reference, check_labels, check_no_argument, format_spec_problem,
                   named_in)
from .numbering import check_name


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



DIRECTIVE = Directive("chart", ChartDirective, OPTIONS, parse)

