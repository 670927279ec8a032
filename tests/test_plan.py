"""Stage 4: cache keys change exactly when something that changes a result changes."""

from pathlib import Path

import pytest

from litblog.buildtime.commands.pipeline import _parse, _read_posts
from litblog.buildtime.sources.config import load_config
from litblog.common.errors import UserErrors
from litblog.buildtime.plan.plan import make_plan, parse_overrides
from litblog.common.store import ResultStore


def keys(root: Path, **options) -> dict[str, str]:
    config = load_config(root)
    plan = make_plan(_parse(_read_posts(config)), config, ResultStore(config.path("results_dir")), **options)
    return {name: key for (_, name), key in plan.keys.items()}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def test_plan_resolves_defaults_and_marks_everything_missing(fresh_project):
    config = load_config(fresh_project)
    plan = make_plan(_parse(_read_posts(config)), config, ResultStore(config.path("results_dir")))
    assert {e.label for e in plan.to_run()} == {"plain", "flipped", "count"}
    plain = plan.experiments[plan.key_of("posts/2026-01-05-stripes.md", "plain")]
    assert plain.params == {"dataset": "synthetic", "image_size": 16, "per_class": 12, "epochs": 2,
                            "augment": False}
    assert plain.seed == 1  # from _config.yml
    assert plain.reason == "no result yet"
    assert set(plain.inputs.sources) == {"src/recipes/tiny.py::stripes", "src/recipes/helpers.py",
                                         "src/recipes/__init__.py"}


@pytest.mark.parametrize("file, old, new, expected", [
    # prose, captions and show options are not inputs of a run
    ("posts/2026-01-05-stripes.md", "A post about stripes.", "A post about zebras.", set()),
    ("posts/2026-01-05-stripes.md", "show: [log]", "show: [log, summary]", set()),
    # comments and blank lines in code are not either
    ("src/recipes/tiny.py", "    model = tiny_cnn(", "    # build it\n\n    model = tiny_cnn(", set()),
    # the recipe function itself
    ("src/recipes/tiny.py", "batch_size=8", "batch_size=4", {"plain", "flipped"}),
    # another function of the same module
    ("src/recipes/tiny.py", "1 / divisor", "2 / divisor", set()),
    # a module-level statement of the recipe's module
    ("src/recipes/tiny.py", "small on purpose", "tiny on purpose", {"plain", "flipped"}),
    # a project module the recipe imports
    ("src/recipes/helpers.py", "Conv2D(4, 3", "Conv2D(6, 3", {"plain", "flipped"}),
    # a param of one experiment
    ("posts/2026-01-05-stripes.md", "params: {epochs: 2, augment: true}", "params: {epochs: 3, augment: true}",
     {"flipped"}),
    # the default seed
    ("_config.yml", "seed: 1", "seed: 2", {"plain", "flipped", "count"}),
])
def test_exactly_the_affected_experiments_change_key(fresh_project, file, old, new, expected):
    before = keys(fresh_project)
    edit(fresh_project / file, old, new)
    assert changed(before, keys(fresh_project)) == expected


def test_a_new_import_of_a_project_module_changes_the_key(fresh_project):
    before = keys(fresh_project)
    (fresh_project / "src/recipes/counting.py").write_text(
        "import recipes.helpers\n" + (fresh_project / "src/recipes/counting.py").read_text())
    assert changed(before, keys(fresh_project)) == {"count"}


def test_overrides_change_only_experiments_with_that_param(fresh_project):
    before = keys(fresh_project)
    assert changed(before, keys(fresh_project, overrides={"epochs": 1})) == {"plain", "flipped"}
    assert changed(before, keys(fresh_project, overrides={"plain.epochs": 1})) == {"plain"}
    with pytest.raises(UserErrors, match="no experiment being built has a param 'epoch'"):
        keys(fresh_project, overrides={"epoch": 1})


def test_identical_experiments_in_two_posts_are_planned_once(fresh_project):
    text = (fresh_project / "posts/2026-01-05-stripes.md").read_text()
    (fresh_project / "posts/2026-01-07-again.md").write_text(text.replace("Stripes, horizontal", "Again"))
    config = load_config(fresh_project)
    plan = make_plan(_parse(_read_posts(config)), config, ResultStore(config.path("results_dir")))
    assert len(plan.experiments) == 3
    plain = plan.experiments[plan.key_of("posts/2026-01-07-again.md", "plain")]
    assert [u.post for u in plain.uses] == ["posts/2026-01-05-stripes.md", "posts/2026-01-07-again.md"]


def test_reason_names_the_changed_input(project):
    edit(project / "posts/2026-01-05-stripes.md", "params: {epochs: 2}\n", "params: {epochs: 3}\n")
    edit(project / "src/recipes/helpers.py", "Conv2D(4, 3", "Conv2D(5, 3")
    config = load_config(project)
    plan = make_plan(_parse(_read_posts(config)), config, ResultStore(config.path("results_dir")))
    reasons = {e.label: e.reason for e in plan.to_run()}
    assert reasons["plain"] == "src/recipes/helpers.py changed; param epochs: 2 -> 3"
    assert reasons["flipped"] == "src/recipes/helpers.py changed"
    assert "count" not in reasons


@pytest.mark.parametrize("edit_args, words, line", [
    (("recipe: tiny.stripes\nparams: {epochs: 2}", "recipe: tiny.stripe\nparams: {epochs: 2}"),
     "recipe module 'tiny' has no function 'stripe' (did you mean 'stripes'?)", 10),
    (("recipe: tiny.stripes\nparams: {epochs: 2}", "recipe: tiney.stripes\nparams: {epochs: 2}"),
     "recipe module 'tiney' not found in recipes/ (did you mean 'tiny'?)", 10),
    (("params: {epochs: 2}\n", "params: {epochs: 2, epoch: 3}\n"),
     "recipe 'tiny.stripes' has no param 'epoch' (did you mean 'epochs'?)", 11),
    (("params: {epochs: 2}\n", "params: {epochs: two}\n"), "param 'epochs' must be int, got 'two'", 11),
    (("params: {epochs: 2}\n", "params: {epochs: 2, dataset: data/missing}\n"),
     "dataset 'data/missing' is neither a known dataset", 11),
])
def test_plan_errors_point_at_the_directive(fresh_project, edit_args, words, line):
    edit(fresh_project / "posts/2026-01-05-stripes.md", *edit_args)
    with pytest.raises(UserErrors) as info:
        keys(fresh_project)
    (error,) = info.value.errors
    assert words in error.message or words in error.render()
    assert str(error.location) == f"posts/2026-01-05-stripes.md:{line}"


def test_parse_overrides_reads_yaml_scalars():
    assert parse_overrides(["epochs=2", "lr=1e-3", "augment=true", "name=cnn"]) == \
        {"epochs": 2, "lr": 1e-3, "augment": True, "name": "cnn"}
