"""Figure functions: each draws what it says from plain data, and writes a non-empty PNG. No TensorFlow.

Then the figures the build draws from stored data (``figure_kinds.py``), and restyling them on
the tiny project built for real: nothing re-runs, the curves in site/ change.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import litblog.common
from conftest import run_cli, snapshot
from litblog.buildtime.render import figure_kinds, page
from litblog.common import figures
from litblog.common.store import StoredResult, seal


def saved(fig, path: Path) -> Path:
    fig.savefig(path)
    assert path.stat().st_size > 2000 and path.read_bytes()[:4] == b"\x89PNG"
    return path


def texts(fig) -> list[str]:
    """Every piece of text in a figure: titles, annotations, tick labels, legends."""
    return [t.get_text() for t in fig.findobj(lambda artist: hasattr(artist, "get_text"))]


def images(count: int, size: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype="uint8")


class FlipLayer:
    """Stands in for a Keras augmentation layer: flips the batch left-right, records the calls."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def __call__(self, batch, training: bool = False):
        self.calls.append(training)
        return batch[:, :, ::-1, :]

    def get_config(self) -> dict:
        return {"name": "flip", "mode": "horizontal"}


def test_learning_curves_join_phases_and_mark_the_start_of_fine_tuning(tmp_path):
    history = {
        "epochs": [1, 2, 3, 4],
        "metrics": {"accuracy": [0.6, 0.7, 0.8, 0.85], "val_accuracy": [0.62, 0.68, 0.75, 0.8],
                    "loss": [0.7, 0.5, 0.4, 0.3], "val_loss": [0.68, 0.55, 0.45, 0.4]},
        "phases": [{"name": "feature extraction", "first_epoch": 1, "last_epoch": 2},
                   {"name": "fine-tuning", "first_epoch": 3, "last_epoch": 4}],
    }
    fig = figures.learning_curves(history)
    axes = fig.get_axes()
    assert [a.get_title() for a in axes] == ["accuracy", "loss"]
    assert texts(fig).count("start of fine-tuning") == 2  # one marker per panel
    # One joined line per series, all four epochs, no restart at the phase boundary.
    assert list(axes[0].get_lines()[0].get_xdata()) == [1, 2, 3, 4]
    saved(fig, tmp_path / "curves.png")


def test_class_samples_put_each_class_in_its_own_row(tmp_path):
    fig = figures.class_samples(images(6), [0, 0, 0, 1, 1, 1], ["cats", "dogs"])
    axes = fig.get_axes()
    assert len(axes) == 6
    assert [a.get_title() for a in axes] == ["cats"] * 3 + ["dogs"] * 3
    saved(fig, tmp_path / "samples.png")


def test_augmentation_demo_passes_one_image_through_the_layer_several_times(tmp_path):
    layer = FlipLayer()
    fig = figures.augmentation_demo(images(1)[0], layer, count=3)
    assert layer.calls == [True, True, True]  # as fit calls augmentation layers
    assert [a.get_title() for a in fig.get_axes()] == ["original", "pass 1", "pass 2", "pass 3"]
    assert "FlipLayer(mode='horizontal')" in texts(fig)
    saved(fig, tmp_path / "flip.png")


def test_confusion_matrix_shows_counts_and_percentages_in_every_cell(tmp_path):
    true = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    predicted = [0, 0, 0, 1, 1, 1, 1, 1, 0, 0]
    fig = figures.confusion_matrix(true, predicted, ["cats", "dogs"])
    cells = [t for t in texts(fig) if "\n" in t]
    assert sorted(cells) == sorted(["3\n75.0%", "1\n25.0%", "2\n33.3%", "4\n66.7%"])
    assert "7 of 10 correct" in texts(fig)
    axis = fig.get_axes()[0]
    assert axis.get_xlabel() == "predicted" and axis.get_ylabel() == "true"
    saved(fig, tmp_path / "confusion.png")
    overall = figures.confusion_matrix(true, predicted, ["cats", "dogs"], percent_of="all")
    assert "3\n30.0%" in texts(overall)
    with pytest.raises(ValueError):
        figures.confusion_matrix(true, predicted, ["cats", "dogs"], percent_of="rows")


