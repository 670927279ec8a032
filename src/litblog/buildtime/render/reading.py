"""What the home page says of a post besides its title: reading time and a summary.

Both come from the author's Markdown (``Post.body``), so a post carried over from an earlier
build gets them without rendering. Reading time counts the prose only: code blocks, directive
blocks (code, summaries, logs, figures) and HTML are skimmed, not read word by word.
"""

from __future__ import annotations

import math
import re

WORDS_PER_MINUTE = 230  # an adult's silent reading of technical prose, roughly
_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[^\n]*\n.*?^(?P=fence)[`~]*[ \t]*$", re.M | re.S)
_HTML = re.compile(r"<[^>]+>")
_ROLE = re.compile(r"\{[a-z][\w:-]*\}`([^`]*)`")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"[*`#>|]+|(?<!\w)_+|_+(?!\w)")  # emphasis marks; a snake_case word keeps its _


def prose(body: str) -> str:
    """The body without fenced blocks (code and directives) and HTML tags."""
    return _HTML.sub(" ", _FENCE.sub("\n", body))


def reading_minutes(body: str) -> int:
    """Minutes to read the prose of ``body`` at :data:`WORDS_PER_MINUTE`, at least 1."""
    words = len(_ROLE.sub("0", prose(body)).split())
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def first_paragraph(body: str, limit: int = 300) -> str:
    """The first paragraph of prose as plain text (roles as their reference, Markdown marks dropped),
    cut at a word near ``limit`` characters; "" when the post has none."""
    for paragraph in re.split(r"\n\s*\n", prose(body)):
        text = _LINK.sub(r"\1", _IMAGE.sub("", _ROLE.sub(r"\1", paragraph)))
        text = " ".join(_MARKUP.sub("", text).split())
        if text and not text.startswith(("{", "<!--", "$$", "---")):
            return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
    return ""
