"""Stage 4, plan: every experiment of every post, its resolved params, its key, and whether it must run.

Identical experiments (same key) used by several posts are planned, and run, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from ..sources import identity
from ...common import datasets, paths, reads
from ..sources.config import SiteConfig
from ..directives import ExperimentDirective, ParsedPost
from ...common.errors import SourceLocation, UserError, UserErrors, did_you_mean, one_of
from .engine import engine_inputs
from .keys import KeyInputs, describe_changes, framework_versions
from ..sources.recipe_source import (Recipe, RecipeNotFound, check_param_type, find_recipe, project_dependencies, recipe_digest,
                      source_digest)
from ...common.store import StoredResult, ResultStore
from ..sources.yaml_source import load_scalar


@dataclass(frozen=True)
class ExperimentUse:
    """One place an experiment is defined: a post and the name it has there.

    ``seed`` is set when the directive stands for several runs (``seeds:``): this run is that
    seed's.
    """

    post: str
    name: str
    location: SourceLocation
    seed: int | None = None

    @property
    def label(self) -> str:
        return self.name if self.seed is None else f"{self.name} [seed {self.seed}]"


@dataclass(frozen=True)
class PlannedExperiment:
    """An experiment with everything resolved: what runs, under which key, and why (not)."""

    key: str
    recipe: Recipe
    params: dict[str, Any]
    seed: int
    timeout: float | None
    inputs: KeyInputs
    uses: tuple[ExperimentUse, ...]
    result: StoredResult | None  # the stored result, when there is one and it is not forced to re-run
    reason: str  # why it runs ("no result yet", "src/recipes/x.py changed", ...), "cached" or "blocked"
    blocked: str | None = None  # a recorded run that missing files prevent: the message it gave
    replaces: bool = False  # its run replaces a stored result of the same key (--force, a changed file it read)

    @property
    def label(self) -> str:
        """A short name for progress lines and reports: the experiment's name in its first post
        (``model1 [seed 2]`` for one run of several seeds)."""
        return self.uses[0].label

    @property
    def file_label(self) -> str:
        """:attr:`label` for file names: ``model1-seed2``."""
        use = self.uses[0]
        return use.name if use.seed is None else f"{use.name}-seed{use.seed}"

    @property
    def needs_run(self) -> bool:
        return self.result is None and self.blocked is None


@dataclass(frozen=True)
class ExperimentRuns:
    """The runs one experiment directive stands for: one per seed, in the directive's order.

    A directive with ``seed:`` (or neither option, under ``litblog.seed``) has one run; with
    ``seeds:`` (or ``litblog.seeds``) one per seed, each stored under its own key, the key that
    ``seed: <k>`` would give.
    """

    seeds: tuple[int, ...]
    keys: tuple[str, ...]

    @property
    def several(self) -> bool:
        return len(self.seeds) > 1

    def __iter__(self):  # (seed, key) pairs
        return iter(zip(self.seeds, self.keys))


@dataclass
class Plan:
    """The experiments of the posts being built, keyed by cache key."""

    experiments: dict[str, PlannedExperiment] = field(default_factory=dict)
    runs: dict[tuple[str, str], ExperimentRuns] = field(default_factory=dict)  # (post, name) -> its runs

    def to_run(self) -> list[PlannedExperiment]:
        return [e for e in self.experiments.values() if e.needs_run]

    def runs_of(self, post: str, name: str) -> ExperimentRuns:
        return self.runs[(post, name)]

    @property
    def keys(self) -> dict[tuple[str, str], str]:
        """(post, name) -> key, for experiments of one run."""
        return {where: runs.keys[0] for where, runs in self.runs.items() if not runs.several}

    def key_of(self, post: str, name: str) -> str:
        """The key of an experiment of one run; one of several seeds has :meth:`runs_of`."""
        runs = self.runs[(post, name)]
        if runs.several:
            raise ValueError(f"experiment '{name}' of {post} has {len(runs.seeds)} seeds: use runs_of")
        return runs.keys[0]


@dataclass(frozen=True)
class ForceTarget:
    """``--force model1`` (every run of the experiment) or ``--force 'model1[seed 2]'`` (one run)."""

    name: str
    seed: int | None = None

    def __str__(self) -> str:
        return self.name if self.seed is None else f"{self.name}[seed {self.seed}]"


_FORCE_TARGET = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_-]*)(?:\[\s*seed\s*=?\s*(?P<seed>\d+)\s*\])?$")
Force = bool | tuple[ForceTarget, ...]  # True: every run of the posts being built


def parse_force(values: Sequence[str | bool] | None) -> Force:
    """``--force`` values: ``True`` (a bare ``--force``) forces every run; names force only those
    experiments, ``NAME[seed K]`` one run of one."""
    if not values:
        return False
    if any(value is True for value in values):
        return True
    targets = []
    for value in values:
        match = _FORCE_TARGET.match(str(value).strip())
        if match is None:
            raise UserError(f"--force '{value}' is not an experiment or one of its runs",
                            hint="write --force model1, or --force 'model1[seed 2]' for one seed; "
                                 "a bare --force re-runs every experiment of the posts built")
        targets.append(ForceTarget(match["name"], int(match["seed"]) if match["seed"] is not None else None))
    return tuple(dict.fromkeys(targets))


def _forced(force: Force, name: str, seed: int) -> bool:
    if isinstance(force, bool):
        return force
    return any(t.name == name and (t.seed is None or t.seed == seed) for t in force)


def _check_force(force: Force, posts: list[ParsedPost], config: SiteConfig) -> list[UserError]:
    """Each ``--force`` target names an experiment of the posts being built, and a seed it has."""
    if isinstance(force, bool):
        return []
    seeds: dict[str, set[int]] = {}
    for parsed in posts:
        for directive in parsed.experiments.values():
            seeds.setdefault(directive.name, set()).update(directive_seeds(directive, config))
    errors = []
    for target in force:
        if target.name not in seeds:
            errors.append(UserError(f"--force {target}: no experiment '{target.name}' in the posts being built",
                                    suggestion=did_you_mean(target.name, seeds), hint=one_of(sorted(seeds)) or None))
        elif target.seed is not None and target.seed not in seeds[target.name]:
            errors.append(UserError(f"--force {target}: experiment '{target.name}' has no seed {target.seed}",
                                    hint="its seeds: " + ", ".join(str(s) for s in sorted(seeds[target.name]))))
    return errors


def parse_overrides(assignments: Iterable[str]) -> dict[str, Any]:
    """``--set epochs=2`` or ``--set model1.epochs=2`` into a dict; values are YAML scalars."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--set '{assignment}' should be written name=value", hint="for example --set epochs=2")
        try:
            overrides[name.strip()] = load_scalar(raw) if raw.strip() else ""
        except yaml.YAMLError:
            overrides[name.strip()] = raw
    return overrides


