"""The two wings: build-time code never imports run-time code, TensorFlow or Keras.

Run-time modules run inside a worker process (they may import TensorFlow); build-time modules
run in ``build-site`` itself, whose rebuilds must stay fast and work where TensorFlow is not
installed. Shared modules are used by both and import neither TensorFlow nor run-time code.
The walk covers every import statement, including those inside functions, so a lazy import
on a rarely taken path is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "litblog"
RUN_TIME = {"runtime/" + name for name in ("worker", "context", "resume", "finetune", "pretrained", "download",
                                           "decoded", "warm_server")}
FORBIDDEN_PACKAGES = {"tensorflow", "keras", "tf_keras"}


def imported_modules(file: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``file``; litblog's own as ``litblog.x``.

    Relative imports are resolved from the package ``file`` is in under ``root`` (``from ..errors``
    in ``directives/x.py`` is ``litblog.errors``); a file outside ``root`` counts as top-level.
    """
    package = ["litblog", *file.parent.relative_to(root).parts] if file.is_relative_to(root) else ["litblog"]
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1]) if node.level <= len(package) else "?"
                module = f"{base}.{node.module}" if node.module else base
                found.append((node.lineno, module))
                if not node.module:
                    found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module or ""))
    return found


def build_time_modules() -> list[Path]:
    """Every module of the package, subpackages included, but the run-time ones."""
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).with_suffix("").as_posix() not in RUN_TIME)


def test_the_wings_are_what_this_test_thinks_they_are() -> None:
    modules = {p.relative_to(PACKAGE).with_suffix("").as_posix() for p in PACKAGE.rglob("*.py")}
    assert RUN_TIME <= modules, RUN_TIME - modules
    assert {"build/build", "build/plan", "build/render", "build/site", "build/cli", "build/execute"} <= modules


@pytest.mark.parametrize("file", build_time_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_build_time_code_imports_no_run_time_code_and_no_tensorflow(file: Path) -> None:
    problems = []
    name = file.relative_to(PACKAGE).as_posix()
    for line, module in imported_modules(file):
        top = module.split(".")[0]
        if top in FORBIDDEN_PACKAGES:
            problems.append(f"{name}:{line} imports {module}")
        if module.startswith("litblog.runtime.") or module == "litblog.runtime":
            problems.append(f"{name}:{line} imports run-time module {module}")
    assert not problems, "\n".join(problems)


def test_the_walk_catches_a_lazy_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from .context import RecipeContext\n    import keras\n")
    assert imported_modules(sample) == [(2, "litblog.context"), (3, "keras")]


def test_the_walk_resolves_relative_imports_in_a_subpackage(tmp_path: Path) -> None:
    sample = tmp_path / "directives" / "sample.py"
    sample.parent.mkdir()
    sample.write_text("from ..worker import run\nfrom . import base\nfrom .base import Block\n")
    assert imported_modules(sample, root=tmp_path) == [
        (1, "litblog.worker"), (2, "litblog.directives"), (2, "litblog.directives.base"),
        (3, "litblog.directives.base")]
    assert any(p.parent.name == "directives" for p in build_time_modules())
