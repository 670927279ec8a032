"""The render cache: a rebuild renders and writes only the posts whose inputs changed, and the site
it leaves is byte for byte the one a clean build writes.

Each test starts from the built fixture project plus a third post that shares the counting
experiment, so "only the affected posts" can be told from "all posts".
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import snapshot
from litblog.buildtime.render import renderer as render
from litblog.buildtime.publish import render_cache, render_inputs
from litblog.buildtime.sources import identity
from litblog.buildtime.sources.config import load_config
from litblog.buildtime.commands.pipeline import BuildOptions, build
from litblog.buildtime.plan.plan import make_plan
from litblog.buildtime.commands.pipeline import _parse, _read_posts
from litblog.buildtime.execute.progress import ConsoleReporter
from litblog.buildtime.plan.seals import VerifiedStore
from litblog.common import paths, store as store_module
from litblog.common.store import ResultStore, seal

STRIPES = "posts/2026-01-05-stripes.md"
COUNTS = "posts/2026-01-06-counts.md"
MORE = "posts/2026-01-07-more-counts.md"
ALL = {STRIPES, COUNTS, MORE}


def run_build(root: Path, **options) -> "object":
    summary = build(root, BuildOptions(**options), ConsoleReporter(io.StringIO(), 0))
    assert summary.exit_code == 0
    return summary


def site_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of site/ with (inode, mtime_ns): unchanged for a file not written again."""
    site = root / "site"
    return {p.relative_to(site).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(site.rglob("*")) if p.is_file()}


def clean_build_snapshot(root: Path, tmp_path: Path) -> dict[str, str]:
    """What a build from scratch writes: the project copied without its site and caches."""
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("site", ".litblog", "build.lock"))
    run_build(clean)
    return snapshot(clean / "site")


@pytest.fixture
def blog(project: Path) -> Path:
    """The built fixture project with a third post (sharing the counting experiment), built."""
    (project / MORE).write_text("---\ntitle: More counting\n---\n\nAgain {result}`count.train_count.horizontal` "
                                "images.\n\n```{experiment} count\nrecipe: counting.counts\nshow: [metrics]\n```\n")
    assert MORE in run_build(project).rendered
    summary = run_build(project)
    assert summary.rendered == [] and set(summary.written) == ALL  # a no-op renders nothing
    return project


def test_a_prose_edit_renders_and_writes_only_that_post_and_the_site_equals_a_clean_build(blog, tmp_path):
    before = site_files(blog)
    post = blog / COUNTS
    post.write_text(post.read_text().replace("There are", "Here there are"))
    summary = run_build(blog)
    assert summary.rendered == [COUNTS] and summary.outcomes == []  # nothing ran
    after = site_files(blog)
    rewritten = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    # The edited post's Jekyll file and preview page, and the preview's home page, which shows each
    # post's summary (the first paragraph, edited here). The index and the report are made again and
    # written only where their bytes changed (the report did not: nothing ran).
    assert rewritten == {"_posts/2026-01-06-counts.md", "_site/2026/01/06/counts/index.html", "_site/index.html"}
    assert summary.site_changes == sorted(rewritten)  # what `serve` reloads by
    assert snapshot(blog / "site") == clean_build_snapshot(blog, tmp_path)


def _edit_template(root: Path) -> None:
    template = root / "templates" / "blocks" / "metrics.md.j2"
    template.write_text(template.read_text() + "\n")


def _edit_config(root: Path) -> None:
    config = root / "_config.yml"
    config.write_text(config.read_text().replace("Tiny test blog", "Tiny test blog, renamed"))


def _edit_stored_result(root: Path) -> None:
    """A stored result of the counting experiment changed (re-sealed: a new seal, not a corrupt one)."""
    for manifest in (root / "results" / "counting.counts").glob("*/manifest.json"):
        data = json.loads(manifest.read_text())
        data["wall_seconds"] = 12.5
        manifest.write_text(json.dumps(data))
        seal(manifest.parent)


