"""Warm workers (litblog.buildtime.execute.warm, litblog.runtime.warm_server) and decode-once (litblog.runtime.decoded), issue 13.

A run forked from the warm server must be the run a fresh interpreter makes; a crash in one
must end that run only; a changed dataset must never be read from the decoded cache.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, make_project, run_cli_process
from litblog.runtime import decoded
from litblog.buildtime.execute.warm import SUPPORTED

pytestmark = pytest.mark.skipif(not SUPPORTED, reason="warm workers need Linux")

COLD = {"LITBLOG_WARM_WORKERS": "0"}
WARM = {"LITBLOG_WARM_WORKERS": "60"}


def stored(root: Path) -> dict[str, Path]:
    return {f"{f.parent.name}/{f.name}": f for f in (root / "results").glob("*/*")
            if (f / "manifest.json").is_file()}


def server_log(root: Path) -> str:
    path = root / ".litblog" / "logs" / "warm-server.log"
    return path.read_text() if path.exists() else ""


def server_pids(root: Path) -> list[int]:
    state = str(root / ".litblog" / "warm").encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and b"litblog.runtime.warm_server" in cmdline and state in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def stop_servers():
    roots: list[Path] = []
    yield roots.append
    for root in roots:
        for pid in server_pids(root):
            os.kill(pid, signal.SIGTERM)


def close(a: object, b: object, where: str) -> None:
    """``a`` equals ``b``, floats to 1e-6."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=0, abs_tol=1e-6), f"{where}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), where
        for key in a:
            close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{where}[{index}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_a_warm_worker_stores_what_a_fresh_process_stores(project, tmp_path, stop_servers):
    cold = make_project(tmp_path / "cold")
    done = run_cli_process(cold, "-q", env=COLD)
    assert done.returncode == 0, done.stderr
    assert not server_log(cold)  # really fresh interpreters
    # Warm: a copy of the session's build, all re-run by one server, each run after the first forked
    # from a server that already served others (that it serves later builds too:
    # test_a_crash_in_a_warm_worker_fails_that_experiment_only).
    stop_servers(project)
    (project / ".litblog" / "logs" / "warm-server.log").unlink(missing_ok=True)  # the copied build's
    done = run_cli_process(project, "-q", "--force", env=WARM)
    assert done.returncode == 0, done.stderr
    log = server_log(project)
    assert log.count("forked pid") == len(stored(cold)) == 3, log
    assert log.count("ready in") == 1, log

    warm, fresh = stored(project), stored(cold)
    assert sorted(warm) == sorted(fresh)  # the same keys
    for name, folder in fresh.items():
        other = warm[name]
        for file in ("history.json", "metrics.json"):
            if (folder / file).exists():
                close(json.loads((other / file).read_text()), json.loads((folder / file).read_text()), f"{name}/{file}")
        for file in ("summary.txt", "summaries.json"):
            if (folder / file).exists():
                assert (other / file).read_text() == (folder / file).read_text(), f"{name}/{file}"
        assert sorted(p.name for p in other.rglob("*")) == sorted(p.name for p in folder.rglob("*"))


def test_a_crash_in_a_warm_worker_fails_that_experiment_only(project, stop_servers):
    stop_servers(project)
    (project / ".litblog" / "logs" / "warm-server.log").unlink(missing_ok=True)  # the copied build's
    shutil.copy(REPO / "tests" / "fixtures" / "faults" / "faulty.py", project / "src" / "recipes" / "faulty.py")
    (project / "posts" / "2026-01-09-crash.md").write_text(
        "---\ntitle: Crash\n---\n\n```{experiment} crash\nrecipe: faulty.killed\n```\n\n"
        "```{experiment} after\nrecipe: tiny.stripes\nparams: {epochs: 1, per_class: 8}\n```\n")
    done = run_cli_process(project, "--keep-going", env=WARM)
    assert done.returncode == 1
    assert "experiment 'crash' failed: the worker killed by signal 9" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert any(name.startswith("tiny.stripes/") for name in stored(project))
    assert not (project / "results" / "faulty.killed").exists()
    log = server_log(project)
    assert log.count("forked pid") == 2 and log.count("ready in") == 1, log
    (server,) = server_pids(project)  # the server outlived the crash and serves the next build
    (project / "posts" / "2026-01-09-crash.md").unlink()
    (project / "posts" / "2026-01-10-more.md").write_text(
        "---\ntitle: More\n---\n\n```{experiment} more\nrecipe: tiny.stripes\nparams: {epochs: 1, per_class: 9}\n```\n")
    done = run_cli_process(project, "-q", env=WARM)
    assert done.returncode == 0, done.stderr
    assert server_pids(project) == [server] and server_log(project).count("forked pid") == 3


def test_a_warm_worker_stops_when_its_build_is_killed(project, stop_servers):
    stop_servers(project)
    (project / ".litblog" / "logs" / "warm-server.log").unlink(missing_ok=True)  # the copied build's
    (project / "posts" / "2026-01-09-slow.md").write_text(
        "---\ntitle: Slow\n---\n\n```{experiment} long\nrecipe: tiny.slow\nparams: {epochs: 40, pause: 1.0}\n```\n")
    import subprocess
    import sys

    build = subprocess.Popen([sys.executable, "-m", "litblog", "--project", str(project)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **WARM})
    deadline = time.monotonic() + 120
    child = None
    while child is None and time.monotonic() < deadline:
        log = server_log(project)
        if "forked pid" in log:
            child = int(log.split("forked pid ")[1].split()[0])
        time.sleep(0.2)
    assert child is not None, "the run was not forked"
    time.sleep(2)
    build.kill()
    build.wait(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists(), "the warm worker outlived its build"


# -- decode once ------------------------------------------------------------------------------


def images(folder: Path, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"{index}.png"
        Image.fromarray(rng.integers(0, 255, (12, 10, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def reader(calls: list[int], paths: list[str]):
    def decode():
        calls.append(1)
        return np.stack([np.asarray(Image.open(p).resize((8, 8)), dtype=np.float32) for p in paths])
    return decode


def test_decoded_images_are_made_once_and_memory_mapped(tmp_path):
    paths = images(tmp_path / "data", 4, seed=0)
    calls: list[int] = []
    first = decoded.decoded_images(paths, (8, 8), tmp_path / "cache", reader(calls, paths))
    second = decoded.decoded_images(paths, (8, 8), tmp_path / "cache", reader(calls, paths))
    assert len(calls) == 1
    assert isinstance(second, np.memmap) and not second.flags.writeable
    np.testing.assert_array_equal(first, second)
    other_size = decoded.decoded_images(paths, (6, 6), tmp_path / "cache", lambda: np.zeros((4, 6, 6, 3)))
    assert other_size.shape == (4, 6, 6, 3)  # another size is another entry


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_a_dataset_change_invalidates_the_decoded_cache(tmp_path, change):
    paths = images(tmp_path / "data", 4, seed=0)
    calls: list[int] = []
    before = np.array(decoded.decoded_images(paths, (8, 8), tmp_path / "cache", reader(calls, paths)))
    if change == "edit":
        Image.fromarray(np.full((12, 10, 3), 7, dtype=np.uint8)).save(paths[2])
        stat = os.stat(paths[2])
        os.utime(paths[2], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a coarse clock
    elif change == "add":
        paths = paths + images(tmp_path / "more", 1, seed=1)
    else:
        paths = paths[:3]
    after = decoded.decoded_images(paths, (8, 8), tmp_path / "cache", reader(calls, paths))
    assert len(calls) == 2
    np.testing.assert_array_equal(after, reader([], paths)())
    assert after.shape != before.shape or not np.array_equal(after, before)


def test_the_decoded_cache_keeps_to_its_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(decoded, "LIMIT_BYTES", 3000)
    cache = tmp_path / "cache"
    for seed in range(4):
        paths = images(tmp_path / f"data{seed}", 2, seed=seed)
        decoded.decoded_images(paths, (8, 8), cache, reader([], paths))  # 2*8*8*3*4 = 1536 bytes each
        time.sleep(0.01)
    left = list((cache / decoded.FOLDER).glob("*.npy"))
    assert 1 <= len(left) <= 2
