"""``{math}`x^2```: inline math, as MyST writes it; the same as ``$$x^2$$`` inside a paragraph.

kramdown (Jekyll) and the preview both read ``$$...$$`` inside a paragraph as inline math, which
MathJax typesets; the role is written as that (``render/blocks/inline_math.py``). Not in captions:
a caption is converted to HTML by litblog itself, without math.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from .base import Role


@dataclass(frozen=True)
class InlineMath:
    """A ``{math}`` role: its LaTeX."""

    latex: str
    location: SourceLocation
    start: int
    end: int

    @property
    def experiments(self) -> tuple[str, ...]:
        return ()


def parse(content: str, location: SourceLocation, start: int, end: int, errors: list[UserError]) -> InlineMath | None:
    if not content.strip() or "$$" in content:
        errors.append(UserError(f"{{math}}`{content}` needs LaTeX without '$$'", location,
                                hint="write {math}`x^2`, or $$x^2$$ in the text"))
        return None
    return InlineMath(content.strip(), location, start, end)


ROLE = Role("math", InlineMath, parse)
