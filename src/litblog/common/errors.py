"""Errors a user can fix (reported as ``file:line: message``) and the helpers that build them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class SourceLocation:
    """A line in a project file; ``path`` is relative to the project root, POSIX style."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class LitblogError(Exception):
    """Base class of every error litblog reports to its user without a traceback."""

    exit_code = 1


class UserError(LitblogError):
    """A mistake in a post, the config or the command line (exit code 2).

    ``suggestion`` is shown in parentheses after the message ("did you mean ..."),
    ``hint`` on its own line: how to get out of the situation.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        location: SourceLocation | None = None,
        *,
        suggestion: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.suggestion = suggestion
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else f"error: {self.message}"
        if self.suggestion:
            text += f" ({self.suggestion})"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UserErrors(LitblogError):
    """Several user errors collected before stopping, so one build reports them all."""

    exit_code = 2

    def __init__(self, errors: Iterable[UserError]) -> None:
        self.errors = sorted(
            errors,
            key=lambda e: (e.location.path, e.location.line) if e.location else ("", 0),
        )
        super().__init__("\n".join(e.render() for e in self.errors))


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return ``did you mean 'x'?`` for the closest candidate, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def one_of(candidates: Iterable[str]) -> str:
    """Format a short list of valid choices for a message."""
    names = sorted(set(candidates))
    if not names:
        return "none are defined"
    if len(names) > 12:
        names = names[:12] + ["..."]
    return "expected one of: " + ", ".join(names)
