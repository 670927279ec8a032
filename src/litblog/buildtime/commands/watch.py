"""The project's sources, watched while experiments run: a run that edits them is reported.

A recipe writes through ``ctx`` (into its result); one that writes into ``posts/``, the recipes,
the templates or ``_config.yml`` changes what the next build reads, and this build was planned
and parsed from the files as they were. The build compares a snapshot of those files (size,
modification time, inode) taken before the runs with one taken after, and warns naming each
changed file. An edit the author saved during the build is reported alike: the warning says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..sources.config import CONFIG_NAME, SiteConfig

# Written by Python itself when a module is imported: not an edit of the sources.
_IGNORED_PARTS = ("__pycache__",)
_IGNORED_SUFFIXES = (".pyc",)

Snapshot = dict[str, tuple[int, int, int]]  # project-relative path -> (size, mtime_ns, inode)


def watched_folders(config: SiteConfig) -> list[Path]:
    """The folders a run must leave alone: posts, recipes, templates (``_config.yml`` is watched too)."""
    return [config.path(name) for name in ("posts_dir", "recipes_dir", "templates_dir")]


def snapshot(config: SiteConfig) -> Snapshot:
    """Every watched file with its size, modification time and inode (no file is read)."""
    root = config.root
    found: Snapshot = {}
    files: list[Path] = [root / CONFIG_NAME]
    for folder in watched_folders(config):
        if folder.is_dir() and not folder.is_symlink():
            for parent, dirs, names in os.walk(folder):
                dirs[:] = [d for d in dirs if d not in _IGNORED_PARTS]
                files += [Path(parent) / name for name in names if not name.endswith(_IGNORED_SUFFIXES)]
    for file in files:
        try:
            stat = file.lstat()
        except OSError:
            continue
        found[file.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    return found


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """The files added, removed or changed between two snapshots, sorted."""
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def warnings(before: Snapshot, after: Snapshot, labels: Iterable[str]) -> list[str]:
    """The warning for sources changed while the runs of ``labels`` were in progress (none if unchanged)."""
    names = changed(before, after)
    if not names:
        return []
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    runs = ", ".join(sorted(set(labels)))
    return [f"files of the project's sources changed while experiments ran ({runs}): {shown}; a recipe should "
            f"write only through ctx (into its result), and this build used the files as they were before the runs "
            f"(if you edited them meanwhile, build again)"]
