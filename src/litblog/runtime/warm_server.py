"""The warm server: ``python -m litblog.runtime.warm_server NAME --idle SECONDS --state DIR``.

Imports what every worker imports (TensorFlow, Keras, NumPy, Matplotlib, litblog's run-time
modules), then serves fork requests on the abstract Unix socket ``NAME`` (see
:mod:`litblog.buildtime.execute.warm` for the build's side and why). Single-threaded on purpose: a process
that forks must not have threads holding locks.

Per request (one connection each): receive the run's argv, cwd, environment and two file
descriptors (the log, the event pipe); fork; the child starts a new session, takes the log as
stdout and stderr, replaces its environment and runs :func:`litblog.runtime.worker.main`. The server
answers the child's pid, later its exit status, and reaps it only when the build says so (so
the build can kill the child's process group without the pid being reused). A build that goes
away mid-run (its connection closes) gets its child stopped: SIGTERM to the group, SIGKILL
after a grace period. Nothing here creates a TensorFlow op: a child starts where a fresh
worker would be after its imports.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.protocol import EVENT_FD_ENV, EXIT_FAILED

KILL_GRACE = 10.0
MESSAGE_BYTES = 1 << 20


@dataclass
class _Child:
    conn: socket.socket
    pid: int
    code: int | None = None
    orphaned_at: float | None = None  # when the build's connection closed before the child exited


def preload() -> None:
    """Import what workers import, so forks start with it; no op is run, no model made."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import PIL.Image  # noqa: F401
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    from . import context, finetune, pretrained, resume, worker  # noqa: F401
    from ..common import datasets, figures  # noqa: F401


def _peer_uid(conn: socket.socket) -> int:
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[2]


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass


def _run_child(request: dict[str, Any], fds: list[int], keep: list[int]) -> None:
    """In the forked child: become the worker. Never returns."""
    code = EXIT_FAILED
    try:
        for fd in keep:
            os.close(fd)
        os.setsid()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        log_fd, event_fd = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        for fd in (devnull, log_fd):
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[EVENT_FD_ENV] = str(event_fd)
        sys.argv = ["litblog.runtime.worker", *request["argv"]]
        from . import worker

        code = worker.main(request["argv"], forked=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_FAILED
    except BaseException:
        try:
            traceback.print_exc()
        except Exception:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)


class Server:
    def __init__(self, name: str, idle: float, state: Path) -> None:
        self.name = name
        self.idle = idle
        self.state = state
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.selector = selectors.DefaultSelector()
        self.children: dict[socket.socket, _Child] = {}
        self.last_work = time.monotonic()

    def bind(self) -> bool:
        try:
            self.listener.bind("\0" + self.name)
        except OSError:
            return False  # another server of the same name won the race: it serves
        self.listener.listen(64)
        return True

    def serve(self) -> None:
        self.selector.register(self.listener, selectors.EVENT_READ)
        while True:
            for key, _ in self.selector.select(timeout=0.2):
                if key.fileobj is self.listener:
                    self._accept()
                else:
                    self._message(key.fileobj)  # type: ignore[arg-type]
            self._check_children()
            if self.children:
                self.last_work = time.monotonic()
            elif time.monotonic() - self.last_work > self.idle or not self._current():
                return

    def _current(self) -> bool:
        """Whether builds still use this server: a newer one for the project replaces it, and
        removing the project's ``.litblog/`` (``make clean``) retires it."""
        try:
            return (self.state / "current").read_text().strip() == self.name
        except FileNotFoundError:
            return False  # the project's .litblog/ (or the project) was removed: nobody will come
        except OSError:
            return True

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        if _peer_uid(conn) != os.getuid():
            conn.close()
            return
        self.selector.register(conn, selectors.EVENT_READ)
        self.last_work = time.monotonic()

    def _message(self, conn: socket.socket) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(conn, MESSAGE_BYTES, 4)
        except OSError:
            data, fds = b"", []
        child = self.children.get(conn)
        if not data:  # the build closed the connection
            for fd in fds:
                os.close(fd)
            if child is None or child.code is not None:
                self._release(conn)
            elif child.orphaned_at is None:
                child.orphaned_at = time.monotonic()
                _signal_group(child.pid, signal.SIGTERM)
            return
        try:
            message = json.loads(data)
        except ValueError:
            message = {}
        if "run" in message and child is None and len(fds) == 2:
            self._fork(conn, message["run"], fds)
        elif message.get("reap") and child is not None and child.code is not None:
            _send(conn, {"reaped": True})
            self._release(conn)
        else:
            for fd in fds:
                os.close(fd)
            _send(conn, {"error": "unexpected message"})

    def _fork(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        keep = [self.listener.fileno(), self.selector.fileno(), *(c.fileno() for c in self._connections())]
        pid = os.fork()
        if pid == 0:
            _run_child(request, fds, keep)
        for fd in fds:
            os.close(fd)
        self.children[conn] = _Child(conn, pid)
        _send(conn, {"pid": pid})
        print(f"forked pid {pid} for {Path(request['argv'][0]).name}", flush=True)

    def _connections(self) -> list[socket.socket]:
        return [key.fileobj for key in self.selector.get_map().values()  # type: ignore[misc]
                if key.fileobj is not self.listener]

    def _check_children(self) -> None:
        for child in list(self.children.values()):
            if child.code is None:
                info = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                if info is not None:
                    killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
                    child.code = -info.si_status if killed else info.si_status
                    if child.orphaned_at is None:
                        _send(child.conn, {"exit": child.code})
                    else:
                        self._release(child.conn)
                        continue
            if child.orphaned_at is not None and time.monotonic() - child.orphaned_at > KILL_GRACE:
                _signal_group(child.pid, signal.SIGKILL)

    def _release(self, conn: socket.socket) -> None:
        """Kill what is left of the child's group, reap the child, forget the connection."""
        child = self.children.pop(conn, None)
        if child is not None:
            _signal_group(child.pid, signal.SIGKILL)
            try:
                os.waitpid(child.pid, 0)
            except ChildProcessError:
                pass
        try:
            self.selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m litblog.runtime.warm_server")
    parser.add_argument("name")
    parser.add_argument("--idle", type=float, default=600.0)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args(argv)
    server = Server(args.name, args.idle, args.state)
    if not server.bind():
        return 0
    # Bound before the slow imports: builds connect and wait instead of starting a second server.
    started = time.perf_counter()
    preload()
    print(f"litblog warm server {args.name} (pid {os.getpid()}): ready in {time.perf_counter() - started:.1f} s",
          flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve()
    finally:
        for conn in list(server.children):
            child = server.children[conn]
            if child.code is None:
                _signal_group(child.pid, signal.SIGTERM)
    print(f"litblog warm server {args.name}: exiting (idle {args.idle:g} s, or replaced)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
