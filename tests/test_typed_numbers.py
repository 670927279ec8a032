"""The typed-number check (buildtime/render/typed_numbers.py): a number typed into prose that copies a
recorded value is a warning with the reference to use; one given as a recorded metric's value
that disagrees is an error at its line; plain counts, code, math and links are left alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from litblog.buildtime.render import typed_numbers
from litblog.buildtime.sources.config import load_config
from litblog.buildtime.commands.pipeline import _outcomes, _parse, _read_posts
from litblog.buildtime.plan.plan import make_plan
from litblog.buildtime.render.renderer import Renderer
from litblog.common.errors import UserErrors
from litblog.common.store import ResultStore, seal

REPO = Path(__file__).resolve().parents[1]

POST = """---
title: Typed
---

```{{experiment}} model4
recipe: tiny.stripes
params: {{epochs: 4}}
show: []
```

{body}
"""


def _store(store, experiment, metrics, val_accuracy=(0.61, 0.7125, 0.69)):
    folder = store.folder(experiment.recipe.reference, experiment.key)
    folder.mkdir(parents=True)
    (folder / "history.json").write_text(json.dumps({
        "epochs": list(range(1, len(val_accuracy) + 1)), "phases": [],
        "metrics": {"accuracy": [0.5] * len(val_accuracy), "val_accuracy": list(val_accuracy)}}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "log.txt").write_text("")
    (folder / "manifest.json").write_text(json.dumps({
        "format": 1, "key": experiment.key, "recipe": experiment.recipe.reference,
        "key_inputs": experiment.inputs.to_json(), "timings": {"wall_seconds": 1.0, "train_seconds": 1.0}}))
    seal(folder)


@pytest.fixture
def check(fresh_project):
    """findings(body): the typed-number findings of a post whose model4 recorded test accuracy 0.875."""
    def findings(body: str, render: bool = False):
        for old in (fresh_project / "posts").iterdir():
            old.unlink()
        (fresh_project / "posts" / "2024-06-07-typed.md").write_text(POST.format(body=body))
        config = load_config(fresh_project)
        parsed = _parse(_read_posts(config))
        store = ResultStore(config.path("results_dir"))
        plan = make_plan(parsed, config, store)
        experiment = plan.experiments[plan.key_of(parsed[0].post.path, "model4")]
        if store.load(experiment.recipe.reference, experiment.key) is None:
            _store(store, experiment, {"test": {"accuracy": 0.875, "loss": 0.3127, "count": 1000}})
        outcomes = _outcomes(parsed[0], plan, store, {}, [])
        if render:
            renderer = Renderer(config.path("templates_dir"), config.jekyll["permalink"], fresh_project / "cache")
            return renderer.render(parsed[0], outcomes)
        return typed_numbers.check_post(parsed[0], outcomes)
    return findings


def test_a_contradicting_number_is_an_error_at_its_line(check):
    body = "The fourth model.\n\nWith ResNet50, the model reaches a test accuracy of 0.9250 after fine-tuning.\n"
    (finding,) = check(body)
    assert finding.error and str(finding.location) == "posts/2024-06-07-typed.md:13"
    assert finding.message == "says 0.9250, model4.test.accuracy is 0.875"
    with pytest.raises(UserErrors) as info:
        check(body, render=True)
    (error,) = info.value.errors
    assert error.render().startswith("posts/2024-06-07-typed.md:13: says 0.9250, model4.test.accuracy is 0.875")
    # silenced where it is meant as typed (a number from elsewhere)
    assert check(body.replace("0.9250", "0.9250 <!-- typed -->")) == []


def test_a_copied_number_is_a_warning_with_the_reference_to_use(check):
    (finding,) = check("Model 4 gets 87.5% of the test images right.\n")
    assert not finding.error
    assert str(finding) and finding.message == \
        "87.5% is typed by hand; model4.test.accuracy is 87.5%: use {result}`model4.test.accuracy:.1%`"
    assert str(finding.location) == "posts/2024-06-07-typed.md:11"
    rendered = check("Model 4 gets 87.5% of the test images right.\n", render=True)
    assert rendered.warnings == ("posts/2024-06-07-typed.md:11: 87.5% is typed by hand; model4.test.accuracy is "
                                 "87.5%: use {result}`model4.test.accuracy:.1%`",)
    # a history statistic, at the precision it is typed with
    (finding,) = check("Validation accuracy peaked at 0.7125.\n")
    assert "model4.val_accuracy.best is 0.7125" in finding.message
    # the reference itself is fine
    assert check("Model 4 gets {result}`model4.test.accuracy:.1%` right.\n") == []


def test_plain_counts_code_math_and_links_are_not_flagged(check):
    body = (
        "In 2023 we trained for 20 epochs, then 875 more, on 2,000 images of 160x160 pixels in batches of 32\n"
        "(1,000 per class, 87 classes, seed 42, TensorFlow 2.15.0, Python 3.11, ResNet50, model4, 3.5 GB\n"
        "of memory, from 2024-03-04 to 12:30). A 50% baseline; about 87.5% on a good day; learning rate\n"
        "0.875e-3. Test loss was lower than 1.\n\n"
        "Code `accuracy = 0.875` and math $0.875$ and $$x = 87.5\\%$$ and a [link](https://x.org/0.875) and\n"
        "<span data-value=\"0.875\">html</span> and {{ site.value | default: 0.875 }} stay as they are.\n\n"
        "    indented = 0.875\n\n"
        "```python\nprint(0.875)\n```\n")
    assert check(body) == []


def test_this_repositorys_posts_have_no_typed_numbers(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("_config.yml", "posts", "src", "templates", "results"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, root / name)
    config = load_config(root)
    parsed = _parse(_read_posts(config))
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    findings = [f for post in parsed for f in typed_numbers.check_post(post, _outcomes(post, plan, store, {}, []))]
    assert findings == []
    assert any(post.experiments for post in parsed)  # the check had values to compare with
