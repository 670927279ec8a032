"""No class over 250 lines and no function over 60 in ``src/litblog`` (issue 21): a piece that
grows past that has found a job of its own and is split along it.

A function counts from its ``def`` line to its last line (decorators left out, docstring in);
a class likewise, its methods included; a nested function counts inside its parent too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "src" / "litblog"
MAX_CLASS = 250
MAX_FUNCTION = 60


def oversized(root: Path, *, max_class: int = MAX_CLASS, max_function: int = MAX_FUNCTION) -> list[str]:
    """``file:line kind name (n lines)`` for every class or function under ``root`` over its limit."""
    found = []
    for file in sorted(root.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                kind, limit = "class", max_class
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                kind, limit = "function", max_function
            else:
                continue
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found.append(f"{file.relative_to(root).as_posix()}:{node.lineno} {kind} {node.name} ({lines} lines)")
    return found


def test_no_class_or_function_in_litblog_is_oversized():
    assert oversized(PACKAGE) == []


def test_the_check_names_an_oversized_class_and_function(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    (tmp_path / "big.py").write_text(f"@decorated\nclass Big:\n    def long(self):\n{body}\n", encoding="utf-8")
    # The method is 61 lines from its def; the class 62, under 250; the decorator does not count.
    assert oversized(tmp_path) == ["big.py:3 function long (61 lines)"]
    assert oversized(tmp_path, max_class=61) == ["big.py:2 class Big (62 lines)", "big.py:3 function long (61 lines)"]
    at_limit = "\n".join(f"        x{i} = {i}" for i in range(59))
    (tmp_path / "big.py").write_text(f"class Big:\n    def short(self):\n{at_limit}\n", encoding="utf-8")
    assert oversized(tmp_path) == []  # 60 lines is allowed
