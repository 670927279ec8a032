"""``build-site reproduce``: re-run a post's runs and say whether they give the numbers it publishes.

The chosen runs are planned as a build plans them (the current recipes, params, seeds, data and
versions), run by the local executor through the normal worker path into a scratch store
(:func:`litblog.common.paths.reproduce_results_dir`, emptied first), and each re-run is compared
with the stored run the page shows (:mod:`litblog.buildtime.notebooks.comparison`): every recorded value, the
history per epoch, the predictions. Nothing under ``results/`` or ``site/`` is written (the plan
reads the store read-only, as ``build-site check`` does).

The stored run is the one under the current key; when the inputs changed since (an edited
recipe, another TensorFlow), it is the closest stored run of the same recipe with the same
params and seed, and the verdict names the recorded inputs that differ from this machine:
code, data, versions, litblog's run-time code, hardware.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...common import paths
from ...common.errors import UserError, did_you_mean, one_of
from ...common.store import ResultStore, StoredResult
from ..notebooks import comparison
from .check import ReadOnlyStore
from ..sources.config import SiteConfig, load_config
from ..plan.engine import describe_area
from ..execute.execute import default_jobs, sigterm_as_interrupt
from ..execute.executors import EXECUTORS, ExecutorOptions
from ..execute.lock import BuildLock
from .pipeline import EXIT_FAILED, EXIT_OK, _parse, _read_posts, _select
from ..plan.plan import PlannedExperiment, make_plan
from ..execute.progress import ConsoleReporter


SKIPPED = "skipped"  # no stored run: the page shows a notice, not a number, so there is nothing to compare


@dataclass(frozen=True)
class Verdict:
    """One run's re-run compared with its stored run."""

    post: str
    experiment: str  # as the post names it (``model1 [seed 2]`` for one seed of several)
    key: str  # the key its inputs give now
    verdict: str  # comparison.IDENTICAL / WITHIN / DIFFERS, SKIPPED, or "failed" (the re-run did not finish)
    summary: str  # one line
    details: list[str] = field(default_factory=list)  # differences, then the inputs that differ

    @property
    def agrees(self) -> bool:
        """Nothing to object: the values agree, or the page shows no number of this run."""
        return self.verdict in (comparison.IDENTICAL, comparison.WITHIN, SKIPPED)


def run_values(result: StoredResult) -> dict[str, Any]:
    """What a run is compared on: its recorded values, its history, its predictions (parsed)."""
    return {"metrics": result.metrics, "history": result.history,
            "predictions": {name: result.predictions(name) for name in sorted(result.manifest.get("predictions", {}))}}


def reproduce_command(root: Path, posts: list[str], reporter: ConsoleReporter, *, experiment: str | None = None,
                      seed: int | None = None, wait: bool = True) -> int:
    """Re-run the chosen runs and print a verdict for each; 0 when all agree, 1 otherwise."""
    config = load_config(root)
    with BuildLock(paths.lock_path(config.root), wait=wait, on_wait=reporter.info):
        verdicts = reproduce(config, posts, reporter, experiment=experiment, seed=seed)
    for verdict in verdicts:
        say = reporter.info if verdict.agrees else reporter.error
        say(f"{verdict.post}: {verdict.experiment}: {verdict.summary}")
        for line in verdict.details:
            say(f"    {line}")
    agreeing = sum(v.agrees for v in verdicts)
    compared = [v for v in verdicts if v.verdict != SKIPPED]
    if agreeing == len(verdicts) and compared:
        skipped = len(verdicts) - len(compared)
        reporter.info(f"reproduce: all {len(compared)} run(s) agree with their stored runs"
                      + (f" ({skipped} without a stored run skipped)" if skipped else ""))
        return EXIT_OK
    if not compared:
        reporter.error("reproduce: no run has a stored run to compare with (run build-site first)")
        return EXIT_FAILED
    reporter.error(f"reproduce: {len(verdicts) - agreeing} of {len(verdicts)} run(s) do not agree with their "
                   f"stored runs")
    return EXIT_FAILED


