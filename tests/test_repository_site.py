"""The repository's own posts build from the committed results, without training anything."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_cli_process

PROJECT_PARTS = ("_config.yml", "posts", "src/recipes", "templates", "results", "static")


def copy_repository(root: Path) -> Path:
    """The repository's project files under ``root``, as a fresh clone has them."""
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__", ".tmp"))
        elif source.is_file():
            root.mkdir(exist_ok=True)
            shutil.copy(source, root / part)
    return root


@pytest.fixture
def repository_copy(tmp_path: Path) -> Path:
    return copy_repository(tmp_path / "repo")


@pytest.fixture(scope="module")
def repository_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """One build of a fresh copy, shared by the tests below: each only reads what it wrote."""
    root = copy_repository(tmp_path_factory.mktemp("repository-build") / "repo")
    return root, run_cli_process(root)


def test_committed_results_match_the_posts_and_recipes(repository_copy):
    done = run_cli_process(repository_copy, "--plan")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^0 of \d+ experiments would run\.$", done.stdout, re.M), done.stdout + done.stderr


def test_the_site_builds_from_committed_results_alone(repository_build):
    repository_copy, done = repository_build
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


def test_the_committed_site_is_what_a_build_writes(repository_build):
    """site/ in the repository is current: a build from a fresh clone changes nothing in it."""
    repository_copy, done = repository_build
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


STUDY_POST = "2026-11-23-cats-vs-dogs-small-cnns"
STUDY_ELEMENTS = 1500  # issue 17's target for the study post (Lighthouse's dom-size counts fewer: the body only)


def test_the_study_post_published_with_jekyll_stays_light(repository_build, tmp_path):
    """A structural count, not a timing: every element of the study post's page as Jekyll publishes
    it (head included) is at most 1,500. Folded per-seed epoch tables as text, coarse highlighting
    of listings and monospace cells keep it there; an HTML table per seed or a span per token
    would not."""
    from html.parser import HTMLParser

    from site_check import JEKYLL, NO_JEKYLL, jekyll_build, page_for, published_posts, require_tool

    require_tool(JEKYLL, NO_JEKYLL)
    repository_copy, done = repository_build
    assert done.returncode == 0, done.stderr
    site = repository_copy / "site"
    built = jekyll_build(site, tmp_path / "published", "/repo")
    assert built.returncode == 0, built.output
    url = next(url for file, url, _ in published_posts(site) if file.startswith(STUDY_POST))
    page = page_for(tmp_path / "published", url.removeprefix("/repo")).read_text(encoding="utf-8")

    class Elements(HTMLParser):
        count = 0

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.count += 1

    counter = Elements()
    counter.feed(page)
    assert 500 < counter.count <= STUDY_ELEMENTS, counter.count
