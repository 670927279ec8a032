"""The harness every bad-input and fault test uses: run build-site as a user would and check
that it refused cleanly.

A clean refusal is: the expected exit status, a message located at ``file:line`` (or starting
with ``error:``), no Python traceback anywhere in the output, and ``site/`` and ``results/``
byte-identical to what they were (for faults: ``site/`` whole and nothing partial in
``results/``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import run_cli_process, snapshot

LOCATED = re.compile(r"^(?:[^\s:][^:\n]*:\d+: |error: )", re.MULTILINE)


def guarded_folders(root: Path) -> dict[str, dict[str, str]]:
    """What a refused build must leave exactly as it was."""
    return {folder: snapshot(root / folder) for folder in ("site", "results")}


def expect_refusal(root: Path, *args: str, message: str | re.Pattern[str], code: int = 2,
                   env: dict[str, str] | None = None, unchanged: bool = True) -> subprocess.CompletedProcess:
    """Run ``build-site ARGS`` in ``root``; assert it exits ``code`` with ``message``, located and
    without a traceback, and (``unchanged``) that ``site/`` and ``results/`` are byte-identical."""
    before = guarded_folders(root)
    done = run_cli_process(root, *args, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == code, f"exit {done.returncode}, expected {code}:\n{output}"
    assert "Traceback" not in output, output
    if isinstance(message, re.Pattern):
        assert message.search(done.stderr), f"{message.pattern!r} not in:\n{done.stderr}"
    else:
        assert message in done.stderr, f"{message!r} not in:\n{done.stderr}"
    assert LOCATED.search(done.stderr), f"no file:line or error: message in:\n{done.stderr}"
    if unchanged:
        assert guarded_folders(root) == before
    return done


def no_partial_results(root: Path, results_dir: str = "results", *, staging_may_remain: bool = False) -> None:
    """Every folder in the store is complete (has a manifest) and nothing is left in staging.

    ``staging_may_remain``: right after a build was killed with SIGKILL, a worker's staging folder
    may outlive it; the promise there is that the next build removes it (checked after it).
    """
    store = root / results_dir
    for folder in store.glob("*/*"):
        if folder.parent.name.startswith("."):
            continue
        assert (folder / "manifest.json").is_file() or (folder / "blocked.json").is_file(), folder
    leftovers = [p for p in (store / ".tmp").glob("*")] if (store / ".tmp").exists() else []
    assert staging_may_remain or not leftovers, leftovers
