"""A worker's process group: the worker leads its own, so signalling the group reaches whatever
the recipe started as well. Both ways a worker starts (:mod:`.launch`'s fresh interpreter,
:mod:`.warm`'s fork) stop and clean up through these."""

from __future__ import annotations

import os
import signal
import time
from typing import Protocol

TERMINATE_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


class WorkerProcess(Protocol):
    """A running worker, whichever way it was started."""

    pid: int
    warm: bool  # forked from a warm server rather than a fresh interpreter

    def exited(self) -> bool:
        """Whether the worker has exited; its pid stays reserved until :meth:`end_group`."""

    @property
    def returncode(self) -> int | None:
        """The exit status once exited (negative: the signal that killed it), else None."""

    def terminate(self, grace: float = TERMINATE_GRACE) -> None:
        """SIGTERM to the worker's group, SIGKILL after ``grace`` seconds; returns once it has exited."""

    def end_group(self) -> None:
        """Kill what is left of the exited worker's group (processes a recipe forked), then release it."""


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a worker's whole process group; a group that is gone is fine."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_group(worker: WorkerProcess, grace: float = TERMINATE_GRACE) -> None:
    """SIGTERM the worker's group, SIGKILL it after ``grace`` seconds (also once the worker itself
    stopped: a process it forked may ignore SIGTERM). Returns once the worker has exited."""
    if worker.exited():
        kill_group(worker.pid)
        return
    kill_group(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not worker.exited():
        time.sleep(0.05)
    kill_group(worker.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not worker.exited():
        time.sleep(0.05)