def reproduce(config: SiteConfig, posts: list[str], reporter: ConsoleReporter, *, experiment: str | None = None,
              seed: int | None = None) -> list[Verdict]:
    """The verdicts, in the posts' order (hold the build lock)."""
    selected = _select(config, _read_posts(config), posts)
    parsed = _parse(selected)
    store = ReadOnlyStore(config.path("results_dir"))
    plan = make_plan(parsed, config, store)
    chosen: list[tuple[str, str, PlannedExperiment]] = []  # (post, label, planned)
    names = sorted({name for post in parsed for name in post.experiments})
    if experiment is not None and experiment not in names:
        raise UserError(f"--experiment {experiment}: no experiment of that name in "
                        + (", ".join(posts) if posts else "the posts"),
                        suggestion=did_you_mean(experiment, names) or one_of(names))
    seeds_seen: set[int] = set()
    for post in parsed:
        for name in post.experiments:
            if experiment is not None and name != experiment:
                continue
            runs = plan.runs_of(post.post.path, name)
            for run_seed, key in runs:
                seeds_seen.add(run_seed)
                if seed is not None and run_seed != seed:
                    continue
                label = f"{name} [seed {run_seed}]" if runs.several else name
                chosen.append((post.post.path, label, plan.experiments[key]))
    if seed is not None and seed not in seeds_seen:
        raise UserError(f"--seed {seed}: no run of " + (f"experiment '{experiment}'" if experiment else "these posts")
                        + " has that seed", hint="its seeds are " + ", ".join(str(s) for s in sorted(seeds_seen)))
    if not chosen:
        raise UserError("nothing to reproduce: " + (", ".join(posts) if posts else "no post") + " has no experiment",
                        hint="name a post with experiments, like build-site reproduce posts/x.md")

    published = {planned.key: published_run(store, planned) for _, _, planned in chosen}
    scratch_root = paths.reproduce_results_dir(config.root)
    shutil.rmtree(scratch_root, ignore_errors=True)  # a re-run is never a cached one
    scratch = ResultStore(scratch_root)
    # Only runs with a stored run to compare with: a blocked or never-run experiment shows no number.
    unique = {planned.key: replace(planned, result=None, blocked=None, replaces=True)
              for _, _, planned in chosen if published[planned.key][0] is not None}
    reporter.info(f"re-running {len(unique)} run(s) into {scratch_root.relative_to(config.root).as_posix()}/ "
                  f"(results/ and site/ are not touched)")
    with sigterm_as_interrupt():  # as in a build: a cancelled job stops the workers like Ctrl-C
        outcomes = {o.experiment.key: o for o in EXECUTORS["local"].run(
            list(unique.values()), config, scratch, reporter,
            ExecutorOptions(jobs=config.build.jobs or default_jobs(), keep_going=True))}
    verdicts = []
    for post, label, planned in chosen:
        stored, why = published[planned.key]
        outcome = outcomes.get(planned.key)
        rerun = scratch.load(planned.recipe.reference, planned.key) if outcome is not None and outcome.ok else None
        verdicts.append(_verdict(post, label, planned, stored, why, rerun,
                                 outcome.message if outcome is not None else "it did not run"))
    return verdicts


def published_run(store: ReadOnlyStore, planned: PlannedExperiment) -> tuple[StoredResult | None, str]:
    """The stored run a page shows for ``planned``: the one under its key, else the closest stored run
    of its recipe with the same params, seed and options (its inputs changed since); and why none."""
    result = store.load(planned.recipe.reference, planned.key)
    if result is not None:
        return result, ""
    wanted = planned.inputs.to_json()
    candidates = []
    for stored in store.results(planned.recipe.reference):
        recorded = stored.manifest.get("key_inputs", {})
        if all(recorded.get(name) == wanted.get(name) for name in ("params", "seed", "extra")):
            candidates.append((len(input_changes(recorded, wanted)), stored.manifest.get("created") or "", stored))
    if not candidates:
        reason = f"blocked: {planned.blocked}" if planned.blocked else "build-site has not stored it"
        return None, f"no stored run with these params and seed to compare with ({reason})"
    candidates.sort(key=lambda c: c[1], reverse=True)
    candidates.sort(key=lambda c: c[0])  # fewest changed inputs first, the newest among equals
    return candidates[0][2], ""


