"""``build-site reproduce`` and the notebook per post: re-runs agree, edits are named, nothing published is written."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from conftest import REPO, run_cli, snapshot
from litblog.buildtime.notebooks import comparison

STRIPES = "posts/2026-01-05-stripes.md"
COLAB = re.compile(r'href="(https://colab\.research\.google\.com/[^"]+)"')


def test_reproduce_says_identical_then_names_an_edited_recipe_and_writes_neither_results_nor_site(
        project: Path, capsys) -> None:
    # One project for both verdicts: a second copy would pay for another warm server.
    shutil.rmtree(project / ".litblog")  # as in a fresh clone: results/ and site/ only
    shutil.rmtree(project / "site" / "_site")
    before = snapshot(project / "results"), snapshot(project / "site")
    assert run_cli(project, "reproduce", STRIPES, "--experiment", "plain", "--seed", "1") == 0
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "plain: identical: all" in out and "bit for bit" in out
    assert (snapshot(project / "results"), snapshot(project / "site")) == before
    assert list((project / ".litblog" / "reproduce" / "results" / "tiny.stripes").iterdir())

    # The recipe edited: the re-run differs, and the recipe is named as what changed.
    recipe = project / "src" / "recipes" / "tiny.py"
    recipe.write_text(recipe.read_text().replace("batch_size=8", "batch_size=4"))
    assert run_cli(project, "reproduce", STRIPES, "--experiment", "plain") == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "plain: differs:" in out
    assert "code: the recipe src/recipes/tiny.py::stripes changed" in out
    assert "history.accuracy.epoch 1: published" in out
    assert (snapshot(project / "results"), snapshot(project / "site")) == before


@pytest.mark.parametrize("args, message", [
    (["--experiment", "plian"], "--experiment plian: no experiment of that name"),
    (["--seed", "7"], "--seed 7: no run"),
    (["posts/none.md"], "'posts/none.md' is not a post of this project"),
])
def test_user_mistakes_exit_2(project: Path, capsys, args: list[str], message: str) -> None:
    assert run_cli(project, "reproduce", *args) == 2
    assert message in capsys.readouterr().err


def test_comparison_verdicts() -> None:
    run = {"metrics": {"test": {"accuracy": 0.5}}, "history": {"epochs": [1], "metrics": {"loss": [0.7]}},
           "predictions": {"test": "abc"}}
    assert comparison.compare_runs(run, json.loads(json.dumps(run)))["verdict"] == comparison.IDENTICAL
    near = json.loads(json.dumps(run))
    near["history"]["metrics"]["loss"] = [0.7 * (1 + 1e-5)]
    assert comparison.compare_runs(run, near)["verdict"] == comparison.WITHIN
    far = json.loads(json.dumps(run))
    far["metrics"]["test"]["accuracy"] = 0.6
    result = comparison.compare_runs(run, far)
    assert result["verdict"] == comparison.DIFFERS
    assert comparison.difference_lines(result) == ["metrics.test.accuracy: published 0.5, re-run 0.6 (by 0.1)"]


def test_environment_changes_name_versions_and_hardware() -> None:
    from litblog.buildtime.commands.reproduce import environment_changes, input_changes

    recorded = {"runtime": {"tensorflow": "2.21.0", "python": "3.11.7"},
                "hardware": {"cpu": "AMD EPYC", "cpu_count": 2, "gpus": []}}
    here = {"runtime": {"tensorflow": "2.20.0", "python": "3.11.7"},
            "hardware": {"cpu": "AMD EPYC", "cpu_count": 2, "gpus": [{"name": "NVIDIA H200"}]}}
    assert environment_changes(recorded, here) == [
        "versions: tensorflow 2.21.0 recorded, 2.20.0 here",
        "hardware: AMD EPYC (2 cores), no GPU recorded, AMD EPYC (2 cores), NVIDIA H200 here"]
    assert input_changes({"datasets": {"synthetic": "v1"}, "sources": {"a.py": "1"}},
                         {"datasets": {"synthetic": "v2"}, "sources": {"a.py": "1"}}) == [
        "data: dataset 'synthetic' fingerprint v1 recorded, v2 here"]


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.floats(allow_nan=False)
                     | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(metrics=st.dictionaries(st.text(min_size=1, max_size=5), _JSON, max_size=5),
       losses=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=5), data=st.data())
def test_a_run_compared_with_itself_is_identical_and_any_changed_value_is_found(metrics, losses, data) -> None:
    run = {"metrics": metrics, "history": {"epochs": list(range(1, len(losses) + 1)), "metrics": {"loss": losses}}}
    assert comparison.compare_runs(run, json.loads(json.dumps(run)))["verdict"] == comparison.IDENTICAL
    changed = json.loads(json.dumps(run))
    epoch = data.draw(st.integers(0, len(losses) - 1))
    changed["history"]["metrics"]["loss"][epoch] = losses[epoch] + 1.0 if abs(losses[epoch]) < 1e15 else 0.0
    result = comparison.compare_runs(run, changed)
    assert result["verdict"] != comparison.IDENTICAL
    assert [d["value"] for d in result["differences"]] == [f"history.loss.epoch {epoch + 1}"]


def _notebook(root: Path, slug: str) -> Path:
    return root / "site" / "assets" / slug / f"{slug}.ipynb"


def test_every_post_with_experiments_has_a_valid_notebook_linked_in_both_targets(project: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    for slug in ("stripes", "counts"):
        notebook = _notebook(project, slug)
        nbformat.validate(nbformat.read(notebook, as_version=4))
        assert (project / "site" / "_site" / "assets" / slug / f"{slug}.ipynb").read_bytes() == notebook.read_bytes()
        text = notebook.read_text()
        assert str(project) not in text and "/home/" not in text and "/tmp/" not in text
        post = next((project / "site" / "_posts").glob(f"*{slug}.md")).read_text()
        assert f"{{{{ '/assets/{slug}/{slug}.ipynb' | relative_url }}}}" in post
        assert f"build-site reproduce posts/" in post
        preview = next(p for p in (project / "site" / "_site").rglob("index.html") if f"/{slug}/" in p.as_posix())
        assert f'href="../../../../assets/{slug}/{slug}.ipynb"' in preview.read_text()
        assert not COLAB.search(post) and not COLAB.search(preview.read_text())


def test_a_build_keeps_every_notebook_it_uses_however_few_the_cache_keeps(project: Path, monkeypatch) -> None:
    """The site is written after every post is rendered: pruning the notebook cache while a
    build renders must not drop a notebook a post rendered earlier returned (it did at 1,000
    posts, beyond the 200 kept). Old notebooks no post uses are still pruned."""
    from litblog.buildtime.notebooks import notebook

    monkeypatch.setattr(notebook, "CACHE_KEPT", 0)
    cached = sorted((project / ".litblog" / "cache" / "notebooks").glob("*.ipynb"))
    assert len(cached) == 2
    stale = cached[0].with_name("0123456789abcdef01234567.ipynb")
    stale.write_text("{}")
    for file in (*cached, stale):
        os.utime(file, (1e9, 1e9))  # long unused: what pruning takes first
    cached[1].unlink()  # written again this build, which prunes; the other is reused
    shutil.rmtree(project / ".litblog" / "cache" / "render")  # every post rendered again
    assert run_cli(project, "-q") == 0
    for slug in ("stripes", "counts"):
        assert (project / "site" / "assets" / slug / f"{slug}.ipynb").is_file()
    assert cached[0].is_file() and cached[1].is_file() and not stale.exists()


def test_colab_link_has_the_documented_form(project: Path) -> None:
    config = project / "_config.yml"
    config.write_text(config.read_text() + "  repository: octocat/tiny-blog\n  branch: pages\n")
    assert run_cli(project, "-q", "--no-run") == 0
    post = next((project / "site" / "_posts").glob("*stripes.md")).read_text()
    assert COLAB.findall(post) == ["https://colab.research.google.com/github/octocat/tiny-blog/blob/pages/"
                                   "site/assets/stripes/stripes.ipynb"]
    assert "https://github.com/octocat/tiny-blog" in _notebook(project, "stripes").read_text()


def test_repository_must_be_owner_and_name(project: Path, capsys) -> None:
    config = project / "_config.yml"
    config.write_text(config.read_text() + "  repository: not a repo\n")
    assert run_cli(project, "-q", "--no-run") == 2
    assert "_config.yml:5: config key 'repository' is 'not a repo'" in capsys.readouterr().err


def test_check_fails_on_a_stale_or_missing_notebook(project: Path, capsys) -> None:
    assert run_cli(project, "check") == 0
    notebook = _notebook(project, "stripes")
    notebook.write_text(notebook.read_text().replace("Run this post yourself", "Run it"))
    capsys.readouterr()
    assert run_cli(project, "check") == 1
    assert "site/assets/stripes/stripes.ipynb differs from what posts/2026-01-05-stripes.md builds now" in \
        capsys.readouterr().err
    notebook.unlink()
    assert run_cli(project, "check") == 1
    assert "site/assets/stripes/stripes.ipynb is missing" in capsys.readouterr().err


def test_generated_notebook_runs_offline_and_reports_identical(project: Path, tmp_path: Path) -> None:
    """The stripes notebook, executed with nbclient on this interpreter's kernel, litblog from this checkout."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    folder = tmp_path / "reader"
    folder.mkdir()
    notebook = nbformat.read(_notebook(project, "stripes"), as_version=4)  # two tiny runs of 2 epochs
    # A kernel of this interpreter (the project's venv), whatever kernels the machine has installed.
    kernels = tmp_path / "jupyter" / "kernels" / "litblog-test"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "litblog test", "language": "python"}))
    environment = {"LITBLOG_NOTEBOOK_INSTALL": str(REPO), "PYTHONPATH": "", "LITBLOG_WARM_WORKERS": "0",
                   "JUPYTER_PATH": str(tmp_path / "jupyter")}
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="litblog-test",
                                         resources={"metadata": {"path": str(folder)}})
        client.execute()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    last = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert "Every value of all 2 run(s) is identical to the published run." in last
    assert "differs" not in last
    assert not (folder / "blog-source").exists()  # nothing cloned: the override's checkout was used
    shutil.rmtree(folder / "reproduce-project")


def test_notebook_links_resolve_in_jekyll_and_the_preview_without_a_colab_link(tmp_path_factory, built_project) -> None:
    """The real Jekyll build of the fixture site (no repository configured): the notebook's links are
    checked like every internal link, none is broken, and there is no Colab link."""
    from site_check import BASEURL, JEKYLL, NO_JEKYLL, STRIPES_POST, check_links, checked_site, require_tool

    require_tool(JEKYLL, NO_JEKYLL)
    built = checked_site(tmp_path_factory.mktemp("jekyll"), built_project)
    page = (built.jekyll.destination / STRIPES_POST / "index.html").read_text()
    assert f'href="{BASEURL}/assets/stripes/stripes.ipynb" download' in page and not COLAB.search(page)
    assert (built.jekyll.destination / "assets" / "stripes" / "stripes.ipynb").is_file()
    for root, baseurl in ((built.jekyll.destination, BASEURL), (built.site / "_site", None)):
        assert check_links(root, baseurl).broken == []
