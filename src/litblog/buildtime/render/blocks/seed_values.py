"""Values of an experiment across its runs, as the blocks that show them need them.

An experiment of one run shows a value as it is; one of several seeds shows it as mean ±
standard deviation with the runs in the title, a statistic (``.std``, ``.ci95``, ``.seed2``), or
a difference with its interval (Welch's t). ``{result}`` roles, table columns and recorded
metrics show values through :func:`value_text`; claims compare :func:`terms`. The numbers
and their text come from ``spread.py``; mistakes become located errors on the page.
"""

from __future__ import annotations

from typing import Any

from ....common.errors import SourceLocation, UserError, did_you_mean, one_of
from ..page import Page, lacking, missing_inline
from ...results.spread import (PairingError, SeedValues, Term, difference_of_means, difference_text, formatted, is_number,
                      seed_of_statistic, seeds_title, spread_text, statistic_name, statistic_text)
from ....common.store import StoredResult, ValueNotFound
from ...sources.text import html_text, markdown_text
from ...results.values import format_value, lookup, pooled_rate
from ...directives.base import MINUS, PAIRED, Quantity, ValuePath

MISSING = object()  # a value a result does not have (its error is already on the page)


def split_statistic(result: StoredResult, path: str) -> tuple[str, str | None] | None:
    """(value path, statistic) of ``path`` in ``result``: ``test.accuracy`` is a value, and so is
    ``val_accuracy.max`` (over epochs); ``test.accuracy.std`` is a statistic of a value over seeds.
    None when ``path`` is neither."""
    try:
        lookup(result, path)
        return path, None
    except ValueNotFound:
        pass
    base, _, last = path.rpartition(".")
    if not base or statistic_name(last) is None:
        return None
    try:
        lookup(result, base)
    except ValueNotFound:
        return None
    return base, last


def value_text(page: Page, experiment: str, path: str, spec: str, location: SourceLocation, *,
               links: bool = True, minus: ValuePath | None = None, paired: bool = False) -> str:
    """A value (or a difference) as Markdown: one run's value as it is; several runs' as mean ±
    standard deviation with the runs in the title; a statistic; a difference with its interval
    (``paired``: a paired t over the seeds). Without ``links`` (captions): plain text only."""
    if minus is not None or MINUS.search(path):
        if minus is None:  # a table column "test.accuracy - model1.test.accuracy [(paired)]"
            found_paired = PAIRED.search(path)
            if found_paired:
                path, paired = path[:found_paired.start()], True
            path, other = MINUS.split(path, maxsplit=1)
            other_experiment, _, other_path = other.partition(".")
            minus = ValuePath(other_experiment, other_path)
            if other_experiment not in page.outcomes:
                page.errors.append(UserError(f"undefined experiment '{other_experiment}' in '{other}'", location,
                                             suggestion=did_you_mean(other_experiment, page.outcomes)))
                return "?"
        return _difference_text(page, ValuePath(experiment, path), minus, spec, location, links=links,
                                paired=paired)
    outcome = page.outcomes[experiment]
    found = seed_values(page, experiment, path, location)
    if found is None:
        return missing_inline(experiment, "(no result)") if links else "(no result)"
    if found is MISSING:
        return "?"
    values, statistic = found  # type: ignore[misc]
    seed = seed_of_statistic(statistic) if statistic else None
    if seed is not None and seed in outcome.missing:
        return missing_inline(experiment, f"(no result for seed {seed})") if links else \
            f"(no result for seed {seed})"
    if statistic is None and not outcome.several:
        # One run's value as it always was.
        text = _format(page, values.values[0][1], experiment, path, spec, location)
        return text + lacking(experiment, outcome.missing, len(outcome.runs), links)
    try:
        title = seeds_title(values, spec)
        if not outcome.several:  # a statistic of one run: as it always was, without a title
            text = formatted(values.statistic(statistic), spec) if seed is not None else \
                statistic_text(values, statistic, spec)
            return markdown_text(text) + lacking(experiment, outcome.missing, len(outcome.runs), links)
        if seed is not None:
            text = formatted(values.statistic(statistic), spec)
        elif statistic is not None:
            text = statistic_text(values, statistic, spec)
        elif values.uniform and values.pooled is None:
            # A value every run shares (a param, a count), once; the runs in the title as for any value.
            text = formatted(values.values[0][1], spec)
        else:
            text = spread_text(values, spec)
    except (ValueError, TypeError):
        page.errors.append(UserError(f"format '{spec}' does not fit {values.name} = {values.values[0][1]!r}",
                                     location, hint="numbers take specs like .1% or .3f; text takes none"))
        return "?"
    # A seed's own value lacks nothing; any other value says how many runs it lacks.
    missing = () if seed is not None else outcome.missing
    return _marked(experiment, text, title, "litblog-spread", missing, len(outcome.runs), links)


