"""What a run records for the pages, captured as it runs (real Keras, tiny synthetic data):
summary tables (``summary.json``), per-class values and confusion counts from ``ctx.predict``,
phase epoch counts in the history, and a label before each ``ctx.evaluate`` line in the log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import REPO
from litblog.runtime import captured as captured_module
from litblog.runtime import summaries
from litblog.runtime.context import RecipeContext
from litblog.runtime.predictions import per_class_values


def make_context(out: Path, cache: Path) -> RecipeContext:
    return RecipeContext(params={}, seed=0, output_dir=out, project_root=REPO, cache_dir=cache)


def read(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text())


def size(weights: list[Any]) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A Sequential without an Input layer (so it is summarised after training, optimizer built),
    trained one epoch, evaluated on test and on an unnamed dataset, predictions on test."""
    import keras

    root = tmp_path_factory.mktemp("plain")
    out = root / "out"
    keras.utils.set_random_seed(0)
    ctx = make_context(out, root / "cache")
    with ctx.capturing():
        data = ctx.image_data("synthetic", image_size=16, batch_size=8, per_class=12)
        model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(4, 3, activation="relu"),
                                  keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(2)],
                                 name="plain")
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        ctx.fit(model, data.train, validation_data=data.validation, epochs=1)
        ctx.evaluate(model, data.test)
        ctx.evaluate(model, data.validation.take(1), name="probe")
        ctx.predict(model, data, split="test")
    entries = ctx.save()
    return {"out": out, "entries": entries, "model": model, "data": data}


