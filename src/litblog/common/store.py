"""The result store: one folder per experiment run, named by its cache key, written atomically.

``results/<recipe>/<key>/`` holds ``manifest.json`` (key inputs, params, seed, versions,
timings, hardware, the files below), ``history.json``, ``metrics.json``, ``log.txt``, model
summaries, ``figures/*.png`` and ``predictions/*.json``. A run is written into
``results/.tmp/`` and renamed into place when complete, so a folder with a manifest is
always whole. :meth:`ResultStore.commit` seals it: the manifest records the SHA-256 of every
file and of itself, and :meth:`ResultStore.load` checks them, so a result that is missing a
file, corrupt, hand-edited or naming a file outside its folder is a cache miss with a
warning (re-run and replaced), never a crash and never published. A result stored under
another key's or recipe's folder is moved to ``results/.quarantine/``. The digests catch
accidents and hand edits; they are not a signature.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from .errors import UserError
from .fsutil import atomic_write_text, confinement_problem, make_unique_dir, remove_confined
from .reads import sha256

log = logging.getLogger(__name__)

# Bump when the layout or meaning of a stored result changes: every result is then re-run
# (it is part of every key, see litblog.buildtime.plan.keys).
FORMAT_VERSION = 1

MANIFEST = "manifest.json"
BLOCKED = "blocked.json"  # in a folder without a manifest: the run could not happen, and why
HISTORY = "history.json"
METRICS = "metrics.json"
LOG = "log.txt"
DIGESTS = "digests"  # in the manifest: {"files": {relative path: sha256}, "manifest": sha256 of the rest}
QUARANTINE = ".quarantine"  # results set aside: stored under another key's or recipe's folder


class ValueNotFound(LookupError):
    """A lookup into a result failed; ``available`` lists what could have been asked for."""

    def __init__(self, message: str, available: list[str]) -> None:
        super().__init__(message)
        self.available = available


@dataclass(frozen=True)
class StoredResult:
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
            raise ValueNotFound(f"no predictions named '{name}'", sorted(self.manifest.get("predictions", {})))
        return _read_json(self.folder / entry["file"], {})


def _read_json(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The SHA-256 of a manifest's canonical JSON, its own ``digests`` entry left out."""
    content = {k: v for k, v in manifest.items() if k != DIGESTS}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def seal(folder: Path) -> dict[str, Any]:
    """Record the SHA-256 of every file of a result (and of its manifest) in its ``manifest.json``.

    Done by :meth:`ResultStore.commit`, so workers need not know; also how results written by
    an older litblog are migrated. Returns the sealed manifest. ``ValueError`` if the folder
    holds a symbolic link (a result is plain files).
    """
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    files: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise ValueError(f"{relative} is a symbolic link")
        if path.is_file() and relative != MANIFEST:
            files[relative] = sha256(path)
    manifest.pop(DIGESTS, None)
    manifest[DIGESTS] = {"files": files, "manifest": manifest_digest(manifest)}
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


class _Misplaced(ValueError):
    """A complete-looking result stored under another key's or recipe's folder."""


