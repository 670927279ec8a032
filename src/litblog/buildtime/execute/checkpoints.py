"""Housekeeping of the per-epoch checkpoints runs keep under ``.litblog/checkpoints/``.

Build-time code: the build removes the checkpoints of runs that finished or were abandoned.
Writing and reading checkpoints is the worker's business (:mod:`litblog.runtime.resume`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ...common.fsutil import remove_confined


def remove_stale(root: Path, keep: set[str]) -> None:
    """Delete checkpoint folders (and key locks) of keys not in ``keep``: runs that finished or were abandoned.

    A key whose lock (``<key>.lock``, held by its worker while it runs) is taken is left
    alone: a worker is still writing there.
    """
    if not root.is_dir():
        return
    for entry in root.iterdir():
        key = entry.name[:-len(".lock")] if entry.name.endswith(".lock") else entry.name
        if key in keep:
            continue
        lock = root / f"{key}.lock"
        if entry.is_dir():
            if not _in_use(lock):
                remove_confined(entry, root, ignore_errors=True)
        elif entry == lock and not (root / key).exists() and not _in_use(lock):
            remove_confined(lock, root, ignore_errors=True)


def _in_use(lock: Path) -> bool:
    """Whether a worker holds ``lock`` (see ``litblog.runtime.worker.key_lock``)."""
    import fcntl

    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)
