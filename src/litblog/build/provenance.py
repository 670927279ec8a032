"""Where a run came from: the repository state it ran at, recorded in its manifest.

Build-time code (no TensorFlow): the build asks git once and hands the answer to every worker
it starts, so a worker needs neither git nor the repository's history.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=8)
def repository_state(root: Path) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` for the git work tree holding ``root``.

    Dirty means tracked files differ from the commit (untracked files do not count: scratch
    folders and new drafts are common and change no run). None where git or a repository is absent.
    """
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "--verify", "-q", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}
