"""The directives and roles a post can use: one line each, naming the module of this package that
defines it.

A directive's module exports ``DIRECTIVE`` (its block, options and parser), a role's exports
``ROLE`` (its reference and parser); ``DIRECTIVES`` or ``ROLES``, a tuple, for several names of
one block or reference (``note``, ``warning``, ...; ``cite``, ``cite:p``, ``cite:t``); see ``base.py``. How each is drawn is a module of the same
name in ``render/blocks/``, found by the block's type. Adding one is those two modules and its
line here; nothing else dispatches on names or types. The modules are named, as docutils'
directive registry names them, so this list is all there is to edit.
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar, Union

from .base import Directive, Role

_Entry = TypeVar("_Entry", bound=Union[Directive[Any], Role[Any]])


def _load(kind: type[_Entry], *modules: str) -> dict[str, _Entry]:
    """The ``DIRECTIVE`` or ``ROLE`` (or ``ROLES``) of each module, by name; names must not repeat."""
    entries: dict[str, _Entry] = {}
    for module in modules:
        export = kind.__name__.upper()  # DIRECTIVE or ROLE
        found = importlib.import_module(f"{__package__}.{module}")
        several = getattr(found, export + "S", None)
        exported = several if isinstance(several, tuple) and several else (getattr(found, export, None),)
        for entry in exported:
            if not isinstance(entry, kind) or entry.name in entries:
                raise TypeError(f"directives/{module}.py: its {export} is not a {kind.__name__} with a new name")
            entries[entry.name] = entry
    return entries


DIRECTIVES: dict[str, Directive[Any]] = _load(
    Directive,
    "experiment",  # ```{experiment} model1: run a recipe, show what it captured
    "figure",  # ```{figure} model1.curves: one figure of an experiment
    "table",  # ```{table}: experiments as rows, values as columns
    "chart",  # ```{chart}: one value across experiments, as bars
    "admonition",  # ```{note}, {warning}, {tip}, ..., {admonition} Title: a box of the author's Markdown
    "math",  # ```{math}: display math, as $$ on lines of their own
)

ROLES: dict[str, Role[Any]] = _load(
    Role,
    "result",  # {result}`model1.test.accuracy:.1%`: a value in prose or a caption
    "claim",  # {claim}`model3.test.accuracy > model1.test.accuracy`: checked at build time
    "ref",  # {ref}`fig-curves`: "Figure 3", a link to the figure, chart or table named fig-curves
    "numref",  # {numref}`Fig. %s <fig-curves>`: the same, the number put where %s is
    "cite",  # {cite}`lecun1998,he2016`: (LeCun et al., 1998; He et al., 2016), with a References section;
    # {cite:p} the same, {cite:t}`lecun1998`: LeCun et al. (1998)
    "inline_math",  # {math}`x^2`: inline math, as $$x^2$$ in a paragraph
)

CAPTION_ROLES = tuple(name for name, role in ROLES.items() if role.in_captions)  # a claim's mark belongs in prose
