"""``{cite}`lecun1998```: a citation of an entry of the post's bibliography, as MyST writes it.

``{cite}`lecun1998``` renders "(LeCun et al., 1998)", ``{cite}`lecun1998,he2016``` "(LeCun et
al., 1998; He et al., 2016)", each name a link to its entry in the References section
appended to the post (``bibliography.py``). MyST's (and sphinxcontrib-bibtex's) two styles are
roles of their own: ``{cite:p}`` is the parenthetical citation above, ``{cite:t}`` the textual
one, "LeCun et al. (1998)", for a sentence whose subject is the work. A key the bibliography
lacks is an error at the citation's line, with the closest key; so is a citation in a post
without a bibliography.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ...common.errors import SourceLocation, UserError
from .base import Role


_KEY_CHARS = set(",{}()\"#%'=`<>") | {" ", "\t", "\n"}


@dataclass(frozen=True)
class Citation:
    """A ``{cite}`` role: the keys it cites, in order."""

    keys: tuple[str, ...]
    location: SourceLocation
    start: int
    end: int
    textual: bool = False  # {cite:t}: "LeCun et al. (1998)"; else "(LeCun et al., 1998)"

    @property
    def experiments(self) -> tuple[str, ...]:
        return ()


def parse(content: str, location: SourceLocation, start: int, end: int,
          errors: list[UserError], *, role: str = "cite") -> Citation | None:
    keys = tuple(key.strip() for key in content.split(","))
    bad = next((key for key in keys if not key or _KEY_CHARS & set(key)), None)
    if bad is not None:
        errors.append(UserError(f"{{{role}}}`{content}` needs bibliography keys separated by commas", location,
                                hint=f"write {{{role}}}`lecun1998` or {{{role}}}`lecun1998,he2016`"))
        return None
    return Citation(keys, location, start, end, textual=role == "cite:t")


# One syntax, three names: MyST's plain {cite} and its parenthetical and textual styles.
ROLES = tuple(Role(name, Citation, functools.partial(parse, role=name), in_captions=True)
              for name in ("cite", "cite:p", "cite:t"))
