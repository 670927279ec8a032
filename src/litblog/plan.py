"""Stage 4, plan: every experiment of every post, its resolved params, its key, and whether it must run.

Identical experiments (same key) used by several posts are planned, and run, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import yaml

from . import datasets, reads
from .config import SiteConfig
from .directives import ExperimentDirective, ParsedPost
from .errors import SourceLocation, UserError, UserErrors, did_you_mean, one_of
from .engine import engine_inputs
from .keys import KeyInputs, describe_changes, framework_versions
from .recipes import (Recipe, RecipeNotFound, check_param_type, find_recipe, project_dependencies, recipe_digest,
                      source_digest)
from .store import Result, ResultStore
from .yaml_source import load_scalar


@dataclass(frozen=True)
class ExperimentUse:
    """One place an experiment is defined: a post and the name it has there."""

    post: str
    name: str
    location: SourceLocation


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
    result: Result | None  # the stored result, when there is one and it is not forced to re-run
    reason: str  # why it runs ("no result yet", "src/recipes/x.py changed", ...), "cached" or "blocked"
    blocked: str | None = None  # a recorded run that missing files prevent: the message it gave
    replaces: bool = False  # its run replaces a stored result of the same key (--force, a changed file it read)

    @property
    def label(self) -> str:
        """A short name for progress lines and reports: the experiment's name in its first post."""
        return self.uses[0].name

    @property
    def needs_run(self) -> bool:
        return self.result is None and self.blocked is None


@dataclass
class Plan:
    """The experiments of the posts being built, keyed by cache key."""

    experiments: dict[str, PlannedExperiment] = field(default_factory=dict)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (post, name) -> key

    def to_run(self) -> list[PlannedExperiment]:
        return [e for e in self.experiments.values() if e.needs_run]

    def key_of(self, post: str, name: str) -> str:
        return self.keys[(post, name)]


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
    force: bool = False,
    retry_blocked: bool = False,
    versions: dict[str, str] | None = None,
) -> Plan:
    """Resolve every experiment in ``posts``; all user errors are raised together.

    A run recorded as blocked (missing pretrained weights) is not tried again until the
    files it lacked are in the Keras cache, or ``retry_blocked`` (or ``force``) is set.
    ``versions``: the framework versions keys use (default: those installed; ``--check`` passes
    litblog's pins where TensorFlow is not installed).
    """
    overrides = overrides or {}
    errors: list[UserError] = []
    plan = Plan()
    versions = versions or framework_versions()
    used_overrides: set[str] = set()
    digests: dict[Path, str] = {}
    digest_cache = reads.DigestCache(config.root / ".litblog" / "cache" / "read-digests.json")
    for parsed in posts:
        for directive in parsed.experiments.values():
            planned = _plan_one(parsed, directive, config, store, overrides, used_overrides,
                                versions, digests, digest_cache, force, retry_blocked, errors)
            if planned is None:
                continue
            use = ExperimentUse(parsed.post.path, directive.name, directive.location)
            existing = plan.experiments.get(planned.key)
            if existing is not None:
                planned = replace(existing, uses=existing.uses + (use,))
            plan.experiments[planned.key] = planned
            plan.keys[(parsed.post.path, directive.name)] = planned.key
    digest_cache.save()
    for name in sorted(set(overrides) - used_overrides):
        errors.append(UserError(f"--set {name}: no experiment being built has a param '{name.split('.')[-1]}'"
                                if "." not in name else
                                f"--set {name}: no experiment '{name.split('.')[0]}' with that param"))
    if errors:
        raise UserErrors(errors)
    return plan


def _plan_one(
    parsed: ParsedPost,
    directive: ExperimentDirective,
    config: SiteConfig,
    store: ResultStore,
    overrides: dict[str, Any],
    used_overrides: set[str],
    versions: dict[str, str],
    digests: dict[Path, str],
    digest_cache: reads.DigestCache,
    force: bool,
    retry_blocked: bool,
    errors: list[UserError],
) -> PlannedExperiment | None:
    recipe_location = directive.options.location("recipe")
    try:
        recipe = find_recipe(directive.recipe, config.path("recipes_dir"))
    except RecipeNotFound as exc:
        errors.append(UserError(str(exc), recipe_location, suggestion=exc.suggestion))
        return None
    except SyntaxError as exc:
        errors.append(UserError(f"recipe '{directive.recipe}' cannot be read: {exc.msg} "
                                f"({Path(exc.filename or '').name}:{exc.lineno})", recipe_location))
        return None

    accepted = {p.name: p for p in recipe.parameters}
    params = recipe.defaults()
    problems: list[UserError] = []
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
    dataset_fingerprints: dict[str, str] = {}
    for name, value in params.items():
        if datasets.is_dataset_param(name) and isinstance(value, str):
            try:
                dataset_fingerprints[value] = datasets.fingerprint(
                    value, config.root, config.root / ".litblog" / "cache", data_dir=config.build.data_dir)
            except datasets.DatasetUnavailable as exc:
                problems.append(UserError(str(exc), directive.param_location(name),
                                          suggestion=did_you_mean(value, datasets.BUILTIN_NAMES)))
    if problems:
        errors.extend(problems)
        return None

    root = config.root.resolve()
    recipe_file = recipe.file.resolve()
    sources = {f"{recipe_file.relative_to(root).as_posix()}::{recipe.function}": recipe_digest(recipe)}
    for file in project_dependencies(recipe.file, config.import_root):
        if file == recipe_file:
            continue
        if file not in digests:
            digests[file] = source_digest(file)
        sources[file.relative_to(root).as_posix()] = digests[file]
    seed = directive.seed if directive.seed is not None else config.build.seed
    inputs = KeyInputs(recipe=recipe.reference, sources=sources, params=params, seed=seed,
                       datasets=dataset_fingerprints, versions=versions, engine=engine_inputs())
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
            (datasets.keras_cache_dir().parent / need).is_file() for need in record["needs"])
        rejected = store.problems.get(store.folder(recipe.reference, key))
        if rejected is not None:
            reason = "its stored result was rejected (see the warning above)"
        elif record is None:
            reason = _why_missing(store, recipe.reference, inputs)
        elif retry_blocked:
            reason = "--retry-blocked"
        elif arrived:
            reason = "the files it lacked are now in the Keras cache: " + ", ".join(record["needs"])
        else:
            blocked, reason = record["message"], "blocked"
    timeout = directive.timeout if directive.timeout is not None else config.build.timeout
    use = ExperimentUse(parsed.post.path, directive.name, directive.location)
    return PlannedExperiment(key, recipe, params, seed, timeout, inputs, (use,), result, reason, blocked,
                             replaces=force or bool(changed))


def _why_missing(store: ResultStore, recipe: str, inputs: KeyInputs) -> str:
    """Name the inputs that changed since the closest stored result of the same recipe."""
    new = inputs.to_json()
    best: list[str] | None = None
    for result in store.results(recipe):
        changes = describe_changes(result.manifest.get("key_inputs", {}), new)
        if best is None or len(changes) < len(best):
            best = changes
    if not best:
        return "no result yet"
    return "; ".join(best[:4]) + (f"; and {len(best) - 4} more" if len(best) > 4 else "")
