"""Issue 8: nothing a user can type or a file can contain gives a traceback, and a build never
reads or writes outside its project. Each case must be refused cleanly: exit 2, a located
message, no traceback, ``site/`` and ``results/`` untouched (see ``faults.expect_refusal``).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Callable

import pytest

from faults import expect_refusal

STRIPES = "posts/2026-01-05-stripes.md"
COUNTS = "posts/2026-01-06-counts.md"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def replace(file: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        # Undecodable bytes are written as lone surrogates: "\udcff" is the byte 0xff.
        path = root / file
        text = path.read_text(errors="surrogateescape")
        assert old in text, (old, file)
        path.write_bytes(text.replace(old, new, 1).encode("utf-8", errors="surrogateescape"))
    return edit


def config_lines(*lines: str) -> Callable[[Path], None]:
    """Append settings under the fixture config's ``litblog:`` section (its last lines)."""
    def edit(root: Path) -> None:
        config = root / "_config.yml"
        config.write_text(config.read_text() + "".join(f"  {line}\n" for line in lines))
    return edit


def write_bytes(file: str, data: bytes) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / file).write_bytes(data)
    return edit


def counts_front(extra: str) -> Callable[[Path], None]:
    return replace(COUNTS, "title: Counting images\n", f"title: Counting images\n{extra}\n")


def counts_params(params: str) -> Callable[[Path], None]:
    return replace(COUNTS, "show: [metrics]", f"show: [metrics]\nparams: {params}")


def symlink(link: str, target: str | Callable[[Path], str]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target(root) if callable(target) else target, root / link)
    return edit


def dataset_folder(classes: dict[str, dict[str, bytes]]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / "data/set").mkdir(parents=True)
        for name, files in classes.items():
            (root / "data/set" / name).mkdir(parents=True)
            for file, data in files.items():
                (root / "data/set" / name / file).write_bytes(data)
        counts_params("{dataset: data/set}")(root)
    return edit


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        for one in edits:
            one(root)
    return edit


BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"]
                 + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(7)])

