"""```{figure} experiment.figure```: one figure an experiment produced, with the author's caption.

```{figure} model1.curves
caption: Training and validation accuracy of the first model.
width: 80%
```

A figure is published next to the post (``assets/<slug>/<experiment>-<figure>.svg`` or ``.webp``).
It is the figure the recipe saved under that name (its PNG converted to WebP at 1x and 2x,
``web_images.py``), else one the build draws from what the run stored (``figure_kinds.py``:
``curves`` from the history, ``confusion`` from the recorded counts) as an SVG, cached by content. For an experiment of several seeds such a kind draws one figure over the
runs (``curves``: the mean per epoch with a band from the lowest to the highest run), another
figure is the first seed's, ``per_seed: true`` shows every run's own, and
``model1.curves.seed1`` one run's. The drawing is ``render/blocks/figure.py``, whose
``place_figure`` the experiment directive's ``show: [curves]`` uses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ...common.errors import SourceLocation, UserError
from ..sources.schema import Option
from .base import Block, Directive, DirectiveSource, Reference, named_in
from .numbering import check_name


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
    name: str | None = None  # a target of {ref}: numbered "Figure n" (numbering.py)

    def numbered(self) -> tuple[str, str, SourceLocation] | None:
        return ("Figure", self.name, self.location) if self.name else None

    def uses(self) -> Iterable[tuple[str, SourceLocation]]:
        return [(self.experiment, self.location), *named_in(self.caption_references)]



OPTIONS = (
    Option("caption", "str", ""),
    Option("alt", "str", None, nullable=True),
    Option("width", "str", None, nullable=True, help="a CSS width such as '80%' or '480px'"),
    Option("per_seed", "bool", False, help="an experiment of several seeds: one figure per seed"),
    Option("name", "str", None, nullable=True, help="numbers the figure and makes it a target of {ref}`name`"),
)



def parse(source: DirectiveSource) -> FigureDirective | None:
    experiment, _, figure = source.argument.partition(".")
    if not experiment or not figure:
        source.problems.append(UserError(f"figure '{source.argument}' should be written experiment.figure",
                                         source.location, hint="for example ```{figure} model1.curves"))
    references = source.references_in("caption")
    check_name(source.options["name"], source.document.location("name"), source.problems)
    if source.problems:
        return None
    options = source.options
    return FigureDirective(experiment, figure, options["caption"], references, options["alt"], options["width"],
                           source.location, options["per_seed"], options["name"])



DIRECTIVE = Directive("figure", FigureDirective, OPTIONS, parse)

