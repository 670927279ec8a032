"""Stage 6, render: replace each directive with Markdown/HTML made from templates and stored results.

A post is rendered twice from the same blocks: for Jekyll (figure links through
``relative_url``, code and logs inside ``{% raw %}`` so Liquid never reads them) and for the
HTML preview (relative links, no Liquid). Nothing here imports TensorFlow.

Everything litblog inserts that is not the author's prose (recorded values, params, labels,
notice messages, figure captions from recipes, experiment names) is text: HTML-escaped, with
the characters Markdown, kramdown and Liquid would read (braces, brackets, ``* _ ` ~ $`` and the backslash) written as
character references, so it can neither add markup nor run as Liquid, in either target.
Captions written in a directive are the author's, read as inline Markdown (emphasis, code,
links); raw HTML in them is shown as text and Liquid in them is not run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import html
import json
import logging
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import jinja2
import markdown
from markupsafe import Markup, escape

from . import provenance_card
from .directives import (_MINUS, CODE_SPAN, ChartDirective, ClaimReference, CodeBlock, ExperimentDirective,
                         FigureDirective, ParsedPost, Quantity, Reference, TableDirective, TextBlock, ValuePath)
from .errors import UserError, UserErrors, did_you_mean, one_of
from .log_table import epoch_table, metric_heading, metric_value, plural
from .plan import PlannedExperiment
from .recipes import recipe_listing
from .posts import Post
from .store import LOG, Result, ResultError
from .summary_table import result_summaries
from .spread import (SeedValues, Term, chart_error, check_claim, describe_claim, difference_of_means,
                     difference_text, formatted, is_number, mean, seed_of_statistic, seeds_statement, seeds_title,
                     spread_text, statistic_name, statistic_text)
from .values import format_value, lookup, recorded

log = logging.getLogger(__name__)

TARGETS = ("jekyll", "preview")
LOG_HEAD_LINES = LOG_TAIL_LINES = 150  # a page shows this much of a longer log, and where the rest is
_MISSING = object()  # a value a result does not have (its error is already recorded)
_RAW_OPEN, _RAW_CLOSE = "{% raw %}", "{% endraw %}"


@dataclass(frozen=True)
class SeedOutcome:
    """One run of an experiment: its seed, its plan, and its result or why there is none."""

    seed: int
    experiment: PlannedExperiment
    result: Result | None
    failure: str | None = None


@dataclass(frozen=True)
class ExperimentOutcome:
    """What rendering knows of one experiment: its plan, and its result or why there is none.

    An experiment of several seeds (:meth:`of_seeds`) has one :class:`SeedOutcome` per seed in
    ``seeds``; then ``experiment`` is its first run's plan (recipe, params), ``result`` the first
    result there is (for the model summary) and ``failure`` what the runs without one say.
    """

    experiment: PlannedExperiment
    result: Result | None
    failure: str | None = None
    seeds: tuple[SeedOutcome, ...] = ()  # set only for more than one seed

    @classmethod
    def of_seeds(cls, runs: tuple[SeedOutcome, ...] | list[SeedOutcome]) -> "ExperimentOutcome":
        runs = tuple(runs)
        if len(runs) == 1:
            return cls(runs[0].experiment, runs[0].result, runs[0].failure)
        results = [r.result for r in runs if r.result is not None]
        missing = [r for r in runs if r.result is None]
        failure = None
        if missing:
            messages = {r.failure or "It has not been run." for r in missing}
            if len(missing) == len(runs) and len(messages) == 1:
                failure = f"None of its {len(runs)} seeds has a result. {messages.pop()}"
            else:
                failure = (f"{len(missing)} of its {len(runs)} seeds {'has' if len(missing) == 1 else 'have'} "
                           "no result. ") + " ".join(
                    f"Seed {r.seed}: {r.failure or 'It has not been run.'}" for r in missing)
        return cls(runs[0].experiment, results[0] if results else None, failure, runs)

    @property
    def several(self) -> bool:
        return len(self.seeds) > 1

    @property
    def runs(self) -> tuple[SeedOutcome, ...]:
        return self.seeds or (SeedOutcome(self.experiment.seed, self.experiment, self.result, self.failure),)

    @property
    def results(self) -> list[tuple[int, Result]]:
        """(seed, result) of each run that has one."""
        return [(r.seed, r.result) for r in self.runs if r.result is not None]

    @property
    def missing(self) -> tuple[int, ...]:
        """The seeds without a result."""
        return tuple(r.seed for r in self.runs if r.result is None)

    @property
    def incomplete(self) -> bool:
        """Some run has no result: the page shows the experiment's notice."""
        return any(r.result is None for r in self.runs)


@dataclass(frozen=True)
class RenderedPost:
    """A post ready to write: front matter, a body per target, and the files it links."""

    post: Post
    front_matter: dict[str, Any]
    bodies: dict[str, str]  # target -> Markdown
    assets: dict[str, Path]  # site-relative path ("assets/<slug>/x.png") -> source file
    url: str  # the post's URL path under the site root, per the permalink setting
    warnings: tuple[str, ...] = ()  # located, for the console (a claim whose interval includes zero)


