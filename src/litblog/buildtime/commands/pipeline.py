"""The one module that sequences the stages: config → posts → directives → plan → execute → render → write."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...common import paths
from . import drafts, watch
from ..render import provenance_card
from ..execute.checkpoints import remove_stale
from ..sources.config import SiteConfig, load_config
from ..directives import ParsedPost, parse_post
from ...common.errors import LitblogError, UserError, UserErrors
from ..execute.execute import RunOutcome, default_jobs, sigterm_as_interrupt
from ..execute.executors import EXECUTORS, ExecutorOptions
from ...common.fsutil import recover_dir, remove_confined
from ..execute.lock import BuildLock
from ..execute.outcomes import BLOCKED, NOT_RUN, STALE
from ..plan.plan import Force, Plan, PlannedExperiment, make_plan
from ..sources.posts import Post, discover_posts, read_post
from ..execute.progress import NORMAL, ConsoleReporter
from ...common.protocol import RunStatus
from ..notebooks.notebook import NotebookSettings
from ..sources import identity
from ..publish import render_inputs
from ..render.renderer import ExperimentOutcome, RenderedPost, Renderer, SeedOutcome, post_url
from ..publish.render_cache import CachedPost, Pending, RenderCache
from ..plan.parse_cache import ParseCache
from ..plan.seals import VerifiedStore
from ..publish.site import CarriedPost, write_draft, write_site
from ...common.store import ResultStore

EXIT_OK, EXIT_FAILED, EXIT_USER = 0, 1, 2


@dataclass
class BuildOptions:
    """What one ``build-site`` invocation asks for."""

    posts: list[str] = field(default_factory=list)  # post files to build; empty: all
    force: Force = False  # True: every run; plan.ForceTarget names: only those runs (--force model1[seed 2])
    plan_only: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    jobs: int | None = None
    keep_going: bool | None = None
    prune: bool = False
    wait_for_lock: bool = True
    run: bool = True  # False: experiments without a result are shown as notices, not run
    executor: str = "local"  # a name in executors.EXECUTORS
    scheduler: str | None = None  # the Dask scheduler's address
    dask_resources: dict[str, float] = field(default_factory=dict)
    live_reload: bool = False  # preview pages poll the server of `build-site serve`
    retry_blocked: bool = False  # try runs recorded as blocked by missing files again


@dataclass
class BuildSummary:
    """What a build did, for the CLI's exit code and for tests."""

    exit_code: int
    plan: Plan | None = None
    outcomes: list[RunOutcome] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # post paths written into the site (rendered or reused)
    rendered: list[str] = field(default_factory=list)  # post paths rendered this time (not reused from the cache)
    unrun: list[PlannedExperiment] = field(default_factory=list)  # needed a run, not run (--no-run)
    # site-relative paths whose content the write changed; None: not known (what site/ held before)
    site_changes: list[str] | None = field(default_factory=list)


def build(root: Path, options: BuildOptions, reporter: ConsoleReporter) -> BuildSummary:
    """Build the site of the project at ``root``. User errors raise :class:`LitblogError`."""
    config = load_config(root)
    for warning in config.warnings:
        reporter.warning(warning)
    with BuildLock(paths.lock_path(config.root), wait=options.wait_for_lock, on_wait=reporter.info):
        return _build_locked(config, options, reporter)