def seed_values(page: Page, experiment: str, path: str,
                location: SourceLocation) -> tuple[SeedValues, str | None] | None | object:
    """``path`` in each run of ``experiment`` with a result, and the statistic that ends the path
    (``test.accuracy.std``), if any; None without any result; :data:`MISSING` after an error."""
    outcome = page.outcomes[experiment]
    runs = outcome.results
    if not runs:
        return None
    split = split_statistic(runs[0][1], path)
    if split is None:
        _lookup(page, runs[0][1], experiment, path, location)  # records the error
        return MISSING
    path, statistic = split
    values = []
    for seed, result in runs:
        value = _lookup(page, result, experiment, path, location)
        if value is MISSING:
            return MISSING
        values.append((seed, value))
    pooled = pooled_rate([result for _, result in runs], path) if len(runs) > 1 else None
    found = SeedValues(f"{experiment}.{path}", tuple(values), outcome.missing, pooled)
    seed = seed_of_statistic(statistic) if statistic else None
    if seed is not None and seed not in [run.seed for run in outcome.runs]:
        page.errors.append(UserError(f"experiment '{experiment}' has no seed {seed}", location,
                                     hint="its seeds: " + ", ".join(str(r.seed) for r in outcome.runs)))
        return MISSING
    if statistic and seed is None and statistic != "n" and not found.numeric:
        page.errors.append(UserError(f"{experiment}.{path} is not a number: it has no {statistic}", location))
        return MISSING
    return found, statistic


def terms(page: Page, quantity: Quantity | ValuePath | float, location: SourceLocation,
          sign: float = 1.0) -> list[Term] | None | object:
    """A quantity as signed terms (runs of one experiment, or a constant); None without any result;
    :data:`MISSING` after an error."""
    if isinstance(quantity, Quantity):
        first = terms(page, quantity.first, location, sign)
        second = [] if quantity.minus is None else terms(page, quantity.minus, location, -sign)
        for part in (first, second):
            if part is None or part is MISSING:
                return part
        return [*first, *second]  # type: ignore[misc]
    if not isinstance(quantity, ValuePath):
        return [Term(str(quantity), sign, (float(quantity),), constant=True)]
    found = seed_values(page, quantity.experiment, quantity.path, location)
    if found is None or found is MISSING:
        return found
    values, statistic = found  # type: ignore[misc]
    if statistic is not None:
        value = values.statistic(statistic)
        if not is_number(value):
            page.errors.append(UserError(f"{quantity}: compare numbers, not {statistic}", location))
            return MISSING
        return [Term(str(quantity), sign, (float(value),), constant=True)]
    if not values.numeric:
        bad = next(v for _, v in values.values if not is_number(v))
        page.errors.append(UserError(f"{quantity} is {bad!r}, not a number", location))
        return MISSING
    defined = dict(values.defined)  # an undefined rate (a class never predicted) is left out
    if not defined:
        page.errors.append(UserError(f"{quantity} is {values.values[0][1]}: there is nothing to compare",
                                     location, hint="compare a value every run has, or its recall"))
        return MISSING
    return [Term(str(quantity), sign, tuple(defined.values()), quantity.experiment, defined)]


def _difference_text(page: Page, first: ValuePath, second: ValuePath, spec: str, location: SourceLocation, *,
                     links: bool, paired: bool = False) -> str:
    found = terms(page, Quantity(first, second), location)
    if found is MISSING:
        return "?"
    if found is None:
        names = [n for n in (first.experiment, second.experiment) if page.outcomes[n].result is None]
        return missing_inline(names[0], "(no result)") if links else "(no result)"
    try:
        interval = difference_of_means(found, paired=paired)  # type: ignore[arg-type]
    except PairingError as exc:
        page.errors.append(UserError(f"{first} - {second} (paired): {exc}", location,
                                     hint="leave out '(paired)' for Welch's t, which needs no pairs"))
        return "?"
    outcomes = page.outcomes
    several = (outcomes[first.experiment].several or outcomes[second.experiment].several) and first != second
    try:
        if not several:
            return markdown_text(format_value(interval.difference, spec))
        text, title = difference_text(interval, spec)
    except (ValueError, TypeError):
        page.errors.append(UserError(f"format '{spec}' does not fit the difference {first} - {second}", location,
                                     hint="use a spec for numbers like +.1% or +.3f"))
        return "?"
    missing = tuple(s for n in (first.experiment, second.experiment) for s in outcomes[n].missing)
    runs = len(outcomes[first.experiment].runs) + len(outcomes[second.experiment].runs)
    return _marked(first.experiment, text, title, "litblog-difference", missing, runs, links)


def _lookup(page: Page, result: StoredResult, experiment: str, path: str, location: SourceLocation) -> Any:
    """The value ``path`` names, or :data:`MISSING` after recording a located error."""
    try:
        return lookup(result, path)
    except ValueNotFound as exc:
        page.errors.append(UserError(f"experiment '{experiment}' has {exc}", location,
                                     suggestion=did_you_mean(path, exc.available) or one_of(exc.available)))
        return MISSING


def _format(page: Page, value: Any, experiment: str, path: str, spec: str, location: SourceLocation) -> str:
    if value is MISSING:
        return "?"
    try:
        return markdown_text(format_value(value, spec))
    except (ValueError, TypeError):
        page.errors.append(UserError(f"format '{spec}' does not fit {experiment}.{path} = {value!r}", location,
                                     hint="numbers take specs like .1% or .3f; text takes none"))
        return "?"


def _marked(experiment: str, text: str, title: str, css: str, missing: tuple[int, ...], runs: int,
            links: bool) -> str:
    """``text`` in a span with ``title``, and how many runs it lacks (a link to the notice)."""
    if not links:
        return markdown_text(text) + lacking(experiment, missing, runs, links)
    return (f'<span class="{css}" title="{html_text(title)}">{markdown_text(text)}</span>'
            + lacking(experiment, missing, runs, links))
