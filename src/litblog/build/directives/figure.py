"""```{figure} experiment.figure```: one figure an experiment produced, with the author's caption.

```{figure} model1.curves
caption: Training and validation accuracy of the first model.
width: 80%
```

A figure is copied next to the post (``assets/<slug>/<experiment>-<figure>.png``). For an
experiment of several seeds, ``curves`` is the mean per epoch with a band from the lowest to
the highest run (drawn here from the runs' histories, cached by content), another figure is
the first seed's, ``per_seed: true`` shows every run's own, and ``model1.curves.seed1`` one
run's. The experiment directive's ``show: [curves]`` uses :func:`figure_html` and
:func:`curves_band` too.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from markupsafe import Markup

from ...common.errors import SourceLocation, UserError, did_you_mean, one_of
from ..page import Page, missing_block
from ..schema import Option
from ..spread import seed_of_statistic
from ...common.store import Result
from ..targets import strip_verbatim
from ..text import html_text
from .base import Block, Directive, DirectiveSource, Reference, named_in


@dataclass(frozen=True)
class FigureDirective(Block):
    """```{figure} experiment.figure``` : place one figure an experiment produced."""

    experiment: str
    figure: str
    caption: str
    caption_references: tuple[Reference, ...]  # its {result} roles
    alt: str | None  # None: the caption's text
    width: str | None
    location: SourceLocation
    per_seed: bool = False  # an experiment of several seeds: one figure per seed (curves: not the band)

    def uses(self) -> Iterable[tuple[str, SourceLocation]]:
        return [(self.experiment, self.location), *named_in(self.caption_references)]


OPTIONS = (
    Option("caption", "str", ""),
    Option("alt", "str", None, nullable=True),
    Option("width", "str", None, nullable=True, help="a CSS width such as '80%' or '480px'"),
    Option("per_seed", "bool", False, help="an experiment of several seeds: one figure per seed"),
)


def parse(source: DirectiveSource) -> FigureDirective | None:
    experiment, _, figure = source.argument.partition(".")
    if not experiment or not figure:
        source.problems.append(UserError(f"figure '{source.argument}' should be written experiment.figure",
                                         source.location, hint="for example ```{figure} model1.curves"))
    references = source.references_in("caption")
    if source.problems:
        return None
    options = source.options
    return FigureDirective(experiment, figure, options["caption"], references, options["alt"], options["width"],
                           source.location, options["per_seed"])


def render(block: FigureDirective, page: Page) -> str:
    outcome = page.outcomes[block.experiment]
    figure, _, last = block.figure.rpartition(".")
    seed = seed_of_statistic(last) if figure else None
    figure = figure if seed is not None else block.figure
    if seed is not None and seed not in [run.seed for run in outcome.runs]:
        page.errors.append(UserError(f"experiment '{block.experiment}' has no seed {seed}", block.location,
                                     hint="its seeds: " + ", ".join(str(r.seed) for r in outcome.runs)))
        return ""
    runs = [r for r in outcome.runs if seed is None or r.seed == seed]
    if all(run.result is None for run in runs):
        return page.notice(block.experiment) or missing_block(block.experiment)
    notices = page.notices([block.experiment])
    caption = page.caption(block.caption, block.caption_references)
    if outcome.several and seed is None and not block.per_seed and figure == "curves":
        return notices + curves_band(block.experiment, caption, block.alt, block.width, page)
    if outcome.several and seed is None and not block.per_seed:
        runs = runs[:1]  # the first seed's figure, and the caption says which
        seed = runs[0].seed
        words = html_text(f"(Seed {seed} of {len(outcome.runs)}.)")
        caption = Markup(f"{caption} {words}") if caption else words
    parts = []
    for run in runs:
        if run.result is None:
            parts.append(missing_block(block.experiment))
            continue
        tagged = run.seed if outcome.several and (seed is not None or block.per_seed) else None
        own = caption
        if tagged is not None and (block.per_seed or not caption):
            words = html_text(f"(Seed {run.seed}.)" if caption else
                              f"{run.result.figure_caption(figure)} (Seed {run.seed}.)".strip())
            own = Markup(f"{caption} {words}") if caption else words
        parts.append(figure_html(block.experiment, figure, run.result, own, block.alt, block.width,
                                 block.location, page, seed=tagged))
    return notices + "\n".join(part.rstrip() + "\n" for part in parts if part)


DIRECTIVE = Directive("figure", FigureDirective, OPTIONS, parse, render)


def figure_html(experiment: str, figure: str, result: Result, caption_html: Markup, alt: str | None,
                width: str | None, location: SourceLocation, page: Page, *, seed: int | None = None) -> str:
    """One stored figure of one run, copied next to the post; an error when the run has no such figure."""
    figures = result.figures()
    if figure not in figures:
        page.errors.append(UserError(f"experiment '{experiment}' has no figure '{figure}'", location,
                                     suggestion=did_you_mean(figure, figures) or one_of(figures)))
        return ""
    tag = "" if seed is None else f"-seed{seed}"
    src = page.asset(f"assets/{page.post.slug}/{experiment}-{figure}{tag}.png", figures[figure])
    alt = alt or caption_text(caption_html) or f"{figure} of {experiment}"
    return page.template("figure.html.j2", src=src, alt=html_text(alt),
                         width=html_text(width) if width else None, caption_html=caption_html, missing=())


def curves_band(experiment: str, caption_html: Markup | None, alt: str | None, width: str | None,
                page: Page) -> str:
    """The learning curves of an experiment of several seeds: the mean per epoch, a min–max band."""
    runs = page.outcomes[experiment].results
    seeds = ", ".join(str(seed) for seed, _ in runs)
    png = page.drawn({"histories": [run.history for _, run in runs], "seeds": [seed for seed, _ in runs]},
                     _draw_band)
    src = page.asset(f"assets/{page.post.slug}/{experiment}-curves.png", png)
    if not caption_html:
        caption_html = html_text(f"Mean per epoch over seeds {seeds}; the band spans the lowest to the "
                                 f"highest run.")
    alt = alt or caption_text(caption_html) or f"curves of {experiment}"
    return page.template("figure.html.j2", src=src, alt=html_text(alt),
                         width=html_text(width) if width else None, caption_html=caption_html, missing=())


def caption_text(caption_html: Markup) -> str:
    """A rendered caption as plain text, for an ``alt`` attribute."""
    return strip_verbatim(re.sub(r"<[^>]+>", "", html.unescape(str(caption_html)))).strip()


def _draw_band(drawing: dict[str, Any], target: Path) -> None:
    from ...common.figures import learning_curves_band, save_figure  # matplotlib: only when a drawing is new

    save_figure(learning_curves_band(drawing["histories"], drawing["seeds"]), target)
