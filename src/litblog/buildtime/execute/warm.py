"""Warm workers, the build's side: a server with TensorFlow imported forks each run.

A fresh worker spends seconds importing TensorFlow before it trains anything. The warm server
(``python -m litblog.runtime.warm_server``, see :mod:`litblog.runtime.warm_server`) pays that once: it imports
TensorFlow, Keras, NumPy and Matplotlib and litblog's run-time modules, then forks one child
per experiment. The child runs the same :func:`litblog.runtime.worker.main` a fresh worker runs, in a
new session, with the run's log and event pipe, so one experiment is still one process and a
crash ends one run; the server itself never runs a recipe or creates a TensorFlow op, so every
child starts from the state a fresh interpreter has after its imports (tested:
``tests/test_warm.py``).

The server outlives the build that started it: it serves later builds of the same project
(and ``build-site serve --run`` edits) and exits after ``warm_workers`` seconds without work.
It is found by name, an abstract Unix socket derived from everything its imports depend on:
the interpreter, litblog's own source, the project, and the environment variables TensorFlow,
Keras and Python read at import time. Change any of them and the next build starts a new one;
the old one sees it is no longer current and exits. Only processes of the same user are served.

Linux only (abstract sockets, ``SO_PEERCRED``); elsewhere, or with ``warm_workers: 0``, each
run gets a fresh interpreter. A server that cannot be reached or started makes runs cold, never
failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from ...common.fsutil import atomic_write_text
from .process_group import TERMINATE_GRACE, kill_group, stop_group

WARM_ENV = "LITBLOG_WARM_WORKERS"  # overrides the config: seconds a server waits for work; 0: off
DEFAULT_IDLE = 600.0
START_TIMEOUT = 180.0  # importing TensorFlow on a busy machine can take a while
SUPPORTED = sys.platform.startswith("linux") and hasattr(socket, "send_fds") and hasattr(socket, "SO_PEERCRED")
# Environment variables read at import time by Python, TensorFlow, Keras, Matplotlib and the
# libraries below them: the server's imports depend on these, a child's os.environ on the rest.
IMPORT_ENV_PREFIXES = ("PYTHON", "TF_", "TENSORFLOW", "KERAS", "CUDA", "XLA_", "NVIDIA", "OMP_", "MKL", "KMP_",
                       "OPENBLAS", "LD_", "MPL", "LC_")
IMPORT_ENV_NAMES = ("HOME", "LANG", "TMPDIR")
MESSAGE_BYTES = 1 << 20


def idle_seconds(configured: float | None) -> float:
    """How long a server waits for work: ``LITBLOG_WARM_WORKERS`` over the config, 0 when off."""
    value = os.environ.get(WARM_ENV)
    if value is not None and value.strip():
        try:
            return max(0.0, float(value))
        except ValueError:
            return 0.0
    return DEFAULT_IDLE if configured is None else max(0.0, float(configured))


def package_digest() -> str:
    """litblog's own source: a server that imported other code must not fork this build's runs."""
    package = Path(__file__).resolve().parents[2]  # all of litblog
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def server_name(project_root: Path, env: dict[str, str]) -> str:
    """The abstract socket name of the warm server for ``project_root`` with workers' ``env``."""
    imported = sorted((k, v) for k, v in env.items()
                      if k.startswith(IMPORT_ENV_PREFIXES) or k in IMPORT_ENV_NAMES)
    material = json.dumps([sys.executable, package_digest(), str(project_root.resolve()), imported])
    return "litblog-warm-" + hashlib.sha256(material.encode()).hexdigest()[:32]


def send(conn: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(conn, [data], fds)
    else:
        conn.send(data)


def receive(conn: socket.socket, timeout: float | None) -> dict[str, Any] | None:
    """The next message, or None when the other side closed; TimeoutError after ``timeout``."""
    ready, _, _ = select.select([conn], [], [], timeout)
    if not ready:
        raise TimeoutError
    data = conn.recv(MESSAGE_BYTES)
    return json.loads(data) if data else None


class WarmServer:
    """The warm server of one project, started on first use; forks workers for :func:`launch_worker`."""

    def __init__(self, project_root: Path, env: dict[str, str], idle: float, log_path: Path,
                 state_dir: Path) -> None:
        self.project_root = project_root
        self.env = env
        self.idle = idle
        self.log_path = log_path
        self.state_dir = state_dir
        self.name = server_name(project_root, env)
        self.unusable: str | None = None if SUPPORTED else "not supported on this platform"

    def start(self) -> None:
        """Start the server unless one answers already; returns without waiting for its imports."""
        if self.unusable or self._connect() is not None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.state_dir / "current", self.name + "\n")
        with open(self.log_path, "ab") as log:
            subprocess.Popen(
                [sys.executable, "-m", "litblog.runtime.warm_server", self.name, "--idle", str(self.idle),
                 "--state", str(self.state_dir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                cwd=self.project_root, start_new_session=True,  # it outlives this build on purpose
            )

    def _connect(self) -> socket.socket | None:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            conn.connect("\0" + self.name)
        except OSError:
            conn.close()
            return None
        return conn

    def fork(self, spec_path: Path, *, cwd: Path, log: IO[bytes], event_fd: int,
             env: dict[str, str]) -> "WarmWorker | None":
        """A worker forked by the server, or None (and the server unused from now on) when it cannot."""
        if self.unusable:
            return None
        conn = None
        deadline = time.monotonic() + 10  # a server just started binds its socket at once
        while conn is None and time.monotonic() < deadline:
            conn = self._connect()
            if conn is None:
                time.sleep(0.05)
        if conn is None:
            return self._give_up("the warm server did not start (see .litblog/logs/warm-server.log)")
        try:
            send(conn, {"run": {"argv": [str(spec_path)], "cwd": str(cwd), "env": env}},
                 [log.fileno(), event_fd])
            reply = receive(conn, START_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            conn.close()
            return self._give_up(f"the warm server did not answer ({type(exc).__name__})")
        if not reply or "pid" not in reply:
            conn.close()
            return self._give_up(f"the warm server refused the run: {(reply or {}).get('error', 'it exited')}")
        return WarmWorker(conn, int(reply["pid"]))

    def _give_up(self, reason: str) -> None:
        self.unusable = reason
        return None


class WarmWorker:
    """A worker forked by the warm server; its exit status arrives over the connection."""

    warm = True

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self.conn = conn
        self.pid = pid
        self._code: int | None = None

    @property
    def returncode(self) -> int | None:
        if self._code is None:
            self._poll(0)
        return self._code

    def _poll(self, timeout: float) -> None:
        try:
            message = receive(self.conn, timeout)
        except TimeoutError:
            return
        except (OSError, ValueError):
            message = None
        if message is None:  # the server died: its children got SIGTERM (PR_SET_PDEATHSIG)
            kill_group(self.pid)
            self._code = -9
        elif "exit" in message:
            self._code = int(message["exit"])

    def exited(self) -> bool:
        return self.returncode is not None

    def terminate(self, grace: float = TERMINATE_GRACE) -> None:
        stop_group(self, grace)

    def end_group(self) -> None:
        if self._code is None:
            kill_group(self.pid)
            deadline = time.monotonic() + 10
            while self._code is None and time.monotonic() < deadline:
                self._poll(0.2)
        kill_group(self.pid)  # processes the recipe forked and left running
        try:
            send(self.conn, {"reap": True})  # only now may the server release the pid
            receive(self.conn, 10)
        except (OSError, TimeoutError, ValueError):
            pass
        self.conn.close()
