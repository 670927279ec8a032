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


def test_a_recipe_digest_is_remembered_across_builds_until_its_file_changes(fresh_project, monkeypatch):
    from litblog.buildtime.sources import identity, recipe_source

    before = keys(fresh_project)
    identity._instances.clear()  # the next plan reads the digests as a new process would, from the file

    def no_parse(source: str, function: str) -> str:
        raise AssertionError("the recipe module was parsed although its file did not change")

    monkeypatch.setattr(recipe_source, "function_digest", no_parse)
    assert keys(fresh_project) == before
    monkeypatch.undo()
    identity._instances.clear()
    edit(fresh_project / "src/recipes/tiny.py", "batch_size=8", "batch_size=4")  # the same size
    assert changed(before, keys(fresh_project)) == {"plain", "flipped"}


def test_package_versions_are_remembered_until_a_package_is_installed_or_changed(tmp_path, monkeypatch):
    import importlib.metadata

    from litblog.buildtime.sources.identity import FileDigests, package_versions

    site = tmp_path / "site-packages"

    def install(version: str, name: str = "litblog_fake_pkg") -> Path:
        for old in site.glob(f"{name}-*.dist-info"):
            for file in old.iterdir():
                file.unlink()
            old.rmdir()
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: litblog-fake-pkg\nVersion: {version}\n")
        return info / "METADATA"

    install("1.0")
    monkeypatch.syspath_prepend(str(site))
    names = ["litblog-fake-pkg", "litblog-absent-pkg"]
    store = tmp_path / "digests.json"
    digests = FileDigests(store)
    assert package_versions(names, digests) == {"litblog-fake-pkg": "1.0", "litblog-absent-pkg": None}
    digests.save()

    real_version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "read again")
    assert package_versions(names, FileDigests(store))["litblog-fake-pkg"] == "1.0"  # remembered
    monkeypatch.setattr(importlib.metadata, "version", real_version)

    install("2.0")  # an upgrade: a new metadata folder
    digests = FileDigests(store)
    assert package_versions(names, digests)["litblog-fake-pkg"] == "2.0"
    digests.save()
    metadata = site / "litblog_fake_pkg-2.0.dist-info" / "METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 2.0", "Version: 2.0.post1"))  # edited in place
    assert package_versions(names, FileDigests(store))["litblog-fake-pkg"] == "2.0.post1"


def test_remembered_framework_versions_are_the_installed_ones(tmp_path):
    from litblog.buildtime.sources.identity import FileDigests
    from litblog.buildtime.plan.keys import framework_versions

    digests = FileDigests(tmp_path / "digests.json")
    assert framework_versions(digests) == framework_versions() == framework_versions(digests)



def test_package_versions_are_remembered_for_each_search_path(tmp_path, monkeypatch):
    """`build-site` and `python -m litblog` see different ``sys.path`` lists: each keeps its own entry."""
    import importlib.metadata
    import sys

    from litblog.buildtime.sources.identity import FileDigests, package_versions

    store = tmp_path / "digests.json"
    digests = FileDigests(store)
    expected = package_versions(["pyyaml"], digests)
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))  # another search path
    assert package_versions(["pyyaml"], digests) == expected
    digests.save()
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "read again")
    assert package_versions(["pyyaml"], FileDigests(store)) == expected
    monkeypatch.setattr(sys, "path", sys.path[1:])  # the first search path again: its entry was kept
    assert package_versions(["pyyaml"], FileDigests(store)) == expected
