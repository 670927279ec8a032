"""Posts read and parsed once per change: the stages 2 and 3 of a post whose file did not change
are taken from ``.litblog/cache/parsed/``.

Reading a post parses its front matter and every directive's options as YAML (pure-Python PyYAML),
about 4 ms a post: most of a no-op rebuild of a large blog. An entry is a pickle of the post's
:class:`~litblog.buildtime.sources.posts.Post` and :class:`~litblog.buildtime.directives.ParsedPost`, named by the
digest of the post's path, its bytes (``identity.FileDigests``, so a look costs a ``stat``) and
litblog's build code (``identity.build_code_digest``: a change to the parser parses again).
A post with a mistake is never cached: it is read again and its error reported. Safe to delete.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from ...common import paths
from ...common.fsutil import atomic_write_bytes
from ..directives import ParsedPost, parse_post
from ..sources.identity import FileDigests
from ..sources.posts import Post, read_post
from ..sources.identity import build_code_digest

_KEEP_EXTRA = 50
# Entries loaded in this process, by name (a name is the digest of the post's bytes and the code):
# ``serve`` builds again and again in one process and need not unpickle a thousand posts each time.
_LOADED: dict[str, tuple[Post, ParsedPost]] = {}
_LOADED_LIMIT = 20_000


class ParseCache:
    """The parsed posts of one project; one instance per build."""

    def __init__(self, root: Path, digests: FileDigests) -> None:
        self.root = root
        self.folder = paths.cache_dir(root) / "parsed"
        self.digests = digests
        self._code = build_code_digest(digests)
        self._names: dict[str, str] = {}  # post path -> entry name
        self._entries: dict[str, tuple[Post, ParsedPost]] = {}
        self.used: set[str] = set()

    def _name(self, file: Path) -> str | None:
        try:
            digest = self.digests.digest(file)
        except OSError:
            return None
        relative = os.path.relpath(file, self.root)
        return hashlib.sha256(f"{self._code}\0{relative}\0{digest}".encode()).hexdigest()[:40]

    def _load(self, name: str) -> tuple[Post, ParsedPost] | None:
        if name in self._entries:
            return self._entries[name]
        if name in _LOADED:
            self._entries[name] = _LOADED[name]
            self.used.add(name)
            return _LOADED[name]
        try:
            entry = pickle.loads((self.folder / f"{name}.pickle").read_bytes())
        except Exception:  # noqa: BLE001 (a cache: anything unreadable is a miss)
            return None
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], ParsedPost)):
            return None
        self._entries[name] = entry
        self.used.add(name)
        if len(_LOADED) < _LOADED_LIMIT:
            _LOADED[name] = entry
        return entry

    def read(self, file: Path) -> Post:
        """``read_post(file, root)``, from the cache when the file is unchanged."""
        name = self._name(file)
        if name is not None:
            entry = self._load(name)
            if entry is not None:
                self._names[entry[0].path] = name
                return entry[0]
        post = read_post(file, self.root)
        if name is not None:
            self._names[post.path] = name
        return post

    def parse(self, post: Post) -> ParsedPost:
        """``parse_post(post)``, from the cache when the post's file is unchanged."""
        name = self._names.get(post.path)
        if name is not None:
            entry = self._entries.get(name) or self._load(name)
            if entry is not None and entry[0] is post:
                return entry[1]
        parsed = parse_post(post)
        if name is not None:
            self._entries[name] = (post, parsed)
            self.used.add(name)
            if len(_LOADED) < _LOADED_LIMIT:
                _LOADED[name] = (post, parsed)
            try:
                atomic_write_bytes(self.folder / f"{name}.pickle", pickle.dumps((post, parsed), protocol=4),
                                   durable=False)  # a cache: a file cut short by a crash does not unpickle
            except (OSError, pickle.PicklingError, TypeError, AttributeError):
                pass
        return parsed

    def prune(self) -> None:
        """Drop entries no post used this build, once they pile up."""
        try:
            names = [p for p in self.folder.iterdir() if p.suffix == ".pickle"]
        except OSError:
            return
        if len(names) > 2 * len(self.used) + _KEEP_EXTRA:
            for path in names:
                if path.stem not in self.used:
                    path.unlink(missing_ok=True)


__all__ = ["ParseCache"]
