"""The HTML preview: the same pages as the Jekyll site, rendered with Python-Markdown and Jinja2.

It lets an author read a post without Ruby. Markdown is read the way GitHub Pages' kramdown
(GFM input, MathJax math) reads it, as far as Python-Markdown allows: fenced code, tables,
raw HTML, and ``$$...$$`` math (display math when it stands alone in a paragraph).
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ...common.fsutil import atomic_write_text
from ..render.renderer import RenderedPost, folder_depth, template_cache

if TYPE_CHECKING:
    import jinja2
    import markdown

_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_QUOTE_MARKERS = re.compile(r"\n[ \t]*(?:>[ \t]?)+")


def _alone(before: str, after: str) -> bool:
    """``$$`` math between ``before`` and ``after`` is a paragraph of its own (display math, as
    kramdown reads it): only container markers (``>``, indentation) before it on its first line
    and after it on its last, and no text on the lines just above and below."""
    above, below = before.split("\n")[-2:], after.split("\n")[:2]
    return not above[-1].strip(" \t>") and (len(above) < 2 or not above[0].strip(" \t>")) \
        and not below[0].strip() and (len(below) < 2 or not below[1].strip(" \t>"))


@functools.cache
def _math_extension() -> type[markdown.extensions.Extension]:
    """The extension that stashes ``$$...$$`` before Markdown can read ``_`` or ``*`` inside it as
    emphasis. Defined when a body is converted: a rebuild that converts none does not import Markdown."""
    from markdown.extensions import Extension
    from markdown.preprocessors import Preprocessor

    class MathPreprocessor(Preprocessor):
        def run(self, lines: list[str]) -> list[str]:
            text = "\n".join(lines)

            def stash(match: re.Match[str]) -> str:
                before, after = text[:match.start()], text[match.end():]
                body = match.group(1)
                if ">" in before.rsplit("\n", 1)[-1]:  # in a blockquote: its lines carry the quote's markers
                    body = _QUOTE_MARKERS.sub("\n", body)
                body = html.escape(body.strip())
                math = f"\\[{body}\\]" if _alone(before, after) else f"\\({body}\\)"
                return self.md.htmlStash.store(math)

            return _MATH.sub(stash, text).split("\n")

    class MathExtension(Extension):
        def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Python-Markdown's API)
            # After fenced_code (priority 25) has stashed code blocks, so math inside them stays code.
            md.preprocessors.register(MathPreprocessor(md), "litblog_math", 20)

    return MathExtension


@dataclass(frozen=True)
class PreviewEntry:
    """A post as the preview index lists it."""

    title: str
    date: Any
    href: str
    description: str | None  # the front matter's description or summary, else the first paragraph
    reading_minutes: int = 1


class PreviewBuilder:
    """Turns rendered posts into standalone HTML pages with relative links."""

    def __init__(self, templates_dir: Path, site: dict[str, Any], *, live_reload: bool = False,
                 cache_dir: Path | None = None) -> None:
        self._templates_dir = templates_dir
        self._cache_dir = cache_dir  # compiled templates under cache_dir/templates (render.template_cache)
        self._site = site
        self._live_reload = live_reload
        self._markdown: markdown.Markdown | None = None  # made on the first body not in the cache
        self._html_cache = cache_dir / "preview-html" if cache_dir else None

    @functools.cached_property
    def _env(self) -> jinja2.Environment:
        # Made on first use: a rebuild whose pages all come from the render cache imports no Jinja2.
        import jinja2

        return jinja2.Environment(loader=jinja2.FileSystemLoader(self._templates_dir / "preview"),
                                  autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                  bytecode_cache=template_cache(self._cache_dir))

    def body_html(self, body_markdown: str) -> str:
        """A post body's HTML. Kept in the cache by the digest of the Markdown and of the converter
        (this module, Python-Markdown's and Pygments' versions): highlighting code compiles
        Pygments' lexers, the slowest part of a rebuild that changes nothing. The file's first
        line is the HTML's own digest, checked on reading, so it is written without ``fsync``."""
        cached = None
        if self._html_cache is not None:
            digest = hashlib.sha256((_converter_digest() + "\0" + body_markdown).encode("utf-8", "surrogatepass"))
            cached = self._html_cache / f"{digest.hexdigest()[:32]}.html"
            try:
                check, _, html = cached.read_bytes().decode("utf-8").partition("\n")
                if check == _text_digest(html):
                    return html
            except (OSError, ValueError):
                pass
        if self._markdown is None:
            import markdown

            self._markdown = markdown.Markdown(extensions=_extensions())
        self._markdown.reset()
        html = self._markdown.convert(body_markdown)
        if cached is not None:
            try:
                atomic_write_text(cached, f"{_text_digest(html)}\n{html}", durable=False)
                _prune(cached.parent)
            except OSError:
                pass  # a cache: the next build converts again
        return html

    def post_page(self, rendered: RenderedPost) -> str:
        """The full HTML page of one post."""
        body_markdown = rendered.bodies["preview"]
        body = self.body_html(body_markdown)
        post = rendered.post
        return self._env.get_template("post.html").render(
            site=self._site, root="../" * folder_depth(rendered.url), body=Markup(body),
            post={"title": post.title, "date": post.date, "author": post.front_matter.get("author"),
                  "reading_minutes": rendered.front_matter.get("reading_minutes")},
            math="$$" in body_markdown, live_reload=self._live_reload)

    def index_inputs(self, entries: list[PreviewEntry]) -> list[Any]:
        """What :meth:`index_page` makes of ``entries`` besides the templates and this code, as plain data."""
        return [[repr(entry) for entry in entries], repr(self._site), self._live_reload]

    def index_page(self, entries: list[PreviewEntry]) -> str:
        """The home page listing ``entries`` newest first."""
        entries = sorted(entries, key=lambda e: (e.date, e.title), reverse=True)
        return self._env.get_template("index.html").render(
            site=self._site, root="", posts=entries, math=False, live_reload=self._live_reload)


