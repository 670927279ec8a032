"""Citations: a small BibTeX reader, the post's bibliography, and the References section.

A post's bibliography is the file(s) its front matter names (``bibliography: refs.bib`` or a
list, paths from the project root, as MyST's ``bibliography:``), else ``references.bib`` at the
project root when there is one. ``{cite}`` (``directives/cite.py``) renders "(LeCun et al.,
1998)" linking to the entry in a References section appended to the post, which lists the
cited entries in the order they were first cited. Nothing is fetched: DOIs and URLs are links.

The reader takes what BibTeX files hold in practice: ``@type{key, field = value, ...}`` (or
parentheses), values in braces (nested), quotes or bare numbers and ``@string`` names, joined
with ``#``; ``@comment``, ``@preamble`` and text outside entries are skipped. A mistake is a
:class:`UserError` at its line of the ``.bib`` file.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...common.errors import SourceLocation, UserError
from ..sources.text import html_text

DEFAULT_FILE = "references.bib"
FRONT_MATTER_KEY = "bibliography"
_MONTHS = {m: m.capitalize() for m in ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                        "dec")}
_NAME = re.compile(r"[A-Za-z_][\w:.+/-]*")
_KEY = re.compile(r"[^\s,{}()\"#%'=]+")
# \"u, \'e, \`a, \^o, \~n, \=a, \.z, \c c, \v s, \H o, \u g, \k a: combining marks after the letter.
_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "c": "\u0327", "v": "\u030c", "H": "\u030b", "u": "\u0306", "k": "\u0328"}
_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "aa": "å", "AA": "Å", "l": "ł", "L": "Ł",
            "i": "ı", "oe": "œ", "OE": "Œ", "&": "&", "%": "%", "$": "$", "#": "#", "_": "_"}


@dataclass(frozen=True)
class Entry:
    """One BibTeX entry: its type (lower case), key, fields (names in lower case, values as written)."""

    kind: str
    key: str
    fields: dict[str, str]
    location: SourceLocation

    def field(self, name: str) -> str:
        """A field as plain text (LaTeX accents and braces resolved), "" when absent."""
        return latex_text(self.fields.get(name, ""))

    @property
    def names(self) -> list[tuple[str, str]]:
        """(family, given) of each author, else editor."""
        raw = self.fields.get("author") or self.fields.get("editor") or ""
        return [_split_name(part) for part in _split_top(raw, " and ") if part.strip()]

    @property
    def year(self) -> str:
        return self.field("year") or self.field("date")[:4] or "n.d."

    @property
    def short_authors(self) -> str:
        """"LeCun", "LeCun and Bengio", "LeCun et al.": the authors as a citation names them."""
        families = [family for family, _ in self.names]
        if not families:
            return self.field("title") or self.key
        if len(families) == 1:
            return families[0]
        if len(families) == 2:
            return f"{families[0]} and {families[1]}"
        return f"{families[0]} et al."


@dataclass(frozen=True, eq=False)
class Bibliography:
    """The entries of a post's ``.bib`` files, by key."""

    files: tuple[str, ...]  # project-relative, for messages
    entries: dict[str, Entry]

    @functools.cached_property
    def years(self) -> dict[str, str]:
        """Each key's year as citations write it: "2016a", "2016b" for entries whose authors and year
        would read alike, lettered in the order of the files."""
        alike: dict[tuple[str, str], list[str]] = {}
        for key, entry in self.entries.items():
            alike.setdefault((entry.short_authors, entry.year), []).append(key)
        years = {}
        for (_, year), keys in alike.items():
            for index, key in enumerate(keys):
                years[key] = year + (chr(ord("a") + index) if len(keys) > 1 and index < 26 else "")
        return years


# -- reading ---------------------------------------------------------------------------------


