"""Cache keys: a hash of everything that can change an experiment's result, and nothing else.

Prose is not part of it (editing a post re-runs nothing); the recipe's source and the project
modules it imports are, token by token (comments and blank lines do not count), with the
resolved params, the dataset fingerprints, the seed, the framework versions, litblog's own
run-time code (by area, see :mod:`litblog.buildtime.plan.engine`) and the results format version.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ...common.store import FORMAT_VERSION  # the store's format: a key input, and checked when a result is loaded
from .engine import describe_area
from ..sources.identity import FileDigests, package_versions

KEY_LENGTH = 24  # hex digits: 96 bits


@dataclass(frozen=True)
class KeyInputs:
    """The inputs a key is computed from, stored in each result's manifest."""

    recipe: str
    sources: dict[str, str]  # project-relative path -> token digest
    params: dict[str, Any]
    seed: int
    datasets: dict[str, str]  # dataset spec -> fingerprint
    versions: dict[str, str]
    engine: dict[str, str] = field(default_factory=dict)  # run-time code area -> version (see engine.py)
    format: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def key(self) -> str:
        # The same JSON as to_json() gives, without its deep copy (thousands of experiments per plan).
        shallow = {item.name: getattr(self, item.name) for item in fields(self)}
        return hashlib.sha256(canonical_json(shallow).encode()).hexdigest()[:KEY_LENGTH]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal inputs hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)


def framework_versions(digests: FileDigests | None = None) -> dict[str, str]:
    """Versions of the frameworks a result depends on, read from package metadata (no import);
    remembered in ``digests`` (the project's :class:`~litblog.buildtime.sources.identity.FileDigests`) until a
    package is installed or removed."""
    choices = (("tensorflow", ("tensorflow", "tensorflow-cpu", "tensorflow-macos")), ("keras", ("keras",)))
    installed = package_versions([dist for _, distributions in choices for dist in distributions], digests)
    versions: dict[str, str] = {}
    for label, distributions in choices:
        versions[label] = next((installed[d] for d in distributions if installed[d] is not None), "not installed")
    return versions


_PIN = re.compile(r"^\s*(tensorflow(?:-cpu|-macos)?|keras)\s*==\s*([^\s;,]+)\s*(?:;(.*))?$")


def pinned_versions() -> dict[str, str]:
    """The TensorFlow and Keras versions litblog's own requirements pin (``==``), by the labels of
    :func:`framework_versions`; read from its installed metadata, else from ``pyproject.toml`` beside
    the source. Lets ``build-site --check`` compute keys where TensorFlow is not installed.
    """
    from importlib import metadata  # --check only: importing it costs a rebuild about 10 ms

    try:
        requirements = metadata.requires("litblog") or []
    except metadata.PackageNotFoundError:
        requirements = []
    if not requirements:
        pyproject = Path(__file__).resolve().parents[4] / "pyproject.toml"
        try:
            requirements = re.findall(r'^\s*"([^"]+)",?\s*$', pyproject.read_text(encoding="utf-8"), re.M)
        except OSError:
            requirements = []
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = _PIN.match(requirement)
        if not match or "extra" in (match.group(3) or "") or not _marker_applies(match.group(3)):
            continue
        label = "keras" if match.group(1) == "keras" else "tensorflow"
        pins.setdefault(label, match.group(2))
    return pins


def _marker_applies(marker: str | None) -> bool:
    """Whether an environment marker holds here; True when ``packaging`` (matplotlib's dependency) is absent."""
    if not marker or not marker.strip():
        return True
    try:
        from packaging.markers import Marker
    except ImportError:
        return True
    try:
        return Marker(marker.strip()).evaluate()
    except Exception:  # an unreadable marker: do not guess that it excludes this platform
        return True


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two stored ``KeyInputs`` (as JSON), in words, most specific first."""
    changes: list[str] = []
    old_sources, new_sources = old.get("sources", {}), new.get("sources", {})
    for path in sorted(set(old_sources) | set(new_sources)):
        if path not in old_sources:
            changes.append(f"{path} is newly imported")
        elif path not in new_sources:
            changes.append(f"{path} is no longer imported")
        elif old_sources[path] != new_sources[path]:
            changes.append(f"{path} changed")
    old_params, new_params = old.get("params", {}), new.get("params", {})
    for name in sorted(set(old_params) | set(new_params)):
        before, after = old_params.get(name, "(unset)"), new_params.get(name, "(unset)")
        if before != after:
            changes.append(f"param {name}: {before!r} -> {after!r}")
    old_engine, new_engine = old.get("engine", {}), new.get("engine", {})
    areas = [a for a in sorted(set(old_engine) | set(new_engine)) if old_engine.get(a) != new_engine.get(a)]
    if not old_engine and new_engine:
        changes.append("litblog's run-time code is now part of the key (the result predates it)")
    elif len(areas) > 2:
        changes.append(f"litblog's run-time code changed: {', '.join(areas)}")
    else:
        changes += [f"{describe_area(a)} changed: {old_engine.get(a, '(none)')} -> {new_engine.get(a, '(none)')}"
                    for a in areas]
    for field_name in ("seed", "datasets", "versions", "format", "recipe", "extra"):
        if old.get(field_name) != new.get(field_name):
            changes.append(f"{field_name}: {old.get(field_name)!r} -> {new.get(field_name)!r}")
    return changes
