"""Stage 1: _config.yml is validated key by key, with lines, and all problems are reported."""

from pathlib import Path

import pytest

from litblog.buildtime.sources.config import find_project_root, load_config
from litblog.common.errors import UserError, UserErrors
from litblog.buildtime.publish.site import jekyll_config


def write(root: Path, text: str) -> Path:
    (root / "_config.yml").write_text(text)
    return root


def test_defaults_and_jekyll_keys_pass_through(tmp_path):
    config = load_config(write(tmp_path, "title: My blog\ntimezone: Europe/Paris\n"))
    assert config.jekyll["title"] == "My blog"
    assert config.jekyll["timezone"] == "Europe/Paris"
    assert config.build.posts_dir == "posts" and config.build.seed == 0 and config.build.jobs is None
    assert config.recipes_package == "recipes"
    assert config.import_root == tmp_path / "src"


def test_unknown_build_key_has_line_and_suggestion(tmp_path):
    write(tmp_path, "title: x\nlitblog:\n  seed: 3\n  post_dir: articles\n")
    with pytest.raises(UserErrors) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert "_config.yml:4: unknown config key 'post_dir' (did you mean 'posts_dir'?)" in message


def test_every_error_is_reported_at_once(tmp_path):
    write(tmp_path, "title: x\nbaseurl: repo/\nlitblog:\n  jobs: two\n  seed: 1.5\n  colour: red\n")
    with pytest.raises(UserErrors) as info:
        load_config(tmp_path)
    lines = [e.location.line for e in info.value.errors]
    assert lines == [2, 4, 5, 6]
    assert "config key 'jobs' must be an integer" in str(info.value)
    assert "leading slash" in str(info.value)


def test_bad_yaml_points_at_the_line(tmp_path):
    write(tmp_path, "title: x\nlitblog:\n  seed: [1, 2\n")
    with pytest.raises(UserError) as info:
        load_config(tmp_path)
    assert info.value.location.path == "_config.yml"
    assert info.value.location.line >= 3


def test_project_root_is_found_from_a_subfolder(tmp_path):
    write(tmp_path, "title: x\n")
    (tmp_path / "posts" / "drafts").mkdir(parents=True)
    assert find_project_root(tmp_path / "posts" / "drafts") == tmp_path.resolve()
    with pytest.raises(UserError):
        find_project_root(tmp_path.parent)


def test_site_config_adds_what_pages_needs_and_drops_litblog(tmp_path):
    config = load_config(write(tmp_path, "title: x\nplugins: [jekyll-sitemap]\nlitblog: {seed: 2}\n"))
    site = jekyll_config(config)
    assert "litblog" not in site
    assert site["kramdown"]["math_engine"] == "mathjax" and site["kramdown"]["input"] == "GFM"
    assert site["plugins"] == ["jekyll-sitemap", "jekyll-feed", "jekyll-seo-tag"]
    assert site["whitelist"] == site["plugins"]
    assert "baseurl" not in site  # GitHub Pages fills it in for project pages
