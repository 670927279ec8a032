"""Declarative option schemas for the config file and directive options.

Every key is validated and *all* problems are collected before stopping (as MkDocs does), each
with the line it was written on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ...common.errors import UserError, did_you_mean, one_of
from .yaml_source import KeyPath, YamlDocument

_KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "number": "a number",
    "bool": "true or false",
    "str_list": "a list of strings",
    "mapping": "a mapping of names to values",
    "any": "a value",
}


@dataclass(frozen=True)
class Option:
    """One allowed key: its kind, default and constraints."""

    name: str
    kind: str
    default: Any = None
    required: bool = False
    nullable: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KIND_NAMES:
            raise ValueError(f"unknown option kind {self.kind!r}")


PLAIN_VALUES = "numbers, strings, true/false, null, or lists and mappings of those"
# Params travel as JSON (worker specs, manifests) and into cache keys: integers beyond 64 bits
# are refused so that every JSON reader reads the same number.
MAX_INT = 2**63 - 1


def plain_value_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a param (a date, ``.inf``, bytes, a set...), or None if it can.

    Params are stored as JSON and hashed into keys, so only JSON's own values are allowed.
    """
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if item is None or isinstance(item, (bool, str)):
            continue
        if isinstance(item, int):
            if abs(item) > MAX_INT:
                return f"has the integer {item:.3g}, beyond 64 bits" if abs(item) < 10**300 else \
                    "has an integer beyond 64 bits"
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"has {item!r}, which is not a finite number"
            continue
        if isinstance(item, list):
            pending.extend(item)
            continue
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    return f"has the key {key!r}, which is not a string (quote it)"
                pending.append(inner)
            continue
        kind = {bytes: "binary data", set: "a set"}.get(type(item), f"a {type(item).__name__}")
        written = f" {item.isoformat()!r}" if hasattr(item, "isoformat") else ""
        return f"has {kind}{written}, which a param cannot hold (quote it to make it a string)"
    return None


def validate_options(
    values: Mapping[str, Any] | None,
    schema: Sequence[Option],
    document: YamlDocument,
    *,
    key_path: KeyPath = (),
    context: str,
) -> tuple[dict[str, Any], list[UserError]]:
    """Check ``values`` against ``schema``; return the values with defaults filled in, and errors.

    ``context`` names what is being validated in messages ("option", "config key").
    """
    errors: list[UserError] = []
    known = {option.name: option for option in schema}
    result: dict[str, Any] = {}
    values = values or {}
    for name, value in values.items():
        location = document.location(*key_path, name)
        option = known.get(str(name))
        if option is None:
            errors.append(
                UserError(
                    f"unknown {context} '{name}'",
                    location,
                    suggestion=did_you_mean(str(name), known) or one_of(known),
                )
            )
            continue
        coerced, problem = _coerce(option, value)
        if problem:
            errors.append(UserError(f"{context} '{name}' {problem}", location, hint=option.help or None))
            continue
        result[option.name] = coerced
    for option in schema:
        if option.name in result:
            continue
        if option.required:
            errors.append(
                UserError(
                    f"missing required {context} '{option.name}'",
                    document.location(*key_path),
                    hint=option.help or None,
                )
            )
        else:
            result[option.name] = option.default
    return result, errors


def _coerce(option: Option, value: Any) -> tuple[Any, str | None]:
    """Return (value in canonical form, problem or None)."""
    if value is None:
        if option.nullable:
            return None, None
        return None, f"must be {_KIND_NAMES[option.kind]}, not empty"
    kind = option.kind
    if kind == "str":
        if isinstance(value, (dict, list)):
            return None, f"must be {_KIND_NAMES[kind]}"
        value = str(value)
        if option.choices and value not in option.choices:
            return None, f"is '{value}', {one_of(option.choices)}"
        return value, None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"must be {_KIND_NAMES[kind]}, got {value!r}"
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"must be {_KIND_NAMES[kind]}, got {value!r}"
    elif kind == "bool":
        if not isinstance(value, bool):
            return None, f"must be {_KIND_NAMES[kind]}, got {value!r}"
    elif kind == "str_list":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            return None, f"must be {_KIND_NAMES[kind]}, got {value!r}"
        value = [str(v) for v in value]
        if option.choices:
            bad = [v for v in value if v not in option.choices]
            if bad:
                hint = did_you_mean(bad[0], option.choices) or one_of(option.choices)
                return None, f"has '{bad[0]}': {hint}"
        return value, None
    elif kind == "mapping":
        if not isinstance(value, dict):
            return None, f"must be {_KIND_NAMES[kind]}, got {value!r}"
        return dict(value), None
    if option.minimum is not None and value < option.minimum:
        return None, f"must be at least {option.minimum:g}, got {value!r}"
    return value, None


MAX_SEEDS = 100  # runs one experiment may stand for
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed takes a 32-bit unsigned seed


def parse_seeds(value: Any) -> tuple[tuple[int, ...] | None, str | None]:
    """``seeds: 3`` (seeds 0, 1, 2) or ``seeds: [0, 4, 7]`` as a tuple of seeds, or (None, problem)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            return None, f"is {value}: give how many seeds (at least 1), or a list of them"
        if value > MAX_SEEDS:
            return None, f"is {value}: at most {MAX_SEEDS} seeds"
        return tuple(range(value)), None
    if not isinstance(value, list):
        return None, f"must be a number of seeds or a list of seeds, got {value!r}"
    if not value:
        return None, "is an empty list: give at least one seed"
    if len(value) > MAX_SEEDS:
        return None, f"lists {len(value)} seeds: at most {MAX_SEEDS}"
    seen: set[int] = set()
    for seed in value:
        if isinstance(seed, bool) or not isinstance(seed, int):
            return None, f"has {seed!r}, which is not a whole number"
        if not 0 <= seed <= MAX_SEED:
            return None, f"has {seed}: a seed is between 0 and {MAX_SEED}"
        if seed in seen:
            return None, f"has seed {seed} twice"
        seen.add(seed)
    return tuple(value), None
