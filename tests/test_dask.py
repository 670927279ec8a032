"""The Dask executor on a LocalCluster gives the same results, under the same keys, as local workers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli_process

distributed = pytest.importorskip("distributed", reason="Dask is optional: pip install 'dask[distributed]'")

VOLATILE = ("created", "timings", "hardware", "runtime", "digests")  # digests cover log.txt, which has timings


def results_of(root: Path) -> dict[str, Path]:
    return {f"{f.parent.name}/{f.name}": f for f in (root / "results").glob("*/*") if f.is_dir()}


def without_timings(log: str) -> str:
    return re.sub(r" - \d+s - \d+(ms|s|us)/step", "", log)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local_cluster:
        yield local_cluster


def test_dask_results_match_the_local_executor(fresh_project, built_project, cluster):
    done = run_cli_process(fresh_project, "--executor", "dask", "--scheduler", cluster.scheduler_address)
    assert done.returncode == 0, done.stderr
    local, remote = results_of(built_project), results_of(fresh_project)
    assert sorted(remote) == sorted(local)  # the same keys
    for name, folder in remote.items():
        reference = local[name]
        for file in ("history.json", "metrics.json", "summary.txt"):
            if (reference / file).exists():
                assert (folder / file).read_text() == (reference / file).read_text(), f"{name}/{file}"
        manifest = {k: v for k, v in json.loads((folder / "manifest.json").read_text()).items() if k not in VOLATILE}
        expected = {k: v for k, v in json.loads((reference / "manifest.json").read_text()).items()
                    if k not in VOLATILE}
        assert manifest == expected
        assert without_timings((folder / "log.txt").read_text()) == without_timings((reference / "log.txt").read_text())
        assert sorted(p.name for p in (folder / "figures").glob("*.png")) == \
            sorted(p.name for p in (reference / "figures").glob("*.png"))
    assert (fresh_project / "site" / "_posts" / "2026-01-05-stripes.md").is_file()


def test_an_unreachable_scheduler_is_a_clear_error(fresh_project):
    done = run_cli_process(fresh_project, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert done.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr and "Traceback" not in done.stderr


def test_a_dask_timeout_leaves_no_process_of_the_workers_group_alive(fresh_project, cluster, tmp_path):
    """The Dask task starts its worker with the local executor's launch function
    (litblog.buildtime.execute.launch.launch_worker): a timeout kills the worker's whole group, including a child
    the recipe forked that ignores SIGTERM."""
    import os
    import shutil
    import time

    from conftest import REPO

    shutil.copy(REPO / "tests" / "fixtures" / "faults" / "faulty.py", fresh_project / "src" / "recipes")
    for post in (fresh_project / "posts").glob("*.md"):
        post.unlink()
    pid_file = tmp_path / "child.pid"
    # The timeout counts from the worker's start, and a loaded machine may spend it importing
    # TensorFlow before the recipe forks: then no child exists and there is nothing to check.
    # So the test waits on the event (the recipe wrote its child's pid before the timeout
    # struck), giving the recipe longer each time, within generous bounds.
    for timeout in (6, 20, 60, 180):
        (fresh_project / "posts" / "2026-01-09-forks.md").write_text(
            f"---\ntitle: Forks\n---\n\n```{{experiment}} forker\nrecipe: faulty.forks\n"
            f"params: {{pid_file: '{pid_file}'}}\ntimeout: {timeout}\n```\n")
        done = run_cli_process(fresh_project, "--executor", "dask", "--scheduler", cluster.scheduler_address)
        assert done.returncode == 1
        assert "experiment 'forker' timed out" in done.stderr, done.stderr
        if pid_file.is_file() and pid_file.read_text().strip():
            break
    else:
        pytest.fail("the recipe never forked its child within 180 s")
    child = int(pid_file.read_text())
    group = os.getpgid(child) if Path(f"/proc/{child}").exists() else None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists(), "the recipe's child outlived the timeout"
    if group is not None:
        members = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _group_of(p) == group]
        assert not members, members


def _group_of(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return None
