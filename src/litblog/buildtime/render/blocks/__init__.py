"""Render, per directive and role: how each kind of block and inline reference becomes Markdown
on a :class:`~litblog.buildtime.render.page.Page` (the syntax side of each is ``directives/``).

One module per module of ``directives/`` that defines a block or reference type, of the same
name (``admonition.py`` draws ``{note}``, ``{warning}``, ...; ``cite.py`` ``{cite:t}`` too), each exporting
``RENDERING`` (:class:`~.rendering.Rendering`: the block or reference type and its renderer);
``seed_values`` there is how the renderers show values of experiments with several seeds.
A directive or role without its rendering here fails at import, naming the module to add.
"""

from __future__ import annotations

import importlib
from typing import Any

from ...directives import DIRECTIVES, ROLES
from .rendering import Rendering


def _load(names: list[str]) -> dict[type, Rendering[Any]]:
    """Each named module's ``RENDERING``, by the type it draws."""
    found: dict[type, Rendering[Any]] = {}
    for name in names:
        rendering = getattr(importlib.import_module(f"{__name__}.{name}"), "RENDERING", None)
        if not isinstance(rendering, Rendering):
            raise TypeError(f"render/blocks/{name}.py: its RENDERING is not a Rendering")
        found[rendering.kind] = rendering
    return found


def _modules(kinds: list[type]) -> list[str]:
    """The ``directives/`` modules that define ``kinds``, each once: the names of their renderings' modules."""
    return list(dict.fromkeys(kind.__module__.rpartition(".")[2] for kind in kinds))


BLOCKS = _load(_modules([e.block for e in DIRECTIVES.values()]))  # ExperimentDirective -> Rendering(...), ...
REFERENCES = _load(_modules([e.reference for e in ROLES.values()]))
_missing = [f"{name} ({entry.block.__name__})" for name, entry in DIRECTIVES.items() if entry.block not in BLOCKS] + \
           [f"{name} ({entry.reference.__name__})" for name, entry in ROLES.items() if entry.reference not in REFERENCES]
if _missing:
    raise TypeError(f"render/blocks/: no rendering of {', '.join(_missing)}")

__all__ = ["BLOCKS", "REFERENCES", "Rendering"]
