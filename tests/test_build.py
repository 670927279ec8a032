"""Whole builds of the tiny project: real Keras runs, the Jekyll tree, the preview, and every error path."""

import json
import os
import re
from pathlib import Path

import pytest

from conftest import run_cli, run_cli_process, shown_text, snapshot

POST = "posts/2026-01-05-stripes.md"


def site_post(root: Path, name: str = "2026-01-05-stripes.md") -> str:
    return (root / "site" / "_posts" / name).read_text()


def test_a_build_writes_the_post_with_its_front_matter_and_outputs(built_project):
    text = site_post(built_project)
    front, body = text.split("---\n", 2)[1:]
    assert "title: Stripes, horizontal or vertical" in front and "layout: post" in front
    assert "date: 2026-01-05" in front and "author: Test Author" in front
    # The recipe's real source, its summary, its log in Keras' verbose=2 format, inside {% raw %}.
    assert "def stripes(ctx," in shown_text(body) and "Total params:" in body
    assert re.search(r"^\d+/\d+ - \d+s - \d+m?s/step - accuracy: \d\.\d{4} - loss: ", body, re.M)
    assert body.count("{% raw %}") == body.count("{% endraw %}") >= 3
    # Liquid, HTML and math of the author pass through untouched.
    assert "Liquid {{ site.title }} and {% comment %}a comment{% endcomment %}" in body
    assert '<span class="x">HTML</span>' in body and "$$\\frac{a_1}{b_2}$$" in body
    # Inline values were replaced by numbers; the ordinary code block kept its text.
    assert "{result}`plain.val_accuracy.best:.1%`" not in body
    assert re.search(r"reaches \d+\.\d% at best", body)
    assert "{result}`plain.nothing`" in body
    # The table, with the experiments as rows.
    assert re.search(r"^\| `plain` \| false \| ", body, re.M)
    assert re.search(r"^\| `flipped` \| true \| ", body, re.M)


def test_every_linked_image_exists_and_no_machine_path_leaks(built_project):
    site = built_project / "site"
    body = site_post(built_project)
    images = re.findall(r"\{\{ '/(assets/[^']+\.(?:svg|webp|png))' \| relative_url \}\}", body)  # not the notebook
    assert len(images) == 2
    for image in images:
        assert (site / image).stat().st_size > 1000
    preview = (site / "_site/2026/01/05/stripes/index.html").read_text()
    for src in re.findall(r'<img src="([^"]+)"', preview):
        assert (site / "_site/2026/01/05/stripes" / src).resolve().is_file()
    leaks = [str(built_project.resolve()), os.path.expanduser("~"), "/tmp/"]
    for folder in (site, built_project / "results"):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".md", ".html", ".json", ".txt", ".yml", ".ipynb"):
                text = path.read_text(errors="replace")
                for leak in leaks:
                    assert leak not in text, f"{leak} in {path}"


def test_the_preview_renders_the_same_post_as_html(built_project):
    preview = (built_project / "site/_site/2026/01/05/stripes/index.html").read_text()
    assert "<h1 class=\"post-title\">Stripes, horizontal or vertical</h1>" in preview
    assert '<details class="litblog-log">' in preview and "<table>" in preview
    assert "{% raw %}" not in preview and "relative_url" not in preview
    assert "\\(\\frac{a_1}{b_2}\\)" in preview  # math handed to MathJax, not mangled by Markdown
    index = (built_project / "site/_site/index.html").read_text()
    assert index.index("Counting images") < index.index("Stripes, horizontal")  # newest first


def test_results_are_complete_folders(built_project):
    folders = sorted((built_project / "results").glob("*/*"))
    assert len(folders) == 3
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["key"] == folder.name and manifest["recipe"] == folder.parent.name
        assert manifest["key_inputs"]["seed"] == 1
        assert set(manifest["key_inputs"]["versions"]) == {"tensorflow", "keras"}
        assert manifest["hardware"]["cpu_count"] >= 1 and manifest["timings"]["wall_seconds"] > 0
        for entry in manifest["summaries"] + list(manifest["figures"].values()):
            assert (folder / entry["file"]).is_file()
    assert not (built_project / "results/.tmp").exists() or not any((built_project / "results/.tmp").iterdir())


