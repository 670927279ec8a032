"""Starting one worker process, the one way every executor does it.

The local executor (:mod:`litblog.buildtime.execute.execute`) and the Dask task (:mod:`litblog.buildtime.execute.dask_executor`)
both call :func:`launch_worker`: it sets the worker's environment (:func:`worker_environment`),
points its stdout and stderr at the run's log and its events at a pipe, and returns a
:class:`WorkerProcess`. The worker leads its own process group, so stopping it
(:meth:`WorkerProcess.terminate`) and cleaning up after it (:meth:`WorkerProcess.end_group`)
reach whatever the recipe started as well.

A worker is either a fresh interpreter (``python -m litblog.runtime.worker SPEC``) or, where a warm
server is up (:mod:`litblog.buildtime.execute.warm`), a fork of a process that has TensorFlow imported already.
Both run the same :func:`litblog.runtime.worker.main`; the handle hides which.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ...common.protocol import EVENT_FD_ENV, PARENT_PID_ENV
from .process_group import TERMINATE_GRACE, WorkerProcess, kill_group, stop_group

if TYPE_CHECKING:
    from .warm import WarmServer

PACKAGE_PARENT = str(Path(__file__).resolve().parents[3])


def worker_environment(base: dict[str, str] | None = None, *, gpu: str | None = None) -> dict[str, str]:
    """The environment of a worker (and of a warm server): the same for every executor.

    ``PYTHONPATH`` names this litblog first, so the worker runs the code that keyed its run;
    the hash seed is fixed, output unbuffered, TensorFlow's C++ chatter and Matplotlib's GUI off.
    """
    env = dict(os.environ if base is None else base)
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p),
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "MPLBACKEND": "Agg",
    })
    env.pop(EVENT_FD_ENV, None)
    env.pop(PARENT_PID_ENV, None)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    return env


class ColdWorker:
    """A worker in a fresh interpreter, a child of this process."""

    warm = False

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.pid = process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process.returncode is not None else self._peek()

    def _peek(self) -> int | None:
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self.process.poll()
        if info is None:
            return None
        return -info.si_status if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED) else info.si_status

    def exited(self) -> bool:
        # Left unreaped, the pid (and so the group id) cannot be reused before end_group kills the group.
        return self.returncode is not None

    def terminate(self, grace: float = TERMINATE_GRACE) -> None:
        stop_group(self, grace)

    def end_group(self) -> None:
        if self.process.returncode is None:
            kill_group(self.pid)
        self.process.wait()


def launch_worker(spec_path: Path, *, cwd: Path, log: IO[bytes], event_fd: int, env: dict[str, str],
                  parent_pid: int | None = None, warm: "WarmServer | None" = None) -> WorkerProcess:
    """Start ``python -m litblog.runtime.worker SPEC`` (or its warm fork) writing to ``log`` and ``event_fd``.

    ``env`` is :func:`worker_environment`'s; the worker stops when ``parent_pid`` (default: this
    process) dies. With ``warm``, the worker is forked from that server when it answers, and
    started cold otherwise: a warm server that fails never fails a run.
    """
    env = dict(env)
    env[PARENT_PID_ENV] = str(parent_pid or os.getpid())
    if warm is not None:
        worker = warm.fork(spec_path, cwd=cwd, log=log, event_fd=event_fd, env=env)
        if worker is not None:
            return worker
    env[EVENT_FD_ENV] = str(event_fd)
    process = subprocess.Popen(
        [sys.executable, "-m", "litblog.runtime.worker", str(spec_path)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        pass_fds=(event_fd,), env=env, cwd=cwd,
        start_new_session=True,  # Ctrl-C reaches the build; the build stops its workers
    )
    return ColdWorker(process)

