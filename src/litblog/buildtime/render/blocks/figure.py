"""The figure directive drawn on a page; its syntax, options and parser are ``directives/figure.py``.

```{figure} experiment.figure```: one figure an experiment produced, with the author's caption.
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path
from typing import Any, Callable

from markupsafe import Markup

from ....common.errors import SourceLocation, UserError, did_you_mean, one_of
from ..figure_kinds import EXPERIMENT, KINDS, Drawing, FigureKind, kind_of, recipe_figures
from ..figure_kinds import code_digest as kinds_code_digest
from ..page import Page, missing_block
from ...results.spread import seed_of_statistic
from ....common.store import StoredResult
from ..targets import strip_verbatim
from ...sources.text import html_text
from .. import web_images
from .rendering import Rendering
from ...directives.numbering import caption_number
from ...directives.figure import FigureDirective


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
        return anchor_of(block.name) + (page.notice(block.experiment) or missing_block(block.experiment))
    notices = page.notices([block.experiment])
    caption = page.caption(block.caption, block.caption_references)
    caption = Markup(caption_number(page.numbers.get(block.name or ""), caption))
    return notices + place_figure(page, block.experiment, figure, block.location, caption=caption, alt=block.alt,
                                  width=block.width, seed=seed, per_seed=block.per_seed, anchor=block.name)



def place_figure(page: Page, experiment: str, figure: str, location: SourceLocation, *,
                 caption: Markup = Markup(""), alt: str | None = None, width: str | None = None,
                 seed: int | None = None, per_seed: bool = False, captioned: bool = False,
                 required: bool = True, anchor: str | None = None) -> str:
    """The figure ``figure`` of an experiment's runs (those of ``seed`` only, when given), as HTML.

    Each run's figure is the one its recipe saved under that name, else the build-time kind's
    (``figure_kinds.py``) drawn from what the run stored. For an experiment of several seeds,
    without ``seed`` or ``per_seed``, a kind draws one figure over the runs unless a recipe saved
    its own; any other figure is the first seed's. ``captioned``: a figure without ``caption``
    gets the recipe's or the kind's (``show: [curves]``). ``required``: a figure no run can
    have is an error at ``location``; else nothing is shown. ``anchor``: the ``id`` of the first figure
    (a named figure, ``numbering.py``).
    """
    outcome = page.outcomes[experiment]
    runs = [r for r in outcome.runs if seed is None or r.seed == seed]
    kind, qualifier = kind_of(figure)
    if outcome.several and seed is None and not per_seed:
        stored = [(run.seed, run.result) for run in runs if run.result is not None]
        if kind is not None and not any(figure in recipe_figures(result) for _, result in stored):
            drawing = kind.drawing(stored, qualifier, True)
            if isinstance(drawing, str):
                return _lacking(page, experiment, figure, drawing, location, required)
            return _figure(page, _asset_name(page, experiment, figure), _drawn(page, kind, drawing),
                           caption or html_text(drawing.caption), alt or drawing.alt.replace(EXPERIMENT, experiment),
                           width, anchor)
        runs = runs[:1]  # the first seed's figure, and the caption says which
        seed = runs[0].seed
        run = runs[0].result
        own = html_text(run.figure_caption(figure)) if captioned and not caption and run is not None else caption
        words = html_text(f"(Seed {seed} of {len(outcome.runs)}.)")
        caption = Markup(f"{own} {words}") if own else words
    parts = []
    for run in runs:
        if run.result is None:
            parts.append(missing_block(experiment))
            continue
        found = _run_figure(page, run.seed, run.result, figure)
        if not isinstance(found, tuple):
            parts.append(_lacking(page, experiment, figure, found, location, required, run.result))
            continue
        png, own_caption, description = found
        tagged = run.seed if outcome.several and (seed is not None or per_seed) else None
        shown = caption
        if tagged is not None and (per_seed or not caption):
            words = html_text(f"(Seed {run.seed}.)" if caption else f"{own_caption} (Seed {run.seed}.)".strip())
            shown = Markup(f"{caption} {words}") if caption else words
        elif captioned and not caption:
            shown = html_text(own_caption)
        tag = "" if tagged is None else f"-seed{tagged}"
        who = f"{experiment} (seed {run.seed})" if outcome.several else experiment
        shown_alt = alt or description.replace(EXPERIMENT, who)
        parts.append(_figure(page, _asset_name(page, experiment, figure, tag), png, shown, shown_alt, width, anchor))
        anchor = None  # one id per page
    return "\n".join(part.rstrip() + "\n" for part in parts if part)



def _run_figure(page: Page, seed: int, result: StoredResult, figure: str) -> tuple[Path, str, str] | str | None:
    """One run's figure, the caption it comes with and its alt text (:data:`EXPERIMENT` in it): the
    recipe's own, else its kind's drawing; or why its kind cannot draw it; None when no figure has
    that name."""
    own = recipe_figures(result)
    if figure in own:
        caption = result.figure_caption(figure)
        words = re.sub(r"[_-]+", " ", figure)
        return own[figure], caption, f"Figure '{words}' of {EXPERIMENT}, saved by its recipe" + \
            (f": {caption.rstrip('.')}" if caption else "")
    kind, qualifier = kind_of(figure)
    if kind is None:
        return None
    drawing = kind.drawing([(seed, result)], qualifier, False)
    if isinstance(drawing, str):
        return drawing
    return _drawn(page, kind, drawing), drawing.caption, drawing.alt



def _drawn(page: Page, kind: FigureKind, drawing: Drawing) -> Path:
    """The SVG of a kind's drawing, from the drawing cache (stamped: ``--check`` reuses committed ones)."""
    return page.drawn({"kind": kind.name, "kind_code": kinds_code_digest(), **drawing.data},
                      functools.partial(_save_drawing, drawing.draw), stamped=True)