def make_plan(
    posts: list[ParsedPost],
    config: SiteConfig,
    store: ResultStore,
    *,
    overrides: dict[str, Any] | None = None,
    force: Force = False,
    retry_blocked: bool = False,
    versions: dict[str, str] | None = None,
) -> Plan:
    """Resolve every experiment in ``posts``; all user errors are raised together.

    ``force``: True re-runs every run; a tuple of :class:`ForceTarget` only the runs they name.

    A run recorded as blocked (missing pretrained weights) is not tried again until the
    files it lacked are in the Keras cache, or ``retry_blocked`` (or ``force``) is set.
    ``versions``: the framework versions keys use (default: those installed; ``--check`` passes
    litblog's pins where TensorFlow is not installed).
    """
    overrides = overrides or {}
    errors: list[UserError] = _check_force(force, posts, config)
    plan = Plan()
    digest_cache = identity.for_project(config.root)
    versions = versions or framework_versions(digest_cache)
    used_overrides: set[str] = set()
    memo = _Memo(engine_inputs(digest_cache))
    for parsed in posts:
        for directive in parsed.experiments.values():
            seeds = directive_seeds(directive, config)
            resolved = _resolve(directive, config, overrides, used_overrides, versions, memo, errors)
            if resolved is None:
                continue
            keys = []
            for seed in seeds:
                use = ExperimentUse(parsed.post.path, directive.name, directive.location,
                                    seed if len(seeds) > 1 else None)
                planned = _plan_seed(resolved, seed, use, directive, config, store, digest_cache,
                                     _forced(force, directive.name, seed), retry_blocked, memo)
                existing = plan.experiments.get(planned.key)
                if existing is not None:  # the same run in another post (or directive): forced if either is
                    first = planned if planned.replaces and not existing.replaces else existing
                    planned = replace(first, uses=existing.uses + (use,))
                plan.experiments[planned.key] = planned
                keys.append(planned.key)
            plan.runs[(parsed.post.path, directive.name)] = ExperimentRuns(seeds, tuple(keys))
    digest_cache.save()
    for name in sorted(set(overrides) - used_overrides):
        errors.append(UserError(f"--set {name}: no experiment being built has a param '{name.split('.')[-1]}'"
                                if "." not in name else
                                f"--set {name}: no experiment '{name.split('.')[0]}' with that param"))
    if errors:
        raise UserErrors(errors)
    return plan


def directive_seeds(directive: ExperimentDirective, config: SiteConfig) -> tuple[int, ...]:
    """The seeds an experiment runs with: its ``seeds:``, its ``seed:``, ``litblog.seeds``, ``litblog.seed``."""
    if directive.seeds is not None:
        return directive.seeds
    if directive.seed is not None:
        return (directive.seed,)
    return config.build.seeds or (config.build.seed,)


