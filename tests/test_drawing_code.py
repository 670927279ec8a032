"""Drawings keyed by the code that draws them, pinned so a refactor does not restamp a published site."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from litblog.buildtime.render import drawing_code


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The drawing files and their pins, copied, read instead of litblog's own."""
    copy = tmp_path / "litblog"
    for name in drawing_code.FILES.values():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(drawing_code.PACKAGE / name, copy / name)
    pins = tmp_path / "drawing_pins.json"
    shutil.copy(drawing_code.PINS_FILE, pins)
    monkeypatch.setattr(drawing_code, "PACKAGE", copy)
    monkeypatch.setattr(drawing_code, "PINS_FILE", pins)
    return copy


def test_every_drawing_file_equals_its_pin() -> None:
    assert drawing_code.unpinned() == [], (
        "the code that draws figures changed: if pictures can change, "
        "`python -m litblog.buildtime.render.drawing_code bump NAME --reason ...` (every figure is redrawn); "
        "if not, `... repin NAME --reason ...`")


def test_an_edit_changes_the_stamp_a_repin_restores_it_and_a_bump_takes_the_new_digest(package_copy: Path) -> None:
    kinds = package_copy / drawing_code.FILES["figure kinds"]
    pinned = drawing_code.stamp("figure kinds")
    assert pinned == json.loads(drawing_code.PINS_FILE.read_text())["files"]["figure kinds"]["stamp"]
    kinds.write_text(kinds.read_text() + "\n# a comment is not code\n")
    assert drawing_code.stamp("figure kinds") == pinned
    kinds.write_text(kinds.read_text() + "\nIMPORTED_LATER = 1\n")
    edited = drawing_code.stamp("figure kinds")
    assert edited != pinned and edited == drawing_code.digest(kinds) and drawing_code.unpinned() == ["figure kinds"]
    assert drawing_code.main(["repin", "figure kinds", "--reason", "a constant nothing reads"]) == 0
    assert drawing_code.stamp("figure kinds") == pinned and drawing_code.unpinned() == []
    assert drawing_code.main(["bump", "figure kinds", "--reason", "curves drawn thicker"]) == 0
    assert drawing_code.stamp("figure kinds") == edited
    history = json.loads(drawing_code.PINS_FILE.read_text())["history"]
    assert [(h["action"], h["reason"]) for h in history[-2:]] == [("repin", "a constant nothing reads"),
                                                                  ("bump", "curves drawn thicker")]


def test_a_repin_or_bump_needs_a_reason(package_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        drawing_code.main(["repin", "figures"])
    assert "needs --reason" in capsys.readouterr().err


def test_a_module_put_in_place_of_figures_keys_drawings_by_its_own_source(tmp_path: Path) -> None:
    replacement = tmp_path / "figures.py"
    replacement.write_text("def draw_for_page(*args):\n    return None\n")
    assert drawing_code.stamp("figures", replacement) == drawing_code.digest(replacement)
    assert drawing_code.stamp("figures", replacement) != drawing_code.stamp("figures")
