"""Shared fixtures: a tiny litblog project on synthetic data, built once per session."""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from litblog.buildtime.commands import cli

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "project"


# End-to-end test modules: each test starts workers (real Keras), a Dask cluster, a warm server,
# Jekyll, Chromium or an HTTP server. They are marked slow here, module by module, so that
# `pytest -m "not slow"` runs the fast set; a test elsewhere says so with @pytest.mark.slow.
SLOW_MODULES = frozenset({"test_browser", "test_dask", "test_execute", "test_faults_execution", "test_jekyll",
                          "test_pretrained", "test_recipes", "test_repository_site", "test_serve", "test_warm"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def make_project(dest: Path) -> Path:
    """A fresh copy of the fixture project, with the repository's templates."""
    shutil.copytree(FIXTURE, dest)
    shutil.copytree(REPO / "templates", dest / "templates")
    return dest


def run_cli(root: Path, *args: str) -> int:
    """``build-site --project ROOT ARGS`` in this process; returns the exit status."""
    return cli.main(["--project", str(root), *args])


def run_cli_process(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``build-site`` in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "litblog", "--project", str(root), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=900)


def worker_pids(root: Path) -> list[int]:
    """Live worker processes of builds of ``root``: fresh interpreters running a spec under
    root/.litblog/specs, or children of the project's warm server (see litblog.buildtime.execute.warm)."""
    marker = str(root / ".litblog" / "specs")
    warm_state = str(root / ".litblog" / "warm")
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            processes[int(entry.name)] = (cmdline, int(parent), state)
    servers = {pid for pid, (cmdline, _, _) in processes.items()
               if "litblog.runtime.warm_server" in cmdline and warm_state in cmdline}
    return [pid for pid, (cmdline, parent, state) in processes.items()
            if state not in ("Z", "X") and (("litblog.runtime.worker" in cmdline and marker in cmdline) or parent in servers)]


def shown_text(page: str) -> str:
    """What a reader sees of a page's markup: tags and Liquid raw markers removed, entities decoded
    (highlighted code is split into spans, so a listing is searched for as text)."""
    text = re.sub(r"\{% (?:end)?raw %\}", "", page)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the hash of its bytes."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def short_lived_warm_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Warm servers (see litblog.buildtime.execute.warm) of test projects wait 20 s for work, not ten minutes, and
    those of this session still up when it ends are stopped: each holds TensorFlow in memory.
    Only this session's: another test session may be running on the machine."""
    os.environ.setdefault("LITBLOG_WARM_WORKERS", "20")
    base = str(tmp_path_factory.getbasetemp().resolve()) + os.sep
    yield
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if entry.name.isdigit() and b"litblog.runtime.warm_server" in cmdline and b"--state" in cmdline:
            state = cmdline[cmdline.index(b"--state") + 1].decode(errors="replace")
            if state.startswith(base):
                try:
                    os.kill(int(entry.name), signal.SIGTERM)
                except OSError:
                    pass


@pytest.fixture(scope="session", autouse=True)
def isolated_keras_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keras' cache (weights, downloads) in a temporary folder, unless CI chose one."""
    if "KERAS_HOME" not in os.environ:
        os.environ["KERAS_HOME"] = str(tmp_path_factory.mktemp("keras-home"))
    return Path(os.environ["KERAS_HOME"])


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture project after one real build (three tiny experiments, real Keras)."""
    root = make_project(tmp_path_factory.mktemp("built") / "blog")
    assert run_cli(root, "-q") == 0
    return root


@pytest.fixture
def project(tmp_path: Path, built_project: Path) -> Path:
    """A private copy of the built project, results and site included, to change at will."""
    dest = tmp_path / "blog"
    shutil.copytree(built_project, dest, ignore=shutil.ignore_patterns("build.lock"))
    return dest


@pytest.fixture
def fresh_project(tmp_path: Path) -> Path:
    """The fixture project before any build."""
    return make_project(tmp_path / "blog")