@dataclass
class _Memo:
    """What one plan computes once however many experiments share it: recipes read, their project
    dependencies, file digests (by identity, across builds: ``identity.FileDigests``), the engine's
    inputs, and the stored results' key inputs per recipe (for :func:`_why_missing`)."""

    engine: dict[str, str]
    recipes: dict[tuple[str, Path], Recipe] = field(default_factory=dict)
    dependencies: dict[Path, list[Path]] = field(default_factory=dict)
    recipe_digests: dict[str, str] = field(default_factory=dict)
    stored_inputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    real_paths: dict[Path, Path] = field(default_factory=dict)
    relative_names: dict[Path, str] = field(default_factory=dict)

    def resolved(self, path: Path) -> Path:
        """``path.resolve()``, once per plan."""
        real = self.real_paths.get(path)
        if real is None:
            real = self.real_paths[path] = path.resolve()
        return real


@dataclass(frozen=True)
class _Resolved:
    """What an experiment's runs share: all of the key's inputs but the seed."""

    recipe: Recipe
    params: dict[str, Any]
    sources: dict[str, str]
    datasets: dict[str, str]
    versions: dict[str, str]


def _resolve(
    directive: ExperimentDirective,
    config: SiteConfig,
    overrides: dict[str, Any],
    used_overrides: set[str],
    versions: dict[str, str],
    memo: _Memo,
    errors: list[UserError],
) -> _Resolved | None:
    """The recipe, params, code digests and dataset fingerprints of ``directive``, or None with its problems in ``errors``."""
    recipe = _find_recipe(directive, config, memo, errors)
    if recipe is None:
        return None
    problems: list[UserError] = []
    params = _params(directive, recipe, overrides, used_overrides, problems)
    dataset_fingerprints = _dataset_fingerprints(directive, params, config, problems)
    if problems:
        errors.extend(problems)
        return None
    return _Resolved(recipe, params, _sources(recipe, config, memo), dataset_fingerprints, versions)


def _find_recipe(directive: ExperimentDirective, config: SiteConfig, memo: _Memo,
                 errors: list[UserError]) -> Recipe | None:
    """The recipe ``directive`` names, read once per build, or None with why in ``errors``."""
    recipe_location = directive.options.location("recipe")
    try:
        where = (directive.recipe, config.path("recipes_dir"))
        return memo.recipes.get(where) or memo.recipes.setdefault(where, find_recipe(*where))
    except RecipeNotFound as exc:
        errors.append(UserError(str(exc), recipe_location, suggestion=exc.suggestion))
        return None
    except SyntaxError as exc:
        errors.append(UserError(f"recipe '{directive.recipe}' cannot be read: {exc.msg} "
                                f"({Path(exc.filename or '').name}:{exc.lineno})", recipe_location))
        return None


def _params(directive: ExperimentDirective, recipe: Recipe, overrides: dict[str, Any], used_overrides: set[str],
            problems: list[UserError]) -> dict[str, Any]:
    """The recipe's defaults, then the directive's params, then ``--set`` overrides; each checked against
    the recipe's signature (unknown, missing, wrongly typed: in ``problems``)."""
    accepted = {p.name: p for p in recipe.parameters}
    params = recipe.defaults()
    for name, value in directive.params.items():
        if name not in accepted and not recipe.accepts_any_keyword:
            problems.append(UserError(
                f"recipe '{recipe.reference}' has no param '{name}'", directive.param_location(name),
                suggestion=did_you_mean(str(name), accepted) or one_of(accepted)))
            continue
        params[name] = value
    for name, value in overrides.items():
        experiment, _, param = name.rpartition(".")
        if experiment and experiment != directive.name:
            continue
        if param in accepted or recipe.accepts_any_keyword:
            params[param] = value
            used_overrides.add(name)
    for name, param in accepted.items():
        if param.required and name not in params:
            problems.append(UserError(f"recipe '{recipe.reference}' needs param '{name}'",
                                      directive.options.location("params"),
                                      hint=f"add it under params: {{{name}: ...}}"))
        elif name in params:
            problem = check_param_type(param, params[name])
            if problem:
                problems.append(UserError(f"param '{name}' {problem}", directive.param_location(name)))
    return params


def _dataset_fingerprints(directive: ExperimentDirective, params: dict[str, Any], config: SiteConfig,
                          problems: list[UserError]) -> dict[str, str]:
    """Each dataset the params name -> its fingerprint (one that cannot be had: in ``problems``)."""
    dataset_fingerprints: dict[str, str] = {}
    for name, value in params.items():
        if datasets.is_dataset_param(name) and isinstance(value, str):
            try:
                dataset_fingerprints[value] = datasets.fingerprint(
                    value, config.root, paths.cache_dir(config.root), data_dir=config.build.data_dir)
            except datasets.DatasetUnavailable as exc:
                problems.append(UserError(str(exc), directive.param_location(name),
                                          suggestion=did_you_mean(value, datasets.BUILTIN_NAMES)))
    return dataset_fingerprints


