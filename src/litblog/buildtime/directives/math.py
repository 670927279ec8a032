"""```{math}```: display math, as MyST writes it; the same as ``$$ ... $$`` on lines of their own.

```{math}
\\mathcal{L} = -\\sum_i y_i \\log p_i
```

kramdown (Jekyll) and the preview both read ``$$`` on lines of their own as display math, which
MathJax typesets; the directive is written as that (``render/blocks/math.py``). MyST's option
lines (``:label: eq-loss``) are refused at their line: equations are not numbered.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from .base import Block, Directive, DirectiveSource, myst_option


@dataclass(frozen=True)
class MathDirective(Block):
    """```{math}```: one display equation (or an aligned group): its LaTeX."""

    latex: str
    location: SourceLocation


def parse(source: DirectiveSource) -> MathDirective | None:
    lines = [source.argument] if source.argument.strip() else []
    lines += source.body.split("\n")
    latex = "\n".join(lines).strip("\n")
    option = myst_option(source.body.split("\n", 1)[0], "math", SourceLocation(source.location.path, source.body_line),
                         "remove the line: equations are not numbered")
    if option is not None:
        source.problems.append(option)
    elif not latex.strip():
        source.problems.append(UserError("this {math} has no LaTeX", source.location,
                                         hint="write the equation on the lines between the fences"))
    elif "$$" in latex:
        source.problems.append(UserError("a {math} holds LaTeX without '$$'", source.location,
                                         hint="remove the $$: the directive is the display math"))
    return None if source.problems else MathDirective(latex, source.location)


DIRECTIVE = Directive("math", MathDirective, (), parse, markdown_body=True)
