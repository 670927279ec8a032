"""The repository's own posts build from the committed results, without training anything."""

import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_cli_process

PROJECT_PARTS = ("_config.yml", "posts", "src/recipes", "templates", "results", "static")


@pytest.fixture
def repository_copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__", ".tmp"))
        elif source.is_file():
            root.mkdir(exist_ok=True)
            shutil.copy(source, root / part)
    return root


def test_committed_results_match_the_posts_and_recipes(repository_copy):
    done = run_cli_process(repository_copy, "--plan")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^0 of \d+ experiments would run\.$", done.stdout, re.M), done.stdout + done.stderr


def test_the_site_builds_from_committed_results_alone(repository_copy):
    done = run_cli_process(repository_copy)
    assert done.returncode == 0, done.stderr
    assert "started" not in done.stderr
    site = repository_copy / "site"
    posts = sorted((site / "_posts").glob("*.md"))
    assert posts, "no post was written"
    for post in posts:
        text = post.read_text()
        assert text.startswith("---\n") and "\ntitle: " in text
        for image in re.findall(r"\{\{ '/(assets/[^']+)' \| relative_url \}\}", text):
            assert (site / image).is_file(), f"{post.name} links a missing {image}"
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".html", ".yml", ".json"):
            assert str(repository_copy) not in path.read_text(errors="replace")


def test_the_committed_site_is_what_a_build_writes(repository_copy):
    """site/ in the repository is current: a build from a fresh clone changes nothing in it."""
    done = run_cli_process(repository_copy)
    assert done.returncode == 0, done.stderr
    built = repository_copy / "site"
    committed = REPO / "site"
    def published(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and not p.relative_to(root).parts[0] in ("_site", "_build")}
    assert published(built).keys() == published(committed).keys()
    for name, data in published(built).items():
        if "/chart-" in name:
            continue  # drawn at build time: its name is its content's digest, its pixels the plotting library's
        assert data == published(committed)[name], f"site/{name} is stale: run `make site` and commit"