class _Reader:
    def __init__(self, text: str, path: str) -> None:
        self.text, self.path, self.pos = text, path, 0
        self.strings: dict[str, str] = dict(_MONTHS)

    def location(self, pos: int | None = None) -> SourceLocation:
        return SourceLocation(self.path, self.text.count("\n", 0, self.pos if pos is None else pos) + 1)

    def fail(self, message: str, pos: int | None = None, hint: str | None = None) -> UserError:
        return UserError(message, self.location(pos), hint=hint)

    def skip_space(self) -> None:
        while self.pos < len(self.text):
            if self.text[self.pos].isspace():
                self.pos += 1
            elif self.text[self.pos] == "%":  # a comment to the end of the line
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def expect(self, chars: str, what: str) -> str:
        self.skip_space()
        if self.pos >= len(self.text) or self.text[self.pos] not in chars:
            found = self.text[self.pos:self.pos + 1] or "the end of the file"
            raise self.fail(f"expected {what}, found '{found}'")
        self.pos += 1
        return self.text[self.pos - 1]

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        self.skip_space()
        found = pattern.match(self.text, self.pos)
        if not found:
            raise self.fail(f"expected {what}")
        self.pos = found.end()
        return found.group(0)

    def balanced(self, opening: int) -> str:
        """The text from ``self.pos`` to the brace closing the one at ``opening`` (consumed)."""
        depth, start = 1, self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            self.pos += 1
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return self.text[start:self.pos - 1]
        raise self.fail("this brace is never closed", opening, hint="every { needs its }")

    def quoted(self, opening: int) -> str:
        depth, start = 0, self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\":
                self.pos += 1
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            elif char == '"' and depth == 0:
                return self.text[start:self.pos - 1]
        raise self.fail("this quote is never closed", opening)

    def value(self) -> str:
        """A field's value: pieces joined with ``#``."""
        pieces = []
        while True:
            self.skip_space()
            start = self.pos
            char = self.text[self.pos:self.pos + 1]
            if char == "{":
                self.pos += 1
                pieces.append(self.balanced(start))
            elif char == '"':
                self.pos += 1
                pieces.append(self.quoted(start))
            elif char.isdigit():
                pieces.append(self.match(re.compile(r"\d+"), "a number"))
            else:
                name = self.match(_NAME, "a value in braces, quotes, a number or an @string name").lower()
                if name not in self.strings:
                    raise self.fail(f"'{name}' is no @string defined above", start,
                                    hint="put the value in braces, or define it with @string{name = {...}}")
                pieces.append(self.strings[name])
            self.skip_space()
            if self.text[self.pos:self.pos + 1] != "#":
                return "".join(pieces)
            self.pos += 1

    def entries(self) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        while True:
            at = self.text.find("@", self.pos)
            if at < 0:
                return found
            self.pos = at + 1
            kind = self.match(re.compile(r"[A-Za-z]+"), "an entry type after '@'").lower()
            opening = self.pos
            close = "}" if self.expect("{(", "'{' after @" + kind) == "{" else ")"
            if kind in ("comment", "preamble"):
                if close == "}":
                    self.balanced(opening)
                else:
                    end = self.text.find(")", self.pos)
                    self.pos = len(self.text) if end < 0 else end + 1
                continue
            if kind == "string":
                name = self.match(_NAME, "a name").lower()
                self.expect("=", "'=' after the @string's name")
                self.strings[name] = self.value()
                self.expect(close, f"'{close}' closing the @string")
                continue
            location = self.location(at)
            key = self.match(_KEY, "the entry's key")
            fields: dict[str, str] = {}
            while True:
                if self.expect("," + close, f"',' or '{close}'") == close:
                    break
                self.skip_space()
                if self.text[self.pos:self.pos + 1] == close:  # a trailing comma
                    self.pos += 1
                    break
                name = self.match(_NAME, "a field name").lower()
                self.expect("=", f"'=' after '{name}'")
                fields[name] = self.value()
            if key in found:
                raise UserError(f"the key '{key}' is used twice", location,
                                hint=f"the first is at line {found[key].location.line}")
            found[key] = Entry(kind, key, fields, location)


def parse_bibtex(text: str, path: str) -> dict[str, Entry]:
    """The entries of a BibTeX file's ``text`` (``path`` names it in errors), by key."""
    return _Reader(text.replace("\r\n", "\n"), path).entries()


@functools.lru_cache(maxsize=16)
def _read(file: Path, shown: str, mtime_ns: int, size: int) -> dict[str, Entry]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{shown} is not UTF-8 text ({exc.reason})", SourceLocation(shown, 1)) from None
    return parse_bibtex(text, shown)


