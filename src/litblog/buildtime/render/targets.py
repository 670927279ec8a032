"""The outputs a post is rendered for, one object each: what differs between them is here only.

- ``jekyll``: the Jekyll tree GitHub Pages builds. Assets are linked through ``relative_url``
  (a project page lives under a baseurl), and text Liquid would read (captured code and logs,
  the author's code blocks and code spans that hold ``{{`` or ``{%``) goes inside
  ``{% raw %}`` so that it is shown as written.
- ``preview``: plain HTML made by Python-Markdown. Assets are linked relative to the page; no
  Liquid runs, so nothing needs protecting.

Block renderers never ask which target they render for: they call these methods (through
:class:`~litblog.buildtime.render.page.Page`) and the block templates' ``liquid_raw`` filter.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from .highlight import highlighted
from ..results.log_table import plural
from ..sources.text import CODE_SPAN, fenced, html_text

if TYPE_CHECKING:
    import jinja2

_RAW_OPEN, _RAW_CLOSE = "{% raw %}", "{% endraw %}"
# Jekyll's default excerpt separator: a raw block must not straddle it, or Jekyll cuts the
# excerpt inside the block and warns "Excerpt modified".
_EXCERPT_SEPARATOR = re.compile(r"(\n{2,})")
_LITERAL_TAG_START = "{{ '{%' }}"


class Target:
    """One output of every post. ``verbatim`` and ``asset_src`` are what a target defines."""

    name: str

    def verbatim(self, text: str, *, block: bool = False) -> str:
        """``text`` as this target must carry it to be shown exactly as written."""
        raise NotImplementedError

    def asset_src(self, site_path: str, page_root: str) -> Markup:
        """The ``src`` of a file at ``site_path`` (``assets/...``) on a page ``page_root`` below the site root."""
        raise NotImplementedError

    def code_block(self, text: str, *, nested: bool = False) -> str:
        """An author's code block, fences included. ``nested`` (inside a blockquote or list item,
        or indented code): protected without adding a line, which would end its container."""
        return self.verbatim(text, block=not nested) if has_liquid(text) else text

    def author_text(self, text: str) -> str:
        """The author's Markdown between inserted values: code spans are shown as written; other
        Liquid in prose stays live (a post may use it on purpose)."""
        def wrap(match: re.Match[str]) -> str:
            span = match.group(0)
            return self.verbatim(span) if has_liquid(span) else span

        return CODE_SPAN.sub(wrap, text)

    def environment(self, templates_dir: Path, bytecode_cache: jinja2.BytecodeCache | None = None
                    ) -> jinja2.Environment:
        """Jinja2 over the block templates (``templates/blocks/``), with this target's filters."""
        import jinja2  # when a post is rendered: a rebuild that renders nothing does not import it

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir / "blocks"), bytecode_cache=bytecode_cache,
            autoescape=lambda name: name is not None and ".html" in name,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
        )
        env.filters["fenced"] = fenced
        env.filters["highlighted"] = highlighted
        env.filters["liquid_raw"] = self._liquid_raw_filter()
        env.filters["alignment"] = lambda align: ":---" if align == "left" else "---:"
        env.filters["text"] = html_text
        env.filters["count"] = lambda number: f"{number:,}"
        env.filters["plural"] = plural
        return env

    def _liquid_raw_filter(self) -> Any:
        import jinja2

        @jinja2.pass_eval_context
        def liquid_raw(eval_ctx: jinja2.nodes.EvalContext, value: Any) -> Any:
            # Escape first: the "{{ '{%' }}" that liquid_verbatim may add must reach Liquid as written.
            escaped = escape(value) if eval_ctx.autoescape else str(value)
            carried = self.verbatim(str(escaped), block=not eval_ctx.autoescape)
            return Markup(carried) if eval_ctx.autoescape else carried

        return liquid_raw


class JekyllTarget(Target):
    """The Jekyll tree: Liquid reads the page, so captured text goes inside raw blocks."""

    name = "jekyll"

    def verbatim(self, text: str, *, block: bool = False) -> str:
        return liquid_verbatim(text, block=block)

    def asset_src(self, site_path: str, page_root: str) -> Markup:
        return Markup("{{ '/%s' | relative_url }}" % site_path)


class PreviewTarget(Target):
    """The HTML preview: no Liquid, links relative to the page."""

    name = "preview"

    def verbatim(self, text: str, *, block: bool = False) -> str:
        return text

    def asset_src(self, site_path: str, page_root: str) -> Markup:
        return Markup(escape(page_root + site_path))


JEKYLL = JekyllTarget()
PREVIEW = PreviewTarget()
TARGETS: tuple[Target, ...] = (JEKYLL, PREVIEW)  # RenderedPost.bodies keeps this order


def has_liquid(text: str) -> bool:
    return "{{" in text or "{%" in text


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


def strip_verbatim(text: str) -> str:
    """The text :func:`liquid_verbatim` wrapped, as Liquid would output it."""
    text = text.replace(_RAW_CLOSE + _LITERAL_TAG_START + _RAW_OPEN, "{%")
    return text.replace(_RAW_OPEN, "").replace(_RAW_CLOSE, "")
