"""```{table}```: experiments as rows, values as columns.

```{table}
experiments: [model1, model2]
columns: [params.augment, val_accuracy.best, test.accuracy, test.accuracy - model1.test.accuracy]
labels: [augmented, best val accuracy, test accuracy, gain]
format: {test.accuracy: ".1%"}
```

A cell is what ``{result}`` would show for that experiment and column (``seed_values.py``):
over seeds, mean ± standard deviation; a column of numbers is aligned right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from markupsafe import Markup

from ...common.errors import SourceLocation, UserError, did_you_mean
from ..render.page import NOT_RUN, Page, missing_inline
from ..sources.schema import Option
from ..results.spread import is_number
from ...common.store import StoredResult
from ..sources.text import cell, markdown_text
from ..results.values import lookup
from ..sources.yaml_source import YamlDocument
from .base import (MINUS, Block, Directive, DirectiveSource, Reference, check_labels, check_no_argument,
                   format_spec_problem, named_in)
from .numbering import caption_number, check_name
from ..render.seed_values import split_statistic, value_text


@dataclass(frozen=True)
class TableDirective(Block):
    """```{table}``` : compare experiments, one row each, one column per metric."""

    experiments: tuple[str, ...]
    columns: tuple[str, ...]
    labels: tuple[str, ...]
    formats: dict[str, str]
    caption: str
    caption_references: tuple[Reference, ...]  # its {result} roles
    location: SourceLocation
    options: YamlDocument = field(compare=False, repr=False)
    name: str | None = None  # a target of {ref}: numbered "Table n" (numbering.py)

    def numbered(self) -> tuple[str, str, SourceLocation] | None:
        return ("Table", self.name, self.location) if self.name else None

    def uses(self) -> Iterable[tuple[str, SourceLocation]]:
        rows = [(name, self.options.location("experiments", index)) for index, name in enumerate(self.experiments)]
        return [*rows, *named_in(self.caption_references)]


OPTIONS = (
    Option("experiments", "str_list", required=True, help="names of experiments in this post"),
    Option("columns", "str_list", required=True,
           help="metrics such as val_accuracy.best, test.accuracy, params, params.epochs, train_seconds"),
    Option("labels", "str_list", None, nullable=True, help="column headings, one per column"),
    Option("format", "mapping", {}, help="format spec per column, like {test.accuracy: '.1%'}"),
    Option("caption", "str", ""),
    Option("name", "str", None, nullable=True, help="numbers the table and makes it a target of {ref}`name`"),
)


def parse(source: DirectiveSource) -> TableDirective | None:
    options, doc, problems = source.options, source.document, source.problems
    check_no_argument("table", source, "list the rows under 'experiments:'")
    if not problems:
        check_labels(options["labels"], options["columns"], "columns", source)
        for column, spec in options["format"].items():
            if column not in options["columns"]:
                problems.append(UserError(f"'format' names '{column}', which is not a column",
                                          doc.location("format", column),
                                          suggestion=did_you_mean(str(column), options["columns"])))
            elif not isinstance(spec, str):
                problems.append(UserError(f"the format of '{column}' must be a string such as '.1%'",
                                          doc.location("format", column)))
            elif format_spec_problem(spec):
                problems.append(UserError(f"the format '{spec}' of '{column}' {format_spec_problem(spec)}",
                                          doc.location("format", column),
                                          hint="use a Python format spec such as .1%, .3f or ,"))
    references = source.references_in("caption")
    check_name(options["name"], doc.location("name"), problems)
    if problems:
        return None
    columns = tuple(options["columns"])
    labels = tuple(options["labels"] or columns)
    return TableDirective(tuple(options["experiments"]), columns, labels,
                          {str(k): v for k, v in options["format"].items()},
                          options["caption"], references, source.location, doc, options["name"])


def render(table: TableDirective, page: Page) -> str:
    notices = page.notices(table.experiments)
    headers = ["experiment", *(cell(markdown_text(label)) for label in table.labels)]
    numeric = [False] * len(table.columns)
    rows = []
    for name in table.experiments:
        outcome = page.outcomes[name]
        row = [f"`{name}`"]
        for index, column in enumerate(table.columns):
            if outcome.result is None:
                row.append(missing_inline(name, NOT_RUN))
                continue
            location = table.options.location("columns", index)
            spec = table.formats.get(column, "")
            numeric[index] = numeric[index] or _numeric_column(outcome.result, column)
            row.append(cell(value_text(page, name, column, spec, location)))
        rows.append(row)
    aligns = ["left", *("right" if n else "left" for n in numeric)]
    caption = page.caption(table.caption, table.caption_references)
    page.tables += 1  # a scrolling table is a region the keyboard reaches: its label must be its own
    numbered = page.numbers.get(table.name or "")
    label = f"{numbered.text if numbered else 'Table ' + str(page.tables)}: " + ", ".join(table.experiments)
    caption = Markup(caption_number(numbered, caption))
    return notices + page.template("table.md.j2", headers=headers, aligns=aligns, rows=rows, caption_html=caption,
                                   anchor=table.name, label=label)


DIRECTIVE = Directive("table", TableDirective, OPTIONS, parse, render)


def _numeric_column(result: StoredResult, column: str) -> bool:
    """A column of numbers (aligned right): a number, a statistic of one, or a difference."""
    if MINUS.search(column):
        return True
    split = split_statistic(result, column)
    if split is None:
        return False
    path, statistic = split
    return statistic == "n" or is_number(lookup(result, path))