def _edit_recipe_comment(root: Path) -> None:
    """A comment in the recipe module: no key changes, but `show: [code]` shows the file."""
    recipe = root / "src" / "recipes" / "tiny.py"
    recipe.write_text(recipe.read_text() + "\n# a comment\n")


@pytest.mark.parametrize("edit, affected", [
    (_edit_template, ALL),
    (_edit_config, ALL),
    (_edit_stored_result, {COUNTS, MORE}),
    (_edit_recipe_comment, {STRIPES}),
], ids=["template", "config", "stored-result", "recipe-file"])
def test_a_changed_input_renders_exactly_the_posts_it_affects(blog, tmp_path, edit, affected):
    edit(blog)
    summary = run_build(blog)
    assert set(summary.rendered) == affected
    assert run_build(blog).rendered == []
    assert snapshot(blog / "site") == clean_build_snapshot(blog, tmp_path)


def test_a_change_in_litblogs_build_code_renders_every_post(blog, tmp_path, monkeypatch):
    package = tmp_path / "litblog-copy"
    shutil.copytree(Path(render_cache.__file__).parents[2], package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(identity, "_PACKAGE", package)
    run_build(blog)  # the copy's digest equals the package's: nothing is rendered
    page = package / "buildtime" / "render" / "page.py"
    page.write_text(page.read_text() + "\n# an edit of the build code\n")
    assert set(run_build(blog).rendered) == ALL


def test_a_file_read_while_rendering_is_an_input_of_that_post_only(blog, monkeypatch):
    """A block that reads a project file (as a citation or notebook block would) without saying
    so: the audit hook records it; a block that says so (record_file) is recorded as well."""
    notes = blog / "notes"
    notes.mkdir()
    (notes / "read.txt").write_text("one")
    (notes / "declared.txt").write_text("one")
    original = render.render_code

    def reading(block, page):
        (notes / "read.txt").read_text()
        render_inputs.record_file(notes / "declared.txt")
        return original(block, page)

    monkeypatch.setattr(render, "render_code", reading)  # the renderer looks it up when it is made
    _edit_recipe_comment(blog)  # the stripes post (the one with a code block) renders and records its reads
    assert set(run_build(blog).rendered) == {STRIPES}
    assert run_build(blog).rendered == []
    (notes / "read.txt").write_text("two")
    assert run_build(blog).rendered == [STRIPES]
    (notes / "declared.txt").write_text("two")
    assert run_build(blog).rendered == [STRIPES]
    assert run_build(blog).rendered == []


def test_check_reuses_cached_posts_and_still_finds_drift(blog):
    from litblog.buildtime.commands.check import run_check

    config = load_config(blog)
    assert run_check(config).ok
    target = blog / "site" / "_posts" / "2026-01-06-counts.md"
    text = target.read_text()
    target.unlink()  # a hard link to the cache's object: replace it, as an editor or git would
    target.write_text(text.replace("horizontal", "sideways"))
    report = run_check(config)
    assert not report.ok and any("2026-01-06-counts.md differs" in line for line in report.drift)


def test_a_remembered_seal_still_catches_a_file_changed_after_the_run(blog):
    folder = next((blog / "results" / "counting.counts").glob("*/manifest.json")).parent
    old = 1_000_000_000
    for path in folder.rglob("*"):
        os.utime(path, ns=(old, old))  # old enough for the seal cache to remember it
    config = load_config(blog)
    store = VerifiedStore(config.path("results_dir"), blog)
    assert store.load("counting.counts", folder.name) is not None
    store.save()
    seals = json.loads((paths.cache_dir(blog) / "seals.json").read_text())
    assert f"counting.counts/{folder.name}" in seals  # remembered: the next look only stats the files
    metrics = folder / "metrics.json"
    metrics.write_text(metrics.read_text().replace("}", ', "x": 1}', 1))
    os.utime(metrics, ns=(old, old))  # the same mtime as before: the size tells
    fresh = VerifiedStore(config.path("results_dir"), blog)
    assert fresh.load("counting.counts", folder.name) is None
    assert "changed after the run" in fresh.problems[folder]


def test_explaining_misses_verifies_each_stored_result_at_most_once(blog, monkeypatch):
    """After an edit to the module the tiny recipes import, every one of them misses; the plan
    names the change after listing the recipe's stored results once, not once per miss."""
    helpers = blog / "src" / "recipes" / "helpers.py"
    helpers.write_text(helpers.read_text().replace("Conv2D(4, 3", "Conv2D(5, 3"))
    calls: list[str] = []
    verify = store_module.verify

    def counting(folder, recipe, key):
        calls.append(f"{recipe}/{key}")
        return verify(folder, recipe, key)

    monkeypatch.setattr(store_module, "verify", counting)
    config = load_config(blog)
    plan = make_plan(_parse(_read_posts(config)), config, ResultStore(config.path("results_dir")))
    misses = plan.to_run()
    assert len(misses) >= 2 and all("helpers.py" in e.reason for e in misses)
    listed = [name for name in calls if name.startswith("tiny.stripes/")]  # the missing recipe's results
    assert listed and len(listed) == len(set(listed)), "a stored result was verified once per miss"


@pytest.mark.parametrize("touch", ["removed", "edited", "edited in place", "added"])
def test_a_site_touched_by_hand_is_made_whole_again_by_a_no_op_build(blog, tmp_path, touch):
    """A no-op build leaves site/ alone only while it is exactly what the last build wrote."""
    target = blog / "site" / "_posts" / "2026-01-05-stripes.md"
    if touch == "removed":
        target.unlink()
    elif touch == "edited":
        text = target.read_text()
        target.unlink()  # a hard link to a cache object: an editor replaces it
        target.write_text(text + "hand edit\n")
    elif touch == "edited in place":
        with target.open("a") as file:  # the same file: the render cache's object is edited with it
            file.write("hand edit\n")
    else:
        (blog / "site" / "assets" / "stray.txt").write_text("not built by any post")
    # Edited in place, the post's cached file changed too: it is rendered again (and stored anew).
    assert run_build(blog).rendered == ([STRIPES] if touch == "edited in place" else [])
    assert snapshot(blog / "site") == clean_build_snapshot(blog, tmp_path)


def test_a_build_of_one_post_carries_the_others_over_as_they_are(blog, tmp_path):
    """What `serve` does on a save: the edited post alone; the others keep their files (not even linked again)."""
    before = site_files(blog)
    post = blog / STRIPES
    post.write_text(post.read_text().replace("A post about stripes", "A post about stripes, edited"))
    summary = run_build(blog, posts=[str(post)])
    assert summary.rendered == [STRIPES]
    after = site_files(blog)
    rewritten = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    # The build report lists the experiments of the posts built (as it always has): local, not published.
    # The preview's home page shows the edited first paragraph as the post's summary.
    assert rewritten - {"_build/report.json"} == {"_posts/2026-01-05-stripes.md", "_site/2026/01/05/stripes/index.html",
                                                   "_site/index.html"}
    assert summary.site_changes == sorted(rewritten)
    published = {name: digest for name, digest in snapshot(blog / "site").items() if not name.startswith("_build/")}
    clean = {name: digest for name, digest in clean_build_snapshot(blog, tmp_path).items()
             if not name.startswith("_build/")}
    assert published == clean


def _remove_post_with_figures(root: Path) -> None:
    (root / STRIPES).unlink()  # its figures' folders in assets/ and _site/assets/ go with it


def _add_post(root: Path) -> None:
    (root / "posts" / "2026-01-08-new.md").write_text("---\ntitle: New\n---\n\nA new post.\n")


def _edit_prose(root: Path) -> None:
    post = root / COUNTS
    post.write_text(post.read_text().replace("There are", "Here there are"))


@pytest.mark.parametrize("change", [_edit_prose, _add_post, _remove_post_with_figures, _edit_template],
                         ids=["prose", "post-added", "post-removed", "template"])
def test_an_in_place_update_records_what_a_full_look_at_the_site_finds(blog, change):
    """After an in-place update only the files it touched (and their folders) are stamped again:
    the record must still be the whole site's, or the next build would trust a site that changed."""
    from litblog.buildtime.publish import site as site_module

    before = snapshot(blog / "site")
    site_inode = (blog / "site").stat().st_ino
    change(blog)
    summary = run_build(blog)
    assert (blog / "site").stat().st_ino == site_inode  # updated in place, not swapped in from staging
    after = snapshot(blog / "site")
    assert summary.site_changes == sorted(name for name in before.keys() | after.keys()
                                          if before.get(name) != after.get(name))
    record = json.loads((paths.cache_dir(blog) / "render" / site_module.SITE_RECORD).read_text())
    files, folders = site_module._tree_stamps(blog / "site")
    assert record["files"] == files and record["folders"] == folders
    assert run_build(blog).site_changes == []  # and the next build trusts it: nothing written


def test_the_preview_home_page_is_rendered_again_only_when_what_it_shows_changed(blog, tmp_path, monkeypatch):
    from litblog.buildtime.publish.preview import PreviewBuilder

    calls: list[int] = []
    index_page = PreviewBuilder.index_page
    monkeypatch.setattr(PreviewBuilder, "index_page", lambda self, entries: calls.append(1) or index_page(self, entries))
    run_build(blog)
    assert calls == []  # a no-op takes it from the render cache
    template = blog / "templates" / "preview" / "index.html"
    template.write_text(template.read_text().replace("{% block content %}", "{% block content %}<!-- edited -->", 1))
    run_build(blog)
    assert calls and "<!-- edited -->" in (blog / "site" / "_site" / "index.html").read_text()
    calls.clear()
    run_build(blog)
    assert calls == []
    assert snapshot(blog / "site") == clean_build_snapshot(blog, tmp_path)



@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names open files through /proc")
def test_a_rebuild_syncs_no_cache_file_to_disk(blog, monkeypatch):
    """Cache files check what they read (digests, JSON, pickles), so they are not fsync'ed."""
    synced: list[str] = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")) or fsync(fd))
    run_build(blog)
    post = blog / COUNTS
    post.write_text(post.read_text().replace("There are", "Here there are"))
    assert run_build(blog).rendered == [COUNTS]
    assert synced == []



def test_a_damaged_converted_body_in_the_cache_is_converted_again(blog, tmp_path):
    bodies = paths.cache_dir(blog) / "preview-html"
    (cached,) = [p for p in bodies.glob("*.html") if "horizontal training images" in p.read_text()]
    cached.write_text(cached.read_text().replace("<p>", "<b>"))  # the same size: only the bytes tell
    post = blog / COUNTS
    post.write_text(post.read_text().replace("title: Counting images\n", "title: Counting images\nauthor: A. Reader\n"))
    assert run_build(blog).rendered == [COUNTS]  # the same body: its converted HTML is looked up
    assert snapshot(blog / "site") == clean_build_snapshot(blog, tmp_path)


def test_the_tree_digest_covers_what_rglob_finds(tmp_path):
    """``tree_digest`` walks with ``os.scandir`` (litblog's package, every build): the same files,
    in the same order, as ``sorted(rglob("*"))`` with ``is_file()``, caches and dot files left out."""
    from litblog.buildtime.sources.identity import FileDigests

    tree = tmp_path / "tree"
    for name in ["a/b.txt", "a-c.txt", "a.b/x", ".hidden/f", "b/.dot", "b/__pycache__/z.pyc", "B/c", "a/b/c/d.py", "z"]:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(name)
    (tree / "link-dir").symlink_to(tree / "a")
    (tree / "link-file").symlink_to(tree / "z")
    (tree / "broken").symlink_to(tree / "missing")
    digests = FileDigests(tmp_path / "digests.json")
    expected = [[p.relative_to(tree).as_posix(), digests.digest(p)] for p in sorted(tree.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")]
    assert [name for name, _ in expected] == [".hidden/f", "B/c", "a/b/c/d.py", "a/b.txt", "a-c.txt", "a.b/x", "link-file", "z"]
    assert identity.tree_digest(tree, digests) == identity.digest_json(expected)
    assert identity.tree_digest(tmp_path / "absent", digests) == identity.digest_json([])
