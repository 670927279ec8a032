"""What rendering one post read: recorded while it renders, so its cache entry names its inputs.

The render cache (``render_cache.py``) reuses a post's output only while every input it recorded
is unchanged. The inputs every post shares (litblog's build code, the templates, the config) and
those the build hands the renderer (the post's text, its experiments' stored results and
outcomes) are in the entry's name; everything else a post's rendering reads is recorded here:

- explicitly, by code that reads a file the renderer was not handed (a BibTeX file, a
  notebook): :func:`record_file`;
- and, as a safety net, every file of the project opened for reading while a post renders
  (a Python audit hook on ``open``), so a reader that forgets to report is still covered.
  Caches (``.litblog/``), the site being written and the result store (its results reach the
  renderer sealed, in the entry's name) are not inputs.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator


@dataclass
class RenderInputs:
    """The recorded inputs of one post's rendering: files of the project."""

    root: str  # the project, as the audit hook sees paths (real, absolute)
    ignored: tuple[str, ...]  # folders under root whose files are not inputs (each ends with os.sep)
    files: set[str] = field(default_factory=set)  # project-relative POSIX paths

    def add_path(self, path: str) -> None:
        real = os.path.realpath(path)
        if not real.startswith(self.root) or real.startswith(self.ignored):
            return
        if os.path.isfile(real):
            self.files.add(os.path.relpath(real, self.root.rstrip(os.sep)).replace(os.sep, "/"))


_current: contextvars.ContextVar[RenderInputs | None] = contextvars.ContextVar("litblog_render_inputs", default=None)
_hooked = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open":
        return
    inputs = _current.get()
    if inputs is None:
        return
    path, mode, flags = (tuple(args) + (None, None, None))[:3]
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
        (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
    if writing or path is None or isinstance(path, int):
        return
    try:
        inputs.add_path(os.fsdecode(path))
    except (TypeError, ValueError, OSError):
        pass


@contextlib.contextmanager
def recording(root: Path, ignored: list[Path]) -> Iterator[RenderInputs]:
    """Record what the code in the block reads of the project at ``root`` (but under ``ignored``)."""
    global _hooked
    if not _hooked:
        sys.addaudithook(_audit)  # once per process: hooks cannot be removed, so it checks _current
        _hooked = True
    real_root = os.path.realpath(root) + os.sep
    inputs = RenderInputs(real_root, tuple(os.path.realpath(folder) + os.sep for folder in ignored))
    token = _current.set(inputs)
    try:
        yield inputs
    finally:
        _current.reset(token)


def record_file(path: Path | str) -> None:
    """Say that the post being rendered read ``path`` (a file of the project): a change re-renders it."""
    inputs = _current.get()
    if inputs is not None:
        inputs.add_path(os.fspath(path))

