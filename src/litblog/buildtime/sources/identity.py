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
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

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

    def remembered(self, name: str, stamp: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered under ``name`` for as long as ``stamp`` (plain JSON data) is the same."""
        key = f"memo:{name}"
        entry = self.entries.get(key)
        if entry and entry[0] == stamp:
            return entry[1]
        value = compute()
        self.entries[key] = [stamp, value]
        self.changed = True
        return value

    def save(self) -> None:
        if self.changed:
            kept = {name: entry for name, entry in self.entries.items() if name not in self._racy}
            try:
                # Not synced: a file cut short by a crash is not JSON, and every file is hashed again.
                atomic_write_text(self.file, json.dumps(kept, separators=(",", ":")), durable=False)
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


# --------------------------------------------------------------------------- installed packages

_METADATA_SUFFIXES = (".dist-info", ".egg-info", ".egg")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def packages_stamp(names: Iterable[str]) -> list[Any]:
    """What ``importlib.metadata`` would find ``names`` by: every ``sys.path`` entry with the
    package metadata folders it holds (installing, upgrading or removing a package adds or
    removes one: their names carry the version), and the identity of the metadata file of each
    folder named like one of ``names``. A ``listdir`` per entry and a few ``stat`` calls, where
    importing ``importlib.metadata`` and reading the files costs about 15 ms a build."""
    wanted = {_normalized(name) for name in names}
    stamp: list[Any] = []
    for entry in sys.path:
        folder = entry or "."
        try:
            children = sorted(os.listdir(folder))
        except OSError:  # a zip file, or not there
            try:
                stat = os.stat(folder)
                stamp.append([entry, stat.st_size, stat.st_mtime_ns, stat.st_ino])
            except OSError:
                stamp.append([entry, None])
            continue
        found: list[Any] = []
        for child in children:
            if not child.lower().endswith(_METADATA_SUFFIXES):
                continue
            found.append(child)
            if _normalized(child.rpartition(".")[0].partition("-")[0]) in wanted:
                for metadata in ("METADATA", "PKG-INFO"):
                    try:
                        stat = os.stat(os.path.join(folder, child, metadata))
                    except OSError:
                        continue
                    found.append([metadata, stat.st_size, stat.st_mtime_ns, stat.st_ino])
        stamp.append([entry, found])
    return stamp


def package_versions(names: Iterable[str], digests: FileDigests | None = None) -> dict[str, str | None]:
    """``importlib.metadata.version`` of each distribution in ``names`` (None: not installed),
    remembered in ``digests`` across builds for as long as :func:`packages_stamp` is the same."""
    names = tuple(names)

    def compute() -> dict[str, str | None]:
        import importlib.metadata  # only when something was installed or removed: it imports email, zipfile, csv

        versions: dict[str, str | None] = {}
        for name in names:
            try:
                versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                versions[name] = None
        return versions

    if digests is None:
        return compute()
    # One entry per sys.path: `build-site` and `python -m litblog` see different ones, and a
    # project built both ways would otherwise read the metadata again at every switch.
    search = hashlib.sha256(json.dumps(sys.path).encode()).hexdigest()[:16]
    return digests.remembered(f"versions:{','.join(names)}:{search}", packages_stamp(names), compute)


def digest_json(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON: how the caches name what they depend on."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def tree_digest(folder: Path, digests: FileDigests) -> str:
    """Every file under ``folder`` (relative path and bytes), caches and editor droppings left out."""
    items = [["/".join(parts), digests.digest(path)] for parts, path in sorted(_tree_files(folder))]
    return digest_json(items)


def _tree_files(folder: Path) -> list[tuple[tuple[str, ...], str]]:
    """The files under ``folder`` as (relative parts, path), as ``sorted(folder.rglob("*"))`` with
    ``is_file()`` finds them (symbolic links to folders not entered), without a ``Path`` per entry:
    litblog's package is walked on every build. ``__pycache__`` folders and names starting with a
    dot are left out."""
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(os.fspath(folder), ())]
    while pending:
        directory, parts = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            if entry.is_dir() and not entry.is_symlink():
                pending.append((entry.path, (*parts, entry.name)))
            elif entry.is_file() and not entry.name.startswith("."):
                found.append(((*parts, entry.name), entry.path))
    return found


def build_code_digest(digests: FileDigests) -> str:
    """litblog's own code (every file of the package: a change re-renders every post) and the
    versions of the libraries that render (remembered in ``digests`` until a package changes)."""
    # The parse cache and the render cache of one build both ask: walk the package once per build.
    memo = (id(digests), digests.build, str(_PACKAGE))
    if _code_digest[0] != memo:
        versions = [f"{name}=={version}" if version is not None else f"{name} absent"
                    for name, version in package_versions(LIBRARIES, digests).items()]
        _code_digest[:] = [memo, digest_json([tree_digest(_PACKAGE, digests), versions])]
    return _code_digest[1]


_code_digest: list = [None, ""]  # (which FileDigests and build, digest) of the last build_code_digest
