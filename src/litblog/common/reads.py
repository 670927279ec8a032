"""Files a run read besides its code and dataset (pretrained weights, files a recipe declares),
recorded with their digests so a later build can tell when one has changed.

A run records each file under a portable name: ``$KERAS_HOME/models/<file>`` for Keras' cache
and ``./<path>`` for a file of the project, never an absolute path. A build resolves the name
on its own machine: a file that is there with another digest makes the stored result stale (it
re-runs, and ``--plan`` names the file); a file that is absent (a fresh clone, CI) leaves the
result valid, since the manifest says what it was made from. No TensorFlow here: both the
worker and the build use this module.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from .fsutil import atomic_write_text
from .paths import keras_home

KERAS_HOME = "$KERAS_HOME"
_recorded: dict[str, dict[str, Any]] = {}


def portable_name(path: Path, project_root: Path) -> str:
    """``path`` under a name that means the same file on another machine; ValueError when it has none."""
    resolved = Path(os.path.realpath(path))
    for base, prefix in ((Path(os.path.realpath(project_root)), "."), (Path(os.path.realpath(keras_home())), KERAS_HOME)):
        try:
            return f"{prefix}/{resolved.relative_to(base).as_posix()}"
        except ValueError:
            continue
    raise ValueError(f"{path} is neither in the project nor in Keras' cache ({KERAS_HOME}); "
                     "a result must be reproducible from files another machine can have")


def resolve(name: str, project_root: Path) -> Path | None:
    """The file a portable name means on this machine (None for a name of another form)."""
    prefix, _, rest = name.partition("/")
    if not rest or ".." in Path(rest).parts or rest.startswith("/"):
        return None
    base = {".": project_root, KERAS_HOME: keras_home()}.get(prefix)
    return base / rest if base is not None else None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record(path: Path, project_root: Path) -> str:
    """Record that the running recipe read ``path``; returns its portable name. (Worker side.)"""
    name = portable_name(path, project_root)
    _recorded[name] = {"sha256": sha256(Path(path)), "bytes": Path(path).stat().st_size}
    return name


def recorded() -> dict[str, dict[str, Any]]:
    """Everything recorded in this process, for the manifest's ``reads``."""
    return dict(sorted(_recorded.items()))


class DigestCache:
    """SHA-256 of files by (path, size, mtime), kept in the project's scratch folder. (Build side.)

    Weights files are tens of megabytes: hashing them on every no-op build would cost more than
    the rest of the build.
    """

    def __init__(self, file: Path) -> None:
        self.file = file
        try:
            self.entries: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}
        self.changed = False

    def digest(self, path: Path, compute: Callable[[Path], str] = sha256, kind: str = "") -> str:
        """``compute(path)`` (SHA-256 by default), recomputed only when the file's size or mtime
        changed; ``kind`` tells apart digests of the same file made by different functions."""
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        name = f"{kind}:{path}" if kind else str(path)
        entry = self.entries.get(name)
        if entry and entry[0] == stamp:
            return entry[1]
        value = compute(path)
        self.entries[name] = [stamp, value]
        self.changed = True
        return value

    def save(self) -> None:
        if self.changed:
            try:
                atomic_write_text(self.file, json.dumps(self.entries))
            except OSError:
                pass  # a cache: the next build hashes again


def changed_reads(manifest: dict[str, Any], project_root: Path, cache: DigestCache) -> list[str]:
    """The files a stored run read that are present here with another digest."""
    changed = []
    for name, entry in manifest.get("reads", {}).items():
        path = resolve(name, project_root)
        if path is not None and path.is_file() and cache.digest(path) != entry.get("sha256"):
            changed.append(name)
    return changed