def input_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The recorded key inputs that differ from this machine's, in words, by kind."""
    changes = []
    old, new = recorded.get("sources", {}), current.get("sources", {})
    for name in sorted(set(old) | set(new)):
        kind = "recipe" if "::" in name else "module"
        if name not in old:
            changes.append(f"code: {kind} {name} is newly imported")
        elif name not in new:
            changes.append(f"code: {kind} {name} is no longer imported")
        elif old[name] != new[name]:
            changes.append(f"code: the {kind} {name} changed (recorded digest {old[name][:12]}, "
                           f"now {new[name][:12]})")
    old, new = recorded.get("datasets", {}), current.get("datasets", {})
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            changes.append(f"data: dataset '{name}' fingerprint {str(old.get(name, '(none)'))[:19]} recorded, "
                           f"{str(new.get(name, '(none)'))[:19]} here")
    old, new = recorded.get("versions", {}), current.get("versions", {})
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            changes.append(f"versions: {name} {old.get(name, '(none)')} recorded, {new.get(name, '(none)')} here")
    old, new = recorded.get("engine", {}), current.get("engine", {})
    for area in sorted(set(old) | set(new)):
        if old.get(area) != new.get(area):
            changes.append(f"litblog: {describe_area(area)} {old.get(area, '(none)')} recorded, "
                           f"{new.get(area, '(none)')} here")
    if recorded.get("format") != current.get("format"):
        changes.append(f"litblog: result format {recorded.get('format')} recorded, {current.get('format')} here")
    return changes


def environment_changes(recorded: dict[str, Any], here: dict[str, Any]) -> list[str]:
    """What the two runs' manifests recorded of their machines that differs: runtime versions, hardware."""
    changes = []
    old, new = recorded.get("runtime") or {}, here.get("runtime") or {}
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            changes.append(f"versions: {name} {old.get(name, '(not recorded)')} recorded, "
                           f"{new.get(name, '(not recorded)')} here")
    old, new = recorded.get("hardware") or {}, here.get("hardware") or {}
    if _machine(old) != _machine(new):
        changes.append(f"hardware: {_machine(old)} recorded, {_machine(new)} here")
    return changes


def _machine(hardware: dict[str, Any]) -> str:
    if not hardware:
        return "not recorded"
    gpus = hardware.get("gpus") or []
    names = ", ".join(g.get("name", str(g)) if isinstance(g, dict) else str(g) for g in gpus) or "no GPU"
    return f"{hardware.get('cpu') or 'a CPU'} ({hardware.get('cpu_count', '?')} cores), {names}"


def _verdict(post: str, label: str, planned: PlannedExperiment, stored: StoredResult | None, why: str,
             rerun: StoredResult | None, failure: str) -> Verdict:
    head = f"{planned.recipe.reference}, seed {planned.seed}"
    if stored is None:
        return Verdict(post, label, planned.key, SKIPPED, f"not re-run ({head}): {why}")
    changes = input_changes(stored.manifest.get("key_inputs", {}), planned.inputs.to_json())
    if rerun is None:
        return Verdict(post, label, planned.key, "failed", f"the re-run failed ({head}): {failure}",
                       [f"inputs that differ from the stored run: {c}" for c in changes])
    compared = comparison.compare_runs(run_values(stored), run_values(rerun))
    changes += [c for c in environment_changes(stored.manifest, rerun.manifest) if c not in changes]
    details = comparison.difference_lines(compared)
    if compared["verdict"] == comparison.WITHIN:
        details.append("why: " + ("; ".join(changes) if changes else
                                  "no recorded input differs; this machine is not bit-for-bit deterministic"))
    elif changes:
        details += [f"input that differs from the stored run: {c}" for c in changes]
    elif compared["verdict"] == comparison.DIFFERS:
        details.append("no recorded input differs from this machine: the runs are not deterministic here")
    stored_key = "" if stored.key == planned.key else f", stored under {stored.key}"
    return Verdict(post, label, planned.key, compared["verdict"],
                   f"{comparison.summary(compared)} ({head}, key {planned.key}{stored_key})", details)

