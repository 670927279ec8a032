"""Stage 5 on a Dask cluster: ``build-site --executor dask --scheduler tcp://HOST:PORT``.

Each experiment becomes one Dask task. The task ships the recipe's source files (exactly the
files its cache key covers) to a worker, runs ``python -m litblog.runtime.worker`` there in a fresh
subprocess inside a temporary project folder, and returns the log, the progress events and
the result folder as a tar archive, which is committed into the local store here. Workers
need litblog installed (the same version) and their own copy of the data (``LITBLOG_DATA_DIR``
or Keras' cache), or network access to download it. GPUs are requested through Dask worker
resources (``--dask-resources GPU=1``).

Dask is optional: ``pip install 'dask[distributed]'``.
"""

from __future__ import annotations

import io
import json
import os
import select
import socket
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from ..sources.config import SiteConfig
from ...common.errors import UserError
from ...common.fsutil import remove_confined
from .execute import Reporter, RunOutcome, is_stored, log_path_for, outcome_of, worker_spec
from .launch import launch_worker, worker_environment
from ...common.protocol import RunStatus
from ..plan.plan import PlannedExperiment
from ...common.store import ResultStore

# A worker's cache (generated datasets) outlives single tasks, so it is not regenerated each time.
WORKER_CACHE = Path(tempfile.gettempdir()) / "litblog-dask-worker"


def parse_resources(assignments: list[str]) -> dict[str, float]:
    """``["GPU=1"]`` -> ``{"GPU": 1.0}``: the Dask worker resources each experiment needs."""
    resources: dict[str, float] = {}
    for assignment in assignments:
        name, sep, amount = assignment.partition("=")
        try:
            resources[name.strip()] = float(amount)
        except ValueError:
            raise UserError(f"--dask-resources '{assignment}' should be written NAME=AMOUNT",
                            hint="for example --dask-resources GPU=1") from None
        if not sep or not name.strip():
            raise UserError(f"--dask-resources '{assignment}' should be written NAME=AMOUNT")
    return resources


def _probe(scheduler: str, timeout: float = 10.0) -> None:
    """Raise OSError at once where nothing listens at a ``tcp://`` scheduler address: Dask's
    ``Client`` retries a refused connection until its timeout, ten seconds of waiting for an
    answer that a connection attempt gives in a millisecond. Other schemes are left to Dask."""
    scheme, _, rest = scheduler.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("", "tcp") or not host or not port.isdigit():
        return
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
        pass

def run_experiments_on_dask(
    experiments: list[PlannedExperiment],
    config: SiteConfig,
    store: ResultStore,
    reporter: Reporter,
    *,
    scheduler: str,
    keep_going: bool = False,
    resources: dict[str, float] | None = None,
) -> list[RunOutcome]:
    """Run ``experiments`` as Dask futures on the cluster at ``scheduler``; same contract as
    :func:`litblog.buildtime.execute.execute.run_experiments`."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UserError("--executor dask needs Dask's distributed scheduler, which is not installed",
                        hint="pip install 'dask[distributed]'") from None
    try:
        _probe(scheduler)
        client = Client(scheduler, timeout=10)
    except OSError as exc:
        raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                        hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`") from None
    outcomes: list[RunOutcome] = []
    futures: dict[Any, PlannedExperiment] = {}
    started: dict[str, float] = {}
    try:
        for experiment in experiments:
            payload = _payload(experiment, config, store)
            future = client.submit(run_remote, payload, key=f"litblog-{experiment.key}-{time.time_ns()}",
                                   pure=False, resources=resources or None)
            futures[future] = experiment
            started[experiment.key] = time.monotonic()
            reporter.run_started(experiment, log_path_for(config, experiment))
        stopped = False
        for future in as_completed(list(futures)):
            experiment = futures[future]
            if stopped:
                continue
            outcome = _collect(future, experiment, config, store, reporter, started[experiment.key])
            outcomes.append(outcome)
            reporter.run_finished(outcome)
            if not outcome.ok and not keep_going:
                stopped = True
                for other, other_experiment in futures.items():
                    if not other.done():
                        other.cancel()
                        cancelled = RunOutcome(other_experiment, RunStatus.CANCELLED, 0.0,
                                               log_path_for(config, other_experiment),
                                               "cancelled: an earlier experiment failed (use --keep-going)")
                        outcomes.append(cancelled)
                        reporter.run_finished(cancelled)
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        client.close()
    return outcomes


def _payload(experiment: PlannedExperiment, config: SiteConfig, store: ResultStore) -> dict[str, Any]:
    """What a task needs: the spec and the source files the experiment's key covers."""
    files: dict[str, bytes] = {}
    for source in experiment.inputs.sources:
        relative = source.split("::", 1)[0]
        files[relative] = (config.root / relative).read_bytes()
    spec = worker_spec(experiment, config, store, threads=0)
    spec["import_root"] = config.import_root.resolve().relative_to(config.root.resolve()).as_posix()
    for machine_specific in ("project_root", "results_dir", "cache_dir", "checkpoint_dir", "keras_home",
                             "data_dir"):
        spec.pop(machine_specific, None)
    return {"spec": spec, "files": files, "timeout": experiment.timeout}


