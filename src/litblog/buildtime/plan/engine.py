"""litblog's own run-time code as part of every cache key.

The data split, the input pipeline, the per-epoch seeding, the training loop and the rule that
turns outputs into predictions decide a run's numbers as much as the recipe does. Each such
*area* of the run-time code has a version, pinned in ``engine_pins.json`` together with the
token digest of its files (comments and layout do not count):

- code equal to its pin: the key holds the area's version (``"v1"``);
- code that differs from its pin: the key holds the version and the code's digest
  (``"v1+3fa2…"``), so an edit re-keys every result and ``--plan`` names the area and its files.

A developer who changes an area either bumps its version (``python -m litblog.buildtime.plan.engine bump AREA
--reason …``: the change can move numbers, results are re-run) or re-pins it (``… repin AREA
--reason …``: a refactor that cannot, stored results stay valid). ``tests/test_engine_key.py``
fails while any area differs from its pin, so neither happens by accident. Build-time code
(render, templates, the command line) is in no area: changing it re-keys nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from ...common.fsutil import atomic_write_text
from ..sources.recipe_source import source_digest

if TYPE_CHECKING:
    from ...common.reads import DigestCache

PACKAGE = Path(__file__).resolve().parents[2]  # litblog: AREAS name files relative to it
PINS_FILE = Path(__file__).resolve().with_name("engine_pins.json")

# Area name -> the package files whose code decides numbers in it (paths relative to the package).
AREAS: dict[str, tuple[str, ...]] = {
    "data": ("common/datasets.py", "runtime/download.py", "runtime/decoded.py", "runtime/pipelines.py"),
    "recipe context": ("runtime/context.py", "runtime/finetune.py", "runtime/summaries.py", "runtime/predictions.py",
                       "runtime/recorded.py", "runtime/captured.py", "runtime/training.py", "runtime/loading.py"),
    "resume and seeding": ("runtime/resume.py",),
    "worker": ("runtime/worker.py", "runtime/warm_server.py", "runtime/capture.py"),
    "pretrained weights": ("runtime/pretrained.py",),
}


@dataclass(frozen=True)
class Pin:
    version: int
    digest: str


def area_digest(area: str, cache: "DigestCache | None" = None) -> str:
    """Token digest of the area's files, in order (each file's remembered in ``cache`` while it is unchanged)."""
    digest = hashlib.sha256()
    for name in AREAS[area]:
        file = PACKAGE / name
        tokens = cache.digest(file, source_digest, kind="tokens") if cache else source_digest(file)
        digest.update(name.encode() + b"\0" + tokens.encode() + b"\0")
    return digest.hexdigest()


def read_pins(path: Path | None = None) -> dict[str, Pin]:
    path = path or PINS_FILE
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"areas": {}}
    return {area: Pin(entry["version"], entry["digest"]) for area, entry in data["areas"].items()}


@functools.lru_cache(maxsize=1)
def engine_inputs(cache: "DigestCache | None" = None) -> dict[str, str]:
    """What the key records of litblog's run-time code: one entry per area.

    ``cache`` (the build's) spares tokenizing the areas' files on every build.
    """
    pins = read_pins()
    inputs: dict[str, str] = {}
    for area in AREAS:
        digest = area_digest(area, cache)
        pin = pins.get(area)
        version = pin.version if pin else 0
        inputs[area] = f"v{version}" if pin and pin.digest == digest else f"v{version}+{digest[:12]}"
    return inputs


def describe_area(area: str) -> str:
    """``area`` with its files, for ``--plan``'s reasons."""
    files = ", ".join(f"litblog/{name}" for name in AREAS.get(area, ()))
    return f"litblog's {area} code ({files})" if files else f"litblog's {area} code"


def unpinned() -> list[str]:
    """Areas whose code differs from its pin."""
    pins = read_pins()
    return [area for area in AREAS if area not in pins or pins[area].digest != area_digest(area)]


def _update(area: str, reason: str, bump: bool, path: Path | None = None) -> Pin:
    path = path or PINS_FILE
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"areas": {}, "history": []}
    old = data["areas"].get(area, {"version": 0})
    pin = Pin(old["version"] + 1 if bump else max(old["version"], 1), area_digest(area))
    data["areas"][area] = {"version": pin.version, "digest": pin.digest}
    data.setdefault("history", []).append({
        "area": area, "version": pin.version, "action": "bump" if bump else "repin", "reason": reason,
        "date": dt.date.today().isoformat()})
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    engine_inputs.cache_clear()
    return pin


def pin_command(argv: list[str] | None, *, prog: str, description: str, names: Iterable[str], metavar: str,
                pins_file: str, status: Callable[[], list[str]], unpinned: Callable[[], list[str]],
                update: Callable[[str, str, bool], str]) -> int:
    """``prog [status | bump NAME | repin NAME] --reason TEXT``: the developers' command of a pins file
    (this module's areas, ``render/drawing_code.py``'s files). ``update(name, reason, bump)`` pins
    one and returns the line to print; without names, every unpinned one is pinned."""
    names = list(names)
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("action", choices=("status", "bump", "repin"), nargs="?", default="status")
    parser.add_argument("names", nargs="*", metavar=metavar, help=f"one of: {', '.join(names)}; default: every unpinned one")
    parser.add_argument("--reason", help=f"why: kept in {pins_file}'s history")
    args = parser.parse_args(argv)
    if args.action == "status":
        print("\n".join(status()))
        return 1 if unpinned() else 0
    if not args.reason:
        parser.error(f"{args.action} needs --reason")
    for name in args.names or unpinned():
        if name not in names:
            parser.error(f"unknown {metavar.lower()} {name!r}; one of: {', '.join(names)}")
        print(update(name, args.reason, args.action == "bump"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m litblog.buildtime.plan.engine [status | bump AREA | repin AREA] --reason TEXT`` (for litblog's developers)."""
    def update(area: str, reason: str, bump: bool) -> str:
        pin = _update(area, reason, bump=bump)
        return f"{area}: v{pin.version} {pin.digest[:12]}"

    return pin_command(argv, prog="python -m litblog.buildtime.plan.engine", description=__doc__.split("\n\n")[0],
                       names=AREAS, metavar="AREA", pins_file=PINS_FILE.name,
                       status=lambda: [f"{area:20} {value}" for area, value in engine_inputs().items()],
                       unpinned=unpinned, update=update)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
