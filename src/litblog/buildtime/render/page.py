"""One post rendered for one target: what a block renderer reads and what it adds to.

A :class:`Page` holds the post, its experiments' outcomes and the target, and collects what
rendering finds: assets to copy, errors and warnings (located), and which experiments already
have their notice on the page. It also does what several blocks do alike: templates, notices
and placeholders, inline references in prose and captions, and cached drawings.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from markupsafe import Markup

from ...common.errors import UserError
from ...common.fsutil import atomic_write_bytes
from . import notices
from .drawing_code import stamp
from ..sources.posts import Post
from .targets import Target
from ..sources.text import html_text, markdown_text

if TYPE_CHECKING:
    import jinja2
    import markdown
    from .bibliography import Bibliography
    from ..directives.base import Reference
    from ..directives.numbering import Numbered
    from ..execute.outcomes import ExperimentOutcome

RoleRenderer = Callable[[Any, "Page", bool], str]  # (reference, page, links) -> Markdown


@dataclass
class Page:
    """One rendering of one post for one target."""

    target: Target
    env: jinja2.Environment  # the target's block templates
    page_root: str  # relative path from the post's page to the site root (preview links)
    post: Post
    outcomes: dict[str, ExperimentOutcome]  # every experiment of the post, by name
    assets: dict[str, Path]  # site path -> file to copy; shared by the post's pages
    roles: Mapping[type, RoleRenderer]  # the renderer of each kind of inline reference
    inline_markdown: markdown.Markdown  # captions' Markdown (see caption_markdown)
    charts_dir: Path  # drawings are cached here by content
    errors: list[UserError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # located, reported with the post (RenderedPost.warnings)
    logged: list[str] = field(default_factory=list)  # located, for the log (a chart value that cannot be drawn)
    noticed: set[str] = field(default_factory=set)  # experiments whose notice is on the page
    details_shown: dict[str, str | None] = field(default_factory=dict)  # experiment -> its notice's details
    shown_imports: set[str] = field(default_factory=set)  # import headers of recipe listings already shown
    numbers: dict[str, Numbered] = field(default_factory=dict)  # named figures and tables ({ref})
    cited: dict[str, None] = field(default_factory=dict)  # bibliography keys {cite} used, in order
    bibliography: Bibliography | None = None  # the post's, once a {cite} has read it (cite.py)
    root: Path | None = None  # the project root: where the bibliography is looked for
    heading_ids: dict[int, str] = field(default_factory=dict)  # file line -> anchor of a heading in the contents
    contents: str = ""  # the table of contents (toc.py), put before the first of those headings
    claims: tuple[Any, ...] = ()  # every {claim} of the post (claim.py: the family Holm's correction covers)
    claim_tests: dict[str, Any] = field(default_factory=dict)  # claim.py's cache of the family's tests
    images: int = 0  # images placed so far: the first loads at once, the others lazily
    code_examples: int = 0  # the author's code blocks so far, each labelled by its number
    tables: int = 0  # {table} blocks so far, each labelled by its number

    def scroll_box(self, markdown_block: str, label: str) -> str:
        """A Markdown block (a code fence) in a box that scrolls sideways and that the keyboard can reach
        and name: ``tabindex="0"``, ``role="region"``, ``aria-label``; Markdown inside is still Markdown
        (``markdown="1"``: kramdown and Python-Markdown's md_in_html)."""
        return (f'<div class="litblog-code" tabindex="0" role="region" aria-label="{html_text(label)}" '
                f'markdown="1">\n\n{markdown_block.strip()}\n\n</div>\n')

    def image_loading(self) -> str:
        """``loading`` of the next image: "eager" for the page's first (likely on the first screen), else "lazy"."""
        self.images += 1
        return "eager" if self.images == 1 else "lazy"

    def template(self, template_name: str, /, **values: Any) -> str:
        return self.env.get_template(template_name).render(**values)

    def asset(self, site_path: str, file: Path) -> Markup:
        """Copy ``file`` to ``site_path`` (``assets/<slug>/...``) with the post; its ``src`` on this page."""
        self.assets[site_path] = file
        return self.target.asset_src(site_path, self.page_root)

    # -- notices ----------------------------------------------------------------------------

    def notice(self, name: str) -> str:
        """The notice of an experiment with a run without a result, the first time the page shows it; else ""."""
        if name in self.noticed:
            return ""
        self.noticed.add(name)
        outcome = self.outcomes[name]
        details = notices.details(outcome)
        shown = next((other for other, seen in self.details_shown.items() if details and seen == details), None)
        self.details_shown.setdefault(name, details)
        return self.template("notice.html.j2", name=name, anchor=notice_anchor(name),
                             sentence=html_text(notices.sentence(outcome)),
                             details=html_text(details) if details and shown is None else None,
                             same_as=shown, same_anchor=notice_anchor(shown) if shown else None)

    def notices(self, names: Iterable[str]) -> str:
        """Notices for those of ``names`` that miss a result and have no notice yet, as blocks to put first."""
        notices = [self.notice(name) for name in dict.fromkeys(names) if self.outcomes[name].incomplete]
        return "".join(notice.rstrip() + "\n\n" for notice in notices if notice)

    # -- the author's text ------------------------------------------------------------------

    def substitute(self, text: str, references: tuple[Reference, ...]) -> str:
        """Prose with its references replaced by what their roles render; the author's own text as
        the target carries it (for Jekyll, code spans Liquid would read are protected)."""
        return self._substituted(text, references, links=True, author=self.target.author_text)

    def caption(self, caption: str, references: tuple[Reference, ...]) -> Markup:
        """An author's caption: inline Markdown; raw HTML shown as text, Liquid not run; values as text."""
        if not caption:
            return Markup("")
        # No raw blocks in a caption: its braces become references below, so Liquid finds no tag.
        text = self._substituted(caption, references, links=False, author=lambda piece: piece)
        self.inline_markdown.reset()
        html = self.inline_markdown.convert(text).strip()
        html = re.sub(r"^<p>(.*)</p>$", r"\1", html, flags=re.S)
        return Markup(html.replace("{", "&#123;").replace("}", "&#125;"))

    def _substituted(self, text: str, references: tuple[Reference, ...], *, links: bool,
                     author: Callable[[str], str]) -> str:
        """``text`` with each reference rendered in its place. A value without a result is a
        placeholder linking to the notice (``links``), or plain text."""
        pieces: list[str] = []
        position = 0
        # The author's text between references goes through ``author``; a value is protected on its own.
        for ref in sorted(references, key=lambda r: r.start):
            value = self.roles[type(ref)](ref, self, links)
            pieces += [author(text[position:ref.start]), value]
            position = ref.end
        pieces.append(author(text[position:]))
        return "".join(pieces)

    # -- drawings ---------------------------------------------------------------------------

    def drawn(self, drawing: dict[str, Any], draw: Callable[[dict[str, Any], Path], None], *,
              stamped: bool = False, suffix: str = ".svg") -> Path:
        """The file (``suffix``: ``.svg``, ``.png`` or ``.webp``) of ``drawing`` in the chart cache,
        drawn only when its content (or figures.py) is new.

        ``stamped``: the file carries the drawing's digest (:func:`drawing_digest`), for a drawing
        published under a name that does not say what it shows (``model1-curves.svg``), so that
        ``build-site --check`` can reuse the committed file as a chart's is reused by its name.
        """
        drawing = {**drawing, "code": _figures_digest()}
        if suffix != ".png":
            drawing["file_type"] = suffix  # PNG drawings keep the digests they always had
        digest = hashlib.sha256(json.dumps(drawing, sort_keys=True).encode()).hexdigest()[:16]
        file = self.charts_dir / f"{digest}{suffix}"
        if file.is_file():
            return file
        file.parent.mkdir(parents=True, exist_ok=True)
        if not stamped:
            draw(drawing, file)
            return file
        plain = file.with_name(f".{digest}.unstamped{suffix}")
        draw(drawing, plain)
        atomic_write_bytes(file, STAMPS[suffix](plain.read_bytes(), digest))
        plain.unlink()
        return file


# A tEXt chunk right after the PNG header: "litblog-drawing\0<digest>".
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEADER_END = len(_PNG_SIGNATURE) + 4 + 4 + 13 + 4  # IHDR: length, type, 13 bytes, CRC
_DRAWING_KEY = b"litblog-drawing"
_DIGEST = re.compile(rb"[0-9a-f]{16}")


def _stamp(png: bytes, digest: str) -> bytes:
    """``png`` with the drawing's digest in a text chunk after its header (pixels unchanged)."""
    if png[:len(_PNG_SIGNATURE)] != _PNG_SIGNATURE or png[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    data = _DRAWING_KEY + b"\0" + digest.encode("ascii")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:_HEADER_END] + chunk + png[_HEADER_END:]


# An SVG's stamp: a comment right after the XML declaration (where drawing_digest looks).
_SVG_STAMP = re.compile(rb"<!-- litblog-drawing ([0-9a-f]{16}) -->")
# A WebP's stamp: its XMP metadata (a RIFF chunk decoders skip), holding only this text.
_WEBP_STAMP = re.compile(rb"litblog-drawing:([0-9a-f]{16})\Z")


def _stamp_svg(svg: bytes, digest: str) -> bytes:
    declaration, newline, rest = svg.partition(b"\n")
    if not declaration.startswith(b"<?xml"):
        raise ValueError("not an SVG file from matplotlib")
    return declaration + newline + b"<!-- litblog-drawing " + digest.encode("ascii") + b" -->\n" + rest


def _stamp_webp(webp: bytes, digest: str) -> bytes:
    """A simple (VP8/VP8L) WebP turned extended (a VP8X header) with an XMP chunk holding the digest;
    the image's bitstream is unchanged, decoders skip the chunk."""
    import io

    from PIL import Image

    if webp[:4] != b"RIFF" or webp[8:12] != b"WEBP" or webp[12:16] not in (b"VP8 ", b"VP8L"):
        raise ValueError("not a simple WebP file")
    with Image.open(io.BytesIO(webp)) as image:
        (width, height), alpha = image.size, image.mode == "RGBA"
    flags = 0x04 | (0x10 if alpha else 0)  # XMP present; alpha
    vp8x = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    xmp = b"litblog-drawing:" + digest.encode("ascii")
    chunk = struct.pack("<4sI", b"XMP ", len(xmp)) + xmp + (b"\0" if len(xmp) % 2 else b"")
    body = b"WEBP" + struct.pack("<4sI", b"VP8X", len(vp8x)) + vp8x + webp[12:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


STAMPS: dict[str, Callable[[bytes, str], bytes]] = {".png": _stamp, ".svg": _stamp_svg, ".webp": _stamp_webp}


def drawing_digest(file: Path) -> str | None:
    """The digest a stamped drawing (:meth:`Page.drawn`) carries, or None (a PNG, SVG or WebP file)."""
    if file.suffix == ".svg":
        try:
            with file.open("rb") as opened:
                head = opened.read(400)
        except OSError:
            return None
        found = _SVG_STAMP.search(head.partition(b"\n")[2][:64])
        return found.group(1).decode("ascii") if found else None
    if file.suffix == ".webp":
        return _webp_digest(file)
    png = file
    try:
        with png.open("rb") as file:
            head = file.read(_HEADER_END + 8 + len(_DRAWING_KEY) + 1 + 16 + 4)
    except OSError:
        return None
    chunk = head[_HEADER_END:_HEADER_END + 8]  # the first chunk after IHDR: where _stamp puts it
    if head[:len(_PNG_SIGNATURE)] != _PNG_SIGNATURE or len(chunk) < 8:
        return None
    length, kind = struct.unpack(">I4s", chunk)
    if kind != b"tEXt":
        return None
    key, _, value = head[_HEADER_END + 8:_HEADER_END + 8 + length].partition(b"\0")
    return value.decode("ascii") if key == _DRAWING_KEY and _DIGEST.fullmatch(value) else None


def _webp_digest(file: Path) -> str | None:
    """The digest in a stamped WebP's XMP chunk (the file's last chunk), or None."""
    try:
        data = file.read_bytes()
    except OSError:
        return None
    if data[:4] != b"RIFF" or data[8:16] != b"WEBPVP8X":
        return None
    position = 12
    while position + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[position:position + 8])
        if kind == b"XMP ":
            found = _WEBP_STAMP.match(data[position + 8:position + 8 + length])
            return found.group(1).decode("ascii") if found else None
        position += 8 + length + (length % 2)
    return None


def _figures_digest() -> str:
    """What drawings are keyed by of the file ``litblog.common.figures`` (which ``litblog.figures``
    is) is imported from, found without importing it (no matplotlib on a rebuild): its pinned stamp
    while it is litblog's own, unchanged (``drawing_code.py``); a module put in its place keys
    drawings by its own source."""
    origin = importlib.util.find_spec("litblog.common.figures").origin  # type: ignore[union-attr]
    return stamp("figures", Path(origin))  # type: ignore[arg-type]


def caption_markdown() -> markdown.Markdown:
    """Python-Markdown for captions: inline Markdown only, raw HTML escaped, no attribute lists."""
    import markdown  # when a caption is rendered: a rebuild that renders nothing does not import it

    md = markdown.Markdown(extensions=[])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


# -- placeholders of values and figures without a result -----------------------------------


def notice_anchor(name: str) -> str:
    """The ``id`` of an experiment's notice on its page."""
    return "litblog-notice-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


NOT_RUN = "not run"  # a table cell or chart bar of an experiment without a result


def missing_inline(name: str, text: str = "no result") -> str:
    """A short marked placeholder, linking to the experiment's notice, where its value would be."""
    return f'<a class="litblog-missing" href="#{notice_anchor(name)}">{html_text(text)}</a>'


def missing_block(name: str) -> str:
    """The placeholder of a figure (or more) of an experiment whose notice is shown earlier on the page."""
    return f'<p class="litblog-missing">{missing_inline(name, f"No result for {name}: see above.")}</p>\n'


def lacking(name: str, missing: tuple[int, ...], runs: int, links: bool) -> str:
    """`` (1 of 3 seeds missing)`` after a value over seeds that lacks some, linking to the notice; else ""."""
    if not missing:
        return ""
    words = f"{len(missing)} of {runs} seeds missing"
    return f" ({missing_inline(name, words)})" if links else f" ({markdown_text(words)})"