def test_sequential_summary_table_rows_and_totals_match_keras(plain_run):
    out, model = plain_run["out"], plain_run["model"]
    assert plain_run["entries"]["summaries"] == [{"model": "plain", "file": "summary.txt", "table": "summary.json"}]
    table = read(out, "summary.json")
    assert table["model"] == "plain" and table["class"] == "Sequential" and table["phase"] == "training"
    rows = table["layers"]
    assert [r["name"] for r in rows] == [layer.name for layer in model.layers]
    assert [r["type"] for r in rows] == ["Rescaling", "Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert [r["params"] for r in rows] == [layer.count_params() for layer in model.layers]
    assert [r["output_shape"] for r in rows] == [
        "(None, 16, 16, 3)", "(None, 14, 14, 4)", "(None, 7, 7, 4)", "(None, 196)", "(None, 2)"]
    assert all(r["trainable"] is True and r["op"] is False for r in rows)
    assert table["total_params"] == model.count_params() == sum(r["params"] for r in rows)
    assert table["trainable_params"] == model.count_params() and table["non_trainable_params"] == 0


def test_totals_leave_out_optimizer_state_that_the_text_counts(plain_run):
    out, model = plain_run["out"], plain_run["model"]
    table = read(out, "summary.json")
    # Summarised after fit: the optimizer is built, and Keras' text adds its variables to the total.
    assert model.optimizer.built
    optimizer = size(model.optimizer.variables)
    assert table["optimizer_params"] == optimizer > 0
    assert table["total_params"] == model.count_params()
    text = (out / "summary.txt").read_text()
    total_in_text = int(re.search(r"Total params: ([\d,]+)", text).group(1).replace(",", ""))
    assert total_in_text == table["total_params"] + optimizer


def test_per_class_values_and_confusion_match_the_stored_predictions(plain_run):
    out = plain_run["out"]
    stored = read(out, "predictions/test.json")
    truth, predicted = np.array(stored["y_true"]), np.array(stored["y_pred"])
    recorded = read(out, "metrics.json")["test"]
    names = stored["class_names"]
    assert names == ["horizontal", "vertical"]
    assert set(recorded["per_class"]) == set(names) and set(recorded["confusion"]) == set(names)
    for i, c in enumerate(names):
        hits = int(np.sum((truth == i) & (predicted == i)))
        chosen, support = int(np.sum(predicted == i)), int(np.sum(truth == i))
        values = recorded["per_class"][c]
        assert values["support"] == support
        assert values["precision"] == pytest.approx(hits / chosen if chosen else 0.0)
        assert values["recall"] == pytest.approx(hits / support if support else 0.0)
        for j, d in enumerate(names):
            assert recorded["confusion"][c][d] == int(np.sum((truth == i) & (predicted == j)))
    assert sum(v for row in recorded["confusion"].values() for v in row.values()) == len(truth)


def test_per_class_precision_is_zero_for_a_class_never_predicted_and_names_are_slugs(tmp_path):
    ctx = make_context(tmp_path / "out", tmp_path / "cache")
    for name, value in per_class_values(["golden retriever", "cat", "bird"], np.array([0, 0, 0, 1, 1]),
                                        np.array([0, 1, 1, 1, 0])).items():
        ctx.record(f"val.{name}", value)
    values = ctx._capture.recorded["val"]
    assert values["per_class"]["bird"] == {"precision": 0.0, "recall": 0.0, "support": 0}
    assert values["per_class"]["golden_retriever"]["support"] == 3
    assert values["per_class"]["golden_retriever"]["precision"] == pytest.approx(1 / 2)
    assert values["per_class"]["golden_retriever"]["recall"] == pytest.approx(1 / 3)
    assert values["per_class"]["cat"]["support"] == 2
    assert values["per_class"]["cat"]["precision"] == pytest.approx(1 / 3)
    assert values["per_class"]["cat"]["recall"] == pytest.approx(1 / 2)
    assert values["confusion"]["golden_retriever"] == {"golden_retriever": 1, "cat": 2, "bird": 0}
    assert values["confusion"]["cat"] == {"golden_retriever": 1, "cat": 1, "bird": 0}
    assert values["confusion"]["bird"] == {"golden_retriever": 0, "cat": 0, "bird": 0}


def test_history_phases_carry_their_epoch_count(plain_run):
    history = read(plain_run["out"], "history.json")
    assert history["phases"] == [{"name": "training", "first_epoch": 1, "last_epoch": 1, "epochs": 1}]
    assert plain_run["entries"]["phases"] == history["phases"]


def test_evaluate_writes_a_label_line_before_keras_line(plain_run):
    log = (plain_run["out"] / "log.txt").read_text().splitlines()
    first = log.index("Evaluate on test (name 'test'):")
    assert re.search(r"accuracy: [\d.]+", log[first + 1]) and "val_" not in log[first + 1]
    # Not one of image_data's pipelines: only the name is known.
    second = log.index("Evaluate (name 'probe'):")
    assert "loss" in log[second + 1]
    # Validation inside fit keeps Keras' own val_ labels and gets no label line.
    assert sum(line.startswith("Evaluate") for line in log) == 2


def test_functional_model_marks_operations_and_nests_its_base(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    base.trainable = False
    inputs = keras.Input((32, 32, 3))
    x = keras.applications.resnet50.preprocess_input(inputs)  # GetItem, Stack, Add operations
    x = base(x, training=False)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs, name="preprocessed")
    ctx = make_context(tmp_path / "out", tmp_path / "cache")
    with ctx.capturing():
        ctx.summary(model)
    ctx.save()
    table = read(tmp_path / "out", "summary.json")
    assert table["class"] == "Functional" and table["phase"] is None
    ops = [r["type"] for r in table["layers"] if r["op"]]
    assert ops and set(ops) <= {"GetItem", "Stack", "Add"} and "Stack" in ops
    assert [r["name"] for r in table["layers"] if not r["op"]] == [layer.name for layer in model.layers]
    (row,) = [r for r in table["layers"] if "children" in r]
    assert row["name"] == base.name and row["type"] == "Functional" and row["output_shape"] == "(None, 1, 1, 1280)"
    assert row["params"] == base.count_params() == row["non_trainable_params"] and row["trainable_params"] == 0
    assert row["trainable"] is False
    assert [c["name"] for c in row["children"]] == [op.name for op in base._operations]
    assert sum(c["params"] for c in row["children"]) == base.count_params()
    assert table["total_params"] == model.count_params() and table["trainable_params"] == 2562
    assert table["optimizer_params"] is None  # not compiled


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """MobileNetV2 (no weights) nested in a Sequential: feature extraction, then fine-tuning."""
    import keras

    root = tmp_path_factory.mktemp("fine")
    out = root / "out"
    keras.utils.set_random_seed(0)
    ctx = make_context(out, root / "cache")
    with ctx.capturing():
        data = ctx.image_data("synthetic", image_size=32, batch_size=8, per_class=8)
        base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
        base.trainable = False
        model = keras.Sequential([keras.Input((32, 32, 3)), base, keras.layers.GlobalAveragePooling2D(),
                                  keras.layers.Dense(2)], name="nested")
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        ctx.fit(model, data.train, epochs=1, phase="feature extraction")
        ctx.fine_tune(model, base, data.train, from_layer=100, epochs=2)
    entries = ctx.save()
    return {"out": out, "entries": entries, "model": model, "base": base}


def test_nested_base_is_one_row_with_its_layers_as_children(fine_tuned):
    out, base = fine_tuned["out"], fine_tuned["base"]
    table = read(out, "summary.json")
    assert table["class"] == "Sequential" and table["phase"] == "feature extraction"
    assert [r["name"] for r in table["layers"]] == [layer.name for layer in fine_tuned["model"].layers]
    assert [r["type"] for r in table["layers"]] == ["Functional", "GlobalAveragePooling2D", "Dense"]
    row = table["layers"][0]
    assert row["type"] == "Functional" and row["params"] == base.count_params()
    assert row["trainable_params"] == 0 and row["non_trainable_params"] == base.count_params()
    assert len(row["children"]) == len(base._operations) > 100
    assert row["children"][1]["name"] == "Conv1" and row["children"][1]["output_shape"] == "(None, 16, 16, 16)"
    assert table["trainable_params"] == 2562 and table["optimizer_params"] is None


def test_fine_tuning_summary_has_its_phase_and_totals_without_optimizer_state(fine_tuned):
    from litblog.runtime.finetune import trainable_count

    out, model, base = fine_tuned["out"], fine_tuned["model"], fine_tuned["base"]
    assert [e["table"] for e in fine_tuned["entries"]["summaries"]] == ["summary.json", "summary-2.json"]
    table = read(out, "summary-2.json")
    assert table["phase"] == "fine-tuning"
    assert table["total_params"] == model.count_params()
    assert table["trainable_params"] == trainable_count(model) > 2562
    assert table["trainable_params"] + table["non_trainable_params"] == model.count_params()
    assert table["optimizer_params"] == size(model.optimizer.variables) > 0
    row = table["layers"][0]
    assert row["trainable"] is True and row["trainable_params"] == size(base.trainable_weights)
    assert row["children"][0]["trainable"] is False and row["children"][-1]["trainable"] is True
    text = (out / "summary-2.txt").read_text()
    assert "Optimizer params" in text
    # The recorded model values keep the first summary's numbers.
    assert read(out, "metrics.json")["model"]["nested"]["trainable_params"] == 2562
    assert [p["epochs"] for p in read(out, "history.json")["phases"]] == [1, 1]


def test_summary_capture_never_fails_the_run(tmp_path, monkeypatch):
    import keras

    def broken(*_: Any, **__: Any) -> dict:
        raise RuntimeError("no rows today")

    monkeypatch.setattr(captured_module, "summary_table", broken)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)], name="tiny")
    ctx = make_context(tmp_path / "out", tmp_path / "cache")
    with ctx.capturing():
        text = ctx.summary(model)
    entries = ctx.save()
    assert 'Model: "tiny"' in text
    assert entries["summaries"] == [{"model": "tiny", "file": "summary.txt"}]
    assert not (tmp_path / "out" / "summary.json").exists()


def test_a_layer_without_an_output_shows_a_question_mark():
    import keras

    assert summaries._output_shape(keras.layers.Dense(3)) == "?"
    row = summaries._layer_row(keras.layers.Dense(3, name="loose"), depth=0)
    assert row == {"name": "loose", "type": "Dense", "output_shape": "?", "params": 0, "trainable": True,
                   "op": False}
