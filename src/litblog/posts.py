"""Stage 2, posts: read a post's front matter and body, keeping line numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SourceLocation, UserError
from .yaml_source import YamlDocument, parse_yaml

POST_SUFFIXES = (".md", ".markdown")
_DATED_NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<slug>.+)$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Post:
    """A post source: front matter, body, and where the body starts in the file."""

    path: str  # relative to the project root, POSIX style
    front_matter: dict[str, Any]
    body: str
    body_line: int  # file line of the body's first line
    date: dt.date
    slug: str
    title: str
    front_matter_doc: YamlDocument | None = field(default=None, compare=False, repr=False)

    @property
    def output_name(self) -> str:
        """The file name under ``_posts/``, as Jekyll requires it."""
        return f"{self.date:%Y-%m-%d}-{self.slug}.md"

    def location(self, line: int) -> SourceLocation:
        return SourceLocation(self.path, line)


def discover_posts(posts_dir: Path) -> list[Path]:
    """Every post file under ``posts_dir``, sorted; names starting with ``_`` or ``.`` are drafts."""
    if not posts_dir.is_dir():
        return []
    return sorted(
        p for p in posts_dir.rglob("*")
        if p.suffix in POST_SUFFIXES and p.is_file()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(posts_dir).parts)
    )


def read_post(file: Path, root: Path) -> Post:
    """Parse one post file. Problems raise :class:`UserError` pointing at the line."""
    rel = file.relative_to(root).as_posix()
    text = file.read_text(encoding="utf-8").replace("\r\n", "\n")
    front_matter: dict[str, Any] = {}
    document: YamlDocument | None = None
    body, body_line = text, 1
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
        except StopIteration:
            raise UserError("front matter is not closed", SourceLocation(rel, 1),
                            hint="end the front matter with a line holding only '---'") from None
        document = parse_yaml("\n".join(lines[1:end]), path=rel, first_line=2)
        if document.data is not None and not isinstance(document.data, dict):
            raise UserError("front matter must be a mapping of keys to values", SourceLocation(rel, 2))
        front_matter = dict(document.data or {})
        body = "\n".join(lines[end + 1:])
        body_line = end + 2
    date, slug = _date_and_slug(file, rel, front_matter, document)
    title = front_matter.get("title")
    if not title or not isinstance(title, str):
        where = document.location("title") if document else SourceLocation(rel, 1)
        raise UserError("the post has no title", where, hint="add 'title: ...' to its front matter")
    return Post(rel, front_matter, body, body_line, date, slug, title, document)


def _date_and_slug(
    file: Path, rel: str, front_matter: dict[str, Any], document: YamlDocument | None
) -> tuple[dt.date, str]:
    stem = file.stem
    match = _DATED_NAME.match(stem)
    date: dt.date | None = None
    slug = front_matter.get("slug") or (match.group("slug") if match else stem)
    if match:
        try:
            date = dt.date.fromisoformat(match.group("date"))
        except ValueError:
            # Jekyll would silently roll 2023-02-30 over into March.
            raise UserError(f"the file name has an invalid date '{match.group('date')}'",
                            SourceLocation(rel, 1)) from None
    if "date" in front_matter:
        value = front_matter["date"]
        where = document.location("date") if document else SourceLocation(rel, 1)
        if isinstance(value, dt.datetime):
            value = value.date()
        elif isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                raise UserError(f"'date' is '{front_matter['date']}'", where,
                                hint="write dates as YYYY-MM-DD") from None
        if not isinstance(value, dt.date):
            raise UserError(f"'date' is {front_matter['date']!r}", where, hint="write dates as YYYY-MM-DD")
        if date and value != date:
            raise UserError(f"'date' {value} disagrees with the file name's date {date}", where,
                            hint="remove one of the two")
        date = value
    if date is None:
        raise UserError("the post has no date", SourceLocation(rel, 1),
                        hint="name the file YYYY-MM-DD-slug.md or add 'date: YYYY-MM-DD' to its front matter")
    slug = str(slug)
    if not _SLUG.match(slug):
        raise UserError(f"the slug '{slug}' is not usable in a URL", SourceLocation(rel, 1),
                        hint="use lower-case letters, digits, '-' and '_'")
    return date, slug
