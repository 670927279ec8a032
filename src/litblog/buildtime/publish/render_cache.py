"""The render cache: a post whose inputs did not change is neither rendered nor written again.

Content-addressed, under ``.litblog/cache/render/`` (``paths.render_cache_dir``):

- ``objects/<sha256>``: every file a post's rendering produced (its ``_posts/`` file, its preview
  page, its assets), named by the SHA-256 of its bytes. ``site/`` files are hard links to them,
  so reusing a post's output writes nothing (a copy where links are not possible).
- ``posts/<entry>.json``: one entry per rendering. Its name is the digest of what every build
  hands the renderer: litblog's build code and the versions of the libraries it renders with,
  the templates, ``_config.yml``, the post file's bytes, and its experiments' outcomes (each
  run's key, the seal of its stored result, the notice it would show, the recipe file's bytes).
  Inside: the files the rendering read besides those (recorded by ``render_inputs.py``, with
  their digests), the outputs by site path, and the warnings it gave.

A post is a hit when its entry exists, every recorded file still has its digest and every
output object is there with its bytes (checked by identity, hashed again when it changed: a
``site/`` file edited in place edits its object). Digests come from ``identity.FileDigests`` (by path, size, mtime_ns,
inode), so a hit costs a few ``stat`` calls. Index pages, the feed (Jekyll's) and the build
report list posts and are written by every build; so are the templates' and ``static/`` files.
Everything here is safe to delete: the next build renders again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ...common import paths
from ...common.fsutil import atomic_write_bytes, atomic_write_text
from ..sources.identity import FileDigests, build_code_digest, digest_json, tree_digest
from ..execute.outcomes import ExperimentOutcome
from ..sources.posts import Post
from .render_inputs import RenderInputs

FORMAT = 1


@dataclass(frozen=True)
class CachedPost:
    """A post whose output is reused: its files by site path (``_posts/x.md``, ``_site/...``) and digest."""

    post: Post
    url: str
    outputs: dict[str, str]
    warnings: tuple[str, ...] = ()


@dataclass
class Pending:
    """A post being rendered this build: its entry's name and what its rendering read."""

    entry: str
    inputs: RenderInputs | None = None
    outputs: dict[str, str] = field(default_factory=dict)


def outcomes_digest(outcomes: dict[str, ExperimentOutcome], digests: FileDigests) -> list[Any]:
    """What a post's rendering takes from the plan and the store, as plain data."""
    data: list[Any] = []
    for name, outcome in sorted(outcomes.items()):
        runs = []
        for run in outcome.runs:
            experiment = run.experiment
            seal = run.result.manifest.get("digests", {}).get("manifest") if run.result is not None else None
            recipe_file = experiment.recipe.file
            runs.append([run.seed, experiment.key, experiment.label, seal, run.failure, outcome.failure, experiment.blocked,
                         str(recipe_file), digests.digest(recipe_file)])
        data.append([name, runs])
    return data


