"""Figure functions: each draws what it says from plain data, and writes a non-empty PNG. No TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from litblog.common import figures


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
