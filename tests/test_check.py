"""Every published number true to its inputs: drafts (--set), build-site --check, the Pages
workflow that runs it, and the provenance card at the end of each post."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_cli, snapshot
from litblog.buildtime.render.renderer import Renderer
from litblog.buildtime.render import provenance_card
from litblog.buildtime.render.blocks import figure as figure_directive
from litblog.buildtime.render.page import drawing_digest

STRIPES = "posts/2026-01-05-stripes.md"
STRIPES_SITE = "_posts/2026-01-05-stripes.md"
COUNTS_SITE = "_posts/2026-01-06-counts.md"
STRIPES_PREVIEW = "_site/2026/01/05/stripes/index.html"
COUNTS_PREVIEW = "_site/2026/01/06/counts/index.html"


def published(root: Path) -> dict[str, str]:
    """site/ as GitHub Pages gets it: without the preview and the build report."""
    return {k: v for k, v in snapshot(root / "site").items() if not k.startswith(("_site/", "_build/"))}


# -- drafts: --set never reaches site/ ---------------------------------------------------------------


def test_a_build_with_set_is_a_draft_that_leaves_the_published_site_alone(project, capsys):
    before = published(project)
    results_before = snapshot(project / "results")
    assert run_cli(project, "--set", "plain.epochs=1") == 0
    err = capsys.readouterr().err
    assert published(project) == before  # byte for byte
    assert "draft (--set)" in err and "--set epochs=1 changes plain (posts/2026-01-05-stripes.md:" in err
    page = (project / "site" / STRIPES_PREVIEW).read_text()
    assert ('<p><strong>Draft:</strong> built with <code>--set epochs=1</code> (plain); not published.</p>'
            in page)
    assert "litblog-draft" not in (project / "site" / COUNTS_PREVIEW).read_text()  # not changed by --set
    # The run it trained is stored like any other, under a key that includes the param.
    new = set(snapshot(project / "results")) - set(results_before)
    manifests = [name for name in new if name.endswith("manifest.json")]
    assert len(manifests) == 1
    manifest = json.loads((project / "results" / manifests[0]).read_text())
    assert manifest["key_inputs"]["params"]["epochs"] == 1
    report = json.loads((project / "site" / "_build" / "report.json").read_text())
    assert any(row["experiment"] == "plain" and row["status"] == "stored" for row in report["experiments"])


def test_plan_with_set_says_which_experiments_the_overrides_change(project, capsys):
    assert run_cli(project, "--plan", "-v", "--set", "epochs=2", "--set", "augment=true") == 0
    err = capsys.readouterr().out
    # plain and flipped already have epochs: 2: only augment changes a key, and only plain's.
    assert re.search(r"^--set augment=true changes plain \(posts/2026-01-05-stripes\.md:\d+\)$", err, re.M), err
    assert "--set epochs=2 changes" not in err


def test_the_draft_banner_is_escaped(built_project):
    from litblog.buildtime.commands import drafts
    from litblog.buildtime.sources.config import load_config
    from litblog.buildtime.render.renderer import RenderedPost

    config = load_config(built_project)
    renderer = Renderer(config.path("templates_dir"), config.jekyll["permalink"])
    post = type("P", (), {"path": STRIPES})()
    item = RenderedPost(post, {}, {"jekyll": "body\n", "preview": "body\n"}, {}, "/x/")  # type: ignore[arg-type]
    changes = {(STRIPES, "<i>m</i>"): {"note": "<b>{{ site.x }}</b>{% if %}"}}
    marked = drafts.mark_drafts(renderer, [item], changes)[0]
    for body in marked.bodies.values():
        assert "<b>" not in body and "<i>" not in body and "{{" not in body and "{%" not in body
        assert "&lt;b&gt;&#123;&#123; site.x &#125;&#125;&lt;/b&gt;&#123;% if %&#125;" in body
        assert body.endswith("body\n")


# -- build-site --check ---------------------------------------------------------------------------


def test_check_passes_right_after_a_build_and_writes_nothing(project, capsys):
    site, results = snapshot(project / "site"), snapshot(project / "results")
    assert run_cli(project, "--check") == 0
    err = capsys.readouterr().err
    assert "check: 3 experiment(s) have current results and site/ is what a build writes now" in err
    assert snapshot(project / "site") == site  # the preview and report too
    assert snapshot(project / "results") == results


def test_check_reuses_the_committed_drawings_and_draws_nothing(project, monkeypatch, capsys):
    """Curves drawn at build time carry their digest, as a chart's name does: a fresh clone (no local
    drawing cache) checks them without drawing, so another matplotlib's pixels do not matter."""
    shutil.rmtree(project / ".litblog" / "cache" / "charts")

    def refuse(*args: object) -> None:
        raise AssertionError("the check drew a figure")

    monkeypatch.setattr(figure_directive, "_save_drawing", refuse)
    assert run_cli(project, "--check") == 0, capsys.readouterr().err
    # A committed drawing whose digest is not what the build would draw now is redrawn, and differs.
    monkeypatch.undo()
    assert not (project / ".litblog" / "cache" / "charts").exists()  # the check drew into a scratch folder
    curves = project / "site" / "assets" / "stripes" / "plain-curves.svg"
    data = curves.read_bytes()
    curves.write_bytes(data.replace(drawing_digest(curves).encode(), b"0" * 16))
    assert run_cli(project, "--check") == 1
    assert "site/assets/stripes/plain-curves.svg differs from what posts/2026-01-05-stripes.md builds now" in \
        capsys.readouterr().err


