"""How recorded values are named and stored: names as slugs, values as plain JSON."""

from __future__ import annotations

from typing import Any


def slug(name: str) -> str:
    """``name`` as one part of a dotted value name: letters and digits kept, anything else ``_``."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def plain(value: Any) -> Any:
    """JSON-ready form of numpy scalars, arrays and tuples."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value
