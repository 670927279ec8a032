"""Faults of the second round (issue 22) in the store, the worker and the command line: deletion
confined to the project, keys that match the code that ran, recipe files read as Python reads
them, posts and folders never silently left out, workers that end, command-line values checked
before they reach a library. Each test fails on the code before the fix."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import run_cli_process, snapshot
from faults import expect_refusal, no_partial_results
from litblog.build import checkpoints
from litblog.common.store import MANIFEST, ResultStore


def outside_archive(tmp_path: Path) -> Path:
    """A folder outside the project shaped like a recipe's results: what --prune must never touch."""
    archive = tmp_path / "archive"
    for key in ("aaaa", "bbbb"):
        (archive / key / "figures").mkdir(parents=True)
        (archive / key / MANIFEST).write_text(json.dumps({"key": key}))
        (archive / key / "figures" / "x.png").write_bytes(b"\x89PNG" + key.encode())
    return archive


# -- 1. deletion never leaves the project ----------------------------------------------------------------

def test_prune_does_not_follow_a_symlinked_recipe_folder_out_of_the_project(project, tmp_path):
    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    (project / "results" / "archived.recipe").symlink_to(archive, target_is_directory=True)
    done = run_cli_process(project, "--prune")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    assert snapshot(archive) == before and sorted(p.name for p in archive.iterdir()) == ["aaaa", "bbbb"]
    assert "results/archived.recipe is a symbolic link" in done.stderr and "not followed" in done.stderr
    assert (project / "results" / "archived.recipe").is_symlink()  # left alone, said so


def test_prune_of_a_symlinked_result_folder_removes_the_link_only(project, tmp_path):
    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    link = project / "results" / "tiny.stripes" / "0123456789abcdef01234567"
    link.symlink_to(archive / "aaaa", target_is_directory=True)
    done = run_cli_process(project, "--prune")
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert not link.exists() and not link.is_symlink()
    assert snapshot(archive) == before
    no_partial_results(project)


def test_prune_with_a_recipe_link_to_an_empty_folder_is_no_traceback(project, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (project / "results" / "gone.recipe").symlink_to(empty, target_is_directory=True)
    done = run_cli_process(project, "--prune")
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert empty.is_dir() and (project / "results" / "gone.recipe").is_symlink()


def test_quarantine_through_a_symlink_moves_nothing_out_of_the_store(tmp_path):
    store_root = tmp_path / "blog" / "results"
    folder = store_root / "r.f" / "key1"
    folder.mkdir(parents=True)
    (folder / MANIFEST).write_text("{}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (store_root / ".quarantine").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OSError, match="symbolic link"):
        ResultStore(store_root).quarantine(folder)
    assert list(elsewhere.iterdir()) == [] and (folder / MANIFEST).is_file()


def test_staging_clean_up_and_checkpoints_remove_links_never_their_targets(tmp_path):
    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    root = tmp_path / "blog"
    store = ResultStore(root / "results")
    (root / "results" / ".tmp").mkdir(parents=True)
    (root / "results" / ".tmp" / "key-1234").symlink_to(archive, target_is_directory=True)
    store.clean_staging()
    assert not (root / "results" / ".tmp").exists()
    (root / "results" / ".tmp").symlink_to(archive, target_is_directory=True)
    store.new_staging("key")  # the link is replaced by a real folder, the target untouched
    assert not (root / "results" / ".tmp").is_symlink()
    store.clean_staging()
    cache = root / ".litblog" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / "oldkey").symlink_to(archive, target_is_directory=True)
    checkpoints.remove_stale(cache, keep=set())
    assert not (cache / "oldkey").is_symlink()
    assert snapshot(archive) == before


def test_the_shared_helper_refuses_paths_reached_through_a_link(tmp_path, caplog):
    from litblog.common.fsutil import remove_confined

    archive = outside_archive(tmp_path)
    before = snapshot(archive)
    root = tmp_path / "blog" / "results"
    root.mkdir(parents=True)
    (root / "linked").symlink_to(archive, target_is_directory=True)
    assert remove_confined(root / "linked" / "aaaa", root) is False
    assert "results/linked is a symbolic link" in caplog.text and "nothing is deleted through it" in caplog.text
    assert remove_confined(root / ".." / "blog", root) is False  # not an entry inside the root
    assert remove_confined(root / "linked", root) is True  # the link itself goes
    assert snapshot(archive) == before