def post_url(post: Post, permalink: str) -> str:
    """The URL path Jekyll gives ``post`` under ``permalink`` (styles and placeholders)."""
    pattern = post.front_matter.get("permalink") or permalink
    styles = {
        "date": "/:categories/:year/:month/:day/:title:output_ext",
        "pretty": "/:categories/:year/:month/:day/:title/",
        "ordinal": "/:categories/:year/:y_day/:title:output_ext",
        "none": "/:categories/:title:output_ext",
    }
    pattern = styles.get(pattern, pattern)
    categories = post.front_matter.get("categories") or post.front_matter.get("category") or []
    if isinstance(categories, str):
        categories = categories.split()
    date = post.date
    values = {
        ":categories": "/".join(str(c).lower() for c in categories),
        ":year": f"{date:%Y}", ":short_year": f"{date:%y}",
        ":month": f"{date:%m}", ":i_month": str(date.month),
        ":day": f"{date:%d}", ":i_day": str(date.day),
        ":y_day": f"{date.timetuple().tm_yday:03d}",
        ":title": post.slug, ":slug": post.slug,
        ":output_ext": ".html",
    }
    url = re.sub(r":[a-z_]+", lambda m: values.get(m.group(0), m.group(0)), pattern)
    url = re.sub(r"/+", "/", "/" + url)
    return url


def folder_depth(url: str) -> int:
    """How many folders deep the page for ``url`` lies: ``/a/b/`` (a/b/index.html) is 2."""
    return url.count("/") - 1


def _fenced(text: str, language: str = "") -> str:
    """``text`` in a fenced code block whose fence is longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def duration(seconds: float | None) -> str:
    """A time span for people: ``4 s``, ``1 min 15 s``, ``1 h 02 min``."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class _Pass:
    """One rendering of one post for one target."""

    target: str
    env: jinja2.Environment
    page_root: str  # relative path from the post's page to the site root (preview)
    post: Post
    outcomes: dict[str, ExperimentOutcome]
    assets: dict[str, Path]
    errors: list[UserError]
    noticed: set[str] = dataclasses.field(default_factory=set)  # experiments whose notice is on the page
    warnings: list[str] = dataclasses.field(default_factory=list)

    def template(self, template_name: str, /, **values: Any) -> str:
        return self.env.get_template(template_name).render(**values)

    def asset_src(self, site_path: str) -> Markup:
        if self.target == "jekyll":
            return Markup("{{ '/%s' | relative_url }}" % site_path)
        return Markup(escape(self.page_root + site_path))


