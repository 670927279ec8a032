"""Stage 2, posts: read a post's front matter and body, keeping line numbers."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...common.errors import SourceLocation, UserError
from .yaml_source import YamlDocument, parse_yaml, read_source

POST_SUFFIXES = (".md", ".markdown")
_DATED_NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<slug>.+)$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# A permalink becomes a file path in the preview: only URL-safe characters, ':' for placeholders.
_PERMALINK = re.compile(r"^/[A-Za-z0-9/_.:~-]*$")
_CATEGORY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_STRING_KEYS = ("title", "slug", "permalink", "layout")
_TEXT_KEYS = ("description", "excerpt")
_LIST_KEYS = ("tags", "categories", "category")


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


def is_post_name(path: Path) -> bool:
    """``path`` ends in a post's extension, in any case (``.md``, ``.MD``, ``.Markdown``), as editors save them."""
    return path.suffix.lower() in POST_SUFFIXES


def discover_posts(posts_dir: Path) -> list[Path]:
    """Every post file under ``posts_dir``, sorted; names starting with ``_`` or ``.`` are drafts.

    Folders are entered but links to folders are not (as ``Path.rglob`` does); read with
    ``os.scandir`` because ``serve`` looks again after each save, and a thousand ``Path`` objects
    made only to be filtered cost more than the rest of finding them.
    """
    found: list[tuple[list[str], str]] = []
    _collect_posts(os.fspath(posts_dir), [], found)
    found.sort()  # by the parts of the path, as paths compare
    return [Path(path) for _, path in found]


def _collect_posts(folder: str, parts: list[str], found: list[tuple[list[str], str]]) -> None:
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(("_", ".")):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    _collect_posts(entry.path, [*parts, entry.name], found)
                elif os.path.splitext(entry.name)[1].lower() in POST_SUFFIXES and entry.is_file():
                    found.append(([*parts, entry.name], entry.path))
    except OSError:
        return  # missing, or unreadable (skipped, as Path.rglob does)


def url_pattern_problem(pattern: str) -> str | None:
    """Why a ``permalink`` pattern could name a file outside the site, or None when it is safe.

    The preview writes each post to the file its URL names, so the URL must stay a relative
    path below the site: no ``..``, no scheme or host, no backslashes or odd characters.
    """
    styles = ("date", "pretty", "ordinal", "none")
    if pattern in styles:
        return None
    if not _PERMALINK.match(pattern):
        return "must be a path starting with '/' made of letters, digits and / _ . : ~ -"
    if "//" in pattern:
        return "must not contain '//'"
    if any(part in (".", "..") for part in pattern.split("/")):
        return "must not contain '.' or '..' folders"
    return None


def read_post(file: Path, root: Path) -> Post:
    """Parse one post file. Problems raise :class:`UserError` pointing at the line."""
    rel = file.relative_to(root).as_posix()
    real_root = root.resolve()
    if not file.resolve().is_relative_to(real_root):
        raise UserError("the post is a symbolic link to a file outside the project", SourceLocation(rel, 1),
                        hint="copy the file into the posts folder instead of linking to it")
    text = read_source(file, rel)
    if not text.strip():
        raise UserError("the post is empty", SourceLocation(rel, 1),
                        hint="start it with front matter: '---', 'title: ...', '---'")
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
            raise UserError("front matter must be a mapping of keys to values", SourceLocation(rel, 2),
                            hint="write it as 'key: value' lines, like 'title: My post'")
        front_matter = dict(document.data or {})
        body = "\n".join(lines[end + 1:])
        body_line = end + 2
    _check_front_matter(rel, front_matter, document)
    date, slug = _date_and_slug(file, rel, front_matter, document)
    title = front_matter.get("title")
    if not title or not isinstance(title, str) or not title.strip():
        where = document.location("title") if document else SourceLocation(rel, 1)
        raise UserError("the post has no title", where, hint="add 'title: ...' to its front matter")
    return Post(rel, front_matter, body, body_line, date, slug, title, document)


def _check_front_matter(rel: str, front_matter: dict[str, Any], document: YamlDocument | None) -> None:
    """The keys litblog and Jekyll read must have the type they expect; others pass through."""
    def where(key: str) -> SourceLocation:
        return document.location(key) if document else SourceLocation(rel, 1)

    for key in front_matter:
        if not isinstance(key, str):
            raise UserError(f"front matter key {key!r} is not a name", where(str(key)), hint="quote it")
    for key in _STRING_KEYS:
        value = front_matter.get(key)
        if value is not None and not isinstance(value, str):
            raise UserError(f"'{key}' must be a string, got {_describe(value)}", where(key),
                            hint="quote the value: " + key + ": \"...\"")
    for key in _TEXT_KEYS:
        value = front_matter.get(key)
        if value is not None and not isinstance(value, (str, int, float)):
            raise UserError(f"'{key}' must be text, got {_describe(value)}", where(key))
    if front_matter.get("multiple_comparisons", "none") not in ("none", "holm"):  # claim.CORRECTIONS
        raise UserError(f"'multiple_comparisons' must be none or holm, got "
                        f"{_describe(front_matter['multiple_comparisons'])}", where("multiple_comparisons"),
                        hint="holm corrects the post's claims for multiple comparisons")
    if "published" in front_matter and not isinstance(front_matter["published"], bool):
        raise UserError(f"'published' must be true or false, got {_describe(front_matter['published'])}",
                        where("published"))
    for key in _LIST_KEYS:
        value = front_matter.get(key)
        if value is None:
            continue
        items = value.split() if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                                  for v in items):
            raise UserError(f"'{key}' must be a word or a list of words, got {_describe(value)}", where(key),
                            hint=f"for example {key}: [keras, cnn]")
        if key != "tags":  # categories become folders of the URL
            bad = next((str(v) for v in items if not _CATEGORY.match(str(v)) or ".." in str(v)), None)
            if bad is not None:
                raise UserError(f"'{key}' has '{bad}', which cannot be part of a URL", where(key),
                                hint="use letters, digits, '_', '-' and '.'")
    permalink = front_matter.get("permalink")
    if isinstance(permalink, str):
        problem = url_pattern_problem(permalink)
        if problem:
            raise UserError(f"'permalink' is '{permalink}': it {problem}", where("permalink"),
                            hint="for example permalink: /:year/:title/")


def _describe(value: Any) -> str:
    kind = {list: "a list", dict: "a mapping", bool: "true/false", int: "a number", float: "a number"}
    return kind.get(type(value), repr(value) if len(repr(value)) < 40 else f"a {type(value).__name__}")


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