def _safe_relative(name: Any) -> bool:
    """``name`` is a relative path that stays inside its folder (no ``..``, not absolute)."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and path.parts[0] not in ("", "/")


def verify(folder: Path, recipe: str, key: str) -> StoredResult:
    """The result in ``folder``, checked against its digests; ``ValueError`` says what is wrong.

    Checked: the manifest is JSON naming this key and recipe (else :class:`_Misplaced`), its
    format, its own digest (a hand-edited manifest), every file's digest, that every file the
    manifest names is one of the digested files (so nothing outside the folder, no symlink),
    and that ``history.json`` and ``metrics.json`` parse.
    """
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{MANIFEST} is not text") from exc
    except ValueError as exc:
        raise ValueError(f"{MANIFEST} is not valid JSON") from exc
    if not isinstance(manifest, dict):
        raise ValueError(f"{MANIFEST} is not a JSON object")
    if manifest.get("key") != key:
        raise _Misplaced(f"its manifest names key {manifest.get('key')!r}, not its folder's {key!r}")
    if manifest.get("recipe", recipe) != recipe:
        raise _Misplaced(f"its manifest names recipe {manifest.get('recipe')!r}, not its folder's {recipe!r}")
    if manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"it is in result format {manifest.get('format')!r}, not {FORMAT_VERSION}")
    digests = manifest.get(DIGESTS)
    if not isinstance(digests, dict) or not isinstance(digests.get("files"), dict):
        raise ValueError("its manifest has no file digests (stored by an older litblog, or edited)")
    if digests.get("manifest") != manifest_digest(manifest):
        raise ValueError(f"{MANIFEST} was edited after the run")
    files: dict[str, Any] = digests["files"]
    resolved_folder = folder.resolve()
    for name, expected in files.items():
        if not _safe_relative(name):
            raise ValueError(f"its manifest names a file outside its folder: {name!r}")
        path = folder / name
        if path.is_symlink() or any(parent.is_symlink() for parent in path.parents if folder in parent.parents):
            raise ValueError(f"{name} is a symbolic link")
        if not path.is_file():
            raise ValueError(f"{name} is missing")
        if resolved_folder not in path.resolve().parents:
            raise ValueError(f"{name} lies outside its folder")
        if sha256(path) != expected:
            raise ValueError(f"{name} was changed after the run (its SHA-256 differs)")
    named = [entry.get("file") if isinstance(entry, dict) else None
             for entry in [*manifest.get("summaries", []), *manifest.get("figures", {}).values(),
                           *manifest.get("predictions", {}).values()]]
    for name in named:
        if name not in files:
            raise ValueError(f"its manifest names a file that is not part of the result: {name!r}")
    for name in (HISTORY, METRICS, LOG):
        if (folder / name).exists() and name not in files:
            raise ValueError(f"{name} was added after the run")
    result = StoredResult(folder, manifest)
    for name, value in ((HISTORY, lambda: result.history), (METRICS, lambda: result.metrics)):
        try:
            if not isinstance(value(), dict):
                raise ValueError(f"{name} is not a JSON object")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name} is not text") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} is not valid JSON") from exc
    return result


class ResultStore:
    """Finds, loads, commits and prunes results under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: dict[Path, str] = {}  # folder -> why its result was not used (warned once)

    def folder(self, recipe: str, key: str) -> Path:
        return self.root / recipe / key

    def _shown(self, path: Path) -> str:
        """``path`` as a message shows it: relative to the project (the store's parent)."""
        try:
            return path.relative_to(self.root.parent).as_posix()
        except ValueError:
            return str(path)

    def _warn(self, folder: Path, message: str) -> None:
        if folder not in self.problems:  # the plan and the render stage both load a result
            self.problems[folder] = message
            log.warning(message)

    def _check(self, recipe: str, key: str) -> tuple[StoredResult | None, str | None]:
        """The verified result, or None and why (None, None: there is none). Misplaced ones are quarantined."""
        folder = self.folder(recipe, key)
        if not (folder / MANIFEST).is_file():
            return None, None
        try:
            return verify(folder, recipe, key), None
        except _Misplaced as exc:
            try:
                moved = self.quarantine(folder)
            except OSError as error:
                return None, (f"{self._shown(folder)}: {exc}; it could not be moved aside "
                              f"({error.strerror or error}): move or delete it")
            return None, (f"{self._shown(folder)}: {exc}; moved to {self._shown(moved)} "
                          f"so that it is not re-run on every build")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return None, f"ignoring result {self._shown(folder)}: {exc}; it will be re-run and replaced"

    def load(self, recipe: str, key: str) -> StoredResult | None:
        """The stored result if it verifies, or None: missing, or a miss with a warning naming the folder."""
        result, problem = self._check(recipe, key)
        if problem:
            self._warn(self.folder(recipe, key), problem)
        return result

    def quarantine(self, folder: Path) -> Path:
        """Move ``folder`` to ``.quarantine/<recipe>/`` in the store (ignored by git); returns where.

        ``OSError`` if ``folder`` or the quarantine is reached through a symbolic link: a move
        never carries a folder out of the store or into a place outside it.
        """
        base = self.root / QUARANTINE
        for path in (folder, base / folder.parent.name / folder.name):
            problem = confinement_problem(path, self.root)
            if problem is not None:
                raise OSError(errno.EPERM, f"not moved: {problem}")
        base.mkdir(parents=True, exist_ok=True)
        ignore = base / ".gitignore"
        if not ignore.is_file():
            atomic_write_text(ignore, "# results litblog set aside: not results, never committed\n*\n")
        target = base / folder.parent.name / folder.name
        target.parent.mkdir(parents=True, exist_ok=True)
        while target.exists():
            target = target.with_name(f"{folder.name}-{secrets.token_hex(3)}")
        os.replace(folder, target)
        return target

    def record_blocked(self, recipe: str, key: str, message: str, needs: list[str]) -> None:
        """Note that the run of ``key`` is blocked by missing files (committed, like results)."""
        folder = self.folder(recipe, key)
        if (folder / MANIFEST).is_file():
            return
        record = {"format": FORMAT_VERSION, "key": key, "recipe": recipe, "message": message, "needs": needs}
        try:
            atomic_write_text(folder / BLOCKED, json.dumps(record, indent=1, sort_keys=True) + "\n")
        except OSError as exc:
            raise UserError(f"cannot write {self._shown(folder / BLOCKED)}: {exc.strerror or exc}",
                            suggestion="check that results/ is writable, then run build-site again") from None

    def load_blocked(self, recipe: str, key: str) -> dict[str, Any] | None:
        """The blocked record of ``key``, if its run is blocked and has no result."""
        folder = self.folder(recipe, key)
        if (folder / MANIFEST).is_file() or not (folder / BLOCKED).is_file():
            return None
        try:
            record = json.loads((folder / BLOCKED).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("message"), str):
            return None
        needs = record.get("needs")
        if not isinstance(needs, list) or not all(_safe_relative(n) for n in needs):
            record["needs"] = []  # a need outside the Keras home is never looked for
        return record

    def new_staging(self, key: str) -> Path:
        """An empty folder on the store's file system to write a run into (normal permissions)."""
        tmp_root = self.root / ".tmp"
        if tmp_root.is_symlink() or (tmp_root.exists() and not tmp_root.is_dir()):
            remove_confined(tmp_root, self.root)  # the link itself: a run is never staged outside the store
        return make_unique_dir(tmp_root, f"{key}-")

    def commit(self, staging: Path, recipe: str, key: str, *, replace: bool = False) -> Path:
        """Seal a complete run and move it into place; an existing verified result with that key wins
        unless ``replace`` (``--force``, or a file the old run read has changed).

        An existing folder that does not verify (edited, corrupt, older format), or one replaced,
        is kept in the quarantine.
        """
        seal(staging)
        target = self.folder(recipe, key)
        problem = confinement_problem(target, self.root)
        if problem is not None:  # a recipe folder linked elsewhere: never written through
            raise OSError(errno.EPERM, f"the result cannot be stored: {problem}", str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        existing, _ = self._check(recipe, key)
        if existing is not None and not replace:
            remove_confined(staging, self.root, ignore_errors=True)
            return target
        if (target / MANIFEST).is_file() and not target.is_symlink():
            self.quarantine(target)
        elif target.exists() or target.is_symlink():  # a blocked record, leftovers of an older run, a link
            if not remove_confined(target, self.root):
                raise OSError(errno.EPERM, f"{self._shown(target)} cannot be replaced", str(target))
        os.replace(staging, target)
        self.problems.pop(target, None)
        return target

    def results(self, recipe: str | None = None) -> Iterator[StoredResult]:
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
        """Remove results whose (recipe, key) is not in ``keep``; the staging and quarantine folders stay.

        A recipe folder that is a symbolic link (say to an archive kept elsewhere) is not followed:
        it is left alone with a warning. A result folder that is a link is removed as a link.
        """
        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        for recipe_dir in sorted(self.root.iterdir()):
            if recipe_dir.name.startswith(".") or not recipe_dir.is_dir():
                continue
            if recipe_dir.is_symlink():
                log.warning(f"--prune: {self._shown(recipe_dir)} is a symbolic link to {os.readlink(recipe_dir)}; "
                            f"not followed, nothing in it was deleted (remove the link to prune it)")
                continue
            for folder in sorted(recipe_dir.iterdir()):
                if (folder.is_dir() or folder.is_symlink()) and (recipe_dir.name, folder.name) not in keep:
                    if remove_confined(folder, self.root):
                        removed.append(folder)
            if not any(recipe_dir.iterdir()):
                recipe_dir.rmdir()
        return removed

    def clean_staging(self) -> None:
        """Remove staging folders left by interrupted runs (no build may be running: hold the lock)."""
        remove_confined(self.root / ".tmp", self.root, ignore_errors=True)
