"""The project's recipes, run for real on tiny synthetic data, and the seed models' sizes at full size.

Each recipe runs in this process with a real :class:`RecipeContext` (a few dozen 32×32 images,
one epoch), then its result files are checked. Pretrained bases load stand-in weights saved
into the session's Keras cache under the names Keras looks for (no download here).
"""

from __future__ import annotations

import importlib
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, shown_text
from litblog.runtime.context import RecipeContext

TINY = {"dataset": "synthetic", "image_size": 32, "per_class": 16, "epochs": 1}


def save_stand_in_weights(application: Any, input_shape: tuple[int, int, int]) -> Path:
    """An untrained network's weights saved where Keras caches the ImageNet file, as Keras' HDF5 format."""
    from litblog.runtime import pretrained

    target = pretrained.cache_dir() / pretrained.weights_file(application.__name__, input_shape=input_shape).name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        application(weights=None, include_top=False, input_shape=input_shape).save(str(target))
    return target


@pytest.fixture(scope="module")
def keras_seeded() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    return keras


@pytest.fixture(scope="module")
def stand_in_weights(keras_seeded: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Stand-in weights in a Keras cache of this module's own, never in one a real build could read."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras-home-stand-in")))
        apps = keras_seeded.applications
        save_stand_in_weights(apps.MobileNetV2, (32, 32, 3))  # Keras loads its 224 file for 32×32 inputs
        save_stand_in_weights(apps.MobileNetV2, (160, 160, 3))
        save_stand_in_weights(apps.ResNet50, (32, 32, 3))
        yield


def run_recipe(reference: str, out: Path, context: type[RecipeContext] = RecipeContext, **params: Any) -> dict[str, Any]:
    """Run ``module.function`` from src/recipes with a real context; returns the manifest entries."""
    module, function = reference.split(".")
    recipe = getattr(importlib.import_module(f"recipes.{module}"), function)
    ctx = context(params=params, seed=0, output_dir=out, project_root=REPO, cache_dir=out.parent / "cache")
    with ctx.capturing():
        recipe(ctx, **params)
    return ctx.save()


def check_figures(out: Path, entries: dict[str, Any], expected: set[str]) -> None:
    assert set(entries["figures"]) == expected
    for name in expected:
        png = out / "figures" / f"{name}.png"
        assert png.is_file() and png.stat().st_size > 2000, f"figure {name} missing or empty"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def metrics(out: Path) -> dict[str, Any]:
    return json.loads((out / "metrics.json").read_text())


def check_test_score(out: Path, binary: bool = False) -> None:
    values = metrics(out)["test"]
    assert 0.0 <= values["accuracy"] <= 1.0 and values["loss"] >= 0.0
    stored = json.loads((out / "predictions" / "test.json").read_text())
    assert len(stored["y_true"]) == len(stored["y_pred"]) == len(stored["files"]) == values["count"]
    assert values["misclassified"] == sum(t != p for t, p in zip(stored["y_true"], stored["y_pred"]))
    assert all(len(score) == (1 if binary else 2) for score in stored["scores"])
    # The stored predictions agree with Keras' own accuracy: tables and figures need no re-run.
    assert values["predicted_accuracy"] == pytest.approx(values["accuracy"], abs=1e-6)
    final = metrics(out)["final_epochs"]
    epochs = json.loads((out / "history.json").read_text())["epochs"]
    assert final["count"] == len(epochs) and final["val_accuracy"]["min"] <= final["val_accuracy"]["mean"] <= 1.0


def test_explore_records_counts_baseline_and_draws_samples_and_augmentations(tmp_path, keras_seeded):
    out = tmp_path / "explore"
    entries = run_recipe("cats_vs_dogs.explore", out, dataset="synthetic", image_size=32, per_class=16)
    check_figures(out, entries, {"samples", "flip", "rotation", "zoom"})
    values = metrics(out)
    assert values["classes"] == ["horizontal", "vertical"]
    assert values["counts"]["train"] == {"horizontal": 16, "vertical": 16} and values["images"]["train"] == 32
    assert values["images"]["validation"] + values["images"]["test"] > 0
    # Majority class over the whole training set; a tie goes to the first class.
    assert values["baseline"]["class"] == "horizontal" and values["baseline"]["accuracy"] == 0.5
    assert not (out / "history.json").exists() or json.loads((out / "history.json").read_text())["epochs"] == []


@pytest.mark.parametrize("model", ["model1", "model2", "model3"])
def test_small_models_train_and_score_on_test(tmp_path, keras_seeded, model):
    out = tmp_path / model
    entries = run_recipe(f"cats_vs_dogs.{model}", out, **TINY)
    check_figures(out, entries, {"confusion", "misclassified"})
    check_test_score(out)
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [1] and {"accuracy", "val_accuracy", "loss", "val_loss"} <= set(history["metrics"])
    summary = (out / "summary.txt").read_text()
    assert f'Model: "{model}"' in summary
    if model == "model3":
        assert "Rescaling" in summary
        # The Rescaling layer computes what mobilenet_v2.preprocess_input computes.
        assert metrics(out)["preprocessing"]["max_difference"] < 1e-5
    if model != "model1":
        assert "RandomFlip" in summary and "RandomRotation" in summary


def test_model4_extracts_features_from_a_frozen_mobilenet_then_fine_tunes(tmp_path, stand_in_weights):
    out = tmp_path / "model4"
    entries = run_recipe("cats_vs_dogs.model4", out, **TINY, fine_tune_epochs=1, fine_tune_from=100)
    check_figures(out, entries, {"confusion", "misclassified"})
    check_test_score(out)
    assert [p["name"] for p in entries["phases"]] == ["feature extraction", "fine-tuning"]
    values = metrics(out)
    assert values["model"]["trainable_params"] == 2562  # the head only while the base is frozen
    assert values["fine_tune"]["from_layer"] == 100 and values["fine_tune"]["trainable_params"] > 2562
    assert "ImageNet weights for MobileNetV2" in (out / "log.txt").read_text()


def test_resnet50_feature_extraction_then_fine_tuning_with_a_one_logit_head(tmp_path, stand_in_weights):
    out = tmp_path / "resnet50"
    entries = run_recipe("transfer.resnet50", out, **TINY, fine_tune_epochs=1, fine_tune_from=143)
    check_figures(out, entries, {"confusion", "misclassified"})
    check_test_score(out, binary=True)
    history = json.loads((out / "history.json").read_text())
    # One joined history: epoch 2 continues epoch 1 (initial_epoch), as two named phases.
    assert history["epochs"] == [1, 2] and len(history["metrics"]["val_accuracy"]) == 2
    assert [(p["name"], p["first_epoch"], p["last_epoch"]) for p in history["phases"]] == [
        ("feature extraction", 1, 1), ("fine-tuning", 2, 2)]
    values = metrics(out)
    assert values["model"]["trainable_params"] == 2049  # Dense(1) on 2048 pooled features
    assert values["fine_tune"]["first_layer"] == "conv5_block1_1_conv"
    assert values["fine_tune"]["optimizer"] == "rmsprop" and values["fine_tune"]["learning_rate"] == 1e-5
    log = (out / "log.txt").read_text()
    assert "Fine-tuning resnet50 from layer 143" in log and "Epoch 2/2" in log


def test_tutorial_cnn_with_augmentation_and_dropout(tmp_path, keras_seeded):
    out = tmp_path / "tutorial"
    entries = run_recipe("tutorial.three_block_cnn", out, **TINY, augment=True, dropout=0.2)
    check_figures(out, entries, {"augmentation", "confusion", "misclassified"})
    check_test_score(out)
    summary = (out / "summary.txt").read_text()
    assert "augmentation (Sequential)" in summary and "dropout" in summary


def test_demo_recipe_still_runs(tmp_path, keras_seeded):
    out = tmp_path / "demo"
    entries = run_recipe("cats_vs_dogs.small_cnn", out, **TINY, augment=True)
    check_figures(out, entries, set())  # curves are drawn by the build
    assert "accuracy" in metrics(out)["test"]


# -- the seed models at full size, built but not trained --------------------------------------


class _Built(Exception):
    """Raised instead of training: the recipe got as far as ``fit`` with its model built."""


class BuildOnlyContext(RecipeContext):
    """A real context whose ``fit`` captures the summary and stops before training."""

    def fit(self, model: Any, *args: Any, **kwargs: Any) -> Any:
        self.summary(model)
        raise _Built(model)


@pytest.mark.parametrize("model, total, trainable", [
    ("model1", 204_226, 204_226),
    ("model2", 204_226, 204_226),
    ("model3", 204_226, 204_226),
    ("model4", 2_260_546, 2_562),
])
def test_seed_models_have_the_seed_posts_parameter_counts_at_160_pixels(tmp_path, stand_in_weights, model, total,
                                                                         trainable):
    out = tmp_path / model
    params = {"dataset": "synthetic", "image_size": 160, "batch_size": 32, "per_class": 2}
    with pytest.raises(_Built) as built:
        run_recipe(f"cats_vs_dogs.{model}", out, context=BuildOnlyContext, **params)
    network = built.value.args[0]
    assert network.count_params() == total
    assert sum(math.prod(w.shape) for w in network.trainable_weights) == trainable
    assert network.output_shape == (None, 2)


# -- the published study post ------------------------------------------------------------------

STUDY_POST = REPO / "site" / "_posts" / "2026-11-23-cats-vs-dogs-small-cnns.md"


def test_the_study_post_has_every_artefact_from_the_committed_results():
    """The committed site (kept current by test_repository_site) shows the study in full, from stored runs."""
    text = STUDY_POST.read_text()
    assert "{result}" not in text and "(no result)" not in text
    # Model 4 needs ImageNet weights nobody could download here: one notice says so, no numbers do.
    (notice,) = re.findall(r'<div class="litblog-notice".*?</div>', text, re.S)
    assert ("Experiment <code>model4</code> needs the ImageNet weights for MobileNetV2, which were not available "
            "when this site was built.") in notice
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5" in notice and "~/.keras/models" in notice
    # Each model's code and summary, with the seed posts' parameter count.
    for model in ("model1", "model2", "model3"):
        # Keras' own summary is kept, folded and HTML-escaped, under the summary table.
        assert f"def {model}(ctx," in shown_text(text) and f"Model: &#34;{model}&#34;" in text
    assert text.count("Total params: 204,226") == 3
    # The training logs, in Keras' verbose=2 format, 20 epochs each: three seeds of three models.
    assert len(re.findall(r"^Epoch 20/20$", text, re.M)) == 9
    # Values of the multi-seed models show their spread, and the comparisons are checked claims.
    assert text.count('class="litblog-spread"') > 20 and text.count('class="litblog-claim"') >= 6
    # Every figure: samples, augmentation demos, learning curves, confusion matrix, misclassified grid,
    # and the bar chart comparing the models.
    images = re.findall(r"\{\{ '/(assets/[^']+)' \| relative_url \}\}", text)
    expected = {"data-samples", "data-flip", "data-rotation", "data-zoom", "model1-curves", "model2-curves",
                "model3-curves", "model3-confusion-seed0", "model3-misclassified-seed0"}
    stems = {Path(image).stem for image in images}
    assert expected <= stems and len([s for s in stems - expected if s.startswith("chart-")]) == 1
    for image in images:
        assert (REPO / "site" / image).stat().st_size > 5000
    # The comparison table is filled for models 1-3; model 4's row says it has no result.
    rows = re.findall(r"^\| `(model\d)` \|(.*)\|$", text, re.M)
    assert [name for name, _ in rows] == ["model1", "model2", "model3", "model4"]
    for _, cells in rows[:3]:
        assert "?" not in cells and "no result" not in cells and "%" in cells
    # ... each cell a "not run" placeholder linking to the notice shown once, where model 4 is.
    assert set(re.sub(r"<[^>]+>", " ", rows[3][1]).replace("|", " ").split()) == {"not", "run"}
    assert rows[3][1].count('href="#litblog-notice-model4"') == 7
