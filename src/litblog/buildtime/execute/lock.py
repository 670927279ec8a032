"""A lock so two builds of one project never write the result store or ``site/`` at once."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Callable

from ...common.errors import LitblogError


class BuildLocked(LitblogError):
    """Another build holds the lock and we were asked not to wait."""

    exit_code = 2


class BuildLock:
    """An exclusive ``flock`` on ``.litblog/build.lock``, released when the process ends, even by kill -9."""

    def __init__(self, path: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.wait = wait
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> "BuildLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            if not self.wait:
                os.close(fd)
                raise BuildLocked(f"another build-site (pid {holder}) is building this project; "
                                  f"try again when it has finished") from None
            if self.on_wait:
                self.on_wait(f"waiting for another build-site (pid {holder}) to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