def test_check_fails_after_a_prose_edit_naming_the_post(project, capsys):
    post = project / STRIPES
    post.write_text(post.read_text().replace("A post about stripes.", "A post about zebras."))
    site = snapshot(project / "site")
    assert run_cli(project, "--check") == 1
    err = capsys.readouterr().err
    assert (f"site/{STRIPES_SITE} differs from what {STRIPES} builds now: run build-site and commit site/"
            in err)
    assert "stale" not in err.split("check failed")[0]  # no experiment is stale
    assert COUNTS_SITE not in err
    assert snapshot(project / "site") == site


def test_check_fails_after_a_recipe_edit_naming_the_experiment_and_the_file(project, capsys):
    recipe = project / "src" / "recipes" / "tiny.py"
    recipe.write_text(recipe.read_text().replace("batch_size=8, per_class=per_class)",
                                                 "batch_size=4, per_class=per_class)"))
    results = snapshot(project / "results")
    assert run_cli(project, "--check") == 1
    err = capsys.readouterr().err
    for name in ("plain", "flipped"):
        assert re.search(rf"^{STRIPES}:\d+: experiment '{name}' is stale \(tiny\.stripes\): "
                         rf"src/recipes/tiny\.py::stripes changed", err, re.M), err
    assert "'count'" not in err
    assert snapshot(project / "results") == results


def test_check_reports_a_mistake_in_a_post_with_exit_2(project, capsys):
    post = project / STRIPES
    post.write_text(post.read_text().replace("plain.val_accuracy.best:.1%", "plain.val_acuracy.best:.1%"))
    assert run_cli(project, "--check") == 2
    assert "posts/2026-01-05-stripes.md:" in capsys.readouterr().err


def test_check_refuses_options_of_a_build(project, capsys):
    assert run_cli(project, "--check", "--set", "epochs=1") == 2
    assert "--check cannot be combined with --set" in capsys.readouterr().err


PROBE = """
import sys
at_start = set(sys.modules)  # what the interpreter loads by itself (.pth files)
from litblog.buildtime.commands.cli import main
code = main(sys.argv[1:])
import json
print(json.dumps(sorted(m for m in set(sys.modules) - at_start if '.' not in m)))
sys.exit(code)
"""


