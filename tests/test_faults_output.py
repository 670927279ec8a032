"""Faults of the output side: hostile text in pages, tampered stored results, and I/O failures
while writing the site. Every case runs the real pipeline (real Jinja2, Markdown, Jekyll where
installed) and fails if the fault gets through."""

from __future__ import annotations

import errno
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO, make_project, run_cli_process, snapshot
from faults import LOCATED, expect_refusal, guarded_folders, no_partial_results
from litblog.buildtime.commands.pipeline import _parse, _read_posts
from litblog.buildtime.sources.config import load_config
from litblog.common.errors import UserError
from litblog.buildtime.plan.plan import make_plan
from litblog.common.store import ResultStore, manifest_digest, seal

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_SKIP = "running as root: file permissions do not stop root's writes, so a read-only folder cannot be simulated"

# -- a project whose stored results, labels and captions are hostile ---------------------------------

RECIPE = '''
def echo(ctx, text: str = "plain"):
    """Never run by these tests: its results are stored by hand."""
    ctx.record("note", text)
'''

SCRIPT = {name: f"<script>alert('{name}')</script>" for name in (
    "value", "param", "label", "caption", "recipe_caption", "chart_caption", "notice", "table_caption",
    "metric_name", "chart_label", "alt")}
LIQUID = {name: "{% include " + name + ".html %}" for name in (
    "value", "label", "caption", "recipe_caption", "chart_caption", "notice", "table_caption")}

POST = f"""---
title: Hostile values
---

The note is {{result}}`evil.note` and the gone one {{result}}`gone.note`.

```{{experiment}} evil
recipe: hostile.echo
params: {{text: "{SCRIPT['param']}"}}
show: [code, log, metrics, curves]
```

```{{figure}} evil.curves
caption: "A *caption* with {SCRIPT['caption']} and {LIQUID['caption']} [ok](https://example.org/)"
alt: "{SCRIPT['alt']}"
```

```{{table}}
experiments: [evil, gone]
columns: [params.text, note]
labels: ["{SCRIPT['label']}", "{LIQUID['label']}"]
caption: "{SCRIPT['table_caption']} {LIQUID['table_caption']}"
```

```{{chart}}
experiments: [evil, gone]
value: score
labels: ["{SCRIPT['chart_label']} $x", "second"]
caption: "{SCRIPT['chart_caption']} {LIQUID['chart_caption']}"
```

```{{chart}}
experiments: [evil, gone]
value: inf_score
caption: Infinite.
```

```{{figure}} gone.curves
caption: Gone.
```

```{{experiment}} gone
recipe: hostile.echo
params: {{text: other}}
show: [log]
```
"""

LOG_LINES = 1000


