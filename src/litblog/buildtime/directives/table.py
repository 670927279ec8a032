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

from ...common.errors import SourceLocation, UserError, did_you_mean
from ..sources.schema import Option
from ..sources.yaml_source import YamlDocument
from .base import Block, Directive, DirectiveSource, Reference, check_labels, check_no_argument, format_spec_problem, named_in
from .numbering import check_name


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



DIRECTIVE = Directive("table", TableDirective, OPTIONS, parse)

