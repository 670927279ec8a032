"""litblog's own run-time code is part of every key: changing the split re-keys results and
``--plan`` names it; changing build-time code (templates, rendering) re-keys nothing; every
area of run-time code is pinned, so a change is a deliberate bump or re-pin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from litblog.buildtime.plan import engine


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of litblog's package that engine.py reads instead of the real one, pins included."""
    copy = tmp_path / "litblog"
    shutil.copytree(engine.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(engine, "PACKAGE", copy)
    monkeypatch.setattr(engine, "PINS_FILE", copy / "buildtime" / "plan" / "engine_pins.json")
    engine.engine_inputs.cache_clear()
    yield copy
    engine.engine_inputs.cache_clear()


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text, f"{old!r} not in {file.name}"
    file.write_text(text.replace(old, new, 1))


def test_every_run_time_area_is_pinned() -> None:
    engine.engine_inputs.cache_clear()
    assert engine.unpinned() == [], (
        "litblog's run-time code differs from engine_pins.json. If the change can move a result's numbers, "
        "`python -m litblog.buildtime.plan.engine bump AREA --reason ...` (every result re-runs); if it cannot, "
        "`python -m litblog.buildtime.plan.engine repin AREA --reason ...`.")
    assert all("+" not in value for value in engine.engine_inputs().values())


def test_a_changed_split_rekeys_every_experiment_and_plan_names_it(project: Path, package_copy: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(project, "--plan") == 0
    assert "0 of 3 experiments would run." in capsys.readouterr().out
    edit(package_copy / "common" / "datasets.py", "i % 5 < 3", "i % 5 < 2")
    engine.engine_inputs.cache_clear()
    assert run_cli(project, "--plan") == 0
    err = capsys.readouterr().out
    assert "litblog's data code (litblog/common/datasets.py, litblog/runtime/download.py, litblog/runtime/decoded.py, litblog/runtime/pipelines.py) changed" in err
    assert "3 of 3 experiments would run." in err


def test_build_time_code_and_templates_rekey_nothing(project: Path, package_copy: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    before = engine.engine_inputs()
    edit(package_copy / "buildtime" / "render" / "renderer.py", '"""', '"""Restyled. ')
    edit(project / "templates" / "blocks" / sorted(p.name for p in (project / "templates" / "blocks").iterdir())[0],
         "", "<!-- restyled -->\n")
    engine.engine_inputs.cache_clear()
    assert engine.engine_inputs() == before
    assert run_cli(project, "--plan") == 0
    assert "0 of 3 experiments would run." in capsys.readouterr().out


def test_a_repin_keeps_keys_and_a_bump_changes_them(package_copy: Path) -> None:
    pinned = engine.engine_inputs()["recipe context"]
    context = package_copy / "runtime" / "context.py"
    context.write_text(context.read_text() + "\n\n# a comment and blank lines are not code\n")
    engine.engine_inputs.cache_clear()
    assert engine.engine_inputs()["recipe context"] == pinned, "comments are not code"
    edit(package_copy / "runtime" / "context.py", "import contextlib", "import contextlib\nimport math")
    engine.engine_inputs.cache_clear()
    changed = engine.engine_inputs()["recipe context"]
    assert changed.startswith(pinned + "+") and engine.unpinned() == ["recipe context"]
    assert engine.main(["repin", "recipe context", "--reason", "an unused import"]) == 0
    assert engine.engine_inputs()["recipe context"] == pinned and engine.unpinned() == []
    assert engine.main(["bump", "recipe context", "--reason", "a new pipeline"]) == 0
    version = int(pinned[1:]) + 1
    assert engine.engine_inputs()["recipe context"] == f"v{version}"
    history = engine.json.loads((package_copy / "buildtime" / "plan" / "engine_pins.json").read_text())["history"]
    assert [h["reason"] for h in history[-2:]] == ["an unused import", "a new pipeline"]
