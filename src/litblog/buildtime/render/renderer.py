"""Stage 6, render: replace each directive with Markdown/HTML made from templates and stored results.

A post is rendered once per target (``targets.py``: the Jekyll tree, the HTML preview) from
the same blocks. Each block has one renderer: a directive's lives in its module under
``directives/`` (the registry gives it by block type), text and code blocks' are here. A
renderer writes onto a :class:`~litblog.buildtime.render.page.Page` (the post for one target), which collects
assets, errors and warnings. Nothing here imports TensorFlow.

Captions written in a directive are the author's, read as inline Markdown (emphasis, code,
links); raw HTML in them is shown as text and Liquid in them is not run. Everything else
litblog inserts is text (``text.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, TypeVar

from ..notebooks import notebook
from . import provenance_card, toc, typed_numbers
from ..directives import CodeBlock, Container, ParsedPost, TextBlock
from ..directives.claim import ClaimReference
from .blocks import BLOCKS, REFERENCES
from .blocks.cite import references_section
from .blocks.claim import claims_note
from ..directives.numbering import number_blocks
from ...common.errors import UserError, UserErrors
from ..execute.outcomes import ExperimentOutcome, SeedOutcome
from .page import Page, caption_markdown
from ..sources.posts import Post
from .reading import reading_minutes
from .targets import TARGETS

if TYPE_CHECKING:
    import jinja2
    import markdown

__all__ = ["ExperimentOutcome", "RenderedPost", "Renderer", "SeedOutcome", "folder_depth", "post_url"]

log = logging.getLogger(__name__)

BlockRenderer = Callable[[Any, Page], str]
T = TypeVar("T")


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


def render_text(block: TextBlock, page: Page) -> str:
    """Prose: its references rendered in place, after the notices of experiments they name without a result."""
    notices = page.notices([name for ref in block.references for name in ref.experiments])
    return notices + toc.with_anchors(page.substitute(block.text, block.references), block.line, page.heading_ids,
                                      page.contents)


def render_code(block: CodeBlock, page: Page) -> str:
    """An author's code block, as written; at the top level, in a box that scrolls and takes the keyboard's focus."""
    code = page.target.code_block(block.text, nested=block.nested)
    if block.nested or not block.text.startswith(("```", "~~~")):
        return code  # inside a list or quote (or indented code): a box around it would end the container
    page.code_examples += 1
    return page.scroll_box(code, f"Code example {page.code_examples}")


def template_cache(cache_dir: Path | None) -> jinja2.BytecodeCache | None:
    """Compiled templates kept in ``cache_dir/templates`` (Jinja2 checks each against its source),
    so a rebuild does not compile them again."""
    if cache_dir is None:
        return None
    folder = cache_dir / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _template_cache_class()(str(folder))


@functools.cache
def _template_cache_class() -> type[jinja2.FileSystemBytecodeCache]:
    """Jinja2's file cache, defined when templates are first needed (a rebuild that renders
    nothing does not import Jinja2)."""
    import jinja2

    class TemplateCache(jinja2.FileSystemBytecodeCache):
        """A cache: a template it cannot read or write (a full disk, a file-size limit) is compiled again."""

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError):
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    return TemplateCache


class Renderer:
    """Renders parsed posts with the block templates of one project."""

    def __init__(self, templates_dir: Path, permalink: str, cache_dir: Path | None = None, *,
                 notebooks: notebook.NotebookSettings | None = None, root: Path | None = None) -> None:
        self.permalink = permalink
        self.notebooks = notebooks  # None: no notebook per post (tests rendering one block)
        self.root = root if root is not None else templates_dir.parent  # where bibliographies are found
        # Charts are drawn once per content and kept here, so a rebuild does not import matplotlib.
        self.charts_dir = (cache_dir or Path(tempfile.gettempdir()) / "litblog-cache") / "charts"
        self._templates_dir, self._cache_dir = templates_dir, cache_dir
        self._blocks: dict[type, BlockRenderer] = {TextBlock: render_text, CodeBlock: render_code}
        self._blocks.update({kind: rendering.render for kind, rendering in BLOCKS.items()})
        self._roles = {kind: rendering.render for kind, rendering in REFERENCES.items()}

    # Made on first use: a build whose posts all come from the render cache renders nothing.
    @functools.cached_property
    def _environments(self) -> dict[str, jinja2.Environment]:
        return {target.name: target.environment(self._templates_dir, template_cache(self._cache_dir))
                for target in TARGETS}

    @functools.cached_property
    def _inline_markdown(self) -> markdown.Markdown:
        return caption_markdown()

    def render(self, parsed: ParsedPost, outcomes: dict[str, ExperimentOutcome]) -> RenderedPost:
        """Render ``parsed``; ``outcomes`` holds each of its experiments by name.

        Problems (a metric or figure the result does not have, a format that does not fit
        the value) are raised together as :class:`UserErrors`.
        """
        post = parsed.post
        url = post_url(post, self.permalink)
        assets: dict[str, Path] = {}
        bodies: dict[str, str] = {}
        pages: list[Page] = []
        card = provenance_card.card_data(parsed, outcomes)  # the same data in both targets
        notebook_file = notebook.post_notebook(parsed, outcomes, self.notebooks) if self.notebooks and card else None
        numbers, numbering_errors = number_blocks(parsed.blocks)  # before any block: a {ref} may come first
        headings = toc.headings(parsed.blocks, taken=[*numbers, *toc.RESERVED])
        try:
            contents = toc.wanted(post, len(headings)) and bool(headings)
        except UserError as exc:
            numbering_errors.append(exc)
            contents = False
        claims = tuple(ref for block in parsed.blocks for text in block.prose()
                       for ref in text.references if isinstance(ref, ClaimReference))
        for target in TARGETS:
            page = Page(target, self._environments[target.name], "../" * folder_depth(url), post, outcomes,
                        assets, self._roles, self._inline_markdown, self.charts_dir, errors=list(numbering_errors),
                        numbers=numbers, root=self.root, claims=claims,
                        heading_ids={h.line: h.anchor for h in headings} if contents else {})
            if contents:
                page.contents = page.template(toc.TEMPLATE, entries=toc.entries(headings))
            parts = [self._render_block(block, page, parsed.containers.get(index))
                     for index, block in enumerate(parsed.blocks)]
            parts += self._end_matter(page, card, notebook_file)
            bodies[target.name] = "\n".join(parts).rstrip() + "\n"
            pages.append(page)
        # What any target met is reported, once: most problems are met by every target alike.
        for message in _once(message for page in pages for message in page.logged):
            log.warning("%s", message)
        typed_warnings, typed_errors = typed_numbers.report(typed_numbers.check_post(parsed, outcomes))
        errors = _once([*(error for page in pages for error in page.errors), *typed_errors], key=UserError.render)
        if errors:
            raise UserErrors(errors)
        warnings = _once([*(warning for page in pages for warning in page.warnings), *typed_warnings])
        return RenderedPost(post, _front_matter(post), bodies, assets, url, tuple(warnings))

    def _end_matter(self, page: Page, card: list[dict[str, Any]], notebook_file: Path | None) -> list[str]:
        """What follows a post's blocks on ``page``: the claims note, the references, the notebook's links, the card."""
        parts = []
        note = claims_note(page)
        if note:
            parts.append(note)
        references = references_section(page)
        if references:
            parts.append(references)
        links = None
        if notebook_file is not None:
            assert self.notebooks is not None
            post = page.post
            links = {"notebook": page.asset(notebook.site_path(post.slug), notebook_file), "post": post.path,
                     "colab": notebook.colab_url(self.notebooks, post.slug)}
        if links:  # before the card, which stays the end of the post
            parts.append(page.template(notebook.TEMPLATE, reproduce=links))
        if card:
            parts.append(page.template(provenance_card.TEMPLATE, **provenance_card.template_values(card),
                                       reproduce=links))
        return parts

    def _render_block(self, block: Any, page: Page, container: Container | None) -> str:
        """One block's Markdown; a directive inside a blockquote or list item stays inside it."""
        rendered = self._blocks[type(block)](block, page)
        return rendered if container is None else container.carry(rendered)

    def render_block(self, target: str, template_name: str, /, **values: Any) -> str:
        """One block template rendered for ``target``, for blocks added outside a post's blocks (banners)."""
        return self._environments[target].get_template(template_name).render(**values)


def _front_matter(post: Post) -> dict[str, Any]:
    """The post's front matter as Jekyll gets it: layout, date and title always, the reading time."""
    front_matter = dict(post.front_matter)
    front_matter.setdefault("layout", "post")
    if not isinstance(front_matter.get("date"), dt.datetime):
        front_matter["date"] = post.date
    front_matter["title"] = post.title
    front_matter.setdefault("reading_minutes", reading_minutes(post.body))  # the home page and post header
    return front_matter


def _once(items: Iterable[T], key: Callable[[T], Hashable] = lambda item: item) -> list[T]:
    """``items`` without repeats (by ``key``), in the order they first came."""
    first: dict[Hashable, T] = {}
    for item in items:
        first.setdefault(key(item), item)
    return list(first.values())