def _extensions() -> list[markdown.extensions.Extension]:
    """The preview's Python-Markdown extensions: "extra", "sane_lists", "toc", math and "codehilite".

    Given as objects, not names: Python-Markdown looks a name up among the entry points of every
    installed package (importing ``importlib.metadata``), about 20 ms of a rebuild that converts
    a post. The first seven are what "extra" registers, in its order.
    """
    from markdown.extensions import (abbr, attr_list, codehilite, def_list, fenced_code, footnotes, md_in_html,
                                     sane_lists, tables, toc)

    return [fenced_code.FencedCodeExtension(), footnotes.FootnoteExtension(), attr_list.AttrListExtension(),
            def_list.DefListExtension(), tables.TableExtension(), abbr.AbbrExtension(),
            md_in_html.MarkdownInHtmlExtension(), sane_lists.SaneListExtension(), toc.TocExtension(), _math_extension()(),
            codehilite.CodeHiliteExtension(css_class="highlight", guess_lang=False)]


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@functools.lru_cache(maxsize=1)
def _converter_digest() -> str:
    """What a body's HTML depends on besides its Markdown: this module, Python-Markdown, Pygments."""
    import markdown
    import pygments

    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return f"{source}:{markdown.__version__}:{pygments.__version__}"


HTML_CACHE_ENTRIES = 400  # bodies kept; a body seen again after more edits than that is converted again


def _prune(folder: Path) -> None:
    """Keep the most recently written :data:`HTML_CACHE_ENTRIES` bodies."""
    entries = sorted(folder.glob("*.html"), key=lambda path: path.stat().st_mtime)
    for path in entries[:-HTML_CACHE_ENTRIES]:
        path.unlink(missing_ok=True)


def page_file(url: str) -> str:
    """The file a URL path is served from: ``/a/b/`` -> ``a/b/index.html``."""
    path = url.lstrip("/")
    return path + "index.html" if not path or path.endswith("/") else path