def test_misclassified_grid_titles_read_predicted_then_true(tmp_path):
    fig = figures.misclassified_grid(images(3), [0, 1, 0], [1, 0, 1], ["cat", "dog"])
    titles = [a.get_title() for a in fig.get_axes() if a.get_title()]
    assert titles == ["dog:cat", "cat:dog", "dog:cat"]
    assert "predicted:true" in texts(fig)
    saved(fig, tmp_path / "misclassified.png")
    # Nothing misclassified: still a figure a post can place.
    empty = figures.misclassified_grid([], [], [], ["cat", "dog"])
    assert "no misclassified images" in texts(empty)


def test_comparison_bars_label_values_mark_missing_results_and_the_baseline(tmp_path):
    fig = figures.comparison_bars(["model1", "model2", "model3", "model4"], [0.6, 0.55, 0.7, None],
                                  baseline=0.5)
    found = texts(fig)
    assert {"60.0%", "55.0%", "70.0%", "no result"} <= set(found)
    assert "baseline (50.0%)" in found
    axis = fig.get_axes()[0]
    assert [t.get_text() for t in axis.get_xticklabels()] == ["model1", "model2", "model3", "model4"]
    visible = [bar.get_height() for bar in axis.patches if bar.get_visible()]
    assert visible == pytest.approx([0.6, 0.55, 0.7])  # no zero-height bar stands in for model4
    saved(fig, tmp_path / "compare.png")


def test_load_images_reads_and_resizes_files_without_tensorflow(tmp_path):
    files = []
    for index, mode in enumerate(("RGB", "L", "RGBA")):
        path = tmp_path / f"image{index}.png"
        Image.new(mode, (30, 20)).save(path)
        files.append(path)
    arrays = figures.load_images(files, (16, 24))
    assert [a.shape for a in arrays] == [(16, 24, 3)] * 3 and all(a.dtype == np.uint8 for a in arrays)


@pytest.mark.parametrize("image, expected", [
    (np.array([[[0, 128, 255]]], dtype="uint8"), [0, 128, 255]),
    (np.array([[[0.0, 0.5, 1.0]]]), [0, 127, 255]),
    (np.array([[[-1.0, 0.0, 1.0]]]), [0, 127, 255]),
    (np.array([[[0.0, 100.0, 300.0]]]), [0, 100, 255]),
])
def test_displayable_maps_common_pixel_ranges_to_uint8(image, expected):
    shown = figures.displayable(image)
    assert shown.dtype == np.uint8 and shown.reshape(-1).tolist() == expected


# -- figures the build draws from stored data (figure_kinds.py) --------------------------------


def stored(folder: Path, *, history: dict | None = None, metrics: dict | None = None,
           figures_entry: dict | None = None, predictions: dict | None = None) -> StoredResult:
    """A result folder holding what a worker stores, read back as a :class:`StoredResult`."""
    folder.mkdir(parents=True)
    (folder / "history.json").write_text(json.dumps(history or {"epochs": [], "metrics": {}, "phases": []}))
    (folder / "metrics.json").write_text(json.dumps(metrics or {}, sort_keys=True))
    manifest: dict = {"figures": figures_entry or {}}
    if predictions is not None:
        (folder / "predictions").mkdir()
        (folder / "predictions" / "test.json").write_text(json.dumps(predictions))
        manifest["predictions"] = {"test": {"file": "predictions/test.json"}}
    return StoredResult(folder, manifest)


HISTORY = {"epochs": [1, 2], "phases": [{"name": "training", "first_epoch": 1, "last_epoch": 2}],
           "metrics": {"accuracy": [0.5, 0.6], "val_accuracy": [0.5, 0.55], "loss": [0.7, 0.6],
                       "val_loss": [0.7, 0.65]}}
COUNTS = {"cats": {"cats": 40, "dogs": 10}, "dogs": {"cats": 5, "dogs": 45}}


def test_the_registry_has_curves_and_confusion_and_reads_qualified_names():
    assert {"curves", "confusion"} <= set(figure_kinds.KINDS)
    assert figure_kinds.kind_of("curves") == (figure_kinds.KINDS["curves"], None)
    assert figure_kinds.kind_of("validation.confusion") == (figure_kinds.KINDS["confusion"], "validation")
    assert figure_kinds.kind_of("validation.curves") == (None, None)  # curves take no qualifier
    assert figure_kinds.kind_of("../../x.confusion") == (None, None)  # a qualifier is never a path
    assert figure_kinds.kind_of("samples") == (None, None)