def store_result(store: ResultStore, experiment, metrics: dict, *, log_lines: int = 3, caption: str = "Curves.") -> Path:
    """A complete result folder for ``experiment``, sealed as ResultStore.commit seals it."""
    from PIL import Image

    folder = store.folder(experiment.recipe.reference, experiment.key)
    (folder / "figures").mkdir(parents=True)
    Image.new("RGB", (20, 10), "white").save(folder / "figures" / "curves.png")
    (folder / "history.json").write_text(json.dumps({
        "epochs": [1, 2], "phases": [{"name": "training", "first_epoch": 1, "last_epoch": 2}],
        "metrics": {"accuracy": [0.5, 0.6], "val_accuracy": [0.5, 0.55]}}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "log.txt").write_text("".join(f"log line {n}\n" for n in range(1, log_lines + 1)))
    (folder / "manifest.json").write_text(json.dumps({
        "format": 1, "key": experiment.key, "recipe": experiment.recipe.reference,
        "key_inputs": experiment.inputs.to_json(), "timings": {"wall_seconds": 3.0, "train_seconds": 2.0},
        "figures": {"curves": {"file": "figures/curves.png", "caption": caption}}}))
    seal(folder)
    return folder


def hostile_project(root: Path) -> Path:
    make_project(root)
    for old in (root / "posts").iterdir():
        old.unlink()
    (root / "posts" / "2026-02-01-hostile.md").write_text(POST)
    (root / "src" / "recipes" / "hostile.py").write_text(RECIPE)
    config = load_config(root)
    parsed = _parse(_read_posts(config))
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    evil = plan.experiments[plan.key_of(parsed[0].post.path, "evil")]
    gone = plan.experiments[plan.key_of(parsed[0].post.path, "gone")]
    store_result(store, evil, {
        "note": SCRIPT["value"] + " " + LIQUID["value"] + " *em* [link](javascript:alert(7)) {: onclick=alert(8)}",
        SCRIPT["metric_name"]: 1, "score": 0.5, "inf_score": float("inf")},
        log_lines=LOG_LINES, caption=SCRIPT["recipe_caption"] + " " + LIQUID["recipe_caption"])
    # A run blocked by missing files, whose recorded message is hostile too.
    store.record_blocked(gone.recipe.reference, gone.key, SCRIPT["notice"] + " " + LIQUID["notice"],
                         ["models/never-there.h5"])
    return root


class _Page(HTMLParser):
    """What a browser would run or show: script bodies, event handlers, javascript: links, and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.active: list[str] = []
        self.text: list[str] = []
        self._in_script = self._data_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        # JSON-LD (jekyll-seo-tag) is data: hostile text in it is harmless while it stays escaped.
        self._data_script = tag == "script" and dict(attrs).get("type") == "application/ld+json"
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.active.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "alert" in data and not (self._data_script and "<" not in data):
            self.active.append(f"<script>{data}")
        elif not self._in_script:
            self.text.append(data)


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The hostile project built by build-site (nothing runs), then by Jekyll where installed."""
    root = hostile_project(tmp_path_factory.mktemp("hostile") / "blog")
    done = run_cli_process(root)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    pages = {"preview": (root / "site" / "_site" / "2026" / "02" / "01" / "hostile" / "index.html").read_text()}
    built = {"root": root, "stderr": done.stderr, "pages": pages, "jekyll": None}
    jekyll = shutil.which("jekyll")
    if jekyll:
        from site_check import jekyll_build

        out = tmp_path_factory.mktemp("hostile-jekyll") / "out"
        build = jekyll_build(root / "site", out, "/repo")
        built["jekyll"] = build
        page = out / "2026" / "02" / "01" / "hostile" / "index.html"
        pages["jekyll"] = page.read_text() if page.is_file() else ""
    return built


def page_of(hostile: dict, target: str) -> str:
    if target == "jekyll":
        if hostile["jekyll"] is None:
            from site_check import NO_JEKYLL, require_tool

            require_tool(None, NO_JEKYLL)
        assert hostile["jekyll"].returncode == 0 and hostile["jekyll"].problems == [], hostile["jekyll"].output
    return hostile["pages"][target]


TARGETS = ["jekyll", "preview"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("field", sorted(SCRIPT))
def test_hostile_text_is_shown_as_text_never_run(hostile, target, field):
    html = page_of(hostile, target)
    page = parse_page(html)
    assert page.active == [], page.active  # no script, handler or javascript: link from any inserted text
    if field in ("chart_label",):  # drawn into the PNG; the page only has its alt text (the caption)
        assert SCRIPT["chart_caption"] in "".join(page.text)
        return
    if field == "alt":
        assert f'alt="{SCRIPT["alt"]}"'.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;") in html \
            or 'alt="&lt;script&gt;' in html
        return
    assert SCRIPT[field] in "".join(page.text), f"{field}: not shown as text"


@pytest.mark.parametrize("field", sorted(LIQUID))
def test_liquid_in_inserted_text_comes_out_verbatim_from_jekyll(hostile, field):
    html = page_of(hostile, "jekyll")  # Jekyll would have failed on an {% include %} it ran
    assert LIQUID[field] in "".join(parse_page(html).text), field


@pytest.mark.parametrize("target", TARGETS)
def test_markup_in_values_is_not_markdown(hostile, target):
    html = page_of(hostile, target)
    assert "<em>em</em>" not in html and 'href="javascript' not in html and "onclick=" not in re.sub(r">[^<]*<", "><", html)
    assert "*em* [link](javascript:alert(7)) {: onclick=alert(8)}" in "".join(parse_page(html).text)
    assert "A <em>caption</em> with" in html  # the author's caption is Markdown


@pytest.mark.parametrize("target", TARGETS)
def test_a_blocked_experiment_has_one_notice_per_page_and_links_to_it(hostile, target):
    html = page_of(hostile, target)
    assert html.count('class="litblog-notice"') == 1
    assert 'id="litblog-notice-gone"' in html
    # The {result}, the table cells, the chart and the figure link to it.
    assert html.count('href="#litblog-notice-gone"') >= 5
    # The notice comes before every link to it.
    assert html.index('id="litblog-notice-gone"') < html.index('href="#litblog-notice-gone"')


def test_the_preview_links_to_notices_resolve(hostile):
    from site_check import check_links

    report = check_links(hostile["root"] / "site" / "_site", None)
    assert report.broken == []


@pytest.mark.parametrize("target", TARGETS)
def test_a_long_log_is_capped_in_the_page_with_its_size_and_path(hostile, target):
    text = "".join(parse_page(page_of(hostile, target)).text)
    assert "log line 1\n" in text and "log line 150\n" in text and f"log line {LOG_LINES}" in text
    assert "log line 151\n" not in text and "log line 500\n" not in text and "log line 850\n" not in text
    assert re.search(r"700 lines of 1,000 are left out here; the full log \([\d.]+ KB\) is "
                     r"results/hostile\.echo/[0-9a-f]{24}/log\.txt", text), text[-3000:]
    assert str(hostile["root"]) not in text


def test_an_infinite_chart_value_is_a_warning_not_a_traceback(hostile):
    assert re.search(r"posts/2026-02-01-hostile\.md:\d+: evil\.inf_score is inf: its bar is drawn as not finite",
                     hostile["stderr"]), hostile["stderr"]


def test_charts_without_any_value_say_so_instead_of_empty_ticks():
    from litblog.common.figures import comparison_bars

    fig = comparison_bars(["a", "b"], [None, float("nan")], value_format=".1%")
    axis = fig.axes[0]
    assert list(axis.get_yticks()) == []
    assert "no results yet" in [t.get_text() for t in axis.texts]
    fig = comparison_bars(["a $x", "b"], [float("inf"), 0.5], notes=["not finite (inf)", None])
    assert [t.get_text() for t in fig.axes[0].texts][0] == "not finite (inf)"


# -- stored results: verified, or a miss with a warning ---------------------------------------------------


def result_folders(root: Path) -> list[Path]:
    return sorted(p for p in (root / "results").glob("*/*") if (p / "manifest.json").is_file()
                  and not p.parent.name.startswith("."))


def reseal_manifest(folder: Path, change) -> None:
    """Edit the manifest and recompute its own digest: a tamperer who knows the format."""
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    manifest["digests"]["manifest"] = manifest_digest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _edit_metrics(folder: Path) -> None:
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["hand_edited"] = 0.99
    (folder / "metrics.json").write_text(json.dumps(metrics))


def _name_file(name: str):
    def tamper(folder: Path) -> None:
        def change(manifest: dict) -> None:
            manifest["summaries"] = [{"model": "m", "file": name}]
            manifest["digests"]["files"][name] = "0" * 64
        reseal_manifest(folder, change)
    return tamper


def _symlink_outside(folder: Path) -> None:
    # Same bytes, so the digest matches: only the link itself gives it away.
    outside = folder.parents[2] / "outside-metrics.json"
    shutil.copyfile(folder / "metrics.json", outside)
    (folder / "metrics.json").unlink()
    (folder / "metrics.json").symlink_to(outside)


TAMPERING = {
    # A file the manifest names (the tiny recipe saves no figure: the build draws its curves).
    "missing summary": (lambda f: (f / "summary.txt").unlink(), "summary.txt is missing"),
    "missing metrics": (lambda f: (f / "metrics.json").unlink(), "metrics.json is missing"),
    "corrupt metrics": (lambda f: (f / "metrics.json").write_text("{not json"), "metrics.json"),
    "corrupt history": (lambda f: (f / "history.json").write_text('{"epochs": [1,'), "history.json"),
    "hand-edited metrics": (_edit_metrics, "metrics.json was changed after the run"),
    "edited manifest": (lambda f: (f / "manifest.json").write_text(
        (f / "manifest.json").read_text().replace('"wall_seconds": ', '"wall_seconds": 1')),
        "manifest.json was edited after the run"),
    "manifest not json": (lambda f: (f / "manifest.json").write_text("{"), "manifest.json is not valid JSON"),
    "digests stripped": (lambda f: (f / "manifest.json").write_text(json.dumps(
        {k: v for k, v in json.loads((f / "manifest.json").read_text()).items() if k != "digests"})),
        "no file digests"),
    "names ../../../etc/passwd": (_name_file("../../../etc/passwd"), "outside its folder"),
    "names an absolute path": (_name_file("/etc/passwd"), "outside its folder"),
    "symlink outside": (_symlink_outside, "metrics.json is a symbolic link"),
}


def plain_result(root: Path) -> Path:
    """The stored result of the experiment 'plain' (tiny.stripes without augmentation)."""
    return next(f for f in result_folders(root) if f.parent.name == "tiny.stripes"
                and json.loads((f / "manifest.json").read_text())["key_inputs"]["params"]["augment"] is False)


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_tampered_result_is_a_miss_with_a_warning_naming_its_folder(project, case):
    tamper, reason = TAMPERING[case]
    folder = plain_result(project)
    tamper(folder)
    done = run_cli_process(project, "--plan")
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output, output
    shown = folder.relative_to(project).as_posix()
    warning = [line for line in done.stderr.splitlines() if shown in line]
    assert warning and reason in warning[0] and "re-run" in warning[0], done.stderr
    assert re.search(r"plain\s+tiny\.stripes\s+run: its stored result was rejected", done.stdout), done.stdout
    assert "1 of 3 experiments would run." in done.stdout


def test_a_tampered_result_is_never_published(project):
    """Rendering asks the store too: a result edited between plan and render is still refused."""
    config = load_config(project)
    parsed = [p for p in _parse(_read_posts(config)) if "counts" in p.post.path]
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    (experiment,) = plan.experiments.values()
    folder = store.folder(experiment.recipe.reference, experiment.key)
    _edit_metrics(folder)
    assert store.load(experiment.recipe.reference, experiment.key) is None
    assert ResultStore(store.root).load(experiment.recipe.reference, experiment.key) is None


@pytest.mark.slow
def test_a_hand_edited_result_is_re_run_and_replaced(project):
    folder = next(f for f in result_folders(project) if f.parent.name == "counting.counts")
    original = (folder / "metrics.json").read_text()
    (folder / "metrics.json").write_text(original.replace("12", "99"))
    done = run_cli_process(project, "-q")
    assert done.returncode == 0, done.stderr
    assert (folder / "metrics.json").read_text() == original  # the run replaced the edit
    post = (project / "site" / "_posts" / "2026-01-06-counts.md").read_text()
    assert "99" not in post and "There are 12 horizontal" in post
    no_partial_results(project)
    again = run_cli_process(project, "--plan")
    assert "0 of 3 experiments would run." in again.stdout and "WARNING" not in again.stderr


@pytest.mark.slow
def test_a_misplaced_result_is_quarantined_and_re_run_once_not_on_every_build(project):
    # Both ways a result lands in the wrong folder, one per stored run of tiny.stripes, in one project.
    plain = plain_result(project)
    flipped = next(f for f in result_folders(project) if f.parent.name == "tiny.stripes" and f != plain)
    # another key: another run's folder copied over this one
    shutil.rmtree(plain)
    shutil.copytree(flipped, plain)
    # another recipe: a run of another recipe under this recipe's folder
    reseal_manifest(flipped, lambda manifest: manifest.update(recipe="counting.counts"))
    done = run_cli_process(project, "--plan")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    quarantine = project / "results" / ".quarantine"
    for folder in (plain, flipped):
        shown = folder.relative_to(project).as_posix()
        assert re.search(re.escape(shown) + r": its manifest names (key|recipe) .*; moved to results/\.quarantine/",
                         done.stderr), done.stderr
        assert list(quarantine.glob(f"tiny.stripes/{folder.name}*/manifest.json")) and not folder.exists()
    assert (quarantine / ".gitignore").read_text().splitlines()[-1] == "*"  # never committed
    assert "2 of 3 experiments would run." in done.stdout
    built = run_cli_process(project, "-q")  # runs them once, and keeps the new runs
    assert built.returncode == 0, built.stderr
    again = run_cli_process(project, "--plan")
    assert "WARNING" not in again.stderr and "0 of 3 experiments would run." in again.stdout, again.stderr
    no_partial_results(project)


def test_this_repository_trains_nothing_after_the_digest_migration(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("_config.yml", "posts", "src", "templates", "results"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, root / name)
    done = run_cli_process(root, "--plan")
    assert done.returncode == 0, done.stderr
    assert re.search(r"\b0 of \d+ experiments would run\.", done.stdout) and "WARNING" not in done.stderr, done.stderr


def test_results_and_site_have_normal_permissions(project):
    mask = os.umask(0o022)
    os.umask(mask)
    folder_mode, file_mode = 0o777 & ~mask, 0o666 & ~mask  # 0755 and 0644 under the usual umask 022
    for folder in result_folders(project):  # stored by workers of this session's build
        assert stat.S_IMODE(folder.stat().st_mode) == folder_mode, folder
        assert stat.S_IMODE((folder / "manifest.json").stat().st_mode) == file_mode, folder
    done = run_cli_process(project, "-q")
    assert done.returncode == 0, done.stderr
    site = project / "site"
    for path in [site, *site.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (folder_mode if path.is_dir() else file_mode), path


# -- writing the site: I/O faults -------------------------------------------------------------------------


def run_limited(root: Path, *args: str, file_size: int | None = None) -> subprocess.CompletedProcess:
    """build-site in a fresh interpreter that may write no file larger than ``file_size`` bytes."""
    def limit() -> None:
        if file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return subprocess.run([sys.executable, "-m", "litblog", "--project", str(root), *args], capture_output=True,
                          text=True, timeout=600, preexec_fn=limit)


def test_a_file_too_large_to_write_is_a_user_error_leaving_the_site_as_it_was(project):
    before = guarded_folders(project)
    done = run_limited(project, file_size=2000)  # Python ignores SIGXFSZ: writes fail with EFBIG
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert re.search(r"^error: cannot write site/\S+: File too large \(.*ulimit -f\)", done.stderr, re.M), done.stderr
    assert LOCATED.search(done.stderr)
    assert guarded_folders(project) == before
    assert not list(project.glob(".site.staging-*"))


def test_disk_full_is_explained_with_the_path_and_a_way_out(tmp_path):
    from litblog.buildtime.publish.site import _Writer

    with pytest.raises(OSError) as full:
        with open("/dev/full", "wb") as device:  # a real ENOSPC from the kernel
            device.write(b"x" * 65536)
            device.flush()
    assert full.value.errno == errno.ENOSPC
    writer = _Writer(tmp_path, tmp_path / "site")
    writer.staging = tmp_path / ".site.staging-x"
    full.value.filename = str(writer.staging / "_posts" / "a.md")
    error = writer.error(full.value, None)
    assert isinstance(error, UserError)
    assert error.render().startswith("error: cannot write site/_posts/a.md: No space left on device "
                                     "(the disk is full: free some space, then run build-site again)")
    assert "site/ was left as it was" in error.render()


@pytest.mark.parametrize("kind", ["file", "folder", "symlink"])
def test_a_leftover_site_old_does_not_fail_later_builds(project, kind):
    aside = project / ".site.old"
    if kind == "file":
        aside.write_text("left by a crashed build")
    elif kind == "folder":
        (aside / "_posts").mkdir(parents=True)
        (aside / "_posts" / "x.md").write_text("old")
    else:
        aside.symlink_to(project / "posts")
    for _ in range(2):
        done = run_cli_process(project, "-q")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert not aside.exists() and not aside.is_symlink()
    assert (project / "posts").is_dir() and any((project / "posts").iterdir())  # a link's target is untouched
    assert (project / "site" / "_posts" / "2026-01-05-stripes.md").is_file()


@pytest.mark.skipif(IS_ROOT, reason=ROOT_SKIP)
def test_an_undeletable_leftover_site_old_is_moved_aside(project):
    locked = project / ".site.old" / "locked"
    locked.mkdir(parents=True)
    (locked / "x").write_text("x")
    locked.chmod(0o555)
    try:
        done = run_cli_process(project, "-q")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert not (project / ".site.old").exists()
    finally:
        for path in project.glob(".site.old*/locked"):
            path.chmod(0o755)


def test_a_killed_builds_staging_folder_is_cleaned_by_the_next_build(project):
    leftover = project / ".site.staging-dead1234"
    (leftover / "_posts").mkdir(parents=True)
    (leftover / "_posts" / "half.md").write_text("half")
    done = run_cli_process(project, "-q")
    assert done.returncode == 0, done.stderr
    assert not leftover.exists() and not list(project.glob(".site.staging-*"))


@pytest.mark.skipif(IS_ROOT, reason=ROOT_SKIP)
@pytest.mark.parametrize("folder", ["project", "site"])
def test_a_read_only_folder_is_a_user_error_leaving_the_site_as_it_was(project, folder):
    target = project if folder == "project" else project / "site"
    mode = target.stat().st_mode
    target.chmod(0o555)
    try:
        expect_refusal(project, message="cannot write", code=2)
    finally:
        target.chmod(stat.S_IMODE(mode))


def test_static_symlinks_leading_outside_the_project_are_never_published(project, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (project / "static").mkdir()
    (project / "static" / "leak.txt").symlink_to(secret)
    expect_refusal(project, message="static/leak.txt is a symbolic link to")
    assert "private" not in json.dumps(snapshot(project / "site"))


def test_static_symlinked_folder_leading_outside_is_refused(project, tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "a.txt").write_text("outside")
    (project / "static").mkdir()
    (project / "static" / "linked").symlink_to(tmp_path / "outside")
    expect_refusal(project, message="static/linked is a symbolic link to")


def test_static_symlinks_inside_the_project_are_copied(project):
    (project / "static").mkdir()
    (project / "notes.txt").write_text("own file")
    (project / "static" / "notes.txt").symlink_to(project / "notes.txt")
    done = run_cli_process(project, "-q")
    assert done.returncode == 0, done.stderr
    copied = project / "site" / "notes.txt"
    assert copied.read_text() == "own file" and not copied.is_symlink()


def test_a_permalink_with_dotdot_never_writes_outside_the_preview(project):
    post = project / "posts" / "2026-01-06-counts.md"
    post.write_text(post.read_text().replace("title: Counting images", "title: Counting images\n"
                                             "permalink: /../../../../escaped/"))
    expect_refusal(project, message=re.compile(r"permalink"))
    assert not list(project.parent.rglob("escaped"))


def test_write_time_confinement_holds_even_without_parse_time_checks(project):
    """write_site itself refuses a URL leading out of the preview, whatever validated it before."""
    from litblog.buildtime.render.renderer import Renderer
    from litblog.buildtime.publish.site import write_site

    config = load_config(project)
    parsed = [p for p in _parse(_read_posts(config)) if "counts" in p.post.path]
    store = ResultStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    from litblog.buildtime.render.renderer import ExperimentOutcome

    outcomes = {name: ExperimentOutcome(plan.experiments[plan.key_of(parsed[0].post.path, name)],
                                        plan.experiments[plan.key_of(parsed[0].post.path, name)].result)
                for name in parsed[0].experiments}
    rendered = Renderer(config.path("templates_dir"), config.jekyll["permalink"]).render(parsed[0], outcomes)
    before = snapshot(project / "site")
    with pytest.raises(UserError) as refused:
        write_site(config, [replace(rendered, url="/../../../../escaped/")])
    assert "leads outside the site" in str(refused.value)
    assert snapshot(project / "site") == before
    assert not list(project.parent.rglob("escaped")) and not list(project.glob(".site.staging-*"))


def test_a_file_where_the_results_staging_folder_should_be_is_cleaned(project):
    shutil.rmtree(project / "results" / ".tmp", ignore_errors=True)
    (project / "results" / ".tmp").write_text("not a folder")
    done = run_cli_process(project, "-q")
    assert done.returncode == 0, done.stderr
    assert not (project / "results" / ".tmp").exists()
    no_partial_results(project)


# -- the Keras cache: one rule, named without this machine's paths ----------------------------------------


@pytest.mark.parametrize("keras_home", ["set", "unset", "read-only"])
def test_pretrained_uses_the_same_keras_cache_as_the_build_and_names_it_portably(tmp_path, monkeypatch, keras_home):
    from litblog.common import paths
    from litblog.runtime import pretrained

    if keras_home == "unset":
        monkeypatch.delenv("KERAS_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
    else:
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
        (tmp_path / "keras").mkdir()
        if keras_home == "read-only":
            (tmp_path / "keras").chmod(0o555)  # once sent pretrained.py to a temp folder the build never read
    assert pretrained.cache_dir() == paths.keras_home() / "models" == paths.keras_cache_dir().parent / "models"
    weights = pretrained.weights_file("ResNet50")
    message = pretrained._missing("ResNet50", weights, "LITBLOG_OFFLINE is set")
    assert str(tmp_path) not in message
    assert ("~/.keras/models" if keras_home == "unset" else "$KERAS_HOME/models") in message


def test_a_blocked_record_needing_files_outside_the_keras_home_is_never_looked_up(tmp_path):
    store = ResultStore(tmp_path / "results")
    store.record_blocked("r.f", "k" * 24, "blocked", ["../../../etc/passwd", "/etc/passwd"])
    record = store.load_blocked("r.f", "k" * 24)
    assert record is not None and record["needs"] == []