def test_a_rebuild_with_nothing_changed_runs_nothing_and_never_imports_tensorflow(project):
    before = snapshot(project / "site")
    probe = ("import sys; from litblog.buildtime.commands.cli import main; code = main(sys.argv[1:]); "
             "print('TF-IMPORTED' if 'tensorflow' in sys.modules or 'keras' in sys.modules else 'NO-TF'); "
             "sys.exit(code)")
    import subprocess, sys
    done = subprocess.run([sys.executable, "-c", probe, "--project", str(project)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "NO-TF"
    assert "3 experiments, 3 cached, 0 to run" in done.stderr
    assert "started" not in done.stderr
    after = snapshot(project / "site")
    def published(tree):  # the preview and the build report are local, not published
        return {k: v for k, v in tree.items() if not k.startswith(("_site/", "_build/"))}

    assert published(after) == published(before)


@pytest.mark.slow
def test_prose_edits_rerun_nothing_and_param_edits_rerun_one(project, capsys):
    post = project / POST
    post.write_text(post.read_text().replace("A post about stripes.", "A post about zebras."))
    assert run_cli(project) == 0
    err = capsys.readouterr().err
    assert "0 to run" in err and "zebras" in site_post(project)
    post.write_text(post.read_text().replace("params: {epochs: 2, augment: true}", "params: {epochs: 1, augment: true}"))
    assert run_cli(project) == 0
    err = capsys.readouterr().err
    assert "1 to run" in err and "flipped (tiny.stripes): param epochs: 2 -> 1" in err
    assert "[flipped] stored" in err and "[plain] started" not in err


def test_plan_lists_what_would_run_and_why(project, capsys):
    (project / "src/recipes/helpers.py").write_text(
        (project / "src/recipes/helpers.py").read_text().replace("Conv2D(4, 3", "Conv2D(8, 3"))
    before = {folder: snapshot(project / folder) for folder in ("site", "results")}
    assert run_cli(project, "--plan") == 0
    err = capsys.readouterr().out  # the plan: stdout
    assert re.search(r"plain\s+tiny.stripes\s+run: src/recipes/helpers.py changed", err)
    assert re.search(r"count\s+counting.counts\s+cached", err)
    assert "2 of 3 experiments would run." in err
    assert {folder: snapshot(project / folder) for folder in ("site", "results")} == before


BAD_INPUTS = [
    # (file, old, new, expected message)
    (POST, "title: Stripes", "title: [Stripes",
     "posts/2026-01-05-stripes.md:3: invalid YAML: expected ',' or ']', but got ':' "
     "(while parsing a flow sequence at line 2)"),
    (POST, "```{experiment} flipped", "```{experimnt} flipped",
     "posts/2026-01-05-stripes.md:17: unknown directive 'experimnt' (did you mean 'experiment'?)"),
    (POST, "show: [log]", "shw: [log]", "posts/2026-01-05-stripes.md:20: unknown option 'shw' (did you mean 'show'?)"),
    (POST, "params: {epochs: 2, augment: true}", "params: {epochs: 2, augment: true",
     "posts/2026-01-05-stripes.md:2"),  # line checked loosely below: YAML reports the end of the flow
    (POST, "recipe: tiny.stripes\nparams: {epochs: 2}", "recipe: tiny.strips\nparams: {epochs: 2}",
     "posts/2026-01-05-stripes.md:10: recipe module 'tiny' has no function 'strips' (did you mean 'stripes'?)"),
    (POST, "params: {epochs: 2}\n", "params: {epochs: 2, learning_rate: 0.1}\n",
     "posts/2026-01-05-stripes.md:11: recipe 'tiny.stripes' has no param 'learning_rate'"),
    (POST, "{result}`plain.val_accuracy.best:.1%`", "{result}`plane.val_accuracy.best:.1%`",
     "posts/2026-01-05-stripes.md:15: undefined experiment 'plane' (did you mean 'plain'?)"),
    (POST, "{result}`plain.val_accuracy.best:.1%`", "{result}`plain.val_acuracy.best:.1%`",
     "posts/2026-01-05-stripes.md:15: experiment 'plain' has no value 'val_acuracy.best' "
     "(did you mean 'val_accuracy.best'?)"),
    (POST, "params: {epochs: 2}\n", "params: {epochs: 2, dataset: data/cats}\n",
     "posts/2026-01-05-stripes.md:11: dataset 'data/cats' is neither a known dataset"),
    ("_config.yml", "  seed: 1", "  sed: 1", "_config.yml:4: unknown config key 'sed' (did you mean 'seed'?)"),
]


@pytest.mark.parametrize("file, old, new, message", BAD_INPUTS)
def test_bad_input_is_a_located_error_and_leaves_the_site_alone(project, file, old, new, message):
    path = project / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    before = snapshot(project / "site")
    results_before = snapshot(project / "results")
    done = run_cli_process(project)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(project / "site") == before
    assert snapshot(project / "results") == results_before


def test_a_missing_downloadable_dataset_is_a_located_error(project, tmp_path):
    post = project / POST
    post.write_text(post.read_text().replace("params: {epochs: 2}\n", "params: {epochs: 2, dataset: cats_and_dogs}\n"))
    before = snapshot(project / "site")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_cli_process(project, env={"LITBLOG_DATA_DIR": str(empty), "KERAS_HOME": str(empty / "keras"),
                                         # no network in tests: fail fast instead of waiting on DNS
                                         "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    assert done.returncode == 2, done.stderr
    assert "posts/2026-01-05-stripes.md:9: experiment 'plain' has no data" in done.stderr
    assert "cats_and_dogs_filtered.zip" in done.stderr and "LITBLOG_DATA_DIR" in done.stderr
    assert snapshot(project / "site") == before


def test_a_failing_recipe_exits_1_with_its_traceback_and_with_keep_going_leaves_a_notice(project):
    post = project / POST
    post.write_text(post.read_text() + "\n```{experiment} oops\nrecipe: tiny.broken\nshow: [log]\n```\n")
    before = snapshot(project / "site")
    done = run_cli_process(project)
    assert done.returncode == 1, done.stderr
    assert "posts/2026-01-05-stripes.md:38: experiment 'oops' failed: ZeroDivisionError: division by zero" \
        in done.stderr
    assert "return 1 / divisor" in done.stderr  # the end of the traceback
    log = re.search(r"full log: (\S+)", done.stderr).group(1)
    assert "about to fail" in (project / log).read_text()
    assert snapshot(project / "site") == before
    assert not list((project / "results").glob("tiny.broken*"))

    # --keep-going on the same project (its warm server still up: no second TensorFlow import)
    done = run_cli_process(project, "--keep-going")
    assert done.returncode == 1
    body = site_post(project)
    # One sentence for readers; the exception folded for the author.
    assert "Experiment <code>oops</code> stopped with an error when this site was built." in body
    assert re.search(r"<details[^>]*><summary>Details for the author</summary><p>[^<]*ZeroDivisionError", body)


def test_building_one_post_keeps_the_others(project, capsys):
    counts = project / "posts/2026-01-06-counts.md"
    counts.write_text(counts.read_text().replace("There are", "We count"))
    stripes = project / POST
    stripes.write_text(stripes.read_text().replace("A post about stripes.", "Changed but not rebuilt."))
    assert run_cli(project, str(counts)) == 0
    assert "We count" in site_post(project, "2026-01-06-counts.md")
    assert "A post about stripes." in site_post(project)
    assert (project / "site/assets/stripes/plain-curves.svg").is_file()
    assert (project / "site/_site/2026/01/05/stripes/index.html").is_file()


def test_no_run_trains_nothing_and_says_which_experiments_need_a_run(project, capsys):
    post = project / POST
    post.write_text(post.read_text().replace("params: {epochs: 2}\n", "params: {epochs: 3}\n", 1))
    results = snapshot(project / "results")
    assert run_cli(project, "--no-run") == 0
    err = capsys.readouterr().err
    assert "experiment 'plain' needs a run (" in err and "shown as a notice" in err
    assert snapshot(project / "results") == results  # nothing trained, nothing stored
    assert "Its inputs changed (" in site_post(project) and "run build-site to update it." in site_post(project)
    report = json.loads((project / "site" / "_build" / "report.json").read_text())
    rows = {row["experiment"]: (row["status"], row["ran"]) for row in report["experiments"]}
    assert rows["plain"] == ("not run", False) and rows["flipped"] == ("cached", False)


@pytest.mark.slow
def test_accelerate_is_opt_in_part_of_the_key_and_ends_with_its_run(project):
    (project / "src" / "recipes" / "policy.py").write_text(
        "def policy(ctx):\n"
        "    import keras\n"
        "    import tensorflow as tf\n"
        "    ctx.record('policy', keras.mixed_precision.global_policy().name)\n"
        "    ctx.record('jit', str(tf.config.optimizer.get_jit()))\n")
    # The accelerated run first: the plain one after it (a fork of the same warm server) must not inherit it.
    (project / "posts" / "2026-01-09-policy.md").write_text(
        "---\ntitle: Policy\n---\n\n"
        "```{experiment} fast\nrecipe: policy.policy\naccelerate: [xla, mixed_precision]\nshow: []\n```\n\n"
        "```{experiment} plainrun\nrecipe: policy.policy\nshow: []\n```\n")
    done = run_cli_process(project, "-q")
    assert done.returncode == 0, done.stderr
    runs = {}
    for manifest in (project / "results" / "policy.policy").glob("*/manifest.json"):
        data = json.loads(manifest.read_text())
        runs[tuple(data["key_inputs"]["extra"].get("accelerate", []))] = (
            data["key"], json.loads((manifest.parent / "metrics.json").read_text()))
    assert set(runs) == {(), ("mixed_precision", "xla")}
    assert runs[()][0] != runs[("mixed_precision", "xla")][0]
    assert runs[("mixed_precision", "xla")][1]["policy"] == "mixed_bfloat16"  # no GPU here
    assert runs[("mixed_precision", "xla")][1]["jit"] not in ("", "False")
    assert runs[()][1] == {"policy": "float32", "jit": runs[()][1]["jit"]} and runs[()][1]["jit"] in ("", "False")
    # A misspelt choice is the author's mistake, located.
    post = project / "posts" / "2026-01-09-policy.md"
    post.write_text(post.read_text().replace("accelerate: [xla, mixed_precision]", "accelerate: [fp16]"))
    done = run_cli_process(project, "-q")
    assert done.returncode == 2 and "posts/2026-01-09-policy.md:" in done.stderr and "fp16" in done.stderr


def test_an_unchanged_post_body_is_not_converted_again_and_a_changed_one_is(project, monkeypatch):
    from litblog.buildtime.publish import preview

    page = project / "site/_site/2026/01/05/stripes/index.html"
    assert run_cli(project, "-q") == 0
    before = page.read_text()

    def no_conversion(*args, **kwargs):
        raise AssertionError("a body was converted again")

    monkeypatch.setattr(preview, "_math_extension", no_conversion)  # made with the body converter only
    assert run_cli(project, "-q") == 0  # every body comes from .litblog/cache/preview-html
    assert page.read_text() == before
    monkeypatch.undo()
    post = project / POST
    post.write_text(post.read_text().replace("A post about stripes.", "A post about *striped* images."))
    assert run_cli(project, "-q") == 0
    assert "<em>striped</em> images" in page.read_text()