def test_the_curves_workers_used_to_store_are_not_the_recipes_own(tmp_path):
    worker_drawn = stored(tmp_path / "a", history=HISTORY, figures_entry={"curves": dict(figure_kinds.RUN_TIME_CURVES)})
    assert figure_kinds.recipe_figures(worker_drawn) == {}
    own = {"curves": {"file": "figures/curves.png", "caption": "My curves."},
           "confusion": {"file": "figures/confusion.png", "caption": ""}}
    recipe_drawn = stored(tmp_path / "b", history=HISTORY, figures_entry=own)
    assert set(figure_kinds.recipe_figures(recipe_drawn)) == {"curves", "confusion"}


def test_curves_are_drawn_from_the_history_one_run_or_a_band(tmp_path):
    curves = figure_kinds.KINDS["curves"]
    one = stored(tmp_path / "one", history=HISTORY)
    drawing = curves.drawing([(0, one)], None, False)
    assert drawing.data == {"history": HISTORY}
    assert drawing.caption == "Accuracy and loss per epoch, training and validation."
    assert drawing.draw(drawing.data).axes[0].get_title() == "accuracy"
    other = stored(tmp_path / "other", history=HISTORY)
    band = curves.drawing([(0, one), (3, other)], None, True)
    assert band.data == {"histories": [HISTORY, HISTORY], "seeds": [0, 3]}
    assert band.caption == "Mean per epoch over seeds 0, 3; the band spans the lowest to the highest run."
    untrained = stored(tmp_path / "untrained")
    assert curves.drawing([(0, untrained)], None, False) == "it did not train (no epochs)"


def test_confusion_is_drawn_from_recorded_counts_in_the_datasets_class_order(tmp_path):
    confusion = figure_kinds.KINDS["confusion"]
    # metrics.json is written with sorted keys; the stored predictions give the dataset's order and names.
    counts = {"Zebra_crossing": {"Zebra_crossing": 3, "apple": 1}, "apple": {"Zebra_crossing": 2, "apple": 4}}
    result = stored(tmp_path / "r", metrics={"test": {"confusion": counts, "accuracy": 0.7}},
                    predictions={"class_names": ["apple", "Zebra crossing"]})
    drawing = confusion.drawing([(0, result)], None, False)
    assert drawing.data == {"classes": ["apple", "Zebra crossing"], "counts": [[4, 2], [1, 3]]}
    assert drawing.caption == "Test images by true and predicted class: count and share of the true class."
    fig = drawing.draw(drawing.data)
    assert {"4\n66.7%", "2\n33.3%", "1\n25.0%", "3\n75.0%"} <= set(texts(fig))
    assert "7 of 10 correct" in texts(fig)


def test_confusion_sums_seeds_and_names_the_counts_it_lacks(tmp_path):
    confusion = figure_kinds.KINDS["confusion"]
    a = stored(tmp_path / "a", metrics={"test": {"confusion": COUNTS}})
    b = stored(tmp_path / "b", metrics={"test": {"confusion": COUNTS}})
    pooled = confusion.drawing([(0, a), (1, b)], None, True)
    assert pooled.data["counts"] == [[80, 20], [10, 90]]
    assert "summed over seeds 0, 1" in pooled.caption
    none = stored(tmp_path / "none", metrics={"test": {"accuracy": 0.5}})
    assert confusion.drawing([(0, none)], None, False) == \
        "it recorded no confusion counts (ctx.predict records them)"
    two = stored(tmp_path / "two", metrics={"val": {"confusion": COUNTS}, "train": {"confusion": COUNTS}})
    assert "name one, like" in confusion.drawing([(0, two)], None, False)
    assert confusion.drawing([(0, two)], "val", False).data["counts"] == [[40, 10], [5, 45]]
    assert "no confusion counts named 'test'" in confusion.drawing([(0, two)], "test", False)


