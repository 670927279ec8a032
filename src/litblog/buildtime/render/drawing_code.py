"""The code that draws figures, as drawings are keyed and stamped by it: pinned across refactors.

A drawing is keyed (the chart cache) and stamped (the comment ``--check`` reads) by its data and by
the code that turns data into a picture: ``figure_kinds.py`` (what a kind's data means) and
``litblog.common.figures`` (how it is drawn). Keyed by that code's token digest alone, a refactor
that only moves imports would redraw and restamp every figure of every post, and rewrite files a
published blog keeps in git. So each file's digest is pinned in ``drawing_pins.json`` with the
stamp it gives, as the engine pins run-time code (:mod:`litblog.buildtime.plan.engine`):

- code equal to its pin: drawings carry the pinned stamp;
- code that differs: they carry the code's own digest, so an edit redraws every figure it draws.

A developer who changes a file either bumps it (``python -m litblog.buildtime.render.drawing_code
bump NAME --reason …``: the pictures may change, the new digest becomes the stamp) or re-pins it
(``… repin NAME --reason …``: a refactor that cannot change a picture keeps the stamp).
``tests/test_drawing_code.py`` fails while a file differs from its pin.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from pathlib import Path

from ...common.fsutil import atomic_write_text
from ..plan.engine import pin_command
from ..sources.recipe_source import source_digest

PACKAGE = Path(__file__).resolve().parents[2]  # litblog: FILES are relative to it
PINS_FILE = Path(__file__).resolve().with_name("drawing_pins.json")
FILES = {"figure kinds": "buildtime/render/figure_kinds.py", "figures": "common/figures.py"}


def read_pins(path: Path | None = None) -> dict[str, dict[str, str]]:
    """The pins, by name (read again only when the file changed: every drawing asks)."""
    path = path or PINS_FILE
    try:
        stat = path.stat()
    except OSError:
        return {}
    return _read_pins(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_pins(path: Path, mtime_ns: int, size: int) -> dict[str, dict[str, str]]:
    return json.loads(path.read_text(encoding="utf-8"))["files"]


@functools.lru_cache(maxsize=8)
def _digest(file: Path, mtime_ns: int, size: int) -> str:
    return source_digest(file)


def digest(file: Path) -> str:
    """``file``'s token digest (comments and layout do not count), remembered while it is unchanged."""
    stat = file.stat()
    return _digest(file, stat.st_mtime_ns, stat.st_size)


def stamp(name: str, file: Path | None = None) -> str:
    """What drawings are keyed by for ``name``'s code (``file``: where it was found, if not in litblog)."""
    current = digest(file or PACKAGE / FILES[name])
    pin = read_pins().get(name)
    return pin["stamp"] if pin and pin["digest"] == current else current


def unpinned() -> list[str]:
    """The names whose file differs from its pin."""
    pins = read_pins()
    return [name for name, file in FILES.items() if pins.get(name, {}).get("digest") != digest(PACKAGE / file)]


def _update(name: str, reason: str, bump: bool) -> dict[str, str]:
    data = json.loads(PINS_FILE.read_text(encoding="utf-8")) if PINS_FILE.is_file() else {"files": {}, "history": []}
    current = digest(PACKAGE / FILES[name])
    old = data["files"].get(name)
    pin = {"digest": current, "stamp": current if bump or old is None else old["stamp"]}
    data["files"][name] = pin
    data["history"].append({"file": name, "action": "bump" if bump else "repin", "reason": reason,
                            "date": dt.date.today().isoformat()})
    atomic_write_text(PINS_FILE, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return pin


def main(argv: list[str] | None = None) -> int:
    """``python -m litblog.buildtime.render.drawing_code [status | bump NAME | repin NAME] --reason TEXT``."""
    def update(name: str, reason: str, bump: bool) -> str:
        pin = _update(name, reason, bump=bump)
        return f"{name}: stamp {pin['stamp'][:12]}, digest {pin['digest'][:12]}"

    def status() -> list[str]:
        differ = unpinned()
        return [f"{name:14} {stamp(name)[:12]}{'  (differs from its pin)' if name in differ else ''}" for name in FILES]

    return pin_command(argv, prog="python -m litblog.buildtime.render.drawing_code",
                       description=__doc__.split("\n\n")[0], names=FILES, metavar="NAME",
                       pins_file=PINS_FILE.name, status=status, unpinned=unpinned, update=update)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
