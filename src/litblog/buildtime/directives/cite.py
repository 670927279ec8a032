"""``{cite}`lecun1998```: a citation of an entry of the post's bibliography, as MyST writes it.

``{cite}`lecun1998``` renders "(LeCun et al., 1998)", ``{cite}`lecun1998,he2016``` "(LeCun et
al., 1998; He et al., 2016)", each name a link to its entry in the References section
appended to the post (``bibliography.py``). A key the bibliography lacks is an error at the
citation's line, with the closest key; so is a citation in a post without a bibliography.
"""

from __future__ import annotations

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

    @property
    def experiments(self) -> tuple[str, ...]:
        return ()



def parse(content: str, location: SourceLocation, start: int, end: int,
          errors: list[UserError]) -> Citation | None:
    keys = tuple(key.strip() for key in content.split(","))
    bad = next((key for key in keys if not key or _KEY_CHARS & set(key)), None)
    if bad is not None:
        errors.append(UserError(f"{{cite}}`{content}` needs bibliography keys separated by commas", location,
                                hint="write {cite}`lecun1998` or {cite}`lecun1998,he2016`"))
        return None
    return Citation(keys, location, start, end)



ROLE = Role("cite", Citation, parse, in_captions=True)