def test_a_drawing_carries_its_digest_and_only_a_stamped_png_gives_one(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8), "white").save(plain)
    assert page.drawing_digest(plain) is None
    stamped = tmp_path / "stamped.png"
    stamped.write_bytes(page._stamp(plain.read_bytes(), "0123456789abcdef"))
    assert page.drawing_digest(stamped) == "0123456789abcdef"
    assert np.array_equal(np.asarray(Image.open(stamped)), np.asarray(Image.open(plain)))  # pixels unchanged
    hostile = tmp_path / "hostile.png"
    hostile.write_bytes(page._stamp(plain.read_bytes(), "0123456789abcdef").replace(b"0123456789abcdef",
                                                                                     b"../../etc/passw"))
    assert page.drawing_digest(hostile) is None  # not a digest: never used as a file name
    (tmp_path / "text.png").write_text("not a png")
    assert page.drawing_digest(tmp_path / "text.png") is None


# -- restyling: the tiny project, built for real ------------------------------------------------

STRIPES_ASSETS = ("site/assets/stripes/plain-curves.svg", "site/assets/stripes/flipped-curves.svg")


def restyled_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited copy of figures.py (another validation colour) imported as ``litblog.common.figures``."""
    source = Path(figures.__file__).read_text(encoding="utf-8")
    edited = source.replace('VALIDATION_COLOUR = "#bc4c00"', 'VALIDATION_COLOUR = "#2ca02c"')
    assert edited != source
    copy = tmp_path / "restyled" / "figures.py"
    copy.parent.mkdir()
    copy.write_text(edited, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("litblog.common.figures", copy)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "litblog.common.figures", module)
    monkeypatch.setattr(litblog.common, "figures", module)


def test_restyling_curves_reruns_nothing_and_changes_the_curves_in_site(project, tmp_path, monkeypatch, capsys):
    assert not list((project / "results").rglob("curves.png"))  # workers no longer draw them
    results = snapshot(project / "results")
    before = {name: (project / name).read_bytes() for name in STRIPES_ASSETS}
    restyled_figures(tmp_path, monkeypatch)
    capsys.readouterr()
    # The committed site is now out of date, and --check says which files.
    assert run_cli(project, "--check") == 1
    err = capsys.readouterr().err
    for name in STRIPES_ASSETS:
        assert f"{name} differs from what posts/2026-01-05-stripes.md builds now" in err
    assert "is stale" not in err
    assert run_cli(project) == 0
    err = capsys.readouterr().err
    assert "3 experiments, 3 cached, 0 to run" in err
    report = json.loads((project / "site" / "_build" / "report.json").read_text())
    assert [row["ran"] for row in report["experiments"]] == [False, False, False]
    assert snapshot(project / "results") == results
    for name, old in before.items():
        new = (project / name).read_bytes()
        assert new != old
        # The validation line is drawn in the new colour, which the old curves lack.
        assert b"#2ca02c" in new and b"#2ca02c" not in old
    assert run_cli(project, "--check") == 0


def test_the_curves_of_results_stored_by_older_workers_are_drawn_from_history_without_a_rerun(project, capsys):
    """A committed result holding the worker-drawn figures/curves.png keeps its key; the page draws the curves."""
    [plain] = [m.parent for m in (project / "results").rglob("manifest.json")
               if json.loads(m.read_text())["key_inputs"]["params"].get("augment") is False]
    (plain / "figures").mkdir()
    Image.new("RGB", (20, 10), "red").save(plain / "figures" / "curves.png")
    manifest = json.loads((plain / "manifest.json").read_text())
    manifest["figures"] = {"curves": dict(figure_kinds.RUN_TIME_CURVES)}
    manifest.pop("digests")
    (plain / "manifest.json").write_text(json.dumps(manifest))
    seal(plain)
    site = snapshot(project / "site")
    capsys.readouterr()
    assert run_cli(project, "--plan") == 0
    assert "0 of 3 experiments would run." in capsys.readouterr().out
    assert run_cli(project) == 0
    assert "0 to run" in capsys.readouterr().err
    assert not (project / "site/assets/stripes/plain-curves.png").exists()
    published = (project / "site/assets/stripes/plain-curves.svg").read_bytes()
    assert published.startswith(b"<?xml")
    assert page.drawing_digest(project / "site/assets/stripes/plain-curves.svg")
    after = snapshot(project / "site")
    assert {k: v for k, v in after.items() if not k.startswith("_build/")} == \
        {k: v for k, v in site.items() if not k.startswith("_build/")}  # the same pages and drawings as before


def test_svg_and_webp_drawings_carry_their_digest_where_the_check_reads_it(tmp_path):
    """Drawn SVGs and converted WebPs are stamped as PNGs were: ``--check`` seeds its cache from them."""
    import matplotlib.pyplot as plt

    svg = tmp_path / "plain.svg"
    with plt.rc_context(figures.PAGE_STYLE):
        fig, axis = plt.subplots(figsize=(2, 1.5))
        axis.plot([1, 2], [3, 4])
        figures.save_svg(fig, svg)
    assert page.drawing_digest(svg) is None
    stamped = tmp_path / "stamped.svg"
    stamped.write_bytes(page.STAMPS[".svg"](svg.read_bytes(), "0123456789abcdef"))
    assert page.drawing_digest(stamped) == "0123456789abcdef"
    assert "litblog-drawing" not in svg.read_text() and "Segoe UI" in svg.read_text()  # the page's fonts
    webp = tmp_path / "plain.webp"
    Image.fromarray(images(1, 40)[0]).save(webp, "WEBP", quality=80)
    assert page.drawing_digest(webp) is None
    stamped = tmp_path / "stamped.webp"
    stamped.write_bytes(page.STAMPS[".webp"](webp.read_bytes(), "fedcba9876543210"))
    assert page.drawing_digest(stamped) == "fedcba9876543210"
    with Image.open(stamped) as again, Image.open(webp) as first:
        assert np.array_equal(np.asarray(again), np.asarray(first))  # the same image, decoded
    hostile = tmp_path / "hostile.svg"
    hostile.write_bytes(stamped.read_bytes()[:0] + page.STAMPS[".svg"](svg.read_bytes(), "0123456789abcdef")
                        .replace(b"0123456789abcdef", b"../../etc/passwd"))
    assert page.drawing_digest(hostile) is None


def test_the_loss_axis_rule_is_one_for_every_panel():
    """A loss spanning more than a decade (a first-epoch spike) is drawn on a log axis, else linear."""
    assert figures.loss_scale([37.1, 0.69, 0.68, 0.67]) == "log"  # model 2's first epoch
    assert figures.loss_scale([0.9, 0.5, 0.3, 0.12]) == "linear"
    assert figures.loss_scale([float("nan"), 0.0, 0.5]) == "linear"
    history = {"epochs": [1, 2, 3], "metrics": {"loss": [37.0, 0.7, 0.6], "val_loss": [0.7, 0.7, 0.69],
                                               "accuracy": [0.5, 0.5, 0.6]}, "phases": []}
    fig = figures.learning_curves(history)
    assert [a.get_yscale() for a in fig.get_axes()] == ["linear", "log"]
    band = figures.learning_curves_band([history, history], [0, 1])
    assert [a.get_yscale() for a in band.get_axes()] == ["linear", "log"]


def test_drawn_figures_keep_a_phones_width_and_their_smallest_text(tmp_path):
    """Stacked panels at most SCREEN_WIDTH wide, no text under TICK_SIZE: at 366 CSS px (a 390 px phone's
    column) the smallest text is at least 11 px."""
    import re

    import matplotlib.pyplot as plt

    history = {"epochs": [1, 2, 3], "metrics": {"loss": [0.7, 0.6, 0.5], "val_loss": [0.7, 0.7, 0.69],
                                               "accuracy": [0.5, 0.5, 0.6], "val_accuracy": [0.5, 0.6, 0.6]},
               "phases": [{"name": "a", "first_epoch": 1}, {"name": "fine-tuning", "first_epoch": 3}]}
    draws = {"curves": lambda: figures.learning_curves(history),
             "band": lambda: figures.learning_curves_band([history, history], [0, 1]),
             "bars": lambda: figures.comparison_bars(["model 1", "model 2", "model 3", "model 4"],
                                                     [0.5, 0.6, None, 0.7], baseline=0.5)}
    open_before = len(plt.get_fignums())
    for name, draw in draws.items():
        path = tmp_path / f"{name}.svg"
        figures.draw_for_page(draw, path)
        text = path.read_text()
        width = float(re.search(r'viewBox="0 0 ([0-9.]+)', text).group(1))  # points
        smallest = min(float(size) for size in re.findall(r"font-size: ([0-9.]+)px", text))
        assert smallest >= figures.TICK_SIZE - 1e-9, name
        assert smallest * 366 / width >= 11, (name, smallest, width)
        assert "<text" in text and "<path" in text  # text stays text
    assert len(plt.get_fignums()) == open_before  # each closed once saved
