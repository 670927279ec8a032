"""Recipe listings highlighted coarsely at build time, the same HTML in both targets.

Rouge (Jekyll) and Pygments (the preview) give every token its own ``<span>``: a page of
listings becomes thousands of elements. Here only what a reader scans for gets one:
keywords, strings, comments, numbers and the names a ``def``/``class`` introduces, with
adjacent tokens of one class (and the blanks between them) in one span. Operators, names
and punctuation stay plain text. The classes are Pygments' short ones (``k s c m nf nc``),
so the site's ``syntax.css`` colours them as before.

Pygments is imported, and its lexer compiled, on the first listing rendered, never on a
build that renders nothing (the render cache reuses unchanged posts).
"""

from __future__ import annotations

import functools
from typing import Any

from markupsafe import Markup, escape

# Pygments token type (by its top-level path) -> the one class it gets here; first match wins.
_CLASSES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Name", "Function"), "nf"),
    (("Name", "Class"), "nc"),
    (("Keyword",), "k"),
    (("Operator", "Word"), "k"),  # and, or, not, in, is
    (("Literal", "String"), "s"),
    (("Literal", "Number"), "m"),
    (("Comment",), "c"),
)


@functools.lru_cache(maxsize=1)
def _lexer() -> Any:
    from pygments.lexers.python import PythonLexer

    return PythonLexer(stripnl=False, ensurenl=False)


def _class(token_type: Any) -> str | None:
    path = tuple(token_type)
    for prefix, name in _CLASSES:
        if path[:len(prefix)] == prefix:
            return name
    return None


def coarse_spans(source: str) -> list[tuple[str | None, str]]:
    """``source`` as (class or None, text) runs: adjacent tokens of one class merged, and blanks
    between two runs of one class joined to them (``import`` ... ``as`` stays two spans)."""
    runs: list[tuple[str | None, str]] = []
    for token_type, text in _lexer().get_tokens(source):
        name = _class(token_type)
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + text)
        else:
            runs.append((name, text))
    merged: list[tuple[str | None, str]] = []
    for index, (name, text) in enumerate(runs):
        # a blank (no newline) between two runs of one class: one span for all three
        if (name is None and text.strip() == "" and "\n" not in text and merged and index + 1 < len(runs)
                and merged[-1][0] is not None and runs[index + 1][0] == merged[-1][0]):
            merged[-1] = (merged[-1][0], merged[-1][1] + text)
            continue
        if merged and merged[-1][0] == name:
            merged[-1] = (name, merged[-1][1] + text)
        else:
            merged.append((name, text))
    return merged


def highlighted(source: str) -> Markup:
    """``source`` as ``<pre class="highlight"><code>`` with coarse spans, HTML-escaped (a caller
    protects it from Liquid: ``liquid_raw``)."""
    parts = []
    for name, text in coarse_spans(source.rstrip() + "\n"):
        escaped = str(escape(text))
        parts.append(f'<span class="{name}">{escaped}</span>' if name else escaped)
    return Markup('<pre class="highlight"><code>' + "".join(parts).rstrip("\n") + "</code></pre>")