def _build_locked(config: SiteConfig, options: BuildOptions, reporter: ConsoleReporter) -> BuildSummary:
    """The build's phases: recover, plan, run, report, render, write."""
    store = _recover(config)
    parse_cache = ParseCache(config.root, identity.for_project(config.root))
    all_posts = _read_posts(config, parse_cache)
    selected = _select(config, all_posts, options.posts)
    parsed = _parse(selected, parse_cache)
    plan = make_plan(parsed, config, store, overrides=options.overrides, force=options.force,
                     retry_blocked=options.retry_blocked)
    store.save()
    if options.plan_only:
        reporter.plan(plan, listing=True)
        if options.overrides:
            for line in drafts.describe(drafts.override_changes(parsed, config, store, plan), plan):
                reporter.output(line, NORMAL)  # part of the plan: stdout
        return BuildSummary(EXIT_OK, plan)
    reporter.plan(plan)
    _warn_future(selected, reporter)

    keep_going = config.build.keep_going if options.keep_going is None else options.keep_going
    outcomes, unrun = _execute(plan, config, store, options, reporter, keep_going)
    failed = [o for o in outcomes if not o.ok]
    report = _settle(plan, outcomes, unrun, config, store, options, reporter)
    if any(o.status is RunStatus.DATASET for o in failed):
        reporter.error("the site was not written: a dataset is missing (see above)")
        return BuildSummary(EXIT_USER, plan, outcomes, unrun=unrun)
    if failed and not keep_going:
        reporter.error(f"the site was not written: {len(failed)} experiment(s) did not finish "
                       f"(--keep-going writes it with a notice in their place)")
        return BuildSummary(EXIT_FAILED, plan, outcomes, unrun=unrun)

    rendering = _render(parsed, plan, store, {o.experiment.key: o for o in failed}, unrun, config, options, reporter)
    selected_paths = {p.path for p in selected}
    carried = [CarriedPost(p) for p in all_posts if p.path not in selected_paths]
    if options.overrides:
        rendered = _write_draft(rendering, parsed, carried, plan, config, store, report, options, reporter)
        return BuildSummary(EXIT_FAILED if failed else EXIT_OK, plan, outcomes, [p.post.path for p in rendered],
                            [p.post.path for p in rendered], unrun, site_changes=None)
    site_changes = _write(rendering, carried, plan, config, store, parse_cache, report, options, reporter)
    rendered = rendering.rendered
    reporter.info(f"wrote {len(rendered)} post(s) to {config.build.site_dir}/"
                  + (f" ({len(failed)} experiment(s) shown as notices)" if failed else ""))
    return BuildSummary(EXIT_FAILED if failed else EXIT_OK, plan, outcomes, [p.post.path for p in rendered],
                        [p.post.path for p in rendered if isinstance(p, RenderedPost)], unrun, site_changes)


def _recover(config: SiteConfig) -> VerifiedStore:
    """What an interrupted build left: the site folder recovered, staging and workers' temporary folders removed."""
    recover_dir(config.path("site_dir"))
    identity.begin_build(config.root)
    store = VerifiedStore(config.path("results_dir"), config.root)
    store.clean_staging()
    # Temporary folders of workers that were killed (their runs remove their own): no run is in progress.
    remove_confined(paths.worker_tmp_dir(config.root), paths.scratch_dir(config.root), ignore_errors=True)
    return store


def _execute(plan: Plan, config: SiteConfig, store: VerifiedStore, options: BuildOptions, reporter: ConsoleReporter,
             keep_going: bool) -> tuple[list[RunOutcome], list[PlannedExperiment]]:
    """Run what the plan needs, by the chosen executor (or, with ``--no-run``, list it as not run)."""
    jobs = options.jobs or config.build.jobs or default_jobs()
    if not options.run:
        unrun = plan.to_run()
        for experiment in unrun:
            reporter.warning(f"{experiment.uses[0].location}: experiment '{experiment.label}' "
                             f"needs a run ({experiment.reason}); shown as a notice")
        return [], unrun
    executor = EXECUTORS[options.executor]
    # SIGTERM (a CI job cancelled, `kill`) stops the workers like Ctrl-C does.
    to_run = plan.to_run()
    sources = watch.snapshot(config) if to_run else {}  # a no-op build walks no folder for it
    with sigterm_as_interrupt():
        outcomes = executor.run(to_run, config, store, reporter, ExecutorOptions(
            jobs=jobs, keep_going=keep_going, scheduler=options.scheduler, resources=options.dask_resources,
            adaptive_jobs=not (options.jobs or config.build.jobs)))
    if to_run:
        for line in watch.warnings(sources, watch.snapshot(config), (o.experiment.label for o in outcomes)):
            reporter.warning(line)
    return outcomes, []


def _settle(plan: Plan, outcomes: list[RunOutcome], unrun: list[PlannedExperiment], config: SiteConfig,
            store: VerifiedStore, options: BuildOptions, reporter: ConsoleReporter) -> dict[str, Any]:
    """After the runs: blocked runs recorded and warned of, the report made and shown, stale checkpoints removed."""
    for outcome in outcomes:
        if outcome.status is RunStatus.BLOCKED:
            # Committed with the results: a fresh clone shows the notice instead of failing on it.
            store.record_blocked(outcome.experiment.recipe.reference, outcome.experiment.key, outcome.message,
                                 list(outcome.needs))
    for experiment in plan.experiments.values():
        if experiment.blocked:
            reporter.warning(f"{experiment.uses[0].location}: experiment '{experiment.label}' is blocked by missing "
                             f"files and shown as a notice; build-site --plan -v says why, --retry-blocked tries again")
    report = _report(plan, outcomes, config, unrun)
    provenance_card.add_to_report(report, plan, store)
    reporter.report(report["experiments"])
    if not options.posts:
        # After a full build, checkpoints are kept only for runs that may still resume.
        remove_stale(paths.checkpoint_root(config.root), {o.experiment.key for o in outcomes if not o.ok})
    return report


