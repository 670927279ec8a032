"""The README's first post and recipe, copied out of README.md as a newcomer would, build.

Only the params change (synthetic data, one epoch) so the run is tiny; the recipe, the
directives and the role are the README's own text, so an edit that breaks them fails here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, make_project, run_cli

pytestmark = pytest.mark.slow

README = REPO / "README.md"


def first_post_blocks() -> tuple[str, str]:
    """The recipe (the first Python block) and the post (the first Markdown block) of "Your first post"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Your first post"):]
    section = section[:section.index("\n## ", 1)]
    recipe = re.search(r"^```python\n(.*?)^```\n", section, re.S | re.M)
    post = re.search(r"^````markdown\n(.*?)^````\n", section, re.S | re.M)
    assert recipe and post, "README's first post lost its recipe or its post block"
    return recipe.group(1), post.group(1)


def test_the_readme_names_the_files_it_shows() -> None:
    recipe, post = first_post_blocks()
    assert recipe.startswith("# src/recipes/first.py\n")
    assert "recipe: first.small_cnn" in post
    assert "posts/2026-12-01-first-post.md" in README.read_text(encoding="utf-8")


def test_the_readme_first_post_builds(tmp_path: Path) -> None:
    recipe, post = first_post_blocks()
    root = make_project(tmp_path / "blog")
    shutil.rmtree(root / "posts")
    (root / "posts").mkdir()
    (root / "src" / "recipes" / "first.py").write_text(recipe, encoding="utf-8")
    tiny = re.sub(r"^params: \{[^}]*\}", "params: {dataset: synthetic, epochs: 1}", post, count=1, flags=re.M)
    assert tiny != post, "the post's params line moved; update this test"
    (root / "posts" / "2026-12-01-first-post.md").write_text(tiny, encoding="utf-8")

    assert run_cli(root, "-q") == 0

    pages = list((root / "site" / "_posts").glob("2026-12-01-first-post.*"))
    assert pages, "no page written for the README's post"
    page = pages[0].read_text(encoding="utf-8")
    assert "My first experiment" in page
    assert "{result}" not in page  # the role became a value
    assert re.search(r"reaches .*?\d+\.\d%.*? on validation data", page, re.S)
    assert list((root / "results" / "first.small_cnn").glob("*/manifest.json"))
