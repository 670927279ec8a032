"""Seals verified once per file change: a result store that remembers the results it verified.

``store.verify`` hashes every file of a result against its seal. A result's files never change
after its commit, so verifying it on every build (every stored result of a recipe, for each
experiment without a result, in ``plan._why_missing``) is the same work again. This store keeps,
in ``.litblog/cache/seals.json``, the identity (size, mtime_ns, inode) of every file of each result
it verified; while all of them (and the manifest) are unchanged and no file was added where the
seal would notice, the result is taken as verified, reading only its manifest. Any change and the
full verification runs again. Results loaded once are kept for the rest of the build while their manifest is the same file
(a worker commits in its own process, so a replaced result is seen by its manifest's identity).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ...common import paths
from ...common.fsutil import atomic_write_text
from ...common.store import DIGESTS, HISTORY, LOG, MANIFEST, METRICS, ResultStore, StoredResult

_WATCHED = (HISTORY, METRICS, LOG)  # files verify() refuses when they appear after the run
RACY_NS = 2_000_000_000


def _stamp(path: Path) -> list[int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


class VerifiedStore(ResultStore):
    """A :class:`ResultStore` whose verifications are remembered by file identity."""

    def __init__(self, root: Path, project_root: Path | None = None) -> None:
        super().__init__(root)
        self._file = paths.cache_dir(project_root if project_root is not None else root.parent) / "seals.json"
        try:
            seals = json.loads(self._file.read_text(encoding="utf-8"))
            self._seals: dict[str, Any] = seals if isinstance(seals, dict) else {}
        except (OSError, ValueError):
            self._seals = {}
        self._changed = False
        self._loaded: dict[Path, tuple[StoredResult, list[int] | None]] = {}  # with its manifest's stamp

    def _check(self, recipe: str, key: str) -> tuple[StoredResult | None, str | None]:
        folder = self.folder(recipe, key)
        loaded = self._loaded.get(folder)
        # A worker commits in its own process: a folder replaced since is seen by its manifest.
        if loaded is not None and loaded[1] is not None and _stamp(folder / MANIFEST) == loaded[1]:
            return loaded[0], None
        name = f"{recipe}/{key}"
        seal = self._seals.get(name)
        if seal is not None:
            result = self._still_sealed(folder, seal)
            if result is not None:
                self._loaded[folder] = (result, seal["manifest"])
                return result, None
        result, problem = super()._check(recipe, key)
        if result is not None:
            self._loaded[folder] = (result, _stamp(folder / MANIFEST))
            self._remember(name, folder, result)
        return result, problem

    def _still_sealed(self, folder: Path, seal: dict[str, Any]) -> StoredResult | None:
        try:
            if _stamp(folder / MANIFEST) != seal["manifest"]:
                return None
            files: dict[str, list[int]] = seal["files"]
            for relative, stamp in files.items():
                if _stamp(folder / relative) != stamp:
                    return None
            if any(name not in files and os.path.lexists(folder / name) for name in _WATCHED):
                return None
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return StoredResult(folder, manifest)

    def _remember(self, name: str, folder: Path, result: StoredResult) -> None:
        stamps = {"manifest": _stamp(folder / MANIFEST), "files": {}}
        now = time.time_ns()
        for relative in result.manifest.get(DIGESTS, {}).get("files", {}):
            stamp = _stamp(folder / relative)
            if stamp is None or now - stamp[1] < RACY_NS:
                return  # written just now: verify again next time
            stamps["files"][relative] = stamp
        if stamps["manifest"] is None or now - stamps["manifest"][1] < RACY_NS:
            return
        self._seals[name] = stamps
        self._changed = True

    def commit(self, staging: Path, recipe: str, key: str, *, replace: bool = False) -> Path:
        self._loaded.pop(self.folder(recipe, key), None)
        target = super().commit(staging, recipe, key, replace=replace)
        self._loaded.pop(target, None)
        return target

    def quarantine(self, folder: Path) -> Path:
        self._loaded.pop(folder, None)
        return super().quarantine(folder)

    def save(self) -> None:
        """Keep what was verified for the next build (a cache: a failed write costs a verification)."""
        if self._changed:
            try:
                atomic_write_text(self._file, json.dumps(self._seals, separators=(",", ":")))
            except OSError:
                pass
            self._changed = False