@dataclass
class _Rendering:
    """What the render phase made: the renderer, the render cache (none for a draft) and the posts."""

    renderer: Renderer
    cache: RenderCache | None
    digests: identity.FileDigests
    rendered: list[RenderedPost | CachedPost]
    pending: dict[str, Pending]  # post path -> the cache entry to save once the site is written


def _render(parsed: list[ParsedPost], plan: Plan, store: VerifiedStore, failures: dict[str, RunOutcome],
            unrun: list[PlannedExperiment], config: SiteConfig, options: BuildOptions,
            reporter: ConsoleReporter) -> _Rendering:
    """Render every parsed post, or reuse its rendering from the cache; all posts' errors raised at once."""
    renderer = Renderer(config.path("templates_dir"), config.jekyll["permalink"], paths.cache_dir(config.root),
                        notebooks=NotebookSettings.of(config), root=config.root)
    digests = identity.for_project(config.root)
    # Drafts (--set) are never cached: their output must not be taken for the published one.
    cache = None if options.overrides else RenderCache(
        config.root, config.path("templates_dir"), digests, context={"live_reload": options.live_reload})
    pending: dict[str, Pending] = {}
    rendered: list[RenderedPost | CachedPost] = []
    errors: list[UserError] = []
    # Not inputs to record: caches, the output, sealed results, and the templates (in the entry's name).
    ignored = [paths.scratch_dir(config.root), config.path("site_dir"), config.path("results_dir"),
               config.path("templates_dir")]
    for post in parsed:
        post_outcomes = _outcomes(post, plan, store, failures, unrun)
        entry = None
        if cache is not None:
            entry = cache.entry_name(post.post, post_outcomes)
            hit = cache.lookup(post.post, post_url(post.post, config.jekyll["permalink"]), entry)
            if hit is not None:
                rendered.append(hit)
                continue
        try:
            with render_inputs.recording(config.root, ignored) as inputs:
                rendered.append(renderer.render(post, post_outcomes))
        except UserErrors as exc:
            errors += exc.errors
            continue
        if entry is not None:
            pending[post.post.path] = Pending(entry, inputs)
    if errors:
        raise UserErrors(errors)
    for post_rendered in rendered:
        for warning in post_rendered.warnings:
            reporter.warning(warning)
    return _Rendering(renderer, cache, digests, rendered, pending)


def _write_draft(rendering: _Rendering, parsed: list[ParsedPost], carried: list[CarriedPost], plan: Plan,
                 config: SiteConfig, store: VerifiedStore, report: dict[str, Any], options: BuildOptions,
                 reporter: ConsoleReporter) -> list[RenderedPost]:
    """A draft (``--set``): the preview alone, marked; overridden params never reach the published Jekyll tree."""
    changes = drafts.override_changes(parsed, config, store, plan)
    rendered = drafts.mark_drafts(rendering.renderer, [r for r in rendering.rendered if isinstance(r, RenderedPost)],
                                  changes)
    write_draft(config, rendered, carried, report=report, live_reload=options.live_reload)
    for line in drafts.describe(changes, plan):
        reporter.info(line)
    reporter.info(f"draft (--set): wrote the preview of {len(rendered)} post(s) to "
                  f"{config.build.site_dir}/_site/; the published {config.build.site_dir}/ was left as it was")
    return rendered


def _write(rendering: _Rendering, carried: list[CarriedPost], plan: Plan, config: SiteConfig, store: VerifiedStore,
           parse_cache: ParseCache, report: dict[str, Any], options: BuildOptions,
           reporter: ConsoleReporter) -> list[str] | None:
    """Write the site, then save the caches (pruned after a full build) and prune unused results if asked.

    Returns what :func:`write_site` says the write changed."""
    cache, pending, rendered = rendering.cache, rendering.pending, rendering.rendered
    site_changes = write_site(config, rendered, carried, report=report, live_reload=options.live_reload,
                              cache=cache, pending=pending)
    if cache is not None:
        for item in rendered:
            if isinstance(item, RenderedPost) and item.post.path in pending:
                cache.save(pending[item.post.path], item.warnings)
        if not options.posts:
            cache.prune()
            parse_cache.prune()
    rendering.digests.save()
    store.save()
    if options.prune and not options.posts and not options.overrides:
        keep = {(e.recipe.reference, e.key) for e in plan.experiments.values()}
        for folder in store.prune(keep):
            reporter.info(f"removed unused result {folder.relative_to(config.root).as_posix()}")
    return site_changes


