"""``build-site --check``: is every published number true to its inputs, without training anything?

Two questions, answered from the committed files alone (what GitHub Actions has):

1. Does every experiment have a stored result under the key its inputs give now? The plan
   answers it as for a build (``--plan``'s reasons: a changed recipe, param, dataset, a file
   the run read, litblog's run-time code).
2. Is ``site/`` exactly what a build would write now? The posts are rendered and written into
   a temporary folder by the same code as ``write_site`` (``site.stage_site``), and the Jekyll
   tree is compared with ``site/`` file by file, byte for byte (the preview ``site/_site`` and
   the report ``site/_build`` are local and not compared).

Never writes ``site/`` or ``results/`` (a misplaced result is not quarantined); it may write
caches under ``.litblog/``. Never imports TensorFlow, and works where it is not installed:
keys then use the TensorFlow and Keras versions litblog pins.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .pipeline import EXIT_FAILED, EXIT_OK, _outcomes, _parse, _read_posts
from ..sources import identity
from ...common import paths
from ..sources.config import SiteConfig, load_config
from ..plan.keys import framework_versions, pinned_versions
from ..execute.lock import BuildLock
from ..render.page import drawing_digest
from ..plan.plan import make_plan
from ..sources.posts import Post
from ..execute.progress import ConsoleReporter
from ..notebooks.notebook import NotebookSettings
from ..render.renderer import RenderedPost, Renderer, post_url
from ..publish.render_cache import CachedPost, RenderCache
from ..publish.site import BUILD_DIR, PREVIEW_DIR, stage_site
from ..plan.parse_cache import ParseCache
from ..plan.seals import VerifiedStore

LOCAL_DIRS = (PREVIEW_DIR, BUILD_DIR)  # in site/ but never published: not compared
FIX = "run build-site and commit site/"


class ReadOnlyStore(VerifiedStore):
    """A result store that moves nothing: a misplaced result stays where it is (and is not used)."""

    def quarantine(self, folder: Path) -> Path:
        raise OSError(errno.EROFS, "build-site --check moves nothing")


@dataclass
class CheckReport:
    """What the check found; empty lists mean the site is current."""

    stale: list[str] = field(default_factory=list)  # experiments that need a run, with the input that changed
    drift: list[str] = field(default_factory=list)  # files of site/ that a build would write differently
    notes: list[str] = field(default_factory=list)  # true but not failing (blocked runs, assumed versions)
    experiments: int = 0

    @property
    def ok(self) -> bool:
        return not self.stale and not self.drift


def check_versions() -> tuple[dict[str, str], list[str]]:
    """The framework versions for keys: those installed, else litblog's pins (with a note saying so)."""
    versions = framework_versions()
    pins = pinned_versions()
    notes = []
    for label, version in versions.items():
        if version == "not installed" and label in pins:
            versions[label] = pins[label]
            notes.append(f"{label} is not installed here: keys use the version litblog pins, {pins[label]}")
    return versions, notes


def check_site(root: Path, reporter: ConsoleReporter, *, wait: bool = True) -> int:
    """Run the check on the project at ``root``, print what is stale, return the exit status (0 or 1).

    A mistake in a post raises :class:`~litblog.common.errors.UserErrors` (exit 2), as a build does.
    """
    config = load_config(root)
    with BuildLock(paths.lock_path(config.root), wait=wait, on_wait=reporter.info):
        report = run_check(config)
    for note in report.notes:
        reporter.info(f"note: {note}")
    for line in report.stale + report.drift:
        reporter.error(line)
    site = config.build.site_dir
    if report.ok:
        reporter.info(f"check: {report.experiments} experiment(s) have current results and {site}/ is what "
                      f"a build writes now")
        return EXIT_OK
    reporter.error(f"check failed: {len(report.stale)} stale experiment use(s), {len(report.drift)} file(s) of "
                   f"{site}/ differ; {FIX}")
    return EXIT_FAILED


