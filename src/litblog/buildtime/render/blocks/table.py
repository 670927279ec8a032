"""The table directive drawn on a page; its syntax, options and parser are ``directives/table.py``.

```{table}```: experiments as rows, values as columns.
"""

from __future__ import annotations

from markupsafe import Markup

from ..page import NOT_RUN, Page, missing_inline
from ...results.spread import is_number
from ....common.store import StoredResult
from ...sources.text import cell, markdown_text
from ...results.values import lookup
from .rendering import Rendering
from ...directives.base import MINUS
from ...directives.numbering import caption_number
from .seed_values import split_statistic, value_text
from ...directives.table import TableDirective


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



def _numeric_column(result: StoredResult, column: str) -> bool:
    """A column of numbers (aligned right): a number, a statistic of one, or a difference."""
    if MINUS.search(column):
        return True
    split = split_statistic(result, column)
    if split is None:
        return False
    path, statistic = split
    return statistic == "n" or is_number(lookup(result, path))


RENDERING = Rendering(TableDirective, render)