def _read_posts(config: SiteConfig, cache: ParseCache | None = None) -> list[Post]:
    posts: list[Post] = []
    errors: list[UserError] = []
    for file in discover_posts(config.path("posts_dir")):
        try:
            posts.append(cache.read(file) if cache is not None else read_post(file, config.root))
        except UserError as exc:
            errors.append(exc)
    if errors:
        raise UserErrors(errors)
    seen: dict[str, Post] = {}
    for post in posts:
        if post.output_name in seen:
            errors.append(UserError(f"two posts would both be published as _posts/{post.output_name}",
                                    post.location(1), hint=f"the other is {seen[post.output_name].path}"))
        seen[post.output_name] = post
    if errors:
        raise UserErrors(errors)
    return posts


def _select(config: SiteConfig, posts: list[Post], names: list[str]) -> list[Post]:
    if not names:
        return posts
    by_path = {p.path: p for p in posts}
    chosen: list[Post] = []
    for name in names:
        path = Path(name)
        candidate = (path if path.is_absolute() else Path.cwd() / path).resolve()
        try:
            relative = candidate.relative_to(config.root.resolve()).as_posix()
        except ValueError:
            relative = name
        if relative not in by_path:
            raise UserError(f"'{name}' is not a post of this project",
                            hint=f"posts are the .md files under {config.build.posts_dir}/")
        chosen.append(by_path[relative])
    return chosen


def _parse(posts: list[Post], cache: ParseCache | None = None) -> list[ParsedPost]:
    parsed: list[ParsedPost] = []
    errors: list[UserError] = []
    for post in posts:
        try:
            parsed.append(cache.parse(post) if cache is not None else parse_post(post))
        except UserErrors as exc:
            errors += exc.errors
    if errors:
        raise UserErrors(errors)
    return parsed


def _outcomes(parsed: ParsedPost, plan: Plan, store: ResultStore, failures: dict[str, RunOutcome],
              unrun: list[PlannedExperiment]) -> dict[str, ExperimentOutcome]:
    """Each experiment of ``parsed`` with its runs' results (one run per seed), or why they have none."""
    outcomes: dict[str, ExperimentOutcome] = {}
    not_run = {e.key for e in unrun}
    for name in parsed.experiments:
        runs = []
        for seed, key in plan.runs_of(parsed.post.path, name):
            experiment = plan.experiments[key]
            result = experiment.result or store.load(experiment.recipe.reference, experiment.key)
            failure = failures.get(experiment.key)
            message = why = None
            if result is None:
                if experiment.blocked:
                    message, why = f"It could not run: {experiment.blocked}", BLOCKED
                elif experiment.key in not_run:
                    message = f"Its inputs changed ({experiment.reason}); run build-site to update it."
                    why = STALE
                elif failure is None:
                    message, why = "It has not been run.", NOT_RUN
                else:
                    message = f"The run {failure.status.page_words}: {failure.message}"
                    why = failure.status.value
            runs.append(SeedOutcome(seed, experiment, result, message, why))
        outcomes[name] = ExperimentOutcome.of_seeds(runs)
    return outcomes


def _warn_future(posts: list[Post], reporter: ConsoleReporter) -> None:
    today = dt.date.today()
    for post in posts:
        if post.date > today:
            reporter.warning(f"{post.path}: dated {post.date}, in the future: Jekyll will not publish it "
                             f"before then")


def _report(plan: Plan, outcomes: list[RunOutcome], config: SiteConfig,
            unrun: list[PlannedExperiment]) -> dict[str, Any]:
    """The build report written to ``site/_build/report.json``."""
    by_key = {o.experiment.key: o for o in outcomes}
    not_run = {e.key for e in unrun}
    rows = []
    for experiment in plan.experiments.values():
        outcome = by_key.get(experiment.key)
        rows.append({
            "experiment": experiment.label,
            "posts": sorted({u.post for u in experiment.uses}),
            "recipe": experiment.recipe.reference,
            "key": experiment.key,
            "status": (outcome.status.value if outcome else "blocked" if experiment.blocked
                       else "not run" if experiment.key in not_run else "cached"),
            "ran": outcome is not None,
            "wall_seconds": round(outcome.seconds, 3) if outcome else None,
            "log": outcome.log_path.relative_to(config.root).as_posix() if outcome else None,
        })
    return {"experiments": rows}


__all__ = ["BuildOptions", "BuildSummary", "build", "EXIT_OK", "EXIT_FAILED", "EXIT_USER", "LitblogError"]
