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
from .directives import (CODE_SPAN, ChartDirective, CodeBlock, ExperimentDirective, FigureDirective, ParsedPost,
                         ResultReference, TableDirective, TextBlock)
from .errors import UserError, UserErrors, did_you_mean, one_of
from .plan import PlannedExperiment
from .posts import Post
from .store import LOG, Result, ResultError
from .values import lookup, recorded

log = logging.getLogger(__name__)

TARGETS = ("jekyll", "preview")
LOG_HEAD_LINES = LOG_TAIL_LINES = 150  # a page shows this much of a longer log, and where the rest is
_MISSING = object()  # a value a result does not have (its error is already recorded)
_RAW_OPEN, _RAW_CLOSE = "{% raw %}", "{% endraw %}"


@dataclass(frozen=True)
class ExperimentOutcome:
    """What rendering knows of one experiment: its plan, and its result or why there is none."""

    experiment: PlannedExperiment
    result: Result | None
    failure: str | None = None


@dataclass(frozen=True)
class RenderedPost:
    """A post ready to write: front matter, a body per target, and the files it links."""

    post: Post
    front_matter: dict[str, Any]
    bodies: dict[str, str]  # target -> Markdown
    assets: dict[str, Path]  # site-relative path ("assets/<slug>/x.png") -> source file
    url: str  # the post's URL path under the site root, per the permalink setting


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


