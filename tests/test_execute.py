"""Running experiments like a build system: resume after kills, Ctrl-C, timeouts, parallel jobs, the lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_project, run_cli_process, snapshot, worker_pids

POST = "posts/2026-01-05-stripes.md"
SLOW = "\n```{experiment} long\nrecipe: tiny.slow\nparams: {epochs: 6, pause: 1.0}\nshow: [log]\n```\n"


def add_experiment(root: Path, text: str = SLOW) -> None:
    post = root / POST
    post.write_text(post.read_text() + text)


def start_build(root: Path, *args: str) -> subprocess.Popen:
    # Ctrl-C's default action restored: a shell running pytest in the background ignores SIGINT,
    # and a child that inherits that would never see the SIGINT these tests send.
    return subprocess.Popen([sys.executable, "-m", "litblog", "--project", str(root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def checkpointed_epochs(root: Path) -> int:
    """Epochs saved so far by the run in progress (all fits together)."""
    total = 0
    for current in (root / ".litblog" / "checkpoints").glob("*/fit-*/current"):
        try:
            record = json.loads((current.parent / current.read_text().strip() / "record.json").read_text())
        except (OSError, ValueError):
            continue
        total += len(record["epochs"])
    return total


def wait_for(condition, timeout: float = 180.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def long_history(root: Path) -> dict:
    (folder,) = [f for f in (root / "results" / "tiny.slow").iterdir() if f.is_dir()]
    return json.loads((folder / "history.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    """The long experiment's history when nothing interrupts it (without its pauses: they change
    when each epoch ends, never what it computes)."""
    root = make_project(tmp_path_factory.mktemp("reference") / "blog")
    add_experiment(root, SLOW.replace("pause: 1.0", "pause: 0.0"))
    done = run_cli_process(root, "-q")
    assert done.returncode == 0, done.stderr
    return long_history(root)


def assert_same_history(resumed: dict, reference: dict) -> None:
    assert resumed["epochs"] == reference["epochs"] == [1, 2, 3, 4, 5, 6]
    assert resumed["phases"] == reference["phases"]
    for name, values in reference["metrics"].items():
        assert resumed["metrics"][name] == pytest.approx(values, abs=1e-6), name


def test_a_killed_worker_resumes_from_its_last_epoch(project, uninterrupted):
    add_experiment(project)
    site_before = snapshot(project / "site")
    build = start_build(project)
    wait_for(lambda: checkpointed_epochs(project) >= 4, what="four checkpointed epochs")
    for pid in worker_pids(project):
        os.kill(pid, signal.SIGKILL)
    _, err = build.communicate(timeout=120)
    assert build.returncode == 1, err
    assert "experiment 'long' failed: the worker killed by signal 9" in err
    assert snapshot(project / "site") == site_before
    assert not (project / "results" / "tiny.slow").exists()

    done = run_cli_process(project)
    assert done.returncode == 0, done.stderr
    log = (next((project / "results" / "tiny.slow").iterdir()) / "log.txt").read_text()
    resumed_after = [int(line.split()[-1].rstrip(")")) for line in log.splitlines()
                     if line.startswith("(resumed from the checkpoint after epoch")]
    assert resumed_after and resumed_after[0] >= 4, log
    assert log.count("Epoch 1/3") == 1 and log.count("Epoch 6/6") == 1
    assert_same_history(long_history(project), uninterrupted)
    assert not any((project / ".litblog" / "checkpoints").iterdir())


def test_ctrl_c_stops_cleanly_and_the_next_build_resumes(project, uninterrupted):
    add_experiment(project)
    site_before = snapshot(project / "site")
    build = start_build(project)
    wait_for(lambda: checkpointed_epochs(project) >= 2, what="two checkpointed epochs")
    build.send_signal(signal.SIGINT)
    _, err = build.communicate(timeout=120)
    assert build.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    wait_for(lambda: not worker_pids(project), timeout=30, what="workers to stop")
    assert snapshot(project / "site") == site_before
    assert not (project / "results" / "tiny.slow").exists()
    done = run_cli_process(project)
    assert done.returncode == 0, done.stderr
    assert_same_history(long_history(project), uninterrupted)


def test_a_timeout_fails_that_experiment_and_keeps_the_others(project):
    add_experiment(project, SLOW.replace("show: [log]", "show: [log]\ntimeout: 2"))
    add_experiment(project, "\n```{experiment} quick\nrecipe: tiny.stripes\nparams: {epochs: 1}\nshow: [log]\n```\n")
    done = run_cli_process(project, "--jobs", "2")
    assert done.returncode == 1, done.stderr
    assert "experiment 'long' timed out: stopped after the timeout of 2 s" in done.stderr
    assert "[quick] stored" in done.stderr
    assert len([f for f in (project / "results" / "tiny.stripes").iterdir()]) == 3
    assert not (project / "results" / "tiny.slow").exists()


def test_two_jobs_run_two_experiments_at_once(project):
    post = project / POST
    post.write_text(post.read_text().replace("params: {epochs: 2}\n", "params: {epochs: 1}\n")
                    .replace("params: {epochs: 2, augment: true}", "params: {epochs: 1, augment: true}"))
    done = run_cli_process(project, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    events = [line for line in done.stderr.splitlines() if line.startswith("[")]
    first_stored = next(i for i, line in enumerate(events) if " stored in " in line)
    assert sum(" started;" in line for line in events[:first_stored]) == 2, done.stderr
    report = json.loads((project / "site" / "_build" / "report.json").read_text())
    statuses = {row["experiment"]: (row["status"], row["ran"]) for row in report["experiments"]}
    assert statuses == {"plain": ("stored", True), "flipped": ("stored", True), "count": ("cached", False)}
    assert "experiment       status" in done.stderr  # the report table


def test_concurrent_builds_never_corrupt_the_site_or_the_store(project):
    post = project / POST
    post.write_text(post.read_text().replace("params: {epochs: 2}\n", "params: {epochs: 1}\n"))
    first, second = start_build(project), start_build(project)
    out_first, out_second = first.communicate(timeout=300), second.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, (out_first, out_second)
    errors = out_first[1] + out_second[1]
    assert "waiting for another build-site" in errors
    assert errors.count("started;") == 1  # the second build found the first one's result
    folders = [f for f in (project / "results" / "tiny.stripes").iterdir() if f.is_dir()]
    assert len(folders) == 3 and all((f / "manifest.json").is_file() for f in folders)
    assert "1 to run" not in run_cli_process(project).stderr
    assert not list(project.glob(".site.staging-*")) and not (project / "results" / ".tmp").exists() or \
        not any((project / "results" / ".tmp").iterdir())


def test_no_wait_exits_when_another_build_holds_the_lock(project):
    add_experiment(project)
    build = start_build(project)
    wait_for(lambda: worker_pids(project), what="the first build to start its worker")
    done = run_cli_process(project, "--no-wait")
    build.send_signal(signal.SIGINT)
    build.communicate(timeout=120)
    assert done.returncode == 2
    assert "another build-site (pid" in done.stderr and "is building this project" in done.stderr


@pytest.mark.parametrize(("cores", "memory_gib", "gpus", "expected"), [
    (2, 20, 0, 1),     # this kind of machine: one worker with both cores
    (16, 128, 0, 8),   # cores decide
    (16, 8, 0, 2),     # memory decides
    (1, 1, 0, 1),      # never fewer than one
    (16, 128, 2, 2),   # one per GPU
])
def test_the_default_jobs_follow_cores_memory_and_gpus(cores, memory_gib, gpus, expected):
    from litblog.buildtime.execute.execute import default_jobs

    assert default_jobs(cores=cores, memory=memory_gib * 2**30, gpus=gpus) == expected


def test_waiting_for_workers_does_not_spin(fresh_project, monkeypatch):
    """A worker's events pipe reaches its end before the worker is seen to exit; a pipe at its end is
    always "ready" to select, and waiting on it spun the loop (70,000 times in an 8-second build of
    three runs: a core taken from the other workers). Waking up is bounded by the loop's own pace
    (at most 50 looks a second while a worker exits) plus one per chunk of events."""
    import io

    from litblog.buildtime.commands.pipeline import BuildOptions, build
    from litblog.buildtime.execute import execute
    from litblog.buildtime.execute.progress import ConsoleReporter

    looks, chunks = [0], [0]
    wait, read = execute._wait_for_events, os.read

    def counted_wait(running, reporter):
        looks[0] += 1
        return wait(running, reporter)

    def counted_read(fd, size):
        data = read(fd, size)
        chunks[0] += bool(data)
        return data

    monkeypatch.setattr(execute, "_wait_for_events", counted_wait)
    monkeypatch.setattr(execute.os, "read", counted_read)
    started = time.monotonic()
    summary = build(fresh_project, BuildOptions(), ConsoleReporter(io.StringIO(), 0))
    seconds = time.monotonic() - started
    assert summary.exit_code == 0 and len(summary.outcomes) >= 3
    assert looks[0] <= 1 / execute._EXIT_POLL_SECONDS * seconds + chunks[0] + 10, (looks, chunks, seconds)
