"""```{note}```, ```{warning}``` and the other admonitions: a box of the author's Markdown, as MyST writes it.

```{note}
The validation split is 20% of the training images, {result}`model1.val_count` of them.
```

The kinds are docutils' and MyST's (``note``, ``tip``, ``hint``, ``important``, ``seealso``,
``attention``, ``caution``, ``warning``, ``danger``, ``error``), each titled by its kind, and
``admonition``, titled by its argument (```{admonition} Why 160 pixels?```). Text after any other
kind's name is the first line of its body, as in MyST. The body is prose: roles work there as in
the post's text (its numbers are checked like the text's); a code block or a directive inside it
is refused at its line, as are MyST's option lines (``:class: dropdown``). The box is drawn by
``render/blocks/admonition.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ...common.errors import SourceLocation, UserError
from .base import Block, Directive, DirectiveSource, TextBlock, myst_option

# kind -> (its title, the look it shares with kinds of the same weight)
KINDS: dict[str, tuple[str, str]] = {
    "note": ("Note", "note"),
    "seealso": ("See also", "note"),
    "tip": ("Tip", "tip"),
    "hint": ("Hint", "tip"),
    "important": ("Important", "important"),
    "attention": ("Attention", "warning"),
    "caution": ("Caution", "warning"),
    "warning": ("Warning", "warning"),
    "danger": ("Danger", "danger"),
    "error": ("Error", "danger"),
    "admonition": ("", "note"),  # titled by its argument
}
_FENCE = re.compile(r"^[ \t>]*(?:`{3,}|~{3,})")


@dataclass(frozen=True)
class Admonition(Block):
    """A box of the author's Markdown with a title: ```{note}```, ```{admonition} Title```, ..."""

    kind: str
    title: str
    tone: str  # the look: note, tip, important, warning, danger
    content: TextBlock  # the body, with its roles and its first line in the file
    location: SourceLocation

    def uses(self) -> Iterable[tuple[str, SourceLocation]]:
        return self.content.uses()

    def prose(self) -> tuple[TextBlock, ...]:
        return (self.content,)


def parse(source: DirectiveSource, kind: str) -> Admonition | None:
    title, tone = KINDS[kind]
    lines, first_line = source.body.split("\n"), source.body_line
    if kind == "admonition":
        title = source.argument.strip()
        if not title:
            source.problems.append(UserError("an admonition needs a title", source.location,
                                             hint="write ```{admonition} Your title, or use ```{note}, "
                                                  "```{tip}, ```{warning}, ... for a box titled by its kind"))
    elif source.argument.strip():
        lines, first_line = [source.argument.strip(), *lines], first_line - 1  # MyST: the body's first line
    option = myst_option(lines[0], kind, SourceLocation(source.location.path, first_line),
                         "remove the line: the kind gives the box its look")
    if option is not None:
        source.problems.append(option)
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            source.problems.append(UserError(f"a code block or directive cannot be inside a {{{kind}}}",
                                             SourceLocation(source.location.path, first_line + index),
                                             hint=f"end the {{{kind}}} before it and put the block after it"))
            break
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        source.problems.append(UserError(f"this {{{kind}}} has no text", source.location,
                                         hint=f"write its text on the lines between the fences of the {{{kind}}}"))
        return None
    leading = next(index for index, line in enumerate(lines) if line)  # empty lines dropped above the text
    assert source.find_prose_references is not None  # a markdown_body directive is given it
    references = source.find_prose_references(text, first_line + leading)
    if source.problems:
        return None
    return Admonition(kind, title, tone, TextBlock(text, first_line + leading, references), source.location)


DIRECTIVES = tuple(Directive(kind, Admonition, (), lambda source, kind=kind: parse(source, kind), markdown_body=True,
                             in_containers=False)  # the preview's converter reads no Markdown in a box there
                   for kind in KINDS)