def _sources(recipe: Recipe, config: SiteConfig, memo: _Memo) -> dict[str, str]:
    """The recipe function's digest and the token digest of every project module its file imports."""
    root = memo.resolved(config.root)
    recipe_file = memo.resolved(recipe.file)
    if recipe.reference not in memo.recipe_digests:
        memo.recipe_digests[recipe.reference] = recipe_digest(recipe, identity.for_project(config.root))
    sources = {f"{recipe_file.relative_to(root).as_posix()}::{recipe.function}": memo.recipe_digests[recipe.reference]}
    if recipe.file not in memo.dependencies:
        memo.dependencies[recipe.file] = project_dependencies(recipe.file, config.import_root)
    digest_cache = identity.for_project(config.root)
    for file in memo.dependencies[recipe.file]:
        if file == recipe_file:
            continue
        # One digest per changed file, however many experiments import it.
        name = memo.relative_names.get(file)
        if name is None:
            name = memo.relative_names[file] = file.relative_to(root).as_posix()
        sources[name] = digest_cache.digest(file, source_digest, kind="tokens")
    return sources


def _plan_seed(resolved: _Resolved, seed: int, use: ExperimentUse, directive: ExperimentDirective,
               config: SiteConfig, store: ResultStore, digest_cache: reads.DigestCache, force: bool,
               retry_blocked: bool, memo: _Memo) -> PlannedExperiment:
    """One run of an experiment: its key and whether it must run."""
    recipe, params = resolved.recipe, resolved.params
    inputs = KeyInputs(recipe=recipe.reference, sources=dict(resolved.sources), params=dict(params), seed=seed,
                       datasets=dict(resolved.datasets), versions=resolved.versions, engine=dict(memo.engine),
                       # Only when asked for: every other key stays what it was.
                       extra={"accelerate": list(directive.accelerate)} if directive.accelerate else {})
    key = inputs.key()
    result = None if force else store.load(recipe.reference, key)
    blocked = None
    changed = reads.changed_reads(result.manifest, config.root, digest_cache) if result is not None else []
    if changed:
        result, reason = None, "a file it read changed: " + ", ".join(changed)
    elif result is not None:
        reason = "cached"
    elif force:
        reason = "--force"
    else:
        record = store.load_blocked(recipe.reference, key)
        arrived = record is not None and record.get("needs") and all(
            (paths.keras_home() / need).is_file() for need in record["needs"])
        rejected = store.problems.get(store.folder(recipe.reference, key))
        if rejected is not None:
            reason = "its stored result was rejected (see the warning above)"
        elif record is None:
            reason = _why_missing(store, recipe.reference, inputs, memo)
        elif retry_blocked:
            reason = "--retry-blocked"
        elif arrived:
            reason = "the files it lacked are now in the Keras cache: " + ", ".join(record["needs"])
        else:
            blocked, reason = record["message"], "blocked"
    timeout = directive.timeout if directive.timeout is not None else config.build.timeout
    return PlannedExperiment(key, recipe, dict(params), seed, timeout, inputs, (use,), result, reason, blocked,
                             replaces=force or bool(changed))


def _why_missing(store: ResultStore, recipe: str, inputs: KeyInputs, memo: _Memo | None = None) -> str:
    """Name the inputs that changed since the closest stored result of the same recipe; a run whose
    other seeds are stored with the same inputs is simply missing (never added, or deleted).

    The stored results' key inputs are read once per plan (``memo``), not once per missing run.
    """
    new = inputs.to_json()
    best: list[str] | None = None
    same_but_seed: list[int] = []
    if memo is None or recipe not in memo.stored_inputs:
        stored = [result.manifest.get("key_inputs", {}) for result in store.results(recipe)]
        if memo is None:
            memo = _Memo({})
        memo.stored_inputs[recipe] = stored
    for old in memo.stored_inputs[recipe]:
        changes = describe_changes(old, new)
        if {**old, "seed": new.get("seed")} == new:
            same_but_seed.append(old.get("seed"))
        if best is None or len(changes) < len(best):
            best = changes
    if same_but_seed:
        others = ", ".join(str(s) for s in sorted(same_but_seed, key=str))
        return (f"missing: no stored result for seed {inputs.seed} (seed{'s' if len(same_but_seed) > 1 else ''} "
                f"{others} with the same inputs {'are' if len(same_but_seed) > 1 else 'is'} stored)")
    if not best:
        return "no result yet"
    return "; ".join(best[:4]) + (f"; and {len(best) - 4} more" if len(best) > 4 else "")