def format_value(value: Any, spec: str = "") -> str:
    """A value as text: with ``spec`` if given, else numbers to four significant digits."""
    if spec:
        return format(value, spec)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:,.0f}" if abs(value) >= 10000 else f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


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
        card = provenance_card.card_data(parsed, outcomes)  # the same data in both targets
        for target in TARGETS:
            # Errors are the same for both targets: collect them from the first pass only.
            render_pass = _Pass(target, self._environments[target], "../" * folder_depth(url), post, outcomes,
                                assets, errors if target == TARGETS[0] else [])
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
        return RenderedPost(post, front_matter, bodies, assets, url)

    def render_block(self, target: str, template_name: str, /, **values: Any) -> str:
        """One block template rendered for ``target``, for blocks added outside a post's blocks (banners)."""
        return self._environments[target].get_template(template_name).render(**values)

    # -- blocks -----------------------------------------------------------------------------

    def _block(self, block: Any, p: _Pass) -> str:
        if isinstance(block, TextBlock):
            notices = self._notices([ref.experiment for ref in block.references], p)
            return notices + self._substitute(block.text, block.references, p)
        if isinstance(block, CodeBlock):
            return _protect_code_block(block.text) if p.target == "jekyll" else block.text
        if isinstance(block, ExperimentDirective):
            return self._experiment(block, p)
        if isinstance(block, FigureDirective):
            outcome = p.outcomes[block.experiment]
            if outcome.result is None:
                return self._notice(block.experiment, p) or _missing_block(block.experiment)
            caption = self._caption(block.caption, block.caption_references, p)
            return self._figure(block.experiment, block.figure, outcome.result, caption, block.alt,
                                block.width, block.location, p)
        if isinstance(block, TableDirective):
            return self._table(block, p)
        if isinstance(block, ChartDirective):
            return self._chart(block, p)
        raise TypeError(f"unknown block {block!r}")

    def _experiment(self, directive: ExperimentDirective, p: _Pass) -> str:
        outcome = p.outcomes[directive.name]
        experiment, result = outcome.experiment, outcome.result
        parts: list[str] = []
        if result is None:
            parts.append(self._notice(directive.name, p) or _missing_block(directive.name))
        for item in directive.show:
            if item == "code":
                recipe = experiment.recipe
                args = ", ".join(["ctx", *(f"{k}={v!r}" for k, v in experiment.params.items())])
                call = html_text(f"{recipe.function}({args})")
                parts.append(p.template("code.md.j2", source=recipe.source, call=call, ran=result is not None,
                                        seed=experiment.seed, where=recipe.file.name))
            elif result is None:
                continue
            elif item == "summary" and result.summaries():
                parts.append(p.template("summary.md.j2", summaries=result.summaries()))
            elif item == "log":
                timings = result.manifest.get("timings", {})
                epochs = len(result.history.get("epochs", []))
                detail = ", ".join(x for x in (f"{epochs} epochs" if epochs else "",
                                               duration(timings.get("wall_seconds"))) if x)
                title = Markup("Log of <code>%s</code>") % directive.name + (f" ({detail})" if detail else "")
                text, omitted = capped_log(result.log_text.rstrip())
                where = html_text(_result_path(result, LOG)) if omitted else None
                parts.append(p.template("log.html.j2", text=text, title=title, omitted=omitted, where=where,
                                        size=_size(len(result.log_text.encode("utf-8"))),
                                        lines=result.log_text.rstrip().count("\n") + 1))
            elif item == "curves" and "curves" in result.figures():
                caption = html_text(result.figure_caption("curves"))
                parts.append(self._figure(directive.name, "curves", result, caption, None, None,
                                          directive.location, p))
            elif item == "metrics":
                values = [(_cell(html_text(k)), _cell(markdown_text(format_value(v))))
                          for k, v in recorded(result).items() if not k.startswith("model.")]
                if values:
                    parts.append(p.template("metrics.md.j2", values=values))
        return "\n".join(part.rstrip() + "\n" for part in parts)

    def _notice(self, name: str, p: _Pass) -> str:
        """The notice of an experiment without a result, the first time the page shows it; else ""."""
        if name in p.noticed:
            return ""
        p.noticed.add(name)
        outcome = p.outcomes[name]
        return p.template("notice.html.j2", name=name, anchor=notice_anchor(name),
                          message=html_text(outcome.failure or "It has not been run."))

    def _notices(self, names: Any, p: _Pass) -> str:
        """Notices for those of ``names`` that have no result and no notice yet, as blocks to put first."""
        notices = [self._notice(name, p) for name in dict.fromkeys(names) if p.outcomes[name].result is None]
        return "".join(notice.rstrip() + "\n\n" for notice in notices if notice)

    def _figure(self, experiment: str, figure: str, result: Result, caption_html: Markup, alt: str | None,
                width: str | None, location: Any, p: _Pass) -> str:
        figures = result.figures()
        if figure not in figures:
            p.errors.append(UserError(f"experiment '{experiment}' has no figure '{figure}'", location,
                                      suggestion=did_you_mean(figure, figures) or one_of(figures)))
            return ""
        site_path = f"assets/{p.post.slug}/{experiment}-{figure}.png"
        p.assets[site_path] = figures[figure]
        alt = alt or _caption_text(caption_html) or f"{figure} of {experiment}"
        return p.template("figure.html.j2", src=p.asset_src(site_path), alt=html_text(alt),
                          width=html_text(width) if width else None, caption_html=caption_html, missing=())

    def _table(self, table: TableDirective, p: _Pass) -> str:
        notices = self._notices(table.experiments, p)
        headers = ["experiment", *(_cell(markdown_text(label)) for label in table.labels)]
        numeric = [False] * len(table.columns)
        rows = []
        for name in table.experiments:
            result = p.outcomes[name].result
            row = [f"`{name}`"]
            for index, column in enumerate(table.columns):
                if result is None:
                    row.append(_missing_inline(name))
                    continue
                location = table.options.location("columns", index)
                value = self._lookup(result, name, column, location, p)
                numeric[index] = numeric[index] or _is_number(value)
                row.append(_cell(self._format(value, name, column, table.formats.get(column, ""), location, p)))
            rows.append(row)
        aligns = ["left", *("right" if n else "left" for n in numeric)]
        caption = self._caption(table.caption, table.caption_references, p)
        return notices + p.template("table.md.j2", headers=headers, aligns=aligns, rows=rows, caption_html=caption)

    def _chart(self, chart: ChartDirective, p: _Pass) -> str:
        notices = self._notices(chart.experiments, p)
        values: list[float | None] = []
        notes: list[str | None] = []  # why a bar is missing, when it is not "no result"
        for index, name in enumerate(chart.experiments):
            result = p.outcomes[name].result
            location = chart.options.location("experiments", index)
            value = None if result is None else self._number(result, name, chart.value, location, p)
            note = None
            if value is not None and not math.isfinite(value):
                note = f"not finite ({value})"
                if p.target == TARGETS[0]:
                    log.warning("%s: %s.%s is %s: its bar is drawn as not finite", location, name, chart.value, value)
                value = None
            values.append(value)
            notes.append(note)
        baseline = chart.baseline
        if chart.baseline_reference:
            experiment, name = chart.baseline_reference
            result = p.outcomes[experiment].result
            baseline = None if result is None else \
                self._number(result, experiment, name, chart.options.location("baseline"), p)
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
        digest = hashlib.sha256(json.dumps(drawing, sort_keys=True).encode()).hexdigest()[:16]
        png = self.charts_dir / f"{digest}.png"
        if not png.is_file():
            _draw_chart(drawing, png)
        site_path = f"assets/{p.post.slug}/chart-{digest}.png"
        p.assets[site_path] = png
        caption = self._caption(chart.caption, chart.caption_references, p)
        alt = _caption_text(caption) or f"{chart.ylabel} of " + ", ".join(chart.labels)
        missing = [Markup(_missing_inline(name, text=label)) for name, label in zip(chart.experiments, chart.labels)
                   if p.outcomes[name].result is None]
        return notices + p.template("figure.html.j2", src=p.asset_src(site_path), alt=html_text(alt), width=None,
                                    caption_html=caption, missing=missing)

    def _number(self, result: Result, experiment: str, path: str, location: Any, p: _Pass) -> float | None:
        value = self._lookup(result, experiment, path, location, p)
        if value is _MISSING:
            return None
        if not _is_number(value):
            p.errors.append(UserError(f"{experiment}.{path} is {value!r}, not a number to chart", location))
            return None
        return float(value)

    # -- values -----------------------------------------------------------------------------

    def _value(self, result: Result, experiment: str, path: str, spec: str, location: Any, p: _Pass) -> str:
        return self._format(self._lookup(result, experiment, path, location, p), experiment, path, spec, location, p)

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

    def _substitute(self, text: str, references: tuple[ResultReference, ...], p: _Pass, *,
                    links: bool = True) -> str:
        """``text`` with its references replaced by values; for Jekyll, the author's code spans protected.

        A value without a result is a placeholder linking to the notice (``links``), or plain text.
        """
        author = _protect_inline_code if p.target == "jekyll" else (lambda piece: piece)
        pieces: list[str] = []
        position = 0
        # Protect the author's text between references only: a value is protected on its own.
        for ref in sorted(references, key=lambda r: r.start):
            result = p.outcomes[ref.experiment].result
            missing = _missing_inline(ref.experiment, "(no result)") if links else "(no result)"
            value = missing if result is None else \
                self._value(result, ref.experiment, ref.metric, ref.format_spec, ref.location, p)
            pieces += [author(text[position:ref.start]), value]
            position = ref.end
        pieces.append(author(text[position:]))
        return "".join(pieces)

    def _caption(self, caption: str, references: tuple[ResultReference, ...], p: _Pass) -> Markup:
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


def _missing_block(name: str) -> str:
    """The placeholder of a figure (or more) of an experiment whose notice is shown earlier on the page."""
    return f'<p class="litblog-missing">{_missing_inline(name, f"No result for {name}: see above.")}</p>\n'


def capped_log(text: str, head: int = LOG_HEAD_LINES, tail: int = LOG_TAIL_LINES) -> tuple[str, int]:
    """``text`` cut to its first ``head`` and last ``tail`` lines; returns it and how many lines were left out."""
    lines = text.split("\n")
    if len(lines) <= head + tail:
        return text, 0
    omitted = len(lines) - head - tail
    return "\n".join([*lines[:head], f"[… {omitted:,} lines left out …]", *lines[-tail:]]), omitted


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
                          value_format=drawing["format"], notes=drawing.get("notes"))
    save_figure(fig, target)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