def run_check(config: SiteConfig) -> CheckReport:
    """The check's findings for a loaded project (hold the build lock: a build must not be writing)."""
    report = CheckReport()
    identity.begin_build(config.root)
    parse_cache = ParseCache(config.root, identity.for_project(config.root))
    posts = _read_posts(config, parse_cache)
    parsed = _parse(posts, parse_cache)
    store = ReadOnlyStore(config.path("results_dir"), config.root)
    versions, report.notes = check_versions()
    plan = make_plan(parsed, config, store, versions=versions)
    report.experiments = len(plan.experiments)
    stale_posts: set[str] = set()
    for experiment in plan.experiments.values():
        for use in experiment.uses:
            if experiment.needs_run:
                stale_posts.add(use.post)
                report.stale.append(f"{use.location}: experiment '{use.name}' is stale "
                                    f"({experiment.recipe.reference}): {experiment.reason}")
            elif experiment.blocked:
                # What a build publishes too: a notice in its place, no number; not a failure.
                report.notes.append(f"{use.location}: experiment '{use.name}' is blocked by missing files "
                                    f"and shown as a notice")
    with tempfile.TemporaryDirectory(prefix="litblog-check-") as temporary:
        scratch = Path(temporary)
        charts = scratch / "cache" / "charts"
        _seed_charts(config, charts)
        renderer = Renderer(config.path("templates_dir"), config.jekyll["permalink"], scratch / "cache",
                            notebooks=NotebookSettings.of(config), root=config.root)
        digests = identity.for_project(config.root)
        # A post the render cache knows (inputs unchanged since a build rendered it) is not
        # rendered: its site files are compared with the digests its entry recorded.
        cache = RenderCache(config.root, config.path("templates_dir"), digests, context={"live_reload": False})
        rendered: list[RenderedPost] = []
        reused: list[CachedPost] = []
        for post in parsed:
            outcomes = _outcomes(post, plan, store, {}, [])
            hit = cache.lookup(post.post, post_url(post.post, config.jekyll["permalink"]),
                               cache.entry_name(post.post, outcomes))
            if hit is not None:
                reused.append(hit)
            else:
                rendered.append(renderer.render(post, outcomes))
        staging = scratch / "site"
        staging.mkdir()
        stage_site(config, rendered, staging, preview=False)
        known = {name: digest for hit in reused for name, digest in hit.outputs.items()
                 if name.split("/", 1)[0] not in LOCAL_DIRS}
        report.drift = compare_sites(config, [*rendered, *reused], posts, staging, skip=stale_posts, known=known)
        digests.save()
    store.save()
    return report


def _seed_charts(config: SiteConfig, charts: Path) -> None:
    """Drawings a build would reuse, so the check draws none: the committed ones, then the local cache.

    A chart's file name is the digest of everything it shows (values, options, figures.py), so the
    committed file of that name is the chart. A figure drawn at build time under a name that does
    not say what it shows (``model1-curves.svg``) carries that digest inside (``page.drawing_digest``).
    The local cache wins, as a build here would use it.
    """
    charts.mkdir(parents=True)
    site = config.path("site_dir")
    drawings = [file for suffix in (".png", ".svg", ".webp") for file in sorted(site.glob(f"assets/*/*{suffix}"))]
    committed = [(file, file.name.removeprefix("chart-")) for file in drawings if file.name.startswith("chart-")]
    committed += [(file, f"{digest}{file.suffix}") for file in drawings
                  if not file.name.startswith("chart-") and (digest := drawing_digest(file))]
    cached = [file for suffix in (".png", ".svg", ".webp")
              for file in sorted((paths.cache_dir(config.root) / "charts").glob(f"*{suffix}"))]
    for png, name in committed:
        shutil.copyfile(png, charts / name)
    for png in cached:
        shutil.copyfile(png, charts / png.name)


def _files(folder: Path) -> dict[str, Path]:
    """The published files under ``folder``: relative POSIX path -> file (the local folders left out)."""
    if not folder.is_dir():
        return {}
    return {path.relative_to(folder).as_posix(): path for path in sorted(folder.rglob("*"))
            if path.is_file() and path.relative_to(folder).parts[0] not in LOCAL_DIRS}


def compare_sites(config: SiteConfig, rendered: Sequence[RenderedPost | CachedPost], posts: list[Post], staging: Path,
                  *, skip: set[str] | frozenset[str] = frozenset(), known: dict[str, str] | None = None) -> list[str]:
    """A line per file of ``site/`` that differs from ``staging``, naming the post that builds it.

    Files of posts in ``skip`` (already reported as stale: their numbers will change) are left out.
    ``known``: files a build would write that are not in ``staging``, by their SHA-256 (those of
    posts the render cache reuses); a committed file's digest comes from the identity cache.
    """
    site_dir = config.path("site_dir")
    site = config.build.site_dir
    built, committed = _files(staging), _files(site_dir)
    known = known or {}
    digests = identity.for_project(config.root)
    owners: dict[str, Post] = {}
    for item in rendered:
        owners[f"_posts/{item.post.output_name}"] = item.post
    by_slug = {post.slug: post for post in posts}
    lines: list[str] = []
    for name in sorted(set(built) | set(committed) | set(known)):
        post = owners.get(name)
        if post is None and name.startswith("assets/") and name.count("/") >= 2:
            post = by_slug.get(name.split("/")[1])
        if post is not None and post.path in skip:
            continue
        if name in known and name not in built:
            if name in committed and digests.digest(committed[name]) == known[name]:
                continue
            what = "differs from" if name in committed else "is missing: it is part of"
        elif name in built and name in committed:
            if built[name].read_bytes() == committed[name].read_bytes():
                continue
            what = "differs from"
        elif name in built:
            what = "is missing: it is part of"
        elif name.startswith("_posts/"):
            lines.append(f"{site}/{name} is built by no post of {config.build.posts_dir}/ now (renamed or "
                         f"removed?): {FIX}")
            continue
        else:
            what = "is not part of"
        source = f"what {post.path} builds now" if post is not None else \
            "what the templates, static/ and _config.yml build now"
        lines.append(f"{site}/{name} {what} {source}: {FIX}")
    return lines


__all__ = ["check_site", "run_check", "compare_sites", "check_versions", "CheckReport", "ReadOnlyStore"]
