"""``ctx.predict`` reads every head Keras users write: its stored predictions score exactly what
``model.evaluate`` scores on the same split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import REPO
from litblog.runtime.context import RecipeContext
from litblog.runtime.predictions import decide_classes


def head_model(keras: Any, head: str) -> tuple[Any, Any, list[Any]]:
    """A small network ending in ``head``, with the loss and accuracy metric that head needs."""
    outputs = {
        "softmax": keras.layers.Dense(2, activation="softmax"),
        "logits": keras.layers.Dense(2),
        "sigmoid": keras.layers.Dense(1, activation="sigmoid"),
        "logit": keras.layers.Dense(1),
    }[head]
    loss, metric = {
        "softmax": (keras.losses.SparseCategoricalCrossentropy(), keras.metrics.SparseCategoricalAccuracy("accuracy")),
        "logits": (keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   keras.metrics.SparseCategoricalAccuracy("accuracy")),
        "sigmoid": (keras.losses.BinaryCrossentropy(), keras.metrics.BinaryAccuracy("accuracy")),
        "logit": (keras.losses.BinaryCrossentropy(from_logits=True),
                  keras.metrics.BinaryAccuracy("accuracy", threshold=0.0)),
    }[head]
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(), outputs])
    return model, loss, [metric]


@pytest.mark.parametrize("head", ["softmax", "logits", "sigmoid", "logit"])
def test_stored_predictions_score_what_evaluate_scores(tmp_path: Path, head: str) -> None:
    import keras

    keras.utils.set_random_seed(3)
    ctx = RecipeContext(params={}, seed=3, output_dir=tmp_path / "out", project_root=REPO,
                        cache_dir=tmp_path / "cache")
    with ctx.capturing():
        data = ctx.image_data("synthetic", image_size=16, batch_size=8, per_class=20)
        model, loss, metrics = head_model(keras, head)
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss, metrics=metrics)
        if head == "sigmoid":
            # The tutorial's failure case: every output on one side of 0.5 but above 0.
            model.layers[-1].bias.assign([-2.0])
        ctx.fit(model, data.train, epochs=4)
        scores = ctx.evaluate(model, data.test)
        ctx.predict(model, data, split="test")
    ctx.save()
    stored = json.loads((tmp_path / "out" / "predictions" / "test.json").read_text())
    recorded = json.loads((tmp_path / "out" / "metrics.json").read_text())["test"]
    assert recorded["head"] == head
    accuracy = float(np.mean(np.array(stored["y_true"]) == np.array(stored["y_pred"])))
    assert accuracy == pytest.approx(scores["accuracy"], abs=1e-6)
    assert recorded["predicted_accuracy"] == pytest.approx(scores["accuracy"], abs=1e-6)


def test_an_explicit_head_overrides_the_guess_and_a_wrong_one_is_refused() -> None:
    probabilities = np.array([[0.2], [0.7], [0.45]])
    assert decide_classes(probabilities, "sigmoid").tolist() == [0, 1, 0]
    assert decide_classes(probabilities, "logit").tolist() == [1, 1, 1]
    assert decide_classes(np.array([[0.1, 0.9], [2.0, -1.0]]), "logits").tolist() == [1, 0]
    with pytest.raises(ValueError, match="one output per class"):
        decide_classes(probabilities, "softmax")
    with pytest.raises(ValueError, match="head must be one of"):
        decide_classes(probabilities, "probit")
