"""A run made from files the commit does not hold is recorded as dirty, and its card names them.

The build asks git once for the untracked and modified files (``buildtime/execute/provenance.py``); the
worker keeps those among the run's code and the files it read (``common/dirty.py``).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli_process
from litblog.common.dirty import repository_entry

POST = "posts/2026-01-08-words.md"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(root), *args],
                          check=True, capture_output=True, text=True).stdout


def _manifests(root: Path, recipe: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in (root / "results" / recipe).glob("*/manifest.json")]


def test_the_entry_keeps_only_what_the_run_used():
    given = {"commit": "abc", "dirty": False, "changed_code": [], "changed_files": ["data/a.txt", "notes.md"]}
    assert repository_entry(given, []) == {"commit": "abc", "dirty": False}
    assert repository_entry(given, ["./data/a.txt", "$KERAS_HOME/models/w.h5"]) == {
        "commit": "abc", "dirty": True, "dirty_files": ["data/a.txt"]}
    assert repository_entry({**given, "changed_code": ["src/recipes/x.py"]}, [])["dirty_files"] == ["src/recipes/x.py"]
    assert repository_entry(None, []) == {"commit": None, "dirty": None}


def test_a_run_from_an_untracked_recipe_and_input_is_dirty_and_the_card_names_them(fresh_project: Path):
    root = fresh_project
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "the project")
    # Committed: a recipe that reads nothing. Not committed: a recipe and the file it reads.
    (root / "src/recipes/committed.py").write_text("def count(ctx):\n    ctx.record('words', 2)\n")
    _git(root, "add", "src/recipes/committed.py")
    _git(root, "commit", "-q", "-m", "a committed recipe")
    (root / "data").mkdir()
    (root / "data" / "vocabulary.txt").write_text("cat\ndog\nbird\n")
    (root / "data" / "unused.txt").write_text("not read by any run\n")
    (root / "src/recipes/declared.py").write_text(
        "def count(ctx):\n"
        "    words = ctx.input_file('data/vocabulary.txt').read_text().split()\n"
        "    ctx.record('words', len(words))\n")
    (root / POST).write_text(
        "---\ntitle: Words\n---\n\n```{experiment} words\nrecipe: declared.count\n```\n\n"
        "```{experiment} clean\nrecipe: committed.count\n```\n\n"
        "{result}`words.words` and {result}`clean.words` words.\n")
    done = run_cli_process(root, POST)
    assert done.returncode == 0, done.stderr
    [dirty] = _manifests(root, "declared.count")
    commit = _git(root, "rev-parse", "HEAD").strip()
    assert dirty["repository"] == {"commit": commit, "dirty": True,
                                   "dirty_files": ["data/vocabulary.txt", "src/recipes/declared.py"]}
    [clean] = _manifests(root, "committed.count")
    assert clean["repository"] == {"commit": commit, "dirty": False}  # untracked files it never used
    page = (root / "site" / "_posts" / "2026-01-08-words.md").read_text()
    assert f"{commit[:7]}" in page
    assert "not in the commit: data/vocabulary.txt, src/recipes/declared.py" in page
    assert "clean tree" in page


def test_builds_in_one_process_ask_git_again_each_time(fresh_project: Path):
    """``serve --run`` builds for hours in one process while the author edits and commits: each
    build's runs record the repository as it is then, not as the first build found it."""
    import io

    from litblog.buildtime.commands.pipeline import BuildOptions, build
    from litblog.buildtime.execute.progress import ConsoleReporter

    root = fresh_project
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    (root / "src/recipes/counted.py").write_text("def count(ctx, n: int = 1):\n    ctx.record('n', n)\n")
    (root / POST).write_text("---\ntitle: Words\n---\n\n```{experiment} n\nrecipe: counted.count\n"
                             "params: {n: 1}\n```\n\n{result}`n.n`\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "the project")
    first = _git(root, "rev-parse", "HEAD").strip()

    def build_and_read(n: int, *, commit: bool = False) -> dict:
        post = root / POST
        post.write_text(re.sub(r"n: \d+", f"n: {n}", post.read_text()))
        if commit:
            _git(root, "commit", "-q", "-am", f"n = {n}")
        assert build(root, BuildOptions(posts=[str(post)]), ConsoleReporter(io.StringIO(), 0)).exit_code == 0
        [new] = [manifest for manifest in _manifests(root, "counted.count") if manifest["key"] not in seen]
        seen.add(new["key"])
        return new["repository"]

    seen: set[str] = set()

    assert build_and_read(1) == {"commit": first, "dirty": False}
    recipe = root / "src/recipes/counted.py"
    recipe.write_text(recipe.read_text() + "# edited, not committed\n")
    # The post and the recipe are modified: the tree is dirty, and the run's own code is named.
    assert build_and_read(2) == {"commit": first, "dirty": True, "dirty_files": ["src/recipes/counted.py"]}
    assert build_and_read(3, commit=True) == {"commit": _git(root, "rev-parse", "HEAD").strip(), "dirty": False}
