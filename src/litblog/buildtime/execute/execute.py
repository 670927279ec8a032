"""Stage 5, execute: run the missing experiments, each in its own worker process.

A crash, an out-of-memory kill or a timeout ends one worker, not the build. Up to ``jobs``
workers run at once; each stores its own result atomically (see :mod:`litblog.runtime.worker`), and
its whole output goes to ``.litblog/logs/<name>-<key>.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Protocol

from ..sources.config import SiteConfig
from ...common import paths
from ...common.fsutil import atomic_write_text, remove_confined
from .launch import WorkerProcess, launch_worker, worker_environment
from ..plan.plan import PlannedExperiment
from ...common.protocol import RunStatus
from . import provenance
from .provenance import run_repository
from ...common.store import MANIFEST, ResultStore

if TYPE_CHECKING:
    from .warm import WarmServer

TRACEBACK_LINES = 12
TAIL_LINE_CHARS = 400  # one line of a tail shown in the console; a recipe may print megabytes on one line


@dataclass(frozen=True)
class RunOutcome:
    """How one experiment's run ended."""

    experiment: PlannedExperiment
    status: RunStatus
    seconds: float
    log_path: Path
    message: str = ""
    traceback_tail: str = ""
    needs: tuple[str, ...] = ()  # for "blocked": the missing files, relative to the Keras home

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.STORED


class Reporter(Protocol):
    """Receives what happens to runs: used for live progress and the build report."""

    def run_started(self, experiment: PlannedExperiment, log_path: Path) -> None: ...
    def run_event(self, experiment: PlannedExperiment, event: dict[str, Any]) -> None: ...
    def run_finished(self, outcome: RunOutcome) -> None: ...


@dataclass
class _Running:
    experiment: PlannedExperiment
    worker: WorkerProcess
    events_fd: int
    log_path: Path
    started: float
    buffer: bytes = b""
    failure: dict[str, Any] = field(default_factory=dict)
    stored: bool = False  # the worker said so in its last event
    timed_out: bool = False
    gpu: str | None = None
    said_all: bool = False  # its events pipe reached its end: only the worker's exit is awaited


