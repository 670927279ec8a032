"""Builds with ``--set`` are drafts: what the overrides change, and the banner on the posts they touch.

A directive says ``epochs: 80``; ``--set epochs=2`` trains for two. Such numbers are fine to
look at but must never be published under that directive, so a draft build writes the preview
and the report only (``site.write_draft``) and each post whose experiments the overrides
change says so at its top. Build-time code: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..sources.config import SiteConfig
from ..directives import ParsedPost
from ..plan.keys import canonical_json
from ..plan.plan import Plan, make_plan
from ..render.renderer import RenderedPost, Renderer
from ...common.store import ResultStore
from ..sources.text import html_text

DRAFT_TEMPLATE = "draft.html.j2"

# (post path, experiment name) -> {param: value} that --set changed for that experiment
Changes = dict[tuple[str, str], dict[str, Any]]


def override_changes(parsed: list[ParsedPost], config: SiteConfig, store: ResultStore, plan: Plan) -> Changes:
    """The experiments of ``plan`` (planned with overrides) whose key the overrides change, and how.

    Planned a second time without overrides rather than re-deriving params here, so a param
    set to the value the directive already has (no change of key) does not count.
    """
    base = make_plan(parsed, config, store)
    changes: Changes = {}
    for use, key in plan.keys.items():
        base_key = base.keys.get(use)
        if base_key == key:
            continue
        params = plan.experiments[key].params
        before = base.experiments[base_key].params if base_key in base.experiments else {}
        # canonical JSON: 2 and 2.0 are equal in Python but not in a key
        changes[use] = {name: value for name, value in params.items()
                        if name not in before or canonical_json(before[name]) != canonical_json(value)}
    return changes


def assignment(name: str, value: Any) -> str:
    """``name=value`` as it would be typed after ``--set``."""
    return f"{name}={value if isinstance(value, str) else json.dumps(value)}"


def by_assignment(changes: Changes, post: str | None = None) -> dict[str, list[str]]:
    """``epochs=2`` -> the experiments (of ``post``, or all as ``post:name``) it changes, in plan order."""
    grouped: dict[str, list[str]] = {}
    for (path, name), params in changes.items():
        if post is not None and path != post:
            continue
        for param, value in params.items():
            label = name if post is not None else f"{path}:{name}"
            grouped.setdefault(assignment(param, value), []).append(label)
    return grouped


def describe(changes: Changes, plan: Plan) -> list[str]:
    """Console lines: which experiments each override changes (for ``--plan`` and draft builds)."""
    if not changes:
        return ["--set changes no experiment's key: every experiment keeps the params its directive gives"]
    lines = []
    locations = {(u.post, u.name): u.location for e in plan.experiments.values() for u in e.uses}
    grouped: dict[str, list[str]] = {}
    for (path, name), params in changes.items():
        for param, value in params.items():
            grouped.setdefault(assignment(param, value), []).append(f"{name} ({locations[(path, name)]})")
    for text, experiments in grouped.items():
        lines.append(f"--set {text} changes " + ", ".join(experiments))
    return lines


def mark_drafts(renderer: Renderer, rendered: list[RenderedPost], changes: Changes) -> list[RenderedPost]:
    """``rendered`` with a draft banner at the top of each post the overrides change (both targets)."""
    marked: list[RenderedPost] = []
    for item in rendered:
        grouped = by_assignment(changes, item.post.path)
        if not grouped:
            marked.append(item)
            continue
        overrides = [{"assignment": html_text(text), "experiments": html_text(", ".join(names))}
                     for text, names in grouped.items()]
        bodies = {target: renderer.render_block(target, DRAFT_TEMPLATE, overrides=overrides).rstrip() + "\n\n" + body
                  for target, body in item.bodies.items()}
        marked.append(dataclasses.replace(item, bodies=bodies))
    return marked


__all__ = ["Changes", "override_changes", "describe", "mark_drafts", "assignment", "by_assignment"]
