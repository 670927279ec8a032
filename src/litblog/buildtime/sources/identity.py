"""Digests of files remembered by their identity (path, size, mtime_ns, inode), across builds.

One cache for the whole build (``.litblog/cache/identity-digests.json``): the plan's source and
engine digests, the render cache's inputs and outputs, ``--check``'s comparison. A file is
hashed again only when its identity changed, so an edit to one shared module costs one digest.

A digest taken less than :data:`RACY_SECONDS` after the file's mtime is not saved for the next
build (git's "racy clean" rule): a second edit within the file system's timestamp granularity
that keeps the size would otherwise go unseen. Within one build it is trusted (one digest per
changed file, however many experiments read it); the next build takes it again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from ...common import paths
from ...common.fsutil import atomic_write_text
from ...common.reads import DigestCache, sha256

RACY_SECONDS = 2.0
# The libraries whose versions change what a post renders to (part of every cached parse and render).
LIBRARIES = ("jinja2", "markdown", "pygments", "matplotlib", "pillow", "pyyaml", "markdown-it-py", "mdit-py-plugins")
_PACKAGE = Path(__file__).resolve().parents[2]  # src/litblog: its code parses and renders every post
FILE_NAME = "identity-digests.json"


class FileDigests(DigestCache):
    """``DigestCache`` by identity; one instance per build (see :func:`for_project`)."""

    def __init__(self, file: Path) -> None:
        self.file = file
        try:
            entries = json.loads(file.read_text(encoding="utf-8"))
            self.entries: dict[str, Any] = entries if isinstance(entries, dict) else {}
        except (OSError, ValueError):
            self.entries = {}
        self.changed = False
        self._racy: dict[str, int] = {}  # digested too soon after their last change: name -> build
        self._build = 0

    def digest(self, path: Path, compute: Callable[[Path], str] = sha256, kind: str = "") -> str:
        """``compute(path)``, recomputed only when the file's identity changed (or was racy)."""
        stat = os.stat(path)
        return self.digest_stat(path, stat, compute, kind)

    def digest_stat(self, path: Path | str, stat: os.stat_result, compute: Callable[[Path], str] = sha256,
                    kind: str = "") -> str:
        """:meth:`digest` for a file whose ``stat`` the caller has."""
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        name = f"{kind}:{path}" if kind else str(path)
        entry = self.entries.get(name)
        if entry and entry[0] == stamp and self._racy.get(name, self._build) == self._build:
            return entry[1]
        value = compute(Path(path))
        self.entries[name] = [stamp, value]
        self.changed = True
        if time.time_ns() - stat.st_mtime_ns > RACY_SECONDS * 1e9:
            self._racy.pop(name, None)
        else:
            self._racy[name] = self._build
        return value

    @property
    def build(self) -> int:
        """How many builds (or checks) this cache has been told of: what a per-build memo is keyed by."""
        return self._build

    def begin_build(self) -> None:
        """A new build: digests taken too soon after a change are taken again (one per build)."""
        self._build += 1

    def known(self, path: Path | str, digest: str) -> None:
        """Remember that the file at ``path`` (just written by us) has ``digest``."""
        try:
            stat = os.stat(path)
        except OSError:
            return
        self.entries[str(path)] = [[stat.st_size, stat.st_mtime_ns, stat.st_ino], digest]
        self.changed = True
        if time.time_ns() - stat.st_mtime_ns <= RACY_SECONDS * 1e9:
            self._racy[str(path)] = self._build

    def save(self) -> None:
        if self.changed:
            kept = {name: entry for name, entry in self.entries.items() if name not in self._racy}
            try:
                atomic_write_text(self.file, json.dumps(kept, separators=(",", ":")))
            except OSError:
                pass  # a cache: the next build hashes again
            self.changed = False


_instances: dict[Path, FileDigests] = {}


def for_project(root: Path) -> FileDigests:
    """The project's digest cache, loaded once per process (``serve`` keeps it between rebuilds)."""
    file = paths.cache_dir(root) / FILE_NAME
    cache = _instances.get(file)
    if cache is None:
        cache = _instances[file] = FileDigests(file)
    return cache


def begin_build(root: Path) -> FileDigests:
    """The project's digest cache, told that a new build (or check) starts."""
    cache = for_project(root)
    cache.begin_build()
    return cache


def digest_json(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON: how the caches name what they depend on."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def tree_digest(folder: Path, digests: FileDigests) -> str:
    """Every file under ``folder`` (relative path and bytes), caches and editor droppings left out."""
    items = []
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith("."):
                items.append([path.relative_to(folder).as_posix(), digests.digest(path)])
    return digest_json(items)


_library_versions: list[str] | None = None


def build_code_digest(digests: FileDigests) -> str:
    """litblog's own code (every file of the package: a change re-renders every post) and the
    versions of the libraries that render."""
    global _library_versions
    if _library_versions is None:
        versions = []
        for name in LIBRARIES:
            try:
                versions.append(f"{name}=={importlib.metadata.version(name)}")
            except importlib.metadata.PackageNotFoundError:
                versions.append(f"{name} absent")
        _library_versions = versions
    # The parse cache and the render cache of one build both ask: walk the package once per build.
    memo = (id(digests), digests.build, str(_PACKAGE))
    if _code_digest[0] != memo:
        _code_digest[:] = [memo, digest_json([tree_digest(_PACKAGE, digests), _library_versions])]
    return _code_digest[1]


_code_digest: list = [None, ""]  # (which FileDigests and build, digest) of the last build_code_digest
