"""Where a run came from: the repository state it ran at, recorded in its manifest.

Build-time code (no TensorFlow): the build asks git once (:func:`forget` at the start of each
batch of runs: ``serve`` builds for hours in one process while the author edits and commits)
and hands the answer to every worker it starts, so a worker needs neither git nor the repository's history. Besides the commit and
whether the tree is dirty, each worker gets the untracked or modified files among its code and
the project's other changed files (those ``ctx.input_file`` may read); the worker records those
it used as ``dirty_files`` (``common/dirty.py``).
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any, Iterable


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@functools.lru_cache(maxsize=8)
def changed_files(root: Path) -> frozenset[str]:
    """Project-relative paths (POSIX) of files under ``root`` that are untracked (and not ignored)
    or differ from the commit, staged or not; empty where git or a commit is absent."""
    if _git(root, "rev-parse", "--verify", "-q", "HEAD") is None:
        return frozenset()
    modified = _git(root, "diff", "--name-only", "-z", "--relative", "HEAD") or ""
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z") or ""
    return frozenset(p for p in (modified + untracked).split("\0") if p)


def run_repository(root: Path, code_files: Iterable[str], skip: Iterable[str] = ()) -> dict[str, Any]:
    """A worker spec's ``repository``: the commit and dirty state, the run's ``code_files`` that are
    changed, and the other changed files it may read (``skip``: folders that are no input, such as
    results and the site)."""
    changed = changed_files(root)
    code = sorted(set(code_files) & changed)
    prefixes = tuple(f"{folder.rstrip('/')}/" for folder in skip)
    others = sorted(p for p in changed - set(code) if not p.startswith(prefixes))
    return {**repository_state(root), "changed_code": code, "changed_files": others}


@functools.lru_cache(maxsize=8)
def repository_state(root: Path) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` for the git work tree holding ``root``.

    Dirty means tracked files differ from the commit (untracked files alone do not count: scratch
    folders and new drafts are common and change no run; an untracked file a run used makes that
    run dirty, see :func:`run_repository`). None where git or a repository is absent.
    """
    commit = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def forget() -> None:
    """Ask git again on the next question: the repository may have changed since the last build."""
    changed_files.cache_clear()
    repository_state.cache_clear()