def run_remote(payload: dict[str, Any]) -> dict[str, Any]:
    """Runs on a Dask worker: one experiment in a fresh subprocess, in a temporary project folder."""
    from ...common.paths import keras_home

    spec = dict(payload["spec"])
    work = Path(tempfile.mkdtemp(prefix="litblog-task-"))
    try:
        project = work / "project"
        for relative, data in payload["files"].items():
            target = project / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        WORKER_CACHE.mkdir(parents=True, exist_ok=True)
        spec.update({
            "project_root": str(project),
            "import_root": str(project / spec["import_root"]),
            "results_dir": str(work / "results"),
            "cache_dir": str(WORKER_CACHE / "cache"),
            # Kept between attempts on this worker, so a retried task resumes.
            "checkpoint_dir": str(WORKER_CACHE / "checkpoints" / spec["key"]),
            "keras_home": str(keras_home()),
            "data_dir": None,
            "threads": 0,
        })
        spec_file = work / "spec.json"
        spec_file.write_text(json.dumps(spec))
        code, log, events = _run_worker(spec_file, project, payload.get("timeout"))
        result = None
        folder = work / "results" / spec["key_inputs"]["recipe"] / spec["key"]
        # Whatever the exit status: the outcome is read from what the worker stored and said.
        if (folder / "manifest.json").is_file():
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
                archive.add(folder, arcname=".")
            result = buffer.getvalue()
        return {"code": code, "log": log, "events": events, "result": result}
    finally:
        remove_confined(work, work.parent, ignore_errors=True)


def _run_worker(spec_file: Path, project: Path, timeout: float | None) -> tuple[int | str, str, list[dict]]:
    """Run the worker as the local executor does (:func:`litblog.buildtime.execute.launch.launch_worker`), here on a
    Dask worker; a timeout stops its whole process group."""
    read_fd, write_fd = os.pipe()
    log_file = project.parent / "worker.log"
    try:
        with open(log_file, "wb") as log:
            worker = launch_worker(spec_file, cwd=project, log=log, event_fd=write_fd, env=worker_environment())
    finally:
        os.close(write_fd)
    buffer = b""
    deadline = time.monotonic() + timeout if timeout else None
    timed_out = False
    with os.fdopen(read_fd, "rb") as events_pipe:
        while True:
            ready, _, _ = select.select([events_pipe], [], [], 0.5)
            if ready:
                chunk = os.read(events_pipe.fileno(), 65536)
                if chunk:
                    buffer += chunk
                    continue
            if worker.exited():
                break
            if deadline and time.monotonic() > deadline:
                timed_out = True
                worker.terminate()
                break
            if ready:  # end of file: the worker (and whatever inherited the pipe) closed it
                time.sleep(0.05)
    code: int | str = "timeout" if timed_out else (worker.returncode if worker.returncode is not None else -9)
    worker.end_group()  # whatever the recipe forked and left running
    events = []
    for line in buffer.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return code, log_file.read_text(encoding="utf-8", errors="replace"), events


def _collect(future: Any, experiment: PlannedExperiment, config: SiteConfig, store: ResultStore,
             reporter: Reporter, started: float) -> RunOutcome:
    log_path = log_path_for(config, experiment)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    seconds = time.monotonic() - started
    try:
        answer = future.result()
    except Exception as exc:  # the task itself failed on the cluster (worker lost, ...)
        log_path.write_text(f"Dask task failed: {type(exc).__name__}: {exc}\n")
        return RunOutcome(experiment, RunStatus.FAILED, seconds, log_path, f"the Dask task failed: {type(exc).__name__}: {exc}")
    log_path.write_text(answer["log"], encoding="utf-8", errors="replace")
    failure: dict[str, Any] = {}
    said_stored = False
    for event in answer["events"]:
        if event.get("event") == "failed":
            failure = event
        elif event.get("event") == "stored":
            said_stored = True
        reporter.run_event(experiment, event)
    code = answer["code"]
    if said_stored and answer["result"] is not None and code != "timeout":
        staging = store.new_staging(experiment.key)
        with tarfile.open(fileobj=io.BytesIO(answer["result"]), mode="r:gz") as archive:
            archive.extractall(staging, filter="data")
        store.commit(staging, experiment.recipe.reference, experiment.key, replace=experiment.replaces)
    stored = said_stored and is_stored(store, experiment)
    return outcome_of(experiment, code, seconds, log_path, failure, stored=stored)