def _save_drawing(draw: Callable[[dict[str, Any]], Any], data: dict[str, Any], target: Path) -> None:
    from ....common.figures import draw_for_page  # matplotlib: only when a drawing is new

    draw_for_page(lambda: draw(data), target)



def _lacking(page: Page, experiment: str, figure: str, reason: str | None, location: SourceLocation,
             required: bool, result: StoredResult | None = None) -> str:
    """A figure the experiment cannot have: a located error (with the names it has), or nothing when not required."""
    if required:
        names = [*(recipe_figures(result) if result is not None else ()), *KINDS]
        if reason:
            page.errors.append(UserError(f"experiment '{experiment}' has no figure '{figure}': {reason}", location))
        else:
            page.errors.append(UserError(f"experiment '{experiment}' has no figure '{figure}'", location,
                                         suggestion=did_you_mean(figure, names) or one_of(names)))
    return ""



def _asset_name(page: Page, experiment: str, figure: str, tag: str = "") -> str:
    """Where a figure is published, without its suffix: ``assets/<slug>/<experiment>-<figure><tag>``
    (``.svg`` for a drawing, ``.webp`` and ``-2x.webp`` for a saved image).

    A qualified kind keeps its dot (``model1-test.confusion.svg``): no saved figure has one, so
    the two never share a file.
    """
    return f"assets/{page.post.slug}/{experiment}-{figure}{tag}"



def _figure(page: Page, base: str, file: Path, caption_html: Markup, alt: str, width: str | None,
            anchor: str | None = None) -> str:
    """The ``figure.html.j2`` block of one image (``alt``: the author's, else what the image shows)."""
    return page.template("figure.html.j2", **image_values(page, base, file), alt=html_text(alt), anchor=anchor,
                         width=html_text(width) if width else None, caption_html=caption_html, missing=())



def anchor_of(name: str | None) -> str:
    """An empty element with a named block's ``id``, where the block itself cannot be shown (no result)."""
    return f'<div class="litblog-anchor" id="{name}"></div>\n' if name else ""



def image_values(page: Page, base: str, file: Path) -> dict[str, Any]:
    """Publish ``file`` (a drawing's SVG, or a saved PNG as WebP) at ``base`` plus its suffix; the
    ``<img>``'s values: ``src``, ``width`` and ``height`` (CSS px), ``loading``, and for a photograph
    larger than it is shown ``srcset``, ``sizes`` and ``full`` (the largest version, linked)."""
    values: dict[str, Any] = {"loading": page.image_loading(), "srcset": None, "sizes": None, "full": None}
    if file.suffix == ".svg":
        width, height = web_images.svg_size(file)
        return {**values, "src": page.asset(f"{base}.svg", file), "image_width": width, "image_height": height}
    versions = web_images.web_versions(page, file)
    (one, width, height), larger = versions[0], versions[1:]
    src = page.asset(f"{base}.webp", one)
    # Linked to its largest version: on a phone a photograph's titles are read full size.
    values.update(src=src, image_width=width, image_height=height, full=src)
    if larger:
        two, two_width, _ = larger[0]
        full = page.asset(f"{base}-2x.webp", two)
        values.update(srcset=Markup(f"{src} {width}w, {full} {two_width}w"), sizes=web_images.sizes(width),
                      full=full)
    return values



def caption_text(caption_html: Markup) -> str:
    """A rendered caption as plain text, for an ``alt`` attribute."""
    return strip_verbatim(re.sub(r"<[^>]+>", "", html.unescape(str(caption_html)))).strip()


RENDERING = Rendering(FigureDirective, render)
