"""The result store: one folder per experiment run, named by its cache key, written atomically.

``results/<recipe>/<key>/`` holds ``manifest.json`` (key inputs, params, seed, versions,
timings, hardware, the files below), ``history.json``, ``metrics.json``, ``log.txt``, model
summaries, ``figures/*.png`` and ``predictions/*.json``. A run is written into
``results/.tmp/`` and renamed into place when complete, so a folder with a manifest is
always whole. A folder that cannot be read is a cache miss with a warning, never a crash.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .fsutil import atomic_write_text
from .keys import FORMAT_VERSION

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
BLOCKED = "blocked.json"  # in a folder without a manifest: the run could not happen, and why
HISTORY = "history.json"
METRICS = "metrics.json"
LOG = "log.txt"


class ResultError(LookupError):
    """A lookup into a result failed; ``available`` lists what could have been asked for."""

    def __init__(self, message: str, available: list[str]) -> None:
        super().__init__(message)
        self.available = available


@dataclass(frozen=True)
class Result:
    """A stored run, read lazily from its folder. Needs no TensorFlow."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def key(self) -> str:
        return self.manifest["key"]

    @property
    def params(self) -> dict[str, Any]:
        return self.manifest["key_inputs"]["params"]

    @functools.cached_property
    def history(self) -> dict[str, Any]:
        return _read_json(self.folder / HISTORY, {"epochs": [], "metrics": {}, "phases": []})

    @functools.cached_property
    def metrics(self) -> dict[str, Any]:
        return _read_json(self.folder / METRICS, {})

    @property
    def log_text(self) -> str:
        path = self.folder / LOG
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def summaries(self) -> list[tuple[str, str]]:
        """(model name, summary text) for each model the recipe trained or summarised."""
        return [(entry["model"], (self.folder / entry["file"]).read_text(encoding="utf-8"))
                for entry in self.manifest.get("summaries", [])]

    def figures(self) -> dict[str, Path]:
        return {name: self.folder / entry["file"] for name, entry in self.manifest.get("figures", {}).items()}

    def figure_caption(self, name: str) -> str:
        return self.manifest.get("figures", {}).get(name, {}).get("caption", "")

    def predictions(self, name: str) -> dict[str, Any]:
        entry = self.manifest.get("predictions", {}).get(name)
        if entry is None:
            raise ResultError(f"no predictions named '{name}'", sorted(self.manifest.get("predictions", {})))
        return _read_json(self.folder / entry["file"], {})


def _read_json(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


class ResultStore:
    """Finds, loads, commits and prunes results under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, recipe: str, key: str) -> Path:
        return self.root / recipe / key

    def load(self, recipe: str, key: str) -> Result | None:
        """The stored result, or None (missing or unreadable: a miss, with a warning if corrupt)."""
        folder = self.folder(recipe, key)
        manifest_file = folder / MANIFEST
        if not manifest_file.is_file():
            return None
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
            if manifest.get("key") != key or manifest.get("format") != FORMAT_VERSION:
                raise ValueError("manifest does not match its folder")
            for entry in [*manifest.get("summaries", []), *manifest.get("figures", {}).values()]:
                if not (folder / entry["file"]).is_file():
                    raise ValueError(f"missing file {entry['file']}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable result %s (%s); it will be re-run",
                        folder.relative_to(self.root.parent) if self.root.parent in folder.parents else folder, exc)
            return None
        return Result(folder, manifest)

    def record_blocked(self, recipe: str, key: str, message: str, needs: list[str]) -> None:
        """Note that the run of ``key`` is blocked by missing files (committed, like results)."""
        folder = self.folder(recipe, key)
        if (folder / MANIFEST).is_file():
            return
        record = {"format": FORMAT_VERSION, "key": key, "recipe": recipe, "message": message, "needs": needs}
        atomic_write_text(folder / BLOCKED, json.dumps(record, indent=1, sort_keys=True) + "\n")

    def load_blocked(self, recipe: str, key: str) -> dict[str, Any] | None:
        """The blocked record of ``key``, if its run is blocked and has no result."""
        folder = self.folder(recipe, key)
        if (folder / MANIFEST).is_file() or not (folder / BLOCKED).is_file():
            return None
        try:
            record = json.loads((folder / BLOCKED).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if record.get("key") == key else None

    def new_staging(self, key: str) -> Path:
        """An empty folder on the store's file system to write a run into."""
        tmp_root = self.root / ".tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{key}-", dir=tmp_root))

    def commit(self, staging: Path, recipe: str, key: str) -> Path:
        """Move a complete run into place; an existing complete result with that key wins."""
        target = self.folder(recipe, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if (target / MANIFEST).is_file():
            shutil.rmtree(staging, ignore_errors=True)
            return target
        if target.exists():  # unreadable leftovers of an older run
            shutil.rmtree(target)
        os.replace(staging, target)
        return target

    def results(self, recipe: str | None = None) -> Iterator[Result]:
        """Every readable result, or those of one recipe."""
        if not self.root.is_dir():
            return
        recipe_dirs = [self.root / recipe] if recipe else sorted(
            d for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
        for recipe_dir in recipe_dirs:
            if not recipe_dir.is_dir():
                continue
            for folder in sorted(recipe_dir.iterdir()):
                if folder.is_dir():
                    result = self.load(recipe_dir.name, folder.name)
                    if result is not None:
                        yield result

    def prune(self, keep: set[tuple[str, str]]) -> list[Path]:
        """Remove results whose (recipe, key) is not in ``keep``, and stale staging folders."""
        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        for recipe_dir in sorted(d for d in self.root.iterdir() if d.is_dir()):
            if recipe_dir.name == ".tmp":
                continue
            for folder in sorted(recipe_dir.iterdir()):
                if folder.is_dir() and (recipe_dir.name, folder.name) not in keep:
                    shutil.rmtree(folder)
                    removed.append(folder)
            if not any(recipe_dir.iterdir()):
                recipe_dir.rmdir()
        return removed

    def clean_staging(self) -> None:
        """Remove staging folders left by interrupted runs (no build may be running: hold the lock)."""
        shutil.rmtree(self.root / ".tmp", ignore_errors=True)