class Renderer:
    """Renders parsed posts with the block templates of one project."""

    def __init__(self, templates_dir: Path, permalink: str, cache_dir: Path | None = None) -> None:
        self.permalink = permalink
        # Charts are drawn once per content and kept here, so a rebuild does not import matplotlib.
        self.charts_dir = (cache_dir or Path(tempfile.gettempdir()) / "litblog-cache") / "charts"
        self._environments = {target: self._environment(templates_dir, target) for target in TARGETS}
        self._inline_markdown = _caption_markdown()

    @staticmethod
    def _environment(templates_dir: Path, target: str) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir / "blocks"),
            autoescape=lambda name: name is not None and ".html" in name,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
        )
        env.filters["fenced"] = _fenced
        env.filters["liquid_raw"] = _liquid_raw_filter(target)
        env.filters["alignment"] = lambda align: ":---" if align == "left" else "---:"
        env.filters["text"] = html_text
        env.filters["count"] = lambda number: f"{number:,}"
        env.filters["plural"] = plural
        return env

    def render(self, parsed: ParsedPost, outcomes: dict[str, ExperimentOutcome]) -> RenderedPost:
        """Render ``parsed``; ``outcomes`` holds each of its experiments by name.

        Problems (a metric or figure the result does not have, a format that does not fit
        the value) are raised together as :class:`UserErrors`.
        """
        post = parsed.post
        url = post_url(post, self.permalink)
        assets: dict[str, Path] = {}
        errors: list[UserError] = []
        bodies: dict[str, str] = {}
        warnings: list[str] = []
        card = provenance_card.card_data(parsed, outcomes)  # the same data in both targets
        for target in TARGETS:
            # Errors and warnings are the same for both targets: collect them from the first pass only.
            render_pass = _Pass(target, self._environments[target], "../" * folder_depth(url), post, outcomes,
                                assets, errors if target == TARGETS[0] else [])
            if target == TARGETS[0]:
                render_pass.warnings = warnings
            parts = [self._block(block, render_pass) for block in parsed.blocks]
            if card:
                parts.append(render_pass.template(provenance_card.TEMPLATE, **provenance_card.template_values(card)))
            bodies[target] = "\n".join(parts).rstrip() + "\n"
        if errors:
            raise UserErrors(errors)
        front_matter = dict(post.front_matter)
        front_matter.setdefault("layout", "post")
        if not isinstance(front_matter.get("date"), dt.datetime):
            front_matter["date"] = post.date
        front_matter["title"] = post.title
        return RenderedPost(post, front_matter, bodies, assets, url, tuple(warnings))

    def render_block(self, target: str, template_name: str, /, **values: Any) -> str:
        """One block template rendered for ``target``, for blocks added outside a post's blocks (banners)."""
        return self._environments[target].get_template(template_name).render(**values)

    # -- blocks -----------------------------------------------------------------------------

    def _block(self, block: Any, p: _Pass) -> str:
        if isinstance(block, TextBlock):
            notices = self._notices([name for ref in block.references for name in ref.experiments], p)
            return notices + self._substitute(block.text, block.references, p)
        if isinstance(block, CodeBlock):
            return _protect_code_block(block.text) if p.target == "jekyll" else block.text
        if isinstance(block, ExperimentDirective):
            return self._experiment(block, p)
        if isinstance(block, FigureDirective):
            return self._figure_directive(block, p)
        if isinstance(block, TableDirective):
            return self._table(block, p)
        if isinstance(block, ChartDirective):
            return self._chart(block, p)
        raise TypeError(f"unknown block {block!r}")

    def _experiment(self, directive: ExperimentDirective, p: _Pass) -> str:
        outcome = p.outcomes[directive.name]
        experiment, result = outcome.experiment, outcome.result
        parts: list[str] = []
        if outcome.incomplete:
            notice = self._notice(directive.name, p)
            parts.append(notice if notice or result is not None else _missing_block(directive.name))
        for item in directive.show:
            if item == "code":
                recipe = experiment.recipe
                args = ", ".join(["ctx", *(f"{k}={v!r}" for k, v in experiment.params.items())])
                call = html_text(f"{recipe.function}({args})")
                parts.append(p.template("code.md.j2", source=recipe_listing(recipe, directive.code), call=call,
                                        ran=result is not None,
                                        seed=experiment.seed, seeds=[run.seed for run in outcome.runs],
                                        where=recipe.file.name))
            elif result is None:
                continue
            elif item == "summary" and result.summaries():
                parts.append(self._summaries(result, p))
            elif item == "log":
                for seed, run in outcome.results:
                    parts.append(self._log(directive.name, run, seed if outcome.several else None, p))
            elif item == "curves" and outcome.several:
                parts.append(self._curves(directive.name, None, None, None, directive.location, p))
            elif item == "curves" and "curves" in result.figures():
                caption = html_text(result.figure_caption("curves"))
                parts.append(self._figure(directive.name, "curves", result, caption, None, None,
                                          directive.location, p))
            elif item == "metrics":
                parts.append(self._metrics(directive.name, outcome, directive.location, p))
        return "\n".join(part.rstrip() + "\n" for part in parts if part)

    def _summaries(self, result: Result, p: _Pass) -> str:
        """Each summary as a table (``summary.json``), or as Keras' text for a result without one."""
        parts = []
        for model, text, summary in result_summaries(result):
            if summary is None:
                parts.append(p.template("summary.md.j2", summaries=[(model, text)]))
            else:
                parts.append(p.template("summary_table.html.j2", summary=summary))
        return "\n".join(part.rstrip() + "\n" for part in parts)

    def _log(self, name: str, result: Result, seed: int | None, p: _Pass) -> str:
        """The table of the run's epochs (when it trained), then its raw log, folded."""
        timings = result.manifest.get("timings", {})
        epochs = len(result.history.get("epochs", []))
        detail = ", ".join(x for x in (f"seed {seed}" if seed is not None else "",
                                       plural(epochs, "epoch") if epochs else "",
                                       duration(timings.get("wall_seconds"))) if x)
        log_text = result.log_text.rstrip()
        line_count = log_text.count("\n") + 1 if log_text else 0
        table = epoch_table(result.history, log_text)
        if table is None:
            title = Markup("Log of <code>%s</code>") % name + (f" ({detail})" if detail else "")
            values: dict[str, Any] = {"table": None}
        else:
            lines = ", ".join(x for x in (f"seed {seed}" if seed is not None else "", plural(line_count, "line")) if x)
            title = Markup("Log of <code>%s</code>") % name + f" ({lines})"
            values = _epoch_rows(table)
            values.update(table=True, name=name, detail=detail)
        text, omitted = capped_log(log_text)
        where = html_text(_result_path(result, LOG)) if omitted else None
        return p.template("log.html.j2", text=text, title=title, omitted=omitted, where=where,
                          size=_size(len(result.log_text.encode("utf-8"))), lines=line_count, **values)

    def _metrics(self, name: str, outcome: ExperimentOutcome, location: Any, p: _Pass) -> str:
        names = [k for k in recorded(outcome.result).items() if not k[0].startswith("model.")]
        if not outcome.several:
            values = [(_cell(html_text(k)), _cell(markdown_text(format_value(v)))) for k, v in names]
        else:
            values = [(_cell(html_text(k)), _cell(self._reference_text(name, k, "", location, p))) for k, _ in names]
        return p.template("metrics.md.j2", values=values) if values else ""

    def _notice(self, name: str, p: _Pass) -> str:
        """The notice of an experiment with a run without a result, the first time the page shows it; else ""."""
        if name in p.noticed:
            return ""
        p.noticed.add(name)
        outcome = p.outcomes[name]
        return p.template("notice.html.j2", name=name, anchor=notice_anchor(name),
                          message=html_text(outcome.failure or "It has not been run."))

    def _notices(self, names: Any, p: _Pass) -> str:
        """Notices for those of ``names`` that miss a result and have no notice yet, as blocks to put first."""
        notices = [self._notice(name, p) for name in dict.fromkeys(names) if p.outcomes[name].incomplete]
        return "".join(notice.rstrip() + "\n\n" for notice in notices if notice)

    def _figure_directive(self, block: FigureDirective, p: _Pass) -> str:
        outcome = p.outcomes[block.experiment]
        figure, _, last = block.figure.rpartition(".")
        seed = seed_of_statistic(last) if figure else None
        figure = figure if seed is not None else block.figure
        if seed is not None and seed not in [run.seed for run in outcome.runs]:
            p.errors.append(UserError(f"experiment '{block.experiment}' has no seed {seed}", block.location,
                                      hint="its seeds: " + ", ".join(str(r.seed) for r in outcome.runs)))
            return ""
        runs = [r for r in outcome.runs if seed is None or r.seed == seed]
        if all(run.result is None for run in runs):
            return self._notice(block.experiment, p) or _missing_block(block.experiment)
        notices = self._notices([block.experiment], p)
        caption = self._caption(block.caption, block.caption_references, p)
        if outcome.several and seed is None and not block.per_seed and figure == "curves":
            return notices + self._curves(block.experiment, caption, block.alt, block.width, block.location, p)
        if outcome.several and seed is None and not block.per_seed:
            runs = runs[:1]  # the first seed's figure, and the caption says which
            seed = runs[0].seed
            words = html_text(f"(Seed {seed} of {len(outcome.runs)}.)")
            caption = Markup(f"{caption} {words}") if caption else words
        parts = []
        for run in runs:
            if run.result is None:
                parts.append(_missing_block(block.experiment))
                continue
            tagged = run.seed if outcome.several and (seed is not None or block.per_seed) else None
            own = caption
            if tagged is not None and (block.per_seed or not caption):
                words = html_text(f"(Seed {run.seed}.)" if caption else
                                  f"{run.result.figure_caption(figure)} (Seed {run.seed}.)".strip())
                own = Markup(f"{caption} {words}") if caption else words
            parts.append(self._figure(block.experiment, figure, run.result, own, block.alt, block.width,
                                      block.location, p, seed=tagged))
        return notices + "\n".join(part.rstrip() + "\n" for part in parts if part)

    def _figure(self, experiment: str, figure: str, result: Result, caption_html: Markup, alt: str | None,
                width: str | None, location: Any, p: _Pass, *, seed: int | None = None) -> str:
        figures = result.figures()
        if figure not in figures:
            p.errors.append(UserError(f"experiment '{experiment}' has no figure '{figure}'", location,
                                      suggestion=did_you_mean(figure, figures) or one_of(figures)))
            return ""
        tag = "" if seed is None else f"-seed{seed}"
        site_path = f"assets/{p.post.slug}/{experiment}-{figure}{tag}.png"
        p.assets[site_path] = figures[figure]
        alt = alt or _caption_text(caption_html) or f"{figure} of {experiment}"
        return p.template("figure.html.j2", src=p.asset_src(site_path), alt=html_text(alt),
                          width=html_text(width) if width else None, caption_html=caption_html, missing=())

    def _curves(self, experiment: str, caption_html: Markup | None, alt: str | None, width: str | None,
                location: Any, p: _Pass) -> str:
        """The learning curves of an experiment of several seeds: the mean per epoch, a min–max band."""
        outcome = p.outcomes[experiment]
        runs = outcome.results
        seeds = ", ".join(str(seed) for seed, _ in runs)
        drawing = {"histories": [run.history for _, run in runs], "seeds": [seed for seed, _ in runs],
                   "code": _FIGURES_DIGEST()}
        png = self._drawn(drawing, _draw_band)
        site_path = f"assets/{p.post.slug}/{experiment}-curves.png"
        p.assets[site_path] = png
        if not caption_html:
            caption_html = html_text(f"Mean per epoch over seeds {seeds}; the band spans the lowest to the "
                                     f"highest run.")
        alt = alt or _caption_text(caption_html) or f"curves of {experiment}"
        return p.template("figure.html.j2", src=p.asset_src(site_path), alt=html_text(alt),
                          width=html_text(width) if width else None, caption_html=caption_html, missing=())

    def _drawn(self, drawing: dict[str, Any], draw: Callable[[dict[str, Any], Path], None]) -> Path:
        """The PNG of ``drawing`` in the chart cache, drawn only when its content is new."""
        digest = hashlib.sha256(json.dumps(drawing, sort_keys=True).encode()).hexdigest()[:16]
        png = self.charts_dir / f"{digest}.png"
        if not png.is_file():
            draw(drawing, png)
        return png

    def _table(self, table: TableDirective, p: _Pass) -> str:
        notices = self._notices(table.experiments, p)
        headers = ["experiment", *(_cell(markdown_text(label)) for label in table.labels)]
        numeric = [False] * len(table.columns)
        rows = []
        for name in table.experiments:
            outcome = p.outcomes[name]
            row = [f"`{name}`"]
            for index, column in enumerate(table.columns):
                if outcome.result is None:
                    row.append(_missing_inline(name))
                    continue
                location = table.options.location("columns", index)
                spec = table.formats.get(column, "")
                numeric[index] = numeric[index] or _numeric_column(outcome.result, column)
                row.append(_cell(self._reference_text(name, column, spec, location, p)))
            rows.append(row)
        aligns = ["left", *("right" if n else "left" for n in numeric)]
        caption = self._caption(table.caption, table.caption_references, p)
        return notices + p.template("table.md.j2", headers=headers, aligns=aligns, rows=rows, caption_html=caption)

    def _chart(self, chart: ChartDirective, p: _Pass) -> str:
        notices = self._notices(chart.experiments, p)
        values: list[float | None] = []
        notes: list[str | None] = []  # why a bar is missing, when it is not "no result"
        spreads: list[list[float]] = []  # each bar's runs, for experiments of several seeds
        for index, name in enumerate(chart.experiments):
            outcome = p.outcomes[name]
            location = chart.options.location("experiments", index)
            runs = [] if outcome.result is None else self._numbers(name, chart.value, location, p)
            value = None if not runs else runs[0] if not outcome.several else mean(runs)
            note = None
            if value is not None and not math.isfinite(value):
                note = f"not finite ({value})"
                if p.target == TARGETS[0]:
                    log.warning("%s: %s.%s is %s: its bar is drawn as not finite", location, name, chart.value, value)
                value = None
            values.append(value)
            notes.append(note)
            spreads.append(runs if len(runs) > 1 and value is not None else [])
        baseline = chart.baseline
        if chart.baseline_reference:
            experiment, name = chart.baseline_reference
            runs = [] if p.outcomes[experiment].result is None else \
                self._numbers(experiment, name, chart.options.location("baseline"), p)
            baseline = mean(runs) if runs else None
        if baseline is not None and not math.isfinite(baseline):
            if p.target == TARGETS[0]:
                log.warning("%s: the baseline is %s: it is left out of the chart", chart.options.location("baseline"),
                            baseline)
            baseline = None
        try:
            format(0.5, chart.value_format)
        except (ValueError, TypeError):
            p.errors.append(UserError(f"format '{chart.value_format}' does not fit a number",
                                      chart.options.location("format"), hint="use a spec like .1% or .3f"))
        if p.errors:
            return ""
        drawing = {"labels": list(chart.labels), "values": values, "baseline": baseline,
                   "baseline_label": chart.baseline_label, "format": chart.value_format, "ylabel": chart.ylabel,
                   "code": _FIGURES_DIGEST()}
        if any(notes):
            drawing["notes"] = notes  # only then: the digests of existing charts stay as they were
        statement = ""
        if any(spreads):
            drawing["points"] = spreads
            drawing["errors"] = [chart_error(runs, chart.error) if runs else None for runs in spreads]
            statement = seeds_statement([len(runs) for runs in spreads if runs], chart.error)
        png = self._drawn(drawing, _draw_chart)
        site_path = f"assets/{p.post.slug}/chart-{png.stem}.png"
        p.assets[site_path] = png
        caption = self._caption(chart.caption, chart.caption_references, p)
        if statement:
            caption = Markup(f"{caption} {html_text(statement)}") if caption else html_text(statement)
        alt = _caption_text(caption) or f"{chart.ylabel} of " + ", ".join(chart.labels)
        missing = [Markup(_missing_inline(name, text=label)) for name, label in zip(chart.experiments, chart.labels)
                   if p.outcomes[name].result is None]
        return notices + p.template("figure.html.j2", src=p.asset_src(site_path), alt=html_text(alt), width=None,
                                    caption_html=caption, missing=missing)

    def _numbers(self, experiment: str, path: str, location: Any, p: _Pass) -> list[float]:
        """``path`` in each run of ``experiment`` that has a result, as numbers (none after an error)."""
        found = self._seed_values(experiment, path, location, p)
        if found is None or found is _MISSING:
            return []
        values, statistic = found
        if statistic is not None:
            value = values.statistic(statistic)
            if not _is_number(value):
                p.errors.append(UserError(f"{experiment}.{path} is {value!r}, not a number to chart", location))
                return []
            return [float(value)]
        if not values.numeric:
            bad = next(v for _, v in values.values if not _is_number(v))
            p.errors.append(UserError(f"{experiment}.{path} is {bad!r}, not a number to chart", location))
            return []
        return values.numbers

    # -- values -----------------------------------------------------------------------------

    def _lookup(self, result: Result, experiment: str, path: str, location: Any, p: _Pass) -> Any:
        """The value ``path`` names, or :data:`_MISSING` after recording a located error."""
        try:
            return lookup(result, path)
        except ResultError as exc:
            p.errors.append(UserError(f"experiment '{experiment}' has {exc}", location,
                                      suggestion=did_you_mean(path, exc.available) or one_of(exc.available)))
            return _MISSING

    def _format(self, value: Any, experiment: str, path: str, spec: str, location: Any, p: _Pass) -> str:
        if value is _MISSING:
            return "?"
        try:
            return markdown_text(format_value(value, spec))
        except (ValueError, TypeError):
            p.errors.append(UserError(f"format '{spec}' does not fit {experiment}.{path} = {value!r}", location,
                                      hint="numbers take specs like .1% or .3f; text takes none"))
            return "?"

    def _seed_values(self, experiment: str, path: str, location: Any,
                     p: _Pass) -> tuple[SeedValues, str | None] | None | object:
        """``path`` in each run of ``experiment`` with a result, and the statistic that ends the path
        (``test.accuracy.std``), if any; None without any result; :data:`_MISSING` after an error."""
        outcome = p.outcomes[experiment]
        runs = outcome.results
        if not runs:
            return None
        split = split_statistic(runs[0][1], path)
        if split is None:
            self._lookup(runs[0][1], experiment, path, location, p)  # records the error
            return _MISSING
        path, statistic = split
        values = []
        for seed, result in runs:
            value = self._lookup(result, experiment, path, location, p)
            if value is _MISSING:
                return _MISSING
            values.append((seed, value))
        found = SeedValues(f"{experiment}.{path}", tuple(values), outcome.missing)
        seed = seed_of_statistic(statistic) if statistic else None
        if seed is not None and seed not in [run.seed for run in outcome.runs]:
            p.errors.append(UserError(f"experiment '{experiment}' has no seed {seed}", location,
                                      hint="its seeds: " + ", ".join(str(r.seed) for r in outcome.runs)))
            return _MISSING
        if statistic and seed is None and statistic != "n" and not found.numeric:
            p.errors.append(UserError(f"{experiment}.{path} is not a number: it has no {statistic}", location))
            return _MISSING
        return found, statistic

    def _reference_text(self, experiment: str, path: str, spec: str, location: Any, p: _Pass, *,
                        links: bool = True, minus: ValuePath | None = None) -> str:
        """A value (or a difference) as Markdown: one run's value as it is; several runs' as mean ±
        standard deviation with the runs in the title; a statistic; a difference with its interval.
        Without ``links`` (captions): plain text only."""
        if minus is not None or _MINUS.search(path):
            if minus is None:  # a table column "test.accuracy - model1.test.accuracy"
                path, other = _MINUS.split(path, maxsplit=1)
                other_experiment, _, other_path = other.partition(".")
                minus = ValuePath(other_experiment, other_path)
                if other_experiment not in p.outcomes:
                    p.errors.append(UserError(f"undefined experiment '{other_experiment}' in '{other}'", location,
                                              suggestion=did_you_mean(other_experiment, p.outcomes)))
                    return "?"
            return self._difference_text(ValuePath(experiment, path), minus, spec, location, p, links=links)
        outcome = p.outcomes[experiment]
        found = self._seed_values(experiment, path, location, p)
        if found is None:
            return _missing_inline(experiment, "(no result)") if links else "(no result)"
        if found is _MISSING:
            return "?"
        values, statistic = found  # type: ignore[misc]
        seed = seed_of_statistic(statistic) if statistic else None
        if seed is not None and seed in outcome.missing:
            return _missing_inline(experiment, f"(no result for seed {seed})") if links else \
                f"(no result for seed {seed})"
        if statistic is None and (not outcome.several or values.uniform):
            # One run's value as it always was; a param or a count all runs share, once.
            text = self._format(values.values[0][1], experiment, path, spec, location, p)
            return text + _lacking(experiment, outcome.missing, len(outcome.runs), links)
        try:
            if seed is not None:
                return markdown_text(formatted(values.statistic(statistic), spec))
            if statistic is not None:
                return markdown_text(statistic_text(values, statistic, spec))
            text, title = spread_text(values, spec), seeds_title(values, spec)
        except (ValueError, TypeError):
            p.errors.append(UserError(f"format '{spec}' does not fit {values.name} = {values.values[0][1]!r}",
                                      location, hint="numbers take specs like .1% or .3f; text takes none"))
            return "?"
        return self._marked(experiment, text, title, "litblog-spread", outcome.missing, len(outcome.runs), links)

    @staticmethod
    def _marked(experiment: str, text: str, title: str, css: str, missing: tuple[int, ...], runs: int,
                links: bool) -> str:
        """``text`` in a span with ``title``, and how many runs it lacks (a link to the notice)."""
        if not links:
            return markdown_text(text) + _lacking(experiment, missing, runs, links)
        return (f'<span class="{css}" title="{html_text(title)}">{markdown_text(text)}</span>'
                + _lacking(experiment, missing, runs, links))

    def _terms(self, quantity: Quantity | ValuePath | float, location: Any, p: _Pass,
               sign: float = 1.0) -> list[Term] | None | object:
        """A quantity as signed terms (runs of one experiment, or a constant); None without any result."""
        if isinstance(quantity, Quantity):
            first = self._terms(quantity.first, location, p, sign)
            second = [] if quantity.minus is None else self._terms(quantity.minus, location, p, -sign)
            for part in (first, second):
                if part is None or part is _MISSING:
                    return part
            return [*first, *second]  # type: ignore[misc]
        if not isinstance(quantity, ValuePath):
            return [Term(str(quantity), sign, (float(quantity),), constant=True)]
        found = self._seed_values(quantity.experiment, quantity.path, location, p)
        if found is None or found is _MISSING:
            return found
        values, statistic = found  # type: ignore[misc]
        if statistic is not None:
            value = values.statistic(statistic)
            if not _is_number(value):
                p.errors.append(UserError(f"{quantity}: compare numbers, not {statistic}", location))
                return _MISSING
            return [Term(str(quantity), sign, (float(value),), constant=True)]
        if not values.numeric:
            bad = next(v for _, v in values.values if not _is_number(v))
            p.errors.append(UserError(f"{quantity} is {bad!r}, not a number", location))
            return _MISSING
        return [Term(str(quantity), sign, tuple(values.numbers), quantity.experiment,
                     dict(zip(values.seeds, values.numbers)))]

    def _difference_text(self, first: ValuePath, second: ValuePath, spec: str, location: Any, p: _Pass, *,
                         links: bool) -> str:
        terms = self._terms(Quantity(first, second), location, p)
        if terms is _MISSING:
            return "?"
        if terms is None:
            names = [n for n in (first.experiment, second.experiment) if p.outcomes[n].result is None]
            return _missing_inline(names[0], "(no result)") if links else "(no result)"
        interval = difference_of_means(terms)  # type: ignore[arg-type]
        several = (p.outcomes[first.experiment].several or p.outcomes[second.experiment].several) and first != second
        try:
            if not several:
                return markdown_text(format_value(interval.difference, spec))
            text, title = difference_text(interval, spec)
        except (ValueError, TypeError):
            p.errors.append(UserError(f"format '{spec}' does not fit the difference {first} - {second}", location,
                                      hint="use a spec for numbers like +.1% or +.3f"))
            return "?"
        missing = tuple(s for n in (first.experiment, second.experiment) for s in p.outcomes[n].missing)
        runs = len(p.outcomes[first.experiment].runs) + len(p.outcomes[second.experiment].runs)
        return self._marked(first.experiment, text, title, "litblog-difference", missing, runs, links)

    def _claim(self, claim: ClaimReference, p: _Pass, *, links: bool) -> str:
        """A checked claim: a mark with the values in its title; a located error when it does not hold."""
        sides = [self._terms(side, claim.location, p) for side in (claim.left, claim.right)]
        if any(side is _MISSING for side in sides):
            return "?"
        if any(side is None for side in sides):
            name = next(n for n in claim.experiments if p.outcomes[n].result is None)
            return _missing_inline(name, "(claim not checked: no result)") if links else "(claim not checked)"
        verdict = check_claim(claim.operator, sides[0], sides[1], claim.tolerance)  # type: ignore[arg-type]
        described = describe_claim(claim.operator, sides[0], sides[1], claim.tolerance)  # type: ignore[arg-type]
        if p.target == TARGETS[0]:
            if not verdict.holds:
                p.errors.append(UserError(f"claim does not hold: {described}", claim.location,
                                          hint=verdict.detail or None))
            elif verdict.includes_zero:
                p.warnings.append(f"{claim.location}: claim '{claim.text}' holds for the means, but "
                                  f"{verdict.detail}")
        title = f"Checked when the site was built: {described}" + (f"; {verdict.detail}" if verdict.detail else "")
        if not links:
            return markdown_text("✓")
        return f'<span class="litblog-claim" title="{html_text(title)}">✓</span>'

    def _substitute(self, text: str, references: tuple[Reference, ...], p: _Pass, *,
                    links: bool = True) -> str:
        """``text`` with its references replaced by values and its claims by marks; for Jekyll, the
        author's code spans protected.

        A value without a result is a placeholder linking to the notice (``links``), or plain text.
        """
        author = _protect_inline_code if p.target == "jekyll" else (lambda piece: piece)
        pieces: list[str] = []
        position = 0
        # Protect the author's text between references only: a value is protected on its own.
        for ref in sorted(references, key=lambda r: r.start):
            if isinstance(ref, ClaimReference):
                value = self._claim(ref, p, links=links)
            else:
                value = self._reference_text(ref.experiment, ref.metric, ref.format_spec, ref.location, p,
                                             links=links, minus=ref.minus)
            pieces += [author(text[position:ref.start]), value]
            position = ref.end
        pieces.append(author(text[position:]))
        return "".join(pieces)

    def _caption(self, caption: str, references: tuple[Reference, ...], p: _Pass) -> Markup:
        """An author's caption: inline Markdown; raw HTML shown as text, Liquid not run; values as text."""
        if not caption:
            return Markup("")
        text = self._substitute(caption, references, _replace(p, target="preview"), links=False)  # no raw blocks: see below
        self._inline_markdown.reset()
        html = self._inline_markdown.convert(text).strip()
        html = re.sub(r"^<p>(.*)</p>$", r"\1", html, flags=re.S)
        # Braces as character references: Liquid finds no tag, a browser shows the same text.
        return Markup(html.replace("{", "&#123;").replace("}", "&#125;"))