def post_bibliography(front_matter: dict[str, Any], where: SourceLocation, root: Path) -> Bibliography | None:
    """The bibliography of a post (front matter ``bibliography``, else the project's ``references.bib``),
    or None when it has none. A named file that is missing is an error at ``where``."""
    named = front_matter.get(FRONT_MATTER_KEY)
    if named is None:
        if not (root / DEFAULT_FILE).is_file():
            return None
        named = [DEFAULT_FILE]
    elif isinstance(named, str):
        named = [named]
    if not isinstance(named, list) or not all(isinstance(name, str) and name for name in named):
        raise UserError("'bibliography' must be a .bib file or a list of them", where,
                        hint="for example bibliography: references.bib (a path from the project root)")
    entries: dict[str, Entry] = {}
    for name in named:
        file = (root / name).resolve()
        if not file.is_relative_to(root.resolve()) or not file.is_file():
            raise UserError(f"the bibliography file '{name}' does not exist", where,
                            hint="name a .bib file under the project root, e.g. bibliography: references.bib")
        stat = file.stat()
        for key, entry in _read(file, Path(name).as_posix(), stat.st_mtime_ns, stat.st_size).items():
            entries.setdefault(key, entry)  # the first file's entry wins, as biber's does
    return Bibliography(tuple(named), entries)


# -- text -------------------------------------------------------------------------------------


def _split_top(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside braces (case-insensitive, as BibTeX's ``and``)."""
    parts, depth, start, i = [], 0, 0, 0
    lower = text.lower()
    while i < len(text):
        char = text[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0 and lower.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return [re.sub(r"\s+", " ", part).strip() for part in parts]


def _split_name(name: str) -> tuple[str, str]:
    """(family, given) of "Family, Given" or "Given Family" (a braced group is one word)."""
    if _split_top(name, ",")[1:]:
        family, given = _split_top(name, ",")[0], " ".join(_split_top(name, ",")[1:])
        return latex_text(family), latex_text(given)
    words = _split_top(name, " ")
    # "Given von Family": lower-case words before the last one belong to the family name.
    first = len(words) - 1
    while first > 0 and words[first - 1][:1].islower():
        first -= 1
    return latex_text(" ".join(words[first:])), latex_text(" ".join(words[:first]))


def latex_text(value: str) -> str:
    """BibTeX's text as plain Unicode: accents (``{\\"u}``), ``\\&``, ``--`` and braces resolved."""
    def accent(match: re.Match[str]) -> str:
        return unicodedata.normalize("NFC", match["letter"] + _ACCENTS[match["mark"]])

    text = re.sub(r"\\(?P<mark>[\"'`^~=.])\s*\{?(?P<letter>[A-Za-z])\}?", accent, value)
    text = re.sub(r"\\(?P<mark>[cvHuk])\s*(?:\{(?P<letter>[A-Za-z])\}|\s(?P<l2>[A-Za-z]))",
                  lambda m: unicodedata.normalize("NFC", (m["letter"] or m["l2"]) + _ACCENTS[m["mark"]]), text)
    text = re.sub(r"\\(ss|oe|OE|ae|AE|aa|AA|[oOlLi])(?![A-Za-z])\s?", lambda m: _LETTERS[m.group(1)], text)
    text = re.sub(r"\\([&%$#_])", lambda m: m.group(1), text)
    text = re.sub(r"\\[A-Za-z]+\s*", "", text)  # other commands (\emph, \textit): their text stays
    text = text.replace("---", "\u2014").replace("--", "\u2013").replace("~", "\u00a0")
    return re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")).strip()


def anchor(key: str) -> str:
    """The ``id`` of an entry in the References section."""
    return "ref-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)


def _link(url: str) -> str | None:
    """A URL that may be a link (http or https), else None."""
    return url if re.match(r"https?://[^\s]+$", url) else None


def reference_item(entry: Entry, year: str | None = None) -> dict[str, Any]:
    """What ``references.html.j2`` shows of one entry, every text escaped."""
    names = [f"{given} {family}".strip() for family, given in entry.names]
    authors = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + (names[-1] if names else "")
    venue = entry.field("journal") or entry.field("booktitle") or entry.field("publisher") or \
        entry.field("howpublished") or entry.field("school") or entry.field("institution") or \
        (f"arXiv:{entry.field('eprint')}" if entry.field("eprint") else "")
    details = ", ".join(part for part in (
        venue, entry.field("volume") and f"vol. {entry.field('volume')}", entry.field("number") and
        f"no. {entry.field('number')}", entry.field("pages") and f"pp. {entry.field('pages')}") if part)
    doi = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", entry.field("doi"), flags=re.I)
    url = _link(entry.fields.get("url", "").strip())
    return {
        "anchor": anchor(entry.key),
        "authors": html_text(authors or entry.key),
        "year": html_text(year or entry.year),
        "title": html_text(entry.field("title")),
        "details": html_text(details),
        "doi": html_text(doi) if doi else None,
        "doi_url": html_text("https://doi.org/" + doi) if doi else None,
        "url": html_text(url) if url else None,
    }
