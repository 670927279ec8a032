"""From a model's outputs to classes: the head read from the final activation, and the
predictions of one split with the per-class values recorded from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..common.fsutil import atomic_write_text
from .recorded import slug


@dataclass(frozen=True)
class Predictions:
    """Predicted against true labels of one split, with the image files they came from."""

    class_names: tuple[str, ...]
    y_true: Any
    y_pred: Any
    scores: Any
    files: list[Path]
    image_size: tuple[int, int]

    @property
    def misclassified(self) -> list[int]:
        return [i for i, (t, p) in enumerate(zip(self.y_true, self.y_pred)) if t != p]


HEADS = ("softmax", "logits", "sigmoid", "logit")


def predict_split(model: Any, data: Any, split: str, head: str | None) -> tuple[Predictions, str]:
    """``model``'s predictions for every image of ``data``'s ``split`` (an ``ImageData``), and the head
    that turned its outputs into classes (``head``, or the one read from the model)."""
    import numpy as np

    pipeline = getattr(data, split)
    scores = np.asarray(model.predict(pipeline, verbose=0))
    head = head or model_head(model, scores)
    predicted = decide_classes(scores, head)
    pairs = getattr(data.files, split)
    truth = np.array([label for _, label in pairs])
    files = [path for path, _ in pairs]
    return Predictions(tuple(data.class_names), truth, predicted, scores, files, data.image_size), head


def write_predictions(target: Path, predictions: Predictions, scrub: Callable[[str], str]) -> None:
    """Store ``predictions`` as JSON at ``target``: classes, labels, predictions, scores, image files."""
    import numpy as np

    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, json.dumps({
        "class_names": list(predictions.class_names),
        "y_true": predictions.y_true.tolist(),
        "y_pred": predictions.y_pred.tolist(),
        "scores": np.round(predictions.scores.astype(float), 6).tolist(),
        "files": [scrub(str(f)) for f in predictions.files],
    }))


def model_head(model: Any, scores: Any) -> str:
    """The kind of head ``model`` ends in, from its final activation and output width."""
    width = scores.shape[1] if scores.ndim == 2 else 1
    activation = _final_activation(model)
    if width > 1:
        return "softmax" if activation == "softmax" else "logits"
    return "sigmoid" if activation == "sigmoid" else "logit"


def decide_classes(scores: Any, head: str) -> Any:
    """Class indices from a model's outputs, read the way its ``head`` produces them."""
    import numpy as np

    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, not {head!r}")
    if head in ("softmax", "logits"):
        if scores.ndim != 2 or scores.shape[1] < 2:
            raise ValueError(f"a {head} head needs one output per class; this model has shape {scores.shape}")
        return scores.argmax(axis=1)
    if scores.ndim == 2 and scores.shape[1] != 1:
        raise ValueError(f"a {head} head has one output; this model has {scores.shape[1]}")
    threshold = 0.5 if head == "sigmoid" else 0.0
    return (scores.reshape(-1) > threshold).astype(int)


def _final_activation(model: Any) -> str | None:
    """The name of the activation applied last: a layer's ``activation`` or an ``Activation``/``Softmax`` layer,
    looking inside nested models."""
    layer = model
    while getattr(layer, "layers", None):
        layer = layer.layers[-1]
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or (activation if isinstance(activation, str) else None)
    return name


def per_class_values(class_names: Sequence[str], truth: Any, predicted: Any) -> dict[str, Any]:
    """Precision, recall and support of each class and the confusion counts, from labels, as
    recorded names (``per_class.<c>.precision``, ``confusion.<true>.<predicted>``, classes as slugs)."""
    import numpy as np

    count = len(class_names)
    truth = np.asarray(truth, dtype=int).reshape(-1)
    predicted = np.asarray(predicted, dtype=int).reshape(-1)
    confusion = np.zeros((count, count), dtype=int)
    valid = (truth >= 0) & (truth < count) & (predicted >= 0) & (predicted < count)
    np.add.at(confusion, (truth[valid], predicted[valid]), 1)
    names = [slug(c) for c in class_names]
    values: dict[str, Any] = {}
    for index, name in enumerate(names):
        hits = int(confusion[index, index])
        support = int(confusion[index, :].sum())
        chosen = int(confusion[:, index].sum())
        values[f"per_class.{name}.precision"] = hits / chosen if chosen else 0.0
        values[f"per_class.{name}.recall"] = hits / support if support else 0.0
        values[f"per_class.{name}.support"] = support
        for other, other_name in enumerate(names):
            values[f"confusion.{name}.{other_name}"] = int(confusion[index, other])
    return values