def _caption_markdown() -> markdown.Markdown:
    """Python-Markdown for captions: inline Markdown only, raw HTML escaped, no attribute lists."""
    md = markdown.Markdown(extensions=[])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


def _replace(p: _Pass, **changes: Any) -> _Pass:
    return dataclasses.replace(p, **changes)


# Characters Markdown (Python-Markdown and kramdown), kramdown's extensions ({: } {:: }) or
# Liquid ({{ {%) would read in text litblog inserts, written as character references instead.
_TEXT_REFERENCES = {c: f"&#{ord(c)};" for c in "\\`*_[]{}~$"}
# Quotes too: kramdown would make them typographic ('a' -> ‘a’), and "--" and "..." dashes and ellipses.
_TEXT_REFERENCES.update({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&quot;"})
_TYPOGRAPHIC = re.compile(r"-(?=-)|\.(?=\.\.)")
_BLOCK_START = re.compile(r"^(#|[-+=](?=\s|$)|\d+(?=\.\s))")


def markdown_text(value: Any) -> str:
    """``value`` as literal text inside Markdown: no markup, no Liquid, on one line."""
    text = re.sub(r"\s*\n\s*", " ", str(value))
    text = "".join(_TEXT_REFERENCES.get(c, c) for c in text)
    text = _TYPOGRAPHIC.sub(lambda m: f"&#{ord(m.group(0))};", text)
    # At the start of a line, '#', '- ' or '1. ' would make a heading or a list.
    return _BLOCK_START.sub(lambda m: "".join(f"&#{ord(c)};" for c in m.group(0)), text)


def html_text(value: Any) -> Markup:
    """``value`` as literal text in HTML (an element or an attribute): escaped, braces as references."""
    return Markup(str(escape(str(value))).replace("{", "&#123;").replace("}", "&#125;"))


def notice_anchor(name: str) -> str:
    """The ``id`` of an experiment's notice on its page."""
    return "litblog-notice-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _missing_inline(name: str, text: str = "no result") -> str:
    """A short marked placeholder, linking to the experiment's notice, where its value would be."""
    return f'<a class="litblog-missing" href="#{notice_anchor(name)}">{html_text(text)}</a>'


def _lacking(name: str, missing: tuple[int, ...], runs: int, links: bool) -> str:
    """`` (1 of 3 seeds missing)`` after a value over seeds that lacks some, linking to the notice; else ""."""
    if not missing:
        return ""
    words = f"{len(missing)} of {runs} seeds missing"
    return f" ({_missing_inline(name, words)})" if links else f" ({markdown_text(words)})"


def _missing_block(name: str) -> str:
    """The placeholder of a figure (or more) of an experiment whose notice is shown earlier on the page."""
    return f'<p class="litblog-missing">{_missing_inline(name, f"No result for {name}: see above.")}</p>\n'


def capped_log(text: str, head: int = LOG_HEAD_LINES, tail: int = LOG_TAIL_LINES) -> tuple[str, int]:
    """``text`` cut to its first ``head`` and last ``tail`` lines; returns it and how many lines were left out."""
    lines = text.split("\n")
    if len(lines) <= head + tail:
        return text, 0
    omitted = len(lines) - head - tail
    return "\n".join([*lines[:head], f"[… {plural(omitted, 'line')} left out …]", *lines[-tail:]]), omitted


def _epoch_rows(table: Any) -> dict[str, Any]:
    """The values ``log.html.j2`` shows of an :class:`~litblog.log_table.EpochTable`."""
    starts = {first: name for name, first in table.phases}
    rows = [{"epoch": epoch, "time": duration(seconds) if seconds is not None else "–",
             "cells": [metric_value(v) for v in values],
             "phase": (f"{starts[epoch]}, from epoch {epoch}" if epoch in starts else None)}
            for epoch, seconds, values in table.rows]
    evaluations = []
    for evaluation in table.evaluations:
        values = ", ".join(f"{metric_heading(k)} {metric_value(v)}" for k, v in evaluation.values)
        seconds = f" ({duration(evaluation.seconds)})" if evaluation.seconds is not None else ""
        evaluations.append(f"Evaluated on {evaluation.label}: {values}{seconds}.")
    return {"training": [metric_heading(c) for c in table.columns if not c.startswith("val_")],
            "validation": [metric_heading(c) for c in table.columns if c.startswith("val_")],
            "rows": rows, "evaluations": evaluations}


def _result_path(result: Result, name: str) -> str:
    """A result's file as the project names it: ``results/<recipe>/<key>/<name>``."""
    folder = result.folder
    return f"{folder.parent.parent.name}/{folder.parent.name}/{folder.name}/{name}"


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return f"{count} GB"


def _has_liquid(text: str) -> bool:
    return "{{" in text or "{%" in text


# Jekyll's default excerpt separator: a raw block must not straddle it, or Jekyll cuts the
# excerpt inside the block and warns "Excerpt modified".
_EXCERPT_SEPARATOR = re.compile(r"(\n{2,})")
_LITERAL_TAG_START = "{{ '{%' }}"


def liquid_verbatim(text: str, *, block: bool = False) -> str:
    """``text`` wrapped in ``{% raw %}`` so that Liquid 4 (GitHub Pages) and 5 output it unchanged.

    Every ``{%`` inside is emitted through Liquid instead (``{% endraw %}{{ '{%' }}{% raw %}``):
    no tag inside can end the block early (``{%endraw%}``, ``{{ a {% endraw %}``), and Jekyll's
    excerpt check, which reads tags even inside raw blocks, finds no unclosed ``{% if %}``. A
    blank line closes and reopens the block, since an excerpt ends at the first one. ``block``:
    the raw tags go on lines of their own.
    """
    if block:
        text = f"\n{text}\n"
    parts = _EXCERPT_SEPARATOR.split(text)
    for index in range(0, len(parts), 2):  # even indexes: the text between blank lines
        if parts[index]:
            body = parts[index].replace("{%", _RAW_CLOSE + _LITERAL_TAG_START + _RAW_OPEN)
            parts[index] = _RAW_OPEN + body + _RAW_CLOSE
    return "".join(parts)


def _caption_text(caption_html: Markup) -> str:
    """A rendered caption as plain text, for an ``alt`` attribute."""
    return _strip_verbatim(re.sub(r"<[^>]+>", "", html.unescape(str(caption_html)))).strip()


def _strip_verbatim(text: str) -> str:
    """The text :func:`liquid_verbatim` wrapped, as Liquid would output it."""
    text = text.replace(_RAW_CLOSE + _LITERAL_TAG_START + _RAW_OPEN, "{%")
    return text.replace(_RAW_OPEN, "").replace(_RAW_CLOSE, "")


def _protect_code_block(text: str) -> str:
    """An author's code block that Liquid would read, inside {% raw %} (Liquid deletes ``{{ x }}``)."""
    return liquid_verbatim(text, block=True) if _has_liquid(text) else text


def _protect_inline_code(text: str) -> str:
    """Inline code spans that Liquid would read, inside {% raw %}; other Liquid in prose stays live."""
    def wrap(match: re.Match[str]) -> str:
        span = match.group(0)
        return liquid_verbatim(span) if _has_liquid(span) else span

    return CODE_SPAN.sub(wrap, text)


def _figures_digest() -> str:
    from .recipes import source_digest

    return source_digest(Path(__file__).with_name("figures.py"))


_FIGURES_DIGEST = functools.lru_cache(maxsize=1)(_figures_digest)


def _draw_chart(drawing: dict[str, Any], target: Path) -> None:
    from .figures import comparison_bars, save_figure

    fig = comparison_bars(drawing["labels"], drawing["values"], ylabel=drawing["ylabel"],
                          baseline=drawing["baseline"], baseline_label=drawing["baseline_label"],
                          value_format=drawing["format"], notes=drawing.get("notes"),
                          errors=drawing.get("errors"), points=drawing.get("points"))
    save_figure(fig, target)


def _draw_band(drawing: dict[str, Any], target: Path) -> None:
    from .figures import learning_curves_band, save_figure

    save_figure(learning_curves_band(drawing["histories"], drawing["seeds"]), target)


_is_number = is_number


def split_statistic(result: Result, path: str) -> tuple[str, str | None] | None:
    """(value path, statistic) of ``path`` in ``result``: ``test.accuracy`` is a value, and so is
    ``val_accuracy.max`` (over epochs); ``test.accuracy.std`` is a statistic of a value over seeds.
    None when ``path`` is neither."""
    try:
        lookup(result, path)
        return path, None
    except ResultError:
        pass
    base, _, last = path.rpartition(".")
    if not base or statistic_name(last) is None:
        return None
    try:
        lookup(result, base)
    except ResultError:
        return None
    return base, last


def _numeric_column(result: Result, column: str) -> bool:
    """A column of numbers (aligned right): a number, a statistic of one, or a difference."""
    if _MINUS.search(column):
        return True
    split = split_statistic(result, column)
    if split is None:
        return False
    path, statistic = split
    return statistic == "n" or _is_number(lookup(result, path))


def _cell(value: str) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _liquid_raw_filter(target: str) -> Callable[..., Any]:
    @jinja2.pass_eval_context
    def liquid_raw(eval_ctx: jinja2.nodes.EvalContext, value: Any) -> Any:
        escaped = escape(value) if eval_ctx.autoescape else str(value)
        if target != "jekyll":
            return Markup(escaped) if eval_ctx.autoescape else escaped
        # Escape first: the "{{ '{%' }}" that liquid_verbatim may add must reach Liquid as written.
        wrapped = liquid_verbatim(str(escaped), block=not eval_ctx.autoescape)
        return Markup(wrapped) if eval_ctx.autoescape else wrapped

    return liquid_raw