# (id, edit, message): the message is checked on stderr, as a string or a pattern.
CASES = [
    # --- config folders: distinct subfolders of the project, never the project or outside it
    ("site-dir-is-project", config_lines("site_dir: ."),
     "_config.yml:5: config key 'site_dir' is '.', the project folder itself"),
    ("site-dir-is-posts", config_lines("site_dir: posts"),
     "_config.yml:5: config keys 'posts_dir' and 'site_dir' name the same folder 'posts'"),
    ("results-dir-is-posts", config_lines("results_dir: posts"),
     "config keys 'posts_dir' and 'results_dir' name the same folder 'posts'"),
    ("site-dir-holds-recipes", config_lines("site_dir: src"),
     "_config.yml:5: config key 'recipes_dir' (src/recipes) lies inside 'site_dir' (src)"),
    ("site-dir-inside-posts", config_lines("site_dir: posts/site"),
     "config key 'site_dir' (posts/site) lies inside 'posts_dir' (posts)"),
    ("posts-dir-absolute", config_lines("posts_dir: /etc"),
     "_config.yml:5: config key 'posts_dir' is '/etc', outside the project"),
    ("static-dir-dotdot", config_lines("static_dir: ../elsewhere"),
     "_config.yml:5: config key 'static_dir' is '../elsewhere', which uses '..'"),
    ("site-dir-in-git", config_lines("site_dir: .git/site"),
     "_config.yml:5: config key 'site_dir' is '.git/site', inside .git/"),
    ("results-dir-in-litblog", config_lines("results_dir: .litblog/r"),
     "config key 'results_dir' is '.litblog/r', inside .litblog/"),
    ("site-dir-symlink-out", both(symlink("out", lambda root: str(root.parent)), config_lines("site_dir: out")),
     "_config.yml:5: config key 'site_dir' is 'out', a symbolic link that leads outside the project"),
    ("config-permalink-escapes", replace("_config.yml", "litblog:", "permalink: /../../:title/\nlitblog:"),
     "_config.yml:3: config key 'permalink' is '/../../:title/'"),
    ("config-not-utf8", replace("_config.yml", "seed: 1", "seed: 1\n# caf\udce9"),
     "_config.yml:5: not UTF-8: byte 0xe9"),
    ("config-alias-bomb", replace("_config.yml", "litblog:", BOMB + "\nlitblog:"),
     re.compile(r"_config\.yml:\d+: this YAML expands to more than 100,000 values")),
    ("config-control-character", replace("_config.yml", "  seed: 1", "  seed: 1\x01"),
     "_config.yml:4: invalid YAML: the control character U+0001 at column 10 is not allowed"),
    ("front-matter-control-character", counts_front("subtitle: a\x07b"),
     re.compile(r"posts/2026-01-06-counts\.md:\d+: invalid YAML: the control character U\+0007")),
    ("directive-control-character", replace(COUNTS, "show: [metrics]", "show: [metrics]\x1b"),
     re.compile(r"posts/2026-01-06-counts\.md:\d+: invalid YAML: the control character U\+001B")),
    ("config-tab-indent", replace("_config.yml", "  seed: 1", "\tseed: 1"),
     "_config.yml:4: invalid YAML: found character '\\t' that cannot start any token"),
    # --- posts
    ("front-date-impossible", counts_front("date: 2026-13-45"),
     "posts/2026-01-06-counts.md:3: invalid YAML: cannot read '2026-13-45' as timestamp: month must be in 1..12"),
    ("name-date-impossible", lambda root: (root / COUNTS).rename(root / "posts/2026-02-30-counts.md"),
     "posts/2026-02-30-counts.md:1: the file name has an invalid date '2026-02-30'"),
    ("post-not-utf8", replace(COUNTS, "horizontal training", "horizontal \udcff training"),
     "posts/2026-01-06-counts.md:5: not UTF-8: byte 0xff at column"),
    ("post-nul-byte", replace(COUNTS, "horizontal training", "horizontal\0training"),
     "posts/2026-01-06-counts.md:5: the file contains a NUL character"),
    ("post-symlink-out", symlink("posts/2026-01-07-out.md", lambda root: str(root.parent / "outside.md")),
     "posts/2026-01-07-out.md:1: the post is a symbolic link to a file outside the project"),
    ("permalink-dotdot", counts_front("permalink: /../../../escaped/"),
     "posts/2026-01-06-counts.md:3: 'permalink' is '/../../../escaped/': it must not contain '.' or '..'"),
    ("permalink-absolute-url", counts_front("permalink: https://evil.example/x/"),
     "posts/2026-01-06-counts.md:3: 'permalink' is 'https://evil.example/x/'"),
    ("permalink-backslash", counts_front("permalink: '/a\\..\\..\\b/'"),
     "posts/2026-01-06-counts.md:3: 'permalink' is"),
    ("category-escapes", counts_front("categories: [../../up]"),
     "posts/2026-01-06-counts.md:3: 'categories' has '../../up', which cannot be part of a URL"),
    ("title-list", replace(COUNTS, "title: Counting images", "title: [Counting, images]"),
     "posts/2026-01-06-counts.md:2: 'title' must be a string, got a list"),
    ("title-null", replace(COUNTS, "title: Counting images", "title:"),
     "posts/2026-01-06-counts.md:2: the post has no title"),
    ("date-number", counts_front("date: 20260106"), "posts/2026-01-06-counts.md:3: 'date' is 20260106"),
    ("tags-mapping", counts_front("tags: {a: 1}"),
     "posts/2026-01-06-counts.md:3: 'tags' must be a word or a list of words, got a mapping"),
    ("empty-post", write_bytes(COUNTS, b""), "posts/2026-01-06-counts.md:1: the post is empty"),
    ("front-matter-open", write_bytes(COUNTS, b"---\ntitle: x\n\nno end\n"),
     "posts/2026-01-06-counts.md:1: front matter is not closed"),
    ("front-matter-list", write_bytes(COUNTS, b"---\n- a\n- b\n---\nbody\n"),
     "posts/2026-01-06-counts.md:2: front matter must be a mapping of keys to values"),
    ("front-matter-deep", counts_front("x: " + "[" * 200 + "]" * 200),
     "posts/2026-01-06-counts.md:3: invalid YAML: nested more than 50 levels deep"),
    ("front-matter-self-alias", counts_front("x: &a [*a]"),
     re.compile(r"posts/2026-01-06-counts\.md:3: this YAML is nested more than 50 levels deep")),
    ("front-matter-huge", counts_front("x: '" + "y" * 1_100_000 + "'"),
     "posts/2026-01-06-counts.md:2: this YAML block is 1,100,0"),
    ("directive-not-closed", replace(COUNTS, "show: [metrics]\n```", "show: [metrics]\n"),
     "posts/2026-01-06-counts.md:7: directive 'experiment' is not closed"),
    ("slug-unicode", lambda root: (root / COUNTS).rename(root / "posts/2026-01-06-zählen.md"),
     "posts/2026-01-06-zählen.md:1: the slug 'zählen' is not usable in a URL"),
    # --- directive and param values
    ("param-date", counts_params("{per_class: 2024-01-01}"),
     "posts/2026-01-06-counts.md:10: param 'per_class' has a date '2024-01-01'"),
    ("param-inf", counts_params("{per_class: .inf}"),
     "posts/2026-01-06-counts.md:10: param 'per_class' has inf, which is not a finite number"),
    ("param-nan-in-list", counts_params("{per_class: [1, .nan]}"),
     "posts/2026-01-06-counts.md:10: param 'per_class' has nan"),
    ("param-huge-int", counts_params("{per_class: 123456789012345678901234567890}"),
     "posts/2026-01-06-counts.md:10: param 'per_class' has the integer 1.23e+29, beyond 64 bits"),
    ("param-binary", counts_params("{per_class: !!binary aGVsbG8=}"),
     "posts/2026-01-06-counts.md:10: param 'per_class' has binary data"),
    ("param-set", counts_params("{per_class: !!set {a, b}}"),
     "posts/2026-01-06-counts.md:10: param 'per_class' has a set"),
    ("param-python-tag", counts_params("{per_class: !!python/name:os.system ''}"),
     "posts/2026-01-06-counts.md:10: invalid YAML: could not determine a constructor"),
    ("param-nonstring-key", counts_params("{per_class: {1: a}}"),
     "posts/2026-01-06-counts.md:10: param 'per_class' has the key 1, which is not a string"),
    ("result-format-bad", replace(STRIPES, "val_accuracy.best:.1%", "val_accuracy.best:.1q"),
     "posts/2026-01-05-stripes.md:15: invalid format spec '.1q'"),
    ("result-format-huge-width", replace(STRIPES, "val_accuracy.best:.1%", "val_accuracy.best:999999999"),
     "posts/2026-01-05-stripes.md:15: invalid format spec '999999999' in 'plain.val_accuracy.best:999999999': "
     "has a width or precision above 100"),
    ("chart-baseline-inf", replace(STRIPES, "```python", "```{chart}\nexperiments: [plain, flipped]\n"
                                   "value: test.accuracy\nbaseline: .inf\n```\n\n```python"),
     "posts/2026-01-05-stripes.md:36: 'baseline' is inf, which cannot be drawn"),
    ("table-format-bad", replace(STRIPES, 'format: {test.accuracy: ".1%"}', 'format: {test.accuracy: ".1q"}'),
     "posts/2026-01-05-stripes.md:30: the format '.1q' of 'test.accuracy' is not a Python format spec"),
    # --- datasets
    ("dataset-absolute", counts_params("{dataset: /tmp}"),
     "posts/2026-01-06-counts.md:10: dataset '/tmp' is not a path inside the project"),
    ("dataset-dotdot", counts_params("{dataset: ../x}"),
     "posts/2026-01-06-counts.md:10: dataset '../x' is not a path inside the project"),
    ("dataset-symlink-out", both(symlink("data/link", lambda root: str(root.parent / "elsewhere")),
                                 counts_params("{dataset: data/link}")),
     "posts/2026-01-06-counts.md:10: dataset 'data/link' is a symbolic link to a folder outside the project"),
    ("dataset-no-classes", dataset_folder({}),
     "posts/2026-01-06-counts.md:10: dataset 'data/set' needs at least two class subfolders, found none"),
    ("dataset-one-class", dataset_folder({"cat": {"1.png": PNG}}),
     "dataset 'data/set' needs at least two class subfolders, found only 'cat'"),
    ("dataset-only-non-images", dataset_folder({"cat": {"1.png": PNG}, "dog": {"1.tiff": PNG}}),
     "posts/2026-01-06-counts.md:10: dataset 'data/set': class folder 'dog' has no images (.jpg,"),
    ("dataset-empty-class", dataset_folder({"cat": {"1.png": PNG}, "dog": {"notes.txt": b"x"}}),
     "dataset 'data/set': class folder 'dog' has no images"),
]