class RenderCache:
    """Entries and objects of one project; one instance per build."""

    def __init__(self, root: Path, templates_dir: Path, digests: FileDigests, *, context: dict[str, Any]) -> None:
        self.root = root
        self.folder = paths.render_cache_dir(root)
        self.objects = self.folder / "objects"
        self.entries = self.folder / "posts"
        self.digests = digests
        self.used: set[str] = set()
        self.base = digest_json([FORMAT, build_code_digest(digests), tree_digest(templates_dir, digests),
                                  self._file_digest(root / "_config.yml"), context])

    def _file_digest(self, path: Path) -> str | None:
        try:
            return self.digests.digest(path)
        except OSError:
            return None

    def entry_name(self, post: Post, outcomes: dict[str, ExperimentOutcome]) -> str:
        """The entry of ``post`` rendered with ``outcomes`` under this build's code, templates and config."""
        return digest_json([self.base, post.path, self._file_digest(self.root / post.path),
                             outcomes_digest(outcomes, self.digests)])[:40]

    def lookup(self, post: Post, url: str, entry: str) -> CachedPost | None:
        """The reusable output of ``entry``, or None (never rendered, or an input it read changed)."""
        try:
            data = json.loads((self.entries / f"{entry}.json").read_text(encoding="utf-8"))
            for name, digest in data["files"].items():
                if self._file_digest(self.root / name) != digest:
                    return None
            outputs: dict[str, str] = data["outputs"]
            if not all(self.object_ok(digest) for digest in set(outputs.values())):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.used.add(entry)
        return CachedPost(post, url, outputs, tuple(data.get("warnings", ())))

    def listing(self, name: str, inputs: Any, render: Callable[[], str]) -> str:
        """The text of a page that lists posts (the preview's home page), which every build writes:
        ``render()`` only when ``inputs`` (plain data: what is listed) or this build's code,
        templates, config or context changed; else the text stored last time, so a no-op rebuild
        neither imports Jinja2 nor renders it."""
        entry = f"{name}-{digest_json([self.base, inputs])[:40]}"
        try:
            digest = json.loads((self.entries / f"{entry}.json").read_text(encoding="utf-8"))["outputs"][name]
            if self.object_ok(digest):
                self.used.add(entry)
                return self.object_path(digest).read_bytes().decode("utf-8")
        except (OSError, ValueError, KeyError, TypeError):
            pass
        text = render()
        try:
            # In the posts' entry format, so that prune() keeps the object while the entry is used.
            atomic_write_text(self.entries / f"{entry}.json",
                              json.dumps({"files": {}, "outputs": {name: self.put_bytes(text.encode("utf-8"))}}),
                              durable=False)
            self.used.add(entry)
        except OSError:
            pass  # a cache: the next build renders it again
        return text

    def object_path(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest[2:]

    def object_ok(self, digest: str) -> bool:
        """The object is there with its bytes. ``site/`` files are links to objects, so a file of
        site/ edited in place (an editor that rewrites the same file) changes its object too:
        its identity changed, it is hashed again, and a mismatch makes it a miss."""
        try:
            return self.digests.digest(self.object_path(digest)) == digest
        except OSError:
            return False

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` as an object; returns its digest."""
        digest = hashlib.sha256(data).hexdigest()
        if not self.object_ok(digest):
            path = self.object_path(digest)
            # A new file: links to a damaged one keep their bytes. Not synced: an object is checked
            # by its digest (object_ok), so one lost in a crash is stored again.
            atomic_write_bytes(path, data, durable=False)
            self.digests.known(path, digest)
        return digest

    def put_file(self, source: Path) -> str:
        """Store the file ``source`` (an asset) as an object; returns its digest."""
        digest = self.digests.digest(source)
        if not self.object_ok(digest):
            path = self.object_path(digest)
            atomic_write_bytes(path, source.read_bytes(), durable=False)
            self.digests.known(path, digest)
        return digest

    def save(self, pending: Pending, warnings: Iterable[str]) -> None:
        """Record the entry of a post rendered this build (after its outputs were stored)."""
        files: dict[str, str] = {}
        if pending.inputs is not None:
            for name in sorted(pending.inputs.files):
                digest = self._file_digest(self.root / name)
                if digest is None:
                    return  # read, then gone: nothing to reuse next time
                files[name] = digest
        data = {"files": files, "outputs": pending.outputs, "warnings": list(warnings)}
        try:
            atomic_write_text(self.entries / f"{pending.entry}.json", json.dumps(data, sort_keys=True), durable=False)
        except OSError:
            return  # a cache: the next build renders again
        self.used.add(pending.entry)

    def prune(self, keep_extra: int = 50) -> None:
        """Drop entries this build did not use, and objects no kept entry names, once they pile up."""
        try:
            names = [p for p in self.entries.iterdir() if p.suffix == ".json"]
        except OSError:
            return
        if len(names) <= 2 * len(self.used) + keep_extra:
            return
        referenced: set[str] = set()
        for path in names:
            if path.stem in self.used:
                try:
                    referenced.update(json.loads(path.read_text(encoding="utf-8"))["outputs"].values())
                except (OSError, ValueError, KeyError):
                    pass
            else:
                path.unlink(missing_ok=True)
        for folder in self.objects.glob("*"):
            for path in folder.glob("*"):
                if folder.name + path.name not in referenced:
                    path.unlink(missing_ok=True)