def test_check_never_imports_tensorflow_and_needs_only_the_check_requirements(project):
    done = subprocess.run([sys.executable, "-c", PROBE, "--project", str(project), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not modules & {"tensorflow", "keras", "seaborn", "rich", "tensorboard"}
    # Every third-party module it imported is installed by requirements-check.txt (or a dependency of one).
    allowed = _closure(_requirement_names(REPO / "requirements-check.txt")) | {"litblog"}
    distributions = metadata.packages_distributions()
    third_party = {m: distributions[m] for m in modules if m in distributions and m not in sys.stdlib_module_names}
    outside = {m: d for m, d in third_party.items() if not {_normal(x) for x in d} & allowed}
    assert outside == {}, f"--check imports modules requirements-check.txt does not install: {outside}"


BLOCK_TENSORFLOW = """
import importlib.abc, importlib.metadata as md, sys
HIDDEN = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "keras")
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ImportError(f"No module named {name!r} (hidden by the test)")
        return None
sys.meta_path.insert(0, Blocker())
real_version = md.version
def version(name):
    if name.lower() in HIDDEN:
        raise md.PackageNotFoundError(name)
    return real_version(name)
md.version = version
from litblog.buildtime.commands.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_check_works_where_tensorflow_is_not_installed(project):
    """As on a GitHub runner with requirements-check.txt only: keys use the versions litblog pins."""
    done = subprocess.run([sys.executable, "-c", BLOCK_TENSORFLOW, "--project", str(project), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "note: tensorflow is not installed here: keys use the version litblog pins" in done.stderr


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(file: Path) -> set[str]:
    names = set()
    for line in file.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(_normal(re.split(r"[<>=!~;\[ ]", line)[0]))
    return names


def _closure(names: set[str]) -> set[str]:
    """``names`` and every distribution they require, transitively (extras left out)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requirements:
            if "extra ==" in requirement:
                continue
            todo.append(_normal(re.split(r"[<>=!~;\[ (]", requirement.strip())[0]))
    return seen


# -- the Pages workflow ---------------------------------------------------------------------------


def test_the_pages_workflow_checks_without_tensorflow_before_building_with_jekyll():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "pages.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    def index(predicate) -> int:
        found = [i for i, step in enumerate(steps) if predicate(step)]
        assert len(found) == 1, steps
        return found[0]
    setup = index(lambda s: str(s.get("uses", "")).startswith("actions/setup-python@"))
    install = index(lambda s: "pip install" in s.get("run", ""))
    check = index(lambda s: "build-site --check" in s.get("run", ""))
    jekyll = index(lambda s: str(s.get("uses", "")).startswith("actions/jekyll-build-pages@"))
    assert setup < install < check < jekyll
    assert str(steps[setup]["with"]["python-version"]) == "3.11"
    assert "continue-on-error" not in steps[check]  # a failing check fails the deployment
    commands = [line.strip() for line in steps[install]["run"].splitlines() if line.strip()]
    assert commands == ["python -m pip install -r requirements-check.txt", "python -m pip install --no-deps ."]
    requirements = _requirement_names(REPO / "requirements-check.txt")
    assert not {name for name in requirements if "tensorflow" in name or name in ("keras", "tf-keras")}
    # Each is also a dependency of litblog: the two lists cannot drift apart unnoticed.
    dependencies = {_normal(re.split(r"[<>=!~;\[ ]", d)[0])
                    for d in _pyproject()["project"]["dependencies"]}
    assert requirements <= dependencies
    # A non-editable install must ship the engine pins, or every key would differ on the runner.
    assert "engine_pins.json" in _pyproject()["tool"]["setuptools"]["package-data"]["litblog.buildtime.plan"]


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        pytest.skip("tomllib needs Python 3.11")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


# -- the provenance card --------------------------------------------------------------------------


# What every run shares, once above the table; a row per run: seed, key, date, duration.
CARD_FIELDS = ("<summary>How this post was built</summary>", "<dt>software</dt><dd>Python ", ", TensorFlow ",
               ", Keras ", ", litblog ", "<dt>hardware</dt>", " cores", "<dt>commit</dt><dd>not recorded</dd>",
               '<th scope="col">seed</th><th scope="col">key</th><th scope="col">ran</th><th scope="col">duration</th>',
               ' UTC</td><td title="training ', " s, wall ")


@pytest.mark.parametrize("page", [STRIPES_SITE, STRIPES_PREVIEW])
def test_every_post_with_experiments_ends_with_a_provenance_card(built_project, page):
    text = (built_project / "site" / page).read_text()
    assert text.count('<details class="litblog-provenance">') == 1
    start = text.index('<details class="litblog-provenance">')
    card = text[start:text.index("</details>", start) + len("</details>")]
    if page == STRIPES_SITE:
        assert text.rstrip().endswith(card)  # the end of the post
    for field in CARD_FIELDS:
        assert field in card, field
    assert "files read" not in card and "<dt>seed</dt>" not in card  # no run read a file; no field per run
    for name, params in (("plain", "epochs=2, augment=false"), ("flipped", "epochs=2, augment=true")):
        assert f"Experiment <code>{name}</code>: recipe <code>stripes</code> in <code>src/recipes/tiny.py</code>; " \
               f"params <code>dataset=synthetic, image_size=16, per_class=12, {params}</code>" in card
    report = json.loads((built_project / "site" / "_build" / "report.json").read_text())
    keys = {row["experiment"]: row["key"] for row in report["experiments"]}
    for name in ("plain", "flipped"):
        assert re.search(rf"<tr><td>1</td><td class=\"litblog-mono\">{keys[name]}</td><td>\d{{4}}-\d\d-\d\d \d\d:\d\d UTC</td>"
                         r'<td title="training [\d.]+ s, wall [\d.]+ s">\d+(\.\d)? s</td></tr>', card), name
    assert card.count("<tr><td>") == 2  # one row per run
    assert str(built_project) not in card and "/tmp/" not in card


def test_the_report_has_each_experiments_provenance(built_project):
    report = json.loads((built_project / "site" / "_build" / "report.json").read_text())
    for row in report["experiments"]:
        provenance = row["provenance"]
        assert provenance["recipe"] == row["recipe"] and provenance["file"].startswith("src/recipes/")
        [run] = provenance["runs"]  # a list: one run per seed once an experiment has several
        assert run["key"] == row["key"] and run["seed"] == 1 and run["stored"] is True
        assert set(run["versions"]) == {"python", "tensorflow", "keras", "litblog"}
        assert run["hardware"]["cores"] >= 1 and run["wall_seconds"] > 0 and run["created"]
        assert run["repository"] == {"commit": None, "dirty": None}  # the fixture is no git repository
        assert run["reads"] == []


def test_a_post_without_experiments_gets_no_card(project):
    (project / "posts" / "2026-01-07-words.md").write_text("---\ntitle: Only words\n---\n\nNo experiments.\n")
    assert run_cli(project, "-q") == 0
    assert "litblog-provenance" not in (project / "site" / "_posts" / "2026-01-07-words.md").read_text()


def test_the_card_escapes_every_value_for_html_and_liquid(built_project):
    from litblog.buildtime.sources.config import load_config

    config = load_config(built_project)
    renderer = Renderer(config.path("templates_dir"), config.jekyll["permalink"])
    nasty = "<script>x</script>{{ site.title }}{% if a %}"
    card = [{"experiment": nasty, "recipe": "m.f", "file": "src/recipes/m.py", "function": "f", "runs": [{
        "key": "k" * 24, "seed": 0, "params": {"note": nasty}, "stored": True, "note": None,
        "created": nasty, "train_seconds": 1.0, "wall_seconds": 2.5,
        "versions": {"python": nasty, "tensorflow": "2.21.0", "keras": "3.15.1", "litblog": None},
        "hardware": {"cpu": nasty, "cores": 2, "gpus": [nasty], "system": "Linux x86_64"},
        "repository": None, "reads": [{"name": f"$KERAS_HOME/models/{nasty}", "sha256": "ab" * 32, "bytes": 3}]}]}]
    for target in ("jekyll", "preview"):
        html = renderer.render_block(target, provenance_card.TEMPLATE, **provenance_card.template_values(card))
        assert "<script>" not in html and "{{" not in html and "{%" not in html
        assert "&lt;script&gt;x&lt;/script&gt;&#123;&#123; site.title &#125;&#125;&#123;% if a %&#125;" in html
        assert "abababababab $KERAS_HOME/models/&lt;script&gt;" in html and "litblog not recorded" in html
        assert "<dt>commit</dt><dd>not recorded</dd>" in html and "<dt>files read</dt>" in html
        assert "\n\n" not in html  # one HTML block for kramdown and Python-Markdown alike