@pytest.mark.parametrize("edit, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_cleanly(project: Path, edit: Callable[[Path], None], message: str) -> None:
    outside = project.parent
    (outside / "outside.md").write_text("---\ntitle: Outside\n---\nsecret\n")
    (outside / "more").mkdir(exist_ok=True)
    (outside / "more/2026-01-08-elsewhere.md").write_text("---\ntitle: Elsewhere\n---\n")
    (outside / "elsewhere/a").mkdir(parents=True, exist_ok=True)
    (outside / "elsewhere/b").mkdir(exist_ok=True)
    before_outside = sorted(p.name for p in outside.iterdir())
    edit(project)
    expect_refusal(project, message=message)
    assert sorted(p.name for p in outside.iterdir()) == before_outside  # nothing written beside the project


COMMAND_LINES = [
    (("--set", "epochs"), "error: --set 'epochs' should be written name=value"),
    (("--set", "=3"), "error: --set '=3' should be written name=value"),
    (("--set", "epochs=[1,"), "error: --set 'epochs=[1,': expected the node content"),
    (("--set", "epochs=[\x01"), "error: --set 'epochs=[\x01': invalid YAML"),
    (("--set", "nosuch.epochs=2"), "error: --set nosuch.epochs: no experiment 'nosuch' with that param"),
    (("--set", "epochs=2026-13-45"), "error: --set value '2026-13-45': cannot read '2026-13-45' as timestamp"),
    (("--set", "epochs=.nan"), "error: --set 'epochs=.nan' has nan, which is not a finite number"),
    (("--set", "a.b.c=1"), "error: --set 'a.b.c=1': 'a.b.c' is not a param name"),
    (("--jobs", "0"), "error: --jobs must be at least 1, got 0"),
    (("--jobs", "-1"), "error: --jobs must be at least 1, got -1"),
    (("--jobs", "abc"), "error: argument --jobs/-j: invalid int value: 'abc'"),
    (("posts/2026-01-09-nothing.md",), "error: 'posts/2026-01-09-nothing.md' is not a post of this project"),
    (("/etc/hostname",), "error: '/etc/hostname' is not a post of this project"),
    (("--frobnicate",), "error: unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("args, message", COMMAND_LINES, ids=[" ".join(a) for a, _ in COMMAND_LINES])
def test_bad_command_line_is_refused_cleanly(project: Path, args: tuple[str, ...], message: str) -> None:
    expect_refusal(project, *args, message=message)


def test_project_without_config_is_refused(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "litblog", "--project", str(empty)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"error: --project {empty}: no _config.yml in that folder" in done.stderr


ACCEPTED = [
    ("bom-post", lambda root: (root / COUNTS).write_bytes(b"\xef\xbb\xbf" + (root / COUNTS).read_bytes())),
    ("bom-config", lambda root: (root / "_config.yml").write_bytes(b"\xef\xbb\xbf"
                                                                     + (root / "_config.yml").read_bytes())),
    ("crlf-post", lambda root: (root / COUNTS).write_bytes((root / COUNTS).read_bytes().replace(b"\n", b"\r\n"))),
    ("crlf-config", lambda root: (root / "_config.yml").write_bytes(
        (root / "_config.yml").read_bytes().replace(b"\n", b"\r\n"))),
    ("symlink-inside", lambda root: (root / "posts/drafts").mkdir() or os.symlink(
        root / COUNTS, root / "posts/_linked.md")),
]


@pytest.mark.parametrize("edit", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_harmless_variants_build_as_before(project: Path, edit: Callable[[Path], None]) -> None:
    from conftest import run_cli_process
    edit(project)
    done = run_cli_process(project, "--plan")
    assert done.returncode == 0, done.stderr
    assert "0 of 3 experiments would run" in done.stdout


def test_a_config_folder_error_leaves_the_repository_alone(project: Path) -> None:
    """``site_dir: .`` used to replace the whole project, ``.git`` included, with the site."""
    (project / ".git").mkdir()
    (project / ".git/HEAD").write_text("ref: refs/heads/main\n")
    config_lines("site_dir: .")(project)
    expect_refusal(project, message="the project folder itself")
    assert (project / ".git/HEAD").read_text() == "ref: refs/heads/main\n"
    assert (project / "posts").is_dir() and (project / "src/recipes/tiny.py").is_file()


def test_absolute_dataset_paths_never_reach_results(project: Path) -> None:
    shutil.copytree(project / "site", project / "data-probe", dirs_exist_ok=True)
    counts_params(f"{{dataset: {project / 'data-probe'}}}")(project)
    expect_refusal(project, message="is not a path inside the project")
    for file in (project / "results").rglob("*.json"):
        assert str(project) not in file.read_text()