def gpu_ids() -> list[str]:
    """The GPUs a worker may use, found without importing TensorFlow.

    ``CUDA_VISIBLE_DEVICES`` wins when set; otherwise NVIDIA's driver lists its GPUs in /proc.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    folder = Path("/proc/driver/nvidia/gpus")
    return [str(i) for i in range(len(list(folder.iterdir())))] if folder.is_dir() else []


# What one CPU worker needs: TensorFlow (~0.6 GB) plus the decoded images of a study-sized run
# (2,000 training and 1,000 held-out images at 160 px as float32: ~0.9 GB) and the model, with room.
WORKER_MEMORY_BYTES = 3 * 2**30
# Threads per CPU worker, from benchmarks/parallel_jobs.py on 2 cores: two study-sized runs
# (model 1, 2,000 images at 160 px) take the same time one after the other with two threads
# each as side by side with one (70.6 s against 69.7 s), while side by side needs twice the
# memory; two small runs side by side finish in 0.77 of the time (pass --jobs 2 for those).
THREADS_PER_WORKER = 2
# Adaptive jobs (when neither --jobs nor jobs: says): a run that ends within SMALL_RUN_SECONDS is
# small, and small runs leave cores idle while each spends most of its time starting (imports,
# tracing, saving), so the build then runs one per core (at SMALL_WORKER_MEMORY_BYTES each, as
# memory allows), as `--jobs <cores>` would. Large runs keep default_jobs(), the memory-safe default.
SMALL_RUN_SECONDS = 20.0
SMALL_WORKER_MEMORY_BYTES = 1 * 2**30


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a container's CPU set)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_memory() -> int | None:
    """Bytes of memory available for new processes (Linux ``MemAvailable``), or None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_jobs(cores: int | None = None, memory: int | None = None, gpus: int | None = None) -> int:
    """Experiments run at once when neither ``--jobs`` nor ``jobs:`` says: one per GPU where there
    are GPUs; otherwise as many workers of :data:`THREADS_PER_WORKER` threads as the cores allow
    and the available memory holds (:data:`WORKER_MEMORY_BYTES` each), at least one."""
    gpus = len(gpu_ids()) if gpus is None else gpus
    if gpus:
        return gpus
    cores = usable_cores() if cores is None else cores
    memory = available_memory() if memory is None else memory
    by_cores = max(1, cores // THREADS_PER_WORKER)
    by_memory = max(1, memory // WORKER_MEMORY_BYTES) if memory else by_cores
    return min(by_cores, by_memory)


def small_run_jobs(cores: int | None = None, memory: int | None = None) -> int:
    """Experiments run at once once runs are known to be small: one per core, as memory allows."""
    cores = usable_cores() if cores is None else cores
    memory = available_memory() if memory is None else memory
    by_memory = max(1, memory // SMALL_WORKER_MEMORY_BYTES) if memory else cores
    return max(1, min(cores, by_memory))


def log_path_for(config: SiteConfig, experiment: PlannedExperiment) -> Path:
    """The run's whole output (stdout and stderr of its worker)."""
    return paths.log_path(config.root, experiment.file_label, experiment.key)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while the block runs, so workers are stopped and nothing partial stays.

    Only the main thread can install handlers; elsewhere the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_experiments(
    experiments: list[PlannedExperiment],
    config: SiteConfig,
    store: ResultStore,
    reporter: Reporter,
    *,
    jobs: int = 1,
    keep_going: bool = False,
    adaptive: bool = False,
) -> list[RunOutcome]:
    """Run ``experiments`` with at most ``jobs`` at a time; return how each ended.

    ``adaptive`` (``jobs`` was not chosen): after a run that ended ok within
    :data:`SMALL_RUN_SECONDS`, up to :func:`small_run_jobs` run at once (GPU machines excepted).

    Without ``keep_going``, the first failure stops scheduling; runs in progress finish.
    Ctrl-C stops every worker and re-raises; stopped runs leave nothing in the store.
    """
    provenance.forget()  # the commit and changed files as they are now, not at an earlier build of this process
    pending = list(experiments)
    running: list[_Running] = []
    outcomes: list[RunOutcome] = []
    threads = max(1, usable_cores() // max(1, min(jobs, len(experiments) or 1)))
    free_gpus = gpu_ids()
    stop_scheduling = False
    # Nothing to run (a no-op build): no server, and no digest of litblog's source for its name.
    warm = warm_server(config) if experiments else None
    if warm is not None:
        warm.start()  # its imports overlap with writing the first spec
    try:
        # Once scheduling stops, only the running ones are waited for: the loop must end even
        # when runs are still pending (they are reported as cancelled below).
        while running or (pending and not stop_scheduling):
            while pending and len(running) < jobs and not stop_scheduling:
                # With GPUs, each worker gets one of its own while there are enough to go round.
                gpu = free_gpus.pop(0) if free_gpus and jobs > 1 else None
                running.append(_start(pending.pop(0), config, store, threads, reporter, gpu, warm))
            _wait_for_events(running, reporter)
            for run in list(running):
                _enforce_timeout(run)
                if not run.worker.exited():
                    continue
                running.remove(run)
                if run.gpu is not None:
                    free_gpus.append(run.gpu)
                outcome = _finish(run, reporter, store)
                outcomes.append(outcome)
                reporter.run_finished(outcome)
                if adaptive and outcome.ok and outcome.seconds <= SMALL_RUN_SECONDS and not gpu_ids():
                    jobs, threads = _widened(jobs, threads, len(pending), len(running))
                if not outcome.ok and not keep_going:
                    stop_scheduling = True
        outcomes += _cancel(pending, config, reporter)
    except BaseException:
        _stop_all(running, store)
        raise
    return outcomes


def _enforce_timeout(run: _Running) -> None:
    """Stop ``run``'s worker once it has run past the experiment's ``timeout``."""
    if run.experiment.timeout and not run.timed_out and time.monotonic() - run.started > run.experiment.timeout:
        run.timed_out = True
        run.worker.terminate()


def _widened(jobs: int, threads: int, pending: int, running: int) -> tuple[int, int]:
    """Jobs and threads per worker after a small run ended ok: up to :func:`small_run_jobs` at once."""
    wider = min(small_run_jobs(), pending + running) if pending else jobs
    if wider > jobs:
        return wider, max(1, usable_cores() // wider)  # what --jobs N gives each worker
    return jobs, threads


def _cancel(pending: list[PlannedExperiment], config: SiteConfig, reporter: Reporter) -> list[RunOutcome]:
    """The runs never started once scheduling stopped, reported as cancelled."""
    outcomes = []
    for experiment in pending:
        outcome = RunOutcome(experiment, RunStatus.CANCELLED, 0.0, log_path_for(config, experiment),
                             "not started: an earlier experiment failed (use --keep-going to run it anyway)")
        outcomes.append(outcome)
        reporter.run_finished(outcome)
    return outcomes


def _stop_all(running: list[_Running], store: ResultStore) -> None:
    """Ctrl-C or an error: stop every running worker (all signalled first) and remove their staging folders."""
    for run in running:
        run.worker.terminate()
    for run in running:
        run.worker.end_group()
        _remove_staging(store, run.experiment.key)


def warm_server(config: SiteConfig) -> "WarmServer | None":
    """The project's warm server (see :mod:`litblog.buildtime.execute.warm`), or None where runs start cold."""
    # Sockets and the server's client only when something runs: a no-op build stays light.
    from .warm import SUPPORTED as WARM_SUPPORTED, WarmServer, idle_seconds

    idle = idle_seconds(config.build.warm_workers)
    if idle <= 0 or not WARM_SUPPORTED:
        return None
    return WarmServer(config.root, worker_environment(), idle, paths.warm_log_path(config.root),
                      paths.warm_dir(config.root))


def _start(experiment: PlannedExperiment, config: SiteConfig, store: ResultStore, threads: int,
           reporter: Reporter, gpu: str | None = None, warm: "WarmServer | None" = None) -> _Running:
    log_path = log_path_for(config, experiment)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path = paths.spec_path(config.root, experiment.key)
    # Read by the worker at once; a crash loses the run with it, so no fsync (a few ms a run).
    atomic_write_text(spec_path, json.dumps(worker_spec(experiment, config, store, threads), indent=1), durable=False)
    read_fd, write_fd = os.pipe()
    log_path.write_bytes(b"")
    # Appending: a leftover worker of a killed build that still has the log open (see
    # worker.key_lock) adds its last lines at the end instead of overwriting this run's.
    try:
        with open(log_path, "ab") as log_file:
            worker = launch_worker(spec_path, cwd=config.root, log=log_file, event_fd=write_fd,
                                   env=worker_environment(gpu=gpu), warm=warm)
    finally:
        os.close(write_fd)
    os.set_blocking(read_fd, False)
    reporter.run_started(experiment, log_path)
    return _Running(experiment, worker, read_fd, log_path, time.monotonic(), gpu=gpu)


def worker_spec(experiment: PlannedExperiment, config: SiteConfig, store: ResultStore, threads: int) -> dict[str, Any]:
    """The JSON spec ``python -m litblog.runtime.worker`` runs (``threads`` 0: TensorFlow's default)."""
    recipe = experiment.recipe
    return {
        "key": experiment.key,
        "replace": experiment.replaces,
        "repository": run_repository(config.root, [s.split("::")[0] for s in experiment.inputs.sources],
                                     skip=[config.build.results_dir, config.build.site_dir, paths.SCRATCH]),
        "key_inputs": experiment.inputs.to_json(),
        "module": recipe.module,
        "function": recipe.function,
        "params": experiment.params,
        "seed": experiment.seed,
        "deterministic": config.build.deterministic,
        "threads": threads,
        "project_root": str(config.root.resolve()),
        "import_root": str(config.import_root.resolve()),
        "results_dir": str(store.root.resolve()),
        "cache_dir": str(paths.cache_dir(config.root).resolve()),
        "checkpoint_dir": str((paths.checkpoint_root(config.root) / experiment.key).resolve()),
        "data_dir": config.build.data_dir,
        "keras_home": str(paths.keras_home()),
        # Named in the stored log when it is cut short; relative, so no machine path is committed.
        "log_name": log_path_for(config, experiment).relative_to(config.root).as_posix(),
    }


_EXIT_POLL_SECONDS = 0.02  # how often a worker that has said all it will is looked at for its exit


def _wait_for_events(running: list[_Running], reporter: Reporter) -> None:
    """Until a worker has something to say (at most 0.2 s), or, while one has said all it will but
    has not exited yet, :data:`_EXIT_POLL_SECONDS`. A pipe at its end is always "ready": waiting on
    it spun the loop tens of thousands of times per run, a core taken from the other workers."""
    listening = [r for r in running if not r.said_all]
    timeout = _EXIT_POLL_SECONDS if len(listening) < len(running) else 0.2
    if not listening:
        time.sleep(timeout)
        return
    ready, _, _ = select.select([r.events_fd for r in listening], [], [], timeout)
    for run in listening:
        if run.events_fd in ready:
            _read_events(run, reporter)


def _read_events(run: _Running, reporter: Reporter) -> None:
    while True:
        try:
            chunk = os.read(run.events_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            return
        if not chunk:
            run.said_all = True
            return
        run.buffer += chunk
        *lines, run.buffer = run.buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.get("event")
            if kind == "failed":
                run.failure = event
            elif kind == "stored":
                run.stored = True
            reporter.run_event(run.experiment, event)


def _finish(run: _Running, reporter: Reporter, store: ResultStore) -> RunOutcome:
    _read_events(run, reporter)
    os.close(run.events_fd)
    code = "timeout" if run.timed_out else run.worker.returncode
    run.worker.end_group()
    if code is None:  # pragma: no cover - end_group waits for the exit
        code = -9
    experiment = run.experiment
    stored = run.stored and is_stored(store, experiment)
    if not stored:
        _remove_staging(store, experiment.key)  # a worker killed outright cannot clean up itself
    return outcome_of(experiment, code, time.monotonic() - run.started, run.log_path, run.failure, stored=stored)


def is_stored(store: ResultStore, experiment: PlannedExperiment) -> bool:
    """Whether the store holds a complete result of ``experiment`` (a folder with a manifest)."""
    return (store.folder(experiment.recipe.reference, experiment.key) / MANIFEST).is_file()


def outcome_of(experiment: PlannedExperiment, code: int | str, seconds: float, log_path: Path,
               failure: dict[str, Any], *, stored: bool) -> RunOutcome:
    """How a worker's run ended.

    What the worker stored and reported decides, not its exit status alone: ``stored`` is
    true only when it said it stored the result and the result is in the store; its
    ``failed`` event (if any) says why it did not. The exit status (or "timeout") explains
    the rest: a worker that exits 0 (or 3, or 4) without saying so did not store anything.
    """
    if code == "timeout":
        return RunOutcome(experiment, RunStatus.TIMEOUT, seconds, log_path,
                          f"stopped after the timeout of {experiment.timeout:g} s")
    if stored:
        return RunOutcome(experiment, RunStatus.STORED, seconds, log_path)
    message = _clean(str(failure.get("message", "")))
    kind = failure.get("kind")
    if kind == "dataset":
        return RunOutcome(experiment, RunStatus.DATASET, seconds, log_path, message or "dataset unavailable")
    if kind == "blocked":
        return RunOutcome(experiment, RunStatus.BLOCKED, seconds, log_path, message,
                          needs=tuple(str(n) for n in failure.get("needs", ())))
    if failure:
        return RunOutcome(experiment, RunStatus.FAILED, seconds, log_path, message or "the recipe failed",
                          _tail(str(failure.get("traceback", ""))))
    if isinstance(code, int) and code < 0:
        reason = f"killed by signal {-code}"
        if code == -signal.SIGKILL:
            reason += " (out of memory, or killed from outside)"
    elif code == 0:
        reason = "exited without storing a result"
    else:
        reason = f"exited with status {code} without storing a result or saying why"
        if code == 137:
            reason += " (out of memory, or killed from outside)"
    return RunOutcome(experiment, RunStatus.FAILED, seconds, log_path, f"the worker {reason}", _log_tail(log_path))


_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean(text: str) -> str:
    """Text from a worker, safe to print and to write as UTF-8 (undecodable bytes become U+FFFD)."""
    return _SURROGATES.sub("\ufffd", text)


def _tail(text: str) -> str:
    """The last lines of a traceback or log, each cut to a console line.

    Python's "Traceback (most recent call last):" header is left out: the lines are the
    recipe's, shown under a located message, and build-site itself did not crash.
    """
    lines = [line for line in _clean(text).rstrip().splitlines()
             if not line.startswith("Traceback (most recent call last)")]
    return "\n".join(line if len(line) <= TAIL_LINE_CHARS else line[:TAIL_LINE_CHARS] + " [...]"
                     for line in lines[-TRACEBACK_LINES:])


def _log_tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            # The end is enough, and a log may be huge.
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return _tail(text)


def _remove_staging(store: ResultStore, key: str) -> None:
    """Remove what a stopped worker of ``key`` left in the store's staging area."""
    for folder in (store.root / ".tmp").glob(f"{key}-*"):
        remove_confined(folder, store.root, ignore_errors=True)
